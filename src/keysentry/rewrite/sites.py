"""What a rewriter finds in a file: each key's place, and how to change it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from keysentry.errors import KeysentryError
from keysentry.rewrite.edits import ByteEdit, apply_edits

Render = Callable[[str], Sequence[ByteEdit]]
"""The variable's name -> the edits that replace this occurrence of the key."""


class Unfixable(KeysentryError):
    """The whole file cannot be rewritten (it does not parse, a parser is missing, ...).

    The text is the reason shown to the user; it never holds a key."""


@dataclass(frozen=True, slots=True)
class FileContext:
    """What a rewriter may know about the file besides its bytes."""

    path: str
    """The path as shown (relative to where keysentry runs, or to the repository)."""
    fs_path: Path | None = None
    """Where the file is on disk (None for a staged blob)."""
    git_status: str | None = None


@dataclass(slots=True)
class Site:
    """One occurrence of a key in a file."""

    secret: str = field(repr=False)
    start: int
    """Byte offset of the key in the file."""
    render: Render | None = None
    """How to replace it; None: by hand, for ``reason``."""
    reason: str = ""
    """By hand: why. Fixable: what the fix writes, in a few words (``{name}`` is filled in)."""
    suggest: str | None = None
    """The variable name the code gives (``OPENROUTER_API_KEY = "..."``)."""
    needs: frozenset[str] = frozenset()
    """File-wide changes this replacement needs (``import os``)."""
    advice: str = ""
    """What else the user must do (``{name}`` is filled in)."""

    @property
    def fixable(self) -> bool:
        return self.render is not None


@dataclass(slots=True)
class FileSites:
    """A rewriter's answer for one file: every occurrence of every key asked for."""

    sites: list[Site]
    finish: Callable[[frozenset[str]], Sequence[ByteEdit]] | None = None
    """File-wide edits for what the replacements need (an import), given those needs."""
    verify: Callable[[bytes], str | None] | None = None
    """The rewritten bytes -> None when they parse, else what is wrong."""
    rewrite: Callable[[bytes, Mapping[str, str]], bytes] | None = None
    """For files not changed by byte edits (notebooks): (data, secret -> name) -> new data."""
    untrack: bool = False
    """An env file that git tracks: ``git rm --cached`` it and ignore it."""
    ignore: bool = False
    """An env file git does not ignore yet: add it to ``.gitignore``."""

    def edits(self, names: Mapping[str, str]) -> list[ByteEdit]:
        edits: list[ByteEdit] = []
        needs: set[str] = set()
        for site in self.sites:
            if site.render is not None:
                edits.extend(site.render(names[site.secret]))
                needs.update(site.needs)
        if self.finish is not None:  # each finish returns no edit for no needs
            edits.extend(self.finish(frozenset(needs)))
        return edits

    def apply(self, data: bytes, names: Mapping[str, str]) -> bytes:
        if self.rewrite is not None:
            return self.rewrite(data, names)
        return apply_edits(data, self.edits(names))


def occurrences(data: bytes, secrets: Sequence[str]) -> list[tuple[str, int, int]]:
    """Every place each key is written whole in ``data``: (secret, start, end).

    One pass per distinct head of the keys (all built-in keys share ``sk-or-v``), then a
    set lookup per candidate: a file with many keys is read a few times, not once per key."""
    wanted: dict[int, set[bytes]] = {}
    for secret in secrets:
        raw = secret.encode()
        wanted.setdefault(len(raw), set()).add(raw)
    if not wanted:
        return []
    head_len = min(min(wanted), 7)
    heads = {raw[:head_len] for group in wanted.values() for raw in group}
    found = []
    for head in heads:
        at = data.find(head)
        while at >= 0:
            for length, group in wanted.items():
                raw = data[at : at + length]
                if raw in group:
                    found.append((raw.decode(), at, at + length))
            at = data.find(head, at + 1)
    found.sort(key=lambda t: t[1])
    return _non_overlapping(found)


def _non_overlapping(found: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    out: list[tuple[str, int, int]] = []
    for item in found:
        if out and item[1] < out[-1][2]:
            continue
        out.append(item)
    return out

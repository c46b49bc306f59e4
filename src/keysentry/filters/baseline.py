"""Baselines: findings a team has reviewed and accepted, suppressed wherever they appear.

An entry is a rule id and a key fingerprint (SHA-256 of the key), never a line or a
commit, so it survives rebases, squashes and moved lines. The file is JSON with one
entry per line, sorted, without timestamps, so that merges rarely conflict::

    {
      "keysentry_baseline": 1,
      "entries": [
        {"rule_id": "openrouter-api-key", "fingerprint": "0f1e...", "reason": "revoked", ...}
      ]
    }

``first_location`` is informational (where the key was first baselined); it is
never used for matching and never rewritten by ``baseline update``. ``found_in``
says where the key was seen (``history``, ``file:PATH``), so that ``baseline prune``
drops an entry only when the scan at hand covered every such place.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from keysentry.errors import BaselineError
from keysentry.models import Finding
from keysentry.regular import read_regular
from keysentry.untrusted import shown

VERSION = 1
DEFAULT_PATH = Path(".keysentry-baseline.json")
MAX_STALE_SHOWN = 5
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
_ENTRY_KEYS = ("rule_id", "fingerprint", "reason", "first_location", "found_in")
HISTORY = "history"
"""``found_in`` scope of a key seen in git objects: blobs, notes, commit or tag messages,
and names (tree entries, refs, identities, headers)."""
_HISTORY_SOURCES = ("blob", "note", "commit-message", "tag-message", "tree-entry", "ref-name",
                    "identity", "commit-header", "tag-header")  # fmt: skip
_FILE_SOURCES = ("file", "staged", "file-name")


@dataclass(frozen=True, slots=True)
class BaselineEntry:
    rule_id: str
    fingerprint: str
    """Lowercase hex SHA-256 of the key."""
    reason: str = ""
    """Why the finding is accepted; kept across updates."""
    first_location: str = ""
    """``path:line`` where it was seen when baselined. Informational only."""
    found_in: tuple[str, ...] = ()
    """Where the key was seen: ``history`` and/or ``file:PATH`` (a file a scan read,
    as the scan named it). Empty for entries written before keysentry recorded it:
    those are never pruned."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.rule_id, self.fingerprint)


@dataclass(frozen=True, slots=True)
class Baseline:
    path: Path
    entries: tuple[BaselineEntry, ...]


def load_baseline(path: Path) -> Baseline:
    """Read and check a baseline file. Raises BaselineError naming the file and the problem."""
    try:
        text = read_regular(path).decode("utf-8")
    except FileNotFoundError:
        raise BaselineError(
            f"baseline file not found: {path} (create it with `keysentry baseline create`)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc}") from None
    return parse_baseline(text, path)


def _malformed(path: Path, problem: str) -> BaselineError:
    return BaselineError(f"malformed baseline {path}: {problem}")


def parse_baseline(text: str, path: Path) -> Baseline:
    def fail(problem: str) -> BaselineError:
        return _malformed(path, problem)

    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = " (unresolved merge conflict markers?)" if "\n<<<<<<< " in "\n" + text else ""
        problem = f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}{hint}"
        raise fail(problem) from None
    if not isinstance(doc, dict):
        raise fail("the top level must be a JSON object")
    unknown = sorted(set(doc) - {"keysentry_baseline", "entries"})
    if unknown:
        raise fail(f"unknown key {unknown[0]!r}")
    if doc.get("keysentry_baseline") != VERSION:
        raise fail(
            f"'keysentry_baseline' must be {VERSION} (the format version), "
            f"not {doc.get('keysentry_baseline')!r}"
        )
    raw = doc.get("entries")
    if not isinstance(raw, list):
        raise fail("'entries' must be a list")
    entries: dict[tuple[str, str], BaselineEntry] = {}
    for number, item in enumerate(raw, 1):
        entry = _entry(item, number, path)
        if entry.key not in entries or not entries[entry.key].reason:
            entries[entry.key] = entry  # a duplicate from a merge is harmless
    return Baseline(path, tuple(sorted(entries.values(), key=lambda e: e.key)))


def _entry(item: object, number: int, path: Path) -> BaselineEntry:
    def fail(problem: str) -> BaselineError:
        return _malformed(path, f"entry {number}: {problem}")

    if not isinstance(item, dict):
        raise fail("must be an object")
    unknown = sorted(set(item) - set(_ENTRY_KEYS))
    if unknown:
        raise fail(f"unknown key {unknown[0]!r}")
    rule_id, fingerprint = item.get("rule_id"), item.get("fingerprint")
    if not isinstance(rule_id, str) or not rule_id.strip():
        raise fail("'rule_id' must be a non-empty string")
    if not isinstance(fingerprint, str) or not _FINGERPRINT.fullmatch(fingerprint):
        raise fail("'fingerprint' must be 64 lowercase hex digits (the key's SHA-256)")
    for name in ("reason", "first_location"):
        if not isinstance(item.get(name, ""), str):
            raise fail(f"{name!r} must be a string")
    found_in = item.get("found_in", [])
    if not isinstance(found_in, list) or not all(
        isinstance(s, str) and (s == HISTORY or s.startswith("file:")) for s in found_in
    ):
        raise fail('\'found_in\' must be a list of "history" and "file:PATH" strings')
    return BaselineEntry(
        rule_id,
        fingerprint,
        item.get("reason", ""),
        item.get("first_location", ""),
        tuple(sorted(set(found_in))),
    )


def dump_baseline(entries: Iterable[BaselineEntry]) -> str:
    """The file text: sorted, one entry per line, keys in a fixed order."""
    lines = [
        json.dumps(
            {k: list(e.found_in) if k == "found_in" else getattr(e, k) for k in _ENTRY_KEYS},
            ensure_ascii=False,
        )
        for e in sorted(entries, key=lambda e: e.key)
    ]
    body = ",\n".join(f"    {line}" for line in lines)
    return (
        f'{{\n  "keysentry_baseline": {VERSION},\n  "entries": ['
        + (f"\n{body}\n  " if lines else "")
        + "]\n}\n"
    )


def save_baseline(path: Path, entries: Iterable[BaselineEntry]) -> None:
    try:
        path.write_text(dump_baseline(entries), encoding="utf-8")
    except OSError as exc:
        raise BaselineError(f"cannot write baseline {path}: {exc.strerror or exc}") from None


def entries_for(findings: Iterable[Finding], reason: str = "") -> list[BaselineEntry]:
    out = []
    for f in findings:
        first = f.locations[0] if f.locations else None
        # The file is committed and shared: a key in a path must not reach it either.
        where = f"{shown(first.display_path)}:{first.line}" if first is not None else ""
        scopes = found_in((loc.source, loc.path) for loc in f.locations)
        out.append(BaselineEntry(f.rule_id, f.fingerprint, reason, where, scopes))
    return out


def found_in(places: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """``found_in`` scopes for (source, path) pairs; standard input has none."""
    scopes = set()
    for source, path in places:
        if source in _HISTORY_SOURCES:
            scopes.add(HISTORY)
        elif source in _FILE_SOURCES:
            scopes.add("file:" + shown(path))
    return tuple(sorted(scopes))


def updated(
    existing: Sequence[BaselineEntry], found: Sequence[BaselineEntry], reason: str = ""
) -> tuple[list[BaselineEntry], int]:
    """Existing entries (reasons kept; where the key is seen now added to ``found_in``)
    plus the new ones; and how many were added."""
    have = {e.key: e for e in existing}
    added: dict[tuple[str, str], BaselineEntry] = {}
    for e in found:
        old = have.get(e.key) or added.get(e.key)
        if old is None:
            added[e.key] = replace(e, reason=reason or e.reason)
            continue
        merged = replace(old, found_in=tuple(sorted({*old.found_in, *e.found_in})))
        (have if e.key in have else added)[e.key] = merged
    return [*have.values(), *added.values()], len(added)


@dataclass(frozen=True, slots=True)
class Coverage:
    """What a scan could have seen: a key it did not find there is gone from there."""

    history: bool = False
    """A whole-history audit (not a range): every git object was read."""
    roots: tuple[str, ...] = ()
    """The files and directories a file scan read, as it was given them."""
    excludes: tuple[str, ...] = ()
    """Exclude patterns (gitignore syntax): a file they match was not read."""

    def covers(self, scope: str) -> bool:
        if scope == HISTORY:
            return self.history
        path = _absolute(scope.removeprefix("file:"))
        for root in map(_absolute, self.roots):
            if path == root or path.startswith(root.rstrip(os.sep) + os.sep):
                return not self._excluded(path, root)
        return False

    def _excluded(self, path: str, root: str) -> bool:
        if not self.excludes:
            return False
        from pathspec import PathSpec

        spec = PathSpec.from_lines("gitignore", self.excludes)
        # Relative to the scanned root and to the current directory: either may be meant.
        names = {os.path.relpath(path, root), os.path.relpath(path)}
        return any(spec.match_file(name.replace(os.sep, "/")) for name in names)


def _absolute(path: str) -> str:
    return os.path.normpath(os.path.abspath(path))


@dataclass(frozen=True, slots=True)
class Pruned:
    kept: list[BaselineEntry]
    removed: int
    out_of_scope: int
    """Entries kept because the scan could not have seen (all) the places of their key."""
    unrecorded: int
    """Entries kept because they do not say where their key was found."""


def pruned(
    existing: Sequence[BaselineEntry], found: Sequence[BaselineEntry], coverage: Coverage
) -> Pruned:
    """Drop only what the scan covered and did not find. A key no longer seen in a
    covered place loses that place; an entry goes when no place is left."""
    seen = {e.key for e in found}
    kept: list[BaselineEntry] = []
    out_of_scope = unrecorded = 0
    for e in existing:
        if e.key in seen:
            kept.append(e)
        elif not e.found_in:
            kept.append(e)
            unrecorded += 1
        else:
            left = tuple(s for s in e.found_in if not coverage.covers(s))
            if left:
                kept.append(replace(e, found_in=left))
                out_of_scope += 1
    return Pruned(kept, len(existing) - len(kept), out_of_scope, unrecorded)


def apply_baseline(
    findings: Sequence[Finding], baseline: Baseline, counters: Counter[str]
) -> tuple[tuple[Finding, ...], list[BaselineEntry]]:
    """Drop baselined findings (counted as ``baselined``); return the entries not seen."""
    wanted = {e.key for e in baseline.entries}
    kept, seen = [], set()
    for f in findings:
        key = (f.rule_id, f.fingerprint)
        if key in wanted:
            counters["baselined"] += 1
            seen.add(key)
        else:
            kept.append(f)
    stale = [e for e in baseline.entries if e.key not in seen]
    if stale:
        counters["baseline_unseen"] += len(stale)
    return tuple(kept), stale


def filter_findings(
    findings: Sequence[Finding], path: Path | None, counters: Counter[str], notes: list[str]
) -> tuple[Finding, ...]:
    """The pipeline's baseline stage: load, apply, and say which entries went unseen."""
    if path is None:
        return tuple(findings)
    baseline = load_baseline(path)
    kept, stale = apply_baseline(findings, baseline, counters)
    if stale:
        notes.append(stale_note(baseline, stale))
    return kept


def stale_note(baseline: Baseline, stale: Sequence[BaselineEntry]) -> str:
    listed = ", ".join(
        f"{e.fingerprint[:12]}" + (f" ({e.first_location})" if e.first_location else "")
        for e in stale[:MAX_STALE_SHOWN]
    )
    more = f" and {len(stale) - MAX_STALE_SHOWN} more" if len(stale) > MAX_STALE_SHOWN else ""
    return (
        f"baseline {baseline.path}: {len(stale)} of {len(baseline.entries)} entries not seen "
        f"in this scan: {listed}{more}. If this scan covers what the baseline was made from, "
        "they are stale: `keysentry baseline prune` removes them."
    )

"""Rules x bytes -> candidate matches. No I/O, no decoding, no locations."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from keysentry.detect.literals import LiteralSearch
from keysentry.detect.placeholders import placeholder_reason
from keysentry.detect.rules import Rule

LOOKBEHIND = 64
"""Bytes before a keyword where a rule's match may start."""
WINDOW = 512
"""Bytes after a keyword within which a rule's match must end."""


@dataclass(frozen=True, slots=True)
class Candidate:
    rule: Rule
    start: int
    end: int
    secret: str = field(repr=False)
    placeholder: str | None = None
    """Why the placeholder model rejects it, if it does."""


class Engine:
    """Compiles the rules' keywords (and any extra trigger needles) into one search."""

    def __init__(self, rules: Sequence[Rule], extra_needles: Iterable[bytes] = ()) -> None:
        self.rules = tuple(rules)
        needles: list[bytes] = []
        index: dict[bytes, int] = {}
        for needle in [k for r in self.rules for k in r.keywords] + list(extra_needles):
            if needle not in index:
                index[needle] = len(needles)
                needles.append(needle)
        self.needle_index = index
        self.search = LiteralSearch(needles)
        self._rules_by_needle: dict[int, list[Rule]] = {}
        for rule in self.rules:
            for keyword in rule.keywords:
                self._rules_by_needle.setdefault(index[keyword], []).append(rule)

    def hits(self, data: bytes) -> list[tuple[int, int]]:
        """(needle index, offset) of every needle occurrence."""
        return self.search.scan(data)

    def match(
        self,
        data: bytes,
        hits: Sequence[tuple[int, int]] | None = None,
        *,
        final: bool = True,
        classify: bool = True,
    ) -> list[Candidate]:
        """Candidates in ``data``, by start. With ``final=False`` the buffer is not the end of
        the input, so a match running up to the buffer's end is left for the next window.
        With ``classify=False`` the placeholder model is not asked (only the spans are wanted,
        as for redacting a snippet)."""
        if hits is None:
            hits = self.hits(data)
        size = len(data)
        seen: set[tuple[str, int, int]] = set()
        out: list[Candidate] = []
        for needle, offset in hits:
            for rule in self._rules_by_needle.get(needle, ()):
                lo = max(0, offset - LOOKBEHIND)
                hi = min(size, offset + WINDOW)
                for m in rule.pattern.finditer(data, lo, hi):
                    start, end = m.span(rule.secret_group)
                    # A window cut is not the end of the data: a lookahead there proves nothing.
                    if m.end() >= hi and (hi < size or not final):
                        continue
                    key = (rule.id, start, end)
                    if key in seen:
                        continue
                    seen.add(key)
                    secret = data[start:end].decode("utf-8", "backslashreplace")
                    reason = (
                        placeholder_reason(secret, rule.known_examples)
                        if classify and rule.placeholder_model
                        else None
                    )
                    out.append(Candidate(rule, start, end, secret, reason))
        out.sort(key=lambda c: (c.start, c.rule.id))
        return out

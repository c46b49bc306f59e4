"""Inline allow markers and placeholders act per location, before grouping."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from keysentry.detect.scanner import Hit
from keysentry.findings.build import InputContext


def drop_allowed(
    pairs: Iterable[tuple[Hit, InputContext]],
    counters: Counter[str],
    *,
    include_placeholders: bool,
) -> Iterator[tuple[Hit, InputContext]]:
    """Drop hits on a line with an allow marker, and placeholders unless they are wanted.

    A marker only covers its own line: the scanner records it per hit, so a key on
    the next line is never hidden by it."""
    for hit, ctx in pairs:
        if hit.allowed_by is not None:
            counters["allowed_inline"] += 1
        elif hit.placeholder is not None and not include_placeholders:
            counters["placeholders_suppressed"] += 1
        else:
            yield hit, ctx

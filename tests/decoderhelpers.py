"""What the decoder tests share: the scanner's view of triggers, and a run of the real scanner."""

from __future__ import annotations

import re

from keysentry.decoders.views import Derived, Limits, TextDecoder
from keysentry.detect.rules import load_rules
from keysentry.detect.scanner import Scanner

KEY = re.compile(rb"sk-or-v1-[0-9a-f]{64}(?![0-9a-fA-F])")


def offsets(decoder: TextDecoder, data: bytes) -> list[int]:
    """What the scanner's literal search reports: the start of every trigger."""
    found = set()
    for needle in decoder.triggers:
        pos = data.find(needle)
        while pos >= 0:
            found.add(pos)
            pos = data.find(needle, pos + 1)
    return sorted(found)


def run(decoder: TextDecoder, data: bytes, limits: Limits | None = None) -> list[Derived]:
    return decoder.decode(data, offsets(decoder, data), limits or Limits())


def reveal(data: bytes, depth: int | None = None) -> list[tuple[bytes, int, tuple[str, ...]]]:
    """(key, offset in ``data``, decoding chain) of every key the real scanner reports through
    at least one decoder, in order. ``depth`` caps the encoding nesting (the scanner's
    ``max_encoding_depth``); by default the shipped limit applies.

    This runs keysentry.detect.scanner.Scanner itself, not a copy of its recursion, so a decoder
    dropped from the scanner's list or a lower nesting limit fails the tests that use it.
    """
    limits = Limits() if depth is None else Limits(max_encoding_depth=depth)
    tally = Scanner(load_rules(), limits=limits).scan_bytes(data, "input")
    lines = data.split(b"\n")
    out: list[tuple[bytes, int, tuple[str, ...]]] = []
    for hit in tally.hits:
        if not hit.decoders or hit.placeholder is not None:
            continue
        line = lines[hit.line - 1]
        start = sum(len(x) + 1 for x in lines[: hit.line - 1])
        column = len(line.decode("utf-8", "replace")[: hit.column - 1].encode("utf-8"))
        out.append((hit.secret.encode(), start + column, hit.decoders))
    return out

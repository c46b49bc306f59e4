"""What the decoder tests share: the scanner's view of triggers, and its recursion."""

from __future__ import annotations

import re
from collections.abc import Callable

from keysentry.decoders import TEXT_DECODERS, Derived, Limits, TextDecoder

KEY = re.compile(rb"sk-or-v1-[0-9a-f]{64}(?![0-9a-fA-F])")
Origin = Callable[[int], int]


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


def compose(outer: Origin, inner: Origin) -> Origin:
    return lambda offset: outer(inner(offset))


def reveal(data: bytes, depth: int = 3) -> list[tuple[bytes, int, tuple[str, ...]]]:
    """Scanner-style recursion: (key, offset in ``data``, decoding chain) of decoded keys."""
    out: list[tuple[bytes, int, tuple[str, ...]]] = []

    def walk(view: bytes, origin: Origin, steps: tuple[str, ...]) -> None:
        if steps:
            out.extend((m.group(), origin(m.start()), steps) for m in KEY.finditer(view))
        if len(steps) == depth:
            return
        for decoder in TEXT_DECODERS:
            for derived in run(decoder, view):
                walk(derived.data, compose(origin, derived.origin), (*steps, derived.step))

    walk(data, lambda o: o, ())
    return out

"""Base64 wrapped with escaped line breaks: ``"LS0t...\\nQVBJ...\\n"`` in a JSON or YAML
string (a Kubernetes Secret or a service-account file pasted into JSON).

The base64 decoder follows real line breaks only; here the breaks are the two
characters ``\\n`` (or ``\\r\\n``). The view is the run with those escapes taken out,
every character mapped back to its place, and the scanner's next level decodes it as
base64. It runs on the base64 triggers and only yields a view when the run around
one holds such an escape.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from keysentry.decoders.encoded import base64_decoder
from keysentry.decoders.views import Derived, Limits, SegmentMapBuilder, TextDecoder

MAX_RUN = 2**20
"""Characters taken on each side of a trigger (a pasted certificate chain is a few KiB)."""

_FORWARD = re.compile(rb"(?:\\r\\n|\\n|[A-Za-z0-9+/=_-])*")
_BACKWARD = re.compile(rb"(?:n\\r\\|n\\|[A-Za-z0-9+/=_-])*")  # the same, reversed
_BREAK = re.compile(rb"\\r\\n|\\n")


def _left_edge(data: bytes, pos: int, limit: int) -> int:
    span = 256
    while True:
        lo = max(0, pos - span, pos - limit)
        found = _BACKWARD.match(data[lo:pos][::-1])
        size = found.end() if found else 0
        if size < pos - lo - 4 or lo == 0 or pos - lo >= limit:
            return pos - size
        span *= 8


def _unwrap(data: bytes, lo: int, hi: int) -> Derived | None:
    builder = SegmentMapBuilder()
    parts: list[bytes] = []
    pos = lo
    for found in _BREAK.finditer(data, lo, hi):
        if found.start() > pos:
            parts.append(data[pos : found.start()])
            builder.add(found.start() - pos, pos, 1, 1)
        pos = found.end()
    if pos == lo and not parts:
        return None
    if hi > pos:
        parts.append(data[pos:hi])
        builder.add(hi - pos, pos, 1, 1)
    if len(parts) < 2:
        return None  # no break inside the run: the base64 decoder reads it as it is
    return Derived(b"".join(parts), "escaped-newlines", builder.build())


def decode_wrapped(data: bytes, offsets: Sequence[int], limits: Limits) -> list[Derived]:
    """The base64 runs at the triggers with their ``\\n`` and ``\\r\\n`` escapes removed."""
    limit = min(MAX_RUN, max(limits.max_encoded_run, 64))
    out: list[Derived] = []
    done_until = -1
    for offset in sorted(set(offsets)):
        if offset < done_until or not 0 <= offset < len(data):
            continue
        lo = _left_edge(data, offset, limit)
        found = _FORWARD.match(data, offset, min(len(data), offset + limit))
        hi = found.end() if found else offset
        done_until = hi
        if b"\\n" not in data[lo:hi]:
            continue
        view = _unwrap(data, lo, hi)
        if view is not None:
            out.append(view)
    return out


def wrapped_decoder(depth: int) -> TextDecoder:
    """The decoder on the triggers of the base64 decoder for ``depth`` nested encodings."""
    return TextDecoder("escaped-newlines", base64_decoder(depth).triggers, decode_wrapped)

"""Base64 of a compressed stream or of a zip (a Helm release secret is base64 of base64
of gzip).

Base64 of a container starts with the encoding of its magic bytes, so the triggers are
those encodings (and their encodings again, for base64 of base64) at the start of a run.
The view is the decoded run; the scanner unpacks it as the container it is, under the
same budget and caps as any archive, as a member named after the run's line.

A compressed stream is otherwise recognised where it starts an input, a member or a
decoded view (:func:`keysentry.decoders.magic.detect`), not in the middle of other bytes:
zlib's two-byte header is in random data every 32 KiB, and looking there made binary
files take the scanner's slow path (measured: 581 files of a 12,000-file tree instead of
15).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from keysentry.decoders.encoded import gather_run
from keysentry.decoders.views import Derived, Limits, RunMap, TextDecoder

CONTAINER_MAGIC: dict[str, bytes] = {
    "gzip": b"\x1f\x8b\x08",
    "zip": b"PK\x03\x04",
    "bzip2": b"BZh",
    "xz": b"\xfd7zXZ\x00",
}
"""The magic bytes a base64 run of a container starts with."""
_ZLIB_BASE64 = ("eJ", "wxyz"), ("eN", "opqr")
"""zlib's header at its default and best levels (``78 9c``, ``78 da``) in base64: two
characters, then one of four (the next byte's top two bits)."""
_ALPHABET = rb"[A-Za-z0-9+/_-]"
MIN_RUN = 40
"""Base64 characters a container takes at least (a gzip stream's header and trailer are
18 bytes, 24 characters, before any content)."""
_BASE64_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-")


def _stable(raw: bytes) -> bytes:
    """The base64 characters of a run starting with ``raw`` that depend on ``raw`` alone."""
    return base64.b64encode(raw + bytes(2))[: 8 * len(raw) // 6]


def _container_triggers(depth: int = 2) -> tuple[bytes, ...]:
    level = [_stable(magic) for magic in CONTAINER_MAGIC.values()]
    level += [(head + c).encode() for head, third in _ZLIB_BASE64 for c in third]
    found = list(level)
    for _ in range(depth - 1):
        level = [_stable(needle) for needle in level]
        found += level
    return tuple(dict.fromkeys(found))


CONTAINER_TRIGGERS = _container_triggers()
"""Base64 of each container's magic, and base64 of that (a Helm release)."""


def decode_containers(data: bytes, offsets: Sequence[int], limits: Limits) -> list[Derived]:
    """The base64 runs that start at the triggers, decoded (the scanner unpacks them)."""
    out: list[Derived] = []
    done_until = -1
    limit = max(limits.max_encoded_run, 64)
    for offset in sorted(set(offsets)):
        if offset < done_until or not 0 <= offset < len(data):
            continue
        if offset and data[offset - 1] in _BASE64_BYTES:
            continue  # inside a run, not at its start: not a container's first bytes
        lines = [
            (max(lo, offset), hi)
            for lo, hi in gather_run(data, offset, _ALPHABET, 4, limit)
            if hi > offset
        ]
        if not lines:
            continue
        done_until = lines[-1][1]
        body = b"".join(data[lo:hi] for lo, hi in lines)[:limit]
        if len(body) < MIN_RUN:
            continue  # a signature quoted in a text, not a container
        body = body[: len(body) - len(body) % 4] if len(body) % 4 == 1 else body
        try:
            decoded = base64.b64decode(body.translate(_URL_TO_STD) + b"=" * (-len(body) % 4))
        except ValueError:
            continue
        if decoded:
            runmap = RunMap(lines, 0, 3, 4, len(decoded))
            out.append(Derived(decoded, "base64", runmap))
    return out


_URL_TO_STD = bytes.maketrans(b"-_", b"+/")
BASE64_CONTAINERS = TextDecoder("base64-container", CONTAINER_TRIGGERS, decode_containers)

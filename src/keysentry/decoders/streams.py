"""A gzip, bzip2, xz, zlib or raw deflate stream as a container of one member, named
after what it holds.

The member's name is the one stored in a gzip header, else the outer name without its
compression suffix (``app.tgz`` holds ``app.tar``), else ``<gzip>`` and the like.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from keysentry.decoders.decompress import RatioGuard, single_stream
from keysentry.decoders.members import Member, Session, member
from keysentry.decoders.reading import READ, pieces

_SUFFIXES: dict[str, tuple[tuple[str, str], ...]] = {
    "gzip": ((".tgz", ".tar"), (".gz", ""), (".z", "")),
    "bzip2": ((".tbz2", ".tar"), (".tbz", ".tar"), (".bz2", "")),
    "xz": ((".txz", ".tar"), (".xz", "")),
    "zlib": ((".zlib", ""), (".zz", "")),
    "deflate": ((".deflate", ""),),
}


def _gzip_name(head: bytes) -> str | None:
    """The file name stored in a gzip header (FNAME), if any."""
    if len(head) < 10 or not head.startswith(b"\x1f\x8b\x08"):
        return None
    flags, pos = head[3], 10
    if flags & 0x04:  # FEXTRA
        if len(head) < pos + 2:
            return None
        pos += 2 + int.from_bytes(head[pos : pos + 2], "little")
    if not flags & 0x08:  # FNAME
        return None
    end = head.find(b"\x00", pos, pos + 1024)
    return head[pos:end].decode("latin-1") if end > pos else None


def _stream_name(kind: str, head: bytes, outer_name: str) -> str:
    stored = _gzip_name(head) if kind == "gzip" else None
    if stored:
        return stored
    base = outer_name.replace("\\", "/").rsplit("/", 1)[-1]
    for suffix, replacement in _SUFFIXES[kind]:
        if base.lower().endswith(suffix) and len(base) > len(suffix):
            return base[: -len(suffix)] + replacement
    return f"<{kind}>"


def stream_member(
    kind: str, source: bytes | BinaryIO, outer_name: str, session: Session
) -> Iterator[Member]:
    """The one member of a ``kind`` ("gzip", "bzip2", "xz", "zlib", "deflate") stream."""
    head = source[:1024] if isinstance(source, bytes) else b""
    if not isinstance(source, bytes):
        head = source.read(READ)
    name = _stream_name(kind, head, outer_name)
    guard = RatioGuard.of(session.budget.limits)

    def produce() -> Iterator[bytes]:
        if isinstance(source, bytes):
            return single_stream(kind, pieces(source), guard)
        return single_stream(kind, _chain_first(head, source), guard)

    yield member(session, name, None, produce, metered=True, replayable=isinstance(source, bytes))


def _chain_first(first: bytes, rest: BinaryIO) -> Iterator[bytes]:
    if first:
        yield first
    yield from pieces(rest)

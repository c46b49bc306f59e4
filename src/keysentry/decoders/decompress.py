"""Streaming decompressors behind one interface, each asked for at most ``CHUNK`` bytes,
with a guard on the compression ratio that stops a bomb after its first output.

Used by the single compressed streams (gzip, bzip2, xz, zlib, raw deflate) and by zip members (deflate,
bzip2, lzma). Imported only once a container is opened, so bz2 and lzma cost nothing
to a scan that meets no archive.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from keysentry.decoders.members import CHUNK, Bomb, Corrupt
from keysentry.decoders.views import Limits


@dataclass(frozen=True, slots=True)
class RatioGuard:
    """Output over input of one stream: past ``max_ratio`` once ``grace`` bytes are out,
    the stream is a bomb. Real data stays far below the threshold (source and text
    tarballs 3-10:1, logs up to about 50:1) while deflate of one repeated byte reaches
    1000:1 and bzip2 or xz far more, so a bomb is stopped after ``grace`` bytes instead
    of costing the whole budget."""

    max_ratio: int
    grace: int

    @classmethod
    def of(cls, limits: Limits) -> RatioGuard:
        return cls(limits.max_compression_ratio, limits.ratio_grace_bytes)

    def check(self, produced: int, consumed: int, what: str) -> None:
        if self.max_ratio and produced >= self.grace and produced > self.max_ratio * consumed:
            raise Bomb(
                f"{what} stream gave {produced} bytes from {consumed}: a compression ratio "
                f"over {self.max_ratio}:1 (a decompression bomb?); the rest was not unpacked"
            )


class Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    def feed(self, data: bytes) -> Iterator[bytes]: ...


class Zlib:
    """zlib keeps unread input in ``unconsumed_tail`` when the output limit is hit."""

    __slots__ = ("_d",)

    def __init__(self, wbits: int) -> None:
        self._d = zlib.decompressobj(wbits)

    @property
    def eof(self) -> bool:
        return self._d.eof

    @property
    def unused_data(self) -> bytes:
        return self._d.unused_data

    def feed(self, data: bytes) -> Iterator[bytes]:
        d = self._d
        while True:
            out = d.decompress(data, CHUNK)
            if out:
                yield out
            data = d.unconsumed_tail
            if d.eof or (not data and len(out) < CHUNK):
                return


class Buffered:
    """bz2 and lzma keep unread input inside and say when they need more."""

    __slots__ = ("_d",)

    def __init__(self, d: bz2.BZ2Decompressor | lzma.LZMADecompressor) -> None:
        self._d = d

    @property
    def eof(self) -> bool:
        return self._d.eof

    @property
    def unused_data(self) -> bytes:
        return self._d.unused_data

    def feed(self, data: bytes) -> Iterator[bytes]:
        d = self._d
        out = d.decompress(data, CHUNK)
        while True:
            if out:
                yield out
            if d.eof or d.needs_input or not out:
                return
            out = d.decompress(b"", CHUNK)


_DECODE_ERRORS = (zlib.error, lzma.LZMAError, OSError, EOFError, ValueError)


def inflate(
    pieces: Iterable[bytes],
    make: Callable[[], Decompressor],
    what: str,
    resume: Callable[[bytes], bytes | None] | None = None,
    require_end: bool = True,
    guard: RatioGuard | None = None,
) -> Iterator[bytes]:
    """Decompress a stream given in pieces. ``resume`` decides whether bytes after the
    end of a stream start another one (concatenated gzip/bzip2/xz members); ``guard``
    raises :class:`Bomb` on a bomb."""
    stream: Decompressor | None = make()
    consumed = produced = 0
    try:
        for piece in pieces:
            consumed += len(piece)
            data = piece
            while data:
                if stream is None:
                    following = resume(data) if resume else None
                    if following is None:
                        return  # trailing bytes that are no stream: ignored, like gzip -d
                    if not following:
                        break
                    data, stream = following, make()
                for out in stream.feed(data):
                    produced += len(out)
                    if guard is not None:
                        guard.check(produced, consumed, what)
                    yield out
                if not stream.eof:
                    break
                data, stream = stream.unused_data, None
    except _DECODE_ERRORS as exc:
        raise Corrupt(f"corrupt {what} data ({exc})") from None
    if stream is not None and not stream.eof and require_end:
        raise Corrupt(f"truncated {what} stream: the input ends inside it")


def _resumer(magic: bytes) -> Callable[[bytes], bytes | None]:
    def resume(data: bytes) -> bytes | None:
        rest = data.lstrip(b"\x00")  # padding after a stream (tar.gz blocks, xz)
        if not rest:
            return b""
        return rest if rest.startswith(magic) else None

    return resume


def single_stream(kind: str, pieces: Iterable[bytes], guard: RatioGuard) -> Iterator[bytes]:
    """The content of a gzip, bzip2, xz, zlib or raw deflate stream (``kind``),
    concatenated members included (zlib and deflate have none)."""
    if kind in ("zlib", "deflate"):
        wbits = 15 if kind == "zlib" else -15
        return inflate(pieces, lambda: Zlib(wbits), kind, guard=guard)
    if kind == "gzip":
        return inflate(pieces, lambda: Zlib(31), "gzip", _resumer(b"\x1f\x8b"), guard=guard)
    if kind == "bzip2":
        make_bz2 = lambda: Buffered(bz2.BZ2Decompressor())  # noqa: E731
        return inflate(pieces, make_bz2, "bzip2", _resumer(b"BZh"), guard=guard)
    return inflate(
        pieces,
        lambda: Buffered(lzma.LZMADecompressor(lzma.FORMAT_XZ)),
        "xz",
        _resumer(b"\xfd7zXZ\x00"),
        guard=guard,
    )

"""Positioned reads over bytes or a seekable file, in bounded pieces.

Every read seeks first, so readers that interleave on one file (a zip's members,
its central directory) do not disturb each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

READ = 2**16
"""Compressed input fed to a decompressor at once."""


def read_at(source: BinaryIO, offset: int, size: int) -> bytes:
    source.seek(offset)
    return source.read(size)


def at(source: bytes | BinaryIO, offset: int, size: int) -> bytes:
    if isinstance(source, bytes):
        return source[offset : offset + size]
    return read_at(source, offset, size)


def read_range(source: BinaryIO, start: int, length: int, piece: int) -> Iterator[bytes]:
    """``length`` bytes from ``start``, or fewer if the file ends first. Seeks before every
    read, so interleaved readers of one file do not disturb each other."""
    pos, end = start, start + length
    while pos < end:
        data = read_at(source, pos, min(piece, end - pos))
        if not data:
            return
        pos += len(data)
        yield data


def pieces(source: bytes | BinaryIO) -> Iterator[bytes]:
    """``source`` from where it stands, in pieces of at most ``READ`` bytes."""
    if isinstance(source, bytes):
        view = memoryview(source)
        for start in range(0, len(view), READ):
            yield bytes(view[start : start + READ])
        return
    while True:
        data = source.read(READ)
        if not data:
            return
        yield data

"""A zip's end-of-central-directory record: where it is, and what it says.

The record sits in the last bytes of the file, so a zip behind a prefix (a
self-extracting archive, a zipapp with a shebang) is still found by its tail.
"""

from __future__ import annotations

import io
import struct
from typing import BinaryIO

from keysentry.decoders.magic import EOCD_MAGIC
from keysentry.decoders.reading import at, read_at

EOCD_SEARCH = 22 + 0xFFFF
"""The end-of-central-directory record is in this many last bytes (its comment is <64 KiB)."""


def zip_by_tail(source: bytes | BinaryIO) -> bool:
    """True when the last bytes hold an end-of-central-directory record that points at a
    central directory (or describes an empty or zip64 one)."""
    size = len(source) if isinstance(source, bytes) else source.seek(0, io.SEEK_END)
    base = max(0, size - EOCD_SEARCH)
    tail = source[base:] if isinstance(source, bytes) else read_at(source, base, size - base)
    pos = tail.rfind(EOCD_MAGIC)
    while pos >= 0:
        if pos + 22 <= len(tail):
            entries, cd_size, _cd_offset, comment = struct.unpack_from("<HIIH", tail, pos + 10)
            if pos + 22 + comment <= len(tail):
                if tail[max(0, pos - 20) : pos].startswith(b"PK\x06\x07"):
                    return True  # zip64: the directory is described elsewhere
                cd_at = base + pos - cd_size
                if cd_size == entries == 0:
                    return True  # an empty zip
                if cd_size and cd_at >= 0 and at(source, cd_at, 4) == b"PK\x01\x02":
                    return True
        pos = tail.rfind(EOCD_MAGIC, 0, pos)
    return False


def central_directory_size(f: BinaryIO) -> int:
    """The size the last end-of-central-directory record gives, 0 if none (or zip64)."""
    size = f.seek(0, io.SEEK_END)
    base = max(0, size - EOCD_SEARCH)
    tail = read_at(f, base, size - base)
    pos = tail.rfind(EOCD_MAGIC)
    if pos < 0 or pos + 22 > len(tail):
        return 0
    cd_size: int = struct.unpack_from("<I", tail, pos + 12)[0]
    return 0 if cd_size == 0xFFFFFFFF else cd_size  # zip64: left to zipfile

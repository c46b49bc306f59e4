"""The members of a zip archive, from its central directory or, when that is lost or too
large to load, from the local headers walked from the front.

Each member's sizes and CRC-32 are checked as it streams; encrypted members and
unsupported compression methods are reported, not read; links are counted, not followed.
"""

from __future__ import annotations

import bz2
import io
import lzma
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from itertools import chain
from typing import BinaryIO

from keysentry.decoders.decompress import Buffered, Decompressor, RatioGuard, Zlib, inflate
from keysentry.decoders.members import CHUNK, Corrupt, Link, Member, Session, member
from keysentry.decoders.reading import READ, read_at, read_range
from keysentry.decoders.views import Limits
from keysentry.decoders.zip_eocd import central_directory_size
from keysentry.models import Issue

_MAX_CD_PER_MEMBER = 1024
"""Central-directory bytes per allowed member beyond which zipfile is not asked to load it
(it keeps every entry in memory): such a zip is read by its local headers instead."""

_UTF8 = 0x800
"""General-purpose flag bit 11: the name is UTF-8."""
_ZIP_METHODS = {0: "stored", 8: "deflate", 12: "bzip2", 14: "lzma"}
_ZIP_UNSUPPORTED = {9: "deflate64", 93: "zstandard", 95: "xz", 98: "ppmd"}
_ZIP_HEADERS = re.compile(rb"PK(?:\x03\x04|\x01\x02|\x05\x06)")


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    flags: int
    method: int
    crc: int | None
    compressed: int
    size: int | None
    header: int
    """Offset of the local header."""
    is_dir: bool = False
    is_link: bool = False

    @classmethod
    def of(cls, info: zipfile.ZipInfo) -> _Entry:
        mode = info.external_attr >> 16
        return cls(
            # zipfile read an unflagged name as CP437, which maps every byte: undo it.
            name=info.filename if info.flag_bits & _UTF8 else _name(info.filename.encode("cp437")),
            flags=info.flag_bits,
            method=info.compress_type,
            crc=info.CRC,
            compressed=info.compress_size,
            size=info.file_size,
            header=info.header_offset,
            is_dir=info.is_dir(),
            is_link=info.create_system == 3 and stat.S_ISLNK(mode),
        )


def _name(raw: bytes) -> str:
    """A member name without loss: names are bytes. Unflagged names are UTF-8 far more
    often than the CP437 the format names (macOS, Info-ZIP), and a byte that is not
    UTF-8 is kept as a surrogate, to be shown escaped (``caf\\xe9.env``)."""
    return raw.decode("utf-8", "surrogateescape")


def _seekable(source: bytes | BinaryIO, limits: Limits) -> BinaryIO | None:
    if isinstance(source, bytes):
        return io.BytesIO(source)
    if source.seekable():
        return source
    data = source.read(limits.max_buffered_bytes + 1)
    return io.BytesIO(data) if len(data) <= limits.max_buffered_bytes else None


def zip_members(
    source: bytes | BinaryIO, limits: Limits, session: Session
) -> Iterator[Member | Link | Issue]:
    """The members of the zip in ``source``, and the problems met. A stream that cannot
    seek is buffered first, up to ``max_buffered_bytes``."""
    guard = RatioGuard.of(limits)
    f = _seekable(source, limits)
    if f is None:
        yield Issue(
            "size-cap",
            "",
            f"zip read from a stream is larger than {limits.max_buffered_bytes} bytes: "
            "not unpacked",
        )
        return
    if central_directory_size(f) > _MAX_CD_PER_MEMBER * limits.max_members:
        yield Issue(
            "archive-cap",
            "",
            "central directory too large to load: members read from local headers",
        )
        yield from _zip_local_members(f, limits, session, guard)
        return
    try:
        infos = zipfile.ZipFile(f).infolist()
    except Exception as exc:  # a hostile central directory fails zipfile in any way
        yield Issue(
            "decode-error",
            "",
            f"zip central directory unreadable ({type(exc).__name__}: {exc}); "
            "members were read from their local headers instead",
        )
        yield from _zip_local_members(f, limits, session, guard)
        return
    for index, info in enumerate(infos):
        if index >= limits.max_members:
            yield Issue(
                "archive-cap",
                "",
                f"{len(infos)} members; only the first {limits.max_members} were read",
            )
            return
        yield from _zip_entry(f, _Entry.of(info), session, guard)


def _zip_entry(
    f: BinaryIO, entry: _Entry, session: Session, guard: RatioGuard
) -> Iterator[Member | Link | Issue]:
    if entry.is_dir:
        return
    if entry.is_link:
        yield Link(entry.name)
    elif entry.flags & 0x1:
        yield Issue("encrypted", entry.name, "encrypted zip member: its content was not scanned")
    elif entry.method not in _ZIP_METHODS:
        method = _ZIP_UNSUPPORTED.get(entry.method, "unknown")
        yield Issue(
            "decode-error",
            entry.name,
            f"zip compression method {entry.method} ({method}) is not supported",
        )
    else:
        produce = partial(_zip_content, f, entry, guard)
        yield member(
            session, entry.name, entry.size, produce, metered=entry.method != 0, replayable=True
        )


def _zip_content(f: BinaryIO, entry: _Entry, guard: RatioGuard) -> Iterator[bytes]:
    header = read_at(f, entry.header, 30)
    if len(header) < 30 or not header.startswith(b"PK\x03\x04"):
        raise Corrupt(f"no local header at offset {entry.header}")
    name_len, extra_len = struct.unpack_from("<HH", header, 26)
    start = entry.header + 30 + name_len + extra_len
    piece = CHUNK if entry.method == 0 else READ
    pieces = read_range(f, start, entry.compressed, piece)
    crc = produced = 0
    for data in _zip_decompress(entry, pieces, guard):
        if entry.size is not None and produced + len(data) > entry.size:
            # A reader may hold a member of a small recorded size whole in memory.
            if entry.size > produced:
                yield data[: entry.size - produced]
            raise Corrupt(f"member data runs past its recorded size of {entry.size} bytes")
        crc = zlib.crc32(data, crc)
        produced += len(data)
        yield data
    if entry.size is not None and produced != entry.size:
        raise Corrupt(f"member data ends after {produced} of {entry.size} bytes")
    if entry.crc is not None and crc != entry.crc:
        raise Corrupt("CRC-32 mismatch: the member data is damaged")


def _zip_decompress(entry: _Entry, pieces: Iterator[bytes], guard: RatioGuard) -> Iterator[bytes]:
    # The sizes and the CRC say whether a member is whole; an LZMA stream may lack an end mark.
    if entry.method == 0:
        return pieces
    if entry.method == 8:
        make: Callable[[], Decompressor] = lambda: Zlib(-15)  # noqa: E731
        return inflate(pieces, make, "deflate", require_end=entry.size is None, guard=guard)
    if entry.method == 12:
        make = lambda: Buffered(bz2.BZ2Decompressor())  # noqa: E731
        return inflate(pieces, make, "bzip2", require_end=False, guard=guard)
    return _zip_lzma(pieces, guard)


def _zip_lzma(pieces: Iterator[bytes], guard: RatioGuard) -> Iterator[bytes]:
    head = b""
    for data in pieces:  # 2-byte version, 2-byte properties size, the properties
        head += data
        if len(head) >= 4 and len(head) >= 4 + int.from_bytes(head[2:4], "little"):
            break
    props_end = 4 + int.from_bytes(head[2:4], "little") if len(head) >= 4 else 9
    if props_end < 9 or len(head) < props_end:
        raise Corrupt("zip lzma member without its properties header")
    packed, dict_size = head[4], int.from_bytes(head[5:9], "little")
    lc, rest = packed % 9, packed // 9
    lzma1 = {
        "id": lzma.FILTER_LZMA1,
        "dict_size": dict_size,
        "lc": lc,
        "lp": rest % 5,
        "pb": rest // 5,
    }

    def make() -> Decompressor:
        return Buffered(lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[lzma1]))

    yield from inflate(
        chain([head[props_end:]], pieces), make, "lzma", require_end=False, guard=guard
    )


def _zip_local_members(
    f: BinaryIO, limits: Limits, session: Session, guard: RatioGuard
) -> Iterator[Member | Link | Issue]:
    """Members found by walking local headers from the front, for a zip whose central
    directory is lost (a truncated download) or too large to load."""
    pos = read_at(f, 0, READ).find(b"PK\x03\x04")
    count = 0
    while pos >= 0:
        header = read_at(f, pos, 30)
        if len(header) < 30 or not header.startswith(b"PK\x03\x04"):
            return
        flags, method, crc, compressed, size, name_len, extra_len = struct.unpack_from(
            "<2xHHxxxxIIIHH", header, 4
        )
        raw_name = read_at(f, pos + 30, name_len)
        name = _name(raw_name)
        extra = read_at(f, pos + 30 + name_len, extra_len)
        size, compressed = _zip64_sizes(extra, size, compressed)
        start = pos + 30 + name_len + extra_len
        known: int | None = size
        checksum: int | None = crc
        following = start + compressed
        if flags & 0x8:  # the sizes follow the data: the next header says where it ends
            if method != 8:  # only deflate knows its own end
                detail = "member without sizes in a zip without a directory"
                yield Issue("decode-error", name, detail)
                return
            following = _next_zip_header(f, start)
            compressed = (following if following >= 0 else f.seek(0, io.SEEK_END)) - start
            known = checksum = None
        count += 1
        if count > limits.max_members:
            yield Issue(
                "archive-cap", "", f"more than {limits.max_members} members; the rest was not read"
            )
            return
        entry = _Entry(
            name, flags, method, checksum, compressed, known, pos, is_dir=name.endswith("/")
        )
        yield from _zip_entry(f, entry, session, guard)
        pos = following


def _zip64_sizes(extra: bytes, size: int, compressed: int) -> tuple[int, int]:
    pos = 0
    if 0xFFFFFFFF not in (size, compressed):
        return size, compressed
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        if tag == 0x0001:
            # In a local header the zip64 field holds both sizes, in this order.
            values = extra[pos + 4 : pos + 4 + length]
            if len(values) >= 16:
                size = int.from_bytes(values[:8], "little")
                compressed = int.from_bytes(values[8:16], "little")
            break
        pos += 4 + length
    return size, compressed


def _next_zip_header(f: BinaryIO, start: int) -> int:
    pos = start
    while True:
        block = read_at(f, pos, CHUNK + 3)
        found = _ZIP_HEADERS.search(block)
        if found:
            return pos + found.start()
        if len(block) <= 3:
            return -1
        pos += len(block) - 3

"""Archives and compressed streams, recognised by content and read as streams.

Every decompressor is fed bounded pieces and asked for at most ``CHUNK`` bytes at a
time, and every decompressed byte is charged to the input's :class:`Budget`, so a
bomb costs one chunk of memory and at most the budget of work. Nothing is ever
written to disk; member names (``../x`` included) are only names.
"""

from __future__ import annotations

import bz2
import io
import lzma
import re
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from itertools import chain
from typing import TYPE_CHECKING, BinaryIO, Literal, Protocol

from keysentry.decoders.views import Limits
from keysentry.models import Issue

if TYPE_CHECKING:
    from typing_extensions import Self

ArchiveKind = Literal["zip", "tar", "gzip", "bzip2", "xz"]
CHUNK = 2**20
"""Largest piece of member content handed out at once."""
HEAD_SIZE = 512
"""Bytes :func:`detect` needs to see (tar's magic is at 257)."""
_READ = 2**16
"""Compressed input fed to a decompressor at once."""
_EOCD_SEARCH = 22 + 0xFFFF
"""The end-of-central-directory record is in this many last bytes (its comment is <64 KiB)."""
_MAX_CD_PER_MEMBER = 1024
"""Central-directory bytes per allowed member beyond which zipfile is not asked to load it
(it keeps every entry in memory): such a zip is read by its local headers instead."""


@dataclass(slots=True)
class Budget:
    """Decompressed bytes spent on one top-level input, shared by every nested level."""

    limits: Limits
    used: int = 0
    exceeded: bool = False
    reported: bool = False

    def take(self, size: int) -> int:
        """Charge up to ``size`` bytes; returns how many fit under the cap."""
        grant = max(0, min(size, self.limits.max_decoded_bytes - self.used))
        self.used += grant
        if grant < size:
            self.exceeded = True
        return grant


@dataclass(frozen=True, slots=True)
class Member:
    """One file inside a container."""

    name: str
    """Path inside the container; for a compressed stream, the stored or derived name."""
    chunks: Callable[[], Iterator[bytes]] = field(repr=False)
    """Streams the content in pieces of at most ``CHUNK`` bytes. Call it, and read what
    it gives, before taking the next item from :func:`iter_members`."""
    size: int | None = None


# -- detection --------------------------------------------------------------


def detect(head: bytes) -> ArchiveKind | None:
    """The container kind from the first bytes (give at least ``HEAD_SIZE``)."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08PK\x03\x04")):
        return "zip"
    if head.startswith(b"\x1f\x8b\x08"):
        return "gzip"
    if re.match(rb"BZh[1-9](?:1AY&SY|\x17rE8P\x90)", head):  # a first block, or an empty stream
        return "bzip2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head[257:262] == b"ustar":
        return "tar"
    return None


def detect_data(source: bytes | BinaryIO) -> ArchiveKind | None:
    """Like :func:`detect`, and also finds a zip behind a prefix (a self-extracting
    archive, a zipapp with a shebang) by its end-of-central-directory record."""
    head = source[:HEAD_SIZE] if isinstance(source, bytes) else _read_at(source, 0, HEAD_SIZE)
    return detect(head) or ("zip" if _zip_by_tail(source) else None)


def _zip_by_tail(source: bytes | BinaryIO) -> bool:
    size = len(source) if isinstance(source, bytes) else source.seek(0, io.SEEK_END)
    base = max(0, size - _EOCD_SEARCH)
    tail = source[base:] if isinstance(source, bytes) else _read_at(source, base, size - base)
    pos = tail.rfind(b"PK\x05\x06")
    while pos >= 0:
        if pos + 22 <= len(tail):
            entries, cd_size, _cd_offset, comment = struct.unpack_from("<HIIH", tail, pos + 10)
            if pos + 22 + comment <= len(tail):
                if tail[max(0, pos - 20) : pos].startswith(b"PK\x06\x07"):
                    return True  # zip64: the directory is described elsewhere
                cd_at = base + pos - cd_size
                if cd_size == entries == 0:
                    return True  # an empty zip
                if cd_size and cd_at >= 0 and _at(source, cd_at, 4) == b"PK\x01\x02":
                    return True
        pos = tail.rfind(b"PK\x05\x06", 0, pos)
    return False


# -- reading ----------------------------------------------------------------


def _read_at(source: BinaryIO, offset: int, size: int) -> bytes:
    source.seek(offset)
    return source.read(size)


def _at(source: bytes | BinaryIO, offset: int, size: int) -> bytes:
    if isinstance(source, bytes):
        return source[offset : offset + size]
    return _read_at(source, offset, size)


def _read_range(source: BinaryIO, start: int, length: int, piece: int) -> Iterator[bytes]:
    """``length`` bytes from ``start``, or fewer if the file ends first. Seeks before every
    read, so interleaved readers of one file do not disturb each other."""
    pos, end = start, start + length
    while pos < end:
        data = _read_at(source, pos, min(piece, end - pos))
        if not data:
            return
        pos += len(data)
        yield data


def _pieces(source: bytes | BinaryIO) -> Iterator[bytes]:
    if isinstance(source, bytes):
        view = memoryview(source)
        for start in range(0, len(view), _READ):
            yield bytes(view[start : start + _READ])
        return
    while True:
        data = source.read(_READ)
        if not data:
            return
        yield data


class _Corrupt(Exception):
    """Content that cannot be decoded; the message is the Issue's detail."""


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    def feed(self, data: bytes) -> Iterator[bytes]: ...


class _Zlib:
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


class _Buffered:
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


def _inflate(
    pieces: Iterable[bytes],
    make: Callable[[], _Decompressor],
    what: str,
    resume: Callable[[bytes], bytes | None] | None = None,
    require_end: bool = True,
) -> Iterator[bytes]:
    """Decompress a stream given in pieces. ``resume`` decides whether bytes after the
    end of a stream start another one (concatenated gzip/bzip2/xz members)."""
    stream: _Decompressor | None = make()
    try:
        for piece in pieces:
            data = piece
            while data:
                if stream is None:
                    following = resume(data) if resume else None
                    if following is None:
                        return  # trailing bytes that are no stream: ignored, like gzip -d
                    if not following:
                        break
                    data, stream = following, make()
                yield from stream.feed(data)
                if not stream.eof:
                    break
                data, stream = stream.unused_data, None
    except _DECODE_ERRORS as exc:
        raise _Corrupt(f"corrupt {what} data ({exc})") from None
    if stream is not None and not stream.eof and require_end:
        raise _Corrupt(f"truncated {what} stream: the input ends inside it")


def _resumer(magic: bytes) -> Callable[[bytes], bytes | None]:
    def resume(data: bytes) -> bytes | None:
        rest = data.lstrip(b"\x00")  # padding after a stream (tar.gz blocks, xz)
        if not rest:
            return b""
        return rest if rest.startswith(magic) else None

    return resume


def _single_stream(kind: str, pieces: Iterable[bytes]) -> Iterator[bytes]:
    if kind == "gzip":
        return _inflate(pieces, lambda: _Zlib(31), "gzip", _resumer(b"\x1f\x8b"))
    if kind == "bzip2":
        return _inflate(pieces, lambda: _Buffered(bz2.BZ2Decompressor()), "bzip2", _resumer(b"BZh"))
    return _inflate(
        pieces,
        lambda: _Buffered(lzma.LZMADecompressor(lzma.FORMAT_XZ)),
        "xz",
        _resumer(b"\xfd7zXZ\x00"),
    )


# -- the walk ---------------------------------------------------------------


class _Session:
    """What one :func:`iter_members` call shares with its members' chunk streams:
    problems met while a member streams are reported when the next item is asked for."""

    __slots__ = ("budget", "failed", "issues", "serial")

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.issues: list[Issue] = []
        self.serial = 0
        self.failed = False

    def problem(self, kind: str, path: str, detail: str) -> None:
        self.issues.append(Issue(kind, path, detail))
        self.failed = self.failed or kind == "decode-error"

    def capped(self, path: str) -> None:
        if not self.budget.reported:
            self.budget.reported = True
            cap = self.budget.limits.max_decoded_bytes
            self.problem(
                "size-cap",
                path,
                f"decompressed content passed the cap of {cap} bytes for this input; "
                "the rest was not unpacked or scanned",
            )

    def drain(self) -> Iterator[Issue]:
        while self.issues:
            yield self.issues.pop(0)


def _guarded(
    pieces: Iterator[bytes], session: _Session, path: str, metered: bool
) -> Iterator[bytes]:
    try:
        for piece in pieces:
            if metered:
                grant = session.budget.take(len(piece))
                if grant:
                    yield piece if grant == len(piece) else piece[:grant]
                if grant < len(piece):
                    session.capped(path)
                    return
            elif piece:
                yield piece
    except _Corrupt as exc:
        session.problem("decode-error", path, str(exc))
    except Exception as exc:  # hostile bytes fail library code in any way: never a crash
        session.problem("decode-error", path, f"unreadable ({type(exc).__name__}: {exc})")


def _member(
    session: _Session,
    name: str,
    size: int | None,
    produce: Callable[[], Iterator[bytes]],
    *,
    metered: bool,
    replayable: bool,
) -> Member:
    serial = session.serial
    opened = False

    def chunks() -> Iterator[bytes]:
        nonlocal opened
        if session.serial != serial or (opened and not replayable):
            raise RuntimeError(f"{name}: read a member's chunks once, before the next member")
        opened = True
        return _guarded(produce(), session, name, metered)

    return Member(name, chunks, size)


def iter_members(
    kind: str, source: bytes | BinaryIO, outer_name: str, limits: Limits, budget: Budget
) -> Iterator[Member | Issue]:
    """The members of a container of ``kind`` (from :func:`detect`), in order.

    Problems come as :class:`Issue` items among the members, each with ``path`` the
    member name, or ``""`` for the container as a whole: ``size-cap`` (the budget ran
    out; nothing more is read at any level), ``archive-cap`` (over ``max_members``),
    ``decode-error`` (corrupt or truncated: what was read before is kept),
    ``encrypted`` and ``symlink``. Directories and devices are skipped silently.
    ``source`` may be a non-seekable stream; a zip is then buffered, up to
    ``max_member_bytes``. ``outer_name`` names single compressed streams.
    """
    session = _Session(budget)
    if budget.exceeded:
        return
    walkers: dict[str, Callable[[], Iterator[Member | Issue]]] = {
        "zip": lambda: _zip_members(source, limits, session),
        "tar": lambda: _tar_members(source, limits, session),
    }
    walk = walkers.get(kind)
    if walk is None and kind in ("gzip", "bzip2", "xz"):
        walk = partial(_stream_member, kind, source, outer_name, session)
    if walk is None:
        yield Issue("decode-error", "", f"unknown container kind {kind!r}")
        return
    try:
        for item in walk():
            yield from session.drain()
            if budget.exceeded:
                break
            yield item
            session.serial += 1
            yield from session.drain()
            if budget.exceeded:
                break
    except Exception as exc:  # hostile bytes fail library code in any way: never a crash
        session.problem("decode-error", "", f"{kind} unreadable ({type(exc).__name__}: {exc})")
    yield from session.drain()


# -- gzip, bzip2, xz --------------------------------------------------------

_SUFFIXES: dict[str, tuple[tuple[str, str], ...]] = {
    "gzip": ((".tgz", ".tar"), (".gz", ""), (".z", "")),
    "bzip2": ((".tbz2", ".tar"), (".tbz", ".tar"), (".bz2", "")),
    "xz": ((".txz", ".tar"), (".xz", "")),
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


def _stream_member(
    kind: str, source: bytes | BinaryIO, outer_name: str, session: _Session
) -> Iterator[Member]:
    head = source[:1024] if isinstance(source, bytes) else b""
    if not isinstance(source, bytes):
        head = source.read(_READ)
    name = _stream_name(kind, head, outer_name)

    def produce() -> Iterator[bytes]:
        if isinstance(source, bytes):
            return _single_stream(kind, _pieces(source))
        return _single_stream(kind, _chain_first(head, source))

    yield _member(session, name, None, produce, metered=True, replayable=isinstance(source, bytes))


def _chain_first(first: bytes, rest: BinaryIO) -> Iterator[bytes]:
    if first:
        yield first
    yield from _pieces(rest)


# -- tar --------------------------------------------------------------------


def _readable(name: str) -> str:
    """tarfile keeps undecodable name bytes as lone surrogates, which no report can print."""
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeError:
        return name.encode("utf-8", "replace").decode("utf-8")


# Header problems that mean "the archive ended", not "the archive is damaged".
_TAR_ENDS: tuple[type[Exception], ...] = tuple(
    getattr(tarfile, n) for n in ("EOFHeaderError", "EmptyHeaderError") if hasattr(tarfile, n)
)


def _tracing_tarinfo(trouble: list[str]) -> type[tarfile.TarInfo]:
    """A TarInfo that records a damaged header: in stream mode tarfile treats one after
    the first member as the end of the archive and says nothing."""

    class Traced(tarfile.TarInfo):
        @classmethod
        def fromtarfile(cls, tarfile_: tarfile.TarFile) -> Self:
            try:
                return super().fromtarfile(tarfile_)
            except _TAR_ENDS:
                raise
            except tarfile.HeaderError as exc:
                trouble.append(str(exc))
                raise

    return Traced


def _tar_content(archive: tarfile.TarFile, info: tarfile.TarInfo) -> Iterator[bytes]:
    content = archive.extractfile(info)
    if content is None:
        return
    while True:
        try:
            data = content.read(CHUNK)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise _Corrupt(f"truncated tar member ({exc})") from None
        if not data:
            return
        yield data


def _tar_members(
    source: bytes | BinaryIO, limits: Limits, session: _Session
) -> Iterator[Member | Issue]:
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    trouble: list[str] = []
    try:
        # Stream mode ("r|"): members are read in order, never by seeking back.
        archive = tarfile.open(fileobj=stream, mode="r|", tarinfo=_tracing_tarinfo(trouble))  # noqa: SIM115
    except Exception as exc:  # hostile bytes fail tarfile in any way
        yield Issue("decode-error", "", f"not a readable tar ({type(exc).__name__}: {exc})")
        return
    with archive:  # closes tarfile's own state, never the caller's stream
        ended = yield from _tar_walk(archive, limits, session)
    if ended and trouble:
        detail = (
            f"a damaged tar header ({trouble[0]}) ended the archive early; the rest was not read"
        )
        yield Issue("decode-error", "", detail)


def _tar_walk(
    archive: tarfile.TarFile, limits: Limits, session: _Session
) -> Generator[Member | Issue, None, bool]:
    """Yields the members; returns True when tarfile saw the end (or a header it took for
    the end), False when it stopped early and said why."""
    count = 0
    while True:
        try:
            info = archive.next()
        except Exception as exc:  # hostile bytes fail tarfile in any way
            detail = f"tar unreadable after {count} members ({exc}); the rest was not read"
            yield Issue("decode-error", "", detail)
            return False
        if info is None:
            return True
        count += 1
        if count > limits.max_members:
            detail = f"more than {limits.max_members} members; the rest was not read"
            yield Issue("archive-cap", "", detail)
            return False
        name = _readable(info.name)
        if info.issym() or info.islnk():
            yield Issue("symlink", name, f"link to {_readable(info.linkname)!r}: not followed")
        elif info.isreg():
            produce = partial(_tar_content, archive, info)
            yield _member(session, name, info.size, produce, metered=False, replayable=False)
            if session.failed:
                return False  # a stream cannot skip past damage


# -- zip --------------------------------------------------------------------

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
            name=info.filename,
            flags=info.flag_bits,
            method=info.compress_type,
            crc=info.CRC,
            compressed=info.compress_size,
            size=info.file_size,
            header=info.header_offset,
            is_dir=info.is_dir(),
            is_link=info.create_system == 3 and stat.S_ISLNK(mode),
        )


def _seekable(source: bytes | BinaryIO, limits: Limits) -> BinaryIO | None:
    if isinstance(source, bytes):
        return io.BytesIO(source)
    if source.seekable():
        return source
    data = source.read(limits.max_member_bytes + 1)
    return io.BytesIO(data) if len(data) <= limits.max_member_bytes else None


def _zip_members(
    source: bytes | BinaryIO, limits: Limits, session: _Session
) -> Iterator[Member | Issue]:
    f = _seekable(source, limits)
    if f is None:
        yield Issue(
            "size-cap",
            "",
            f"zip read from a stream is larger than {limits.max_member_bytes} bytes: not unpacked",
        )
        return
    if _central_directory_size(f) > _MAX_CD_PER_MEMBER * limits.max_members:
        yield Issue(
            "archive-cap",
            "",
            "central directory too large to load: members read from local headers",
        )
        yield from _zip_local_members(f, limits, session)
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
        yield from _zip_local_members(f, limits, session)
        return
    for index, info in enumerate(infos):
        if index >= limits.max_members:
            yield Issue(
                "archive-cap",
                "",
                f"{len(infos)} members; only the first {limits.max_members} were read",
            )
            return
        yield from _zip_entry(f, _Entry.of(info), session)


def _central_directory_size(f: BinaryIO) -> int:
    size = f.seek(0, io.SEEK_END)
    base = max(0, size - _EOCD_SEARCH)
    tail = _read_at(f, base, size - base)
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or pos + 22 > len(tail):
        return 0
    cd_size: int = struct.unpack_from("<I", tail, pos + 12)[0]
    return 0 if cd_size == 0xFFFFFFFF else cd_size  # zip64: left to zipfile


def _zip_entry(f: BinaryIO, entry: _Entry, session: _Session) -> Iterator[Member | Issue]:
    if entry.is_dir:
        return
    if entry.is_link:
        yield Issue("symlink", entry.name, "symbolic link in a zip: not followed")
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
        produce = partial(_zip_content, f, entry)
        yield _member(
            session, entry.name, entry.size, produce, metered=entry.method != 0, replayable=True
        )


def _zip_content(f: BinaryIO, entry: _Entry) -> Iterator[bytes]:
    header = _read_at(f, entry.header, 30)
    if len(header) < 30 or not header.startswith(b"PK\x03\x04"):
        raise _Corrupt(f"no local header at offset {entry.header}")
    name_len, extra_len = struct.unpack_from("<HH", header, 26)
    start = entry.header + 30 + name_len + extra_len
    piece = CHUNK if entry.method == 0 else _READ
    pieces = _read_range(f, start, entry.compressed, piece)
    crc = produced = 0
    for data in _zip_decompress(entry, pieces):
        crc = zlib.crc32(data, crc)
        produced += len(data)
        yield data
    if entry.size is not None and produced != entry.size:
        raise _Corrupt(f"member data ends after {produced} of {entry.size} bytes")
    if entry.crc is not None and crc != entry.crc:
        raise _Corrupt("CRC-32 mismatch: the member data is damaged")


def _zip_decompress(entry: _Entry, pieces: Iterator[bytes]) -> Iterator[bytes]:
    # The sizes and the CRC say whether a member is whole; an LZMA stream may lack an end mark.
    if entry.method == 0:
        return pieces
    if entry.method == 8:
        return _inflate(pieces, lambda: _Zlib(-15), "deflate", require_end=entry.size is None)
    if entry.method == 12:
        return _inflate(
            pieces, lambda: _Buffered(bz2.BZ2Decompressor()), "bzip2", require_end=False
        )
    return _zip_lzma(pieces)


def _zip_lzma(pieces: Iterator[bytes]) -> Iterator[bytes]:
    head = b""
    for data in pieces:  # 2-byte version, 2-byte properties size, the properties
        head += data
        if len(head) >= 4 and len(head) >= 4 + int.from_bytes(head[2:4], "little"):
            break
    props_end = 4 + int.from_bytes(head[2:4], "little") if len(head) >= 4 else 9
    if props_end < 9 or len(head) < props_end:
        raise _Corrupt("zip lzma member without its properties header")
    packed, dict_size = head[4], int.from_bytes(head[5:9], "little")
    lc, rest = packed % 9, packed // 9
    lzma1 = {
        "id": lzma.FILTER_LZMA1,
        "dict_size": dict_size,
        "lc": lc,
        "lp": rest % 5,
        "pb": rest // 5,
    }

    def make() -> _Decompressor:
        return _Buffered(lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[lzma1]))

    yield from _inflate(chain([head[props_end:]], pieces), make, "lzma", require_end=False)


def _zip_local_members(f: BinaryIO, limits: Limits, session: _Session) -> Iterator[Member | Issue]:
    """Members found by walking local headers from the front, for a zip whose central
    directory is lost (a truncated download) or too large to load."""
    pos = _read_at(f, 0, _READ).find(b"PK\x03\x04")
    count = 0
    while pos >= 0:
        header = _read_at(f, pos, 30)
        if len(header) < 30 or not header.startswith(b"PK\x03\x04"):
            return
        flags, method, crc, compressed, size, name_len, extra_len = struct.unpack_from(
            "<2xHHxxxxIIIHH", header, 4
        )
        raw_name = _read_at(f, pos + 30, name_len)
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", "replace")
        extra = _read_at(f, pos + 30 + name_len, extra_len)
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
        yield from _zip_entry(f, entry, session)
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
        block = _read_at(f, pos, CHUNK + 3)
        found = _ZIP_HEADERS.search(block)
        if found:
            return pos + found.start()
        if len(block) <= 3:
            return -1
        pos += len(block) - 3

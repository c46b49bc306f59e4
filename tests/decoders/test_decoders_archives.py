"""Archives and compressed streams: detection by content, members, caps and damage."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import secrets
import tarfile
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keysentry.decoders.archives import (
    Budget,
    Link,
    Member,
    detect,
    detect_data,
    iter_members,
)
from keysentry.decoders.magic import HEAD_SIZE, inner_kind, is_container, is_pdf
from keysentry.decoders.views import Limits
from keysentry.detect.rules import load_rules
from keysentry.detect.scanner import Scanner
from keysentry.models import Issue
from keysentry.untrusted import escape


def new_key() -> bytes:
    return ("sk-or-" + "v1-" + secrets.token_hex(32)).encode()


def walk(
    data: bytes, name: str, limits: Limits | None = None, budget: Budget | None = None
) -> tuple[dict[str, bytes], list[Issue]]:
    """Scanner-style recursion: {member chain: content} of the leaves, and the issues."""
    limits = limits or Limits()
    budget = budget or Budget(limits)
    leaves: dict[str, bytes] = {}
    issues: list[Issue] = []

    def visit(content: bytes, chain: str, depth: int) -> None:
        kind = detect_data(content)
        if kind is None or depth >= limits.max_depth:
            leaves[chain] = content
            return
        for item in iter_members(kind, content, chain.rsplit("!", 1)[-1], limits, budget):
            if isinstance(item, Issue):
                issues.append(
                    Issue(item.kind, "!".join(filter(None, (chain, item.path))), item.detail)
                )
            elif isinstance(item, Member):
                visit(b"".join(item.chunks()), f"{chain}!{item.name}", depth + 1)

    visit(data, name, 0)
    return leaves, issues


def members(
    kind: str, source: bytes | io.BytesIO, limits: Limits | None = None
) -> list[tuple[str, bytes] | Issue | Link]:
    """Each member's name and content (read in turn, as the contract asks), issues, links."""
    limits = limits or Limits()
    out: list[tuple[str, bytes] | Issue | Link] = []
    for item in iter_members(kind, source, "input", limits, Budget(limits)):
        if isinstance(item, (Issue, Link)):
            out.append(item)
        else:
            chunks = list(item.chunks())
            assert all(len(c) <= 8 * 2**20 for c in chunks)
            out.append((item.name, b"".join(chunks)))
    return out


def issues_of(items: list[tuple[str, bytes] | Issue | Link]) -> list[tuple[str, str]]:
    return [(i.kind, i.path) for i in items if isinstance(i, Issue)]


def names_of(items: list[tuple[str, bytes] | Issue | Link]) -> list[str]:
    return [i[0] for i in items if isinstance(i, tuple)]


def links_of(items: list[tuple[str, bytes] | Issue | Link]) -> list[Link]:
    return [i for i in items if isinstance(i, Link)]


def zip_bytes(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def tar_bytes(files: dict[str, bytes], mode: str = "w") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:  # type: ignore[call-overload]
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


# -- detection --------------------------------------------------------------


def test_detect_by_content_only() -> None:
    payload = b"hello " * 100
    assert detect(zip_bytes({"a": payload})[:512]) == "zip"
    assert detect(tar_bytes({"a": payload})[:512]) == "tar"
    assert detect(gzip.compress(payload)[:512]) == "gzip"
    assert detect(bz2.compress(payload)[:512]) == "bzip2"
    assert detect(bz2.compress(b"")[:512]) == "bzip2"
    assert detect(lzma.compress(payload)[:512]) == "xz"
    for text in (b"", b"PK", b"BZh9 is not bzip2", b"plain text\n" * 60, b"\x1f\x8b"):
        assert detect(text[:512]) is None


def test_an_empty_zip_is_a_zip() -> None:
    """An archive without members is its end record alone, from the first byte on."""
    buffer = io.BytesIO()
    zipfile.ZipFile(buffer, "w").close()
    assert buffer.getvalue().startswith(b"PK\x05\x06")
    assert detect(buffer.getvalue()) == "zip"


def _v7_tar_header() -> bytes:
    """A header as pre-POSIX tar wrote it: a valid checksum, no ``ustar`` magic."""
    header = bytearray(tarfile.TarInfo("a.txt").tobuf(tarfile.USTAR_FORMAT)[:512])
    header[257:265] = b"\x00" * 8
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\x00 " % sum(header)
    return bytes(header)


def _heads() -> Iterator[tuple[str, bytes]]:
    text = b"The quick brown fox jumps over the lazy dog. " * 40
    for wbits in range(9, 16):
        packer = zlib.compressobj(wbits=wbits)
        yield f"zlib window 2^{wbits}", packer.compress(text) + packer.flush()
    yield "a pre-POSIX tar header", _v7_tar_header() + text
    yield "an empty zip", zip_bytes({})
    yield "a ustar tar", tar_bytes({"a": text})
    yield "text", text


@pytest.mark.parametrize("name", [name for name, _ in _heads()])
def test_the_container_check_gives_the_scanner_s_answer(name: str) -> None:
    """The hook's screen asks ``is_container`` and the scanner ``detect`` (and
    ``inner_kind``): they must agree, or the screen answers "clean" for what the scanner
    would open. A zlib stream is claimed only with a 32 KiB window (the header byte the
    fast check knows), a tar only with both its magic and its checksum."""
    head = dict(_heads())[name][:HEAD_SIZE]
    assert is_container(head) == (detect(head) is not None or inner_kind(head) is not None)


@pytest.mark.parametrize(("at", "claimed"), [(0, True), (1019, True), (1020, False), (2000, False)])
def test_a_pdf_header_counts_within_its_first_kilobyte(at: int, claimed: bool) -> None:
    """Readers look for ``%PDF-`` in a file's first 1024 bytes, whole; later it is text
    that mentions PDF, scanned as text."""
    head = b" " * at + b"%PDF-1.7\n" + b" " * 3000
    assert is_pdf(head) is claimed
    assert is_container(head) is claimed
    if not claimed:
        key = new_key()
        assert Scanner(load_rules()).scan_bytes(head + key + b"\n", "a.txt").hits


def _ustar_text(body: bytes = b"") -> bytes:
    """A text file with ``ustar`` at byte 257, as a tar library's source can have it."""
    text = b"// tar header: name, mode, uid, gid, size, mtime, chksum, typeflag;\n"
    text = text.ljust(257, b"/")
    return text + b'ustar = "ustar\\u000000";\n' + body + b"\n" * 300


@pytest.mark.parametrize(
    "tar_format", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]
)
def test_a_tar_is_claimed_by_its_header_checksum(tar_format: int) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tar_format) as archive:
        info = tarfile.TarInfo("a.txt")
        info.size = 1
        archive.addfile(info, io.BytesIO(b"a"))
    head = buffer.getvalue()[:512]
    assert head[257:262] == b"ustar"
    assert detect(head) == "tar"
    # The same header with its checksum one off, or with the field not octal, is not a tar.
    field = head[148:156]
    stored = int(field.strip(b" \x00"), 8)
    for bad in (
        b"%06o\x00 " % (stored + 1),
        b"%06o\x00 " % (stored - 1),
        b"99999\x00  ",
        b"\x00" * 8,
    ):
        assert detect(head[:148] + bad + head[156:]) is None, bad
    assert detect(head[:511]) is None  # a header is 512 bytes


def test_a_tar_header_summed_as_signed_bytes_is_a_tar() -> None:
    """Old tar programs summed the header as signed chars; readers accept both sums."""
    info = tarfile.TarInfo("caf\xe9.txt")  # a byte over 127 makes the two sums differ
    header = bytearray(info.tobuf(tarfile.USTAR_FORMAT, "latin-1", "strict")[:512])
    high = sum(1 for i, b in enumerate(header) if b > 127 and not 148 <= i < 156)
    assert high
    signed = sum(header[:148]) + 8 * 0x20 + sum(header[156:]) - 256 * high
    header[148:156] = b"%06o\x00 " % signed
    assert detect(bytes(header)) == "tar"


def _header(typeflag: bytes = b"0", wide: bool = False) -> bytearray:
    """A ustar header; ``wide``: its names all bytes over 127, so that its checksum needs
    six significant octal digits."""
    fill = "\xe9" if wide else "a"
    info = tarfile.TarInfo(fill * 100)
    info.linkname, info.uname, info.gname = fill * 100, fill * 32, fill * 32
    header = bytearray(info.tobuf(tarfile.USTAR_FORMAT, "latin-1", "strict")[:512])
    header[156:157] = typeflag
    return header


def _sums(header: bytearray) -> tuple[int, int]:
    """The header's checksum as bytes and as signed chars, its field read as spaces."""
    unsigned = sum(header[:148]) + 8 * 0x20 + sum(header[156:512])
    high = sum(1 for i, b in enumerate(header[:512]) if b > 127 and not 148 <= i < 156)
    return unsigned, unsigned - 256 * high


# How tar programs write the checksum field (8 bytes at 148), and forms no reader accepts.
CHECKSUM_FIELDS: dict[str, tuple[Callable[[int], bytes], bool]] = {
    "six digits, NUL, space": (lambda s: b"%06o\x00 " % s, True),
    "seven digits, NUL": (lambda s: b"%07o\x00" % s, True),
    "space padded": (lambda s: b"%7o\x00" % s, True),
    "eight digits, no end": (lambda s: b"%08o" % s, False),
    "a letter either side": (lambda s: b"X%05oX\x00" % s, False),
}


@pytest.mark.parametrize("form", list(CHECKSUM_FIELDS))
def test_the_checksum_field_as_tar_programs_write_it(form: str) -> None:
    write, claimed = CHECKSUM_FIELDS[form]
    for header in (_header(), _header(wide=True)):
        unsigned = _sums(header)[0]
        header[148:156] = write(unsigned)
        assert (detect(bytes(header)) == "tar") is claimed, (form, header[148:156])
    wide = _header(wide=True)
    assert _sums(wide)[0] >= 0o100000  # the field's first digit counts


def test_a_signed_sum_counts_every_header_byte_over_127() -> None:
    """The type flag (byte 156, right after the field) is 128, the first byte counted
    negative; 127 in the name is not; the data after the 512 bytes is not summed."""
    header = _header(typeflag=b"\x80")
    header[0:1] = b"\x7f"
    unsigned, signed = _sums(header)
    assert signed == unsigned - 256
    header[148:156] = b"%06o\x00 " % signed
    assert detect(bytes(header) + b"\xff" * 512) == "tar"


def test_ustar_at_257_in_a_text_file_is_not_a_tar() -> None:
    assert detect(_ustar_text()[:512]) is None
    assert detect_data(_ustar_text()) is None


def test_zip_behind_a_prefix_is_found_by_its_tail() -> None:
    key = new_key()
    app = b"#!/usr/bin/env python3\n" + zip_bytes({"__main__.py": b"K='" + key + b"'"})
    assert detect(app[:512]) is None
    assert detect_data(app) == "zip"
    assert detect_data(io.BytesIO(app)) == "zip"
    leaves, issues = walk(app, "tool.pyz")
    assert key in leaves["tool.pyz!__main__.py"] and not issues
    assert detect_data(b"text that mentions PK\x05\x06 near its end" + bytes(30)) is None


# -- members ----------------------------------------------------------------


@pytest.mark.parametrize(
    "method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
)
def test_zip_members_every_method(method: int) -> None:
    key = new_key()
    files = {"pkg/": b"", "pkg/settings.py": b"KEY = '" + key + b"'\n", "big.bin": bytes(3 * 2**20)}
    items = members("zip", zip_bytes(files, method))
    assert items == [("pkg/settings.py", files["pkg/settings.py"]), ("big.bin", files["big.bin"])]


def test_office_documents_and_wheels_are_zips_by_content() -> None:
    key = new_key()
    docx = zip_bytes(
        {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<t>" + key + b"</t>"}
    )
    leaves, issues = walk(docx, "report.docx")
    assert key in leaves["report.docx!word/document.xml"] and not issues


def test_whl_inside_tar_gz_recursion() -> None:
    key = new_key()
    wheel = zip_bytes({"pkg/__init__.py": b"", "pkg/settings.py": b"API_KEY = '" + key + b"'\n"})
    tgz = tar_bytes({"release/pkg-1.0-py3-none-any.whl": wheel, "release/README": b"hi"}, "w:gz")
    leaves, issues = walk(tgz, "dist/release.tar.gz")
    chain = "dist/release.tar.gz!release.tar!release/pkg-1.0-py3-none-any.whl!pkg/settings.py"
    assert key in leaves[chain]
    assert leaves["dist/release.tar.gz!release.tar!release/README"] == b"hi"
    assert not issues


@pytest.mark.parametrize(
    ("compress", "outer", "inner"),
    [
        (gzip.compress, "notes.txt.gz", "notes.txt"),
        (gzip.compress, "backup.tgz", "backup.tar"),
        (bz2.compress, "dump.sql.bz2", "dump.sql"),
        (lzma.compress, "log.xz", "log"),
        (lzma.compress, "unnamed", "<xz>"),
    ],
)
def test_single_streams(compress: Callable[[bytes], bytes], outer: str, inner: str) -> None:
    key = new_key()
    data = compress(b"token=" + key + b"\n")
    leaves, issues = walk(data, outer)
    assert leaves == {f"{outer}!{inner}": b"token=" + key + b"\n"} and not issues


def test_gzip_header_name_and_concatenated_members() -> None:
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="secrets.env", mode="wb", fileobj=buffer, mtime=0) as f:
        f.write(b"part one\n")
    data = buffer.getvalue() + gzip.compress(b"part two\n") + bytes(512)  # tar-style padding
    leaves, issues = walk(data, "whatever.gz")
    assert leaves == {"whatever.gz!secrets.env": b"part one\npart two\n"} and not issues


def test_streaming_source_and_tar_members_from_a_stream() -> None:
    key = new_key()
    tgz = tar_bytes({"a.txt": b"one", "b/c.env": key}, "w:gz")
    limits = Limits()
    budget = Budget(limits)
    gz = next(iter_members("gzip", io.BytesIO(tgz), "src.tgz", limits, budget))
    assert isinstance(gz, Member) and gz.name == "src.tar"
    inner = io.BufferedReader(_Reader(gz.chunks()))  # decompressed as tar reads it
    got = {}
    for item in iter_members("tar", inner, gz.name, limits, budget):
        assert isinstance(item, Member)
        got[item.name] = b"".join(item.chunks())
    assert got == {"a.txt": b"one", "b/c.env": key}


def test_chunks_must_be_read_before_advancing_a_stream() -> None:
    data = tar_bytes({"a": b"1", "b": b"2"})
    limits = Limits()
    walker = iter_members("tar", io.BytesIO(data), "t.tar", limits, Budget(limits))
    first = next(walker)
    assert isinstance(first, Member)
    next(walker)
    with pytest.raises(RuntimeError):
        first.chunks()


def test_links_directories_and_devices_in_tar() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, kind in (("d", tarfile.DIRTYPE), ("s", tarfile.SYMTYPE), ("h", tarfile.LNKTYPE),
                           ("fifo", tarfile.FIFOTYPE), ("dev", tarfile.CHRTYPE)):  # fmt: skip
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = "../../etc/passwd" if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE) else ""
            archive.addfile(info)
        info = tarfile.TarInfo("../escape.txt")  # only a name: nothing is extracted
        info.size = 3
        archive.addfile(info, io.BytesIO(b"abc"))
    items = members("tar", buffer.getvalue())
    assert issues_of(items) == []
    assert links_of(items) == [Link("s", "../../etc/passwd"), Link("h", "../../etc/passwd")]
    assert names_of(items) == ["../escape.txt"]


def test_undecodable_tar_name_is_kept_and_shown_escaped() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        info = tarfile.TarInfo("caf\udce9.txt")  # the byte 0xE9, not UTF-8
        info.size = 1
        archive.addfile(info, io.BytesIO(b"x"))
    (item,) = members("tar", buffer.getvalue())
    assert isinstance(item, tuple)
    assert os.fsencode(item[0]) == b"caf\xe9.txt"  # names are bytes: nothing is lost
    assert escape(item[0]) == "caf\\xe9.txt"


def test_zip_symlink_and_encrypted_member() -> None:
    link = zipfile.ZipInfo("link")
    link.create_system = 3
    link.external_attr = 0o120777 << 16
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(link, "target")
        archive.writestr("secret.txt", "ciphertext")
        archive.writestr("open.txt", "plain")
    data = bytearray(buffer.getvalue())
    # zipfile cannot encrypt: set flag bit 0 of secret.txt in its local and central headers.
    for signature, flags_at, name_at in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        pos = data.find(signature)
        while pos >= 0:
            if data[pos + name_at : pos + name_at + 10] == b"secret.txt":
                data[pos + flags_at] |= 1
            pos = data.find(signature, pos + 4)
    items = members("zip", bytes(data))
    assert issues_of(items) == [("encrypted", "secret.txt")]
    assert links_of(items) == [Link("link")]
    assert names_of(items) == ["open.txt"]


# -- caps -------------------------------------------------------------------


def _zeros_zip(megabytes: int) -> bytes:
    buffer = io.BytesIO()
    block = bytes(2**20)
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("zeros.bin", "w", force_zip64=True) as f,
    ):
        for _ in range(megabytes):
            f.write(block)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def zeros_zip() -> bytes:
    bomb = _zeros_zip(64)  # 64 MiB of zeros in well under 1 MiB
    assert len(bomb) < 2**20
    return bomb


@pytest.mark.parametrize(
    ("limits", "kind", "cut"),
    [
        # The budget alone (no ratio check): the member is cut where the budget ends.
        (Limits(max_decoded_bytes=32 * 2**20, max_compression_ratio=0), "size-cap", 32 * 2**20),
        # The ratio check stops it once the grace is given, long before the budget.
        (Limits(ratio_grace_bytes=16 * 2**20), "ratio-cap", 16 * 2**20),
    ],
)
def test_zip_bomb_is_stopped_in_bounded_memory(
    zeros_zip: bytes, limits: Limits, kind: str, cut: int
) -> None:
    budget = Budget(limits)
    seen = 0
    issues = []
    tracemalloc.start()
    try:
        for item in iter_members("zip", zeros_zip, "bomb.zip", limits, budget):
            if isinstance(item, Issue):
                issues.append(item)
                continue
            assert isinstance(item, Member)
            for chunk in item.chunks():
                seen += len(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert cut - 2 * 2**20 <= seen <= cut
    assert [(i.kind, i.path) for i in issues] == [(kind, "zeros.bin")]
    assert peak < 16 * 2**20  # one chunk and the decompressor, never the content
    if kind == "size-cap":
        # The whole input is spent: a nested level started later yields nothing.
        assert list(iter_members("gzip", gzip.compress(b"x"), "x.gz", limits, budget)) == []


def test_nested_bomb_shares_one_budget() -> None:
    inner = gzip.compress(bytes(8 * 2**20))
    outer = tar_bytes({f"part{i}.gz": inner for i in range(4)}, "w:gz")
    limits = Limits(max_decoded_bytes=20 * 2**20)
    leaves, issues = walk(outer, "nest.tar.gz", limits)
    assert sum(len(v) for v in leaves.values()) < 20 * 2**20
    assert [i.kind for i in issues] == ["size-cap"]


def test_too_many_members() -> None:
    files = {f"f{i}.txt": b"x" for i in range(8)}
    limits = Limits(max_members=5)
    for kind, data in (("zip", zip_bytes(files)), ("tar", tar_bytes(files))):
        items = members(kind, data, limits)
        assert len(names_of(items)) == 5
        assert issues_of(items) == [("archive-cap", "")]


# -- damage -----------------------------------------------------------------


def test_corrupt_zip_member_is_reported_and_the_others_are_read() -> None:
    key = new_key()
    good = b"KEY=" + key
    data = bytearray(zip_bytes({"a.txt": b"A" * 5000, "b.env": good}, zipfile.ZIP_STORED))
    data[data.find(b"AAAA") + 100] = ord("B")
    leaves, issues = walk(bytes(data), "x.zip")
    assert leaves["x.zip!b.env"] == good
    assert [(i.kind, i.path) for i in issues] == [("decode-error", "x.zip!a.txt")]
    assert "CRC" in issues[0].detail


def test_truncated_zip_recovers_members_from_local_headers() -> None:
    key = new_key()
    data = zip_bytes({"first.env": b"K=" + key, "second.txt": b"two" * 100, "third": b"3" * 99})
    cut = data[: data.find(b"PK\x01\x02") - 3]  # the directory and the end of "third" are gone
    leaves, issues = walk(cut, "partial.zip")
    assert leaves["partial.zip!first.env"] == b"K=" + key
    assert leaves["partial.zip!second.txt"] == b"two" * 100
    assert issues[0].kind == "decode-error" and "central directory" in issues[0].detail
    assert [i.path for i in issues[1:]] == ["partial.zip!third"]


def test_zip_with_data_descriptors_and_no_directory() -> None:
    key = new_key()
    buffer = io.BytesIO()
    with zipfile.ZipFile(_Unseekable(buffer), "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.env", b"K=" + key)  # streamed: sizes follow the data
        archive.writestr("b.txt", b"bbb" * 1000)
    data = buffer.getvalue()
    cut = data[: data.find(b"PK\x01\x02")]
    leaves, _ = walk(cut, "streamed.zip")
    assert leaves["streamed.zip!a.env"] == b"K=" + key
    assert leaves["streamed.zip!b.txt"] == b"bbb" * 1000


def test_not_a_zip_at_all() -> None:
    items = members("zip", b"PK\x03\x04" + secrets.token_bytes(100))
    assert [kind for kind, _ in issues_of(items)][:1] == ["decode-error"]


def test_truncated_gzip_keeps_what_was_read() -> None:
    content = secrets.token_hex(50_000).encode()
    data = gzip.compress(content)
    leaves, issues = walk(data[: len(data) // 2], "log.gz")
    (got,) = leaves.values()
    assert content.startswith(got) and len(got) > 0
    assert [(i.kind, i.path) for i in issues] == [("decode-error", "log.gz!log")]
    assert "truncated" in issues[0].detail


@pytest.mark.parametrize(("compress", "kind"), [(gzip.compress, "gzip"), (bz2.compress, "bzip2")])
def test_corrupt_stream_is_reported_after_its_content(
    compress: Callable[[bytes], bytes], kind: str
) -> None:
    data = bytearray(compress(secrets.token_bytes(50_000)))
    data[len(data) // 2] ^= 0xFF
    items = members(kind, bytes(data))
    assert names_of(items) == ["<" + kind + ">"]
    assert [k for k, _ in issues_of(items)] == ["decode-error"]
    assert "corrupt" in next(i for i in items if isinstance(i, Issue)).detail


def test_truncated_tar_and_damaged_header() -> None:
    key = new_key()
    data = tar_bytes({"a.env": b"K=" + key, "b.txt": b"b" * 5000, "c.txt": b"c"})
    leaves, issues = walk(data[:1800], "cut.tar")
    assert leaves["cut.tar!a.env"] == b"K=" + key
    assert [i.kind for i in issues] == ["decode-error"]
    damaged = bytearray(data)
    damaged[1024 + 148 : 1024 + 156] = b"garbage!"  # the second header's checksum
    leaves, issues = walk(bytes(damaged), "bad.tar")
    assert list(leaves) == ["bad.tar!a.env"]
    assert [i.kind for i in issues] == ["decode-error"]
    assert "header" in issues[0].detail


@pytest.mark.parametrize("kind", ["zip", "tar", "gzip", "bzip2", "xz", "rar"])
@pytest.mark.parametrize("size", [0, 10, 600, 5000])
def test_random_bytes_are_reported_as_damaged_never_raise(kind: str, size: int) -> None:
    """Noise is not an archive: no content comes out of it, and it is not passed over
    silently either (a scan that said nothing would read as "scanned, clean")."""
    limits = Limits()
    decoded = 0
    issues = []
    for item in iter_members(kind, secrets.token_bytes(size), "r", limits, Budget(limits)):
        if isinstance(item, Member):
            decoded += sum(len(chunk) for chunk in item.chunks())
        else:
            issues.append(item)
    assert decoded == 0
    assert [i.kind for i in issues] == ["decode-error"]


_KINDS = {"decode-error", "size-cap", "archive-cap", "encrypted"}
_SAMPLES = {
    "zip": zip_bytes({"a.txt": b"alpha " * 50, "b/": b"", "c.bin": bytes(range(256)) * 4}),
    "tar": tar_bytes({"a.txt": b"alpha " * 50, "c.bin": bytes(range(256)) * 4}),
    "gzip": tar_bytes({"a.txt": b"alpha " * 50}, "w:gz"),
    "bzip2": bz2.compress(b"alpha " * 500),
    "xz": lzma.compress(b"alpha " * 500),
}


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(sorted(_SAMPLES)),
    cut=st.floats(0, 1),
    flips=st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), max_size=4),
)
def test_damaged_archives_never_raise(
    kind: str, cut: float, flips: list[tuple[float, int]]
) -> None:
    data = bytearray(_SAMPLES[kind][: int(len(_SAMPLES[kind]) * cut)])
    for where, mask in flips:
        if data:
            data[int(where * (len(data) - 1))] ^= mask
    _, issues = walk(bytes(data), "damaged")  # returns, whatever the damage
    assert all(i.kind in _KINDS for i in issues)


# -- helpers ----------------------------------------------------------------


class _Reader(io.RawIOBase):
    """A non-seekable file over chunks, like the scanner's."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._rest = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._rest:
            self._rest = next(self._chunks, b"")
        size = min(len(buffer), len(self._rest))
        buffer[:size] = self._rest[:size]
        self._rest = self._rest[size:]
        return size


class _Unseekable(io.RawIOBase):
    """A write-only stream that cannot seek, so zipfile writes data descriptors."""

    def __init__(self, target: io.BytesIO) -> None:
        self._target = target

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        return self._target.write(data)

    def tell(self) -> int:
        return self._target.tell()

    def seekable(self) -> bool:
        return False

    def flush(self) -> None:
        pass


def test_zip_member_longer_than_its_recorded_size_is_cut_there() -> None:
    data = bytearray(zip_bytes({"small.txt": b"A" * 3 * 2**20}))
    # Record 100 bytes as the size in the local and central headers: a lie a reader that
    # holds small members whole in memory must not believe past 100 bytes.
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        pos = data.find(signature)
        data[pos + size_at : pos + size_at + 4] = (100).to_bytes(4, "little")
    items = members("zip", bytes(data))
    assert items[0] == ("small.txt", b"A" * 100)
    assert issues_of(items) == [("decode-error", "small.txt")]

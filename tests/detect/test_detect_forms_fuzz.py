"""Random and adversarial input for the decoders of documents, mail and pasted forms:
never a crash, never a hang (each decoder's work is bounded), every origin inside the
input, output no larger than its bounds."""

from __future__ import annotations

import io
import zipfile
import zlib

import docx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decoderhelpers import offsets
from keysentry.decoders.blobs import BASE64_CONTAINERS
from keysentry.decoders.concat import CONCAT
from keysentry.decoders.hexdump import HEX_WORDS
from keysentry.decoders.joins import INVISIBLE_DECODER, WRAPPED_KEY
from keysentry.decoders.magic import is_container
from keysentry.decoders.members import Budget, Session
from keysentry.decoders.office import KINDS, document_members
from keysentry.decoders.rtf import rtf_members, rtf_text
from keysentry.decoders.text import UTF32
from keysentry.decoders.views import Limits, TextDecoder
from keysentry.detect.rules import load_rules
from keysentry.detect.scanner import Scanner

DECODERS: tuple[TextDecoder, ...] = (
    INVISIBLE_DECODER, WRAPPED_KEY, UTF32, HEX_WORDS, BASE64_CONTAINERS, CONCAT,
)  # fmt: skip
SCANNER = Scanner(load_rules())
_SHARED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_PIECES = [
    *(t for d in DECODERS for t in d.triggers[:8]),
    b"\n", b"\r\n", b"=\n", b" ", b"sk-or-v1-", b"0123456789abcdef", b"s", b"k-or-", b'"', b"'",
    b" + ", b"0000020 ", b"6b73 ", b"\xe2\x80\x8b", b"\xc2\xad", b"H4sI", b"AAAA", b"x\x9c",
]  # fmt: skip
_SOUP = st.lists(st.one_of(st.sampled_from(_PIECES), st.binary(max_size=24)), max_size=80)


@_SHARED
@given(parts=_SOUP, picks=st.lists(st.integers(-5, 3000), max_size=6))
def test_text_decoders_never_raise(parts: list[bytes], picks: list[int]) -> None:
    data = b"".join(parts)
    for decoder in DECODERS:
        for where in (offsets(decoder, data), picks):
            for view in decoder.decode(data, where, Limits()):
                assert len(view.data) <= max(4 * len(data), Limits().max_encoded_run)
                for o in range(0, len(view.data) + 1, 7):
                    assert 0 <= view.origin(o) <= len(data)
                if view.excerpt is not None and len(view.data) >= 2:
                    assert isinstance(view.excerpt(0, len(view.data)), str)


@_SHARED
@given(parts=_SOUP)
def test_the_scanner_on_the_soup(parts: list[bytes]) -> None:
    data = b"".join(parts)
    SCANNER.scan_bytes(data, "soup")
    is_container(data[:1024])


_RTF = st.lists(
    st.sampled_from(
        [b"{", b"}", b"\\par ", b"\\u-4000?", b"\\'7e", b"\\bin5 ", b"\\*", b"\\fonttbl",
         b"\\uc3 ", b"text", b"\\", b"sk-or-v1-", b"\\-", b"\\~", b"\\u70000 ", b"\\bin-9 "]
    )
    | st.binary(max_size=12),
    max_size=200,
)  # fmt: skip


@_SHARED
@given(parts=_RTF)
def test_rtf_text_never_raises(parts: list[bytes]) -> None:
    data = b"{\\rtf1" + b"".join(parts)
    lines = rtf_text(data)
    assert sum(map(len, lines)) <= 2 * len(data)
    list(rtf_members(io.BytesIO(data), Limits(), Session(Budget(Limits()))))
    SCANNER.scan_bytes(data, "r.rtf")


def _docx() -> bytes:
    document = docx.Document()
    document.add_paragraph("hello ").add_run("world")
    buf = io.BytesIO()
    document.save(buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as archive:
        return archive.read("word/document.xml")


_XML = _docx()


@_SHARED
@given(
    kind=st.sampled_from(KINDS),
    cuts=st.lists(st.tuples(st.integers(0, 4000), st.binary(max_size=8)), max_size=6),
    truncate=st.integers(0, 3000),
)
def test_mangled_office_parts(kind: str, cuts: list[tuple[int, bytes]], truncate: int) -> None:
    data = bytearray(_XML)
    for at, junk in cuts:
        at %= len(data)
        data[at : at + len(junk)] = junk
    data = data[: max(1, len(data) - truncate)]
    for item in document_members(
        kind, io.BytesIO(bytes(data)), Limits(), Session(Budget(Limits()))
    ):
        if hasattr(item, "chunks"):
            text = b"".join(item.chunks())
            assert len(text) <= len(data)
            assert text.count(b"\n") + 1 == len(item.units or ())


_MAIL = (
    b"From: a@x.test\nTo: b@x.test\nSubject: s\nMIME-Version: 1.0\n"
    b'Content-Type: multipart/mixed; boundary="b"\n\n--b\n'
    b"Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\nsk-or=\n-v1-=3D\n"
    b'--b\nContent-Type: application/octet-stream; name=".env"\n'
    b"Content-Transfer-Encoding: base64\n\nc2stb3ItdjEt\n--b--\n"
)


@_SHARED
@given(
    cuts=st.lists(st.tuples(st.integers(0, 600), st.binary(max_size=8)), max_size=8),
    mbox=st.booleans(),
)
def test_mangled_mail(cuts: list[tuple[int, bytes]], mbox: bool) -> None:
    data = bytearray(_MAIL)
    for at, junk in cuts:
        at %= len(data)
        data[at : at + len(junk)] = junk
    if mbox:
        data = b"From x Mon Jan 1 00:00:00 2024\n" + data + b"\n\nFrom y\n" + data
    SCANNER.scan_bytes(bytes(data), "m.eml")


@_SHARED
@given(junk=st.binary(max_size=2000), wbits=st.sampled_from([15, -15]))
def test_compressed_junk(junk: bytes, wbits: int) -> None:
    packer = zlib.compressobj(wbits=wbits)
    stream = packer.compress(junk) + packer.flush()
    SCANNER.scan_bytes(stream, "c")
    SCANNER.scan_bytes(stream[: len(stream) // 2], "half")
    SCANNER.scan_bytes(b"x\x9c" + junk, "fake")


def test_deep_nesting_is_bounded() -> None:
    """A mail nested in itself, an RTF of nested groups: bounded work, no recursion error."""
    part = b"From: a@x\nMIME-Version: 1.0\nContent-Type: message/rfc822\n\n"
    SCANNER.scan_bytes(part * 2000 + b"x\n", "deep.eml")
    SCANNER.scan_bytes(b"{\\rtf1" + b"{" * 100_000 + b"x" + b"}" * 100_000, "deep.rtf")
    SCANNER.scan_bytes(b"<a>" * 50_000, "x")

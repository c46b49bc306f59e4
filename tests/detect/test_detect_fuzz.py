"""Random and adversarial input for the decoders of the newer leak forms: never a crash,
never a hang (each decoder's work is bounded), every origin inside the input."""

from __future__ import annotations

import io
import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decoderhelpers import offsets
from keysentry.decoders.concat import CONCAT
from keysentry.decoders.entities import ENTITIES
from keysentry.decoders.hexdump import HEXDUMP
from keysentry.decoders.views import Limits, TextDecoder
from keysentry.decoders.wrapped import wrapped_decoder
from keysentry.detect.rules import load_rules
from keysentry.detect.scanner import Scanner
from pdfbuild import build, text_content

WRAPPED = wrapped_decoder(Limits().max_encoding_depth)
DECODERS: tuple[TextDecoder, ...] = (CONCAT, ENTITIES, WRAPPED, HEXDUMP)
SCANNER = Scanner(load_rules())

_PIECES = [
    *CONCAT.triggers, *ENTITIES.triggers[:6], *HEXDUMP.triggers[:12], *WRAPPED.triggers[:4],
    b'"', b"'", b"`", b" + ", b"\\\n", b"\\", b"\n", b"concat!(", b"String::from(", b", ",
    b".to_owned()", b"&#", b"&amp;", b";", b"\\n", b"\\r\\n", b"00000010: ", b"0x", b"  |",
    b"sk-or-v1-", b"0123456789abcdef", b"/*", b"//", b"#",
]  # fmt: skip

_SOUP = st.lists(st.one_of(st.sampled_from(_PIECES), st.binary(max_size=24)), max_size=60)
_SHARED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SHARED
@given(parts=_SOUP, picks=st.lists(st.integers(-5, 2000), max_size=6))
def test_text_decoders_never_raise(parts: list[bytes], picks: list[int]) -> None:
    data = b"".join(parts)
    for decoder in DECODERS:
        for where in (offsets(decoder, data), picks):
            for view in decoder.decode(data, where, Limits()):
                assert len(view.data) <= 2 * len(data) + 64
                for o in range(0, len(view.data) + 1, 5):
                    assert 0 <= view.origin(o) <= len(data)
                if view.excerpt is not None and len(view.data) >= 2:
                    assert isinstance(view.excerpt(0, len(view.data)), str)


@_SHARED
@given(parts=_SOUP)
def test_the_scanner_on_the_soup(parts: list[bytes]) -> None:
    SCANNER.scan_bytes(b"".join(parts), "soup")


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.txt", b"hello " * 50)
    return buf.getvalue()


_PDF = build([text_content(["hello", "world"])], packed=[b"<< /A (b) >>"])
_ZIPPED = b"#!/bin/sh\n" + _zip()


@_SHARED
@given(
    base=st.sampled_from([_PDF, _ZIPPED]),
    cuts=st.lists(st.tuples(st.integers(0, 4000), st.binary(max_size=8)), max_size=6),
    truncate=st.integers(0, 5000),
)
def test_mangled_pdfs_and_prefixed_zips(
    base: bytes, cuts: list[tuple[int, bytes]], truncate: int
) -> None:
    data = bytearray(base)
    for at, junk in cuts:
        at %= len(data) or 1
        data[at : at + len(junk)] = junk
    data = data[: max(16, len(data) - truncate)]
    tally = SCANNER.scan_bytes(bytes(data), "mangled")
    assert all(issue.path.startswith("mangled") for issue in tally.issues)


@_SHARED
@given(junk=st.binary(max_size=3000))
def test_random_bytes_behind_a_pdf_header_or_an_end_record(junk: bytes) -> None:
    SCANNER.scan_bytes(b"%PDF-1.7\n" + junk, "a.pdf")
    SCANNER.scan_bytes(junk + b"PK\x05\x06" + junk[:40], "b.bin")

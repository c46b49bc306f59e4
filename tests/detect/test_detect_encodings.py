"""Encodings no other form unwraps, through `scan` and `history`: UTF-32, word dumps
(``od -t x2``, ``hexdump``), ``0X`` byte lists, base64 of compressed streams and zips
(a Helm release), zlib and raw deflate streams, PDF headers late in a file and pages
without fonts. Inputs are made by the programs that make them where they exist here."""

from __future__ import annotations

import base64
import bz2
import gzip
import io
import json
import lzma
import random
import shutil
import subprocess
import zipfile
import zlib
from pathlib import Path

import pytest

from conftest import PREFIX
from formhelpers import found_in_both, nothing_in_both
from keysentry.decoders.blobs import CONTAINER_TRIGGERS
from keysentry.decoders.hexdump import WORD_TRIGGERS
from keysentry.decoders.magic import detect
from keysentry.detect.rules import load_rules
from keysentry.detect.scanner import Scanner
from pdfbuild import build, text_content

SCANNER = Scanner(load_rules())

PLACEHOLDER = PREFIX + "0" * 64


@pytest.mark.parametrize("codec", ["utf-32-le", "utf-32-be", "utf-32"])
def test_utf32_with_and_without_a_bom(tmp_path: Path, key: str, codec: str) -> None:
    data = f"# settings\nOPENROUTER_API_KEY={key}\n".encode(codec)
    (loc,) = found_in_both(tmp_path, "settings.txt", data, key)
    order = "be" if codec.endswith("be") else "le"
    assert (loc["line"], loc["decoders"]) == (2, [f"utf-32{order}"])
    nothing_in_both(tmp_path / "p", "p.txt", f"KEY={PLACEHOLDER}\n".encode(codec))


def _od(data: bytes, *args: str) -> bytes:
    tool = shutil.which(args[0]) if args else None
    assert tool, f"{args[0]} is part of the base system"
    return subprocess.run(
        [tool, *args[1:]], input=data, capture_output=True, check=True, timeout=300
    ).stdout


@pytest.mark.parametrize("lead", range(16))
@pytest.mark.parametrize("tool", [("od", "-t", "x2"), ("od", "-x", "-A", "x"), ("hexdump",)])
def test_word_dumps(tmp_path: Path, key: str, lead: int, tool: tuple[str, ...]) -> None:
    """The key at every position of a dump line (each alignment, each word trigger)."""
    dump = _od(("#" * lead + f" {key}\n").encode(), *tool)
    if lead % 2:
        dump = dump.upper()  # as some tools print it (and editors convert it)
    (loc,) = found_in_both(tmp_path, "dump.txt", dump, key)
    assert loc["decoders"] == ["hex-words"]


def test_each_word_trigger_is_needed(key: str) -> None:
    from keysentry.decoders.hexdump import decode_words
    from keysentry.decoders.views import Limits

    seen = set()
    for lead in range(16):
        dump = _od(("#" * lead + f" {key}\n").encode(), "od", "-t", "x2")
        for trigger in WORD_TRIGGERS:
            if trigger in dump:
                seen.add(trigger.lower())
                views = decode_words(dump, [dump.index(trigger)], Limits())
                assert any(key.encode() in v.data for v in views)
    assert seen == {t.lower() for t in WORD_TRIGGERS}


def test_a_word_dump_of_a_placeholder(tmp_path: Path) -> None:
    nothing_in_both(tmp_path, "d.txt", _od(f"x {PLACEHOLDER}\n".encode(), "od", "-t", "x2"))


@pytest.mark.parametrize("case", [str.upper, str.lower])
@pytest.mark.parametrize("sep", [", ", ","])
def test_0X_byte_lists(tmp_path: Path, key: str, case, sep: str) -> None:  # type: ignore[no-untyped-def]
    body = sep.join("0X" + case(f"{b:02x}") for b in f"k={key}".encode())
    (loc,) = found_in_both(tmp_path, "key.c", f"static const char k[] = {{{body}}};\n", key)
    assert loc["decoders"] == ["hex-bytes"]


def _helm_release(key: str) -> bytes:
    """A `kubectl get secret -o yaml` dump of a Helm 3 release: the release is JSON,
    gzipped and base64-encoded by Helm, then base64-encoded again as Secret data."""
    release = {"name": "gateway", "config": {"openrouter": {"apiKey": key}}, "version": 1}
    inner = base64.b64encode(gzip.compress(json.dumps(release).encode()))
    outer = base64.b64encode(inner).decode()
    return (
        "apiVersion: v1\ndata:\n"
        f"  release: {outer}\n"
        "kind: Secret\nmetadata:\n  labels:\n    owner: helm\n"
        "  name: sh.helm.release.v1.gateway.v1\ntype: helm.sh/release.v1\n"
    ).encode()


def test_a_helm_release_secret(tmp_path: Path, key: str) -> None:
    (loc,) = found_in_both(tmp_path, "release.yaml", _helm_release(key), key)
    assert loc["display_path"] == "release.yaml!line 3!<gzip>"
    assert loc["decoders"] == ["base64", "base64", "gzip"]
    nothing_in_both(tmp_path / "p", "p.yaml", _helm_release(PLACEHOLDER))


def _zip(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buf.getvalue()


COMPRESSORS = {
    "gzip": gzip.compress,
    "zip": lambda d: _zip(".env", d),
    "bzip2": bz2.compress,
    "xz": lzma.compress,
    "zlib": zlib.compress,
    "zlib-best": lambda d: zlib.compress(d, 9),
}


@pytest.mark.parametrize("twice", [False, True], ids=["base64", "base64-of-base64"])
@pytest.mark.parametrize("kind", list(COMPRESSORS))
def test_base64_of_a_container(tmp_path: Path, key: str, kind: str, twice: bool) -> None:
    """Every container trigger: each magic encoded once and twice."""
    blob = base64.b64encode(COMPRESSORS[kind](f"OPENROUTER_API_KEY={key}\n".encode()))
    if twice:
        blob = base64.b64encode(blob)
    assert any(blob.startswith(t) for t in CONTAINER_TRIGGERS)
    text = b'{"name": "bundle", "data": "' + blob + b'"}\n'
    (loc,) = found_in_both(tmp_path, "bundle.json", text, key)
    assert loc["display_path"].startswith("bundle.json!line 1!")
    assert loc["decoders"][: 1 + twice] == ["base64"] * (1 + twice)


@pytest.mark.parametrize("trigger", CONTAINER_TRIGGERS)
def test_each_container_trigger_finds_a_key(key: str, trigger: bytes) -> None:
    """A run that starts with this trigger (and no other) is unpacked: the payload is
    varied until the compressed stream's first bytes give it (zlib's third base64
    character comes from the data)."""
    rng = random.Random(1)
    for salt in range(2000):
        filler = "x" * rng.randrange(300) + "".join(rng.choices("abcdefgh ", k=rng.randrange(400)))
        payload = f"{salt} OPENROUTER_API_KEY={key}\n{filler}\n".encode()
        for compress in COMPRESSORS.values():
            once = base64.b64encode(compress(payload))
            for blob in (once, base64.b64encode(once)):
                if blob.startswith(trigger):
                    tally = SCANNER.scan_bytes(b"data: " + blob + b"\n", "t")
                    assert {h.secret for h in tally.hits} == {key}
                    return
    raise AssertionError(f"no payload gave {trigger!r}")


def test_base64_inside_a_run_is_not_a_container(tmp_path: Path, key: str) -> None:
    blob = base64.b64encode(gzip.compress(f"K={key}\n".encode()))
    nothing_in_both(tmp_path, "n.txt", b"data: AAAA" + blob[:-4] + b"\n")


@pytest.mark.parametrize("level", [1, 3, 6, 9])  # zlib's header says 01, 5e, 9c, da
def test_zlib_and_raw_deflate_files(tmp_path: Path, key: str, level: int) -> None:
    payload = f"# cache\nOPENROUTER_API_KEY={key}\n".encode()
    (loc,) = found_in_both(tmp_path / "z", "entry.cache", zlib.compress(payload, level), key)
    assert (loc["display_path"], loc["decoders"]) == ("entry.cache!<zlib>", ["zlib"])
    packer = zlib.compressobj(level, wbits=-15)
    raw = packer.compress(payload) + packer.flush()
    assert detect(raw) == "deflate"
    (loc,) = found_in_both(tmp_path / "d", "blob", raw, key)
    assert (loc["display_path"], loc["decoders"]) == ("blob!<deflate>", ["deflate"])
    packer = zlib.compressobj(wbits=-15)
    nothing_in_both(tmp_path / "p", "p", packer.compress(PLACEHOLDER.encode()) + packer.flush())


def test_a_zlib_record_inside_a_cache_file_is_base64_or_not_found(tmp_path: Path, key: str) -> None:
    """A stream in the middle of other bytes is not looked for (its two-byte header is in
    random data every 32 KiB); one that starts a member or a base64 run is."""
    record = zlib.compress(f'{{"token": "{key}"}}'.encode())
    nothing_in_both(tmp_path / "raw", "cache.db", b"CACHE\x00\x02" + record + b"\x00next")
    text = b'{"entry": "' + base64.b64encode(record) + b'"}\n'
    (loc,) = found_in_both(tmp_path / "b64", "cache.json", text, key)
    assert loc["display_path"] == "cache.json!line 1!<zlib>"


def test_image_data_is_not_taken_for_text(tmp_path: Path) -> None:
    pixels = zlib.compress(bytes(range(256)) * 64)
    assert detect(pixels) is None
    nothing_in_both(tmp_path, "img.bin", b"\x89PNG\r\n\x1a\n" + pixels)


def test_a_pdf_header_late_in_the_file(tmp_path: Path, key: str) -> None:
    pdf = build([text_content([f"export OPENROUTER_API_KEY={key}"])])
    junk = b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\n\r\n" + b"#" * 900 + b"\n"
    assert 512 < len(junk) < 1024 - 5
    found = found_in_both(tmp_path, "download.pdf", junk + pdf, key)
    assert "download.pdf!page 1" in [loc["display_path"] for loc in found]


def test_a_page_without_font_resources(tmp_path: Path, key: str) -> None:
    pdf = build([text_content(["Runbook", f"KEY={key}"], kerned=True)])
    pdf = pdf.replace(
        b"/Resources << /Font << /F1 3 0 R >> >>", b"/Resources <<                  >>"
    )
    assert key.encode() not in pdf
    (loc,) = found_in_both(tmp_path, "nofont.pdf", pdf, key)
    assert loc["display_path"] == "nofont.pdf!page 1"
    nothing_in_both(
        tmp_path / "p",
        "p.pdf",
        build([text_content([f"KEY={PLACEHOLDER}"], kerned=True)]).replace(
            b"/Resources << /Font << /F1 3 0 R >> >>", b"/Resources <<                  >>"
        ),
    )


def test_a_signature_quoted_in_source_is_not_a_container() -> None:
    """Code that names a container's base64 signature (a detector, a test) holds no stream:
    nothing is unpacked and no damage is reported."""
    source = b'GZIP_BASE64 = "H4sI"\nZIP_BASE64 = "UEsDB"  # and "SDRzS" twice encoded\n'
    tally = SCANNER.scan_bytes(source, "sig.py")
    assert not tally.issues and not tally.hits


@pytest.mark.parametrize("codec", ["utf-32-le", "utf-32-be", "utf-16-le", "latin-1"])
def test_text_is_not_taken_for_a_raw_stream(key: str, codec: str) -> None:
    """Wide text is "binary" to the first test, and a deflate decoder reads its first
    bytes as a short stored or fixed block: a trial must give text, and end with it."""
    data = f"KEY={key}\nmore text \u00e9\n".encode(codec)
    assert detect(data[:1024]) is None

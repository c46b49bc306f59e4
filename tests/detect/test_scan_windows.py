"""Keys at, just before and just after each boundary of the scanner's windows: one
location each, at the right line and column, found raw and through a decoder."""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
from pathlib import Path

import pytest

from keysentry.detect import scanner as scanner_module
from keysentry.detect.rules import load_rules
from keysentry.detect.scanner import Scanner
from scanhelpers import run_json

RULES = load_rules()
CHUNK, OVERLAP = 4096, 1024
# Window k (from 0) repeats the last OVERLAP bytes of window k-1 and owns the key starts
# from k*CHUNK - OVERLAP/2 to (k+1)*CHUNK - OVERLAP/2.
BOUNDARIES = (CHUNK - OVERLAP // 2, 2 * CHUNK - OVERLAP // 2, 3 * CHUNK - OVERLAP // 2)
FILLER = b"".join(b"line %04d of plain text;\n" % i for i in range(800))[: 4 * CHUNK]

ENCODINGS = {
    "raw": lambda key: key,
    "base64": base64.b64encode,
    "hex": lambda key: key.hex().encode(),
}


def located(data: bytes) -> list[tuple[str, int, int]]:
    scanner = Scanner(RULES, chunk_size=CHUNK, overlap=OVERLAP)
    tally = scanner.scan_file(io.BytesIO(data), "x")
    return [(h.secret, h.line, h.column) for h in tally.hits if h.placeholder is None]


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_key_at_each_window_boundary_is_found_once(encoding: str) -> None:
    key = "sk-or-" + "v1-" + secrets.token_hex(32)
    text = ENCODINGS[encoding](key.encode())
    for boundary in BOUNDARIES:
        for shift in (*range(-80, -60), *range(-3, 4), *range(60, 80)):
            pos = boundary + shift
            data = FILLER[: pos - 1] + b" " + text + b" " + FILLER[pos - 1 :]
            line = data.count(b"\n", 0, pos) + 1
            column = pos - data.rfind(b"\n", 0, pos)
            assert located(data) == [(key, line, column)], (encoding, boundary, shift)


def test_window_size_does_not_change_what_is_found() -> None:
    keys = ["sk-or-" + "v1-" + secrets.token_hex(32) for _ in range(3)]
    data = bytearray(FILLER)
    for key, boundary in zip(keys, BOUNDARIES, strict=True):
        data[boundary - 1 : boundary + len(key) + 1] = b" " + key.encode() + b" "
    whole = Scanner(RULES).scan_bytes(bytes(data), "x").hits
    windowed = Scanner(RULES, chunk_size=CHUNK, overlap=OVERLAP).scan_file(
        io.BytesIO(bytes(data)), "x"
    )
    assert [(h.secret, h.line, h.column) for h in windowed.hits] == [
        (h.secret, h.line, h.column) for h in whole
    ]
    assert len(whole) == 3


@pytest.mark.parametrize("shift", [-40, 0, 1])
def test_file_just_over_the_default_window_reports_a_boundary_key_once(
    tmp_path: Path, shift: int
) -> None:
    line = b"lorem ipsum dolor sit amet;\n"
    data = bytearray(line * (scanner_module.CHUNK // len(line) + 1000))
    assert scanner_module.CHUNK < len(data) < 2 * scanner_module.CHUNK
    pos = scanner_module.CHUNK - scanner_module.OVERLAP // 2 + shift
    key = "sk-or-" + "v1-" + secrets.token_hex(32)
    data[pos - 1 : pos + len(key) + 1] = b" " + key.encode() + b" "
    root = tmp_path / "tree"
    root.mkdir()
    (root / "big.txt").write_bytes(bytes(data))
    code, report = run_json(tmp_path, "scan", str(root))
    assert code == 1
    (finding,) = report["findings"]
    assert finding["fingerprint"] == hashlib.sha256(key.encode()).hexdigest()
    line_no = data.count(b"\n", 0, pos) + 1
    column = pos - data.rfind(b"\n", 0, pos)
    assert [(loc["line"], loc["column"]) for loc in finding["locations"]] == [(line_no, column)]


@pytest.mark.parametrize("char", ["é", "€", "😀"])
def test_columns_count_characters_across_windows_on_a_long_line(char: str) -> None:
    """A line of multi-byte text that runs over window boundaries: the column of a key in
    a later window counts characters, not bytes, whichever byte of a character a window
    starts or ends at (each shift moves the cuts by one byte)."""
    width = len(char.encode())
    for shift in range(width + 1):
        key = "sk-or-" + "v1-" + secrets.token_hex(32)
        prefix = "a" * shift + char * ((2 * CHUNK) // width)
        tail = " then " + key + " ;\n"
        data = (prefix + tail).encode()
        expected = [(key, 1, len(prefix) + len(" then ") + 1)]
        assert located(data) == expected, shift

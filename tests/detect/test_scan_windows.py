"""Keys at, just before and just after each boundary of the scanner's windows: one
location each, at the right line and column, found raw and through a decoder."""

from __future__ import annotations

import base64
import hashlib
import io
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from conftest import make_key
from keysentry.detect import scanner as scanner_module
from keysentry.detect.rules import load_rules
from keysentry.detect.scanner import Scanner, Tally
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


def windowed(data: bytes | io.BytesIO) -> Tally:
    """A scan in windows of CHUNK bytes with OVERLAP bytes repeated."""
    source = data if isinstance(data, io.BytesIO) else io.BytesIO(data)
    return Scanner(RULES, chunk_size=CHUNK, overlap=OVERLAP).scan_file(source, "x")


def located(data: bytes) -> list[tuple[str, int, int]]:
    return [(h.secret, h.line, h.column) for h in windowed(data).hits if h.placeholder is None]


def line_col(data: bytes, pos: int) -> tuple[int, int]:
    """The line and column (1-based, in bytes) of offset ``pos``, counted independently of
    the scanner."""
    return data.count(b"\n", 0, pos) + 1, pos - data.rfind(b"\n", 0, pos)


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_key_at_each_window_boundary_is_found_once(encoding: str) -> None:
    key = make_key()
    text = ENCODINGS[encoding](key.encode())
    for boundary in BOUNDARIES:
        for shift in (*range(-80, -60), *range(-3, 4), *range(60, 80)):
            pos = boundary + shift
            data = FILLER[: pos - 1] + b" " + text + b" " + FILLER[pos - 1 :]
            assert located(data) == [(key, *line_col(data, pos))], (encoding, boundary, shift)


def test_window_size_does_not_change_what_is_found() -> None:
    keys = [make_key() for _ in range(3)]
    data = bytearray(FILLER)
    for key, boundary in zip(keys, BOUNDARIES, strict=True):
        data[boundary - 1 : boundary + len(key) + 1] = b" " + key.encode() + b" "
    whole = Scanner(RULES).scan_bytes(bytes(data), "x").hits
    in_windows = windowed(bytes(data))
    assert [(h.secret, h.line, h.column) for h in in_windows.hits] == [
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
    key = make_key()
    data[pos - 1 : pos + len(key) + 1] = b" " + key.encode() + b" "
    root = tmp_path / "tree"
    root.mkdir()
    (root / "big.txt").write_bytes(bytes(data))
    code, report = run_json(tmp_path, "scan", str(root))
    assert code == 1
    (finding,) = report["findings"]
    assert finding["fingerprint"] == hashlib.sha256(key.encode()).hexdigest()
    assert [(loc["line"], loc["column"]) for loc in finding["locations"]] == [
        line_col(bytes(data), pos)
    ]


@pytest.mark.parametrize("char", ["é", "€", "😀"])
def test_columns_count_characters_across_windows_on_a_long_line(char: str) -> None:
    """A line of multi-byte text that runs over window boundaries: the column of a key in
    a later window counts characters, not bytes, whichever byte of a character a window
    starts or ends at (each shift moves the cuts by one byte)."""
    width = len(char.encode())
    for shift in range(width + 1):
        key = make_key()
        prefix = "a" * shift + char * ((2 * CHUNK) // width)
        tail = " then " + key + " ;\n"
        data = (prefix + tail).encode()
        expected = [(key, 1, len(prefix) + len(" then ") + 1)]
        assert located(data) == expected, shift


WINDOW_ENDS = (CHUNK, 2 * CHUNK, 3 * CHUNK)
"""Where window k's own bytes end: (k+1)*CHUNK (window 0 has no overlap before it)."""


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_key_across_each_window_end_is_found_once(encoding: str) -> None:
    """A key cut by a window's last byte: the window that owns its start sees it only in
    part, so the next one, which repeats the cut, must be the one to report it."""
    key = make_key()
    text = ENCODINGS[encoding](key.encode())
    for end in WINDOW_ENDS:
        for inside in (1, len(text) // 2, len(text) - 1):
            pos = end - inside
            data = FILLER[: pos - 1] + b" " + text + b" " + FILLER[pos + len(text) + 1 :]
            assert located(data) == [(key, *line_col(data, pos))], (encoding, end, inside)


def test_every_byte_is_counted_once_across_windows() -> None:
    data = FILLER + b"tail"
    assert windowed(data).counters["bytes"] == len(data)


@pytest.mark.parametrize("newline_at", [0, CHUNK - OVERLAP])
def test_a_window_whose_only_newline_is_its_first_byte(newline_at: int) -> None:
    """The line a window ends on began right after a newline at the window's first byte:
    the column of a key further along that line counts from that newline, not from the
    window's start."""
    key = make_key()
    data = bytearray(b"x" * (3 * CHUNK))
    data[newline_at] = 0x0A
    data[-200 : -200 + len(key) + 2] = b" " + key.encode() + b" "
    pos = len(data) - 199
    assert located(bytes(data)) == [(key, 2, pos - newline_at)]


def test_a_long_encoded_run_starting_past_the_middle_of_the_overlap_is_decoded_whole() -> None:
    """A base64 run that starts where the next window owns the starts and ends past this
    window's end: the next window sees it whole and reports the key inside once, where a
    scan in one piece does."""
    key = make_key()
    run = base64.b64encode(b"x" * 378 + key.encode())
    for start in (CHUNK - OVERLAP // 2, CHUNK - OVERLAP // 2 + 100, CHUNK - 200):
        assert start + len(run) > CHUNK  # the run's end, and the key, are past window 0
        data = b"y" * (start - 1) + b" " + run + b" " + b"z" * CHUNK
        whole = Scanner(RULES).scan_bytes(data, "x").hits
        assert [(h.secret, h.line, h.column) for h in whole] == [(key, 1, start + 505)]
        assert located(data) == [(key, 1, start + 505)], start


def test_encoded_keys_on_each_side_of_an_ownership_boundary() -> None:
    """Window 1 repeats an encoded key that window 0 owns and holds one of its own: the
    view it must skip does not stop it from reporting the one after it."""
    keys = [make_key() for _ in range(2)]
    data = bytearray(FILLER[: 3 * CHUNK])
    spots = (CHUNK - OVERLAP + 200, CHUNK + 200)
    for key, pos in zip(keys, spots, strict=True):
        text = base64.b64encode(key.encode())
        data[pos - 1 : pos + len(text) + 1] = b" " + text + b" "
    expected = [(key, *line_col(bytes(data), pos)) for key, pos in zip(keys, spots, strict=True)]
    assert located(bytes(data)) == expected


def test_a_decoded_key_before_a_raw_one_on_the_line_a_window_starts_inside() -> None:
    """Raw matches are located first and decoded ones after them, so a decoded key earlier
    on the line is located from scratch: its column still counts the line's characters
    from the windows before."""
    raw, hidden = (make_key() for _ in range(2))
    for lead in (0, 2 * CHUNK + 5):
        prefix = b"x" * lead + b" " if lead else b""
        encoded = base64.b64encode(hidden.encode())
        data = prefix + encoded + b" " + raw.encode() + b"\n"
        hidden_at = len(prefix) + 1
        raw_at = hidden_at + len(encoded) + 1
        assert sorted(located(data)) == sorted([(hidden, 1, hidden_at), (raw, 1, raw_at)]), lead


def test_a_large_file_is_read_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    path.write_bytes(b"".join(b"request %08d served in 3 ms\n" % i for i in range(200_000)))
    assert path.stat().st_size > 4 * 2**20
    scanner = Scanner(RULES, chunk_size=64 * 2**10, overlap=16 * 2**10)
    with path.open("rb") as fileobj:
        tracemalloc.start()
        try:
            tally = scanner.scan_file(fileobj, str(path))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert tally.counters["bytes"] == path.stat().st_size
    # A few windows' worth, far from the file's size.
    assert peak < 2**20, peak


def test_a_zip_behind_a_prefix_is_found_by_its_end_record_in_the_last_window() -> None:
    """The end record is the only needle of a deflated zip: the window holding it says so,
    and the file's tail is then read as a zip (a zipapp, a self-extractor)."""
    key = make_key()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app/settings.py", f"import os\nKEY = '{key}'\n")
    for prefix in (b"#!/usr/bin/env python3\n", FILLER[: 2 * CHUNK + 100]):
        data = prefix + buf.getvalue()
        tally = windowed(data)
        assert [(h.secret, h.members, h.line, h.column) for h in tally.hits] == [
            (key, ("app/settings.py",), 2, 8)
        ]


SPLIT_TOKEN = """
[[rules]]
id = "split-token"
description = "eight bytes of anything before -TOKEN"
severity = "high"
keywords = ["-TOKEN"]
regex = '(?P<secret>.{8})-TOKEN'
placeholder_model = false
"""


def test_a_column_after_a_match_that_starts_inside_a_character(tmp_path: Path) -> None:
    """A custom rule's match may begin on the second byte of a character: the next match
    on the line, located from that one, still counts whole characters."""
    rules = tmp_path / "rules.toml"
    rules.write_text(SPLIT_TOKEN)
    scanner = Scanner(load_rules([rules]))
    line = "xé1234567-TOKEN and 1234abcd-TOKEN\n"
    tally = scanner.scan_bytes(line.encode(), "x")
    assert [h.rule.id for h in tally.hits] == ["split-token"] * 2
    assert tally.hits[1].column == line.index("1234abcd") + 1


class _ReadSizes(io.BytesIO):
    """An in-memory file that keeps the size of every read it answers."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.sizes: list[int] = []

    def read(self, size: int | None = -1, /) -> bytes:
        block = super().read(size)
        self.sizes.append(len(block))
        return block


def test_every_byte_is_read_once_and_no_read_is_larger_than_a_window() -> None:
    """The head that the content's kind is told by, then at most a window at a time, the
    head counted in the first one: memory is bounded by the window, whatever the file. And
    each byte once: a file without a zip end record is not read again for one."""
    data = FILLER + FILLER
    source = _ReadSizes(data)
    tally = windowed(source)
    assert tally.counters["bytes"] == len(data)
    head, *rest = source.sizes
    assert sum(source.sizes) == len(data)
    assert head + rest[0] == CHUNK and max(rest) == CHUNK, source.sizes

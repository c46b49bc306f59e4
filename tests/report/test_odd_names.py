"""File and member names are bytes: one that is not UTF-8, or holds control characters,
is reported escaped in every format and never ends the report.

Linux allows any byte but ``/`` and NUL in a name (old archives unpack to Latin-1
names), and a name can hold a newline, BEL or an ANSI escape that would rewrite the
reader's terminal. Each command here (``scan``, ``history``, ``staged``, archive
members) runs in every format: the exit code is 1, every key is reported, the report
parses, and the names appear as ``caf\\xe9.env`` and ``\\x1b``, never as raw bytes.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tarfile
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from conftest import git, make_key
from keysentry.cli import main
from keysentry.models import redact
from keysentry.report.plan import FORMATS

LATIN1 = b"caf\xe9.env"
CONTROL = b"bel\x07esc\x1b[31mred\nnl.env"
# Characters that render as nothing: a zero-width space, a BOM, a tag character.
INVISIBLE = "zw\u200bsp\ufeffbom\U000e0041tag.env".encode()
SHOWN = {
    LATIN1: "caf\\xe9.env",
    CONTROL: "bel\\x07esc\\x1b[31mred\\nnl.env",
    INVISIBLE: "zw\\u200bsp\\ufeffbom\\U000e0041tag.env",
}
RAW_CONTROLS = ("\x07", "\x1b", "\udce9", "\ufffd", "\u200b", "\ufeff", "\U000e0041")


def _write(directory: Path, keys: dict[bytes, str]) -> None:
    for name, key in keys.items():
        with open(os.path.join(os.fsencode(directory), name), "w") as fh:
            fh.write(f"TOKEN={key}\n")


def _run(
    args: list[str], fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    out = tmp_path / f"report.{fmt}"
    code = main([*args, "--format", fmt, "--output", str(out)])
    err = capsys.readouterr().err
    stdout_code = main([*args, "--format", fmt, "-q"])
    stdout = capsys.readouterr().out
    assert stdout_code == code
    report = out.read_text(encoding="utf-8")
    # The same report either way (but for the duration), and never an empty file.
    assert len(report.splitlines()) == len(stdout.splitlines()) > 0
    return code, report + stdout if fmt == "text" else report, err


def _check(fmt: str, report: str, err: str, keys: dict[bytes, str], shown: dict[bytes, str]):
    assert "internal error" not in err, err
    for key in keys.values():
        assert redact(key) in report, f"{redact(key)} missing from the {fmt} report"
    for raw in RAW_CONTROLS:
        assert raw not in report and raw not in err, f"raw {raw!r} in the {fmt} report"
    if fmt in ("text", "json", "jsonl", "csv", "junit"):
        for text in shown.values():
            # JSON and XML have their own escapes for the backslash; read them back first.
            assert text in _readable(fmt, report), f"{text} not in the {fmt} report"
    if fmt == "text":
        assert not any(
            line.startswith(("nl.env", "red")) for line in report.splitlines()
        )  # the newline in a name does not start a line of its own


def _readable(fmt: str, report: str) -> str:
    """The report's text content after the format's own escaping is undone (and parsed:
    a report that does not parse fails here)."""
    if fmt == "json":
        return _values(json.loads(report))
    if fmt == "jsonl":
        return "\n".join(_values(json.loads(line)) for line in report.splitlines())
    if fmt == "csv":
        return "\n".join(",".join(row) for row in csv.reader(io.StringIO(report)))
    if fmt == "junit":
        root = ET.fromstring(report)
        return "\n".join(
            [
                *(e.text or "" for e in root.iter()),
                *(v for e in root.iter() for v in e.attrib.values()),
            ]
        )
    return report


def _values(data: object) -> str:
    if isinstance(data, dict):
        return "\n".join(_values(v) for v in data.values())
    if isinstance(data, list):
        return "\n".join(_values(v) for v in data)
    return str(data)


@pytest.fixture
def odd_keys() -> dict[bytes, str]:
    return {
        LATIN1: make_key(),
        CONTROL: make_key(),
        INVISIBLE: make_key(),
        b"plain.env": make_key(),
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_scan_reports_odd_names(
    fmt: str, odd_keys: dict[bytes, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    _write(tree, odd_keys)
    code, report, err = _run(["scan", str(tree)], fmt, tmp_path, capsys)
    assert code == 1, err
    _check(fmt, report, err, odd_keys, SHOWN)
    if fmt == "json":
        paths = {loc["path"] for f in json.loads(report)["findings"] for loc in f["locations"]}
        assert paths == {f"{tree}/{s}" for s in [*SHOWN.values(), "plain.env"]}
    if fmt == "sarif":
        uris = {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in json.loads(report)["runs"][0]["results"]
        }
        # The URI names the file itself: its bytes, percent-encoded.
        assert {u.rsplit("/", 1)[1] for u in uris} == {
            "caf%E9.env",
            "bel%07esc%1B%5B31mred%0Anl.env",
            "zw%E2%80%8Bsp%EF%BB%BFbom%F3%A0%81%81tag.env",
            "plain.env",
        }


@pytest.mark.parametrize("fmt", FORMATS)
def test_history_reports_odd_names(
    fmt: str,
    odd_keys: dict[bytes, str],
    repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _write(repo, odd_keys)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "odd names")
    code, report, err = _run(["history", str(repo)], fmt, tmp_path, capsys)
    assert code == 1, err
    _check(fmt, report, err, odd_keys, SHOWN)


@pytest.mark.parametrize("fmt", FORMATS)
def test_staged_reports_odd_names(
    fmt: str,
    odd_keys: dict[bytes, str],
    repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _write(repo, odd_keys)
    git(repo, "add", "-A")
    monkeypatch.chdir(repo)
    code, report, err = _run(["staged"], fmt, tmp_path, capsys)
    assert code == 1, err
    _check(fmt, report, err, odd_keys, SHOWN)


def _zip_raw_names(members: dict[bytes, str]) -> bytes:
    """A zip whose names are raw bytes without the UTF-8 flag, as old archivers write
    them (zipfile itself only writes ASCII or flagged UTF-8: same-length names are
    swapped in afterwards; the CRC covers the content, not the name)."""
    buf = io.BytesIO()
    stand_ins = {}
    with zipfile.ZipFile(buf, "w") as zf:
        for i, (name, text) in enumerate(members.items()):
            stand_in = chr(ord("A") + i).encode() * len(name)
            stand_ins[stand_in] = name
            zf.writestr(stand_in.decode(), text)
    data = buf.getvalue()
    for stand_in, name in stand_ins.items():
        data = data.replace(stand_in, name)
    return data


def _tar_raw_names(members: dict[bytes, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(os.fsdecode(name))
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize("fmt", FORMATS)
def test_archive_members_with_odd_names(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    zip_keys = {name: make_key() for name in SHOWN}
    tar_keys = {name: make_key() for name in SHOWN}
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "bundle.zip").write_bytes(_zip_raw_names({n: f"K={k}\n" for n, k in zip_keys.items()}))
    (tree / "bundle.tar").write_bytes(_tar_raw_names({n: f"K={k}\n" for n, k in tar_keys.items()}))
    code, report, err = _run(["scan", str(tree)], fmt, tmp_path, capsys)
    assert code == 1, err
    every = {**{b"zip" + n: k for n, k in zip_keys.items()}, **tar_keys}
    shown = {b"zip" + n: f"bundle.zip!{s}" for n, s in SHOWN.items()} | {
        n: f"bundle.tar!{s}" for n, s in SHOWN.items()
    }
    _check(fmt, report, err, every, shown)


def test_an_error_naming_an_odd_path_is_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = os.fsdecode(os.path.join(os.fsencode(tmp_path), CONTROL))
    assert main(["scan", missing]) == 2
    err = capsys.readouterr().err
    # Escaped but for the newline: an error keeps its lines (git's hints have several).
    assert "path does not exist:" in err and "bel\\x07esc\\x1b[31mred\nnl.env" in err
    assert not any(raw in err for raw in RAW_CONTROLS)

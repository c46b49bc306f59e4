"""What other tools read from keysentry's reports, pinned exactly.

SARIF levels and security-severity decide how GitHub ranks an alert, the CSV formula guard keeps
a scanned line from running in a spreadsheet, NO_COLOR and exit code 130 are conventions that
scripts rely on, and JSON ``command``/``targets`` say what a report covers. Each test here fails
when one of those is changed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import git, make_key
from keysentry.cli import main
from keysentry.models import (
    CommitInfo,
    KeyDetails,
    Location,
    ScanResult,
    ScanStats,
    Validation,
)
from keysentry.report import csv_report, sarif
from resulthelpers import finding
from scanhelpers import run_json

# -- SARIF severities -------------------------------------------------------------------------

# severity -> (SARIF level, GitHub security-severity); GitHub's bands are >= 9.0 critical,
# 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
SARIF_SEVERITY = {
    "critical": ("error", "9.5"),
    "high": ("error", "8.0"),
    "medium": ("warning", "5.5"),
    "low": ("note", "3.0"),
    "info": ("note", "0.1"),
}


def _sarif(*findings: object) -> dict:
    result = ScanResult("scan", (".",), tuple(findings), ScanStats())  # type: ignore[arg-type]
    return json.loads(sarif.render(result))


@pytest.mark.parametrize("severity", sorted(SARIF_SEVERITY))
def test_sarif_level_and_security_severity(severity: str) -> None:
    level, score = SARIF_SEVERITY[severity]
    doc = _sarif(finding(make_key(), Location("a.py", 1, 1), rule_id="r", severity=severity))
    [rule] = doc["runs"][0]["tool"]["driver"]["rules"]
    assert rule["defaultConfiguration"]["level"] == level
    assert rule["properties"]["security-severity"] == score
    [res] = doc["runs"][0]["results"]
    assert res["level"] == level


def test_sarif_live_key_is_an_error_and_rule_takes_the_highest_severity() -> None:
    live = Validation("live", "", KeyDetails(label="ci"), "2024-01-02")
    dead = Validation("invalid", "401", None, "2024-01-02")
    doc = _sarif(
        finding(make_key(), Location("a.py", 1, 1), rule_id="r", severity="low", validation=live),
        finding(make_key(), Location("b.py", 1, 1), rule_id="r", severity="medium"),
        finding(make_key(), Location("c.py", 1, 1), rule_id="r", severity="low", validation=dead),
    )
    [rule] = doc["runs"][0]["tool"]["driver"]["rules"]
    assert rule["defaultConfiguration"]["level"] == "warning"
    assert rule["properties"]["security-severity"] == "5.5"
    levels = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r["level"]
        for r in doc["runs"][0]["results"]
    }
    assert levels == {"a.py": "error", "b.py": "warning", "c.py": "note"}


# -- CSV formula guard ------------------------------------------------------------------------


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(lead: str) -> None:
    text = lead + "HYPERLINK(1)"
    commit = CommitInfo("a" * 40, text, "2024-01-01T00:00:00+00:00", text)
    details = KeyDetails(label=text)
    loc = Location(text, 1, 1, members=(text,), snippet=text, source="blob", commit=commit)
    f = finding(make_key(), loc, validation=Validation("unknown", text, details))
    result = ScanResult("scan", (), (f,), ScanStats())
    [row] = list(csv.DictReader(io.StringIO(csv_report.render(result), newline="")))
    for column in ("path", "members", "author", "validation_reason", "key_label", "snippet"):
        assert row[column] == "'" + text, column


def test_csv_line_break_inside_a_cell_cannot_start_a_row() -> None:
    # A CR or LF mid-cell, left bare, would end the row for a reader: what follows it would
    # be the first cell of a new row, where the formula guard never looked.
    for snippet in ("x\r=HYPERLINK(1)", "x\n=HYPERLINK(1)", "x\r\n@SUM(1)"):
        loc = Location("a.py", 1, 1, snippet=snippet)
        text = csv_report.render(ScanResult("scan", (), (finding(make_key(), loc),), ScanStats()))
        [row] = list(csv.DictReader(io.StringIO(text, newline="")))
        assert row["snippet"] == snippet


def test_csv_leaves_ordinary_cells_alone() -> None:
    loc = Location("src/a=b.py", 1, 1, snippet=' KEY = "x" # -1')
    result = ScanResult("scan", (), (finding(make_key(), loc),), ScanStats())
    [row] = list(csv.DictReader(io.StringIO(csv_report.render(result), newline="")))
    assert row["path"] == "src/a=b.py" and row["snippet"] == ' KEY = "x" # -1'


# -- NO_COLOR (on a real terminal) ------------------------------------------------------------


def _scan_on_a_terminal(tree: Path, no_color: str | None) -> bytes:
    """stdout of `keysentry scan tree` when stdout is a terminal."""
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    if no_color is not None:
        env["NO_COLOR"] = no_color
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "keysentry", "scan", str(tree), "--quiet"],
        stdout=secondary,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    os.close(secondary)
    out = b""
    try:
        while True:
            ready, _, _ = select.select([primary], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(primary)
        assert proc.wait(timeout=60) == 1
    return out


def test_colour_on_a_terminal_unless_no_color(tmp_path: Path) -> None:
    key = make_key()
    (tmp_path / "a.env").write_text(f"K={key}\n")
    coloured = _scan_on_a_terminal(tmp_path, None)
    assert b"\x1b[" in coloured and b"HIGH" in coloured
    # https://no-color.org: present and not empty disables colour; empty does not.
    assert b"\x1b[" in _scan_on_a_terminal(tmp_path, "")
    plain = _scan_on_a_terminal(tmp_path, "1")
    assert b"\x1b[" not in plain and b"HIGH" in plain
    assert key.encode() not in coloured + plain


# -- exit code 130 ----------------------------------------------------------------------------


class _InterruptedStdin:
    """stdin whose read is cut by Ctrl-C: Python raises KeyboardInterrupt where it blocks."""

    class buffer:
        @staticmethod
        def read(*_: object) -> bytes:
            raise KeyboardInterrupt

        @staticmethod
        def seekable() -> bool:
            return False

    @staticmethod
    def isatty() -> bool:
        return False


def test_interrupt_exits_130_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", _InterruptedStdin())
    assert main(["scan", "-"]) == 130
    err = capsys.readouterr().err
    assert "keysentry:" in err and "Traceback" not in err


# -- JSON command and targets -----------------------------------------------------------------


def test_json_and_jsonl_say_which_command_ran_on_which_targets(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (b / "x.txt").write_text(make_key())
    _, report = run_json(tmp_path, "scan", str(b), str(a))
    assert (report["command"], report["targets"]) == ("scan", [str(b), str(a)])
    out = tmp_path / "report.jsonl"
    main(["scan", str(a), str(b), "--format", "jsonl", "--output", str(out), "--quiet"])
    summary = json.loads(out.read_text().splitlines()[-1])
    assert summary["type"] == "summary"
    assert (summary["command"], summary["targets"]) == ("scan", [str(a), str(b)])


def test_json_command_of_history(tmp_path: Path, repo: Path) -> None:
    (repo / "a.txt").write_text("nothing\n")
    git(repo, "add", "a.txt")
    git(repo, "commit", "-qm", "init")
    _, report = run_json(tmp_path, "history", str(repo))
    assert report["command"] == "history"
    assert [Path(t).resolve() for t in report["targets"]] == [repo.resolve()]
    out = tmp_path / "history.jsonl"
    main(["history", str(repo), "--format", "jsonl", "--output", str(out), "--quiet"])
    summary = json.loads(out.read_text().splitlines()[-1])
    assert summary["command"] == "history"
    assert [Path(t).resolve() for t in summary["targets"]] == [repo.resolve()]


# -- stats: what pipeline.finish counts -------------------------------------------------------


def test_stats_count_findings_issues_by_kind_and_the_time_taken(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.env").write_text(f"K={make_key()}\n")
    (tree / "b.env").write_text(f"K={make_key()}\n")
    for name in ("one.gz", "two.gz"):  # gzip magic, then noise: a decode error each
        (tree / name).write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(40)))
    (tree / "link").symlink_to(tree / "a.env")
    started = time.monotonic()
    code, report = run_json(tmp_path, "scan", str(tree))
    elapsed = time.monotonic() - started
    assert code == 1
    stats = report["stats"]
    assert stats["counters"]["findings"] == len(report["findings"]) == 2
    assert stats["counters"]["skipped_decode_error"] == 2
    assert stats["counters"]["skipped_symlink"] == 1
    kinds = sorted(i["kind"] for i in stats["issues"])
    assert kinds == ["decode-error", "decode-error", "symlink"]
    # Not a speed limit: the reported duration is the scan's own, in seconds to the millisecond.
    durations = [stats["duration_s"]]
    for _ in range(3):  # a finer rounding ends in 0 one time in ten: look at a few
        durations.append(run_json(tmp_path, "scan", str(tree / "a.env"))[1]["stats"]["duration_s"])
    for duration in durations:
        assert isinstance(duration, float) and round(duration, 3) == duration
    assert 0 < durations[0] <= elapsed


def test_placeholders_are_listed_only_when_asked(tmp_path: Path) -> None:
    (tmp_path / "docs.md").write_text("OPENROUTER_API_KEY=sk-or-" + "v1-" + "0" * 64 + "\n")
    code, report = run_json(tmp_path, "scan", str(tmp_path / "docs.md"))
    assert code == 0 and report["findings"] == []
    code, report = run_json(tmp_path, "scan", str(tmp_path / "docs.md"), "--include-placeholders")
    [f] = report["findings"]
    assert f["placeholder"] is True and f["severity"] == "info"

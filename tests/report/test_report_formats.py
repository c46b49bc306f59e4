"""The github, csv and junit reports, and the registry of formats."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

import pytest

from keysentry.models import Location, ScanResult, ScanStats, Validation, redact
from keysentry.report import REPORTERS, csv_report, github, junit
from keysentry.report.plan import FORMATS
from resulthelpers import finding, rich_result


def test_every_format_has_a_reporter_and_is_redacted(keys) -> None:
    assert set(REPORTERS) == set(FORMATS)
    ks = keys(3)
    for name, reporter in REPORTERS.items():
        text = reporter(rich_result(ks), False)
        assert all(k not in text for k in ks), name
        shown = reporter(rich_result(ks, show_secrets=True), False)
        assert ks[0] in shown, name


@pytest.mark.parametrize(
    ("raw", "data", "prop"),
    [
        ("100%", "100%25", "100%25"),
        ("a\rb", "a%0Db", "a%0Db"),
        ("a\nb", "a%0Ab", "a%0Ab"),
        ("a:b", "a:b", "a%3Ab"),
        ("a,b", "a,b", "a%2Cb"),
        # actions/toolkit escapes nothing else: ';' and '=' pass through unchanged
        ("a;b=c", "a;b=c", "a;b=c"),
        ("%0A", "%250A", "%250A"),  # escaping is not undone by a second decode
    ],
)
def test_github_escaping(raw: str, data: str, prop: str) -> None:
    assert github.escape_data(raw) == data
    assert github.escape_property(raw) == prop


def test_github_annotations(keys) -> None:
    ks = keys(3)
    lines = github.render(rich_result(ks)).splitlines()
    assert len(lines) == 6 + 1  # one per location, plus one warning for skipped inputs
    first = lines[0]
    assert first.startswith("::error file=src/app.py,line=3,col=9,endColumn=")
    assert f"title=Leaked key {redact(ks[0])} (openrouter-api-key)::" in first
    assert "validation: LIVE" in first and "%0A" in first and "\n" not in first
    member = next(x for x in lines if "release.tar.gz" in x)
    assert member.startswith("::error file=dist/release.tar.gz,title=")  # no line in an archive
    odd = next(x for x in lines if "space" in x)
    assert "file=dir with space/ä%3Ab%2Cc.txt,line=7" in odd
    message = next(x for x in lines if "message of" in x or "commit-message" in x)
    assert message.startswith("::warning title=")  # medium; no file for a commit message
    assert any(x.startswith("::notice ") for x in lines)  # the placeholder
    assert lines[-1].startswith("::warning title=keysentry%3A 1 input(s) not fully scanned::")


def test_github_message_cannot_inject_commands(key) -> None:
    snippet = f"x = 1\n::add-mask::{redact(key)}\r\n::error::fake"
    result = ScanResult(
        "scan", (), (finding(key, Location("a.py", 1, 1, snippet=snippet)),), ScanStats()
    )
    lines = github.render(result).splitlines()
    assert len(lines) == 1 and lines[0].startswith("::error file=a.py,")
    assert "%0A::add-mask::" in lines[0] and "%0D%0A::error::fake" in lines[0]


def test_step_summary(keys) -> None:
    ks = keys(3)
    md = github.step_summary(rich_result(ks))
    assert md.startswith("## :rotating_light: keysentry history: 2 leaked key(s) found")
    assert "| severity | rule | key | validation | where |" in md
    assert f"<code>{redact(ks[0])}</code>" in md and "(+3 more)" in md
    assert "&lt;commit message&gt;" in md  # HTML is escaped
    assert "LIVE" in md and "origin/main..HEAD" in md
    assert all(k not in md for k in ks)
    clean = github.step_summary(ScanResult("scan", (), (), ScanStats()))
    assert "no leaked keys found" in clean and "|" not in clean


def test_step_summary_escapes_table_breakers(key) -> None:
    loc = Location("a|b\nc.py", 1, 1)
    md = github.step_summary(ScanResult("scan", (), (finding(key, loc),), ScanStats()))
    row = next(line for line in md.splitlines() if line.startswith("| high"))
    assert row.count("|") == 6 and "a&#124;b c.py" in row


def test_csv(keys) -> None:
    ks = keys(3)
    rows = list(csv.DictReader(io.StringIO(csv_report.render(rich_result(ks)))))
    assert len(rows) == 6
    assert tuple(rows[0]) == csv_report.COLUMNS
    first = rows[0]
    assert first["redacted"] == redact(ks[0]) and first["path"] == "src/app.py"
    assert (first["line"], first["column"], first["validation_status"]) == ("3", "9", "live")
    assert first["key_label"] == "ci" and first["limit"] == "5"
    member = next(r for r in rows if r["members"])
    assert member["members"] == "release/pkg.whl!pkg/settings.py"
    assert member["decoders"] == "gzip > tar > zip"
    history = next(r for r in rows if r["exposure"] == "pushed")
    assert history["commit"] == "a" * 40 and history["in_head"] == "false"
    odd = next(r for r in rows if "space" in r["path"])
    assert odd["path"] == "dir with space/ä:b,c.txt"  # quoted, read back intact


def test_csv_secret_column_and_formula_guard(key) -> None:
    loc = Location("=cmd|'/c calc'!A1", 1, 1, snippet="@SUM(1+1)")
    result = ScanResult("scan", (), (finding(key, loc),), ScanStats(), show_secrets=True)
    rows = list(csv.DictReader(io.StringIO(csv_report.render(result))))
    assert rows[0]["secret"] == key
    assert rows[0]["path"].startswith("'=") and rows[0]["snippet"] == "'@SUM(1+1)"


def test_junit(keys) -> None:
    ks = keys(3)
    root = ET.fromstring(junit.render(rich_result(ks)))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "2", "1")
    cases = suite.findall("testcase")
    assert len(cases) == 3  # one per finding
    failed = [c for c in cases if c.find("failure") is not None]
    assert len(failed) == 2
    failure = failed[0].find("failure")
    assert failure is not None
    assert "validation: LIVE" in (failure.get("message") or "")
    assert "dist/release.tar.gz!release/pkg.whl!pkg/settings.py:2:5" in (failure.text or "")
    assert sum(1 for c in cases if c.find("skipped") is not None) == 1
    out = suite.find("system-out")
    assert out is not None and "symlink: link" in (out.text or "")


def test_junit_clean_scan_has_one_passing_case() -> None:
    root = ET.fromstring(junit.render(ScanResult("scan", (), (), ScanStats())))
    cases = root.findall("testsuite/testcase")
    assert len(cases) == 1 and list(cases[0]) == []


def test_junit_survives_control_characters(key) -> None:
    loc = Location("bin\x01.dat", 1, 1, snippet="\x00\x07" + redact(key) + "\ufffe")
    result = ScanResult("scan", (), (finding(key, loc),), ScanStats())
    text = junit.render(result)
    root = ET.fromstring(text)  # well-formed despite the bytes
    assert "\\x00\\x07" in text and "bin\\x01.dat" in text
    assert root.find("testsuite/testcase") is not None


def test_validation_in_every_format(key) -> None:
    invalid = Validation("invalid", "401 from GET /key")
    f = finding(key, Location("a.py", 1, 1), validation=invalid)
    result = ScanResult("scan", (), (f,), ScanStats())
    for name, reporter in REPORTERS.items():
        assert "invalid" in reporter(result, False), name


def test_github_format_writes_the_step_summary(tmp_path, monkeypatch, capsys, key) -> None:
    from keysentry.cli import main

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text(f'KEY = "{key}"\n')
    summary = tmp_path / "summary.md"
    summary.write_text("previous step\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert main(["scan", "src", "--format", "github"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("::error file=src/a.py,line=1,col=8,")
    text = summary.read_text()
    assert text.startswith("previous step\n## :rotating_light: keysentry scan: 1 leaked key(s)")
    assert redact(key) in text and key not in text
    # a summary that cannot be written is a warning, not a failure of the scan
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "missing" / "x.md"))
    assert main(["scan", "src", "--format", "github"]) == 1
    assert "warning: cannot write $GITHUB_STEP_SUMMARY" in capsys.readouterr().err
    # other formats leave it alone
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    before = summary.read_text()
    assert main(["scan", "src", "--format", "json"]) == 1
    assert summary.read_text() == before


def test_json_is_the_report_dict_with_one_finding_per_line(keys) -> None:
    import json

    from keysentry.report.json_report import render_json, report_dict

    for result in (rich_result(keys(3)), ScanResult("scan", (".",), (), ScanStats())):
        text = render_json(result)
        assert json.loads(text) == report_dict(result)
        lines = text.splitlines()
        assert lines[0] == "{" and lines[1] == '  "schema_version": 1,' and lines[-1] == "}"
        rows = [line for line in lines if line.startswith('    {"rule_id"')]
        assert len(rows) == len(result.findings)
        assert all(json.loads(row.rstrip(","))["rule_id"] for row in rows)

"""`--format codequality`: GitLab's Code Quality report, checked against its documented shape."""

from __future__ import annotations

import json
import zipfile

import jsonschema

from conftest import git
from keysentry.cli import main
from keysentry.errors import ExitCode
from keysentry.models import fingerprint_of

# Written from https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format:
# the fields GitLab requires, and its severity scale.
SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string", "minLength": 1},
            "check_name": {"type": "string", "minLength": 1},
            "fingerprint": {"type": "string", "minLength": 1},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path", "lines"],
                "properties": {
                    "path": {"type": "string", "minLength": 1, "not": {"pattern": "^/"}},
                    "lines": {
                        "type": "object",
                        "required": ["begin"],
                        "properties": {"begin": {"type": "integer", "minimum": 1}},
                    },
                },
            },
        },
    },
}


def report(capsys, *args: str) -> list[dict]:
    code = main([*args, "--format", "codequality", "-q"])
    out = capsys.readouterr().out
    assert code in (ExitCode.CLEAN, ExitCode.FINDINGS), out
    document = json.loads(out)
    jsonschema.validate(document, SCHEMA)
    return document


def test_one_issue_per_location_with_unique_fingerprints(repo, monkeypatch, capsys, key) -> None:
    monkeypatch.chdir(repo)
    (repo / "a.env").write_text(f"K={key}\nagain: {key}\n")
    with zipfile.ZipFile(repo / "bundle.zip", "w") as zf:
        zf.writestr("inner/settings.py", f"\n\nKEY = '{key}'\n")
    issues = report(capsys, "scan", ".")
    assert sorted((i["location"]["path"], i["location"]["lines"]["begin"]) for i in issues) == [
        ("a.env", 1), ("a.env", 2), ("bundle.zip", 1),
    ]  # fmt: skip
    assert len({i["fingerprint"] for i in issues}) == 3  # GitLab keeps one per fingerprint
    assert {i["severity"] for i in issues} == {"critical"}
    assert all(i["check_name"] == "keysentry/openrouter-api-key" for i in issues)
    text = json.dumps(issues)
    assert key not in text and fingerprint_of(key) in text
    member = next(i for i in issues if i["location"]["path"] == "bundle.zip")
    assert "inner/settings.py" in member["description"]


def test_clean_is_an_empty_array(repo, monkeypatch, capsys) -> None:
    monkeypatch.chdir(repo)
    (repo / "ok.txt").write_text("nothing\n")
    assert report(capsys, "scan", ".") == []


def test_history_messages_and_range(repo, monkeypatch, capsys, key) -> None:
    monkeypatch.chdir(repo)
    (repo / "f").write_text("x\n")
    git(repo, "add", "f")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "commit", "-q", "--allow-empty", "-m", f"oops {key}")
    commit = git(repo, "rev-parse", "HEAD").strip()
    (issue,) = report(capsys, "ci", "--range", "HEAD~1..HEAD")
    assert issue["location"] == {"path": f".git/commit/{commit}", "lines": {"begin": 1}}
    assert "commit range chosen: --range HEAD~1..HEAD" in issue["description"]

"""Building the repositories of the `keysentry ci` tests and reading what it says.

A history with a bare remote (main pushed, a feature branch not), GitHub event payloads
written to files and GitLab's variables set, as the runners do. Keys are built at run
time (conftest's ``make_key``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import git, make_key
from keysentry.cli import main

ZERO = "0" * 40
CHOSEN = "commit range chosen: "


@dataclass
class History:
    path: Path
    old_key: str
    """Committed on main before the branch: not new in any branch range."""
    new_key: str
    """Added by the feature branch's first commit."""
    c1: str
    c2: str
    c3: str
    c4: str


def commit(repo: Path, name: str, text: str, message: str) -> str:
    (repo / name).write_text(text)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def build_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> History:
    """main: c1 (old key), c2 -- pushed to origin; feature: c3 (new key), c4. The
    current directory is the work tree, as in a CI job."""
    for name in (
        "CI",
        "GITHUB_EVENT_NAME",
        "GITHUB_EVENT_PATH",
        "CI_COMMIT_SHA",
        "PRE_COMMIT_FROM_REF",
        "PRE_COMMIT_TO_REF",
        "PRE_COMMIT_LOCAL_BRANCH",
        "PRE_COMMIT_REMOTE_BRANCH",
    ):
        monkeypatch.delenv(name, raising=False)
    remote = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    repo = tmp_path / "work"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "remote", "add", "origin", str(remote))
    old, new = make_key(), make_key()
    c1 = commit(repo, "old.env", f"OPENROUTER_API_KEY={old}\n", "c1")
    c2 = commit(repo, "README", "hello\n", "c2")
    git(repo, "push", "-q", "origin", "main")
    git(repo, "switch", "-q", "-c", "feature")
    c3 = commit(repo, "app.py", f'KEY = "{new}"\n', "c3")
    c4 = commit(repo, "notes.txt", "more\n", "c4")
    monkeypatch.chdir(repo)
    return History(repo, old, new, c1, c2, c3, c4)


def github_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, event: str, payload: object
) -> Path:
    path = tmp_path / f"{event}.json"
    path.write_text(json.dumps(payload))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_EVENT_NAME", event)
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(path))
    return path


def gitlab_env(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    monkeypatch.setenv("GITLAB_CI", "true")
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


def ci(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    """``keysentry ci --format json ARGS`` in-process: exit code, report, stderr."""
    code = main(["ci", "--format", "json", *args])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else {}), err


def notes(report: dict[str, Any]) -> list[str]:
    return list(report["stats"]["notes"])


def chosen(report: dict[str, Any]) -> str:
    """The range ``keysentry ci`` says it chose (the first, when there are several)."""
    return every_chosen(report)[0]


def every_chosen(report: dict[str, Any]) -> list[str]:
    """Every range ``keysentry ci`` says it chose, in order."""
    return [n[len(CHOSEN) :] for n in notes(report) if n.startswith(CHOSEN)]


def only_location(report: dict[str, Any]) -> dict[str, Any]:
    (finding,) = report["findings"]
    (location,) = finding["locations"]
    return location  # type: ignore[no-any-return]


def fingerprints(report: dict[str, Any]) -> set[str]:
    return {f["fingerprint"] for f in report.get("findings", [])}


def error_line(err: str) -> str:
    """The one ``keysentry: error: ...`` line of stderr."""
    (line,) = [x for x in err.splitlines() if x.startswith("keysentry: error: ")]
    return line[len("keysentry: error: ") :]

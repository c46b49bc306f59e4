"""Scan one file's content with the real `scan` and `history` commands."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from conftest import git
from gitrepo_helpers import commit, locations, run


def both(tmp_path: Path, name: str, content: bytes | str) -> dict[str, dict[str, Any]]:
    """The JSON reports of `scan` on a directory holding the file and of `history` on a
    repository that committed it: {"scan": report, "history": report}."""
    data = content.encode() if isinstance(content, str) else content
    tree = tmp_path / "tree"
    (tree / name).parent.mkdir(parents=True, exist_ok=True)
    (tree / name).write_bytes(data)
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, {name: data}, "add")
    reports = {}
    for command, target in (("scan", tree), ("history", repo)):
        with contextlib.chdir(target):
            code, report = run(tmp_path, command, ".")
        assert code in (0, 1), report
        assert not [i for i in report["stats"]["issues"] if i["kind"] == "decode-error"], report
        reports[command] = report
    return reports


def found_in_both(tmp_path: Path, name: str, content: bytes | str, key: str) -> list[dict]:
    """The key's locations in the `scan` report; it must be found by `history` too."""
    reports = both(tmp_path, name, content)
    scanned = locations(reports["scan"], key)
    assert scanned, reports["scan"]
    assert locations(reports["history"], key), reports["history"]
    return scanned


def nothing_in_both(tmp_path: Path, name: str, content: bytes | str) -> None:
    for command, report in both(tmp_path, name, content).items():
        assert report["findings"] == [], (command, report["findings"])

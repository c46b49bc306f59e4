"""Building real repositories for the git-source tests, and reading what keysentry says.

Keys are built at run time by the callers (conftest's ``make_key``); identities and
dates are fixed by conftest's ``git()``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import git
from keysentry.cli import main
from keysentry.models import fingerprint_of


def write(repo: Path, files: dict[str, str | bytes | None]) -> None:
    """Write (or, for None, delete) files in the work tree."""
    for name, content in files.items():
        path = repo / name
        if content is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def commit(repo: Path, files: dict[str, str | bytes | None], message: str = "change") -> str:
    """Write the files, stage everything, commit; returns the new commit id."""
    write(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return head(repo)


def head(repo: Path, rev: str = "HEAD") -> str:
    return git(repo, "rev-parse", rev).strip()


def run(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    """``keysentry ARGS --format json`` in-process: the exit code and the report."""
    out = tmp_path / "report.json"
    out.unlink(missing_ok=True)
    code = main([*args, "--format", "json", "--output", str(out), "--quiet"])
    return code, json.loads(out.read_text()) if out.exists() else {}


def locations(report: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """Every location of the finding for ``key`` (empty if it was not found)."""
    fp = fingerprint_of(key)
    for finding in report.get("findings", []):
        if finding["fingerprint"] == fp:
            return list(finding["locations"])
    return []


def only(report: dict[str, Any], key: str) -> dict[str, Any]:
    """The single location of ``key``'s finding."""
    found = locations(report, key)
    assert len(found) == 1, found
    return found[0]

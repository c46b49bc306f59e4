"""The audit store survives a crash: a SIGKILL mid-run, then a resume, reports exactly what
an uninterrupted run reports; a repository over --repo-timeout fails with its reason."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from conftest import git, make_key
from gitrepo_helpers import commit
from keysentry.cli import main
from keysentry.errors import ExitCode


def build_fleet(root: Path, n: int) -> list[str]:
    keys = [make_key() for _ in range(3)]
    for i in range(n):
        repo = root / f"repo{i:02}"
        repo.mkdir(parents=True)
        git(repo, "init", "-q")
        for c in range(3):
            commit(repo, {f"f{c}.txt": f"{i} {c}\n" + "filler line\n" * 200})
        commit(repo, {"k.env": f"K={keys[i % 3]}\n"})
    return keys


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """The report without what differs between any two runs (times)."""
    rows = [{k: v for k, v in r.items() if k != "duration_s"} for r in report["repositories"]]
    stats = {k: v for k, v in report["stats"].items() if k != "duration_s"}
    return {"findings": report["findings"], "repositories": rows, "stats": stats}


def audit_cmd(root: Path, db: Path, out: Path) -> list[str]:
    return [
        sys.executable, "-m", "keysentry", "audit", str(root), "--db", str(db), "--jobs", "1",
        "--format", "json", "-o", str(out), "-q",
    ]  # fmt: skip


def stored(db: Path) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT count(*) FROM repos").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    root = tmp_path / "fleet"
    n = 24
    build_fleet(root, n)
    whole = tmp_path / "whole.json"
    subprocess.run(audit_cmd(root, tmp_path / "whole.sqlite", whole), check=False)

    db, out = tmp_path / "crash.sqlite", tmp_path / "crash.json"
    proc = subprocess.Popen(audit_cmd(root, db, out), start_new_session=True)
    while stored(db) < 2 and proc.poll() is None:
        time.sleep(0.01)
    done_at_kill = stored(db)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its workers: a crash, no clean-up
    proc.wait()
    assert done_at_kill < n, "the audit finished before it could be killed"
    assert not out.exists()
    survived = stored(db)
    assert 2 <= survived < n
    code = subprocess.run(audit_cmd(root, db, out), check=False).returncode
    assert code == ExitCode.FINDINGS
    assert comparable(json.loads(out.read_text())) == comparable(json.loads(whole.read_text()))


def test_repo_timeout_fails_that_repository_only(tmp_path: Path) -> None:
    root = tmp_path / "fleet"
    build_fleet(root, 2)
    out = tmp_path / "out.json"
    code = main(
        ["audit", str(root), "--db", str(tmp_path / "db"), "--repo-timeout", "0.001",
         "--format", "json", "-o", str(out), "-q"]
    )  # fmt: skip
    assert code == ExitCode.INCOMPLETE
    rows = json.loads(out.read_text())["repositories"]
    assert len(rows) == 2
    assert all(r["failure"] == "timed out after 0.001 s (--repo-timeout)" for r in rows)

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
from keysentry.fleet.run import AuditPlan, run_audit
from keysentry.fleet.spec import AuditSettings, RepoOutcome
from keysentry.fleet.targets import expand


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
    subprocess.run(audit_cmd(root, tmp_path / "whole.sqlite", whole), check=False, timeout=300)

    db, out = tmp_path / "crash.sqlite", tmp_path / "crash.json"
    proc = subprocess.Popen(audit_cmd(root, db, out), start_new_session=True)
    deadline = time.monotonic() + 300
    while stored(db) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    done_at_kill = stored(db)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its workers: a crash, no clean-up
    proc.wait(timeout=300)
    assert done_at_kill < n, "the audit finished before it could be killed"
    assert not out.exists()
    survived = stored(db)
    assert 2 <= survived < n
    code = subprocess.run(audit_cmd(root, db, out), check=False, timeout=300).returncode
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


class Heard:
    """What the driver tells the progress display: each repository's outcome."""

    def __init__(self) -> None:
        self.outcomes: dict[str, RepoOutcome] = {}

    def done(self, outcome: RepoOutcome) -> None:
        self.outcomes[outcome.name] = outcome

    def stage(self, repository: str, what: str) -> None:
        pass


def resume_fleet(root: Path) -> dict[str, Path]:
    keys = build_fleet(root, 2)
    dangling = root / "dangling"
    dangling.mkdir()
    (dangling / ".git").write_text("gitdir: /nonexistent/fleet\n")
    garbage = root / "garbage-head"
    garbage.mkdir()
    git(garbage, "init", "-q", "-b", "main")
    commit(garbage, {"g.env": f"K={keys[0]}\n"})
    (garbage / ".git" / "HEAD").write_text("garbage\n")
    return {"dangling": dangling, "garbage": garbage}


def audit_with(root: Path, db: Path, *extra: str) -> Heard:
    """The driver itself (no CLI), to hear which repositories ran and which were skipped."""
    heard = Heard()
    targets = tuple(expand([str(root), *extra], 3)[0])
    plan = AuditPlan(targets, AuditSettings(db.parent / "clones"), db, jobs=1)
    run_audit(plan, heard)
    return heard


def test_an_unchanged_failed_repository_is_not_retried(tmp_path: Path) -> None:
    root = tmp_path / "fleet"
    broken = resume_fleet(root)
    unreachable = "https://127.0.0.1:9/org/repo.git"  # nothing listens: the clone fails
    db, first, later = tmp_path / "db.sqlite", tmp_path / "first.json", tmp_path / "later.json"
    cmd = [*audit_cmd(root, db, first), unreachable]
    assert subprocess.run(cmd, check=False, timeout=300).returncode == ExitCode.FINDINGS
    report = json.loads(first.read_text())
    failures = {r["repository"]: r["failure"] for r in report["repositories"] if r["failure"]}
    assert set(failures) == {str(broken["dangling"]), str(broken["garbage"]), unreachable}

    heard = audit_with(root, db, unreachable)
    skipped = {name for name, o in heard.outcomes.items() if o.unchanged}
    # Every local repository, the two broken ones included, is skipped; the failed clone
    # says nothing about the repository (the network, the server) and is tried again.
    assert skipped == {str(p) for p in root.iterdir()}
    # ... and the progress display still counts the broken ones as failed.
    assert {n for n in skipped if heard.outcomes[n].failure} == {str(p) for p in broken.values()}
    assert not heard.outcomes[unreachable].unchanged
    assert "cannot clone or fetch" in heard.outcomes[unreachable].failure

    cmd = [*audit_cmd(root, db, later), unreachable]
    assert subprocess.run(cmd, check=False, timeout=300).returncode == ExitCode.FINDINGS
    assert comparable(json.loads(later.read_text())) == comparable(report)


def test_a_repaired_repository_is_audited_again(tmp_path: Path) -> None:
    root = tmp_path / "fleet"
    broken = resume_fleet(root)
    db = tmp_path / "db.sqlite"
    audit_with(root, db)
    # Repair both: HEAD points at the branch again; the .git file at a real repository.
    (broken["garbage"] / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    git(elsewhere, "init", "-q", "-b", "main")
    key = make_key()
    commit(elsewhere, {"e.env": f"K={key}\n"})
    (broken["dangling"] / ".git").write_text(f"gitdir: {elsewhere / '.git'}\n")
    heard = audit_with(root, db)
    for path in broken.values():
        outcome = heard.outcomes[str(path)]
        assert not outcome.unchanged and not outcome.failure
        assert outcome.findings
    assert sum(o.unchanged for o in heard.outcomes.values()) == 2  # the untouched ones

    out = tmp_path / "out.json"
    code = subprocess.run(audit_cmd(root, db, out), check=False, timeout=300).returncode
    assert code == ExitCode.FINDINGS
    rows = json.loads(out.read_text())["repositories"]
    assert not any(r["failure"] for r in rows)


def test_rescan_retries_a_failed_repository(tmp_path: Path) -> None:
    root = tmp_path / "fleet"
    resume_fleet(root)
    db = tmp_path / "db.sqlite"
    audit_with(root, db)
    heard = Heard()
    plan = AuditPlan(
        tuple(expand([str(root)], 3)[0]), AuditSettings(tmp_path / "clones"), db, rescan=True
    )
    run_audit(plan, heard)
    assert not any(o.unchanged for o in heard.outcomes.values())
    assert sum(bool(o.failure) for o in heard.outcomes.values()) == 2


def test_changed_settings_or_configuration_audit_again(tmp_path: Path) -> None:
    """The stored state is salted with what else decides an audit's result: a resume
    after a change of the rules, the settings or a repository's own configuration file
    (uncommitted: the refs do not move) scans again what it applies to."""
    root = tmp_path / "fleet"
    build_fleet(root, 2)
    repos = sorted(str(p) for p in root.iterdir())
    db = tmp_path / "db.sqlite"

    def audit(**settings: Any) -> set[str]:
        heard = Heard()
        targets = tuple(expand([str(root)], 3)[0])
        plan = AuditPlan(targets, AuditSettings(tmp_path / "clones", **settings), db, jobs=1)
        run_audit(plan, heard)
        assert [o.failure for o in heard.outcomes.values() if o.failure] == []
        return {name for name, o in heard.outcomes.items() if not o.unchanged}

    assert audit() == set(repos)
    assert audit() == set()
    (Path(repos[0]) / ".keysentry.toml").write_text("include_placeholders = true\n")
    assert audit() == {repos[0]}
    assert audit() == set()
    rules = tmp_path / "extra.toml"
    rules.write_text(
        'schema_version = 1\n[[rules]]\nid = "extra"\ndescription = "x"\nseverity = "low"\n'
        'keywords = ["zz-"]\nregex = "zz-[0-9]{8}"\n'
    )
    assert audit(rules=(rules,)) == set(repos)
    assert audit(rules=(rules,)) == set()
    rules.write_text(rules.read_text().replace("{8}", "{9}"))
    assert audit(rules=(rules,)) == set(repos)
    assert audit(rules=(rules,), include_placeholders=True) == set(repos)

"""``--repo-timeout`` on both executors: a repository whose clone never ends (a git://
server on loopback that accepts and then says nothing) is given up after the limit,
reported with its reason, its git process is killed, and the other repositories are
audited. On Dask the task runs on a worker's thread, where no alarm can interrupt it."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import PREFIX, git
from fleethelpers import HOLD, SilentServer
from gitrepo_helpers import commit
from keysentry.cli import main
from keysentry.errors import ExitCode

LIMIT = 4.0


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    try:
        yield server
    finally:
        server.close()


def clean_fleet(root: Path) -> list[Path]:
    repos = []
    for i in range(2):
        repo = root / f"clean{i}"
        repo.mkdir(parents=True)
        git(repo, "init", "-q")
        commit(repo, {"README": f"nothing here {i}\n"})
        repos.append(repo)
    return repos


def audit(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], float]:
    out = tmp_path / "out.json"
    started = time.monotonic()
    code = main(
        ["audit", *args, "--db", str(tmp_path / "db.sqlite"), "--clone-dir",
         str(tmp_path / "clones"), "--repo-timeout", f"{LIMIT:g}", "--format", "json",
         "-o", str(out), "-q"]
    )  # fmt: skip
    return code, json.loads(out.read_text()), time.monotonic() - started


def check(report: dict[str, Any], code: int, took: float, silent: SilentServer, url: str) -> None:
    assert code == ExitCode.INCOMPLETE  # nothing found; one repository not audited
    rows = {r["repository"]: r for r in report["repositories"]}
    assert len(rows) == 3
    assert rows[url]["failure"] == f"timed out after {LIMIT:g} s (--repo-timeout)"
    assert all(r["failure"] is None for name, r in rows.items() if name != url)
    assert LIMIT <= took < HOLD / 2
    assert len(silent.accepted) == 1
    # The git process that waited on the server is gone, not left hanging.
    deadline = time.monotonic() + 10
    while not silent.closed and time.monotonic() < deadline:
        time.sleep(0.05)
    assert silent.closed, "the clone's git process is still connected"
    assert silent.closed[0] - silent.accepted[0] < LIMIT + 10


def test_repo_timeout_on_local_workers(tmp_path: Path, silent: SilentServer) -> None:
    clean_fleet(tmp_path / "fleet")
    url = f"git://127.0.0.1:{silent.port}/hang.git"
    # One worker, the silent server first: the helper killed at the limit is replaced,
    # and the next repositories are audited by the new one.
    code, report, took = audit(tmp_path, url, str(tmp_path / "fleet"), "--jobs", "1")
    check(report, code, took, silent, url)


@pytest.mark.slow
def test_repo_timeout_on_dask(tmp_path: Path, silent: SilentServer, scheduler: str) -> None:
    clean_fleet(tmp_path / "fleet")
    url = f"git://127.0.0.1:{silent.port}/hang.git"
    code, report, took = audit(tmp_path, str(tmp_path / "fleet"), url, "--scheduler", scheduler)
    check(report, code, took, silent, url)


def slow_repository(path: Path) -> Path:
    """A repository whose scan takes seconds: four blobs of 9 MB, each a run of 300,000
    key prefixes too short to be keys (every one is a candidate the engine must look at)."""
    path.mkdir(parents=True)
    git(path, "init", "-q")
    stream = []
    for n in range(4):
        data = f"{n}\n".encode() + (PREFIX + "ab" * 10 + " ").encode() * 300_000
        stream.append(
            f"commit refs/heads/main\ncommitter C <c@example.test> {1_700_000_000 + n} +0000\n"
            f"data 2\nc\nM 100644 inline f{n}.txt\ndata {len(data)}\n".encode()
            + data
            + b"\n"
        )
    git(path, "fast-import", "--quiet", input=b"".join(stream))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["local", "dask"])
def test_repo_timeout_stops_a_scan(tmp_path: Path, executor: str, request: Any) -> None:
    """The limit covers the scan as well, not only git's network: a scan that takes
    seconds (about 8 s on an idle development machine) is stopped after 1 s."""
    big = slow_repository(tmp_path / "fleet" / "big")
    small = clean_fleet(tmp_path / "fleet")
    where = ["--scheduler", request.getfixturevalue("scheduler")] if executor == "dask" else []
    out = tmp_path / "out.json"
    started = time.monotonic()
    code = main(
        ["audit", str(tmp_path / "fleet"), "--db", str(tmp_path / "db.sqlite"),
         "--repo-timeout", "1", *where, "--format", "json", "-o", str(out), "-q"]
    )  # fmt: skip
    took = time.monotonic() - started
    assert code == ExitCode.INCOMPLETE
    rows = {r["repository"]: r for r in json.loads(out.read_text())["repositories"]}
    assert set(rows) == {str(big), *map(str, small)}
    assert rows[str(big)]["failure"] == "timed out after 1 s (--repo-timeout)"
    assert rows[str(big)]["duration_s"] < 5
    assert took < 30


def test_a_helper_that_died_is_replaced(tmp_path: Path) -> None:
    """The helper process behind --repo-timeout: one that died while idle is replaced
    without costing the next repository anything; one killed in the middle of an audit
    fails that repository with the reason, and the next one gets a new helper."""
    import signal

    from keysentry.fleet import isolate
    from keysentry.fleet.spec import AuditSettings, TaskSpec
    from keysentry.fleet.targets import Target
    from keysentry.fleet.task import audit_repository

    clean = clean_fleet(tmp_path / "fleet")
    big = slow_repository(tmp_path / "big")
    settings = AuditSettings(tmp_path / "clones", timeout=60)
    spec = TaskSpec(Target(str(clean[0])), settings)
    assert not audit_repository(spec).failure
    first = isolate._local.helper.pid
    assert not audit_repository(TaskSpec(Target(str(clean[1])), settings)).failure
    assert isolate._local.helper.pid == first  # reused, not one process per repository

    os.kill(first, signal.SIGKILL)
    time.sleep(0.2)
    assert not audit_repository(spec).failure
    second = isolate._local.helper.pid
    assert second != first

    threading.Timer(1.0, os.kill, (second, signal.SIGKILL)).start()
    outcome = audit_repository(TaskSpec(Target(str(big)), settings))
    assert outcome.failure == "the audit process failed (exit status -9)"
    assert outcome.digest == ""  # not the repository's doing: retried by the next run
    assert not audit_repository(spec).failure
    assert isolate._local.helper.pid not in (first, second)

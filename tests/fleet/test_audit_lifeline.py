"""``kill -9`` of the ``audit`` driver: its worker processes (which hold raw keys in
memory), the ``--repo-timeout`` helpers and every git process they started die with it.
A real audit of a fleet that never ends (git:// servers that never answer), a real
SIGKILL, and /proc read for what is left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import GIT_ENV
from fleethelpers import SilentServer

LIMIT = 30.0
"""How long the processes may take to go (they go in well under a second)."""


def session(sid: int) -> dict[int, str]:
    """pid -> command name of every process in session ``sid``."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_bytes()
        except OSError:
            continue
        head, _, rest = text.rpartition(b")")
        fields = rest.split()
        # state ppid pgrp session ...; a zombie is already dead.
        if len(fields) > 3 and int(fields[3]) == sid and fields[0] != b"Z":
            found[int(entry)] = head.partition(b"(")[2].decode(errors="replace")
    return found


def wait_for(predicate, limit: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return bool(predicate())


@pytest.mark.parametrize("timeout", [None, "600"], ids=["workers", "helpers"])
def test_workers_helpers_and_git_die_with_the_driver(tmp_path: Path, timeout: str | None) -> None:
    servers = [SilentServer() for _ in range(2)]
    try:
        urls = [f"git://127.0.0.1:{s.port}/hang{i}.git" for i, s in enumerate(servers)]
        extra = ["--repo-timeout", timeout] if timeout else []
        driver = subprocess.Popen(
            [str(Path(sys.executable).with_name("keysentry")), "audit", *urls, "--jobs", "2",
             "--db", str(tmp_path / "db"), "--clone-dir", str(tmp_path / "clones"), "-q",
             *extra],
            cwd=tmp_path, env={**os.environ, **GIT_ENV}, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,  # its session id names every process it starts
        )  # fmt: skip
        try:
            # Running: both clones connected, so the workers (and helpers) and git are up.
            assert wait_for(lambda: all(s.accepted for s in servers), LIMIT)
            before = session(driver.pid)
            assert sum(name == "git" for name in before.values()) >= 2, before
            assert len(before) >= 5, before  # driver, forkserver, 2 workers, git...
            driver.send_signal(signal.SIGKILL)
            driver.wait(timeout=LIMIT)
            gone = wait_for(lambda: not session(driver.pid), LIMIT)
            assert gone, f"still running after the driver was killed: {session(driver.pid)}"
            assert wait_for(lambda: len(servers[0].closed) + len(servers[1].closed) == 2, LIMIT)
        finally:
            for pid in session(driver.pid):
                os.kill(pid, signal.SIGKILL)
            if driver.poll() is None:
                driver.kill()
                driver.wait(timeout=LIMIT)
    finally:
        for server in servers:
            server.close()


def parent_of(pid: int) -> int:
    text = Path(f"/proc/{pid}/stat").read_bytes()
    return int(text.rpartition(b")")[2].split()[1])


def test_a_helper_and_its_git_die_with_its_worker(tmp_path: Path) -> None:
    """A worker killed alone (the kernel's out-of-memory killer, say) while its
    ``--repo-timeout`` helper clones: the helper, which holds raw keys too, and the git it
    started do not outlive it."""
    server = SilentServer()
    try:
        driver = subprocess.Popen(
            [str(Path(sys.executable).with_name("keysentry")), "audit",
             f"git://127.0.0.1:{server.port}/hang.git", "--jobs", "1", "--repo-timeout", "600",
             "--db", str(tmp_path / "db"), "--clone-dir", str(tmp_path / "clones"), "-q"],
            cwd=tmp_path, env={**os.environ, **GIT_ENV}, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            assert wait_for(lambda: server.accepted, LIMIT)
            gits = [pid for pid, name in session(driver.pid).items() if name == "git"]
            assert gits, session(driver.pid)
            helper = parent_of(gits[0])
            worker = parent_of(helper)
            assert worker not in (driver.pid, 1), "the clone does not run in a helper"
            os.kill(worker, signal.SIGKILL)
            left = {helper, *gits}
            assert wait_for(lambda: not left & set(session(driver.pid)), LIMIT), (
                f"outlived their worker: {left & set(session(driver.pid))}"
            )
            assert wait_for(lambda: server.closed, LIMIT)
        finally:
            for pid in session(driver.pid):
                os.kill(pid, signal.SIGKILL)
            if driver.poll() is None:
                driver.kill()
                driver.wait(timeout=LIMIT)
    finally:
        server.close()

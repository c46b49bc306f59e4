"""Shared fixtures. Keys are always built at run time: no key-shaped literal is committed."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from keysentry.progress import CI_VARIABLES

PREFIX = "sk-or-" + "v1-"


def make_key() -> str:
    return PREFIX + secrets.token_hex(32)


@pytest.fixture
def key() -> str:
    return make_key()


@pytest.fixture
def keys() -> Callable[[int], list[str]]:
    return lambda n: [make_key() for _ in range(n)]


GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.test",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.test",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00+00:00",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00+00:00",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


CHROMIUM = Path("/usr/bin/chromium")
BROWSER_MISSING = (
    f"{CHROMIUM} is missing: the HTML report's browser tests need Debian's headless Chromium; "
    "install it with `apt-get update && apt-get install -y chromium`"
)


def _browser_left_out() -> bool:
    """On a developer's machine without Chromium the tests that drive it are left out, and
    one line says so; under CI (``CI`` set) they run, and fail."""
    strict = os.environ.get("CI", "").lower() not in ("", "0", "false")
    return not strict and not CHROMIUM.exists()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _browser_left_out():
        browser = [item for item in items if "browser" in getattr(item, "fixturenames", ())]
        config.hook.pytest_deselected(items=browser)
        items[:] = [item for item in items if item not in browser]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _browser_left_out():
        terminalreporter.write_line(f"browser tests not run: {BROWSER_MISSING}")


@pytest.fixture(autouse=True)
def _isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No test reaches the real API, a user cache, the user's git configuration, or
    this repository's own .keysentry.toml (tests run from an empty directory)."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OPENROUTER_BASE_URL", "http://127.0.0.1:9/api/v1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("OPENROUTER_MANAGEMENT_KEY", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    for name in CI_VARIABLES:  # a CI job's checkout counts as pushed: tests set it themselves
        monkeypatch.delenv(name, raising=False)


def git(cwd: Path, *args: str, input: bytes | None = None) -> str:
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        check=False,
        env={**os.environ, **GIT_ENV},
        timeout=300,
    )
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr.decode()}")
    return proc.stdout.decode()


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    yield path


@pytest.fixture
def scheduler() -> Iterator[str]:
    """The address of a real Dask cluster on loopback: a LocalCluster of 2 worker
    processes, one thread each (skipped without the distributed extra)."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    )  # fmt: skip
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()

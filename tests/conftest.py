"""Shared fixtures. Keys are always built at run time: no key-shaped literal is committed."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from keysentry.console.progress import CI_VARIABLES

TESTS = Path(__file__).resolve().parent
"""The test suite's folder: helpers and data live here, each area's tests in a folder below."""
ROOT = TESTS.parent
"""The repository's root."""

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
TOOLS: dict[str, tuple[Callable[[], str | None], str]] = {
    "chromium": (
        lambda: str(CHROMIUM) if CHROMIUM.exists() else None,
        f"the HTML report's browser tests need Debian's headless Chromium at {CHROMIUM}: "
        "`apt-get install -y chromium`",
    ),
    "soffice": (
        lambda: shutil.which("soffice") or shutil.which("libreoffice"),
        "the RTF tests convert Word documents with LibreOffice: "
        "`apt-get install -y libreoffice-writer-nogui`",
    ),
    "node": (
        lambda: shutil.which("node"),
        "the fixed JavaScript programs are run with Node.js: `apt-get install -y nodejs`",
    ),
    "javac": (
        lambda: shutil.which("javac"),
        "the fixed Java programs are compiled and run: `apt-get install -y default-jdk-headless`",
    ),
    "openssl": (
        lambda: shutil.which("openssl"),
        "the TLS tests make a certificate with openssl: `apt-get install -y openssl`",
    ),
}
"""Programs some tests run that a developer's machine may lack (``.ci/run`` installs them)."""


def tool(name: str) -> str:
    """The path of tool ``name`` for a test marked ``@pytest.mark.needs(name)``."""
    path = TOOLS[name][0]()
    assert path is not None, TOOLS[name][1]
    return path


def unavailable(reason: str) -> None:
    """Something a test needs from outside (the package index, say) is not there: the test
    is skipped on a developer's machine and fails under CI, which must never pass without
    having run it."""
    if _strict():
        pytest.fail(f"{reason} (CI never skips this test)", pytrace=False)
    pytest.skip(reason)


def _strict() -> bool:
    """Under CI (``CI`` set) a missing tool fails its tests; elsewhere they are left out."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def _missing() -> dict[str, str]:
    return {name: why for name, (find, why) in TOOLS.items() if find() is None}


FIXTURE_TOOLS = {"browser": "chromium", "self_signed": "openssl"}
"""A test that uses one of these fixtures needs that tool, marked or not."""


def _needs(item: pytest.Item) -> set[str]:
    names = {arg for mark in item.iter_markers("needs") for arg in mark.args}
    names |= {t for f, t in FIXTURE_TOOLS.items() if f in getattr(item, "fixturenames", ())}
    unknown = names - TOOLS.keys()
    assert not unknown, f"{item.nodeid}: unknown tool(s) {sorted(unknown)}"
    return names


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _strict():
        return
    missing = _missing()
    left_out = [item for item in items if _needs(item) & missing.keys()]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]


def pytest_runtest_setup(item: pytest.Item) -> None:
    absent = _needs(item) & _missing().keys()
    if absent:  # only under CI: elsewhere these tests were left out at collection
        pytest.fail(
            "; ".join(f"{name} is missing: {TOOLS[name][1]}" for name in sorted(absent))
            + " (.ci/run installs it). CI never skips these tests.",
            pytrace=False,
        )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _strict():
        for name, why in sorted(_missing().items()):
            terminalreporter.write_line(f"tests that need {name} not run: {why}")


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

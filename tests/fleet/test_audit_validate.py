"""``keysentry audit --validate``: the driver probes each distinct key once across the fleet,
also when some repositories come from the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import git
from fake_openrouter import FakeOpenRouter, fake_openrouter_fixture
from gitrepo_helpers import commit
from keysentry.cli import main
from keysentry.errors import ExitCode

fake = fake_openrouter_fixture()


def repo(path: Path, text: str) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q")
    commit(path, {"k.env": text})
    return path


def audit(tmp_path: Path, *args: str) -> tuple[int, dict]:
    out = tmp_path / "out.json"
    code = main(
        ["audit", *args, "--db", str(tmp_path / "db.sqlite"), "--jobs", "2", "--no-cache",
         "--format", "json", "-o", str(out), "-q"]
    )  # fmt: skip
    return code, json.loads(out.read_text())


def test_each_key_is_probed_once_across_the_fleet(
    fake: FakeOpenRouter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENROUTER_BASE_URL", fake.base_url)
    live = fake.add_key()
    root = tmp_path / "fleet"
    for name in ("a", "b", "c"):
        repo(root / name, f"K={live}\n")
    code, report = audit(tmp_path, str(root), "--validate")
    assert code == ExitCode.FINDINGS
    (finding,) = report["findings"]
    assert finding["validation"]["status"] == "live"
    assert len(finding["locations"]) == 3
    assert len(fake.requests_for(live)) == 1


def test_resumed_repositories_keep_their_validation(
    fake: FakeOpenRouter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENROUTER_BASE_URL", fake.base_url)
    live = fake.add_key()
    root = tmp_path / "fleet"
    repo(root / "a", f"K={live}\n")
    # First without --validate: the store holds the finding, not its key.
    audit(tmp_path, str(root))
    code, report = audit(tmp_path, str(root), "--validate")
    assert report["findings"][0]["validation"]["status"] == "live"
    # Resumed again with --validate: the stored outcome serves, nothing is probed again.
    before = len(fake.requests_for(live))
    code, again = audit(tmp_path, str(root), "--validate")
    assert again["findings"][0]["validation"]["status"] == "live"
    assert len(fake.requests_for(live)) == before
    assert code == ExitCode.FINDINGS

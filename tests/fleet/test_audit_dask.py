"""``keysentry audit --scheduler``: the same task function on a real Dask cluster on loopback
(two worker processes) finds exactly what the local worker processes find."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import git, make_key
from gitrepo_helpers import commit
from keysentry.cli import main
from keysentry.errors import ExitCode

pytest.importorskip("distributed")  # the whole module needs the distributed extra


def run(tmp_path: Path, name: str, *args: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / f"{name}.json"
    code = main(
        ["audit", *args, "--db", str(tmp_path / f"{name}.sqlite"),
         "--clone-dir", str(tmp_path / f"{name}-clones"), "--format", "json", "-o", str(out), "-q"]
    )  # fmt: skip
    return code, json.loads(out.read_text())


@pytest.mark.slow
def test_dask_finds_what_local_processes_find(tmp_path: Path, scheduler: str) -> None:
    root = tmp_path / "fleet"
    keys = [make_key() for _ in range(3)]
    for i in range(5):
        repo = root / f"r{i}"
        repo.mkdir(parents=True)
        git(repo, "init", "-q")
        commit(repo, {"k.env": f"K={keys[i % 3]}\n", "other.txt": f"{i}\n"})
    (root / "broken").mkdir()
    (root / "broken" / ".git").write_text("gitdir: /nonexistent\n")
    url = (root / "r1").as_uri()
    local_code, local = run(tmp_path, "local", str(root), url, "--jobs", "2")
    dask_code, remote = run(tmp_path, "dask", str(root), url, "--scheduler", scheduler)
    assert local_code == dask_code == ExitCode.FINDINGS
    assert len(remote["findings"]) == 3
    assert remote["findings"] == local["findings"]
    strip = lambda rows: [{k: v for k, v in r.items() if k != "duration_s"} for r in rows]  # noqa: E731
    assert strip(remote["repositories"]) == strip(local["repositories"])
    assert any(r["failure"] for r in remote["repositories"])


def test_an_unreachable_scheduler_is_a_usage_error(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q")
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = main(
            ["audit", str(repo), "--db", str(tmp_path / "db"), "--scheduler",
             "tcp://127.0.0.1:9", "-q"]
        )  # fmt: skip
    assert code == ExitCode.USAGE

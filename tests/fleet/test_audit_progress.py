"""The audit's progress display: a row per repository in flight, counts as they finish."""

from __future__ import annotations

import io
from pathlib import Path

from keysentry.cli.fleet_progress import _Display
from keysentry.fleet.spec import RepoOutcome


def test_rows_follow_the_repositories_in_flight() -> None:
    from rich.console import Console
    from rich.progress import Progress, TextColumn

    out = io.StringIO()
    bar = Progress(
        TextColumn("{task.description} {task.fields[info]}"),
        console=Console(file=out, force_terminal=True, width=200),
    )
    shown = _Display(bar, total=3)
    shown.stage("https://example.test/a.git", "cloning: receiving 40%")
    shown.stage("/srv/b", "scanning")
    descriptions = [t.fields["info"] for t in bar.tasks]
    assert "cloning: receiving 40%" in descriptions and "scanning" in descriptions
    assert bar.tasks[0].fields["info"].startswith("2 in flight, 0 failed")
    shown.done(RepoOutcome("/srv/b", counters={"blobs": 3, "bytes": 2048}))
    shown.done(RepoOutcome("https://example.test/a.git", failure="cannot clone"))
    assert len(bar.tasks) == 1
    main = bar.tasks[0]
    assert main.completed == 2
    assert main.fields["info"].startswith("0 in flight, 1 failed, 0 unchanged; 3 objects, 2.0 KiB")


def test_the_local_workers_say_what_each_repository_is_doing(tmp_path: Path) -> None:
    """The stages travel from the worker processes to the driver's display."""
    from conftest import git
    from keysentry.fleet.executors import run_local
    from keysentry.fleet.spec import AuditSettings, TaskSpec
    from keysentry.fleet.targets import Target

    specs = []
    for name in ("a", "b"):
        repo = tmp_path / name
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        (repo / "f.txt").write_text("x\n")
        git(repo, "add", "f.txt")
        git(repo, "commit", "-q", "-m", "c")
        specs.append(TaskSpec(Target(str(repo)), AuditSettings(tmp_path / "clones")))
    heard: list[tuple[str, str]] = []
    outcomes = list(run_local(specs, 2, lambda repo, what: heard.append((repo, what))))
    assert sorted(o.name for o in outcomes) == sorted(s.target.name for s in specs)
    for spec in specs:
        assert (spec.target.name, "scanning") in heard

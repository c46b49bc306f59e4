"""A resume over every layout the state reads differently: the ref files (a work tree, a
bare repository), git (a linked worktree), the layout signature (a dangling ``.git``
file) and a FIFO among the refs. The driver's check and the worker's state agree, so an
unchanged repository is skipped; a change to one audits that one again."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import git, make_key
from gitrepo_helpers import commit
from keysentry.fleet.run import AuditPlan, run_audit
from keysentry.fleet.spec import AuditSettings, RepoOutcome
from keysentry.fleet.targets import expand


class Heard:
    """Each repository's outcome, as the progress display hears it."""

    def __init__(self) -> None:
        self.outcomes: dict[str, RepoOutcome] = {}

    def done(self, outcome: RepoOutcome) -> None:
        self.outcomes[outcome.name] = outcome

    def stage(self, repository: str, what: str) -> None:
        pass


def layouts(root: Path) -> dict[str, Path]:
    key = make_key()
    plain = root / "plain"
    plain.mkdir(parents=True)
    git(plain, "init", "-q", "-b", "main")
    commit(plain, {"k.env": f"K={key}\n"})
    git(root, "clone", "-q", "--bare", str(plain), "bare.git")
    linked = root / "linked"
    git(plain, "worktree", "add", "-q", "-b", "side", str(linked))
    dangling = root / "dangling"
    dangling.mkdir()
    (dangling / ".git").write_text(f"gitdir: {root / 'nowhere'}\n")
    fifo = root / "fifo"
    fifo.mkdir()
    git(fifo, "init", "-q", "-b", "main")
    commit(fifo, {"a.txt": "one\n"})
    os.mkfifo(fifo / ".git" / "refs" / "heads" / "planted")
    return {
        "plain": plain,
        "bare": root / "bare.git",
        "linked": linked,
        "dangling": dangling,
        "fifo": fifo,
    }


def audited(root: Path, db: Path, **settings: object) -> set[str]:
    """Run the audit; the names of the repositories it audited (not skipped)."""
    heard = Heard()
    targets = tuple(expand([str(root)], 3)[0])
    plan = AuditPlan(targets, AuditSettings(db.parent / "clones", **settings), db, jobs=1)  # type: ignore[arg-type]
    run_audit(plan, heard)
    return {name for name, outcome in heard.outcomes.items() if not outcome.unchanged}


@pytest.fixture
def fleet(tmp_path: Path) -> tuple[Path, dict[str, Path], Path]:
    root = tmp_path / "fleet"
    repos = layouts(root)
    db = tmp_path / "db.sqlite"
    assert audited(root, db) == {str(p) for p in repos.values()}
    return root, repos, db


def test_an_unchanged_fleet_is_skipped_whatever_its_layouts(fleet) -> None:
    root, _repos, db = fleet
    assert audited(root, db) == set()


CHANGES = {
    "plain": lambda p: git(p, "tag", "v1"),
    "bare": lambda p: git(p, "update-ref", "refs/heads/other", "main"),
    "linked": lambda p: commit(p, {"b.txt": "side\n"}),
    "dangling": lambda p: (p / ".git").write_text("gitdir: /nowhere/else\n"),
    "fifo": lambda p: (p / ".git" / "refs" / "heads" / "planted").unlink(),
}


@pytest.mark.parametrize("which", list(CHANGES))
def test_a_change_audits_that_repository_again(fleet, which: str) -> None:
    root, repos, db = fleet
    CHANGES[which](repos[which])
    again = audited(root, db)
    # The linked worktree's refs are the plain repository's: a change to one is both's.
    expected = {"plain", "linked"} if which in ("plain", "linked") else {which}
    assert again == {str(repos[name]) for name in expected}
    assert audited(root, db) == set()


@pytest.mark.parametrize("name", ["pyproject.toml", ".keysentry.toml"])
def test_a_configuration_file_audits_its_repository_again(fleet, name: str) -> None:
    root, repos, db = fleet
    (repos["plain"] / name).write_text("# not committed\n")
    assert audited(root, db) == {str(repos["plain"])}


def test_a_setting_or_a_file_it_names_audits_everything_again(fleet, tmp_path: Path) -> None:
    root, repos, db = fleet
    everything = {str(p) for p in repos.values()}
    assert audited(root, db, messages=False) == everything
    assert audited(root, db, messages=False) == set()
    baseline = tmp_path / "baseline.json"
    baseline.write_text('{"version": 1, "findings": []}\n')
    assert audited(root, db, messages=False, baseline=baseline) == everything
    assert audited(root, db, messages=False, baseline=baseline) == set()
    baseline.write_text('{"version": 1, "findings": [] }\n')
    assert audited(root, db, messages=False, baseline=baseline) == everything

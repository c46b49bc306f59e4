"""`keysentry history --range BASE..HEAD` / `--since REV`: only what a range introduced."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import git, make_key
from gitrepo_helpers import commit, locations, only, run, write
from keysentry.errors import ExitCode


@dataclass
class Repo:
    path: Path
    base: str
    old: str
    """In a file at BASE (and still in HEAD): not a new leak of the range."""
    new: str
    """Added by the range's first commit."""
    message: str
    """In the message of a commit in the range."""
    old_message: str
    """In the message of a commit before BASE."""
    first: str
    """The range's first commit."""


@pytest.fixture
def ranged(repo: Path) -> Repo:
    old, new, message, old_message = (make_key() for _ in range(4))
    commit(repo, {"old.env": f"K={old}\n"}, f"start\n\n{old_message}")
    base = commit(repo, {"README": "hi\n"}, "base")
    first = commit(repo, {"app.py": f"k = '{new}'\n"}, "feature")
    commit(repo, {"app.py": "k = None\n", "old.env": f"K={old}\nX=1\n"}, f"tidy {message}")
    return Repo(repo, base, old, new, message, old_message, first)


def history(tmp_path: Path, r: Repo, *args: str) -> dict:
    code, report = run(tmp_path, "history", str(r.path), *args)
    assert code in (ExitCode.CLEAN, ExitCode.FINDINGS), report
    return report


def test_range_reports_only_what_it_introduced(tmp_path: Path, ranged: Repo) -> None:
    report = history(tmp_path, ranged, "--range", f"{ranged.base}..HEAD")
    loc = only(report, ranged.new)
    assert loc["commit"]["id"] == ranged.first
    assert only(report, ranged.message)["source"] == "commit-message"
    # old.env changed in the range, but the key in it was there before BASE.
    assert locations(report, ranged.old) == []
    assert locations(report, ranged.old_message) == []
    assert report["stats"]["counters"]["commits"] == 2
    assert any(f"{ranged.base}..HEAD" in n for n in report["stats"]["notes"])


def test_since_is_the_same_as_a_range_to_head(tmp_path: Path, ranged: Repo) -> None:
    report = history(tmp_path, ranged, "--since", ranged.base)
    assert only(report, ranged.new)["commit"]["id"] == ranged.first
    assert locations(report, ranged.old) == []


def test_range_that_excludes_the_key(tmp_path: Path, ranged: Repo) -> None:
    report = history(tmp_path, ranged, "--range", f"{ranged.first}..HEAD")
    assert locations(report, ranged.new) == []  # added before this range started
    assert only(report, ranged.message)  # the message is still in it


def test_range_with_a_merge(tmp_path: Path, repo: Path) -> None:
    on_branch, in_resolution = make_key(), make_key()
    base = commit(repo, {"conf.py": "x = 1\n"})
    git(repo, "switch", "-q", "-c", "side")
    side = commit(repo, {"side.py": f"k = '{on_branch}'\n"}, "side work")
    git(repo, "switch", "-q", "main")
    commit(repo, {"main.py": "pass\n"}, "main work")
    git(repo, "merge", "-q", "--no-commit", "side")
    write(repo, {"conf.py": f"x = '{in_resolution}'\n"})
    git(repo, "add", "conf.py")
    git(repo, "commit", "-q", "-m", "merge side")
    report = history(tmp_path, Repo(repo, base, "", "", "", "", ""), "--range", f"{base}..HEAD")
    assert only(report, on_branch)["commit"]["id"] == side
    assert only(report, in_resolution)["path"] == "conf.py"


@pytest.mark.parametrize("spec", ["HEAD", "HEAD~1", "main", "HEAD^@"])
def test_a_single_revision_is_not_a_range(tmp_path: Path, ranged: Repo, capsys, spec) -> None:
    # It would scan everything the revision reaches while the summary said "only what
    # it introduced": an error that says how to write what was probably meant.
    code, report = run(tmp_path, "history", str(ranged.path), "--range", spec)
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE and report == {}, report
    assert f"--range {spec!r} names commits, not a range" in err
    assert "BASE..HEAD" in err and "^!" in err


@pytest.mark.parametrize("spec", ["HEAD~1^!", "HEAD^-", "HEAD~2...HEAD"])
def test_other_range_notations(tmp_path: Path, ranged: Repo, spec: str) -> None:
    report = history(tmp_path, ranged, "--range", spec)
    assert locations(report, ranged.old) == []  # before every one of these ranges


def test_bad_ranges_are_usage_errors(tmp_path: Path, ranged: Repo, capsys) -> None:
    for args in (
        ["--range", "nope..HEAD"],
        ["--range", "--all"],
        ["--range", "HEAD~1..HEAD", "--since", "HEAD~1"],
    ):
        code, _ = run(tmp_path, "history", str(ranged.path), *args)
        assert code == ExitCode.USAGE, args
    assert "nope..HEAD" in capsys.readouterr().err


def test_since_needs_a_commit(tmp_path: Path, repo: Path) -> None:
    code, _ = run(tmp_path, "history", str(repo), "--since", "HEAD")
    assert code == ExitCode.USAGE


def test_range_in_a_partial_clone_never_fetches(tmp_path: Path, ranged: Repo) -> None:
    git(ranged.path, "config", "uploadpack.allowFilter", "true")
    clone = tmp_path / "partial"
    git(tmp_path, "clone", "-q", "--filter=blob:none", f"file://{ranged.path}", str(clone))
    marker = tmp_path / "fetched"
    git(clone, "remote", "set-url", "origin", f"ext::sh -c touch% {marker}")
    git(clone, "config", "protocol.ext.allow", "always")
    code, report = run(tmp_path, "history", str(clone), "--range", f"{ranged.base}..HEAD")
    assert code == ExitCode.FINDINGS
    assert only(report, ranged.message)  # commits are there
    assert locations(report, ranged.new) == []  # its blob is not: counted, not fetched
    assert report["stats"]["counters"]["missing_objects"] >= 1
    assert not marker.exists()


def test_a_key_moved_in_the_range_is_not_new(tmp_path: Path, repo: Path, key: str) -> None:
    commit(repo, {"conf/old.py": f"KEY = '{key}'\n" + "".join(f"x{i} = {i}\n" for i in range(20))})
    base = commit(repo, {"README": "hi\n"})
    (repo / "settings").mkdir()
    git(repo, "mv", "conf/old.py", "settings/new.py")
    commit(repo, {"settings/new.py": (repo / "settings/new.py").read_text() + "y = 1\n"}, "move")
    report = history(tmp_path, Repo(repo, base, "", "", "", "", ""), "--range", f"{base}..HEAD")
    assert locations(report, key) == []
    assert report["stats"]["counters"]["not_new_in_range"] == 1

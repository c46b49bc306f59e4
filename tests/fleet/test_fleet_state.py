"""The refs state a resume compares (keysentry.fleet.state), on real repositories: read
from the ref files without git, it changes whenever a ref changes, agrees with itself
when nothing did, and gives way to git (or to a layout signature) where the files are
not the whole story."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import git
from gitrepo_helpers import commit, head
from keysentry.fleet.state import files_digest, git_digest, layout_signature, refs_state


def both(path: Path) -> tuple[str, str]:
    fast = files_digest(path)
    assert fast is not None
    return fast, git_digest(path)


def packed(repo: Path) -> None:
    git(repo, "pack-refs", "--all", "--prune")


def move_packed_main(repo: Path) -> None:
    """Pack every ref, then point the (packed) main at a commit it never pointed at."""
    packed(repo)
    new = git(repo, "commit-tree", "-p", "main", "-m", "moved", "main^{tree}").strip()
    git(repo, "update-ref", "refs/heads/main", new)


STEPS: list[tuple[str, Callable[[Path], object]]] = [
    ("a commit moves the branch", lambda r: commit(r, {"b.txt": "more\n"})),
    ("a new branch", lambda r: git(r, "branch", "topic", "HEAD~1")),
    ("a lightweight tag", lambda r: git(r, "tag", "v1")),
    ("an annotated tag", lambda r: git(r, "tag", "-a", "-m", "t", "v2")),
    ("HEAD on another branch", lambda r: git(r, "checkout", "-q", "topic")),
    ("a detached HEAD", lambda r: git(r, "checkout", "-q", "--detach", "HEAD~1")),
    ("a remote-tracking ref", lambda r: git(r, "update-ref", "refs/remotes/o/x", "HEAD")),
    ("a branch deleted", lambda r: git(r, "branch", "-D", "topic")),
    ("refs packed, then a packed ref moved", move_packed_main),
    ("a packed ref deleted (packed-refs rewritten only)", lambda r: git(r, "tag", "-d", "v2")),
    ("a ref in a nested namespace", lambda r: git(r, "update-ref", "refs/pull/7/head", "main")),
    ("a stash", lambda r: (r.joinpath("a.txt").write_text("dirty\n"), git(r, "stash", "-q"))),
]


@pytest.mark.parametrize("bare", [False, True], ids=["work tree", "bare"])
def test_every_ref_change_changes_the_digest(tmp_path: Path, bare: bool) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, {"a.txt": "one\n"})
    commit(repo, {"a.txt": "two\n"})
    if bare:
        git(tmp_path, "clone", "-q", "--mirror", str(repo), "mirror.git")
        target = tmp_path / "mirror.git"
    else:
        target = repo
    fast, slow = both(target)
    seen_fast, seen_git = {fast}, {slow}
    for what, step in STEPS:
        if bare and what in ("HEAD on another branch", "a detached HEAD", "a stash"):
            continue  # no work tree to check out or stash
        step(repo)
        if bare:
            git(target, "fetch", "-q", "--prune", "origin", "+refs/*:refs/*")
        fast, slow = both(target)
        assert slow not in seen_git, f"{what}: the step changed no ref"
        assert fast not in seen_fast, what
        # Nothing changed since: the same digest, however often it is read.
        assert both(target) == (fast, slow), what
        assert refs_state(target) == fast
        seen_fast.add(fast)
        seen_git.add(slow)


def test_nothing_but_the_work_tree_changed(repo: Path) -> None:
    commit(repo, {"a.txt": "one\n"})
    before = both(repo)
    (repo / "a.txt").write_text("edited, not committed\n")
    (repo / "new.txt").write_text("untracked\n")
    git(repo, "add", "new.txt")
    git(repo, "status", "--porcelain")
    assert both(repo) == before


def test_a_linked_worktree_is_left_to_git(repo: Path, tmp_path: Path) -> None:
    commit(repo, {"a.txt": "one\n"})
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", "-b", "side", str(linked))
    assert files_digest(linked) is None  # its refs live in the main repository
    before = refs_state(linked)
    assert before == git_digest(linked)
    commit(linked, {"b.txt": "side\n"})
    assert refs_state(linked) != before
    # Its HEAD lives in the main repository's worktrees/: the main one's digest stays
    # a files digest, and moves with the branch the linked worktree committed to.
    assert files_digest(repo) is not None


@pytest.mark.parametrize(
    "odd",
    ["reftable config", "include in config", "symbolic link among the refs", "git file"],
)
def test_odd_layouts_are_left_to_git(repo: Path, tmp_path: Path, odd: str) -> None:
    commit(repo, {"a.txt": "one\n"})
    assert files_digest(repo) is not None
    if odd == "reftable config":
        with (repo / ".git" / "config").open("a") as config:
            config.write("[extensions]\n\trefStorage = reftable\n")
    elif odd == "include in config":
        (tmp_path / "extra.cfg").write_text("[core]\n")
        git(repo, "config", "include.path", str(tmp_path / "extra.cfg"))
    elif odd == "symbolic link among the refs":
        (repo / ".git" / "refs" / "heads" / "alias").symlink_to("main")
    else:
        (repo / ".git").rename(tmp_path / "moved.git")
        (repo / ".git").write_text(f"gitdir: {tmp_path / 'moved.git'}\n")
    assert files_digest(repo) is None
    assert refs_state(repo) != ""


def test_unreadable_refs_get_a_layout_signature_that_a_repair_changes(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / ".git").write_text("gitdir: /nonexistent/elsewhere\n")
    state = refs_state(broken)
    assert state.startswith("layout:")
    assert refs_state(broken) == state
    real = tmp_path / "real"
    real.mkdir()
    git(real, "init", "-q", "-b", "main")
    commit(real, {"a.txt": "one\n"})
    (broken / ".git").write_text(f"gitdir: {real / '.git'}\n")
    repaired = refs_state(broken)
    assert repaired != state
    assert not repaired.startswith("layout:")
    missing = tmp_path / "missing"
    absent = refs_state(missing)
    assert absent == layout_signature(missing)
    missing.mkdir()
    assert refs_state(missing) != absent


def test_the_digest_follows_head_through_a_symbolic_ref(repo: Path) -> None:
    first = commit(repo, {"a.txt": "one\n"})
    before = both(repo)
    second = commit(repo, {"a.txt": "two\n"})
    assert head(repo) == second != first
    assert both(repo) != before
    git(repo, "reset", "-q", "--hard", first)
    assert both(repo) == before  # the same refs again: the same state

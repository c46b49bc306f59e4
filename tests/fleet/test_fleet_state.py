"""The refs state a resume compares (keysentry.fleet.state), on real repositories: read
from the ref files without git, it changes whenever a ref changes, agrees with itself
when nothing did, and gives way to git (or to a layout signature) where the files are
not the whole story."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import git
from gitrepo_helpers import commit, head
from keysentry.fleet.state import (
    files_digest,
    git_digest,
    layout_signature,
    refs_state,
    special_files,
)


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
    ("a branch renamed", lambda r: git(r, "branch", "-m", "topic", "renamed")),
    ("a branch deleted", lambda r: git(r, "branch", "-D", "renamed")),
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


def test_a_ref_update_in_flight_changes_nothing(repo: Path) -> None:
    """git's ``.lock`` files are an update not yet made: neither state counts them."""
    commit(repo, {"a.txt": "one\n"})
    before = both(repo)
    lock = repo / ".git" / "refs" / "heads" / "main.lock"
    lock.write_text(head(repo) + "\n")
    assert both(repo) == before
    lock.unlink()


def test_a_fifo_among_the_loose_refs_is_read_without_waiting(repo: Path) -> None:
    """A FIFO where a ref should be: its kind stands in for its contents (git would wait
    on it forever; the resume must not), and the repository is reported, not scanned."""
    commit(repo, {"a.txt": "one\n"})
    fast = files_digest(repo)
    (repo / ".git" / "refs" / "heads" / "planted").write_text(head(repo) + "\n")
    as_file = files_digest(repo)
    (repo / ".git" / "refs" / "heads" / "planted").unlink()
    os.mkfifo(repo / ".git" / "refs" / "heads" / "planted")
    as_fifo = files_digest(repo)
    assert as_fifo is not None and len({fast, as_file, as_fifo}) == 3
    assert files_digest(repo) == as_fifo
    assert special_files(repo) == ["refs/heads/planted"]


@pytest.mark.parametrize("name", ["HEAD", "packed-refs", "config"])
def test_a_fifo_git_reads_first_gets_the_layout_signature(repo: Path, name: str) -> None:
    commit(repo, {"a.txt": "one\n"})
    git(repo, "pack-refs", "--all")
    target = repo / ".git" / name
    target.unlink()
    os.mkfifo(target)
    assert files_digest(repo) == layout_signature(repo) == refs_state(repo)
    assert special_files(repo) == [name]


def test_special_files_of_layouts_git_decides(repo: Path, tmp_path: Path) -> None:
    commit(repo, {"a.txt": "one\n"})
    assert special_files(repo) == []
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", "-b", "side", str(linked))
    assert special_files(linked) == []  # a .git file: git itself is asked
    assert special_files(tmp_path / "not-a-repository") == []


def test_a_reftable_directory_is_left_to_git(repo: Path) -> None:
    """Whatever the configuration says, a ``reftable/`` directory means the ref files
    are not the whole story."""
    commit(repo, {"a.txt": "one\n"})
    assert files_digest(repo) is not None
    (repo / ".git" / "reftable").mkdir()
    assert files_digest(repo) is None


def test_a_git_directory_whose_refs_live_elsewhere(repo: Path, tmp_path: Path) -> None:
    """A ``.git`` directory with a ``commondir`` (a linked worktree's own directory moved
    in place): its branches are the common repository's, so its state follows them."""
    commit(repo, {"a.txt": "one\n"})
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", "-b", "side", str(linked))
    private = Path(git(linked, "rev-parse", "--absolute-git-dir").strip())
    (linked / ".git").unlink()
    private.rename(linked / ".git")
    (linked / ".git" / "commondir").write_text(f"{repo / '.git'}\n")
    assert files_digest(linked) is None
    before = refs_state(linked)
    commit(repo, {"b.txt": "two\n"})  # main moves in the common repository
    assert refs_state(linked) != before


def test_a_git_directory_without_refs(repo: Path) -> None:
    """git reads no repository without ``refs/``: such a one gets the layout signature,
    so that making the directory again (the repair) audits it again."""
    commit(repo, {"a.txt": "one\n"})
    git(repo, "pack-refs", "--all")
    (repo / ".git" / "refs" / "heads").rmdir()
    (repo / ".git" / "refs" / "tags").rmdir()
    (repo / ".git" / "refs").rmdir()
    broken = refs_state(repo)
    assert broken.startswith("layout:")
    (repo / ".git" / "refs").mkdir()
    assert refs_state(repo) != broken


def test_files_that_are_no_bare_repository(tmp_path: Path) -> None:
    """A HEAD and a config file without ``objects/``: no bare repository, no ref files."""
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "HEAD").write_text("ref: refs/heads/main\n")
    (odd / "config").write_text("[core]\n")
    (odd / "refs").mkdir()
    assert files_digest(odd) is None
    assert refs_state(odd).startswith("layout:")
    (odd / "objects").mkdir()
    assert files_digest(odd) is not None  # now it has a bare repository's layout


def test_a_path_that_is_a_file(tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("no repository\n")
    assert files_digest(plain) is None
    assert refs_state(plain) == layout_signature(plain)


# -- the layout signature of a repository whose refs cannot be read ---------------------

LAYOUT_NAMES = ("HEAD", "config", "commondir", "packed-refs", "refs", "objects")
"""Written out here, not imported: each entry must fail a test when it is dropped."""


def broken_pointer(tmp_path: Path, relative: bool) -> tuple[Path, Path]:
    """A work tree whose ``.git`` file points at a git directory git cannot read (its
    HEAD is garbage): (the work tree, the directory pointed at)."""
    target = tmp_path / "elsewhere.git"
    target.mkdir()
    (target / "HEAD").write_text("garbage\n")
    work = tmp_path / "work"
    work.mkdir()
    pointer = os.path.relpath(target, work) if relative else str(target)
    (work / ".git").write_text(f"gitdir: {pointer}\n")
    return work, target


def changed(place: Path) -> None:
    """Make, change or remove ``place`` (a file or a directory)."""
    if place.is_dir():
        place.rmdir()
    elif place.exists():
        place.write_text(place.read_text() + "more\n")
    else:
        place.write_text("new\n")


@pytest.mark.parametrize("name", LAYOUT_NAMES)
@pytest.mark.parametrize("where", ["the work tree", ".git", "the git directory pointed at"])
def test_each_place_of_the_layout_is_watched(tmp_path: Path, name: str, where: str) -> None:
    work, target = broken_pointer(tmp_path, relative=False)
    if where == ".git":
        (work / ".git").unlink()
        (work / ".git").mkdir()
        (work / ".git" / "HEAD").write_text("garbage\n")
    base = {"the work tree": work, ".git": work / ".git"}.get(where, target)
    before = refs_state(work)
    assert before.startswith("layout:") and refs_state(work) == before
    changed(base / name)
    assert refs_state(work) != before, (where, name)


@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "relative"])
def test_the_git_directory_a_git_file_names_is_watched(tmp_path: Path, relative: bool) -> None:
    work, target = broken_pointer(tmp_path, relative)
    before = refs_state(work)
    (target / "objects").mkdir()
    assert refs_state(work) != before


@pytest.mark.parametrize("name", ["HEAD", "commondir"])
def test_small_files_are_read_not_only_looked_at(tmp_path: Path, name: str) -> None:
    """The same size and times, other contents (``garbage`` -> ``garbagf``): HEAD and
    commondir are read."""
    work, target = broken_pointer(tmp_path, relative=False)
    place = target / name
    place.write_text("garbage\n")
    before = refs_state(work)
    rewrite_in_place(place, b"garbagf\n")
    assert refs_state(work) != before


def rewrite_in_place(place: Path, data: bytes) -> None:
    """New contents of the same size, written into the same inode, times kept."""
    st = place.stat()
    with place.open("r+b") as fh:
        fh.write(data)
    os.utime(place, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_what_the_git_file_says_is_read(tmp_path: Path) -> None:
    work, _target = broken_pointer(tmp_path, relative=False)
    other = tmp_path / "elsewherf.git"  # as long as the first name
    other.mkdir()
    (other / "HEAD").write_text("garbage\n")
    before = refs_state(work)
    text = (work / ".git").read_bytes().replace(b"elsewhere.git", b"elsewherf.git")
    rewrite_in_place(work / ".git", text)
    assert refs_state(work) != before


def test_a_large_head_is_read_only_to_its_limit(tmp_path: Path) -> None:
    """The signature reads at most 64 KiB of a file: what lies past it (same size, same
    times) changes nothing, however large a planted HEAD is."""
    work, target = broken_pointer(tmp_path, relative=False)
    (target / "HEAD").write_bytes(b"g" * 65536 + b"a")
    before = refs_state(work)
    rewrite_in_place(target / "HEAD", b"g" * 65536 + b"b")
    assert refs_state(work) == before
    rewrite_in_place(target / "HEAD", b"h" + b"g" * 65535 + b"b")
    assert refs_state(work) != before

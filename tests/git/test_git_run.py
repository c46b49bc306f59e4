"""keysentry.git.run, the module that runs git: what it tells about a repository, how it
refuses one git would hang on, how a failure reads, and what a command run under its
hardening can see. Real repositories and real git; the commands go through ``keysentry``
(in-process) wherever one reaches the behaviour."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import git, make_key
from gitrepo_helpers import commit, head, only, run
from keysentry.errors import ExitCode, GitError
from keysentry.git import run as gitio
from keysentry.git.command import HARDENING

EMPTY_BLOB = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


@contextlib.contextmanager
def stdin_holding(data: bytes) -> Iterator[None]:
    """This process's standard input (descriptor 0) is a pipe holding ``data``: a child
    that inherited it instead of getting /dev/null would read it."""
    saved = os.dup(0)
    read, write = os.pipe()
    os.write(write, data)
    os.close(write)
    os.dup2(read, 0)
    os.close(read)
    try:
        yield
    finally:
        os.dup2(saved, 0)
        os.close(saved)


# -- run_git ---------------------------------------------------------------------------------


def test_run_git_gives_git_its_input_and_nothing_else(repo: Path) -> None:
    proc = gitio.run_git(["hash-object", "--stdin"], repo, input=b"given\n")
    assert proc.stdout.decode().strip() == hashlib.sha1(b"blob 6\0given\n").hexdigest()
    with stdin_holding(b"not for git\n"):
        proc = gitio.run_git(["hash-object", "--stdin"], repo, timeout=60)
    assert proc.stdout.decode().strip() == EMPTY_BLOB  # /dev/null, not our standard input


def test_run_git_runs_in_the_directory_given(repo: Path, tmp_path: Path) -> None:
    commit(repo, {"a.txt": "one\n"})
    assert gitio.run_git(["rev-parse", "HEAD"], repo).stdout.decode().strip() == head(repo)
    os.chdir(tmp_path)  # not a repository (conftest restores the directory)
    assert gitio.run_git(["rev-parse", "HEAD"], repo).stdout.decode().strip() == head(repo)


def test_run_git_passes_the_extra_environment(repo: Path) -> None:
    commit(repo, {"a.txt": "one\n"})
    env = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "x.y", "GIT_CONFIG_VALUE_0": "z"}
    proc = gitio.run_git(["config", "--get", "x.y"], repo, env=env)
    assert proc.stdout == b"z\n"


def test_run_git_checks_unless_told_not_to(repo: Path) -> None:
    with pytest.raises(GitError, match=r"git rev-parse --verify nope failed \(exit 128\)"):
        gitio.run_git(["rev-parse", "--verify", "nope"], repo)
    proc = gitio.run_git(["rev-parse", "--verify", "nope"], repo, check=False)
    assert proc.returncode == 128 and proc.stderr == b"fatal: Needed a single revision\n"


def test_run_git_timeout_is_an_error_naming_the_command(repo: Path) -> None:
    os.mkfifo(repo / "fifo")  # git waits forever for a writer
    with pytest.raises(GitError) as caught:
        gitio.run_git(["hash-object", "fifo", "extra"], repo, timeout=1)
    assert str(caught.value) == "git hash-object fifo timed out after 1s"


def test_each_failure_names_where_git_ran(tmp_path: Path) -> None:
    """The directory in the message is the one git ran in, whichever way git was run."""
    plain = tmp_path / "plain"
    plain.mkdir()
    said = f"not a git repository: {plain}"
    with pytest.raises(gitio.NotARepositoryError) as caught:
        gitio.run_git(["rev-parse", "HEAD"], plain)
    assert str(caught.value) == said
    with gitio.GitStream(["rev-parse", "HEAD"], plain) as stream:
        stream.stdout.read()
        with pytest.raises(gitio.NotARepositoryError) as caught:
            stream.raise_if_failed(timeout=30)
        assert str(caught.value) == said
        with pytest.raises(gitio.NotARepositoryError) as caught:
            stream.finish()
        assert str(caught.value) == said


def test_run_git_in_a_missing_directory(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(GitError) as caught:
        gitio.run_git(["status"], missing)
    assert str(caught.value) == f"cannot run git in {missing}: No such file or directory"


# -- what a failure says ---------------------------------------------------------------------


def test_not_a_repository_is_a_usage_error(tmp_path: Path, capsys) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    code, _ = run(tmp_path, "history", str(plain))
    assert code == ExitCode.USAGE
    assert f"keysentry: error: not a git repository: {plain}\n" in capsys.readouterr().err
    code, _ = run(tmp_path, "history", str(plain / "missing"))
    assert code == ExitCode.USAGE
    assert f"keysentry: error: path does not exist: {plain / 'missing'}\n" in (
        capsys.readouterr().err
    )


def test_a_repository_of_another_user(tmp_path: Path, repo: Path, capsys) -> None:
    commit(repo, {"a.txt": "one\n"})
    if os.geteuid() != 0:
        pytest.skip("only root can give the repository to another user")
    os.chown(repo, 65534, 65534)
    code, _ = run(tmp_path, "history", str(repo))
    assert code == ExitCode.INCOMPLETE
    assert (
        f"keysentry: error: git refuses to read {repo}: it is owned by another user. If you "
        f"trust it, run `git config --global --add safe.directory {repo}` (or scan a copy "
        "you own)\n"
    ) in capsys.readouterr().err


CORRUPT_WORDS = ("corrupt", "inflate", "bad object", "unable to read", "fsck")
"""Written out here, not imported: each entry must fail a test when it is dropped."""


@pytest.mark.parametrize("word", CORRUPT_WORDS)
def test_each_word_of_a_corrupt_object(tmp_path: Path, word: str) -> None:
    said = f"error: {word.upper()} 1234abcd\nfatal: cannot go on"
    error = gitio.git_failure(["cat-file", "-p", "x", "y"], 128, said.encode(), tmp_path)
    assert str(error) == (
        "git cat-file -p x failed (exit 128): the repository has a corrupt or unreadable "
        f"object; `git fsck` shows which. git said: {said}"
    )


def test_a_corrupt_object_from_git_itself(repo: Path) -> None:
    commit(repo, {"a.txt": "hello\n"})
    blob = git(repo, "rev-parse", "HEAD:a.txt").strip()
    loose = repo / ".git" / "objects" / blob[:2] / blob[2:]
    loose.chmod(0o644)
    loose.write_bytes(b"not zlib at all")
    with pytest.raises(GitError, match="has a corrupt or unreadable object; `git fsck`"):
        gitio.run_git(["cat-file", "blob", blob], repo)


def test_other_failures_quote_git_cut_short(tmp_path: Path) -> None:
    said = ("x" * 600).encode() + b"\xff"
    error = gitio.git_failure(["log", "--all", "-p", "--stat"], 2, b"  " + said + b"\n", tmp_path)
    assert str(error) == "git log --all -p failed (exit 2): " + "x" * 500
    corrupt = gitio.git_failure(["log"], 2, b"fsck " + said, tmp_path)
    assert str(corrupt).endswith("git said: fsck " + "x" * 395)
    short = gitio.git_failure(["log"], 2, b"\xffbroken\n", tmp_path)
    assert str(short) == "git log failed (exit 2): \ufffdbroken"


# -- running a program that drives git -------------------------------------------------------


def info(repo: Path) -> gitio.RepoInfo:
    return gitio.discover(repo)


def test_a_git_program_runs_under_the_hardening_and_the_filters_off(repo: Path) -> None:
    """Every setting of the hardening, then every filter of the repository emptied, as
    configuration above every file (git's ``command`` scope), so that each git the
    program starts has them too."""
    commit(repo, {"a.txt": "one\n"})
    git(repo, "config", "filter.lfs.clean", "git-lfs clean -- %f")
    git(repo, "config", "filter.a=b.smudge", "evil")  # a name -c could not express
    proc = gitio.run_git_program(
        ["git", "config", "--list", "--show-scope"], info(repo), timeout=60
    )
    command = [x for x in proc.stdout.decode().splitlines() if x.startswith("command\t")]
    hardening = [HARDENING[i + 1] for i in range(0, len(HARDENING), 2)]
    filters = [
        f"filter.{driver}.{var}={value}"
        for driver in ("a=b", "lfs")
        for var, value in (("clean", ""), ("smudge", ""), ("process", ""), ("required", "false"))
    ]
    expected = [f"command\t{setting.split('=', 1)[0].lower()}={setting.split('=', 1)[1]}"
                for setting in hardening]  # fmt: skip
    assert command == expected + [f"command\t{setting}" for setting in filters]


def test_a_git_program_gets_its_input_or_none(repo: Path) -> None:
    commit(repo, {"a.txt": "one\n"})
    cat = [sys.executable, "-I", "-c", "import sys; sys.stdout.write(sys.stdin.read())"]
    assert gitio.run_git_program(cat, info(repo), input=b"given").stdout == b"given"
    with stdin_holding(b"ours\n"):
        assert gitio.run_git_program(cat, info(repo), timeout=60).stdout == b""


def test_a_git_program_runs_in_the_work_tree_or_the_repository(repo: Path, tmp_path: Path) -> None:
    commit(repo, {"a.txt": "one\n"})
    pwd = [sys.executable, "-I", "-c", "import os; print(os.getcwd())"]
    assert gitio.run_git_program(pwd, info(repo)).stdout.decode().strip() == str(repo)
    git(tmp_path, "clone", "-q", "--bare", str(repo), "bare.git")
    bare = info(tmp_path / "bare.git")
    assert gitio.run_git_program(pwd, bare).stdout.decode().strip() == str(tmp_path / "bare.git")


def test_a_git_program_keeps_the_descriptors_it_is_given(repo: Path) -> None:
    commit(repo, {"a.txt": "one\n"})
    read, write = os.pipe()
    try:
        os.write(write, b"handed over")
        os.close(write)
        program = [sys.executable, "-I", "-c", f"import os; print(os.read({read}, 100).decode())"]
        proc = gitio.run_git_program(program, info(repo), pass_fds=[read])
        assert proc.stdout == b"handed over\n", proc.stderr
    finally:
        os.close(read)


def test_a_git_program_that_fails_to_start_or_to_finish(repo: Path) -> None:
    commit(repo, {"a.txt": "one\n"})
    with pytest.raises(GitError) as caught:
        gitio.run_git_program(["/nonexistent/filter-repo", "--x"], info(repo))
    assert str(caught.value) == (
        f"cannot run /nonexistent/filter-repo in {repo}: No such file or directory"
    )
    with pytest.raises(GitError) as caught:
        gitio.run_git_program(["/bin/sleep", "30"], info(repo), timeout=1)
    assert str(caught.value) == "sleep timed out after 1s"
    failing = [sys.executable, "-I", "-c", "raise SystemExit(3)"]
    assert gitio.run_git_program(failing, info(repo)).returncode == 3  # the caller's to read


# -- repositories: what discover says ------------------------------------------------------


def test_discover_a_work_tree_from_anywhere_in_it(repo: Path) -> None:
    first = commit(repo, {"deep/er/a.txt": "one\n"})
    for where in (repo, repo / "deep" / "er", repo / "deep" / "er" / "a.txt"):
        found = gitio.discover(where)
        assert found == gitio.RepoInfo(
            git_dir=repo / ".git",
            common_dir=repo / ".git",
            work_tree=repo,
            shallow=False,
            object_format="sha1",
            head=first,
        ), where
        assert found.cwd == repo and not found.bare


def test_discover_a_bare_shallow_sha256_repository(tmp_path: Path, repo: Path) -> None:
    commit(repo, {"a.txt": "one\n"})
    last = commit(repo, {"a.txt": "two\n"})
    git(tmp_path, "clone", "-q", "--bare", "--depth", "1", f"file://{repo}", "bare.git")
    found = gitio.discover(tmp_path / "bare.git")
    assert (found.work_tree, found.shallow, found.head, found.bare) == (None, True, last, True)
    assert found.git_dir == found.common_dir == found.cwd == tmp_path / "bare.git"
    sha256 = tmp_path / "sha256"
    git(tmp_path, "init", "-q", "--object-format=sha256", str(sha256))
    found = gitio.discover(sha256)
    assert (found.object_format, found.head, found.shallow) == ("sha256", None, False)


def test_discover_a_linked_worktree(repo: Path, tmp_path: Path) -> None:
    commit(repo, {"a.txt": "one\n"})
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", "-b", "side", str(linked))
    found = gitio.discover(linked)
    assert found.git_dir == repo / ".git" / "worktrees" / "linked"
    assert found.common_dir == repo / ".git" and found.work_tree == linked


def test_discover_an_unborn_head(repo: Path) -> None:
    found = gitio.discover(repo)
    assert found.head is None and found.work_tree == repo


def test_discover_a_broken_repository(repo: Path) -> None:
    commit(repo, {"a.txt": "one\n"})
    (repo / ".git" / "config").write_text("[core\n")
    with pytest.raises(GitError, match=r"git rev-parse --path-format=relative --git-dir failed"):
        gitio.discover(repo)


def test_discover_a_repository_this_git_cannot_read(repo: Path) -> None:
    commit(repo, {"a.txt": "one\n"})
    git(repo, "config", "core.repositoryformatversion", "1")
    git(repo, "config", "extensions.fromthefuture", "true")
    with pytest.raises(GitError) as caught:
        gitio.discover(repo)
    assert str(caught.value) == (
        "git rev-parse --path-format=relative --git-dir failed (exit 128): fatal: unknown "
        "repository extension found:\n\tfromthefuture"
    )


def undecodable(tmp_path: Path) -> Path:
    """A directory whose name is not UTF-8."""
    odd = Path(os.fsdecode(os.fsencode(str(tmp_path)) + b"/d\xe9p\xf4t"))
    odd.mkdir()
    return odd


def test_discover_a_worktree_of_a_repository_whose_path_is_not_utf8(tmp_path: Path) -> None:
    """git names the repository relative to the worktree: "../d\xe9p\xf4t/main/.git"."""
    main = undecodable(tmp_path) / "main"
    main.mkdir()
    git(main, "init", "-q", "-b", "main")
    first = commit(main, {"a.txt": "one\n"})
    linked = tmp_path / "linked"
    git(main, "worktree", "add", "-q", "-b", "side", str(linked))
    found = gitio.discover(linked)
    assert found.git_dir == main / ".git" / "worktrees" / "linked"
    assert (found.common_dir, found.work_tree, found.head) == (main / ".git", linked, first)


def test_a_worktree_whose_common_directory_is_not_utf8(tmp_path: Path, capsys) -> None:
    repo, git_dir = fifo_repo(undecodable(tmp_path))
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", "-b", "side", str(linked))
    private = git_dir / "worktrees" / "linked"
    (private / "commondir").write_bytes(os.fsencode(str(git_dir)) + b"\n")
    assert gitio.git_dirs_of(str(linked)) == [str(private), str(git_dir)]
    os.mkfifo(git_dir / "refs" / "heads" / "planted")
    code, _ = run(tmp_path, "history", str(linked))
    assert code == ExitCode.INCOMPLETE
    said = capsys.readouterr().err  # the name shown escaped
    assert "d\\xe9p\\xf4t/repo/.git: refs/heads/planted is not a regular file" in said


def test_git_files_end_as_git_reads_them(tmp_path: Path) -> None:
    """Only CR and LF end a .git file or a commondir file; a space is part of the name, as
    it is to git, so the directory checked is the one git reads."""
    repo, git_dir = fifo_repo(tmp_path)
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", "-b", "side", str(linked))
    private = git_dir / "worktrees" / "linked"
    (linked / ".git").write_bytes(b"gitdir: " + os.fsencode(str(private)) + b"\r\n\r\n")
    (private / "commondir").write_bytes(b"../..\r\n")
    assert gitio.git_dirs_of(str(linked)) == [str(private), str(private / "../..")]
    assert gitio.discover(linked).common_dir == git_dir  # git reads them the same way
    (private / "commondir").write_bytes(b"../.. \n")
    assert gitio.git_dirs_of(str(linked)) == [str(private), str(private / "../.. ")]
    (linked / ".git").write_bytes(b"gitdir: " + os.fsencode(str(private)) + b" \n")
    assert gitio.git_dirs_of(str(linked)) == [f"{private} "]


# -- repositories git would hang on --------------------------------------------------------


def fifo_repo(tmp_path: Path, *fifos: str, bare: bool = False) -> tuple[Path, Path]:
    """A repository with a key committed and FIFOs at ``fifos`` (relative to its git
    directory): (the path to scan, its git directory)."""
    repo = tmp_path / ("repo.git" if bare else "repo")
    work = tmp_path / "work" if bare else repo
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    commit(work, {"a.env": f"K={make_key()}\n"})
    if bare:
        git(tmp_path, "clone", "-q", "--bare", str(work), str(repo))
    git_dir = repo if bare else repo / ".git"
    for name in fifos:
        target = git_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target.unlink()
        os.mkfifo(target)
    return repo, git_dir


SPECIAL = ("HEAD", "config", "packed-refs", "commondir")
"""Written out here, not imported: each entry must fail a test when it is dropped."""


@pytest.mark.parametrize("name", [*SPECIAL, "refs/heads/planted", "refs/tags/deep/er"])
def test_each_place_git_reads_refs_from_is_checked(tmp_path: Path, name: str, capsys) -> None:
    repo, git_dir = fifo_repo(tmp_path, name)
    assert gitio.special_ref_files(str(git_dir)) == [name]
    for args in (["history", str(repo)], ["staged", "--repo", str(repo)]):
        code, _ = run(tmp_path, *args)
        assert code == ExitCode.INCOMPLETE, args
        assert (
            f"keysentry: error: cannot read the repository at {git_dir}: {name} is not a "
            "regular file (a FIFO or device, which git would wait on forever)\n"
        ) in capsys.readouterr().err


def test_a_scan_of_such_a_repository_goes_on_without_statuses(tmp_path: Path) -> None:
    repo, _ = fifo_repo(tmp_path, "HEAD")
    key = make_key()
    (repo / "b.env").write_text(f"K={key}\n")
    code, report = run(tmp_path, "scan", str(repo))
    assert code == ExitCode.FINDINGS
    assert only(report, key)["git_status"] is None


def test_many_special_files_are_counted(tmp_path: Path, capsys) -> None:
    repo, git_dir = fifo_repo(tmp_path, "HEAD", "config", "refs/heads/a", "refs/heads/b")
    code, _ = run(tmp_path, "history", str(repo))
    assert code == ExitCode.INCOMPLETE
    assert (
        f"cannot read the repository at {git_dir}: HEAD, config, refs/heads/a and 1 more is "
        "not a regular file"
    ) in capsys.readouterr().err


def test_three_special_files_are_all_named(tmp_path: Path, capsys) -> None:
    repo, git_dir = fifo_repo(tmp_path, "HEAD", "refs/heads/a", "refs/heads/b")
    code, _ = run(tmp_path, "history", str(repo))
    assert code == ExitCode.INCOMPLETE
    assert (
        f"cannot read the repository at {git_dir}: HEAD, refs/heads/a, refs/heads/b is not a "
        "regular file (a FIFO"
    ) in capsys.readouterr().err


def test_a_git_directory_whose_name_is_not_utf8(tmp_path: Path) -> None:
    odd = os.fsdecode(os.fsencode(str(tmp_path)) + b"/d\xe9p\xf4t.git")
    os.mkdir(odd)
    os.mkfifo(os.path.join(odd, "HEAD"))
    work = tmp_path / "work"
    work.mkdir()
    (work / ".git").write_bytes(b"gitdir: " + os.fsencode(odd) + b"\n")
    assert gitio.git_dirs_of(str(work)) == [odd]
    assert gitio.special_ref_files(odd) == ["HEAD"]


def test_links_among_the_refs(tmp_path: Path) -> None:
    """A link to a FIFO is a FIFO to git; a linked directory among the refs may hold any."""
    _, git_dir = fifo_repo(tmp_path)
    os.mkfifo(tmp_path / "elsewhere")
    (git_dir / "refs" / "heads" / "to-fifo").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "dir").mkdir()
    (git_dir / "refs" / "tags" / "to-dir").symlink_to(tmp_path / "dir")
    (git_dir / "refs" / "tags" / "plain-dir").mkdir()
    (git_dir / "refs" / "heads" / "dangling").symlink_to(tmp_path / "nowhere")  # git skips it
    assert gitio.special_ref_files(str(git_dir)) == ["refs/heads/to-fifo", "refs/tags/to-dir"]


def test_a_bare_repository_is_checked(tmp_path: Path, capsys) -> None:
    repo, _ = fifo_repo(tmp_path, "packed-refs", bare=True)
    code, _ = run(tmp_path, "history", str(repo))
    assert code == ExitCode.INCOMPLETE and "packed-refs is not a regular file" in (
        capsys.readouterr().err
    )
    assert gitio.git_dirs_of(str(repo / "refs" / "heads")) == [str(repo)]


@pytest.mark.parametrize("missing", ["objects", "refs", "HEAD"])
def test_a_directory_is_no_bare_repository_without_objects_and_refs(
    tmp_path: Path, missing: str
) -> None:
    odd = tmp_path / "odd"
    for name in ("objects", "refs"):
        if name != missing:
            (odd / name).mkdir(parents=True)
    if missing != "HEAD":
        os.mkfifo(odd / "HEAD")
    assert gitio.git_dirs_of(str(odd)) == []


def test_a_subdirectory_of_a_work_tree_is_checked(tmp_path: Path, capsys) -> None:
    repo, git_dir = fifo_repo(tmp_path, "HEAD")
    (repo / "sub" / "deeper").mkdir(parents=True)
    assert gitio.git_dirs_of(str(repo / "sub" / "deeper")) == [str(git_dir)]
    code, _ = run(tmp_path, "staged", "--repo", str(repo / "sub" / "deeper"))
    assert code == ExitCode.INCOMPLETE and "HEAD is not a regular file" in capsys.readouterr().err


def test_a_linked_worktree_is_checked_with_its_common_directory(tmp_path: Path, capsys) -> None:
    repo, git_dir = fifo_repo(tmp_path)
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", "-b", "side", str(linked))
    private = git_dir / "worktrees" / "linked"
    assert gitio.git_dirs_of(str(linked)) == [str(private), str(private / "../..")]
    os.mkfifo(git_dir / "refs" / "heads" / "planted")
    code, _ = run(tmp_path, "history", str(linked))
    assert code == ExitCode.INCOMPLETE
    assert f"{private / '../..'}: refs/heads/planted is not a regular file" in (
        capsys.readouterr().err
    )
    (private / "HEAD").unlink()
    os.mkfifo(private / "HEAD")
    code, _ = run(tmp_path, "history", str(linked))
    assert code == ExitCode.INCOMPLETE
    assert f"at {private}: HEAD is not a regular file" in capsys.readouterr().err


def test_git_files_that_name_no_directory(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / ".git").write_text("not a pointer\n")
    assert gitio.git_dirs_of(str(work)) == []
    (work / ".git").unlink()
    os.mkfifo(work / ".git")  # read without waiting: refused, not hung on
    assert gitio.git_dirs_of(str(work)) == []
    (work / ".git").unlink()
    (tmp_path / "plain.git").mkdir()
    (work / ".git").write_text("gitdir: ../plain.git\n")  # relative to the work tree
    assert gitio.git_dirs_of(str(work)) == [str(work / "../plain.git")]


def test_the_root_has_no_repository(tmp_path: Path) -> None:
    assert gitio.git_dirs_of("/") == []
    assert gitio.git_dirs_of(str(tmp_path)) == []


# -- work trees, as a scan sees them ------------------------------------------------------


def test_work_tree_root_of_files_and_directories(repo: Path, tmp_path: Path) -> None:
    commit(repo, {"deep/a.txt": "one\n"})
    assert gitio.work_tree_root(repo / "deep") == repo
    assert gitio.work_tree_root(repo / "deep" / "a.txt") == repo
    assert gitio.work_tree_root(tmp_path) is None
    git(tmp_path, "clone", "-q", "--bare", str(repo), "bare.git")
    assert gitio.work_tree_root(tmp_path / "bare.git") is None  # no work tree
    for name in ("odd\nname", "ends in a newline\n", "ends in a space "):
        odd = tmp_path / name
        odd.mkdir()
        git(odd, "init", "-q")
        assert gitio.work_tree_root(odd) == odd
    assert gitio.work_tree_root(repo / ".git") is None  # no work tree there either


def test_work_tree_root_without_git(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert gitio.work_tree_root(repo) is None


def test_tracked_and_ignored_paths(repo: Path) -> None:
    commit(repo, {".gitignore": "build/\n*.log\n", "a.txt": "x\n", "sub/b.txt": "y\n"})
    (repo / "build").mkdir()
    (repo / "build" / "out.bin").write_text("z\n")
    (repo / "x.log").write_text("log\n")
    (repo / "new.txt").write_text("untracked\n")
    assert gitio.list_paths(repo, ignored=False) == {b".gitignore", b"a.txt", b"sub/b.txt"}
    assert gitio.list_paths(repo, ignored=True) == {b"build/", b"x.log"}


# -- configuration and filters ---------------------------------------------------------------

FILTER_VARIABLES = ("clean", "smudge", "process", "required")
"""Written out here, not imported: each entry must fail a test when it is dropped."""


@pytest.mark.parametrize("variable", FILTER_VARIABLES)
def test_a_filter_with_any_one_command_is_switched_off(
    repo: Path, tmp_path: Path, variable: str
) -> None:
    commit(repo, {"a.txt": "one\n"})
    git(repo, "config", f"filter.x.{variable}", "true" if variable == "required" else "evil")
    assert gitio.filter_overrides(info(repo)) == [
        ("filter.x.clean", ""),
        ("filter.x.smudge", ""),
        ("filter.x.process", ""),
        ("filter.x.required", "false"),
    ]


def test_filters_are_switched_off_in_name_order(repo: Path) -> None:
    commit(repo, {"a.txt": "one\n"})
    for name in ("zeta", "a.b", "with space"):
        git(repo, "config", f"filter.{name}.clean", "evil")
    git(repo, "config", "filterx.y.clean", "not a filter")
    git(repo, "config", "filter.nocommand.other", "not a command")
    drivers = [
        key.split(".", 1)[1].rsplit(".", 1)[0] for key, _ in gitio.filter_overrides(info(repo))
    ]
    assert drivers == ["a.b"] * 4 + ["with space"] * 4 + ["zeta"] * 4
    env = gitio.neutral_filters(info(repo))
    assert env["GIT_CONFIG_COUNT"] == "12"
    assert (env["GIT_CONFIG_KEY_0"], env["GIT_CONFIG_VALUE_0"]) == ("filter.a.b.clean", "")
    assert (env["GIT_CONFIG_KEY_11"], env["GIT_CONFIG_VALUE_11"]) == (
        "filter.zeta.required",
        "false",
    )
    assert "GIT_CONFIG_KEY_12" not in env


def test_no_filter_no_override(repo: Path) -> None:
    commit(repo, {"a.txt": "one\n"})
    assert gitio.filter_overrides(info(repo)) == []
    assert gitio.neutral_filters(info(repo)) == {"GIT_CONFIG_COUNT": "0"}


def test_read_config_of_odd_values(repo: Path) -> None:
    commit(repo, {"a.txt": "one\n"})
    git(repo, "config", "x.Multi", "line one\nline two")
    git(repo, "config", "x.empty", "")
    git(repo, "config", "--add", "x.empty", "again")
    assert gitio.read_config(info(repo), r"^x\.") == [
        ("x.multi", "line one\nline two"),
        ("x.empty", ""),
        ("x.empty", "again"),
    ]
    assert gitio.read_config(info(repo), r"^nothing\.") == []


def test_read_config_of_a_broken_configuration(repo: Path) -> None:
    commit(repo, {"a.txt": "one\n"})
    found = info(repo)
    (repo / ".git" / "config").write_text("[core\n")
    with pytest.raises(GitError, match=r"^git config failed \(exit 128\): fatal: bad config"):
        gitio.read_config(found, "^x")


@pytest.mark.parametrize(
    "setting", ["extensions.partialClone=origin", "remote.origin.promisor=true", None]
)
def test_a_partial_clone_is_told_by_its_configuration(repo: Path, setting: str | None) -> None:
    commit(repo, {"a.txt": "one\n"})
    if setting is not None:
        name, value = setting.split("=")
        git(repo, "config", name, value)
    assert gitio.is_partial_clone(info(repo)) is (setting is not None)


# -- streams ---------------------------------------------------------------------------------


def test_a_stream_reads_git_output_from_a_large_pipe(repo: Path) -> None:
    commit(repo, {"a.txt": "one\n"})
    with gitio.GitStream(["rev-parse", "HEAD"], repo) as stream:
        assert fcntl.fcntl(stream.stdout.fileno(), 1032) == gitio.PIPE_SIZE  # F_GETPIPE_SZ
        assert isinstance(stream.stdout, io.FileIO)  # unbuffered: the reader sizes its reads
        assert stream.stdout.read().decode().strip() == head(repo)
        stream.finish()
        assert stream.stderr_text() == ""


def test_a_stream_feeds_its_input_and_nothing_else(repo: Path) -> None:
    blobs = [commit(repo, {"a.txt": "one\n"}), head(repo, "HEAD:a.txt")]
    lines = (f"{oid}\n".encode() for oid in blobs)
    with gitio.GitStream(["cat-file", "--batch-check"], repo, input=lines) as stream:
        out = stream.stdout.read().decode().splitlines()
        stream.finish()
    assert [line.split()[1] for line in out] == ["commit", "blob"]
    with stdin_holding(b"HEAD\n"), gitio.GitStream(["cat-file", "--batch-check"], repo) as stream:
        assert stream.stdout.read() == b""  # /dev/null, not our standard input
        stream.finish()


def test_a_stream_in_the_directory_given(repo: Path, tmp_path: Path) -> None:
    commit(repo, {"a.txt": "one\n"})
    os.chdir(tmp_path)
    with gitio.GitStream(["rev-parse", "HEAD"], repo) as stream:
        assert stream.stdout.read().decode().strip() == head(repo)
        stream.finish()


def test_a_failed_stream_says_why(repo: Path) -> None:
    with gitio.GitStream(["rev-parse", "--verify", "nope"], repo) as stream:
        assert stream.stdout.read() == b""
        with pytest.raises(GitError) as caught:
            stream.finish()
        assert str(caught.value) == (
            "git rev-parse --verify nope failed (exit 128): fatal: Needed a single revision"
        )
        assert stream.stderr_text() == "fatal: Needed a single revision\n"
        with pytest.raises(GitError) as again:
            stream.raise_if_failed()
        assert str(again.value) == str(caught.value)


def test_raise_if_failed_does_not_wait_for_a_running_git(repo: Path) -> None:
    released = threading.Event()

    def waiting() -> Iterator[bytes]:
        released.wait(60)
        yield b""

    with gitio.GitStream(["cat-file", "--batch"], repo, input=waiting()) as stream:
        stream.raise_if_failed(timeout=0.01)  # git still waits for its input: no verdict
        assert stream._proc.poll() is None
        released.set()
        stream.finish()
        stream.raise_if_failed()  # finished well: nothing to raise


def test_a_stream_with_its_own_environment(repo: Path) -> None:
    env = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "x.y", "GIT_CONFIG_VALUE_0": "z"}
    with gitio.GitStream(["config", "--get", "x.y"], repo, env=env) as stream:
        assert stream.stdout.read() == b"z\n"
        stream.finish()


def test_what_git_said_is_read_whatever_its_bytes(repo: Path) -> None:
    name = os.fsdecode(b"refs/heads/caf\xe9")  # not UTF-8: git echoes the byte as it is
    with gitio.GitStream(["show-ref", "--verify", name], repo) as stream:
        stream.stdout.read()
        with pytest.raises(GitError, match="show-ref --verify refs/heads/caf"):
            stream.finish()
        assert stream.stderr_text() == "fatal: 'refs/heads/caf\ufffd' - not a valid ref\n"


def test_an_error_in_the_input_is_raised_by_finish(repo: Path) -> None:
    def lines() -> Iterator[bytes]:
        yield b"HEAD\n"
        raise ValueError("the input broke")

    commit(repo, {"a.txt": "one\n"})
    with gitio.GitStream(["cat-file", "--batch-check"], repo, input=lines()) as stream:
        stream.stdout.read()
        with pytest.raises(ValueError, match="the input broke"):
            stream.finish()


def test_git_that_stops_reading_its_input_is_no_error_of_the_writer(repo: Path) -> None:
    endless = (b"x" * 65536 for _ in range(1000))  # more than any pipe holds
    with gitio.GitStream(["rev-parse", "HEAD"], repo, input=endless) as stream:
        stream.stdout.read()
        with pytest.raises(GitError, match="rev-parse HEAD failed"):
            stream.finish()  # git's own failure (unborn HEAD), not a BrokenPipeError


def test_closing_a_stream_stops_git(repo: Path) -> None:
    """A stream given up on (an error while reading it) ends its git at once, even one
    still waiting for input."""
    released = threading.Event()

    def waiting() -> Iterator[bytes]:
        yield b"HEAD\n"
        released.wait(60)

    commit(repo, {"a.txt": "one\n"})
    stream = gitio.GitStream(["cat-file", "--batch-check"], repo, input=waiting())
    stream.close()
    released.set()
    assert stream._proc.returncode == -signal.SIGKILL and stream.stdout.closed
    stream.close()  # twice is harmless


def test_starting_git_in_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(GitError) as caught:
        gitio.GitStream(["status"], tmp_path / "missing")
    assert str(caught.value) == (
        f"cannot run git in {tmp_path / 'missing'}: No such file or directory"
    )


def test_what_git_said_is_read_back_up_to_a_bound(repo: Path) -> None:
    """A git that warns about each of thousands of broken refs: what is read back of it
    is bounded, and its first words are there."""
    commit(repo, {"a.txt": "one\n"})
    heads = repo / ".git" / "refs" / "heads"
    for i in range(3000):
        (heads / f"broken-{i:05d}").write_text("not an object id\n")
    with gitio.GitStream(["for-each-ref"], repo) as stream:
        stream.stdout.read()
        stream.finish()
        said = stream.stderr_text()
    assert len(said) == gitio.STDERR_SHOWN
    assert said.startswith("warning: ignoring broken ref refs/heads/broken-00000\n")


def test_input_left_for_a_git_that_has_ended_is_dropped_quietly(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Input buffered after git ended meets a closed pipe when the writer closes its end:
    no error of the writer's, and nothing for the thread's last-resort handler."""
    commit(repo, {"a.txt": "one\n"})
    failures: list[object] = []
    monkeypatch.setattr(threading, "excepthook", failures.append)
    ended = threading.Event()

    def late() -> Iterator[bytes]:
        ended.wait(30)
        yield b"HEAD\n"

    with gitio.GitStream(["rev-parse", "HEAD"], repo, input=late()) as stream:
        assert stream.stdout.read().decode().strip() == head(repo)  # git ended: end of output
        ended.set()
        stream.finish()
    assert failures == []


def test_a_stream_given_up_on_never_keeps_the_process_alive(repo: Path) -> None:
    """The writer of a stream's input is a daemon thread: input that never ends (a generator
    waiting forever) does not hold the interpreter at its exit."""
    program = (
        "import sys, threading\n"
        "from keysentry.git import run as gitio\n"
        "def never():\n"
        "    threading.Event().wait(600)\n"  # far past the child's own 60 s limit
        "    yield b''\n"
        "gitio.GitStream(['cat-file', '--batch'], sys.argv[1], input=never()).close()\n"
        "print('closed')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-c", program, str(repo)], capture_output=True, timeout=60
    )
    assert (proc.returncode, proc.stdout) == (0, b"closed\n"), proc.stderr


@pytest.mark.timeout(120)
def test_a_question_git_hangs_on_ends_after_its_time(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """git opens a FIFO the configuration includes and waits for a writer that never comes:
    each question about the repository gives up after QUERY_TIMEOUT, and the scan says so."""
    commit(repo, {"a.txt": "one\n"})
    found = info(repo)
    os.mkfifo(tmp_path / "included")
    git(repo, "config", "include.path", str(tmp_path / "included"))
    monkeypatch.setattr(gitio, "QUERY_TIMEOUT", 1.0)
    questions = {
        "rev-parse --path-format=relative": lambda: gitio.discover(repo),
        "config -z": lambda: gitio.read_config(found, "^x"),
        "rev-parse --show-toplevel": lambda: gitio.work_tree_root(repo),
    }
    for command, ask in questions.items():
        with pytest.raises(GitError) as caught:
            ask()
        assert str(caught.value) == f"git {command} timed out after 1s"
    code, _ = run(tmp_path, "history", str(repo))
    assert code == ExitCode.INCOMPLETE
    assert "git rev-parse --path-format=relative timed out after 1s" in capsys.readouterr().err


def test_a_filter_whose_name_is_not_utf8_is_switched_off(repo: Path, tmp_path: Path) -> None:
    commit(repo, {"a.txt": "one\n"})
    with (repo / ".git" / "config").open("ab") as config:
        config.write(b'[filter "caf\xe9"]\n\tclean = false\n')
    assert gitio.filter_overrides(info(repo))[0] == (os.fsdecode(b"filter.caf\xe9.clean"), "")
    key = make_key()
    (repo / ".gitattributes").write_bytes(b"*.env filter=caf\xe9\n")
    (repo / "b.env").write_text(f"K={key}\n")
    git(repo, "add", "b.env")
    code, report = run(tmp_path, "staged", "--repo", str(repo))
    assert code == ExitCode.FINDINGS and only(report, key)


def test_no_descriptor_is_left_open(repo: Path, tmp_path: Path) -> None:
    commit(repo, {"a.txt": "one\n"})
    before = set(os.listdir("/proc/self/fd"))
    with contextlib.suppress(GitError):
        gitio.GitStream(["status"], tmp_path / "missing")
    with gitio.GitStream(["rev-parse", "HEAD"], repo) as stream:
        stream.stdout.read()
        stream.finish()
    assert set(os.listdir("/proc/self/fd")) == before

"""Fail closed, and read what git tells a hook to read.

A commit hook that cannot read a staged blob must stop the commit (exit 3), never let it
through as "clean". And git names, in a hook's environment, the repository, the index and
(in pre-receive) the object store the hook must read: keysentry honours those variables
when it runs as a hook of that repository (keysentry.git.command.hook_env), and only then: a
stray GIT_DIR never redirects a scan of another path. Everything here runs real git: real
commits through the hook install-hook writes, a real bare repository with a real
pre-receive hook and a real `git push`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import GIT_ENV, git, make_key
from keysentry.models import redact

BIN = Path(sys.executable).parent  # the keysentry of this test run, as installed
TIMEOUT = 120
ZERO = "0" * 40


def run(cwd: Path, *command: str, env: dict[str, str] | None = None, stdin: str = ""):
    """A command as a user runs it: (exit code, stdout + stderr)."""
    proc = subprocess.run(
        list(command),
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV, **(env or {})},
        timeout=TIMEOUT,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


def keysentry(cwd: Path, *args: str, env: dict[str, str] | None = None, stdin: str = ""):
    return run(cwd, str(BIN / "keysentry"), *args, env=env, stdin=stdin)


def hook(cwd: Path, *args: str, env: dict[str, str] | None = None):
    return run(cwd, str(BIN / "keysentry-hook"), *args, env=env)


def committed(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    for name, text in files.items():
        (path / name).write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


# -- fail closed: what could not be read is never "clean" -----------------------------------


def test_an_index_of_another_repository_is_incomplete_not_clean(tmp_path: Path) -> None:
    """GIT_INDEX_FILE naming another repository's index: its blobs are not in this object
    store. The scan cannot read what would be committed, so it must not say "clean"."""
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q", "-b", "main")
    (other / "app.env").write_text(f"KEY={make_key()}\n")
    git(other, "add", "app.env")
    repo = committed(tmp_path / "repo", {"a.txt": "clean\n"})
    env = {"GIT_INDEX_FILE": str(other / ".git" / "index")}
    code, out = keysentry(repo, "staged", env=env)
    assert code == 3, out
    assert "missing-object: app.env" in out and "incomplete, not clean" in out
    for args in (("--staged",), ("--staged", "-q"), ("--staged", "--format", "json")):
        code, out = hook(repo, *args, env=env)
        assert code == 3, (args, out)


def test_a_missing_staged_blob_stops_the_commit(tmp_path: Path) -> None:
    """An index entry whose blob is not in the object store, through the hook that
    install-hook writes: the hook answers 3 and git does not commit."""
    repo = committed(tmp_path / "repo", {"a.txt": "clean\n"})
    assert keysentry(repo, "install-hook")[0] == 0
    git(repo, "update-index", "--add", "--cacheinfo", f"100644,{'12' * 20},ghost.env")
    code, out = keysentry(repo, "staged")
    assert code == 3 and "missing-object: ghost.env" in out, out
    code, out = hook(repo, "--staged")
    assert code == 3, out
    code, out = run(repo, "git", "commit", "-q", "-m", "ghost")
    assert code != 0 and "incomplete, not clean" in out, out
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"


def test_an_unreadable_named_file_is_incomplete_in_the_hook_and_in_scan(tmp_path: Path) -> None:
    """The pre-commit framework's form (files named): a file that fails to read is exit 3,
    through the screen (which hands it on) and the full CLI alike. /proc/self/mem is a
    regular file whose first page is never mapped: reading it fails for everyone, root
    included."""
    repo = committed(tmp_path / "repo", {"a.txt": "clean\n"})
    for command in (hook, lambda cwd, *a: keysentry(cwd, "scan", *a)):
        code, out = command(repo, "a.txt", "/proc/self/mem")
        assert code == 3, out
        assert "unreadable: /proc/self/mem" in out and "incomplete, not clean" in out
        # a key found elsewhere still fails the commit as a finding (exit 1)
        (repo / "k.env").write_text(f"KEY={make_key()}\n")
        assert command(repo, "k.env", "/proc/self/mem")[0] == 1
        (repo / "k.env").unlink()


# -- a separate git directory, a linked worktree: the hook reads the repository git names ----


def test_a_commit_with_a_separate_git_dir_inside_another_repository(tmp_path: Path) -> None:
    """`git --git-dir=R --work-tree=W commit`, W inside another repository E: git gives the
    hook GIT_DIR and GIT_WORK_TREE. Dropping them, keysentry used to read E (whose object
    store lacks the staged blob) and answer "clean": the key was committed."""
    enclosing = committed(tmp_path / "enclosing", {"README": "outer\n"})
    work = enclosing / "work"
    work.mkdir()
    git_dir = tmp_path / "dotfiles.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(git_dir))
    git(tmp_path, "--git-dir", str(git_dir), "config", "core.bare", "false")
    code, out = keysentry(work, "install-hook", env={"GIT_DIR": str(git_dir), "GIT_WORK_TREE": "."})
    assert code == 0, out
    assert (git_dir / "hooks" / "pre-commit").is_file()
    where = ("--git-dir", str(git_dir), "--work-tree", str(work))

    def commit(name: str, text: str) -> tuple[int, str]:
        (work / name).write_text(text)
        git(work, *where, "add", name)
        return run(work, "git", *where, "commit", "-q", "-m", f"add {name}")

    code, out = commit("notes.txt", "nothing secret\n")
    assert code == 0, out
    key = make_key()
    code, out = commit("app.env", f"OPENROUTER_API_KEY={key}\n")
    assert code != 0 and "app.env:1:20" in out and redact(key) in out, out
    assert key not in out
    log = git(work, *where, "log", "--format=%s")
    assert "add app.env" not in log and "add notes.txt" in log


def test_commit_all_in_a_linked_worktree(repo: Path, tmp_path: Path) -> None:
    """A linked worktree's hook gets GIT_DIR (.git/worktrees/NAME) and, for `commit -a`,
    a temporary index: both name the worktree's own repository and are honoured."""
    (repo / "a.txt").write_text("clean\n")
    git(repo, "add", "a.txt")
    git(repo, "commit", "-q", "-m", "one")
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", "-b", "topic", str(linked))
    assert keysentry(linked, "install-hook")[0] == 0
    (linked / "a.txt").write_text(f"clean\n{make_key()}\n")  # modified, not staged
    code, out = run(linked, "git", "commit", "-q", "-a", "-m", "leak")
    assert code != 0 and "a.txt:2:1" in out, out
    (linked / "a.txt").write_text("clean\nstill clean\n")
    code, out = run(linked, "git", "commit", "-q", "-a", "-m", "fine")
    assert code == 0, out


# -- pre-receive: the pushed objects are in quarantine ----------------------------------------


def _server(tmp_path: Path, body: str) -> tuple[Path, Path]:
    """A bare repository whose pre-receive hook runs ``body``, and a clone to push from."""
    server = tmp_path / "server.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(server))
    hook_file = server / "hooks" / "pre-receive"
    hook_file.write_text(f"#!/bin/sh\n{body}\n")
    hook_file.chmod(0o755)
    client = tmp_path / "client"
    client.mkdir()
    git(client, "init", "-q", "-b", "main")
    git(client, "remote", "add", "origin", str(server))
    return server, client


def _push(client: Path, *refspec: str) -> tuple[int, str]:
    return run(client, "git", "push", "-q", "origin", *refspec)


def _commit(client: Path, name: str, text: str) -> str:
    (client / name).write_text(text)
    git(client, "add", name)
    git(client, "commit", "-q", "-m", f"add {name}")
    return git(client, "rev-parse", "HEAD").strip()


def test_a_pre_receive_hook_refuses_a_pushed_key(tmp_path: Path) -> None:
    """`keysentry ci --pre-receive`, as the README and install-hook's message in a bare
    repository say: each updated ref's new commits are scanned while git holds them in
    quarantine; a key refuses the push, clean content goes in."""
    server, client = _server(tmp_path, f"exec {sys.executable} -I -m keysentry ci --pre-receive")
    _commit(client, "README", "hello\n")
    code, out = _push(client, "main")  # a new branch: every commit is new
    assert code == 0, out
    assert "commit range chosen: push to refs/heads/main (a new ref): 1 new commit(s)" in out
    key = make_key()
    leak = _commit(client, "deploy.sh", f"curl -H 'Authorization: Bearer {key}'\n")
    code, out = _push(client, "main")
    assert code != 0 and "pre-receive hook declined" in out, out
    assert "deploy.sh:1:" in out and redact(key) in out and key not in out
    # Being received: published once accepted, not a dangling object of the server.
    (where,) = [line for line in out.splitlines() if "deploy.sh:1:" in line]
    assert "published (pushed to a server)" in where, where
    assert "a push being received" in out
    code, out = _push(client, "main:refs/heads/topic")  # the same commit on a new branch
    assert code != 0 and "deploy.sh:1:" in out, out
    (where,) = [line for line in out.splitlines() if "deploy.sh:1:" in line]
    assert "published (pushed to a server)" in where, where
    assert git(server, "rev-parse", "main").strip() != leak
    assert "topic" not in git(server, "branch")
    git(client, "reset", "-q", "--hard", "HEAD~1")
    clean = _commit(client, "notes.txt", "nothing secret\n")
    code, out = _push(client, "main")
    assert code == 0, out
    assert git(server, "rev-parse", "main").strip() == clean
    assert keysentry(server, "history", "-q")[0] == 0  # the key never reached the server


def test_an_annotated_tag_pushed_alone_is_read(tmp_path: Path) -> None:
    """A tag on a commit the server has, pushed on its own, brings no new commit but a new
    object: its message (and tagger) are read, in pre-receive and in pre-push."""
    server, client = _server(tmp_path, f"exec {sys.executable} -I -m keysentry ci --pre-receive")
    base = _commit(client, "README", "hello\n")
    assert _push(client, "main")[0] == 0
    key = make_key()
    git(client, "tag", "-a", "v1", "-m", f"release notes: token {key}")
    tag = git(client, "rev-parse", "v1").strip()
    line = f"refs/tags/v1 {tag} refs/tags/v1 {'0' * 40}\n"
    code, out = keysentry(client, "ci", "--pre-push", "origin", stdin=line)
    assert code == 1 and "<tag v1 message>" in out and redact(key) in out, out
    code, out = _push(client, "v1")
    assert code != 0 and "pre-receive hook declined" in out, out
    assert "an annotated tag on a known commit" in out and redact(key) in out
    assert "v1" not in git(server, "tag")
    git(client, "tag", "-d", "v1")
    git(client, "tag", "-a", "v2", "-m", "release notes")
    assert _push(client, "v2")[0] == 0
    assert git(server, "rev-parse", "v2^{commit}").strip() == base


def test_history_range_in_a_pre_receive_hook_sees_the_quarantined_commits(
    tmp_path: Path,
) -> None:
    """`keysentry history --range OLD..NEW` in a hand-written pre-receive hook: before,
    keysentry dropped GIT_OBJECT_DIRECTORY, could not see NEW and refused every push."""
    script = (
        "while read old new ref; do\n"
        f'  {BIN / "keysentry"} history -q --range "$old..$new" || exit 1\n'
        "done"
    )
    server, client = _server(tmp_path, script)
    _commit(client, "README", "hello\n")
    git(server, "fetch", "-q", str(client), "main:main")  # the branch exists: OLD..NEW
    clean = _commit(client, "notes.txt", "nothing secret\n")
    code, out = _push(client, "main")
    assert code == 0, out
    assert git(server, "rev-parse", "main").strip() == clean
    _commit(client, "app.env", f"KEY={make_key()}\n")
    code, out = _push(client, "main")
    assert code != 0 and "app.env:1:5" in out, out
    assert git(server, "rev-parse", "main").strip() == clean


# -- never redirected: the environment applies to the repository keysentry runs in -----------


def test_a_stray_git_dir_does_not_redirect_a_scan_of_another_path(tmp_path: Path) -> None:
    key, other_key = make_key(), make_key()
    target = committed(tmp_path / "target", {"app.env": f"KEY={key}\n"})
    other = committed(tmp_path / "other", {"x.env": f"KEY={other_key}\n", "y": "y\n"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    stray = {
        "GIT_DIR": str(other / ".git"),
        "GIT_WORK_TREE": str(other),
        "GIT_INDEX_FILE": str(other / ".git" / "index"),
        "GIT_OBJECT_DIRECTORY": str(other / ".git" / "objects"),
    }
    runs = [
        (elsewhere, ("history", str(target))),
        (elsewhere, ("scan", str(target))),
        (other, ("history", str(target))),
        (other, ("scan", str(target))),
        # run inside the target: the variables name another repository, not this one
        (target, ("history",)),
        (target, ("scan", ".")),
    ]
    for cwd, args in runs:
        code, out = keysentry(cwd, *args, "--format", "json", env=stray)
        assert code == 1, (cwd, args, out)
        assert redact(key) in out and redact(other_key) not in out, (cwd, args)
    # staged of another repository ignores the index named for this directory's
    (target / "new.txt").write_text("staged, clean\n")
    git(target, "add", "new.txt")
    code, out = keysentry(other, "staged", "--repo", str(target), env=stray)
    assert code == 0 and "1 file(s) in the index differ" in out, out


def test_git_gives_the_variables_only_to_its_own_directory(tmp_path: Path) -> None:
    """The decision itself (keysentry.git.command.hook_env), case by case."""
    from keysentry.git.command import hook_env

    repo = committed(tmp_path / "repo", {"a": "a\n"})
    other = committed(tmp_path / "other", {"b": "b\n"})
    objects = {"GIT_OBJECT_DIRECTORY": "/q/incoming", "GIT_QUARANTINE_PATH": "/q/incoming"}
    cases = [
        # (cwd, variables, git runs in, honoured)
        (repo, {"GIT_INDEX_FILE": ".git/index"}, repo, {"GIT_INDEX_FILE"}),
        (repo, {"GIT_INDEX_FILE": ".git/index"}, other, set()),
        (repo, {"GIT_DIR": str(repo / ".git"), **objects}, repo, {"GIT_DIR", *objects}),
        (repo / ".git", {"GIT_DIR": ".", **objects}, repo / ".git", {"GIT_DIR", *objects}),
        (repo, {"GIT_DIR": str(other / ".git"), "GIT_INDEX_FILE": "x"}, repo, set()),
        (repo, {"GIT_DIR": str(other / ".git"), "GIT_WORK_TREE": "."}, repo,
         {"GIT_DIR", "GIT_WORK_TREE"}),
        (repo, {"GIT_DIR": str(other / ".git"), "GIT_WORK_TREE": str(other)}, repo, set()),
        (repo, objects, repo, set()),  # object stores come only with their repository
    ]  # fmt: skip
    for cwd, variables, where, honoured in cases:
        with pytest.MonkeyPatch.context() as mp:
            for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", *objects):
                mp.delenv(name, raising=False)
            for name, value in variables.items():
                mp.setenv(name, value)
            mp.chdir(cwd)
            got = hook_env(where)
        assert set(got) == honoured, (cwd, variables, where, got)
        for name in {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"} & honoured:
            assert os.path.isabs(got[name])

"""The hardened git command line: argv and environment for every git keysentry runs.

:mod:`keysentry.git.run` runs git for the pipeline with these; the commit hook's screen
(:mod:`keysentry.detect.screen`) runs its two git commands with them too, before anything
heavier is imported, so this module imports only :mod:`os`.

Nothing configured by a scanned repository may run: no hooks, no fsmonitor, no pager,
no external diff or textconv, no signature programs, no credential helpers or ssh, and
no network at all (so a partial clone cannot lazily fetch a missing object).

Nor may the environment point git at another repository: every variable that names a
repository, an index or an object store is dropped, except those git gives keysentry
when it runs as a hook of the repository it scans (:func:`hook_env`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from keysentry.errors import GitError

# -c overrides win over every configuration file, the repository's included.
HARDENING: tuple[str, ...] = (
    "-c", "core.fsmonitor=false",
    "-c", "core.hooksPath=/dev/null",
    "-c", "core.pager=cat",
    "-c", "core.sshCommand=false",
    "-c", "core.askPass=false",
    "-c", "core.editor=false",
    "-c", "sequence.editor=false",
    "-c", "credential.helper=",
    "-c", "diff.external=",
    "-c", "diff.relative=false",
    "-c", "protocol.allow=never",
    "-c", "fetch.recurseSubmodules=false",
    "-c", "submodule.recurse=false",
    "-c", "core.untrackedCache=false",
    "-c", "gc.auto=0",
    "-c", "maintenance.auto=false",
    # `git log` would run gpg.program on every signed commit with this set.
    "-c", "log.showSignature=false",
    "-c", "gpg.program=false",
    "-c", "gpg.ssh.program=false",
    "-c", "gpg.x509.program=false",
    # Rename detection reads blobs (in a partial clone: fetches them); never wanted.
    "-c", "diff.renames=false",
    # Parsed output must not change shape with the repository's taste.
    "-c", "log.showRoot=true",
    "-c", "color.ui=false",
    "-c", "core.quotePath=false",
)  # fmt: skip

# Not listed: the variables git_env sets itself (GIT_PAGER, GIT_ASKPASS, SSH_ASKPASS,
# GIT_SSH_COMMAND). tests/git/test_command_hardening.py has a case for each entry.
_DROP_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_EXTERNAL_DIFF",
    "GIT_SSH",
    "GIT_EDITOR",
    "GIT_SEQUENCE_EDITOR",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_EXEC_PATH",
    "GIT_TRACE",
    "GIT_SHALLOW_FILE",
    "GIT_REPLACE_REF_BASE",
    "GIT_QUARANTINE_PATH",
)
# What git names for a hook; dropped above, passed on by hook_env only.
_OBJECT_ENV = ("GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH")
_HOOK_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", *_OBJECT_ENV)


def git_env(
    extra: Mapping[str, str] | None = None, cwd: str | os.PathLike[str] | None = None
) -> dict[str, str]:
    """The environment of a git command; ``cwd``: where it runs, when it reads the
    repository there (see :func:`hook_env`)."""
    env = {k: v for k, v in os.environ.items() if k not in _DROP_ENV}
    if cwd is not None:
        env.update(hook_env(cwd))
    env.update(
        LANG="C",
        LC_ALL="C",
        GIT_PAGER="cat",
        PAGER="cat",
        GIT_TERMINAL_PROMPT="0",
        GIT_OPTIONAL_LOCKS="0",
        GIT_NO_LAZY_FETCH="1",
        GIT_ASKPASS="false",
        SSH_ASKPASS="false",
        GIT_SSH_COMMAND="false",
        GIT_NO_REPLACE_OBJECTS="1",
    )
    if extra:
        env.update(extra)
    return env


def hook_env(cwd: str | os.PathLike[str]) -> dict[str, str]:
    """The repository variables git gave keysentry as a hook, for a git command run in
    ``cwd``: empty unless keysentry runs as a hook of the repository in ``cwd``.

    git runs a hook in the top of the work tree (a bare repository's hooks: in the
    repository) and names in the environment what the hook must read: the index being
    committed (GIT_INDEX_FILE: `git commit -a` and `git commit PATH` commit through a
    temporary one), the repository (GIT_DIR, GIT_WORK_TREE: a separate git directory, a
    linked worktree) and, in pre-receive, the object store (GIT_OBJECT_DIRECTORY,
    GIT_ALTERNATE_OBJECT_DIRECTORIES, GIT_QUARANTINE_PATH: the pushed objects wait in a
    quarantine until the hook accepts them). Without them a hook reads another index, or
    an enclosing repository, or cannot see what is pushed.

    They apply only to a git command run in the directory keysentry started in, and
    only when GIT_DIR, if set, is that directory's repository (the directory itself, the
    repository its ``.git`` names, or GIT_WORK_TREE is the directory): a scan of another
    path, or a stray GIT_DIR, is never redirected. The object variables come only with
    such a GIT_DIR (git sets them together)."""
    env = os.environ
    if not any(env.get(name) for name in _HOOK_ENV):
        return {}
    here = os.getcwd()
    if not _same(cwd, here):
        return {}
    out = {}
    git_dir = env.get("GIT_DIR")
    if git_dir:
        work_tree = env.get("GIT_WORK_TREE")
        dot_git = _dot_git(here)
        if not (
            _same(git_dir, here)
            or (dot_git is not None and _same(git_dir, dot_git))
            or (work_tree and _same(work_tree, here))
        ):
            return {}
        out["GIT_DIR"] = os.path.abspath(git_dir)
        if work_tree:
            out["GIT_WORK_TREE"] = os.path.abspath(work_tree)
        out.update((name, env[name]) for name in _OBJECT_ENV if env.get(name))
    index = env.get("GIT_INDEX_FILE")
    if index:
        out["GIT_INDEX_FILE"] = os.path.abspath(index)
    return out


def _same(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _dot_git(directory: str) -> str | None:
    """The repository a work tree's ``.git`` names: the directory, or a linked worktree's
    or submodule's ``gitdir:`` file."""
    dot_git = os.path.join(directory, ".git")
    if os.path.isdir(dot_git):
        return dot_git
    try:
        with open(dot_git, "rb") as fh:
            line = fh.read(4096).split(b"\n", 1)[0].strip()
    except OSError:
        return None
    if not line.startswith(b"gitdir:"):
        return None
    return os.path.join(directory, os.fsdecode(line[len(b"gitdir:") :].strip()))


def find_git() -> str | None:
    """git's absolute path from PATH, skipping relative entries (``.``, an empty one).

    git runs with the scanned repository as its working directory, and a relative PATH
    entry would then name a program inside that repository: ``shutil.which`` keeps such
    entries, and would resolve them against keysentry's own directory, which in a commit
    hook is the repository being committed. (It is also written out here so that the
    hook need not import shutil.)"""
    for directory in os.get_exec_path():
        if not os.path.isabs(directory):
            continue
        candidate = os.path.join(directory, "git")
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def git_executable() -> str:
    path = find_git()
    if path is None:
        raise GitError("git is not installed or not on PATH; install git to scan repositories")
    return path


def git_command(args: Sequence[str]) -> list[str]:
    return [git_executable(), "--no-pager", *HARDENING, *args]

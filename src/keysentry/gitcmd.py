"""The hardened git command line: argv and environment for every git keysentry runs.

:mod:`keysentry.gitio` runs git for the pipeline with these; the commit hook's screen
(:mod:`keysentry.screen`) runs its two git commands with them too, before anything
heavier is imported, so this module imports only :mod:`os`.

Nothing configured by a scanned repository may run: no hooks, no fsmonitor, no pager,
no external diff or textconv, no signature programs, no credential helpers or ssh, and
no network at all (so a partial clone cannot lazily fetch a missing object).
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

_DROP_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_EXTERNAL_DIFF",
    "GIT_PAGER",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
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


def git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROP_ENV}
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


def index_env() -> dict[str, str]:
    """The index to read. In a pre-commit hook of `git commit -a` or `git commit PATH`,
    git commits through a temporary index named by GIT_INDEX_FILE: that one holds what
    is being committed. (:func:`git_env` drops the variable for every other command.)"""
    index = os.environ.get("GIT_INDEX_FILE")
    return {"GIT_INDEX_FILE": os.path.abspath(index)} if index else {}


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

"""The only module that runs git.

Every call is hardened so that nothing configured by a scanned repository can
run: no hooks, no fsmonitor, no pager, no external diff or textconv, no
credential helpers or ssh, and no network at all (so a partial clone cannot
lazily fetch). Bytes in, bytes out; errors carry the command and stderr.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from keysentry.errors import GitError

DEFAULT_TIMEOUT = 600.0

# -c overrides win over every configuration file, the repository's included.
HARDENING: tuple[str, ...] = (
    "-c", "core.fsmonitor=false",
    "-c", "core.hooksPath=/dev/null",
    "-c", "core.pager=cat",
    "-c", "core.sshCommand=false",
    "-c", "core.askPass=false",
    "-c", "credential.helper=",
    "-c", "diff.external=",
    "-c", "protocol.allow=never",
    "-c", "fetch.recurseSubmodules=false",
    "-c", "core.untrackedCache=false",
    "-c", "gc.auto=0",
    "-c", "maintenance.auto=false",
)  # fmt: skip

_DROP_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_EXTERNAL_DIFF",
    "GIT_PAGER",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
    "GIT_EDITOR",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_EXEC_PATH",
    "GIT_TRACE",
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


def git_executable() -> str:
    path = shutil.which("git")
    if path is None:
        raise GitError("git is not installed or not on PATH; install git to scan repositories")
    return path


def git_command(args: Sequence[str]) -> list[str]:
    return [git_executable(), "--no-pager", *HARDENING, *args]


def run_git(
    args: Sequence[str],
    cwd: str | Path,
    *,
    input: bytes | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    check: bool = True,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    command = git_command(args)
    try:
        proc = subprocess.run(
            command,
            cwd=cwd,
            input=input,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=None if input is not None else subprocess.DEVNULL,
            env=git_env(env),
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {' '.join(args[:2])} timed out after {timeout:.0f}s") from None
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror or exc}") from None
    if check and proc.returncode != 0:
        raise GitError(
            f"git {' '.join(args[:3])} failed (exit {proc.returncode}): "
            f"{proc.stderr.decode('utf-8', 'replace').strip()[:500]}"
        )
    return proc


def work_tree_root(path: Path) -> Path | None:
    """The top of the git work tree containing ``path``, or None (not in one, or no git)."""
    if shutil.which("git") is None:
        return None
    directory = path if path.is_dir() else path.parent
    proc = run_git(["rev-parse", "--show-toplevel"], directory, check=False, timeout=30)
    if proc.returncode != 0:
        return None
    top = proc.stdout.rstrip(b"\n")
    return Path(os.fsdecode(top)) if top else None


def list_paths(root: Path, *, ignored: bool) -> set[bytes]:
    """Tracked paths (``ignored=False``) or ignored untracked paths, relative to ``root``.

    Ignored directories come back once, with a trailing slash, not file by file."""
    if ignored:
        args = ["ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory"]
    else:
        args = ["ls-files", "-z", "--cached"]
    out = run_git(args, root).stdout
    return {p for p in out.split(b"\0") if p}

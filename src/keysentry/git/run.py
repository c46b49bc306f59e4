"""The module that runs git for the pipeline.

Every call is hardened so that nothing configured by a scanned repository can run (the
command line and environment come from :mod:`keysentry.git.command`, which the commit hook's
screen also uses for its two read-only git commands). Bytes in, bytes out; errors carry
the command and stderr.

gitpython is deliberately not used here: importing it costs ~65 ms (the whole
pre-commit budget is 150 ms) and runs ``git version`` outside this hardening,
and everything keysentry needs is a single plumbing call.
"""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from keysentry.errors import ExitCode, GitError
from keysentry.git.command import (
    HARDENING,
    find_git,
    git_command,
    git_env,
)

DEFAULT_TIMEOUT = 600.0
QUERY_TIMEOUT = 60.0
"""For a question about a repository (where it is, its configuration): git reads a few small
files, so a minute means it waits on one that is no file (a FIFO), and the answer is an error."""
STDERR_SHOWN = 65536
"""How much of what a streamed git said is read back: enough for any message, bounded for
a git that warns about every one of a million broken objects."""
PIPE_SIZE = 2**20
"""Size asked for the pipe of streamed output: fewer, larger reads and context switches."""


class NotARepositoryError(GitError):
    """The path is not inside a git repository: the user pointed at the wrong place."""

    exit_code = ExitCode.USAGE


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
            capture_output=True,
            stdin=None if input is not None else subprocess.DEVNULL,
            env=git_env(env, cwd),
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {' '.join(args[:2])} timed out after {timeout:.0f}s") from None
    except OSError as exc:
        raise GitError(f"cannot run git in {cwd}: {exc.strerror or exc}") from None
    if check and proc.returncode != 0:
        raise git_failure(args, proc.returncode, proc.stderr, cwd)
    return proc


def git_failure(args: Sequence[str], code: int, stderr: bytes, cwd: str | Path) -> GitError:
    """A GitError whose text says what went wrong and what to do about it."""
    text = stderr.decode("utf-8", "replace").strip()
    lower = text.lower()
    if "not a git repository" in lower:
        return NotARepositoryError(f"not a git repository: {cwd}")
    if "dubious ownership" in lower:
        return GitError(
            f"git refuses to read {cwd}: it is owned by another user. If you trust it, run "
            f"`git config --global --add safe.directory {cwd}` (or scan a copy you own)"
        )
    what = f"git {' '.join(args[:3])} failed (exit {code})"
    if any(s in lower for s in ("corrupt", "inflate", "bad object", "unable to read", "fsck")):
        return GitError(
            f"{what}: the repository has a corrupt or unreadable object; `git fsck` shows "
            f"which. git said: {text[:400]}"
        )
    return GitError(f"{what}: {text[:500]}")


def hardening_env(extra: Sequence[tuple[str, str]] = ()) -> dict[str, str]:
    """HARDENING (and ``extra`` settings) as ``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n``: git
    reads these like ``-c`` (above every configuration file), so every git a helper program
    starts is hardened too."""
    pairs = [HARDENING[i + 1].partition("=")[::2] for i in range(0, len(HARDENING), 2)]
    pairs += [(key, value) for key, value in extra]
    env = {"GIT_CONFIG_COUNT": str(len(pairs))}
    for i, (key, value) in enumerate(pairs):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    return env


def run_git_program(
    command: Sequence[str],
    repo: RepoInfo,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    input: bytes | None = None,
    pass_fds: Sequence[int] = (),
) -> subprocess.CompletedProcess[bytes]:
    """Run a program that drives git itself (git-filter-repo) in ``repo`` under the same
    hardening: the environment of :func:`git_env`, :func:`hardening_env`, and every
    clean/smudge/process filter of the repository switched off (it may check files out).
    ``input`` is its standard input (a pipe); ``pass_fds`` are left open in it. Its output
    is captured; the caller reads the exit status and stderr."""
    cwd = repo.cwd
    try:
        proc = subprocess.run(
            list(command),
            cwd=cwd,
            capture_output=True,
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            env=git_env(hardening_env(filter_overrides(repo))),
            timeout=timeout,
            check=False,
            pass_fds=tuple(pass_fds),
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"{Path(command[0]).name} timed out after {timeout:.0f}s") from None
    except OSError as exc:
        raise GitError(f"cannot run {command[0]} in {cwd}: {exc.strerror or exc}") from None
    return proc


def work_tree_root(path: Path) -> Path | None:
    """The top of the git work tree containing ``path``, or None (not in one, or no git)."""
    if find_git() is None:
        return None
    directory = path if path.is_dir() else path.parent
    if any(special_ref_files(d) for d in git_dirs_of(os.fspath(directory))):
        return None  # git would hang on it; the files are still scanned, without statuses
    proc = run_git(["rev-parse", "--show-toplevel"], directory, check=False, timeout=QUERY_TIMEOUT)
    if proc.returncode != 0:
        return None
    top = proc.stdout.removesuffix(b"\n")  # only git's: a directory's name may end in one
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


# -- repositories ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RepoInfo:
    """What one ``git rev-parse`` says about a repository."""

    git_dir: Path
    """The repository (for a linked worktree, its private directory)."""
    common_dir: Path
    """Where objects and refs live (differs from git_dir in linked worktrees)."""
    work_tree: Path | None
    """Top of the work tree; None for a bare repository."""
    shallow: bool
    object_format: str
    """sha1 or sha256."""
    head: str | None
    """HEAD's commit id; None while HEAD is unborn (before the first commit)."""

    @property
    def cwd(self) -> Path:
        """Where to run git: the work tree, else the repository itself."""
        return self.work_tree or self.git_dir

    @property
    def bare(self) -> bool:
        return self.work_tree is None


def special_ref_files(git_dir: str) -> list[str]:
    """Names (``HEAD``, ``refs/heads/x``) of the places in ``git_dir`` that git reads refs
    and its configuration from and that are not regular files. git opens them as files
    and waits forever on a FIFO (``rev-parse`` on a FIFO ``HEAD``, ``log --all`` and
    ``for-each-ref`` on a FIFO ref), so such a repository is refused before git runs."""
    found = []
    for name in ("HEAD", "config", "packed-refs", "commondir"):
        with contextlib.suppress(OSError):
            if not stat.S_ISREG(os.stat(os.path.join(git_dir, name)).st_mode):
                found.append(name)
    for top, dirs, files in os.walk(os.path.join(git_dir, "refs")):
        for name in (*files, *(d for d in dirs if os.path.islink(os.path.join(top, d)))):
            full = os.path.join(top, name)
            with contextlib.suppress(OSError):
                if not stat.S_ISREG(os.stat(full).st_mode):
                    found.append(os.path.relpath(full, git_dir))
    return sorted(found)


def git_dirs_of(directory: str) -> list[str]:
    """The git directories git would read for ``directory``, found as git finds them but
    without running it: the first ancestor with a ``.git`` entry (a directory; or a file
    naming one, then its ``commondir`` too) or the layout of a git directory (bare)."""
    here = os.path.realpath(directory)
    while True:
        dot_git = os.path.join(here, ".git")
        if os.path.isdir(dot_git):
            return [dot_git]
        if os.path.lexists(dot_git):
            return _linked_git_dirs(here, dot_git)
        if os.path.lexists(os.path.join(here, "HEAD")) and all(
            os.path.isdir(os.path.join(here, d)) for d in ("objects", "refs")
        ):
            return [here]
        parent = os.path.dirname(here)
        if parent == here:
            return []
        here = parent


def _linked_git_dirs(work_tree: str, dot_git: str) -> list[str]:
    """A ``.git`` file's git directory and, for a linked worktree, the common one."""
    from keysentry.regular import read_regular

    # git reads both files whole and drops only the CR and LF at their ends: a space there
    # is part of the name. (A longer name than 4096 bytes is longer than a path can be.)
    try:
        line = read_regular(dot_git, 4096).decode("utf-8", "surrogateescape").rstrip("\r\n")
    except OSError:
        return []  # git says what is wrong with it
    if not line.startswith("gitdir: "):
        return []
    git_dir = os.path.join(work_tree, line[len("gitdir: ") :])
    dirs = [git_dir]
    try:
        common = read_regular(os.path.join(git_dir, "commondir"), 4096)
    except OSError:
        return dirs
    dirs.append(os.path.join(git_dir, common.decode("utf-8", "surrogateescape").rstrip("\r\n")))
    return dirs


def check_ref_files(directory: Path) -> None:
    """Refuse (exit 3) a repository whose refs git would hang on: see
    :func:`special_ref_files`."""
    for git_dir in git_dirs_of(os.fspath(directory)):
        special = special_ref_files(git_dir)
        if special:
            shown = ", ".join(special[:3]) + (
                f" and {len(special) - 3} more" if len(special) > 3 else ""
            )
            raise GitError(
                f"cannot read the repository at {git_dir}: {shown} is not a regular file "
                "(a FIFO or device, which git would wait on forever)"
            )


def discover(path: Path) -> RepoInfo:
    """The repository containing ``path`` (a work tree, a subdirectory, or a git dir)."""
    if not path.exists():
        raise NotARepositoryError(f"path does not exist: {path}")
    directory = path if path.is_dir() else path.parent
    check_ref_files(directory)
    # Relative paths, joined here: the line-per-fact output cannot carry an absolute
    # path that holds a newline (a repository at "a\nb" would read as "a").
    args = [
        "rev-parse", "--path-format=relative", "--git-dir", "--git-common-dir",
        "--is-shallow-repository", "--show-object-format", "--is-inside-work-tree",
        "--show-cdup", "--verify", "-q", "HEAD",
    ]  # fmt: skip
    proc = run_git(args, directory, check=False, timeout=QUERY_TIMEOUT)
    lines = proc.stdout.decode("utf-8", "surrogateescape").split("\n")
    # Exit 1 with all the facts printed means only HEAD did not verify: it is unborn.
    if proc.returncode not in (0, 1) or len(lines) < 5:
        raise git_failure(args, proc.returncode, proc.stderr, directory)
    git_dir, common_dir, shallow, object_format, inside = lines[:5]
    work_tree = None
    rest = lines[5:]
    if inside == "true":
        work_tree = (directory / rest.pop(0)).resolve()
    head = rest[0] if proc.returncode == 0 and rest and rest[0] else None
    return RepoInfo(
        git_dir=(directory / git_dir).resolve(),
        common_dir=(directory / common_dir).resolve(),
        work_tree=work_tree,
        shallow=shallow == "true",
        object_format=object_format,
        head=head,
    )


def read_config(repo: RepoInfo, pattern: str) -> list[tuple[str, str]]:
    """(key, value) of the configuration entries whose key matches ``pattern`` (a regex).

    Reading configuration runs nothing; keys come back lowercased except subsections."""
    proc = run_git(
        ["config", "-z", "--get-regexp", pattern], repo.cwd, check=False, timeout=QUERY_TIMEOUT
    )
    if proc.returncode not in (0, 1):  # 1: nothing matched
        raise git_failure(["config"], proc.returncode, proc.stderr, repo.cwd)
    out: list[tuple[str, str]] = []
    for record in proc.stdout.split(b"\0"):
        if record:
            key, _, value = record.decode("utf-8", "surrogateescape").partition("\n")
            out.append((key, value))
    return out


def neutral_filters(repo: RepoInfo) -> dict[str, str]:
    """Environment that switches off every clean/smudge/process filter the repository
    configures. Needed for commands that may hash work-tree files (``diff-files``).

    GIT_CONFIG_KEY_n is used rather than ``-c`` because a filter's name can hold any
    character, ``=`` included, which ``-c name=value`` cannot express."""
    env: dict[str, str] = {}
    entries = filter_overrides(repo)
    for i, (key, value) in enumerate(entries):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    env["GIT_CONFIG_COUNT"] = str(len(entries))
    return env


def filter_overrides(repo: RepoInfo) -> list[tuple[str, str]]:
    """Settings that empty every filter driver the repository configures."""
    drivers = set()
    for key, _value in read_config(repo, r"^filter\..+\.(clean|smudge|process|required)$"):
        drivers.add(key[len("filter.") : key.rindex(".")])
    return [(f"filter.{d}.{var}", value) for d in sorted(drivers)
            for var, value in (("clean", ""), ("smudge", ""), ("process", ""),
                               ("required", "false"))]  # fmt: skip


def is_partial_clone(repo: RepoInfo) -> bool:
    return bool(read_config(repo, r"^(extensions\.partialclone|remote\..*\.promisor)$"))


# -- streaming ---------------------------------------------------------------


class GitStream:
    """A running git command whose output is read as a stream (cat-file, log).

    ``stdout`` is an unbuffered pipe, enlarged where the OS allows. Input, if any, is
    written by a thread so that a full output pipe can never deadlock the writer.
    Use as a context manager; :meth:`finish` raises GitError if git failed."""

    def __init__(
        self,
        args: Sequence[str],
        cwd: str | Path,
        *,
        input: Iterable[bytes] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.args = tuple(args)
        self.cwd = cwd
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        read_fd, write_fd = os.pipe()
        _enlarge(read_fd)
        try:
            self._proc = subprocess.Popen(
                git_command(args),
                cwd=cwd,
                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                stdout=write_fd,
                stderr=self._stderr,
                env=git_env(env, cwd),
            )
        except OSError as exc:
            os.close(read_fd)
            self._stderr.close()
            raise GitError(f"cannot run git in {cwd}: {exc.strerror or exc}") from None
        finally:
            os.close(write_fd)
        self.stdout: IO[bytes] = open(read_fd, "rb", buffering=0)  # noqa: SIM115
        self._writer: threading.Thread | None = None
        self._write_error: BaseException | None = None
        if input is not None:
            self._writer = threading.Thread(target=self._feed, args=(input,), daemon=True)
            self._writer.start()

    def _feed(self, lines: Iterable[bytes]) -> None:
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            for line in lines:
                stdin.write(line)
        except (BrokenPipeError, OSError):
            pass  # git stopped reading: its exit status tells why
        except BaseException as exc:  # reported by finish()
            self._write_error = exc
        finally:
            with contextlib.suppress(OSError):
                stdin.close()

    def finish(self) -> None:
        """Wait for git; raise GitError if it failed."""
        code = self._proc.wait()
        if self._writer is not None:
            self._writer.join()
        if self._write_error is not None:
            raise self._write_error
        if code != 0:
            raise git_failure(self.args, code, self._said(), self.cwd)

    def _said(self) -> bytes:
        self._stderr.seek(0)
        return self._stderr.read(STDERR_SHOWN)

    def stderr_text(self) -> str:
        """What git said on stderr so far (warnings about unreadable objects, say)."""
        return self._said().decode("utf-8", "replace")

    def raise_if_failed(self, timeout: float = 5.0) -> None:
        """After trouble reading the output: raise git's own error if git failed."""
        try:
            code = self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return
        if code != 0:
            raise git_failure(self.args, code, self._said(), self.cwd)

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self.stdout.close()
        self._stderr.close()

    def __enter__(self) -> GitStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _enlarge(fd: int) -> None:
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_SIZE)
    except (ImportError, OSError):  # not Linux, or above the system's limit: keep the default
        pass

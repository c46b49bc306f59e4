"""The env file that keeps the keys on the developer's machine, and git's view of it.

The env file is created with mode 0600, only appended to (never a line it already
holds, never a change to the lines that are there), ignored through ``.gitignore`` and
untracked, so that the program still runs after the fix and nothing holding the key
is staged."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path

from keysentry.errors import KeysentryError
from keysentry.git import run as gitio
from keysentry.git.planted import is_fifo
from keysentry.rewrite.names import constant_name
from keysentry.rewrite.sites import FileContext, FileSites, Site, occurrences


class EnvFileError(KeysentryError):
    """The env file, ``.gitignore`` or the index could not be updated."""


def env_file_sites(data: bytes, secrets: Sequence[str], ctx: FileContext) -> FileSites:
    status = ctx.git_status
    tracked = status in ("tracked", "staged")
    if tracked:
        how = "untrack the env file (git rm --cached) and ignore it; the file is kept"
    elif status == "untracked":
        how = "ignore the env file (.gitignore); the file is kept"
    else:
        how = "kept: the env file is not in git"
    sites = []
    for secret, start, _end in occurrences(data, secrets):
        line_start = data.rfind(b"\n", 0, start) + 1
        head = data[line_start:start].decode("utf-8", "replace")
        suggest = constant_name(re.sub(r"^\s*export\s+", "", head).split("=")[0])
        sites.append(Site(secret, start, lambda name: [], how, suggest))
    return FileSites(sites, untrack=tracked, ignore=status == "untracked")


def read_env(path: Path) -> dict[str, str]:
    """NAME -> value of an existing env file (python-dotenv's reading of it)."""
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    try:
        values = dotenv_values(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise EnvFileError(f"cannot read {path}: {exc}") from None
    return {k: v for k, v in values.items() if v is not None}


def append_env(path: Path, entries: Mapping[str, str]) -> list[str]:
    """Append ``NAME=value`` for each entry the file does not hold yet; the names added."""
    existing = read_env(path)
    new = {k: v for k, v in entries.items() if existing.get(k) != v}
    if not new:
        return []
    # Never through a symbolic link: a repository could point .env at a file of the
    # user's (a shell profile) and have the keys appended there.
    fd = _open_regular(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600, "write")
    try:
        if os.fstat(fd).st_size:
            with open(path, "rb") as fh:
                fh.seek(-1, os.SEEK_END)
                last = fh.read(1)
            if last != b"\n":
                os.write(fd, b"\n")
        os.write(fd, "".join(f"{k}={v}\n" for k, v in new.items()).encode())
    finally:
        os.close(fd)
    return list(new)


def is_ignored(root: Path, path: Path) -> bool:
    rel = os.path.relpath(path, root)
    proc = gitio.run_git(["check-ignore", "-q", "--no-index", "--", rel], root, check=False)
    return proc.returncode == 0


def ensure_ignored(root: Path, path: Path) -> bool:
    """Add ``path`` to the repository's ``.gitignore`` unless git ignores it already."""
    gitignore = root / ".gitignore"
    if is_fifo(os.fspath(gitignore)):
        # git check-ignore would wait on it forever. (The scan before says so and goes on
        # without git statuses; a FIFO deeper in the tree holds up the scan's own listing.)
        raise EnvFileError(f"cannot read {gitignore}: it is a FIFO")
    if is_ignored(root, path):
        return False
    rel = "/" + Path(os.path.relpath(path, root)).as_posix()
    fd = _open_regular(gitignore, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644, "update")
    try:
        with os.fdopen(fd, "r+b") as fh:
            head = fh.read()
            if head and not head.endswith(b"\n"):
                fh.write(b"\n")
            fh.write(_escape_pattern(rel).encode() + b"\n")
    except OSError as exc:
        raise EnvFileError(f"cannot update {gitignore}: {exc.strerror or exc}") from None
    return True


def _open_regular(path: Path, flags: int, mode: int, verb: str) -> int:
    """``os.open`` of a regular file, never through a link. A FIFO or device a repository
    planted in its place is refused: opening one to write, or reading it, waits forever
    (O_NONBLOCK makes the open itself return; a regular file ignores it)."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK, mode)
    except OSError as exc:
        raise EnvFileError(f"cannot {verb} {path}: {_why(path, exc)}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise EnvFileError(f"cannot {verb} {path}: it is not a regular file")
    return fd


def _why(path: Path, exc: OSError) -> str:
    if path.is_symlink():
        return "it is a symbolic link, which keysentry fix does not follow"
    if path.exists() and not path.is_file() and not path.is_dir():
        return "it is not a regular file"
    return exc.strerror or str(exc)


def _escape_pattern(rel: str) -> str:
    return re.sub(r"([*?\[\]!#\\ ])", r"\\\1", rel)


def _pathspec(root: Path, path: Path) -> str:
    """The one file ``path``, as a pathspec: its name comes from the scanned repository
    and may hold ``*``, ``[`` or a leading ``:(...)``, which git would otherwise read as a
    pattern (``git rm --cached -- '*.env'`` untracks every env file)."""
    return ":(literal)" + os.path.relpath(path, root)


def is_tracked(root: Path, path: Path) -> bool:
    # ls-files prints the file when the index holds it, nothing otherwise; the pathspec
    # starts with ":(literal)", never taken for an option.
    proc = gitio.run_git(["ls-files", _pathspec(root, path)], root, check=False)
    return bool(proc.stdout)


def untrack(root: Path, path: Path) -> bool:
    """``git rm --cached`` the file (the work tree keeps it). True when it was tracked."""
    if not is_tracked(root, path):
        return False
    gitio.run_git(["rm", "--cached", "-q", "--", _pathspec(root, path)], root)
    return True


def in_head(root: Path, rel: str, secrets: Sequence[str]) -> set[str]:
    """Which of ``secrets`` the committed version (HEAD) of ``rel`` holds."""
    proc = gitio.run_git(["cat-file", "blob", f"HEAD:{rel}"], root, check=False)
    if proc.returncode != 0:
        return set()
    return {s for s in secrets if s.encode() in proc.stdout}

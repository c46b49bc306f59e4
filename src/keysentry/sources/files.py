"""Files and directories (and stdin) as scan inputs.

Paths are plain strings and directory entries come from ``os.scandir`` so that
walking tens of thousands of files costs no more than a stat-free listing: the
entry's type comes from the directory itself, and no per-file stat is needed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keysentry.errors import GitError, UsageError
from keysentry.git import run as gitio
from keysentry.git.planted import is_fifo
from keysentry.git.roots import target_key
from keysentry.models import GitStatus, Issue

if TYPE_CHECKING:
    from pathspec import PathSpec

STDIN = "-"


@dataclass(frozen=True, slots=True)
class Excludes:
    """Exclude patterns (gitignore syntax), matched against paths relative to a root
    (the repository root of the configuration they come from)."""

    spec: PathSpec[Any]
    origins: tuple[str, ...]
    """For each pattern, where it came from: ``'dist/' in /repo/.keysentry.toml``."""

    @classmethod
    def build(cls, patterns: Sequence[tuple[str, str]]) -> Excludes | None:
        """From ``(pattern, origin)`` pairs; None when there is none."""
        if not patterns:
            return None
        from pathspec import PathSpec
        from pathspec.util import lookup_pattern

        factory = lookup_pattern("gitignore")
        # One pattern object per line (blank lines and comments included) keeps
        # check_file's index aligned with the origins.
        spec = PathSpec([factory(pattern) for pattern, _ in patterns])
        return cls(spec, tuple(origin for _, origin in patterns))

    def match(self, rel: str) -> str | None:
        """The origin of the pattern that excludes ``rel`` (a directory ends in /), or None."""
        result = self.spec.check_file(rel)
        if not result.include or result.index is None:
            return None
        return self.origins[result.index]


def distinct_targets(targets: Sequence[str]) -> tuple[list[str], list[str]]:
    """(targets to walk, targets skipped because another one already covers them).

    Targets are compared by real path (the last component is not resolved: a symbolic
    link target stays a link), so ``. app.py ./app.py`` or ``dir dir/sub`` read each file
    once. A file inside a ``.git`` directory named on its own is kept: the walk skips those."""
    keys: list[tuple[str, str, bool | None]] = []
    for target in targets:
        if target == STDIN:
            keys.append((target, STDIN, False))
            continue
        key = target_key(target)
        try:
            is_dir: bool | None = stat.S_ISDIR(os.lstat(target).st_mode)
        except OSError:
            is_dir = None  # kept: the walk says it does not exist
        keys.append((target, key, is_dir))
    dirs = {(key, key if key.endswith("/") else key + "/") for _, key, is_dir in keys if is_dir}
    kept: list[str] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for target, key, exists in keys:
        covered = exists is not None and (
            key in seen
            or any(
                key != d and key.startswith(prefix) and ".git" not in key[len(prefix) :].split("/")
                for d, prefix in dirs
            )
        )
        (skipped if covered else kept).append(target)
        seen.add(key)
    return kept, skipped


@dataclass(frozen=True, slots=True)
class FileInput:
    path: str
    """As shown to the user: below the given target, joined to it."""
    fs_path: str | None
    """None for stdin."""
    git_status: GitStatus | None = None


@dataclass(slots=True)
class _GitIndex:
    """Tracked / untracked / ignored for the files of one work tree."""

    root: str
    tracked: set[bytes] = field(default_factory=set)
    ignored: set[bytes] = field(default_factory=set)

    def status(self, path: str) -> GitStatus:
        rel = os.fsencode(os.path.relpath(path, self.root))
        if rel in self.tracked:
            return "tracked"
        if rel in self.ignored:
            return "ignored"
        parts = rel.split(b"/")
        for i in range(1, len(parts)):
            if b"/".join(parts[:i]) + b"/" in self.ignored:
                return "ignored"
        return "untracked"


class FileWalker:
    """Yields the regular files under the targets; everything else becomes an Issue.

    Excluded paths become entries of ``excluded`` (with the pattern's origin as detail):
    an excluded directory is one entry, and is not read."""

    def __init__(self, *, git_status: bool = True) -> None:
        self.git_status = git_status
        self.issues: list[Issue] = []
        self.excluded: list[Issue] = []
        self.skipped_git_dirs = 0
        self._indexes: dict[str, _GitIndex | None] = {}

    def walk(
        self, target: str, excludes: Excludes | None = None, root: str | None = None
    ) -> Iterator[FileInput]:
        """One target. ``excludes`` match paths relative to ``root`` (a real path; default:
        the target directory, or a file target's directory)."""
        if target == STDIN:
            yield FileInput("<stdin>", None)
            return
        try:
            st = os.lstat(target)
        except FileNotFoundError:
            raise UsageError(f"path does not exist: {target}") from None
        except OSError as exc:
            raise UsageError(f"cannot access {target}: {exc.strerror or exc}") from None
        is_dir = stat.S_ISDIR(st.st_mode)
        prefix = ""
        if excludes is not None:
            real = target_key(target)
            base = root if root is not None else (real if is_dir else os.path.dirname(real))
            rel = os.path.relpath(real, base).replace(os.sep, "/")
            prefix = "" if rel == "." else rel + ("/" if is_dir else "")
            if prefix.startswith("../"):
                prefix = ""  # outside its root (cannot happen for a resolved root): as a root
            if prefix and self._excluded(target, prefix, excludes):
                return
        if stat.S_ISLNK(st.st_mode):
            self.issues.append(Issue("symlink", target, "symbolic link not followed"))
        elif is_dir:
            yield from self._walk_dir(target, prefix, excludes)
        elif not stat.S_ISREG(st.st_mode):
            self.issues.append(Issue("not-regular", target, "not a regular file"))
        elif os.path.basename(target) != ".git":
            directory = os.path.dirname(target) or "."
            index = self._dir_index(directory)
            status = None
            if index is not None:
                status = index.status(
                    os.path.join(os.path.realpath(directory), os.path.basename(target))
                )
            yield FileInput(target, target, status)

    def _walk_dir(self, root: str, prefix: str, excludes: Excludes | None) -> Iterator[FileInput]:
        shown_root = "" if root in (".", "./") else root.rstrip("/") + "/"
        fs_root = root.rstrip("/") + "/" if root != "/" else "/"
        stack = [""]  # directories relative to root, "" or ending in "/"
        while stack:
            rel_dir = stack.pop()
            fs_dir = fs_root + rel_dir
            try:
                with os.scandir(fs_dir) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as exc:
                self.issues.append(
                    Issue("unreadable", shown_root + rel_dir or root, exc.strerror or str(exc))
                )
                continue
            index = self._dir_index(fs_dir)
            real_dir = os.path.realpath(fs_dir) + "/" if index is not None else ""
            subdirs: list[str] = []
            for entry in entries:
                rel = rel_dir + entry.name
                try:
                    link = entry.is_symlink()
                    is_dir = not link and entry.is_dir(follow_symlinks=False)
                    regular = not link and not is_dir and entry.is_file(follow_symlinks=False)
                except OSError as exc:
                    self.issues.append(
                        Issue("unreadable", shown_root + rel, exc.strerror or str(exc))
                    )
                    continue
                if entry.name == ".git" and (is_dir or regular):
                    # A repository's own .git (or a worktree's or submodule's .git file):
                    # history is `keysentry history`'s job.
                    self.skipped_git_dirs += 1
                    continue
                slash = "/" if is_dir else ""
                if excludes is not None and self._excluded(
                    shown_root + rel + slash, prefix + rel + slash, excludes
                ):
                    continue
                if link:
                    self.issues.append(
                        Issue("symlink", shown_root + rel, "symbolic link not followed")
                    )
                elif is_dir:
                    subdirs.append(rel + "/")
                elif not regular:
                    self.issues.append(Issue("not-regular", shown_root + rel, "not a regular file"))
                else:
                    status = None if index is None else index.status(real_dir + entry.name)
                    yield FileInput(shown_root + rel, fs_root + rel, status)
            stack.extend(reversed(subdirs))

    def _excluded(self, shown: str, rel: str, excludes: Excludes) -> bool:
        origin = excludes.match(rel)
        if origin is None:
            return False
        self.excluded.append(Issue("excluded", shown, origin))
        return True

    # -- git status ------------------------------------------------------------

    def _dir_index(self, directory: str) -> _GitIndex | None:
        if not self.git_status:
            return None
        real = os.path.realpath(directory)
        if real not in self._indexes:
            self._index_for(real)
        return self._indexes[real]

    def _index_for(self, directory: str) -> _GitIndex | None:
        # Walk up to a directory already known or holding .git: every directory on the
        # way belongs to the same work tree (or to none). At most one git call per tree.
        chain: list[str] = []
        here = directory
        while (
            here not in self._indexes
            and not os.path.lexists(os.path.join(here, ".git"))
            and os.path.dirname(here) != here
        ):
            chain.append(here)
            here = os.path.dirname(here)
        index = self._indexes[here] if here in self._indexes else self._lookup(here)
        for path in (*chain, here):
            self._indexes[path] = index
        return index

    def _lookup(self, directory: str) -> _GitIndex | None:
        if not os.path.lexists(os.path.join(directory, ".git")):
            return None
        root = gitio.work_tree_root(Path(directory))
        if root is None:
            return None
        real_root = os.path.realpath(root)
        for index in self._indexes.values():
            if index is not None and index.root == real_root:
                return index
        if is_fifo(os.path.join(real_root, ".gitignore")):
            # git reads it for the ignored files (ls-files --exclude-standard), and would wait
            # on it until the timeout: say so now instead.
            detail = ".gitignore is a FIFO, which git would wait on reading it"
            self.issues.append(Issue("git-status", directory, detail))
            return None
        try:
            tracked = gitio.list_paths(Path(real_root), ignored=False)
            ignored = gitio.list_paths(Path(real_root), ignored=True)
        except GitError as exc:  # a broken repository must not stop a directory scan
            self.issues.append(Issue("git-status", directory, str(exc)))
            return None
        return _GitIndex(real_root, tracked, ignored)

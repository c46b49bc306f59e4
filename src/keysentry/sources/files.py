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

from keysentry import gitio
from keysentry.errors import GitError, UsageError
from keysentry.models import GitStatus, Issue

if TYPE_CHECKING:
    from pathspec import PathSpec

STDIN = "-"


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
    """Yields the regular files under the targets; everything else becomes an Issue."""

    def __init__(self, excludes: PathSpec[Any] | None = None, *, git_status: bool = True) -> None:
        self.excludes = excludes
        self.git_status = git_status
        self.issues: list[Issue] = []
        self.skipped_git_dirs = 0
        self._indexes: dict[str, _GitIndex | None] = {}

    def walk(self, targets: Sequence[str]) -> Iterator[FileInput]:
        for target in targets:
            if target == STDIN:
                yield FileInput("<stdin>", None)
                continue
            try:
                st = os.lstat(target)
            except FileNotFoundError:
                raise UsageError(f"path does not exist: {target}") from None
            except OSError as exc:
                raise UsageError(f"cannot access {target}: {exc.strerror or exc}") from None
            if stat.S_ISLNK(st.st_mode):
                self.issues.append(Issue("symlink", target, "symbolic link not followed"))
            elif stat.S_ISDIR(st.st_mode):
                yield from self._walk_dir(target)
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

    def _walk_dir(self, root: str) -> Iterator[FileInput]:
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
                    if entry.is_symlink():
                        self.issues.append(
                            Issue("symlink", shown_root + rel, "symbolic link not followed")
                        )
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        if entry.name == ".git":
                            self.skipped_git_dirs += 1
                        elif not self._excluded(rel + "/"):
                            subdirs.append(rel + "/")
                        continue
                    regular = entry.is_file(follow_symlinks=False)
                except OSError as exc:
                    self.issues.append(
                        Issue("unreadable", shown_root + rel, exc.strerror or str(exc))
                    )
                    continue
                if self._excluded(rel):
                    continue
                if not regular:
                    self.issues.append(Issue("not-regular", shown_root + rel, "not a regular file"))
                elif entry.name == ".git":  # a worktree's or submodule's .git file: a path only
                    self.skipped_git_dirs += 1
                else:
                    status = None if index is None else index.status(real_dir + entry.name)
                    yield FileInput(shown_root + rel, fs_root + rel, status)
            stack.extend(reversed(subdirs))

    def _excluded(self, rel: str) -> bool:
        return self.excludes is not None and self.excludes.match_file(rel)

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
        try:
            tracked = gitio.list_paths(Path(real_root), ignored=False)
            ignored = gitio.list_paths(Path(real_root), ignored=True)
        except GitError as exc:  # a broken repository must not stop a directory scan
            self.issues.append(Issue("git-status", directory, str(exc)))
            return None
        return _GitIndex(real_root, tracked, ignored)

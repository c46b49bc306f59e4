"""Files and directories (and stdin) as scan inputs."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from keysentry import gitio
from keysentry.errors import GitError, UsageError
from keysentry.models import GitStatus, Issue

if TYPE_CHECKING:
    from pathspec import PathSpec

STDIN = "-"


@dataclass(frozen=True, slots=True)
class FileInput:
    path: str
    """As shown to the user: relative to the given target when walking a directory."""
    fs_path: Path | None
    """None for stdin."""
    size: int
    git_status: GitStatus | None = None


@dataclass(slots=True)
class _GitIndex:
    """Tracked / untracked / ignored for the files of one work tree."""

    root: Path
    tracked: set[bytes] = field(default_factory=set)
    ignored: set[bytes] = field(default_factory=set)

    def status(self, path: Path) -> GitStatus:
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

    def __init__(self, excludes: PathSpec | None = None, *, git_status: bool = True) -> None:
        self.excludes = excludes
        self.git_status = git_status
        self.issues: list[Issue] = []
        self.skipped_git_dirs = 0
        self._indexes: dict[Path, _GitIndex | None] = {}
        self._resolved: dict[Path, Path] = {}

    def walk(self, targets: Sequence[str]) -> Iterator[FileInput]:
        for target in targets:
            if target == STDIN:
                yield FileInput("<stdin>", None, -1)
                continue
            path = Path(target)
            try:
                st = path.lstat()
            except FileNotFoundError:
                raise UsageError(f"path does not exist: {target}") from None
            except OSError as exc:
                raise UsageError(f"cannot access {target}: {exc.strerror or exc}") from None
            if stat.S_ISLNK(st.st_mode):
                self.issues.append(Issue("symlink", target, "symbolic link not followed"))
            elif stat.S_ISDIR(st.st_mode):
                yield from self._walk_dir(path, target)
            else:
                item = self._file(path, target, st)
                if item is not None:
                    yield item

    def _walk_dir(self, root: Path, shown_root: str) -> Iterator[FileInput]:
        stack = [root]
        while stack:
            directory = stack.pop()
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except OSError as exc:
                shown = _shown(shown_root, root, Path(directory))
                self.issues.append(Issue("unreadable", shown, exc.strerror or str(exc)))
                continue
            subdirs: list[Path] = []
            for entry in entries:
                path = Path(entry.path)
                rel = path.relative_to(root).as_posix()
                shown = _shown(shown_root, root, path)
                try:
                    is_link = entry.is_symlink()
                    is_dir = not is_link and entry.is_dir(follow_symlinks=False)
                except OSError as exc:
                    self.issues.append(Issue("unreadable", shown, exc.strerror or str(exc)))
                    continue
                if is_link:
                    self.issues.append(Issue("symlink", shown, "symbolic link not followed"))
                    continue
                if is_dir:
                    if entry.name == ".git":
                        self.skipped_git_dirs += 1
                        continue
                    if self._excluded(rel + "/"):
                        continue
                    subdirs.append(path)
                    continue
                if self._excluded(rel):
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError as exc:
                    self.issues.append(Issue("unreadable", shown, exc.strerror or str(exc)))
                    continue
                item = self._file(path, shown, st)
                if item is not None:
                    yield item
            stack.extend(reversed(subdirs))

    def _file(self, path: Path, shown: str, st: os.stat_result) -> FileInput | None:
        if not stat.S_ISREG(st.st_mode):
            self.issues.append(Issue("not-regular", shown, "not a regular file"))
            return None
        if path.name == ".git":  # a worktree's or submodule's .git file holds a path only
            self.skipped_git_dirs += 1
            return None
        return FileInput(shown, path, st.st_size, self._status(path))

    def _excluded(self, rel: str) -> bool:
        return self.excludes is not None and self.excludes.match_file(rel)

    def _status(self, path: Path) -> GitStatus | None:
        if not self.git_status:
            return None
        directory = path.parent
        if directory not in self._resolved:
            resolved = directory.resolve()
            self._resolved[directory] = resolved
            if resolved not in self._indexes:
                self._indexes[resolved] = self._index_for(resolved)
        resolved = self._resolved[directory]
        index = self._indexes[resolved]
        return index.status(resolved / path.name) if index is not None else None

    def _index_for(self, directory: Path) -> _GitIndex | None:
        # The walk is top-down, so the parent is known: a directory without its own
        # .git belongs to the parent's work tree (or to none). One git call per tree.
        parent = directory.parent
        if parent != directory and parent in self._indexes and not (directory / ".git").exists():
            return self._indexes[parent]
        root = gitio.work_tree_root(directory)
        if root is None:
            return None
        root = root.resolve()
        for index in self._indexes.values():
            if index is not None and index.root == root:
                return index
        try:
            tracked = gitio.list_paths(root, ignored=False)
            ignored = gitio.list_paths(root, ignored=True)
        except GitError as exc:  # a broken repository must not stop a directory scan
            self.issues.append(Issue("git-status", str(directory), str(exc)))
            return None
        return _GitIndex(root, tracked, ignored)


def _shown(shown_root: str, root: Path, path: Path) -> str:
    rel = path.relative_to(root).as_posix()
    if shown_root in (".", "./"):
        return rel
    return f"{shown_root.rstrip('/')}/{rel}" if rel != "." else shown_root

"""`keysentry staged`: what the next commit would contain, for pre-commit hooks.

The index versions of added, copied, modified, renamed and type-changed files are
read with ``git cat-file --batch`` (``git add -p`` stages part of a file: the staged
content is what gets committed, so that is what is scanned, with its line numbers).
Rename detection is off on purpose: it would read every candidate blob, and a
renamed file appears as added under its new path anyway.

This is the latency-critical path: it imports nothing it does not use, and runs
three git commands (five with ``--all-changes``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from keysentry.console.wording import staged_note
from keysentry.detect.scanner import Scanner, Tally
from keysentry.errors import UsageError
from keysentry.findings.build import InputContext
from keysentry.git import run as gitio
from keysentry.git.run import RepoInfo
from keysentry.models import GitStatus, Issue
from keysentry.sources.catfile import BatchReader, Block, LargeObject, Missing
from keysentry.sources.files import Excludes
from keysentry.sources.gathered import Gathered
from keysentry.sources.paths import scan_names

GITLINK = "160000"
SYMLINK = "120000"


@dataclass(frozen=True, slots=True)
class Entry:
    """One path of a raw diff: the new side's mode and object, and the status letter."""

    path: str
    mode: str
    oid: str
    status: str


def collect_staged(
    scanner: Scanner,
    target: Path,
    *,
    all_changes: bool = False,
    paths: Sequence[str] = (),
    excludes: Excludes | None = None,
) -> Gathered:
    """Scan the index versions of what is staged (and, asked, the work tree's changes).

    ``excludes`` match paths relative to the work tree's top, as for ``scan``."""
    repo = gitio.discover(target)
    root = repo.work_tree
    if root is None:
        raise UsageError(f"{target} is a bare repository: it has no index to scan (use history)")
    pathspec = _pathspec(root, paths)
    gathered = Gathered()
    entries = staged_entries(repo, pathspec)
    wanted: dict[str, list[str]] = {}
    for entry in entries:
        if entry.status != "D" and _excluded(gathered, excludes, entry.path):
            continue
        if entry.mode == GITLINK:
            gathered.notes.append(f"submodule {entry.path}: gitlink skipped (scan it on its own)")
            gathered.counters["submodules_skipped"] += 1
        elif entry.status != "D":
            wanted.setdefault(entry.oid, []).append(entry.path)
    _scan_blobs(repo, wanted, scanner, gathered)
    # What the commit adds includes the names (a submodule's too): see sources.paths.
    staged_names = [
        (entry.path, None)
        for entry in entries
        if entry.status != "D" and not _excluded_quietly(excludes, entry.path)
    ]
    for tally, ctx in scan_names(scanner, staged_names):
        gathered.add(tally, ctx)
    gathered.notes.append(staged_note(sum(len(p) for p in wanted.values()), repo.head is not None))
    if all_changes:
        _scan_work_tree(repo, root, pathspec, scanner, gathered, excludes)
    return gathered


def _excluded_quietly(excludes: Excludes | None, path: str) -> bool:
    """Excluded (already counted and listed by :func:`_excluded`)."""
    return excludes is not None and excludes.match(path) is not None


def _excluded(gathered: Gathered, excludes: Excludes | None, path: str) -> bool:
    origin = None if excludes is None else excludes.match(path)
    if origin is not None:
        gathered.excluded.append(Issue("excluded", _shown(path), origin))
    return origin is not None


def _pathspec(root: Path, paths: Sequence[str]) -> list[str]:
    """User paths (relative to the current directory) as literal, root-relative pathspecs."""
    out = []
    for p in paths:
        rel = os.path.relpath(os.path.abspath(p), root)
        if rel.startswith(".."):
            raise UsageError(f"{p} is outside the repository at {root}")
        out.append(":(literal)" + rel.replace(os.sep, "/"))
    return ["--", *out] if out else []


def staged_entries(repo: RepoInfo, pathspec: Sequence[str]) -> list[Entry]:
    if repo.head is None:
        # Before the first commit everything in the index is new.
        out = gitio.run_git(["ls-files", "--stage", "-z", *pathspec], repo.cwd).stdout
        entries = []
        for record in out.split(b"\0"):
            if record:
                meta, _, path = record.partition(b"\t")
                mode, oid, _stage = meta.decode("ascii").split(" ")
                entries.append(Entry(_decode(path), mode, oid, "A"))
        return entries
    args = ["diff-index", "--cached", "-z", "--no-renames", "--no-textconv", "--no-ext-diff",
            repo.head, *pathspec]  # fmt: skip
    entries = parse_raw(gitio.run_git(args, repo.cwd).stdout)
    unmerged = [e.path for e in entries if e.status == "U"]
    if unmerged:
        entries = [e for e in entries if e.status != "U"] + _unmerged(repo, unmerged)
    return entries


def parse_raw(out: bytes) -> list[Entry]:
    """``:srcmode dstmode src dst status\\0path\\0`` records (``--raw -z``, no renames)."""
    fields = out.split(b"\0")
    entries = []
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        parts = meta.decode("ascii").lstrip(":").split(" ")
        if len(parts) >= 5:
            entries.append(Entry(_decode(path), parts[1], parts[3], parts[4][:1]))
    return entries


def _unmerged(repo: RepoInfo, paths: list[str]) -> list[Entry]:
    """During a conflicted merge: the incoming side ("theirs", stage 3) of each path."""
    spec = ["--", *(":(literal)" + p for p in paths)]
    out = gitio.run_git(["ls-files", "--unmerged", "-z", *spec], repo.cwd).stdout
    entries = []
    for record in out.split(b"\0"):
        meta, _, path = record.partition(b"\t")
        parts = meta.decode("ascii").split(" ")
        if len(parts) == 3 and parts[2] == "3":
            entries.append(Entry(_decode(path), parts[0], parts[1], "U"))
    return entries


def _decode(path: bytes) -> str:
    return path.decode("utf-8", "surrogateescape")


def _shown(path: str) -> str:
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _scan_blobs(
    repo: RepoInfo, wanted: dict[str, list[str]], scanner: Scanner, gathered: Gathered
) -> None:
    if not wanted:
        return
    names = {oid: [_shown(p) for p in paths] for oid, paths in wanted.items()}
    lines = ["".join(oid + "\n" for oid in wanted).encode()]
    with gitio.GitStream(["cat-file", "--batch"], repo.cwd, input=lines) as proc:
        # Small buffers: a commit's few blobs; anything larger is streamed.
        for item in BatchReader(proc.stdout, block_size=2**20, large=2**19):
            if isinstance(item, Block):
                try:
                    for raw_oid, _kind, start, end in item.objects:
                        oid = raw_oid.decode()
                        tally = scanner.scan_bytes(bytes(item.data[start:end]), names[oid][0])
                        _record(gathered, names[oid], oid, end - start, tally)
                finally:
                    item.release()
            elif isinstance(item, LargeObject):
                oid = item.oid.decode()
                stream = cast(BinaryIO, item.stream)
                tally = scanner.scan_file(stream, names[oid][0])
                _record(gathered, names[oid], oid, item.size, tally)
            elif isinstance(item, Missing):
                for path in names.get(item.oid.decode(), []):
                    gathered.issues.append(
                        Issue("missing-object", path, "staged blob is not in the object store")
                    )
        proc.finish()


def _record(gathered: Gathered, paths: list[str], oid: str, size: int, tally: Tally) -> None:
    """One blob staged at one or more paths: the same hits at each; issues once."""
    tally.counters.pop("bytes", None)
    gathered.counters["blobs"] += 1
    gathered.counters["bytes"] += size
    gathered.add(tally, InputContext(paths[0], "staged", blob=oid))
    for path in paths[1:]:
        gathered.add(Tally(hits=tally.hits), InputContext(path, "staged", blob=oid))


# -- --all-changes -------------------------------------------------------------


def _scan_work_tree(
    repo: RepoInfo,
    root: Path,
    pathspec: Sequence[str],
    scanner: Scanner,
    gathered: Gathered,
    excludes: Excludes | None,
) -> None:
    """Unstaged edits of tracked files, and untracked files that are not ignored."""
    # diff-files may hash a work-tree file to compare it, which would run the
    # repository's clean filter: every configured filter is switched off first.
    env = gitio.neutral_filters(repo)
    args = ["diff-files", "-z", "--no-renames", "--ignore-submodules=all", "--no-textconv",
            "--no-ext-diff", *pathspec]  # fmt: skip
    changed = parse_raw(gitio.run_git(args, repo.cwd, env=env).stdout)
    modified = [e.path for e in changed if e.status != "D" and e.mode != GITLINK]
    out = gitio.run_git(
        ["ls-files", "-z", "--others", "--exclude-standard", *pathspec], repo.cwd, env=env
    ).stdout
    untracked = [_decode(p) for p in out.split(b"\0") if p and not p.endswith(b"/")]
    modified = [p for p in modified if not _excluded(gathered, excludes, p)]
    untracked = [p for p in untracked if not _excluded(gathered, excludes, p)]
    for path in modified:
        _scan_file(root, path, "tracked", scanner, gathered)
    for path in untracked:
        _scan_file(root, path, "untracked", scanner, gathered)
    for tally, ctx in scan_names(scanner, [(p, "untracked") for p in untracked]):
        gathered.add(tally, ctx)
    gathered.notes.append(
        f"--all-changes: {len(modified)} unstaged edit(s) and {len(untracked)} untracked "
        "file(s) from the work tree"
    )


def _scan_file(
    root: Path, path: str, status: GitStatus, scanner: Scanner, gathered: Gathered
) -> None:
    fs_path = root / path
    shown = _shown(path)
    try:
        st = fs_path.lstat()
        if stat.S_ISLNK(st.st_mode):
            gathered.issues.append(Issue("symlink", shown, "symbolic link not followed"))
            return
        if not stat.S_ISREG(st.st_mode):
            gathered.issues.append(Issue("not-regular", shown, "not a regular file"))
            return
        with open(fs_path, "rb") as fh:
            tally = scanner.scan_file(fh, shown)
    except OSError as exc:
        gathered.issues.append(Issue("unreadable", shown, exc.strerror or str(exc)))
        return
    tally.counters.pop("bytes", None)
    gathered.counters["files"] += 1
    gathered.counters["bytes"] += st.st_size
    gathered.add(tally, InputContext(shown, "file", git_status=status))

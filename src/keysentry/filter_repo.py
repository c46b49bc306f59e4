"""Rewrite a repository's history with git-filter-repo: the engine of ``keysentry purge``.

Source-level: it knows git and git-filter-repo, not findings. The keys reach
git-filter-repo only through expression files written with mode 0600 in a private
folder (``tempfile.mkdtemp``, mode 0700) that is deleted afterwards; never through argv,
which other users can read in the process list. git-filter-repo runs as a subprocess
under the same hardening as every git keysentry runs (:func:`gitio.run_git_program`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from keysentry.errors import GitError
from keysentry.gitio import RepoInfo, neutral_filters, run_git, run_git_program

BINARY_PROBE = 8192
"""git-filter-repo's own test: a NUL byte in a blob's first 8 KiB makes it binary, and
``--replace-text`` leaves binary blobs alone."""
_IDENTITY = {
    "GIT_COMMITTER_NAME": "keysentry purge",
    "GIT_COMMITTER_EMAIL": "keysentry@localhost",
    "GIT_AUTHOR_NAME": "keysentry purge",
    "GIT_AUTHOR_EMAIL": "keysentry@localhost",
}


@dataclass(frozen=True, slots=True)
class Rewrite:
    """What git-filter-repo did, read from the metadata it leaves behind."""

    commits: int
    """Commits git-filter-repo processed."""
    commits_rewritten: int
    """Of those, commits whose id changed."""
    refs_updated: tuple[str, ...]
    metadata_dir: Path
    """``<git dir>/filter-repo``: ``commit-map`` (old and new id per commit) and ``ref-map``."""

    @property
    def commit_map(self) -> Path:
        return self.metadata_dir / "commit-map"


def mirror_clone(source: RepoInfo, into: Path) -> None:
    """``git clone --mirror --no-local``: every ref of the source (branches, tags, notes,
    remote-tracking refs, stash), but only the objects they reach, copied through the pack
    protocol rather than hard-linked, so nothing in ``into`` is shared with the source."""
    args = ["-c", "protocol.file.allow=always", "clone", "--mirror", "--no-local", "-q"]
    run_git([*args, "--", str(source.common_dir), str(into)], into.parent)


def binary_blobs(repo: RepoInfo, oids: Sequence[str]) -> set[str]:
    """The blobs among ``oids`` git-filter-repo treats as binary (it will not edit them)."""
    if not oids:
        return set()
    data = run_git(
        ["cat-file", "--batch"], repo.cwd, input="".join(f"{o}\n" for o in oids).encode()
    )
    out: set[str] = set()
    pos, raw = 0, data.stdout
    for oid in oids:
        end = raw.index(b"\n", pos)
        header = raw[pos:end].split()
        pos = end + 1
        if len(header) < 3 or header[1] == b"missing":
            continue
        size = int(header[2])
        if b"\0" in raw[pos : pos + min(size, BINARY_PROBE)]:
            out.add(oid)
        pos += size + 1
    return out


def dirty_paths(repo: RepoInfo) -> list[str]:
    """Staged, modified and untracked (not ignored) paths of the work tree."""
    if repo.work_tree is None:
        return []
    out = run_git(["status", "--porcelain=v1", "-z"], repo.work_tree, env=neutral_filters(repo))
    return [e[3:].decode("utf-8", "surrogateescape") for e in out.stdout.split(b"\0") if e]


def worktree_count(repo: RepoInfo) -> int:
    out = run_git(["worktree", "list", "--porcelain", "-z"], repo.cwd).stdout
    return sum(1 for field in out.split(b"\0") if field.startswith(b"worktree "))


def rewrite(
    repo: RepoInfo,
    keys: Sequence[str],
    replacement: str,
    *,
    remove_paths: Sequence[str] = (),
    in_place: bool = False,
) -> Rewrite:
    """Replace every key by ``replacement`` in blobs, commit and tag messages, on every ref;
    drop ``remove_paths`` from every commit; then expire reflogs and prune, so that the old
    objects are gone from the object store too.

    ``--partial`` keeps git-filter-repo from renaming ``refs/remotes/origin/*`` to branches
    and from removing the ``origin`` remote (a mirror carries the source's remote-tracking
    refs as they are); the clean-up it then skips is done here with hardened git."""
    if importlib.util.find_spec("git_filter_repo") is None:
        raise GitError("git-filter-repo is not installed: `pip install git-filter-repo`")
    with private_folder() as folder:
        text = _write_private(folder / "replace-text", _expressions(keys, replacement))
        command = [
            sys.executable, "-m", "git_filter_repo", "--force", "--partial", "--quiet",
            "--replace-refs", "update-no-add",
            # The same commits before and after: a commit that only added a removed file
            # stays, empty, with its message.
            "--prune-empty", "never", "--prune-degenerate", "never",
            "--replace-text", str(text), "--replace-message", str(text),
        ]  # fmt: skip
        if remove_paths:
            listed = _write_private(folder / "paths", _path_expressions(remove_paths))
            command += ["--invert-paths", "--paths-from-file", str(listed)]
        proc = run_git_program(command, repo)
    if proc.returncode != 0:
        said = proc.stderr.decode("utf-8", "replace").strip()[-600:]
        raise GitError(f"git-filter-repo failed (exit {proc.returncode}): {said}")
    metadata = repo.git_dir / "filter-repo"
    result = _read_metadata(metadata)
    remap_notes(repo, metadata / "commit-map")
    if in_place and repo.work_tree is not None:
        run_git(["reset", "--hard", "-q"], repo.work_tree, env=neutral_filters(repo))
    run_git(["reflog", "expire", "--expire=now", "--all"], repo.cwd)
    run_git(["gc", "-q", "--prune=now"], repo.cwd)
    return result


def remap_notes(repo: RepoInfo, commit_map: Path) -> None:
    """git-filter-repo rewrites a note's text but leaves it filed under the old commit id;
    move each note to its commit's new id, so ``git log --notes`` still shows it."""
    refs = run_git(["for-each-ref", "--format=%(refname)", "refs/notes/"], repo.cwd).stdout
    pairs = _changed_commits(commit_map)
    for ref in refs.decode("utf-8", "surrogateescape").split():
        listed = run_git(["notes", "--ref", ref, "list"], repo.cwd).stdout.decode().split()
        annotated = set(listed[1::2])
        moves = [(old, new) for old, new in pairs if old in annotated]
        if not moves:
            continue
        copies = "".join(f"{old} {new}\n" for old, new in moves).encode()
        run_git(["notes", "--ref", ref, "copy", "--stdin"], repo.cwd, input=copies, env=_IDENTITY)
        olds = "".join(f"{old}\n" for old, _ in moves).encode()
        run_git(["notes", "--ref", ref, "remove", "--stdin"], repo.cwd, input=olds, env=_IDENTITY)


@contextlib.contextmanager
def private_folder() -> Iterator[Path]:
    """A folder only this user can enter (mkdtemp makes it 0700), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="keysentry-purge-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _write_private(path: Path, lines: Sequence[bytes]) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(fd, "wb") as fh:
        fh.writelines(lines)
    return path


def _expressions(keys: Sequence[str], replacement: str) -> list[bytes]:
    marker = replacement.encode()
    # Longest first: a key never contains another, but a literal list is applied in order.
    return [b"literal:" + k.encode() + b"==>" + marker + b"\n" for k in sorted(keys, key=len)[::-1]]


def _path_expressions(paths: Sequence[str]) -> list[bytes]:
    # A path may hold '#', '==>' or start with 'glob:': an anchored regex matches it exactly.
    return [b"regex:^" + re.escape(os.fsencode(p)) + b"$\n" for p in paths]


def _changed_commits(commit_map: Path) -> list[tuple[str, str]]:
    pairs = []
    for line in commit_map.read_text(encoding="ascii").splitlines()[1:]:
        old, _, new = line.partition(" ")
        new = new.strip()
        if old != new and new.strip("0"):
            pairs.append((old, new))
    return pairs


def _read_metadata(metadata: Path) -> Rewrite:
    try:
        lines = (metadata / "commit-map").read_text(encoding="ascii").splitlines()[1:]
        changed = (metadata / "changed-refs").read_text(encoding="utf-8").split("\n")
    except OSError as exc:
        raise GitError(f"git-filter-repo left no metadata in {metadata}: {exc.strerror}") from None
    rewritten = sum(1 for line in lines if len(set(line.split())) == 2)
    return Rewrite(
        commits=len(lines),
        commits_rewritten=rewritten,
        refs_updated=tuple(r for r in changed if r),
        metadata_dir=metadata,
    )

"""Rewrite a repository's history with git-filter-repo: the engine of ``keysentry purge``.

Source-level: it knows git and git-filter-repo, not findings. git-filter-repo runs as a
library in a child Python (:mod:`keysentry.purge.callbacks`), started isolated
(``-I``: no module is looked up in the repository it runs in) under the same hardening
as every git keysentry runs (:func:`gitio.run_git_program`). The keys reach it only on
its standard input, a pipe: never in a file (nothing with a key outlives the process,
even a killed one), never through argv, which other users can read in the process
list. Refs whose names hold a key are renamed; what git-filter-repo and git leave
behind in the repository (its ref map, the last commit message git kept,
``FETCH_HEAD``: see :data:`LEFTOVERS`) is removed before the old objects are pruned.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from keysentry.errors import GitError
from keysentry.git.run import RepoInfo, neutral_filters, run_git, run_git_program
from keysentry.purge.callbacks import BINARY_PROBE, NOT_INSTALLED

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
    refs_renamed: tuple[tuple[str, str], ...]
    """(old name, new name) of each ref whose name held a key."""
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
    """Replace every key by ``replacement`` in blobs, file and directory names, commit and
    tag messages, identities and ref names, on every ref; drop ``remove_paths`` from every
    commit; then remove what git-filter-repo and git left behind, expire reflogs and
    prune, so that the old objects are gone from the object store too.

    ``--partial`` keeps git-filter-repo from renaming ``refs/remotes/origin/*`` to branches
    and from removing the ``origin`` remote (a mirror carries the source's remote-tracking
    refs as they are); the clean-up it then skips is done here with hardened git."""
    renames = ref_renames(repo, keys, replacement)
    plan: dict[str, object] = {
        "keys": list(keys),
        "replacement": replacement,
        "ref_marker": ref_marker(replacement),
        "refs": [(old.encode().hex(), new.encode().hex()) for old, new in renames],
        "remove": [os.fsencode(p).hex() for p in remove_paths],
    }
    proc = _run_child(repo, plan)
    if proc.returncode != 0:
        said = proc.stderr.decode("utf-8", "replace").strip()[-600:]
        raise GitError(f"git-filter-repo failed (exit {proc.returncode}): {said}")
    metadata = repo.git_dir / "filter-repo"
    result = _read_metadata(metadata, tuple(renames))
    remap_notes(repo, metadata / "commit-map")
    _finish_renames(repo, renames)
    clean_leftovers(repo)
    if in_place and repo.work_tree is not None:
        run_git(["reset", "--hard", "-q"], repo.work_tree, env=neutral_filters(repo))
    run_git(["reflog", "expire", "--expire=now", "--all"], repo.cwd)
    run_git(["gc", "-q", "--prune=now"], repo.cwd)
    return result


CHILD = (sys.executable, "-I", "-m", "keysentry.purge.callbacks")
"""git-filter-repo with keysentry's callbacks, isolated: ``-I`` puts neither the working
directory (the repository) nor ``PYTHONPATH`` on the module path."""


def _run_child(repo: RepoInfo, plan: dict[str, object]) -> subprocess.CompletedProcess[bytes]:
    # The child watches the read end; only this process holds the write end, so the
    # child reads end-of-file the moment this process is gone, however it ended.
    watched, held = os.pipe()
    try:
        data = json.dumps({**plan, "parent_fd": watched}).encode()
        proc = run_git_program(CHILD, repo, input=data, pass_fds=(watched,))
    finally:
        os.close(watched)
        os.close(held)
    if proc.returncode == NOT_INSTALLED and b"not installed" in proc.stderr:
        raise GitError("git-filter-repo is not installed: `pip install git-filter-repo`")
    return proc


def ref_marker(replacement: str) -> str:
    """The marker as it may appear in a ref's name: characters git allows in one."""
    marker = re.sub(r"[^A-Za-z0-9._-]", "_", replacement).strip(".") or "KEY_REMOVED"
    return marker.replace("..", "_")


def ref_renames(repo: RepoInfo, keys: Sequence[str], replacement: str) -> list[tuple[str, str]]:
    """(old, new) for every ref whose name holds a key: the key replaced by the marker
    (a number added when two would become one, or one that exists)."""
    out = run_git(["for-each-ref", "--format=%(refname)%00"], repo.cwd).stdout
    names = [n.lstrip(b"\n").decode("utf-8", "surrogateescape") for n in out.split(b"\0")]
    names = [n for n in names if n]
    taken = set(names)
    marker = ref_marker(replacement)
    renames = []
    for name in names:
        new = name
        for key in sorted(keys, key=len, reverse=True):
            new = new.replace(key, marker)
        if new == name:
            continue
        candidate, n = new, 1
        while candidate in taken or _collides(candidate, taken):
            n += 1
            candidate = f"{new}-{n}"
        taken.add(candidate)
        renames.append((name, candidate))
    return renames


def _collides(name: str, taken: set[str]) -> bool:
    """A ref cannot be both a name and a directory of others (refs/heads/a, refs/heads/a/b)."""
    return any(t.startswith(name + "/") or name.startswith(t + "/") for t in taken)


def _finish_renames(repo: RepoInfo, renames: Sequence[tuple[str, str]]) -> None:
    """git-filter-repo wrote each renamed ref it could export (``--partial`` keeps the old
    one); a ref it could not (one naming a tree or a blob) is moved here. The old names go,
    with their reflogs; HEAD follows its branch. Ref names travel on stdin, not argv."""
    if not renames:
        return
    fmt = "--format=%(refname)%00%(objectname)%00"
    out = run_git(["for-each-ref", fmt], repo.cwd).stdout.split(b"\0")
    now = {
        out[i].lstrip(b"\n").decode("utf-8", "surrogateescape"): out[i + 1].decode()
        for i in range(0, len(out) - 1, 2)
    }
    commands = []
    for old, new in renames:
        if old not in now:
            continue
        if new not in now:
            commands.append(f"create {new} {now[old]}\n")
        commands.append(f"delete {old}\n")
    head = run_git(["symbolic-ref", "-q", "HEAD"], repo.cwd, check=False).stdout.strip()
    if commands:
        run_git(["update-ref", "--stdin"], repo.cwd, input="".join(commands).encode())
    moved = dict(renames).get(head.decode("utf-8", "surrogateescape"))
    if moved is not None:
        run_git(["symbolic-ref", "HEAD", moved], repo.cwd)


LEFTOVERS = ("COMMIT_EDITMSG", "MERGE_MSG", "SQUASH_MSG", "TAG_EDITMSG", "FETCH_HEAD")
"""Files git keeps in its directory with text of the history before the rewrite: the last
commit, merge, squash or tag message typed, the branch names and URLs last fetched.
(``ORIG_HEAD`` holds only a commit id, and ``git gc`` does not keep what it names.)"""
KEPT_METADATA = ("commit-map",)
"""Of git-filter-repo's metadata, what is kept: old and new id of each commit (no names)."""


def clean_leftovers(repo: RepoInfo) -> None:
    """Remove :data:`LEFTOVERS` and git-filter-repo's metadata but its commit map (its ref
    map and changed-refs list name the refs, old names included)."""
    for name in LEFTOVERS:
        for where in {repo.git_dir, repo.common_dir}:
            (where / name).unlink(missing_ok=True)
    metadata = repo.git_dir / "filter-repo"
    if metadata.is_dir():
        for entry in metadata.iterdir():
            if entry.name not in KEPT_METADATA and not entry.is_dir():
                entry.unlink()


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


def _changed_commits(commit_map: Path) -> list[tuple[str, str]]:
    pairs = []
    for line in commit_map.read_text(encoding="ascii").splitlines()[1:]:
        old, _, new = line.partition(" ")
        new = new.strip()
        if old != new and new.strip("0"):
            pairs.append((old, new))
    return pairs


def _read_metadata(metadata: Path, renamed: tuple[tuple[str, str], ...]) -> Rewrite:
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
        refs_renamed=renamed,
        metadata_dir=metadata,
    )

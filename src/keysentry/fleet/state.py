"""The state of a repository's refs, as a digest: the same digest again means nothing to
audit again.

A resume reads it for every local repository, so it is read from the files of git's
"files" ref backend where that is safe (HEAD, ``packed-refs`` and every loose ref: a ref
update rewrites one of them, a deletion removes a file or rewrites ``packed-refs``),
without starting a process; elsewhere (reftable, a linked worktree, an include in the
config, a symbolic link among the refs) git itself lists the refs. A repository whose
refs cannot be read at all gets a signature of its layout instead, so that a repository
failing for a reason of its own is not retried until something in it changes.

The two ways give different digests for the same refs; which one a repository gets
depends only on its layout, so two runs over an unchanged repository agree. Packing
refs (``git pack-refs``, ``git gc``) changes the digest without changing a ref: that
costs one scan, never a missed one.

What is stored and compared is :func:`audit_state`: the refs state with a salt of what
else decides an audit's result, so that a resume after any of these changed scans again:
keysentry's version and built-in rules, the command line's settings and the files they
name (``--config``, ``--rules``, ``--baseline``), and the repository's own configuration
files (``.keysentry.toml``, ``pyproject.toml``), which may change without a commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from keysentry.git.roots import DOTFILE, PYPROJECT
from keysentry.git.run import special_ref_files
from keysentry.regular import NotRegularFile, read_regular

if TYPE_CHECKING:
    from keysentry.fleet.spec import AuditSettings

_MAX_SMALL = 1 << 16
"""Layout signatures read at most this much of a file (HEAD, a ``.git`` file)."""


def audit_state(path: Path, salt: str) -> str:
    """The state compared on resume: :func:`refs_state` salted (see the module's text)."""
    return salted(refs_state(path), path, salt)


def salted(state: str, path: Path, salt: str) -> str:
    """``state`` of the repository at ``path`` with ``salt`` (:func:`settings_salt`) and
    its own configuration files."""
    sha = hashlib.sha256(salt.encode())
    for name in (DOTFILE, PYPROJECT):
        try:
            data = read_regular(os.path.join(path, name))
        except OSError:
            data = b"\xff"  # absent (no file's content is this byte alone as a marker)
        sha.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return f"{state}+{sha.hexdigest()[:32]}"


def settings_salt(settings: AuditSettings) -> str:
    """What every repository's audit shares and a resume must notice: keysentry's version
    and built-in rules, the settings, and the contents of the files they name."""
    from keysentry import __version__
    from keysentry.detect.rules import builtin_rules_digest

    sha = hashlib.sha256(__version__.encode() + b"\0" + builtin_rules_digest().encode())
    sha.update(
        repr(
            (settings.config_path, settings.rules, settings.include_placeholders,
             settings.baseline, settings.messages)
        ).encode("utf-8", "surrogateescape")
    )  # fmt: skip
    for named in (settings.config_path, *settings.rules, settings.baseline):
        if named is None:
            continue
        try:
            sha.update(b"\0" + hashlib.sha256(read_regular(os.fspath(named))).digest())
        except OSError:
            sha.update(b"\0unreadable")
    return sha.hexdigest()


def refs_state(path: Path) -> str:
    """The refs digest of the repository at ``path`` (never raises): from the ref files,
    else from git, else the signature of what is there (see the module's text)."""
    digest = files_digest(path)
    if digest is not None:
        return digest
    return git_state(path)


def git_state(path: Path) -> str:
    """git's list of the refs, else the layout signature; never raises."""
    from keysentry.errors import KeysentryError

    try:
        return git_digest(path)
    except (KeysentryError, OSError, ValueError):
        return layout_signature(path)


def git_digest(path: Path) -> str:
    """SHA-256 of ``git for-each-ref`` (every ref, its object) and of HEAD."""
    from keysentry.git import run as gitio

    refs = gitio.run_git(["for-each-ref", "--format=%(objectname) %(refname)"], path).stdout
    head = gitio.run_git(["rev-parse", "-q", "--verify", "HEAD"], path, check=False).stdout
    return "git:" + hashlib.sha256(refs + b"\0" + head).hexdigest()


def files_digest(path: Path) -> str | None:
    """SHA-256 of HEAD, ``packed-refs`` and the loose refs (names and contents) of a
    repository using the files backend, read without git; None where that is not safe.
    (Plain ``os`` calls on strings: a resume reads this for every repository.)"""
    git_dir = _plain_git_dir(os.fspath(path))
    if git_dir is None:
        return None
    try:
        config = read_regular(os.path.join(git_dir, "config")).lower()
        # reftable, or any ref storage but files; includes could set it from elsewhere.
        if b"refstorage" in config or b"[include" in config:
            return None
        if os.path.lexists(os.path.join(git_dir, "reftable")):
            return None
        sha = hashlib.sha256(b"files\0")
        sha.update(read_regular(os.path.join(git_dir, "HEAD")))
        sha.update(b"\0packed\0")
        with contextlib.suppress(FileNotFoundError):
            sha.update(read_regular(os.path.join(git_dir, "packed-refs")))
        sha.update(b"\0loose\0")
        if not _loose_refs(os.path.join(git_dir, "refs"), "refs", sha):
            return None
    except NotRegularFile:
        # HEAD, config or packed-refs is a FIFO or a device: git would hang on it.
        return layout_signature(Path(path))
    except OSError:
        return None
    return "files:" + sha.hexdigest()


def special_files(path: Path) -> list[str]:
    """Names (``refs/heads/x``, ``HEAD``) of the places git reads refs from that are not
    regular files: git would wait on a FIFO forever (``git log --all`` does), so such a
    repository is reported, not scanned. Only the plain layouts are looked at."""
    git_dir = _plain_git_dir(os.fspath(path))
    return [] if git_dir is None else special_ref_files(git_dir)


def _plain_git_dir(path: str) -> str | None:
    """The git directory of a plain work tree (``.git`` a real directory) or of a bare
    repository at ``path``; None for anything else (git decides those)."""
    dot_git = os.path.join(path, ".git")
    try:
        mode = os.lstat(dot_git).st_mode
    except FileNotFoundError:
        mode = None
    except OSError:
        return None
    if mode is not None:
        if not stat.S_ISDIR(mode):
            return None  # a gitdir file (linked worktree, submodule) or a symbolic link
        git_dir = dot_git
    elif os.path.isfile(os.path.join(path, "HEAD")) and os.path.isdir(
        os.path.join(path, "objects")
    ):
        git_dir = path
    else:
        return None
    if os.path.lexists(os.path.join(git_dir, "commondir")):
        return None  # the refs live elsewhere
    return git_dir


def _loose_refs(directory: str, name: str, sha: hashlib._Hash) -> bool:
    """Add every loose ref under ``directory`` in name order; False on a symbolic link
    (a legacy symbolic ref, or refs kept elsewhere: git resolves those) and when
    ``directory`` is not there: git reads no repository without ``refs/``, and the
    signature of its layout (not an empty list of refs) notices when one is made."""
    try:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except FileNotFoundError:
        return False
    for entry in entries:
        if entry.is_symlink():
            return False
        child = f"{name}/{entry.name}"
        if entry.is_dir(follow_symlinks=False):
            if not _loose_refs(entry.path, child, sha):
                return False
        elif not entry.name.endswith(".lock"):  # an update in flight; git skips them too
            sha.update(child.encode("utf-8", "surrogateescape") + b"\0")
            try:
                sha.update(read_regular(entry.path) + b"\0")
            except NotRegularFile:
                # Not a ref (git would hang on it): its kind stands in for its contents.
                sha.update(b"\0not-regular %o\0" % entry.stat(follow_symlinks=False).st_mode)
    return True


def layout_signature(path: Path) -> str:
    """What a repository whose refs cannot be read looks like: type, size and change time
    of the places git looks at (the path, ``.git``, where a ``.git`` file points, HEAD,
    config, refs, objects) and the contents of the small ones. Repairing it changes one
    of them."""
    sha = hashlib.sha256(b"layout\0")
    places = [path]
    dot_git = path / ".git"
    places.append(dot_git)
    pointed = _read_small(dot_git) if dot_git.is_file() else b""
    sha.update(pointed + b"\0")
    if pointed.startswith(b"gitdir:"):
        target = Path(os.fsdecode(pointed[len(b"gitdir:") :].strip()))
        places.append(target if target.is_absolute() else path / target)
    for base in list(places):
        for name in ("HEAD", "config", "commondir", "packed-refs", "refs", "objects"):
            places.append(base / name)
    for place in places:
        try:
            st = place.lstat()
        except OSError as exc:
            sha.update(f"{place}\0absent {exc.errno}\0".encode("utf-8", "surrogateescape"))
            continue
        sha.update(
            f"{place}\0{st.st_mode} {st.st_size} {st.st_mtime_ns} {st.st_ino}\0".encode(
                "utf-8", "surrogateescape"
            )
        )
        if place.name in ("HEAD", "commondir") and place.is_file():
            sha.update(_read_small(place) + b"\0")
    return "layout:" + sha.hexdigest()


def _read_small(path: Path) -> bytes:
    try:
        return read_regular(os.fspath(path), _MAX_SMALL)
    except OSError:
        return b""

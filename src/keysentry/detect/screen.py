"""The commit hook's screen: the scanner's prefilter, run before the scanner is loaded.

A commit hook runs on every commit, and nearly every commit holds no key. The scanner
already knows when an input cannot yield anything: it holds none of the needles (every
rule's keywords, every decoder's triggers, a zip's end record) and is not a container
(an archive, a compressed stream, a PDF). The screen asks exactly that question of the
inputs the pipeline would read, the staged blobs or the named files, using the same
needles (the table in :mod:`keysentry.detect.screen_needles`, which tests/hook/test_screen.py keeps
equal to the scanner's) and the same magic bytes (:mod:`keysentry.decoders.magic`).

When every input passes, and nothing else could make the pipeline's report differ, the
pipeline's result is known without running it: no finding, these inputs, these bytes.
Anything else returns None and the hook runs the pipeline from the start: a
configuration file, an input that is not a plain file or blob (a symlink, a submodule,
a conflict, standard input), a needle or a container anywhere, more than
:data:`LIMIT` bytes, any git error. So the screen can make the hook faster, never
change its answer; tests/hook/test_screen.py checks both answers agree.

Why it exists: the interpreter, ``re``, ``subprocess`` and two git commands are most of
what a hook can afford next to a native scanner (see benchmarks/bench_staged.py);
``dataclasses`` alone costs as much again, and the pipeline is built on them. So this
module imports only :mod:`os`, :mod:`subprocess` and keysentry's light modules.
"""

from __future__ import annotations

import os
import stat
import subprocess

from keysentry.console import wording
from keysentry.decoders.magic import HEAD_SIZE, is_container
from keysentry.detect.screen_needles import NEEDLES
from keysentry.errors import GitError
from keysentry.git import command as gitcmd
from keysentry.git import roots

TYPE_CHECKING = False  # typing itself is not imported: it costs a few milliseconds
if TYPE_CHECKING:
    from typing import IO

LIMIT = 256 * 2**10
"""Bytes the screen reads at most; a larger job goes to the pipeline (and hyperscan)."""
_PLAIN_MODES = (b"100644", b"100755")
_TIMEOUT = 60.0
_MAX_BLOBS = 1000
"""Blobs the screen reads at most: their ids (41 bytes each) fit a pipe's buffer."""


class Screened:
    """What a screened job holds: inputs, bytes and the notes the summary adds.

    A plain class, not a dataclass: importing :mod:`dataclasses` is the cost this module
    avoids."""

    __slots__ = ("inputs", "notes", "size")

    def __init__(self, inputs: int, size: int, notes: tuple[str, ...] = ()) -> None:
        self.inputs = inputs
        self.size = size
        self.notes = notes


def holds_nothing(data: bytes) -> bool:
    """Nothing any built-in rule or decoder could use: the scanner's own test
    (``Scanner._holds_nothing``) with the built-in rules."""
    if is_container(data[:HEAD_SIZE]):
        return False
    return not any(needle in data for needle in NEEDLES)


def name_holds_nothing(name: str | bytes) -> bool:
    """A path whose text no rule or decoder could use: the pipeline reads names as content
    too (keysentry.sources.paths)."""
    data = os.fsencode(name)
    return not any(needle in data for needle in NEEDLES)


def screen_files(files: list[str]) -> Screened | None:
    """``keysentry scan FILE...`` when each file is plain, small and holds nothing."""
    seen: set[str] = set()
    size = 0
    for name in files:
        if name == "-" or os.path.basename(name) == ".git" or not name_holds_nothing(name):
            return None
        # The pipeline's key for a target (sources.files.distinct_targets): a repeated or
        # overlapping target changes its counts, so the pipeline handles it.
        key = roots.target_key(name)
        if key in seen:
            return None
        seen.add(key)
        try:
            if not stat.S_ISREG(os.lstat(name).st_mode):
                return None
            if roots.may_hold_config(roots.repository_root(name)):
                return None
            with open(name, "rb") as fh:
                data = fh.read(LIMIT - size + 1)
        except OSError:
            return None
        size += len(data)
        if size > LIMIT or not holds_nothing(data):
            return None
    return Screened(len(files), size)


def screen_staged() -> Screened | None:
    """``keysentry staged`` (in the current directory) when every staged blob is a plain
    file's, small, and holds nothing."""
    if roots.may_hold_config(roots.repository_root(".")):
        return None
    entries = _git(
        "diff-index", "--cached", "-z", "--no-renames", "--no-textconv", "--no-ext-diff", "HEAD"
    )
    if entries is None:
        return None  # no commit yet, not a repository, or broken: the pipeline says which
    fields = entries.split(b"\0")
    oids: dict[bytes, None] = {}
    paths = 0
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):  # a trailing NUL
        if not meta:
            continue
        parts = meta.lstrip(b":").split(b" ")
        if len(parts) < 5:
            return None
        status = parts[4][:1]
        if status == b"D":
            continue
        if not name_holds_nothing(path):
            return None
        if status not in (b"A", b"M", b"T", b"C") or parts[1] not in _PLAIN_MODES:
            return None
        oids[parts[3]] = None
        paths += 1
    if len(oids) > _MAX_BLOBS:
        return None
    size = 0
    if oids:
        blobs = _read_blobs(list(oids))
        if blobs is None:
            return None
        for data in blobs:
            size += len(data)
            if not holds_nothing(data):
                return None
    return Screened(len(oids), size, (wording.staged_note(paths, True),))


def _read_blobs(oids: list[bytes]) -> list[bytes] | None:
    """The blobs' contents from one ``git cat-file --batch``; None past :data:`LIMIT`
    bytes in all, or when anything is not as expected."""
    try:
        proc = subprocess.Popen(
            gitcmd.git_command(["cat-file", "--batch"]), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=gitcmd.git_env(cwd="."),
        )  # fmt: skip
    except (OSError, GitError):  # GitError: no git on PATH
        return None
    assert proc.stdin is not None and proc.stdout is not None
    try:
        # Fits the pipe's buffer (_MAX_BLOBS), so writing it all first cannot deadlock.
        proc.stdin.write(b"".join(oid + b"\n" for oid in oids))
        proc.stdin.close()
        blobs = _blobs(proc.stdout, oids)
    except (OSError, ValueError):
        blobs = None
    if blobs is None:
        proc.kill()  # too much for the screen, or not as expected: stop reading
    proc.stdout.close()
    return blobs if proc.wait() == 0 else None


def _blobs(out: IO[bytes], oids: list[bytes]) -> list[bytes] | None:
    blobs = []
    left = LIMIT
    for oid in oids:
        header = out.readline().split(b" ")
        if len(header) != 3 or header[0] != oid or header[1] != b"blob":
            return None
        length = int(header[2])
        if length > left:
            return None
        left -= length
        data = out.read(length + 1)
        if len(data) != length + 1:
            return None
        blobs.append(data[:-1])
    return blobs


def _git(*args: str) -> bytes | None:
    """A read-only git command, hardened like every other (keysentry.git.command); None when it
    cannot run or fails."""
    try:
        proc = subprocess.run(
            gitcmd.git_command(args),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=gitcmd.git_env(cwd="."),
            timeout=_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError, GitError):
        return None
    return proc.stdout if proc.returncode == 0 else None

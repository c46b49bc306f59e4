"""Mirror clones of URL targets, hardened like :mod:`keysentry.git.run`.

``git clone --mirror`` takes every ref, pull-request refs included (a fork's leak lives
there); the next run fetches into the same mirror instead of cloning again.

- **Nothing of a mirror's own runs.** git gets gitio's ``-c`` hardening (no hooks, no
  filters, no credential helper, no fsmonitor), no terminal prompt, askpass ``false``,
  ssh in batch mode, ``--upload-pack=git-upload-pack``, and only the transports of
  :data:`keysentry.fleet.targets.SCHEMES`. A mirror already in the clone folder is
  checked before it is fetched (:func:`untrusted_mirror`): its configuration may hold
  only the keys ``git clone --mirror`` writes (an allowlist), its remote must be the
  target's URL, and nothing may point git elsewhere (alternates, grafts, a common
  directory); anything else and it is removed and cloned again.
- **No credential is stored.** git is given the URL without credentials (that is what
  the mirror's config keeps) and, for the one command, the full URL through its
  environment (``url.<full>.insteadOf <public>`` in ``GIT_CONFIG_*``): never in an
  argument list, which any user of the machine can read.
- **Private.** Folders the clone folder creates are 0700, git runs with umask 077 (files
  0600, folders 0700), and a mirror that others can read is cloned again.
- **No hang.** A clone or fetch that receives nothing (no progress, no message) for
  ``stall`` seconds is killed and reported; http gets git's low-speed limit for the
  same time and ssh its keep-alives.
- **The reason.** A failure says git's own words (its ``fatal:``/``error:`` lines), with
  the URL's credentials and anything key-shaped taken out.

GitPython parses git's progress lines; the process is run here, so that its
environment, umask, stall limit and end are ours.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import select
import shutil
import signal
import stat
import subprocess
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from keysentry.errors import GitError
from keysentry.fleet.targets import SCHEMES, check_url, public_name
from keysentry.git.command import HARDENING, git_env, git_executable
from keysentry.models import scrub_secrets

STALL_TIMEOUT = 300.0
"""Seconds a clone or fetch may receive nothing before it is given up (default)."""
SSH = "ssh -o BatchMode=yes -o ConnectTimeout=30 -o ServerAliveInterval=15 -o ServerAliveCountMax=4"
_ALLOW = tuple(f"protocol.{s}.allow=always" for s in SCHEMES)
# gitio's `-c` settings, except that ssh runs (in batch mode) and the allowed transports do.
_CONFIG = (
    *(v for v in HARDENING[1::2] if not v.startswith("core.sshCommand=")),
    *_ALLOW,
    f"core.sshCommand={SSH}",
    "init.templateDir=",
)
_REFSPEC = "+refs/*:refs/*"
_LOW_SPEED = "1000"
"""Bytes per second under which an http transfer counts as stalled (git's
GIT_HTTP_LOW_SPEED_LIMIT), for ``stall`` seconds."""

_BOOLEAN = frozenset({"true", "false", "yes", "no", "on", "off", "1", "0"})
_ALLOWED: dict[str, Callable[[str, str], bool]] = {
    "core.repositoryformatversion": lambda v, _: v in ("0", "1"),
    "core.bare": lambda v, _: v.lower() in ("true", "yes", "on", "1"),
    "core.filemode": lambda v, _: v.lower() in _BOOLEAN,
    "core.logallrefupdates": lambda v, _: v.lower() in _BOOLEAN,
    "core.ignorecase": lambda v, _: v.lower() in _BOOLEAN,
    "core.precomposeunicode": lambda v, _: v.lower() in _BOOLEAN,
    "core.symlinks": lambda v, _: v.lower() in _BOOLEAN,
    "extensions.objectformat": lambda v, _: v.lower() in ("sha1", "sha256"),
    "remote.origin.url": lambda v, url: v == url,
    "remote.origin.fetch": lambda v, _: v == _REFSPEC,
    "remote.origin.mirror": lambda v, _: v.lower() in ("true", "yes", "on", "1"),
}
"""The configuration a mirror may have: what ``git clone --mirror`` writes, each with
the values it writes. Every other key (uploadpack, gitProxy, sshCommand, fsmonitor,
hooksPath, filters, include, url.*.insteadOf, proxies, credential helpers, ...) makes
the mirror untrusted."""
_FOREIGN = (
    "commondir",
    "gitdir",
    "config.worktree",
    "worktrees",
    "shallow",
    "info/grafts",
    "objects/info/alternates",
    "objects/info/http-alternates",
)
"""Files that would make git read or trust something outside the mirror, or less than
all of it; ``git clone --mirror`` writes none of them."""

Report = Callable[[str, int, int | None], None]
"""``(stage, done, total)`` of the clone or fetch, as git tells it."""


def mirror_path(clone_dir: Path, url: str) -> Path:
    """Where a URL's mirror lives: readable, and distinct for distinct URLs."""
    name = public_name(url)
    tail = re.sub(r"[^A-Za-z0-9._-]+", "_", name.split("://", 1)[-1]).strip("_.")[-80:]
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return clone_dir / f"{tail}-{digest}.git"


def clone_or_fetch(
    url: str,
    clone_dir: Path,
    report: Report | None = None,
    *,
    full_url: str | None = None,
    stall: float = STALL_TIMEOUT,
    notes: list[str] | None = None,
) -> Path:
    """The mirror of ``url`` (without credentials) under ``clone_dir``, cloned the first
    time, fetched after. ``full_url`` is the URL with its credentials, given to git for
    this command only; a note says why a mirror found there was cloned again."""
    check_url(url)
    dest = mirror_path(clone_dir, url)
    full = full_url or url
    _private_dirs(clone_dir)
    if os.path.lexists(dest):
        why = untrusted_mirror(dest, url)
        if why is None:
            _git(
                ["fetch", "--prune", *_PROGRESS, "origin", _REFSPEC], dest, url, full, report, stall
            )
            return dest
        _remove(dest)
        if notes is not None:
            notes.append(f"the mirror in the clone folder was not used ({why}): cloned again")
    partial = dest.with_name(dest.name + ".partial")
    if os.path.lexists(partial):
        _remove(partial)
    _git(
        ["clone", "--mirror", *_PROGRESS, "--", url, str(partial)],
        clone_dir, url, full, report, stall,
    )  # fmt: skip
    partial.rename(dest)
    return dest


_PROGRESS = ("--progress", "--upload-pack=git-upload-pack")


def untrusted_mirror(dest: Path, url: str) -> str | None:
    """Why the mirror at ``dest`` must not be used for ``url``; None when it may be."""
    try:
        st = os.lstat(dest)
    except OSError as exc:
        return f"unreadable: {exc.strerror}"
    if not stat.S_ISDIR(st.st_mode):
        return "not a directory"
    if st.st_uid != os.geteuid():
        return "owned by another user"
    if st.st_mode & 0o077:
        return f"readable by others (mode {stat.S_IMODE(st.st_mode):o})"
    for name in _FOREIGN:
        if os.path.lexists(dest / name):
            return f"it has {name}"
    config = dest / "config"
    try:
        cst = os.lstat(config)
    except OSError:
        return "no config"
    if not stat.S_ISREG(cst.st_mode) or cst.st_uid != os.geteuid():
        return "its config is not a regular file of ours"
    try:
        listing = subprocess.run(
            [
                git_executable(),
                "config",
                "--no-includes",
                "--file",
                str(config),
                "--null",
                "--list",
            ],
            cwd="/",
            env=git_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "its config could not be read"
    if listing.returncode != 0:
        return "its config could not be read"
    for entry in listing.stdout.split(b"\0"):
        if not entry:
            continue
        key, _, value = os.fsdecode(entry).partition("\n")
        check = _ALLOWED.get(key.lower())
        if check is None:
            return f"its config sets {scrub_secrets(key)}"
        if not check(value, url):
            return f"its config has another {key.lower()}"
    return None


def _remove(path: Path) -> None:
    if os.path.islink(path) or not os.path.isdir(path):
        os.unlink(path)
    else:
        shutil.rmtree(path)


def _private_dirs(directory: Path) -> None:
    """Create ``directory`` and any missing parent 0700 (existing ones are left alone)."""
    missing = []
    for place in (directory, *directory.parents):
        if os.path.lexists(place):
            break
        missing.append(place)
    for place in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(place, 0o700)


def _environment(url: str, full: str, stall: float) -> dict[str, str]:
    extra = {
        "GIT_SSH_COMMAND": SSH,
        "GIT_HTTP_LOW_SPEED_LIMIT": _LOW_SPEED,
        "GIT_HTTP_LOW_SPEED_TIME": str(max(1, round(stall))),
        "GIT_CONFIG_COUNT": "0",
    }
    if full != url:
        extra.update(
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0=f"url.{full}.insteadOf",
            GIT_CONFIG_VALUE_0=url,
        )
    return git_env(extra)


def _git(
    args: list[str],
    cwd: Path,
    url: str,
    full: str,
    report: Report | None,
    stall: float,
) -> None:
    """Run one clone or fetch to its end; GitError with git's reason, or at a stall."""
    command = [git_executable(), "--no-pager"]
    for setting in _CONFIG:
        command += ["-c", setting]
    progress = _progress(report)
    handler = progress.new_message_handler()
    said: deque[str] = deque(maxlen=20)
    try:
        proc = subprocess.Popen(
            [*command, *args],
            cwd=cwd,
            env=_environment(url, full, stall),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            umask=0o077,
        )
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror or exc}") from None
    assert proc.stderr is not None
    stalled = False
    try:
        fd = proc.stderr.fileno()
        last = time.monotonic()
        pending = b""
        while True:
            left = last + stall - time.monotonic()
            if left <= 0:
                stalled = True
                break
            ready, _, _ = select.select([fd], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            last = time.monotonic()
            *lines, pending = re.split(rb"[\r\n]", pending + chunk)
            for raw in lines:
                _line(raw, handler, progress, said)
        if pending:
            _line(pending, handler, progress, said)
    finally:
        if stalled or proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGKILL)
        code = proc.wait()
        proc.stderr.close()
    if stalled:
        raise GitError(
            f"cannot clone or fetch {public_name(url)}: stalled: nothing received for "
            f"{stall:g} s (--stall-timeout)"
        )
    if code != 0:
        fatal = [ln for ln in said if ln.startswith(("fatal:", "error:"))]
        reason = "; ".join(fatal) if fatal else (said[-1] if said else f"git exited with {code}")
        raise GitError(f"cannot clone or fetch {public_name(url)}: {_scrub(reason, url, full)}")


def _line(raw: bytes, handler: Callable[[str], Any], progress: Any, said: deque[str]) -> None:
    line = raw.decode("utf-8", "replace").strip()
    if not line:
        return
    before = len(progress.other_lines) + len(progress.error_lines)
    handler(line)
    if len(progress.other_lines) + len(progress.error_lines) > before:
        said.append(line)  # not a progress line: a message of git's


def _scrub(text: str, url: str, full: str) -> str:
    """git's words without the URL's credentials or anything key-shaped."""
    if full != url:
        text = text.replace(full, url)
        parts = urlsplit(full)
        pieces = [parts.password, parts.fragment, *(v for _, v in parse_qsl(parts.query))]
        if parts.scheme.lower() == "https":
            pieces.append(parts.username)
        for piece in sorted({p for p in pieces if p and len(p) >= 3}, key=len, reverse=True):
            text = text.replace(piece, "***")
    return scrub_secrets(text)


def _progress(report: Report | None) -> Any:
    import git  # GitPython's parser of git's progress lines: imported by audits of URLs only

    class Progress(git.RemoteProgress):
        def update(
            self, op_code: int, cur_count: Any, max_count: Any = None, message: str = ""
        ) -> None:
            if report is None:
                return
            stage = "receiving" if op_code & self.RECEIVING else "fetching"
            if op_code & self.RESOLVING:
                stage = "resolving"
            report(stage, int(cur_count or 0), int(max_count) if max_count else None)

    return Progress()

"""``--repo-timeout``: the audit runs in a helper process that is killed, with its git
processes, when a repository's time is up.

Why a process: the history pipeline scans on threads of its own and a Dask worker runs
its task on a thread, and no thread can be interrupted. An alarm reaches only a main
thread, which then still waits for the scanning threads to finish their queued work; a
deadline checked in the pipeline's loops would have to reach every one of them and
could still not stop a call in progress (git waiting on a silent server, a long search
in C). A process group is stopped at once, whatever it is doing.

Each thread that runs tasks keeps one helper and hands it one repository after the
other, so a helper starts (and imports the scanner) once, not once per repository; only
a helper killed at a timeout, or one that died, is replaced. The helper is forked when
the calling process has a single thread (a local worker process: milliseconds, and
safe), else it is a fresh interpreter (a Dask worker, whose other threads may hold
locks a forked child would never see released: about 0.1 s, once per worker thread).

The two talk through pipes: a length-prefixed pickled :class:`TaskSpec` in, the
length-prefixed pickled :class:`RepoOutcome` out (pickles from our own processes only;
raw keys cross the pipe in memory, as they cross Dask's connections).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from keysentry.errors import KeysentryError

if TYPE_CHECKING:
    from keysentry.fleet.spec import RepoOutcome, TaskSpec

Serve = Callable[[int, int], None]
"""A helper's life: given the pipe of requests and the pipe of replies, it audits each
spec it reads (``keysentry.fleet.task.serve_helper``, passed in: this module runs audits
without knowing how one is done)."""

_HEADER = struct.Struct(">Q")
PARENT = "KEYSENTRY_HELPER_PARENT"
"""The spawned helper's environment names the process it dies with."""


class Expired(KeysentryError):
    """The repository's time (``--repo-timeout``) is up; its helper was killed."""


class _Gone(Exception):
    """The helper died while idle (the out-of-memory killer, a signal): not this
    repository's doing, so it is handed to a new helper."""


class _Helper:
    def __init__(self, life: Serve) -> None:
        self._status: int | None = None
        from keysentry.fleet import lifeline

        # The lifeline's watcher holds no lock: a worker with only it may still fork.
        if threading.active_count() == 1 + lifeline.watching():
            self.pid, self.to_helper, self.from_helper, self._reap = _fork(life)
        else:
            self.pid, self.to_helper, self.from_helper, self._reap = _spawn()

    def ask(self, spec: TaskSpec, deadline: float) -> RepoOutcome:
        """The helper's outcome for ``spec``; raises Expired at the deadline (the helper
        is then dead) and KeysentryError if the helper died."""
        from keysentry.fleet.spec import RepoOutcome

        request = pickle.dumps(spec)
        try:
            _write(self.to_helper, _HEADER.pack(len(request)) + request)
        except OSError:
            self.end()
            raise _Gone from None
        header = _read(self.from_helper, _HEADER.size, deadline)
        if header is None:
            raise Expired("timeout")
        size = _HEADER.unpack(header)[0] if len(header) == _HEADER.size else -1
        body = _read(self.from_helper, size, deadline) if size > 0 else b""
        if body is None:
            raise Expired("timeout")
        if size <= 0 or len(body) < size:
            raise KeysentryError(f"the audit process failed (exit status {self.end()})")
        outcome = pickle.loads(body)
        if not isinstance(outcome, RepoOutcome):
            raise KeysentryError("the audit process returned no result")
        return outcome

    def end(self) -> int:
        """Kill the helper and its process group (its git processes); its exit status.
        Only the first call does anything (the pid is not ours once reaped)."""
        if self._status is None:
            for fd in (self.to_helper, self.from_helper):
                with contextlib.suppress(OSError):
                    os.close(fd)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
            self._status = self._reap()
        return self._status


_local = threading.local()


def audit_with_deadline(spec: TaskSpec, deadline: float, life: Serve) -> RepoOutcome:
    """``spec`` audited by this thread's helper (a forked one lives ``life``; a spawned
    one, :mod:`keysentry.fleet.child`, the same), given up (and the helper killed) at
    ``deadline`` (time.monotonic)."""
    inner = replace(spec, settings=replace(spec.settings, timeout=None))
    for attempt in (1, 2):
        helper: _Helper | None = getattr(_local, "helper", None)
        if helper is None:
            helper = _local.helper = _Helper(life)
        try:
            return helper.ask(inner, deadline)
        except _Gone:
            _local.helper = None
            if attempt == 2:
                raise KeysentryError("the audit process could not be started") from None
        except BaseException:
            # Timed out, died, or this process is being interrupted: in any case the
            # helper's state is unknown, and it goes.
            _local.helper = None
            helper.end()
            raise
    raise AssertionError("unreachable")


def _read(fd: int, size: int, deadline: float) -> bytes | None:
    """``size`` bytes, fewer if the helper closed its end first; None at the deadline."""
    import select

    chunks: list[bytes] = []
    wanted = size
    while wanted:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return None
        chunk = os.read(fd, min(wanted, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        wanted -= len(chunk)
    return b"".join(chunks)


def serve(requests: int, replies: int, audit: Callable[[TaskSpec], RepoOutcome]) -> None:
    """A helper's loop: ``audit`` each spec read from ``requests``, answer on
    ``replies``; return when the other end is closed."""
    while True:
        header = _read_blocking(requests, _HEADER.size)
        if header is None:
            return
        body = _read_blocking(requests, _HEADER.unpack(header)[0])
        if body is None:
            return
        reply = pickle.dumps(audit(pickle.loads(body)))
        _write(replies, _HEADER.pack(len(reply)) + reply)


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_blocking(fd: int, size: int) -> bytes | None:
    chunks: list[bytes] = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


_Started = tuple[int, int, int, Callable[[], int]]
"""pid (and process group), the pipe to it, the pipe from it, what reaps it."""


def _fork(life: Serve) -> _Started:
    import gc

    from keysentry.fleet import lifeline

    to_child, requests = os.pipe()[::-1]
    replies_from, replies = os.pipe()
    gc.freeze()  # the child's collector must not walk (and so copy) every shared page
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the helper: never returns
        code = 70
        try:
            os.close(to_child)
            os.close(replies_from)
            os.setpgid(0, 0)
            lifeline.die_with(parent, group=True)  # with its git processes
            life(requests, replies)
            code = 0
        finally:
            os._exit(code)
    os.close(requests)
    os.close(replies)
    with contextlib.suppress(OSError):  # both sides set it: whichever runs first
        os.setpgid(pid, pid)
    return pid, to_child, replies_from, lambda: os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def _spawn() -> _Started:
    import subprocess
    import sys

    import keysentry

    env = dict(os.environ)
    env[PARENT] = str(os.getpid())
    # Isolated (-I): no module resolves against the working directory or PYTHON*
    # variables; the helper imports this very keysentry, whatever put it on this path.
    home = str(Path(keysentry.__file__).resolve().parents[1])
    boot = (
        f"import sys; sys.path.insert(0, {home!r}); from keysentry.fleet.child import main; main()"
    )
    proc = subprocess.Popen(
        [sys.executable, "-I", "-c", boot],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        start_new_session=True,  # its own process group: the git processes go with it
    )
    assert proc.stdin is not None and proc.stdout is not None
    to_child, from_child = os.dup(proc.stdin.fileno()), os.dup(proc.stdout.fileno())
    proc.stdin.close()
    proc.stdout.close()
    return proc.pid, to_child, from_child, proc.wait

"""Processes that die with the one they work for.

A local worker process holds raw keys in memory and runs git; a ``--repo-timeout``
helper too. Killed with ``kill -9``, the driver can clean nothing up, so each of them
watches the process it works for (the worker: the driver; a helper: its worker) from a
thread that waits on a pidfd (Linux 5.3 and later; elsewhere it looks twice a second).
When that process ends, the watcher kills what this process started (its git processes;
a helper's whole process group: its git processes and theirs) and ends this process.

The thread holds no lock while it waits, so a worker may still fork its helpers
(:func:`watching` says how many threads are the watcher's).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
import time

_watchers = 0


def _forked() -> None:
    global _watchers
    _watchers = 0  # a forked child has none of its parent's threads


os.register_at_fork(after_in_child=_forked)


def watching() -> int:
    """How many of this process's threads are watchers (0 or 1)."""
    return _watchers


def die_with(pid: int, *, group: bool = False) -> None:
    """End this process when process ``pid`` ends: kill its children first (with
    ``group``, its whole process group, which it leads)."""
    global _watchers
    if _watchers:
        return
    _watchers = 1
    threading.Thread(target=_watch, args=(pid, group), name="lifeline", daemon=True).start()


def _watch(pid: int, group: bool) -> None:
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        _end(group)
    except (AttributeError, OSError):  # no pidfd here: look twice a second
        while _alive(pid):
            time.sleep(0.5)
        _end(group)
    else:
        select.select([fd], [], [])  # readable once the process has ended
        _end(group)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _end(group: bool) -> None:
    """Kill what this process started, then this process."""
    for child in children(os.getpid()):
        with contextlib.suppress(OSError):
            if os.getpgid(child) == child:
                os.killpg(child, signal.SIGKILL)  # a helper and its git processes
            else:
                os.kill(child, signal.SIGKILL)
    if group:
        with contextlib.suppress(OSError):
            os.killpg(0, signal.SIGKILL)
    os._exit(70)


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux's /proc; empty elsewhere)."""
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                text = handle.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        fields = text.rpartition(b")")[2].split()
        if len(fields) > 1 and fields[1] == str(pid).encode():
            found.append(int(entry))
    return found

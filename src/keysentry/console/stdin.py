"""Standard input that a Ctrl-C always interrupts.

A read(2) of a pipe or a terminal that waits for input is cut short by SIGINT only when
the signal arrives during the read and is delivered to the thread that reads. Python's
C-level handler only sets a flag; the Python handler (KeyboardInterrupt) runs at the
next bytecode. So a SIGINT that lands just before the read starts, after Python last
looked at the flag, or one the kernel hands to another thread of the process, leaves
the read waiting for input that may never come: the Ctrl-C is lost. (Seen in
tests/console/test_progress.py: `keysentry scan -` stayed in read(2) for minutes after SIGINT.)

So keysentry never blocks in read(2) on standard input: it waits with select(2) for at
most :data:`POLL_S` at a time, and returns to Python between waits, where a pending
signal is handled. A read then only happens when input is there, so it never waits.
Where select(2) cannot wait on standard input (Windows, or a ``sys.stdin`` that is not
a file descriptor, as in tests), it is read as it is.
"""

from __future__ import annotations

import io
import os
import sys

TYPE_CHECKING = False  # typing is not imported: the commit hook imports this module
if TYPE_CHECKING:
    from typing import BinaryIO

    from _typeshed import WriteableBuffer

POLL_S = 0.25
"""The longest a pending Ctrl-C can wait: one select(2) timeout."""


class _Interruptible(io.RawIOBase):
    """File descriptor ``fd``, read only once select(2) says input (or its end) is there.
    Closing it (a BufferedReader does when it is collected) leaves ``fd`` open."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def readinto(self, buffer: WriteableBuffer) -> int:
        import select

        while not select.select([self._fd], [], [], POLL_S)[0]:
            pass  # back in Python between waits: a pending signal's handler runs here
        return os.readv(self._fd, [buffer])


def _descriptor(stream: object) -> int | None:
    """The file descriptor behind ``stream``, when select(2) can wait on it."""
    if os.name != "posix":
        return None
    try:
        fd = stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        return None
    return fd if isinstance(fd, int) else None


def binary() -> BinaryIO:
    """Standard input as bytes. :class:`OSError` when there is none."""
    stream = sys.stdin
    if stream is None:
        raise OSError("standard input is not available")
    fd = _descriptor(stream)
    if fd is None:
        return stream.buffer if hasattr(stream, "buffer") else stream  # type: ignore[return-value]
    return io.BufferedReader(_Interruptible(fd))


def read_text() -> str:
    """All of standard input as text, decoded as ``sys.stdin`` would decode it (its
    encoding and error handler, universal newlines)."""
    stream = sys.stdin
    if stream is None:
        raise OSError("standard input is not available")
    if _descriptor(stream) is None:
        return stream.read()
    wrapper = io.TextIOWrapper(binary(), encoding=stream.encoding, errors=stream.errors)
    try:
        return wrapper.read()
    finally:
        wrapper.detach()

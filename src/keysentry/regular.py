"""Reading a file whose path a scanned repository decides, which need not be a file.

A FIFO, a device or a socket where a configuration file, a ref, a baseline or a rule
file is expected would hang a plain ``open`` (a FIFO's waits for a writer) or never end
a read (``/dev/zero``). Such a path is opened without blocking and read only when
``fstat`` says it is a regular file; anything else raises :class:`NotRegularFile`, which
callers report like any file they cannot read.
"""

from __future__ import annotations

import os
import stat


class NotRegularFile(OSError):
    """The path names a FIFO, a device, a socket or a directory."""


def read_regular(path: str | os.PathLike[str], limit: int = -1) -> bytes:
    """The contents of the regular file at ``path`` (symbolic links followed), at most
    ``limit`` bytes when it is not -1."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(f"not a regular file (mode {mode:o})")
        with open(fd, "rb", closefd=False) as handle:
            return handle.read(limit)
    finally:
        os.close(fd)

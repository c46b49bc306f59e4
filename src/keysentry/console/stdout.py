"""Standard output after its reader went away."""

from __future__ import annotations

import os
import sys


def drop() -> None:
    """Send what is left for standard output nowhere: its reader went away (a pager quit,
    ``| head``). Without this, Python's own flush at exit meets the closed pipe again and
    the process exits 120 with a message, not with the code keysentry chose."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no file descriptor behind sys.stdout: nothing to flush
        pass

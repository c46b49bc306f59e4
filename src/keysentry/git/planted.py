"""Files git reads that a repository could plant as something that never answers."""

from __future__ import annotations

import os
import stat


def is_fifo(path: str) -> bool:
    """Whether ``path`` is a FIFO, as a repository could plant where git reads its ignore
    rules: git's open() of it waits for a writer that never comes. (A symbolic link there
    git does not follow; a device it reads past, checked with git 2.39.)"""
    try:
        return stat.S_ISFIFO(os.lstat(path).st_mode)
    except OSError:
        return False

"""The command line: one module per command group, and ``app`` with the click group.

``main`` and ``cli`` are loaded on first use, not with the package: the pre-commit hook
(:mod:`keysentry.hook`) imports :mod:`keysentry.cli.common` and must not pay for click
and every command module on the way.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name in ("main", "cli"):
        from keysentry.cli import app

        return getattr(app, name)
    raise AttributeError(f"module 'keysentry.cli' has no attribute {name!r}")

"""Words shared by the text summary and the commit hook's screen, so both say a clean
result the same way. Imports nothing: the screen prints with it before the pipeline
(and the dataclasses it is built on) is loaded."""

from __future__ import annotations

DEFAULTS_NAME = "built-in defaults, no configuration file found"
"""How the summary names the configuration when no file applies."""


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


def scanned_line(command: str, inputs: int, size: int, seconds: float) -> str:
    """The summary's first line."""
    return f"keysentry {command}: scanned {inputs} input(s), {human_bytes(size)} in {seconds:.2f}s"


def staged_note(files: int, has_head: bool) -> str:
    """The note ``staged`` adds: how many files of the index were read."""
    against = "HEAD" if has_head else "an empty tree (no commit yet)"
    return f"staged: {files} file(s) in the index differ from {against}"

"""Which reports one scan writes, and where: ``--format`` (repeatable, ``FORMAT`` or
``FORMAT:FILE``) and ``--output`` (repeatable), checked before the scan starts.

One scan, one validation, then every reporter is given the same result: a CI job gets its
annotations, SARIF and JSON from one pass instead of one pass per format. No click here:
the hook entry point (keysentry.hook) imports this module too.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from keysentry.errors import UsageError

FORMATS = (
    "text", "json", "jsonl", "sarif", "github", "csv", "junit", "html", "codequality", "rdjson",
)  # fmt: skip
STDOUT = "-"
"""As a file name (``--output -``, ``json:-``): standard output."""


@dataclass(frozen=True, slots=True)
class ReportSpec:
    """One report of a scan."""

    format: str
    output: Path | None
    """The file it replaces, or None for standard output."""


def _file(name: str) -> Path | None:
    return None if name == STDOUT else Path(name)


def parse_format(value: str) -> tuple[str, Path | None, bool]:
    """``FORMAT`` or ``FORMAT:FILE`` -> (format, file, whether a file was named).

    Split at the first colon: a format name has none, a file name may (``sarif:C:\\x``)."""
    name, colon, file = value.partition(":")
    if name not in FORMATS:
        raise UsageError(
            f"unknown format {name!r} in --format {value!r} (choose from {', '.join(FORMATS)}; "
            "FORMAT:FILE writes that report to FILE)"
        )
    if colon and not file:
        raise UsageError(f"--format {value!r} names no file after the colon")
    return name, _file(file) if colon else None, bool(colon)


def plan_reports(formats: Sequence[str], outputs: Sequence[str]) -> tuple[ReportSpec, ...]:
    """The reports asked for, each with its destination.

    ``--output`` values go, in order, to the formats given without ``:FILE``; with more than
    one report there must be exactly one for each (a guess would put SARIF where the user
    meant text to go). No format: ``text``. At most one report goes to standard output."""
    parsed = [parse_format(f) for f in formats or ("text",)]
    bare = [i for i, (_, _, named) in enumerate(parsed) if not named]
    if outputs and len(outputs) != len(bare):
        raise UsageError(
            f"{len(outputs)} --output for {len(bare)} --format without a file: give one "
            "--output per --format, in order ('-' for standard output), or name each "
            "report's file in its format (--format sarif:keysentry.sarif)"
        )
    destinations = dict(zip(bare, map(_file, outputs), strict=True)) if outputs else {}
    reports = tuple(
        ReportSpec(name, destinations.get(i, file)) for i, (name, file, _) in enumerate(parsed)
    )
    to_stdout = [r.format for r in reports if r.output is None]
    if len(to_stdout) > 1:
        raise UsageError(
            f"{' and '.join(to_stdout)} would both go to standard output: give all but one "
            "of them a file (--format FORMAT:FILE, or one --output per --format)"
        )
    seen: dict[str, str] = {}
    for r in reports:
        if r.output is None:
            continue
        where = os.path.normcase(os.path.realpath(r.output))
        if where in seen:
            raise UsageError(
                f"the {seen[where]} and {r.format} reports would both be written to "
                f"{r.output}: give each its own file"
            )
        seen[where] = r.format
    return reports

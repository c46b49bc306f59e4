"""The audit's progress on a terminal (rich, imported only when one is attached):
repositories done / in flight / failed / total with objects, bytes, rate and ETA, and a
row per repository in flight saying what it is doing (cloning, scanning)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keysentry.fleet.run import Listener
    from keysentry.fleet.spec import RepoOutcome

MAX_ROWS = 8
"""In-flight rows shown at most (a Dask cluster may run hundreds at once)."""


class _Display:
    def __init__(self, bar: Any, total: int) -> None:
        from keysentry.console.wording import human_bytes

        self._human = human_bytes
        self.bar = bar
        self.started = time.monotonic()
        self.failed = self.done_count = self.unchanged = self.bytes = self.objects = 0
        self.rows: dict[str, Any] = {}
        self.main = bar.add_task("keysentry audit", total=total, info="")

    def _info(self) -> str:
        rate = self.bytes / max(time.monotonic() - self.started, 1e-6)
        return (
            f"{len(self.rows)} in flight, {self.failed} failed, {self.unchanged} unchanged; "
            f"{self.objects:,} objects, {self._human(self.bytes)}, {self._human(rate)}/s"
        )

    def stage(self, repository: str, what: str) -> None:
        row = self.rows.get(repository)
        if row is None:
            if len(self.rows) >= MAX_ROWS:
                self.rows[repository] = None
                return
            row = self.rows[repository] = self.bar.add_task(
                f"  {repository[-60:]}", total=None, info=what
            )
        elif row is not None:
            self.bar.update(row, info=what)
        self.bar.update(self.main, info=self._info())

    def done(self, outcome: RepoOutcome) -> None:
        row = self.rows.pop(outcome.name, None)
        if row is not None:
            self.bar.remove_task(row)
        self.failed += bool(outcome.failure)
        self.unchanged += outcome.unchanged
        self.bytes += outcome.counters.get("bytes", 0)
        self.objects += outcome.objects
        self.bar.update(self.main, advance=1, info=self._info())


@contextmanager
def display(enabled: bool, total: int) -> Iterator[Listener | None]:
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        console=Console(stderr=True),
        transient=True,
    )
    with bar:
        yield _Display(bar, total)

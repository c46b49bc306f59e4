"""The audit's progress on a terminal (rich, imported only when one is attached):
repositories done / in flight / failed / total, objects and bytes, rate and ETA."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keysentry.fleet.run import Listener
    from keysentry.fleet.task import RepoOutcome


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
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from keysentry.progress import human_bytes

    counts = {"failed": 0, "unchanged": 0, "bytes": 0, "objects": 0}
    bar = Progress(
        TextColumn("keysentry audit"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("audit", total=total, info="")

    def listener(event: str, outcome: RepoOutcome | None) -> None:
        if event != "done" or outcome is None:
            return
        if outcome.failure:
            counts["failed"] += 1
        if outcome.unchanged:
            counts["unchanged"] += 1
        counts["bytes"] += outcome.counters.get("bytes", 0)
        counts["objects"] += outcome.objects
        info = (
            f"{counts['failed']} failed, {counts['unchanged']} unchanged, "
            f"{counts['objects']} objects, {human_bytes(counts['bytes'])}"
        )
        bar.update(task, advance=1, info=info)

    with bar:
        yield listener

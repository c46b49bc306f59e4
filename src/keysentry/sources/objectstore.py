"""Every object in a repository, read once, by git processes working in parallel.

The objects are listed once (see listing) in pack order, the cheapest order to
inflate, and read by two ``git cat-file --batch`` processes, each taking a part of
about equal content size: the first starts while the listing is still being
written. Inflating is the bottleneck and one git is one core: two of them use both,
while the scan runs on worker threads between them (the literal search releases
the GIL).

Each reader thread hands blocks of objects to the shared scanning pool and scans
objects too large to buffer itself, straight from its pipe.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from keysentry.console import progress
from keysentry.errors import GitError
from keysentry.git import run as gitio
from keysentry.git.run import RepoInfo
from keysentry.models import Issue
from keysentry.sources.catfile import BatchReader, Block, LargeObject, Missing
from keysentry.sources.listing import Listing
from keysentry.sources.objects import ObjectHits, ObjectScanner

PARALLEL_MIN = 64 * 2**20
"""Content below this is read by one git: a second one would cost more than it saves."""
READERS = 2
WORKERS = 2
SETTLE = 0.0005
"""Seconds to let the pipe fill after a short read (see BatchReader)."""
SWITCH_INTERVAL = 0.0005
"""GIL switch interval while reading: a reader thread woken by git gets the GIL soon,
instead of after a scanning thread's full 5 ms slice (git would wait on a full pipe)."""

_COUNTER_NAMES = {
    "blob": "blobs", "blob_bytes": "bytes", "commit": "commits", "tag": "tags", "tree": "trees",
}  # fmt: skip


@dataclass(slots=True)
class Harvest:
    """What reading produced: objects with hits or issues, counters, unread objects."""

    found: list[ObjectHits] = field(default_factory=list)
    counters: Counter[str] = field(default_factory=Counter)
    issues: list[Issue] = field(default_factory=list)

    def absorb(self, other: Harvest) -> None:
        self.found.extend(other.found)
        self.counters.update(other.counters)
        self.issues.extend(other.issues)


def read_all(
    repo: RepoInfo, objects: ObjectScanner, bar: progress.Progress, *, partial: bool
) -> Harvest:
    """Every object of the repository, each once."""
    listing = Listing()
    harvest = Harvest()
    try:
        with (
            _fast_switching(),
            ThreadPoolExecutor(WORKERS, thread_name_prefix="keysentry-scan") as pool,
            ThreadPoolExecutor(READERS, thread_name_prefix="keysentry-read") as readers,
        ):
            args = (objects, pool, bar, partial)
            parts = [readers.submit(_read_part, repo, listing.first(), *args)]
            listing.fill(repo, READERS, PARALLEL_MIN)  # while the first reader starts
            # The listing is complete: from here on the bar can show an ETA.
            bar.set_total(objects=listing.objects, bytes=listing.blob_content)
            if listing.first_end is not None and listing.first_end < listing.written:
                parts.append(readers.submit(_read_part, repo, listing.rest(), *args))
            for part in parts:
                harvest.absorb(part.result())
    finally:
        listing.close()
    harvest.issues.extend(listing.unreadable)
    return harvest


def read_listed(
    repo: RepoInfo,
    feed: Iterator[bytes],
    objects: ObjectScanner,
    bar: progress.Progress,
    *,
    partial: bool,
) -> Harvest:
    """The objects named by ``feed`` (object ids, one per line), by one git."""
    return _read_parallel(repo, [feed], objects, bar, partial=partial)


# -- reading -------------------------------------------------------------------


def _read_parallel(
    repo: RepoInfo,
    feeds: Sequence[Iterator[bytes]],
    objects: ObjectScanner,
    bar: progress.Progress,
    *,
    partial: bool,
) -> Harvest:
    harvest = Harvest()
    if not feeds:
        return harvest
    with (
        _fast_switching(),
        ThreadPoolExecutor(WORKERS, thread_name_prefix="keysentry-scan") as pool,
        ThreadPoolExecutor(len(feeds), thread_name_prefix="keysentry-read") as readers,
    ):
        parts = [
            readers.submit(_read_part, repo, feed, objects, pool, bar, partial) for feed in feeds
        ]
        for part in parts:
            harvest.absorb(part.result())
    return harvest


@contextmanager
def _fast_switching() -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def _read_part(
    repo: RepoInfo,
    feed: Iterator[bytes],
    objects: ObjectScanner,
    pool: ThreadPoolExecutor,
    bar: progress.Progress,
    partial: bool,
) -> Harvest:
    with gitio.GitStream(["cat-file", "--batch", "--buffer"], repo.cwd, input=feed) as proc:
        try:
            harvest = _consume(BatchReader(proc.stdout, settle=SETTLE), objects, pool, bar)
        except GitError:
            proc.raise_if_failed()  # git's own reason (a corrupt pack) is the better one
            raise
        proc.finish()
        if harvest.issues and not partial:
            # Not a partial clone: an object git listed but cannot read is corrupt.
            said = " ".join(proc.stderr_text().split())[:300]
            harvest.issues = [
                Issue("corrupt-object", i.path, f"git cannot read it: {said or i.detail}")
                for i in harvest.issues
            ]
    return harvest


def _consume(
    reader: BatchReader,
    objects: ObjectScanner,
    pool: ThreadPoolExecutor,
    bar: progress.Progress,
) -> Harvest:
    harvest = Harvest()
    lock = threading.Lock()

    def absorb(hits: list[ObjectHits], totals: Counter[str]) -> None:
        with lock:
            harvest.found.extend(hits)
            for name, value in totals.items():
                if name in _COUNTER_NAMES:
                    harvest.counters[_COUNTER_NAMES[name]] += value
                elif not name.endswith("_bytes"):
                    harvest.counters[name] += value
        bar.advance(
            objects=sum(v for k, v in totals.items() if not k.endswith("_bytes")),
            bytes=totals["blob_bytes"],
        )

    pending: deque[Future[tuple[list[ObjectHits], Counter[str]]]] = deque()
    for item in reader:
        if isinstance(item, Block):
            pending.append(pool.submit(_scan_block, objects, item))
            while pending and pending[0].done():
                absorb(*pending.popleft().result())
        elif isinstance(item, LargeObject):
            # The stream must be read before the next item: scan it right here.
            kind = item.type.decode()
            absorb(objects.scan_large(item), Counter({kind: 1, f"{kind}_bytes": item.size}))
        elif isinstance(item, Missing):
            detail = (
                "object not in this clone: not scanned"
                if item.reason == b"missing"
                else f"git answered {item.reason.decode()!r}: not scanned"
            )
            harvest.issues.append(Issue("missing-object", item.oid.decode(), detail))
            harvest.counters["missing_objects"] += 1
    while pending:
        absorb(*pending.popleft().result())
    return harvest


def _scan_block(objects: ObjectScanner, block: Block) -> tuple[list[ObjectHits], Counter[str]]:
    try:
        return objects.scan_block(block)
    finally:
        block.release()

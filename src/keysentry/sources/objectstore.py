"""Every object in a repository, read once, by git processes working in parallel.

One ``git cat-file --batch-all-objects --batch-check --unordered`` lists every
unique object with its type and size, in pack order (the cheapest order to inflate)
and without inflating anything. The listing, trees left out (no secrets are read
from them), goes to a temporary file; it is then cut in parts of equal content size
and each part is read by its own ``git cat-file --batch``. Inflating is the
bottleneck, and one git is one core: two of them use both, while the scan runs on
worker threads between them (the literal search releases the GIL).

Each reader thread hands blocks of objects to the shared scanning pool and scans
objects too large to buffer itself, straight from its pipe.
"""

from __future__ import annotations

import itertools
import os
import re
import sys
import tempfile
import threading
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO

from keysentry import gitio, progress
from keysentry.errors import GitError
from keysentry.gitio import RepoInfo
from keysentry.models import Issue
from keysentry.sources.catfile import BatchReader, Block, LargeObject, Missing
from keysentry.sources.objects import ObjectHits, ObjectScanner

PARALLEL_MIN = 64 * 2**20
"""Content below this is read by one git: a second one would cost more than it saves."""
READERS = 2
LIST_CHUNK = 2**16
"""The listing is read in pieces this big; the parts are cut between pieces."""
WORKERS = 2
SETTLE = 0.0005
"""Seconds to let the pipe fill after a short read (see BatchReader)."""
SWITCH_INTERVAL = 0.0005
"""GIL switch interval while reading: a reader thread woken by git gets the GIL soon,
instead of after a scanning thread's full 5 ms slice (git would wait on a full pipe)."""

_LISTED = re.compile(rb"^(blob|commit|tag) ([0-9]+) ([0-9a-f]+)$", re.MULTILINE)
_UNREADABLE = re.compile(rb"^([0-9a-f]+) missing$", re.MULTILINE)
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
    with tempfile.TemporaryFile() as listing:
        checkpoints, trees, unreadable = _list_objects(repo, listing)
        total = checkpoints[-1][1]
        parts = _split(checkpoints, READERS if total >= PARALLEL_MIN else 1)
        feeds = [_feed(listing.fileno(), start, end) for start, end in parts]
        harvest = _read_parallel(repo, feeds, objects, bar, partial=partial)
    harvest.counters["trees"] += trees
    harvest.issues.extend(unreadable)
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


# -- listing -------------------------------------------------------------------


def _list_objects(
    repo: RepoInfo, listing: IO[bytes]
) -> tuple[list[tuple[int, int]], int, list[Issue]]:
    """Write the ids of every blob, commit and tag to ``listing``. Returns checkpoints
    (offset in the listing, content bytes listed before it), the number of trees, and
    the objects git lists but cannot read (a corrupt loose object, say)."""
    args = [
        "cat-file", "--batch-all-objects", "--unordered",
        "--batch-check=%(objecttype) %(objectsize) %(objectname)",
    ]  # fmt: skip
    checkpoints = [(0, 0)]
    offset = listed = trees = 0
    unreadable: list[str] = []
    with gitio.GitStream(args, repo.cwd) as proc:
        tail = b""
        while chunk := proc.stdout.read(LIST_CHUNK):
            data = tail + chunk
            cut = data.rfind(b"\n") + 1
            lines, tail = data[:cut], data[cut:]
            trees += lines.count(b"\ntree ") + lines.startswith(b"tree ")
            unreadable.extend(oid.decode() for oid in _UNREADABLE.findall(lines))
            found = _LISTED.findall(lines)
            if found:
                ids = b"\n".join(oid for _kind, _size, oid in found) + b"\n"
                listing.write(ids)
                offset += len(ids)
                listed += sum(int(size) for _kind, size, _oid in found)
                checkpoints.append((offset, listed))
        proc.finish()
        said = " ".join(proc.stderr_text().split())[:300] if unreadable else ""
    listing.flush()
    issues = [Issue("corrupt-object", oid, f"git cannot read it: {said}") for oid in unreadable]
    return checkpoints, trees, issues


def _split(checkpoints: list[tuple[int, int]], parts: int) -> list[tuple[int, int]]:
    """Listing ranges holding about equal content each (cut at checkpoints)."""
    total = checkpoints[-1][1]
    cuts = [0]
    for k in range(1, parts):
        goal = total * k // parts
        offset = next(off for off, size in checkpoints if size >= goal)
        if offset > cuts[-1]:
            cuts.append(offset)
    cuts.append(checkpoints[-1][0])
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def _feed(fd: int, start: int, end: int) -> Iterator[bytes]:
    """Lines ``start:end`` of the listing; pread, so several feeds can share the file."""
    while start < end:
        data = os.pread(fd, min(2**20, end - start), start)
        if not data:
            return
        start += len(data)
        yield data


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
    previous = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        with ThreadPoolExecutor(WORKERS, thread_name_prefix="keysentry-scan") as pool:
            if len(feeds) == 1:
                harvest.absorb(_read_part(repo, feeds[0], objects, pool, bar, partial))
            else:
                with ThreadPoolExecutor(len(feeds), thread_name_prefix="keysentry-read") as rd:
                    parts = [
                        rd.submit(_read_part, repo, feed, objects, pool, bar, partial)
                        for feed in feeds
                    ]
                    for part in parts:
                        harvest.absorb(part.result())
    finally:
        sys.setswitchinterval(previous)
    return harvest


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
            hits = objects.scan_large(item)
            absorb(
                [hits] if hits is not None else [], Counter({kind: 1, f"{kind}_bytes": item.size})
            )
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

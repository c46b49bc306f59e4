"""`keysentry history`: every object in a repository, or the ones a range introduced.

The full audit reads the object store once with ``git cat-file --batch-all-objects
--batch --unordered``: every unique object, whether a ref, a reflog entry, a stash
or nothing at all reaches it, in pack order (the cheapest order to inflate). Blocks
of objects are searched on worker threads (the literal search releases the GIL)
while the main thread keeps reading, so git and the scan use both cores.

A range (``--range BASE..HEAD``, ``--since REV``) reads only the objects reachable
from the range's tips and not from its base: what the range introduced.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from keysentry import gitio, progress
from keysentry.errors import GitError, UsageError
from keysentry.gitio import RepoInfo
from keysentry.models import Issue, ScanResult
from keysentry.pipeline import Collector, ScanRequest, make_scanner
from keysentry.sources.attach import attach_locations
from keysentry.sources.catfile import BatchReader, Block, LargeObject, Missing
from keysentry.sources.objects import ObjectHits, ObjectScanner

WORKERS = 2
"""Scanning threads. git cat-file is the other busy process: more threads only contend."""

_COUNTER_NAMES = {
    "blob": "blobs", "blob_bytes": "bytes", "commit": "commits", "tag": "tags",
    "tree": "trees",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class HistoryOptions:
    range: str | None = None
    """``BASE..HEAD`` (any revision range git accepts): only what it introduced."""
    since: str | None = None
    """Shorthand for ``REV..HEAD``."""
    messages: bool = True
    """Scan commit and annotated-tag messages too."""


def scan_history(request: ScanRequest, target: Path, options: HistoryOptions) -> ScanResult:
    started = time.monotonic()
    repo = gitio.discover(target)
    scanner = make_scanner(request)
    objects = ObjectScanner(scanner, messages=options.messages)
    collector = Collector()
    partial = gitio.is_partial_clone(repo)
    revs = resolve_range(repo, options)
    with progress.bar(request.show_progress, f"keysentry {request.command}") as bar:
        if revs is None:
            args = ["cat-file", "--batch-all-objects", "--batch", "--unordered"]
            found = _run_batch(repo, args, None, objects, collector, bar, partial)
        else:
            found = _scan_range(repo, revs, partial, objects, collector, bar)
    if options.messages:
        collector.counters["messages"] = collector.counters["commits"] + collector.counters["tags"]
    _describe(repo, revs, options, partial, collector)
    attach_locations(
        repo,
        found,
        collector,
        revs,
        objects,
        include_placeholders=request.include_placeholders,
        partial=partial,
    )
    return collector.finish(request, started)


# -- the hot path --------------------------------------------------------------


def _run_batch(
    repo: RepoInfo,
    args: Sequence[str],
    input: Iterator[bytes] | None,
    objects: ObjectScanner,
    collector: Collector,
    bar: progress.Progress,
    partial: bool,
) -> list[ObjectHits]:
    with gitio.GitStream(args, repo.cwd, input=input) as proc:
        try:
            found = _consume(BatchReader(proc.stdout), objects, collector, bar)
        except GitError:
            proc.raise_if_failed()  # git's own reason (a corrupt object) is the better one
            raise
        proc.finish()
        unreadable = [i for i in collector.issues if i.kind == "missing-object"]
        if unreadable and not partial:
            # Not a partial clone: an object git lists but cannot read is corrupt.
            said = " ".join(proc.stderr_text().split())[:300]
            collector.issues[:] = [i for i in collector.issues if i.kind != "missing-object"]
            collector.issues.extend(
                Issue("corrupt-object", i.path, f"git cannot read it: {said or i.detail}")
                for i in unreadable
            )
    return found


def _consume(
    reader: BatchReader, objects: ObjectScanner, collector: Collector, bar: progress.Progress
) -> list[ObjectHits]:
    found: list[ObjectHits] = []
    counters = collector.counters

    def absorb(result: tuple[list[ObjectHits], Counter[str]]) -> None:
        hits, totals = result
        found.extend(hits)
        for name, value in totals.items():
            counters[_COUNTER_NAMES.get(name, name)] += value
        bar.advance(
            objects=sum(v for k, v in totals.items() if not k.endswith("_bytes")),
            bytes=totals["blob_bytes"],
        )

    with ThreadPoolExecutor(WORKERS, thread_name_prefix="keysentry-scan") as pool:
        pending: deque[Future[tuple[list[ObjectHits], Counter[str]]]] = deque()
        for item in reader:
            if isinstance(item, Block):
                pending.append(pool.submit(_scan_block, objects, item))
                while pending and pending[0].done():
                    absorb(pending.popleft().result())
            elif isinstance(item, LargeObject):
                # The stream must be read before the next item: scan it right here.
                kind = item.type.decode()
                totals = Counter({kind: 1, f"{kind}_bytes": item.size})
                hits = objects.scan_large(item)
                absorb(([hits] if hits is not None else [], totals))
            elif isinstance(item, Missing):
                oid = item.oid.decode()
                collector.issues.append(Issue("missing-object", oid, _missing_detail(item)))
                counters["missing_objects"] += 1
        while pending:
            absorb(pending.popleft().result())
    return found


def _scan_block(objects: ObjectScanner, block: Block) -> tuple[list[ObjectHits], Counter[str]]:
    try:
        return objects.scan_block(block)
    finally:
        block.release()


def _missing_detail(item: Missing) -> str:
    if item.reason == b"missing":
        return "object not in this clone: not scanned"
    return f"git answered {item.reason.decode()!r}: not scanned"


# -- ranges --------------------------------------------------------------------


def resolve_range(repo: RepoInfo, options: HistoryOptions) -> list[str] | None:
    """The range as object ids (``tip``, ``^base``), or None for the whole history."""
    if options.range is not None and options.since is not None:
        raise UsageError("give either --range or --since, not both")
    spec = options.range if options.range is not None else options.since
    if spec is None:
        return None
    if options.since is not None:
        if repo.head is None:
            raise UsageError("--since needs a commit at HEAD; this repository has none yet")
        spec = f"{options.since}..HEAD"
    if not spec or spec.startswith("-"):
        raise UsageError(f"not a revision range: {spec!r}")
    proc = gitio.run_git(["rev-parse", "--end-of-options", spec, "--"], repo.cwd, check=False)
    revs = [
        line
        for line in proc.stdout.decode("ascii", "replace").splitlines()
        if line not in ("--end-of-options", "--")
    ]
    if proc.returncode != 0 or not revs:
        raise UsageError(
            f"cannot resolve the range {spec!r} in {repo.cwd}: "
            f"{proc.stderr.decode('utf-8', 'replace').strip()[:300] or 'no such revision'}"
        )
    return revs


def _scan_range(
    repo: RepoInfo,
    revs: Sequence[str],
    partial: bool,
    objects: ObjectScanner,
    collector: Collector,
    bar: progress.Progress,
) -> list[ObjectHits]:
    # --missing=print keeps a partial clone from fetching what it lacks: the missing
    # objects are listed (prefixed with "?") and counted instead.
    missing_opt = ["--missing=print"] if partial else []
    listing = ["rev-list", "--objects", "--no-object-names", *missing_opt, *revs, "--"]
    missing: list[str] = []
    with gitio.GitStream(listing, repo.cwd) as lister:
        feed = _object_ids(lister, missing)
        found = _run_batch(
            repo, ["cat-file", "--batch", "--buffer"], feed, objects, collector, bar, partial
        )
        lister.finish()
    for oid in missing:
        collector.issues.append(
            Issue("missing-object", oid, "not in this partial clone: not scanned")
        )
    collector.counters["missing_objects"] += len(missing)
    return found


def _object_ids(lister: gitio.GitStream, missing: list[str]) -> Iterator[bytes]:
    """rev-list's object ids, as cat-file input; the missing ones are set aside."""
    tail = b""
    while chunk := lister.stdout.read(2**20):
        lines = (tail + chunk).split(b"\n")
        tail = lines.pop()
        kept = []
        for line in lines:
            if line.startswith(b"?"):
                missing.append(line[1:].decode("ascii", "replace"))
            elif line:
                kept.append(line)
        if kept:
            yield b"\n".join(kept) + b"\n"
    if tail:
        yield tail + b"\n"


# -- notes ---------------------------------------------------------------------


def _describe(
    repo: RepoInfo,
    revs: Sequence[str] | None,
    options: HistoryOptions,
    partial: bool,
    collector: Collector,
) -> None:
    """Plain-language facts for the summary: what was read and what could not be."""
    c = collector.counters
    if revs is None:
        what = "every object in the repository (all refs, reflogs, stashes and unreachable objects)"
    else:
        spec = options.range if options.range is not None else f"{options.since}..HEAD"
        what = (
            f"only what {spec} introduced ({c['commits']} commit(s)); keys that "
            "already existed before it are not reported"
        )
    collector.notes.append(f"history: {what}")
    if not options.messages:
        collector.notes.append("commit and tag messages were not scanned (--no-messages)")
    if repo.bare:
        collector.notes.append("bare repository: 'head' means in HEAD's tree")
    if repo.shallow:
        boundary = _shallow_boundary(repo)
        shown = ", ".join(b[:12] for b in boundary[:5]) + (" ..." if len(boundary) > 5 else "")
        collector.notes.append(
            f"shallow clone: history stops at {len(boundary)} boundary commit(s) ({shown}); "
            "older objects are not here and were not scanned, and a key first seen at the "
            "boundary may be older than the commit shown"
        )
    if partial:
        if revs is None:
            c["missing_objects"] += _count_missing(repo)
        n = c["missing_objects"]
        collector.notes.append(
            f"partial clone: {n} object(s) are not in this clone and were not scanned "
            "(nothing was fetched); scan a full clone to cover them"
        )
        if revs is None and n:
            collector.issues.append(
                Issue(
                    "missing-object",
                    str(repo.common_dir),
                    f"{n} object(s) of this partial clone not present",
                )
            )


def _shallow_boundary(repo: RepoInfo) -> list[str]:
    try:
        return (repo.common_dir / "shallow").read_text("ascii").split()
    except OSError:
        return []


def _count_missing(repo: RepoInfo) -> int:
    """Objects the refs and reflogs need that this partial clone does not have."""
    args = ["rev-list", "--objects", "--no-object-names", "--all", "--reflog", "--missing=print"]
    count = 0
    with gitio.GitStream(args, repo.cwd) as proc:
        tail = b""
        while chunk := proc.stdout.read(2**20):
            lines = (tail + chunk).split(b"\n")
            tail = lines.pop()
            count += sum(1 for line in lines if line.startswith(b"?"))
        proc.finish()
    return count + (1 if tail.startswith(b"?") else 0)

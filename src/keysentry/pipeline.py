"""The one function per command that chains the stages:
sources -> decoders/engine (scanner) -> findings -> filters -> validation -> ScanResult."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from keysentry import progress
from keysentry.config import Config
from keysentry.decoders import Limits
from keysentry.filters.allowlist import apply_allowlist
from keysentry.filters.inline import drop_allowed
from keysentry.findings import InputContext, build_findings
from keysentry.models import Issue, ScanResult, ScanStats
from keysentry.rules import Rule
from keysentry.scanner import Scanner, Tally
from keysentry.sources.files import FileInput, FileWalker
from keysentry.sources.gathered import Gathered

if TYPE_CHECKING:
    from pathspec import PathSpec

    from keysentry.validate.settings import ValidationSettings


@dataclass(frozen=True, slots=True)
class ScanRequest:
    command: str
    targets: tuple[str, ...]
    config: Config
    rules: tuple[Rule, ...]
    include_placeholders: bool = False
    show_secrets: bool = False
    validation: ValidationSettings | None = None
    """Probe the findings when set."""
    extra_excludes: tuple[str, ...] = ()
    baseline: Path | None = None
    """Suppress the findings listed in this baseline file."""
    show_progress: bool = False
    """Draw a progress line on stderr (decided by the CLI: a terminal, not CI, not quiet)."""


def make_scanner(request: ScanRequest) -> Scanner:
    config = request.config
    limits = Limits(
        max_depth=config.max_depth,
        max_decoded_bytes=config.max_decoded_bytes,
        max_members=config.max_members,
        max_member_bytes=config.max_member_bytes,
    )
    return Scanner(request.rules, limits=limits, markers=config.allow_markers)


def scan_paths(request: ScanRequest, stdin: BinaryIO | None = None) -> ScanResult:
    started = time.monotonic()
    scanner = make_scanner(request)
    walker = FileWalker(_excludes(request))
    collector = Gathered()
    whole = scanner.chunk_size

    def scan_one(item: FileInput) -> tuple[Tally | None, int, InputContext]:
        source = "stdin" if item.fs_path is None else "file"
        try:
            if item.fs_path is None:
                if stdin is None:
                    raise OSError("standard input is not available")
                tally: Tally | None = scanner.scan_file(stdin, item.path)
            else:
                with open(item.fs_path, "rb", buffering=0) as fh:
                    if os.fstat(fh.fileno()).st_size <= whole:
                        # The common case: the whole file in one read, one prefilter pass.
                        data = fh.readall()
                        tally = scanner.scan_whole(data, item.path)
                        return tally, len(data), InputContext(item.path, source, item.git_status)
                    tally = scanner.scan_file(fh, item.path)
        except OSError as exc:
            tally = Tally()
            tally.issues.append(Issue("unreadable", item.path, exc.strerror or str(exc)))
            return tally, -1, InputContext(item.path, source, item.git_status)
        assert tally is not None
        return (
            tally,
            tally.counters.pop("bytes", 0),
            InputContext(item.path, source, item.git_status),
        )

    with progress.bar(request.show_progress, f"keysentry {request.command}") as bar:
        # One thread on purpose: per file this is mostly interpreter work, and a second
        # thread only fights it for the GIL (generated 1 GB / 40,000-file tree: 1.05 s in
        # one thread, 1.9 s in two).
        for batch in _batches(walker.walk(request.targets), 64):
            _collect(collector, [scan_one(item) for item in batch], bar)
    collector.issues.extend(walker.issues)
    if walker.skipped_git_dirs:
        collector.counters["git_dirs_skipped"] += walker.skipped_git_dirs
    return finish(collector, request, started)


def scan_staged(
    request: ScanRequest, repo: Path, *, all_changes: bool = False, paths: Sequence[str] = ()
) -> ScanResult:
    """``keysentry staged`` (and the git hook's ``keysentry-hook --staged``) as a function."""
    from keysentry.sources.staged import collect_staged

    started = time.monotonic()
    gathered = collect_staged(make_scanner(request), repo, all_changes=all_changes, paths=paths)
    return finish(gathered, request, started)


def _collect(
    collector: Gathered,
    results: list[tuple[Tally | None, int, InputContext]],
    bar: progress.Progress,
) -> None:
    """``nbytes`` is -1 for an input that could not be read (its tally says why)."""
    size = files = 0
    for tally, nbytes, ctx in results:
        if nbytes >= 0:
            files += 1
            size += nbytes
        if tally is not None:
            collector.add(tally, ctx)
    collector.counters["files"] += files
    collector.counters["bytes"] += size
    bar.advance(objects=len(results), bytes=size)


T = TypeVar("T")
R = TypeVar("R")


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _excludes(request: ScanRequest) -> PathSpec[Any] | None:
    patterns = [*request.config.exclude, *request.extra_excludes]
    if not patterns:
        return None
    from pathspec import PathSpec

    return PathSpec.from_lines("gitignore", patterns)


def finish(gathered: Gathered, request: ScanRequest, started: float) -> ScanResult:
    """Gathered hits -> findings: filters, allowlist, baseline, validation, stats."""
    counters = gathered.counters
    kept = drop_allowed(gathered.pairs, counters, include_placeholders=request.include_placeholders)
    findings = build_findings(kept)
    findings = apply_allowlist(findings, request.config.allowlist, counters)
    if request.baseline is not None:
        from keysentry.filters.baseline import filter_findings

        findings = filter_findings(findings, request.baseline, counters, gathered.notes)
    if request.validation is not None:
        from keysentry.validate import validate_findings

        findings = validate_findings(findings, request.validation)
    for issue in gathered.issues:
        counters[f"skipped_{issue.kind.replace('-', '_')}"] += 1
    counters["findings"] = len(findings)
    stats = ScanStats(
        counters=dict(sorted(counters.items())),
        issues=tuple(gathered.issues),
        duration_s=round(time.monotonic() - started, 3),
        notes=tuple(gathered.notes),
    )
    return ScanResult(
        request.command, request.targets, findings, stats, show_secrets=request.show_secrets
    )

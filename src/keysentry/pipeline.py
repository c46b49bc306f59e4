"""The one function per command that chains the stages:
sources -> decoders/engine (scanner) -> findings -> filters -> validation -> ScanResult."""

from __future__ import annotations

import os
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from keysentry import progress
from keysentry.config import Config
from keysentry.decoders import Limits
from keysentry.filters.allowlist import apply_allowlist
from keysentry.filters.inline import drop_allowed
from keysentry.findings import InputContext, build_findings
from keysentry.models import Issue, ScanResult, ScanStats
from keysentry.rules import Rule
from keysentry.scanner import Hit, Scanner, Tally
from keysentry.sources.files import FileInput, FileWalker

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
    workers: int = field(default_factory=lambda: min(4, os.cpu_count() or 1))


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
    collector = Collector()

    def scan_one(item: FileInput) -> tuple[Tally, InputContext]:
        ctx = InputContext(item.path, "stdin" if item.fs_path is None else "file",
                           item.git_status)
        tally = Tally()
        try:
            if item.fs_path is None:
                if stdin is None:
                    raise OSError("standard input is not available")
                tally = scanner.scan_file(stdin, None, item.path)
            else:
                with open(item.fs_path, "rb") as fh:
                    tally = scanner.scan_file(fh, item.size, item.path)
            tally.counters["files"] += 1
        except OSError as exc:
            tally.issues.append(Issue("unreadable", item.path, exc.strerror or str(exc)))
        return tally, ctx

    items = walker.walk(request.targets)
    with progress.bar(request.show_progress, f"keysentry {request.command}") as bar:
        if request.workers > 1:
            # File reads and the hyperscan pass release the GIL: two threads use both cores.
            with ThreadPoolExecutor(request.workers) as pool:
                for tally, ctx in _bounded_map(pool, scan_one, items):
                    collector.add(tally, ctx)
                    bar.advance(objects=1, bytes=tally.counters["bytes"])
        else:
            for item in items:
                tally, ctx = scan_one(item)
                collector.add(tally, ctx)
                bar.advance(objects=1, bytes=tally.counters["bytes"])
    collector.issues.extend(walker.issues)
    if walker.skipped_git_dirs:
        collector.counters["git_dirs_skipped"] += walker.skipped_git_dirs
    return collector.finish(request, started)


def _bounded_map(
    pool: ThreadPoolExecutor,
    fn: Callable[[FileInput], tuple[Tally, InputContext]],
    items: Iterable[FileInput],
    ahead: int = 64,
) -> Iterator[tuple[Tally, InputContext]]:
    """``pool.map`` in input order with at most ``ahead`` inputs in flight (bounded memory)."""
    pending: deque[Future[tuple[Tally, InputContext]]] = deque()
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _excludes(request: ScanRequest) -> PathSpec | None:
    patterns = [*request.config.exclude, *request.extra_excludes]
    if not patterns:
        return None
    from pathspec import PathSpec

    return PathSpec.from_lines("gitignore", patterns)


@dataclass(slots=True)
class Collector:
    """Gathers hits from any source and turns them into the final result."""

    pairs: list[tuple[Hit, InputContext]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    counters: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def add(self, tally: Tally, ctx: InputContext) -> None:
        self.pairs.extend((hit, ctx) for hit in tally.hits)
        self.issues.extend(tally.issues)
        self.counters.update(tally.counters)

    def finish(self, request: ScanRequest, started: float) -> ScanResult:
        counters = self.counters
        kept = drop_allowed(self.pairs, counters,
                            include_placeholders=request.include_placeholders)
        findings = build_findings(kept)
        findings = apply_allowlist(findings, request.config.allowlist, counters)
        if request.baseline is not None:
            from keysentry.filters.baseline import filter_findings

            findings = filter_findings(findings, request.baseline, counters, self.notes)
        if request.validation is not None:
            from keysentry.validate import validate_findings

            findings = validate_findings(findings, request.validation)
        for issue in self.issues:
            counters[f"skipped_{issue.kind.replace('-', '_')}"] += 1
        counters["findings"] = len(findings)
        stats = ScanStats(
            counters=dict(sorted(counters.items())),
            issues=tuple(self.issues),
            duration_s=round(time.monotonic() - started, 3),
            notes=tuple(self.notes),
        )
        return ScanResult(request.command, request.targets, findings, stats,
                          show_secrets=request.show_secrets)

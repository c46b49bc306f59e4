"""The one function per command that chains the stages:
sources -> decoders/engine (scanner) -> findings -> filters -> validation -> ScanResult."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from keysentry.config import Config, TargetConfig
from keysentry.console import progress
from keysentry.decoders.views import Limits
from keysentry.detect.rules import Rule
from keysentry.detect.scanner import Scanner, Tally
from keysentry.filters.allowlist import apply_allowlist
from keysentry.filters.inline import drop_allowed
from keysentry.findings.build import InputContext, build_findings
from keysentry.gcpause import paused
from keysentry.git.roots import repository_root
from keysentry.models import Finding, GitStatus, Issue, Location, ScanResult, ScanStats
from keysentry.sources.files import Excludes, FileInput, FileWalker, distinct_targets
from keysentry.sources.gathered import Gathered
from keysentry.sources.paths import scan_names

if TYPE_CHECKING:
    from keysentry.filters.baseline import Baseline, BaselineEntry
    from keysentry.sources.history import HistoryOptions
    from keysentry.validate.settings import ValidationSettings


@dataclass(frozen=True, slots=True)
class Scope:
    """Targets that share one configuration, and what was built from it."""

    config: Config
    rules: tuple[Rule, ...]
    baseline: Path | None
    include_placeholders: bool
    targets: tuple[TargetConfig, ...]


FIX_INFO_COMMANDS = frozenset({"scan", "staged", "history", "ci", "audit"})


@dataclass(frozen=True, slots=True)
class ScanRequest:
    command: str
    targets: tuple[str, ...]
    config: Config
    """The configuration of the first target (the only one for history, staged and ci)."""
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
    scopes: tuple[Scope, ...] = ()
    """Per-target configuration (the CLI resolves it); empty: ``config`` for every target."""
    notes: tuple[str, ...] = ()
    """Facts the CLI learnt while building the request (an ignored [validation] table)."""
    fix_info: bool | None = None
    """Tell the reports what ``keysentry fix`` can do at each location (the fix stage);
    None: for the commands whose reports show it (scan, staged, history, ci, audit)."""

    def wants_fix_info(self) -> bool:
        if self.fix_info is not None:
            return self.fix_info
        return self.command in FIX_INFO_COMMANDS

    def all_scopes(self) -> tuple[Scope, ...]:
        if self.scopes:
            return self.scopes
        targets = tuple(
            TargetConfig(t, repository_root(os.getcwd() if t == "-" else t), self.config)
            for t in self.targets
        )
        include = self.include_placeholders or self.config.include_placeholders
        return (Scope(self.config, self.rules, self.baseline, include, targets),)


def make_scanner(request: ScanRequest, scope: Scope | None = None) -> Scanner:
    config = request.config if scope is None else scope.config
    limits = Limits(
        max_depth=config.max_depth,
        max_decoded_bytes=config.max_decoded_bytes,
        max_members=config.max_members,
        max_member_bytes=config.max_member_bytes,
        max_buffered_bytes=config.max_buffered_bytes,
        max_compression_ratio=config.max_compression_ratio,
    )
    rules = request.rules if scope is None else scope.rules
    return Scanner(rules, limits=limits, markers=config.allow_markers)


def scan_excludes(request: ScanRequest, config: Config) -> Excludes | None:
    """The configuration's exclude patterns and the command line's ``--exclude``."""
    return Excludes.build(
        [
            *((p, f"{p!r} in {config.source}") for p in config.exclude),
            *((p, f"--exclude {p!r}") for p in request.extra_excludes),
        ]
    )


@paused
def scan_paths(request: ScanRequest, stdin: BinaryIO | None = None) -> ScanResult:
    started = time.monotonic()
    kept, overlapping = distinct_targets(request.targets)
    scopes = request.all_scopes()
    owner = {tc.target: (scope, tc) for scope in scopes for tc in scope.targets}
    walker = FileWalker()
    parts: dict[int, tuple[Scope, Gathered, Scanner, Excludes | None]] = {}
    with progress.bar(request.show_progress, f"keysentry {request.command}") as bar:
        for target in kept:
            scope, tc = owner[target]
            if id(scope) not in parts:
                parts[id(scope)] = (
                    scope, Gathered(), make_scanner(request, scope),
                    scan_excludes(request, scope.config),
                )  # fmt: skip
            _, collector, scanner, excludes = parts[id(scope)]
            names: list[tuple[str, GitStatus | None]] = []
            # One thread on purpose: per file this is mostly interpreter work, and a second
            # thread only fights it for the GIL (generated 1 GB / 40,000-file tree: 1.05 s
            # in one thread, 1.9 s in two).
            for item in walker.walk(target, excludes, tc.root):
                _collect(collector, _scan_one(scanner, item, stdin, bar))
                if item.fs_path is not None:
                    names.append((item.path, item.git_status))
            for tally, ctx in scan_names(scanner, names):  # a name publishes a key too
                collector.add(tally, ctx)
    if not parts:  # nothing to walk: the counters still need a home
        parts[0] = (scopes[0], Gathered(), make_scanner(request, scopes[0]), None)
    first = next(iter(parts.values()))[1]
    first.issues.extend(walker.issues)
    first.excluded.extend(walker.excluded)
    if walker.skipped_git_dirs:
        first.counters["git_dirs_skipped"] += walker.skipped_git_dirs
    if overlapping:
        first.counters["overlapping_targets"] += len(overlapping)
        more = f" and {len(overlapping) - 5} more" if len(overlapping) > 5 else ""
        first.notes.append(
            f"{len(overlapping)} target(s) already covered by another target, read once: "
            + ", ".join(overlapping[:5])
            + more
        )
    configs = {tc.target: tc.config.source for tc in (owner[t][1] for t in kept)}
    result = finish_scopes(
        [(scope, gathered) for scope, gathered, _, _ in parts.values()], request, started, configs
    )
    return _fix_stage(result, request, _read_file)


def _scan_one(
    scanner: Scanner, item: FileInput, stdin: BinaryIO | None, bar: progress.Progress
) -> tuple[Tally | None, int, InputContext]:
    """``bytes`` counts what was read from the input, once: never the scanner's own tally
    of windows and decompressed members, which may re-read or expand it. The progress
    display hears the bytes as they are read, so a few large files show it moving too."""
    source = "stdin" if item.fs_path is None else "file"
    ctx = InputContext(item.path, source, item.git_status)
    try:
        if item.fs_path is None:
            if stdin is None:
                raise OSError("standard input is not available")
            counted = _Counted(stdin, bar)
            tally: Tally | None = scanner.scan_file(counted, item.path)
            size = counted.count
            bar.advance(objects=1)
        else:
            with open(item.fs_path, "rb", buffering=0) as fh:
                size = os.fstat(fh.fileno()).st_size
                if size <= scanner.chunk_size:
                    # The common case: the whole file in one read, one prefilter pass.
                    data = fh.readall()
                    size = len(data)
                    tally = scanner.scan_whole(data, item.path)
                    bar.advance(objects=1, bytes=size)
                else:
                    watched = _Watched(fh, bar)
                    tally = scanner.scan_file(cast(BinaryIO, watched), item.path)
                    bar.advance(objects=1, bytes=size - watched.reported)
    except OSError as exc:
        tally = Tally()
        tally.issues.append(Issue("unreadable", item.path, exc.strerror or str(exc)))
        bar.advance(objects=1)
        return tally, -1, ctx
    if tally is not None:
        tally.counters.pop("bytes", None)
    return tally, size, ctx


@paused
def scan_staged(
    request: ScanRequest, repo: Path, *, all_changes: bool = False, paths: Sequence[str] = ()
) -> ScanResult:
    """``keysentry staged`` (and the git hook's ``keysentry-hook --staged``) as a function."""
    from keysentry.sources.staged import collect_staged

    started = time.monotonic()
    gathered = collect_staged(
        make_scanner(request),
        repo,
        all_changes=all_changes,
        paths=paths,
        excludes=scan_excludes(request, request.config),
    )
    result = finish(gathered, request, started)
    return _fix_stage(result, request, _staged_reader(repo))


def _fix_stage(
    result: ScanResult, request: ScanRequest, read: Callable[[Location], bytes | None]
) -> ScanResult:
    """What ``keysentry fix`` can do at each location, for the reports. Imported only
    when there is a finding: a clean scan (and the commit hook) never loads it."""
    if not result.findings or not request.wants_fix_info():
        return result
    from keysentry.rewrite.annotate import annotate

    return annotate(result, read)


def _read_file(loc: Location) -> bytes | None:
    """The file again, for the fix stage: at most one byte past what it would parse."""
    from keysentry.rewrite.plan import MAX_BYTES

    try:
        with open(loc.path, "rb") as fh:
            return fh.read(MAX_BYTES + 1)
    except OSError:
        return None


def _staged_reader(repo: Path) -> Callable[[Location], bytes | None]:
    def read(loc: Location) -> bytes | None:
        if loc.source != "staged" or not loc.blob:
            return _read_file(loc)
        from keysentry.git import run as gitio

        proc = gitio.run_git(["cat-file", "blob", loc.blob], repo, check=False)
        return proc.stdout if proc.returncode == 0 else None

    return read


def _collect(
    collector: Gathered,
    result: tuple[Tally | None, int, InputContext],
) -> None:
    """``nbytes`` is -1 for an input that could not be read (its tally says why)."""
    tally, nbytes, ctx = result
    if nbytes >= 0:
        collector.counters["files"] += 1
        collector.counters["bytes"] += nbytes
    if tally is not None:
        collector.add(tally, ctx)


class _Counted:
    """An input read in chunks (standard input, a large file), counting the bytes read
    and telling the progress display."""

    __slots__ = ("_bar", "_source", "count")

    def __init__(self, source: BinaryIO, bar: progress.Progress) -> None:
        self._source = source
        self._bar = bar
        self.count = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._source.read(size)
        self.count += len(data)
        self._bar.advance(bytes=len(data))
        return data

    def seekable(self) -> bool:
        return False

    def seek(self, offset: int, whence: int = 0, /) -> int:
        raise OSError("standard input cannot seek")


class _Watched:
    """A large file as the scanner reads it (seeks included), telling the progress display
    how far into the file the reading has got."""

    __slots__ = ("_bar", "_source", "reported")

    def __init__(self, source: BinaryIO, bar: progress.Progress) -> None:
        self._source = source
        self._bar = bar
        self.reported = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._source.read(size)
        where = self._source.tell()
        if where > self.reported:
            self._bar.advance(bytes=where - self.reported)
            self.reported = where
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)


def finish(gathered: Gathered, request: ScanRequest, started: float) -> ScanResult:
    """Gathered hits of one repository (history, staged, ci) -> the result."""
    scope = request.all_scopes()[0]
    configs = {tc.target: tc.config.source for tc in scope.targets}
    return finish_scopes([(scope, gathered)], request, started, configs)


def finish_scopes(
    parts: Sequence[tuple[Scope, Gathered]],
    request: ScanRequest,
    started: float,
    configs: dict[str, str],
) -> ScanResult:
    """Gathered hits -> findings: filters, allowlist and baseline of each scope's
    configuration, then validation of what is left, and the stats."""
    counters: Counter[str] = Counter()
    issues: list[Issue] = []
    excluded: list[Issue] = []
    notes: list[str] = list(request.notes)
    found: list[tuple[Finding, ...]] = []
    # A baseline shared by several scopes: an entry is unseen only if no scope saw it.
    unseen: dict[Path, tuple[Baseline, set[BaselineEntry]]] = {}
    for scope, gathered in parts:
        counters.update(gathered.counters)
        kept = drop_allowed(
            gathered.pairs, counters, include_placeholders=scope.include_placeholders
        )
        findings = apply_allowlist(build_findings(kept), scope.config.allowlist, counters)
        if scope.baseline is not None:
            from keysentry.filters.baseline import apply_baseline, load_baseline

            if scope.baseline not in unseen:
                baseline = load_baseline(scope.baseline)
                unseen[scope.baseline] = (baseline, set(baseline.entries))
            baseline, stale = unseen[scope.baseline]
            findings, stale_here = apply_baseline(findings, baseline, counters)
            stale.intersection_update(stale_here)
        found.append(findings)
        issues.extend(gathered.issues)
        excluded.extend(gathered.excluded)
        notes.extend(gathered.notes)
    for baseline, stale in unseen.values():
        if stale:
            from keysentry.filters.baseline import stale_note

            notes.append(stale_note(baseline, [e for e in baseline.entries if e in stale]))
    findings = found[0] if len(found) == 1 else merge_findings(found)
    if request.validation is not None:
        from keysentry.validate import validate_findings

        findings = validate_findings(findings, request.validation)
    for issue in issues:
        counters[f"skipped_{issue.kind.replace('-', '_')}"] += 1
    if excluded:
        counters["excluded"] = len(excluded)
    counters["findings"] = len(findings)
    stats = ScanStats(
        counters=dict(sorted(counters.items())),
        issues=tuple(issues),
        duration_s=round(time.monotonic() - started, 3),
        notes=tuple(notes),
        excluded=tuple(excluded),
        configs=configs,
    )
    # `started` is monotonic (durations survive clock changes); the wall-clock start is derived.
    began = datetime.now(timezone.utc) - timedelta(seconds=stats.duration_s)
    return ScanResult(
        request.command,
        request.targets,
        findings,
        stats,
        show_secrets=request.show_secrets,
        started_at=began.isoformat(timespec="seconds"),
    )


def merge_findings(groups: Sequence[tuple[Finding, ...]]) -> tuple[Finding, ...]:
    """The findings of several scopes as one list: a key found under two configurations
    is one finding with the locations that neither configuration suppressed."""
    merged: dict[tuple[str, str], Finding] = {}
    for findings in groups:
        for f in findings:
            key = (f.rule_id, f.fingerprint)
            if key in merged:
                old = merged[key]
                locations = sorted({*old.locations, *f.locations}, key=lambda loc: loc.sort_key())
                f = replace(old, locations=tuple(locations))
            merged[key] = f
    return tuple(sorted(merged.values(), key=lambda f: (f.locations[0].sort_key(), f.rule_id)))


# -- the git sources: each imported when its command runs, so `scan` never loads them --


@paused
def run_history(request: ScanRequest, repo: Path, options: HistoryOptions) -> ScanResult:
    """``keysentry history`` as a function: also what ``keysentry ci`` runs per range."""
    from keysentry.sources.attach import exposure_note
    from keysentry.sources.history import collect_history

    started = time.monotonic()
    gathered = collect_history(
        make_scanner(request),
        repo,
        options,
        include_placeholders=request.include_placeholders,
        show_progress=request.show_progress,
    )
    result = _fix_stage(finish(gathered, request, started), request, lambda loc: None)
    # Described after the allowlist and the baseline: only the keys still reported.
    note = exposure_note(result.findings)
    if not note:
        return result
    return replace(result, stats=replace(result.stats, notes=(*result.stats.notes, note)))


@paused
def run_ci(
    request: ScanRequest,
    repo: Path,
    ranges: Sequence[tuple[str | None, str]],
    published: str,
    incoming: Sequence[str] = (),
) -> ScanResult:
    """``keysentry ci``: the history of each (range, why it was chosen) as one result;
    ``None`` for the whole history. ``incoming``: the new tips of a push being received
    (``--pre-receive``), which count as pushed."""
    from keysentry.sources.history import HistoryOptions

    if not ranges:
        note = "nothing to scan: no new commits (a deletion, or already on the remote)"
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return ScanResult(
            request.command, (), (), ScanStats(notes=(note,)), started_at=now, scope=note
        )
    results = []
    for spec, why in ranges:
        options = HistoryOptions(range=spec, published_by=published, incoming=tuple(incoming))
        result = run_history(request, repo, options)
        chosen = f"commit range chosen: {why}"
        notes = (chosen, *result.stats.notes)
        results.append(replace(result, stats=replace(result.stats, notes=notes), scope=chosen))
    return merge_results(results)


def merge_results(results: Sequence[ScanResult]) -> ScanResult:
    """One result for several ranges (a push of several branches)."""
    if len(results) == 1:
        return results[0]

    from keysentry.sources.attach import EXPOSURE_NOTE, exposure_note

    findings = merge_findings([r.findings for r in results])
    counters: Counter[str] = Counter()
    for result in results:
        counters.update(result.stats.counters)
    counters["findings"] = len(findings)
    notes = [n for r in results for n in r.stats.notes if not n.startswith(EXPOSURE_NOTE)]
    exposure = exposure_note(findings)  # once, for the keys of every range
    stats = ScanStats(
        counters=dict(sorted(counters.items())),
        issues=tuple(i for r in results for i in r.stats.issues),
        duration_s=round(sum(r.stats.duration_s for r in results), 3),
        notes=(*notes, exposure) if exposure else tuple(notes),
        excluded=tuple(i for r in results for i in r.stats.excluded),
        configs={t: s for r in results for t, s in r.stats.configs.items()},
    )
    first = results[0]
    return ScanResult(
        first.command,
        tuple(t for r in results for t in r.targets),
        findings,
        stats,
        show_secrets=first.show_secrets,
        started_at=min(r.started_at for r in results),
        scope="; ".join(r.scope for r in results),
    )

"""The per-repository task: the one function every executor runs.

It takes a picklable :class:`TaskSpec`, clones or fetches the repository when it is a
URL, reads the state of its refs, and, unless the store already holds that state, runs
exactly ``keysentry history``'s pipeline on it. It never raises: a repository that
cannot be audited comes back with its reason. The findings it returns still carry
their raw keys (only in memory, for the driver's validation); the store never sees them.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keysentry.errors import KeysentryError
from keysentry.fleet.targets import Target
from keysentry.models import Finding, Issue, scrub_secrets

if TYPE_CHECKING:
    from keysentry.pipeline import ScanRequest

OBJECT_COUNTERS = ("commits", "trees", "blobs", "tags")


@dataclass(frozen=True, slots=True)
class AuditSettings:
    """What every repository's audit shares (the command line's options)."""

    clone_dir: Path
    config_path: Path | None = None
    rules: tuple[Path, ...] = ()
    include_placeholders: bool = False
    baseline: Path | None = None
    messages: bool = True
    timeout: float | None = None
    """Seconds per repository (clone, fetch and scan); None: no limit."""


@dataclass(frozen=True, slots=True)
class TaskSpec:
    target: Target
    settings: AuditSettings
    known_digest: str | None = None
    """The state the store holds for this repository: the same state again means
    nothing changed, and the scan is skipped."""
    salt: str = ""
    """What the state is salted with (keysentry.fleet.state.settings_salt), computed
    once by the driver."""


@dataclass(frozen=True, slots=True)
class RepoOutcome:
    """What one repository's audit produced."""

    name: str
    digest: str = ""
    failure: str = ""
    """Why the repository could not be audited; empty when it was."""
    unchanged: bool = False
    """Its refs matched the stored digest: not scanned again."""
    counters: dict[str, int] = field(default_factory=dict)
    issues: tuple[Issue, ...] = ()
    notes: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    duration_s: float = 0.0

    @property
    def objects(self) -> int:
        return sum(self.counters.get(name, 0) for name in OBJECT_COUNTERS)


_stages: Any = None
"""Where a worker process tells the driver what each repository is doing (a
multiprocessing SimpleQueue set by the local executor's initializer); None elsewhere
(Dask workers, the helper processes of --repo-timeout, tests)."""


def listen_to(queue: Any) -> None:
    global _stages
    _stages = queue


def _stage(name: str, what: str) -> None:
    if _stages is not None:
        with contextlib.suppress(Exception):  # the display is never worth failing for
            _stages.put((name, what))


def audit_repository(spec: TaskSpec) -> RepoOutcome:
    """Audit one repository; never raises.

    A failure is returned with the state of the repository's refs when they could be
    read (see :mod:`keysentry.fleet.state`), so that a resume does not retry a
    repository that fails for a reason of its own until it changes. Failures that say
    nothing about the repository keep no state and are retried by the next run: a clone
    or fetch that failed (the network, the server, credentials), ``--repo-timeout`` (the
    limit or the load may differ next time), an unexpected error of this program."""
    started = time.monotonic()
    name = spec.target.name
    seconds = spec.settings.timeout
    try:
        _stage(name, "starting")
        if seconds:
            # In a helper process that is killed at the limit (see fleet.isolate).
            from keysentry.fleet import isolate

            try:
                return isolate.audit_with_deadline(spec, started + seconds)
            except isolate.Expired:
                return _failed(name, f"timed out after {seconds:g} s (--repo-timeout)", "", started)
        return _audit(spec, started)
    except KeysentryError as exc:
        reason = str(exc)
    except Exception as exc:  # a task must come back: the fleet goes on without this one
        reason = f"{type(exc).__name__}: {exc}"
    return _failed(name, reason, "", started)


def _failed(name: str, reason: str, state: str, started: float) -> RepoOutcome:
    return RepoOutcome(
        name,
        digest=state,
        failure=scrub_secrets(reason),
        duration_s=round(time.monotonic() - started, 3),
    )


def _audit(spec: TaskSpec, started: float) -> RepoOutcome:
    from keysentry.fleet.state import audit_state

    target = spec.target
    if target.url is not None:
        from keysentry.fleet.clone import clone_or_fetch

        def cloning(stage: str, done: int, total: int | None) -> None:
            share = f" {100 * done // total}%" if total else ""
            _stage(target.name, f"cloning: {stage}{share}")

        repo = clone_or_fetch(target.url, spec.settings.clone_dir, cloning)
    else:
        repo = target.path
    # The same function on the same path as the driver's check, so that both agree.
    state = audit_state(repo, spec.salt)
    if state == spec.known_digest:
        return RepoOutcome(
            target.name, digest=state, unchanged=True,
            duration_s=round(time.monotonic() - started, 3),
        )  # fmt: skip
    try:
        return _scan(spec, repo, state, started)
    except KeysentryError as exc:  # the repository's own failure: kept with its state
        return _failed(target.name, str(exc), state, started)


def _scan(spec: TaskSpec, repo: Path, state: str, started: float) -> RepoOutcome:
    from keysentry import gitio
    from keysentry.pipeline import run_history
    from keysentry.sources.history import HistoryOptions

    name = spec.target.name
    if not repo.exists():
        raise KeysentryError(f"does not exist: {repo}")
    gitio.discover(repo)
    request = _request(repo, spec.settings)
    _stage(name, "scanning")
    result = run_history(request, repo, HistoryOptions(messages=spec.settings.messages))
    return RepoOutcome(
        name,
        digest=state,
        counters=dict(result.stats.counters),
        issues=result.stats.issues,
        notes=result.stats.notes,
        findings=result.findings,
        duration_s=round(time.monotonic() - started, 3),
    )


def _request(repo: Path, settings: AuditSettings) -> ScanRequest:
    from keysentry.config import resolve_configs
    from keysentry.pipeline import ScanRequest, Scope
    from keysentry.rules import load_rules

    (tc,) = resolve_configs(settings.config_path, (str(repo),))
    config = tc.config
    rules = load_rules([*config.rules, *settings.rules])
    include = settings.include_placeholders or config.include_placeholders
    baseline = settings.baseline or config.baseline
    scope = Scope(config, rules, baseline, include, (tc,))
    return ScanRequest(
        command="audit",
        targets=(str(repo),),
        config=config,
        rules=rules,
        include_placeholders=include,
        baseline=baseline,
        scopes=(scope,),
    )

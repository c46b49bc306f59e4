"""The per-repository task: the one function every executor runs.

It takes a picklable :class:`TaskSpec`, clones or fetches the repository when it is a
URL, reads the state of its refs, and, unless the store already holds that state, runs
exactly ``keysentry history``'s pipeline on it. It never raises: a repository that
cannot be audited comes back with its reason. The findings it returns still carry
their raw keys (only in memory, for the driver's validation); the store never sees them.
"""

from __future__ import annotations

import contextlib
import hashlib
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
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
    """The refs digest the store holds for this repository: the same digest again means
    nothing changed, and the scan is skipped."""


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


class _Timeout(KeysentryError):
    pass


_stages: Any = None
"""Where a worker process tells the driver what each repository is doing (a queue set by
the local executor's initializer); None elsewhere (Dask workers, tests)."""


def listen_to(queue: Any) -> None:
    global _stages
    _stages = queue


def _stage(name: str, what: str) -> None:
    if _stages is not None:
        with contextlib.suppress(Exception):  # the display is never worth failing for
            _stages.put_nowait((name, what))


def audit_repository(spec: TaskSpec) -> RepoOutcome:
    """Audit one repository; never raises."""
    started = time.monotonic()
    name = spec.target.name
    try:
        _stage(name, "starting")
        with _deadline(spec.settings.timeout):
            return _audit(spec, started)
    except _Timeout:
        reason = f"timed out after {spec.settings.timeout:g} s (--repo-timeout)"
    except KeysentryError as exc:
        reason = str(exc)
    except Exception as exc:  # a task must come back: the fleet goes on without this one
        reason = f"{type(exc).__name__}: {exc}"
    return RepoOutcome(
        name, failure=scrub_secrets(reason), duration_s=round(time.monotonic() - started, 3)
    )


def _audit(spec: TaskSpec, started: float) -> RepoOutcome:
    from keysentry import gitio
    from keysentry.pipeline import run_history
    from keysentry.sources.history import HistoryOptions

    target = spec.target
    if target.url is not None:
        from keysentry.fleet.clone import clone_or_fetch

        def cloning(stage: str, done: int, total: int | None) -> None:
            share = f" {100 * done // total}%" if total else ""
            _stage(target.name, f"cloning: {stage}{share}")

        repo = clone_or_fetch(target.url, spec.settings.clone_dir, cloning)
    else:
        repo = target.path
        if not repo.exists():
            raise KeysentryError(f"does not exist: {repo}")
    info = gitio.discover(repo)
    digest = refs_digest(info.cwd)
    if digest == spec.known_digest:
        return RepoOutcome(
            target.name, digest=digest, unchanged=True,
            duration_s=round(time.monotonic() - started, 3),
        )  # fmt: skip
    request = _request(repo, spec.settings)
    _stage(target.name, "scanning")
    result = run_history(request, repo, HistoryOptions(messages=spec.settings.messages))
    return RepoOutcome(
        target.name,
        digest=digest,
        counters=dict(result.stats.counters),
        issues=result.stats.issues,
        notes=result.stats.notes,
        findings=result.findings,
        duration_s=round(time.monotonic() - started, 3),
    )


def refs_digest(cwd: Path) -> str:
    """SHA-256 of ``git for-each-ref`` (every ref, its object) and of HEAD: unchanged
    refs mean unchanged reachable history. Reflogs and loose unreachable objects can
    change without it; ``--rescan`` covers that."""
    from keysentry import gitio

    refs = gitio.run_git(["for-each-ref", "--format=%(objectname) %(refname)"], cwd).stdout
    head = gitio.run_git(["rev-parse", "-q", "--verify", "HEAD"], cwd, check=False).stdout
    return hashlib.sha256(refs + b"\0" + head).hexdigest()


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


@contextlib.contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    """Interrupt the audit after ``seconds`` (SIGALRM: in a process's main thread, which is
    where the local executor runs tasks; elsewhere, as in a Dask worker's thread pool, the
    driver enforces the limit by giving up on the task)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum: int, frame: FrameType | None) -> None:
        raise _Timeout("timeout")

    old = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)

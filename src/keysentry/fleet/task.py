"""The per-repository task: the one function every executor runs.

It takes a picklable :class:`TaskSpec`, clones or fetches the repository when it is a
URL, reads the state of its refs, and, unless the store already holds that state, runs
exactly ``keysentry history``'s pipeline on it. It never raises: a repository that
cannot be audited comes back with its reason.

What it returns is redacted where it is made, before it leaves the worker: every string
in it (commit subjects, identities, paths, snippets, issues, notes, the failure) has
every key-shaped run and every key found redacted (:func:`keysentry.untrusted.redacted`).
The raw keys themselves come back only when the driver needs them (``--validate``
probes them, ``--show-secrets`` prints them: :attr:`AuditSettings.keep_secrets`), in
each finding's ``secret``, in memory; the store never writes that field.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keysentry.errors import KeysentryError
from keysentry.fleet.spec import AuditSettings, RepoOutcome, TaskSpec
from keysentry.fleet.targets import Credentials
from keysentry.models import scrub_secrets

if TYPE_CHECKING:
    from keysentry.pipeline import ScanRequest

_stages: Any = None
"""Where a worker process tells the driver what each repository is doing (a
multiprocessing SimpleQueue set by the local executor's initializer); None elsewhere
(Dask workers, the helper processes of --repo-timeout, tests)."""


_credentials = Credentials()
"""The full clone URLs, set in this driver's own worker processes by
:func:`start_worker` (never in a task spec; empty on Dask workers)."""


def listen_to(queue: Any) -> None:
    global _stages
    _stages = queue


def start_worker(queue: Any, credentials: Credentials, driver: int) -> None:
    """A local worker process's initializer: where to report stages, the credentials
    of the URLs, and the driver to die with (:mod:`keysentry.fleet.lifeline`)."""
    global _credentials
    from keysentry.fleet import lifeline

    listen_to(queue)
    _credentials = credentials
    lifeline.die_with(driver)


def serve_helper(requests: int, replies: int) -> None:
    """A ``--repo-timeout`` helper's life (see :mod:`keysentry.fleet.isolate`): audit
    each spec it is sent. A forked helper inherits the worker's queue to the progress
    display, and one killed at the limit while it held the queue's lock would stop every
    other writer: it reports no stages."""
    from keysentry.fleet import isolate

    listen_to(None)
    isolate.serve(requests, replies, audit_repository)


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
    return _kept(_outcome(spec), spec)


def _kept(outcome: RepoOutcome, spec: TaskSpec) -> RepoOutcome:
    """The outcome as it may leave the worker: redacted (see the module's text), and
    without raw keys unless the driver asked for them."""
    from dataclasses import replace

    from keysentry.untrusted import redacted

    found = [f.secret for f in outcome.findings if f.secret]
    kept: RepoOutcome = redacted(outcome, found)
    if not spec.settings.keep_secrets:
        kept = replace(kept, findings=tuple(replace(f, secret="") for f in kept.findings))
    return replace(kept, name=spec.target.name)


def _outcome(spec: TaskSpec) -> RepoOutcome:
    started = time.monotonic()
    name = spec.target.name
    seconds = spec.settings.timeout
    try:
        _stage(name, "starting")
        if seconds:
            # In a helper process that is killed at the limit (see fleet.isolate).
            from keysentry.fleet import isolate

            try:
                return isolate.audit_with_deadline(spec, started + seconds, serve_helper)
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
    from keysentry.fleet.state import audit_state, special_files

    target = spec.target
    if target.url is not None:
        from keysentry.fleet.clone import clone_or_fetch

        def cloning(stage: str, done: int, total: int | None) -> None:
            share = f" {100 * done // total}%" if total else ""
            _stage(target.name, f"cloning: {stage}{share}")

        repo = clone_or_fetch(
            target.url,
            spec.settings.clone_dir,
            cloning,
            full_url=_credentials.full(target.url),
            stall=spec.settings.stall_timeout,
        )
    else:
        repo = target.path
    # The same function on the same path as the driver's check, so that both agree.
    state = audit_state(repo, spec.salt)
    special = special_files(repo)
    if special:
        shown = ", ".join(special[:3]) + (
            f" and {len(special) - 3} more" if len(special) > 3 else ""
        )
        return _failed(
            target.name,
            f"not audited: {shown} is not a regular file (a FIFO or device: git would wait "
            "on it forever)",
            state,
            started,
        )
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
    from keysentry.git import run as gitio
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
    from keysentry.detect.rules import load_rules
    from keysentry.pipeline import ScanRequest, Scope

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

"""The driver: plan the tasks, run them on an executor, store each result as it comes,
validate once per distinct key, and merge. The driver alone merges and validates."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from keysentry.errors import UsageError
from keysentry.fleet.merge import merge
from keysentry.fleet.spec import AuditSettings, RepoOutcome, TaskSpec
from keysentry.fleet.store import Store
from keysentry.fleet.targets import Credentials, Target
from keysentry.models import Finding, ScanResult, Validation

if TYPE_CHECKING:
    from keysentry.validate.settings import ValidationSettings


class Listener(Protocol):
    """The progress display: ``done(outcome)`` as each repository finishes (unchanged ones
    included), ``stage(repository, what)`` while one is in flight (local workers only)."""

    def done(self, outcome: RepoOutcome) -> None: ...

    def stage(self, repository: str, what: str) -> None: ...


@dataclass(frozen=True, slots=True)
class AuditPlan:
    targets: tuple[Target, ...]
    settings: AuditSettings
    db: Path
    jobs: int = 1
    scheduler: str | None = None
    """A Dask scheduler's address; None: worker processes on this machine."""
    rescan: bool = False
    validation: ValidationSettings | None = None
    show_secrets: bool = False
    credentials: Credentials = field(default_factory=Credentials)
    """The URLs' credentials: given to this machine's workers in memory, never sent to
    a Dask cluster (an audit on one refuses them)."""


def run_audit(plan: AuditPlan, listener: Listener | None = None) -> ScanResult:
    if plan.scheduler and plan.credentials:
        raise UsageError(
            "--scheduler: refusing URLs with credentials (user:password@, token@, ?token=): "
            "they would travel in the tasks through the scheduler. Give the workers their "
            "own (their git configuration, e.g. url.<URL with token>.insteadOf <URL>, or "
            "an ssh key) and list the URLs without them"
        )
    started = time.monotonic()
    store = Store(plan.db)
    try:
        known = {} if plan.rescan else store.digests()
        if plan.validation is not None:
            # A stored finding has no key to probe: its repository is scanned again.
            for name in store.names_with_unvalidated_findings():
                known.pop(name, None)
        position = {t.name: i for i, t in enumerate(plan.targets)}
        fresh: dict[str, tuple[Finding, ...]] = {}
        specs = []
        from keysentry.fleet.state import settings_salt

        salt = settings_salt(plan.settings)
        # A local repository whose refs did not move needs no worker at all.
        current = _states([t for t in plan.targets if t.url is None and t.name in known], salt)
        failed = store.failures() if listener else {}
        for target in plan.targets:
            digest = known.get(target.name)
            if digest is not None and current.get(target.name) == digest:
                if listener:  # a stored failure still counts as one on the display
                    listener.done(
                        RepoOutcome(
                            target.name,
                            digest=digest,
                            failure=failed.get(target.name, ""),
                            unchanged=True,
                        )
                    )
                continue
            specs.append(TaskSpec(target, plan.settings, digest, salt))
        for outcome in _execute(plan, specs, listener):
            if not outcome.unchanged:
                store.put(outcome, position[outcome.name])
                if outcome.findings:
                    fresh[outcome.name] = outcome.findings
            if listener:
                listener.done(outcome)
        validations = store.validations()
        if plan.validation is not None:
            validations.update(_validate(fresh, plan.validation))
            store.put_validations(validations)
        return _result(store, plan, fresh, validations, time.monotonic() - started)
    finally:
        store.close()


def report_only(db: Path, *, show_secrets: bool = False) -> ScanResult:
    """The stored results of ``db``, rendered without scanning."""
    store = Store(db, must_exist=True)
    try:
        names = tuple(o.name for o in store.outcomes())
        plan = AuditPlan(tuple(Target(n) for n in names), AuditSettings(Path()), db)
        return _result(store, plan, {}, store.validations(), 0.0, show_validation=True)
    finally:
        store.close()


def _states(targets: list[Target], salt: str) -> dict[str, str]:
    """The state of each local target, as the task reads it (fleet.state.audit_state).
    Most refs are read from the ref files in microseconds; the rest take two git
    processes each, run in threads."""
    from keysentry.fleet.state import files_digest, git_state, salted

    states: dict[str, str] = {}
    slow = []
    for target in targets:
        digest = files_digest(target.path)
        if digest is None:
            slow.append(target)
        else:
            states[target.name] = digest
    if slow:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=8) as threads:
            states.update(
                zip(
                    (t.name for t in slow),
                    threads.map(git_state, (t.path for t in slow)),
                    strict=True,
                )
            )
    return {name: salted(state, Path(name), salt) for name, state in states.items()}


def _execute(
    plan: AuditPlan, specs: list[TaskSpec], listener: Listener | None
) -> Iterator[RepoOutcome]:
    if not specs:
        return iter(())  # nothing changed: no worker pool, no cluster, not even their imports
    from keysentry.fleet import executors

    if plan.scheduler:
        return executors.run_dask(specs, plan.scheduler)
    return executors.run_local(
        specs, plan.jobs, listener.stage if listener else None, plan.credentials
    )


def _validate(
    fresh: dict[str, tuple[Finding, ...]],
    settings: ValidationSettings,
) -> dict[str, Validation]:
    """Once per distinct fingerprint across the fleet, behind the one rate limiter."""
    from keysentry.validate.batch import validate_secrets

    secrets = {
        f.fingerprint: f.secret
        for findings in fresh.values()
        for f in findings
        if not f.placeholder and f.secret
    }
    return validate_secrets(secrets.values(), settings)


def _result(
    store: Store,
    plan: AuditPlan,
    fresh: dict[str, tuple[Finding, ...]],
    validations: dict[str, Validation],
    duration: float,
    *,
    show_validation: bool = False,
) -> ScanResult:
    wanted = {t.name for t in plan.targets}
    outcomes = []
    for outcome in store.outcomes():
        if outcome.name not in wanted:
            continue
        # The stored findings lack the keys; this run's own findings carry them (for
        # --show-secrets), and every finding gets its key's validation.
        with_keys = {f.fingerprint: f.secret for f in fresh.get(outcome.name, ())}
        findings = tuple(
            replace(
                f,
                secret=with_keys.get(f.fingerprint, ""),
                validation=validations.get(f.fingerprint)
                if plan.validation or show_validation
                else None,
            )
            for f in outcome.findings
        )
        outcomes.append(replace(outcome, findings=findings))
    began = datetime.now(timezone.utc) - timedelta(seconds=duration)
    return merge(
        outcomes,
        targets=tuple(t.name for t in plan.targets),
        duration_s=duration,
        started_at=began.isoformat(timespec="seconds"),
        show_secrets=plan.show_secrets,
    )

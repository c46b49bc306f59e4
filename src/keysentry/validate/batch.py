"""Validate the findings of a scan: each distinct secret probed once, in parallel, paced."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING

from keysentry.models import Finding, Validation, fingerprint_of
from keysentry.validate.cache import ValidationCache
from keysentry.validate.http import check_base_url
from keysentry.validate.ratelimit import Clock
from keysentry.validate.settings import ValidationSettings

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)


def validate_findings(
    findings: Sequence[Finding], settings: ValidationSettings, *, clock: Clock | None = None
) -> tuple[Finding, ...]:
    """Probe each distinct secret once and attach the outcome to every finding that holds it.

    Findings with ``placeholder=True`` are returned unchanged and never probed (the caller has
    already dropped allow-listed ones). A live management key raises the finding's severity to
    ``critical``. Per-key failures become ``unknown`` with a reason; the only exception raised
    is :class:`~keysentry.errors.UsageError` for an unusable base URL.
    """
    secrets = {f.fingerprint: f.secret for f in findings if not f.placeholder and f.secret}
    results = validate_secrets(secrets.values(), settings, clock=clock)
    return tuple(_apply(f, results.get(f.fingerprint)) for f in findings)


def validate_secrets(
    secrets: Iterable[str],
    settings: ValidationSettings,
    *,
    on_wait: Callable[[str], None] | None = None,
    clock: Clock | None = None,
) -> dict[str, Validation]:
    """Outcome per fingerprint for the given keys (duplicates probed once).

    ``on_wait`` hears, in words, what a slow probe waits for (the CLI prints it); ``clock``
    replaces the real one (tests). The whole run ends within ``settings.budget`` seconds.
    """
    base_url = check_base_url(settings.base_url)
    distinct = {fingerprint_of(s): s for s in secrets}
    if not distinct:
        return {}
    results: dict[str, Validation] = {}
    cache = None
    if settings.cache:
        cache = ValidationCache.open(settings.cache_dir, base_url, settings.cache_ttl)
        for fp in distinct:
            hit = cache.get(fp)
            if hit is not None:
                results[fp] = hit
    todo = {fp: s for fp, s in distinct.items() if fp not in results}
    results.update(
        _probe_all(todo, replace(settings, base_url=base_url), on_wait, clock or Clock())
    )
    if cache is not None:
        for fp in todo:
            cache.put(fp, results[fp])
        cache.save()
    _log_summary(results, cached=len(distinct) - len(todo))
    return results


def _probe_all(
    todo: dict[str, str],
    settings: ValidationSettings,
    on_wait: Callable[[str], None] | None,
    clock: Clock,
) -> dict[str, Validation]:
    if not todo:
        return {}
    # Imported here: requests is only paid for when something is actually probed.
    from keysentry.validate.http import make_session
    from keysentry.validate.probe import ProbeContext, now_iso, probe_key

    ctx = ProbeContext(
        base_url=settings.base_url,
        # One limiter for every worker: the cap is the run's, not each thread's.
        limiter=clock.bucket(settings.rate_limit),
        deadline=clock.now() + settings.budget,
        timeout=settings.timeout,
        retries=settings.retries,
        clock=clock,
        on_wait=on_wait,
    )
    workers = min(settings.concurrency, len(todo))
    local = threading.local()
    sessions: list[requests.Session] = []
    sessions_lock = threading.Lock()

    def session() -> requests.Session:
        # One session per worker thread: requests does not promise a shared one is safe.
        current: requests.Session | None = getattr(local, "session", None)
        if current is None:
            current = make_session(settings.base_url, pool_size=1)
            local.session = current
            with sessions_lock:
                sessions.append(current)
        return current

    def run(fp: str, secret: str) -> Validation:
        try:
            return probe_key(session(), secret, ctx)
        except Exception as exc:  # a bug must cost one key its verdict, not the whole scan
            log.debug("probe %s failed unexpectedly: %s", fp[:12], type(exc).__name__)
            return Validation("unknown", f"internal error ({type(exc).__name__})", None, now_iso())

    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="keysentry-probe") as pool:
            futures = {fp: pool.submit(run, fp, secret) for fp, secret in todo.items()}
            return {fp: future.result() for fp, future in futures.items()}
    finally:
        for s in sessions:
            s.close()


def _apply(finding: Finding, validation: Validation | None) -> Finding:
    if validation is None:
        return finding
    critical = (
        validation.status == "live"
        and validation.details is not None
        and validation.details.is_management_key is True
    )
    return replace(
        finding,
        validation=validation,
        severity="critical" if critical else finding.severity,
    )


def _log_summary(results: dict[str, Validation], *, cached: int) -> None:
    counts = Counter(v.status for v in results.values())
    log.info(
        "validated %d distinct key(s): %d live, %d invalid, %d unknown (%d from cache)",
        len(results),
        counts["live"],
        counts["invalid"],
        counts["unknown"],
        cached,
    )

"""Probe one key with ``GET {base}/key`` and classify the answer.

Only a 200 carrying a JSON ``data`` object is ``live``; only a 401 is ``invalid``. Everything
else (rate limits, server errors, timeouts, TLS or connection failures, proxies, odd bodies)
is ``unknown`` with a reason, after bounded retries for the transient cases. The key is sent
in the Authorization header only and never appears in a reason, a log line or an exception.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

import requests

from keysentry.models import KeyDetails, Validation, fingerprint_of, redact, scrub_secrets
from keysentry.validate.http import bearer
from keysentry.validate.ratelimit import Clock, TokenBucket, backoff_seconds, retry_after_seconds

log = logging.getLogger(__name__)

PROBE_PATH = "/key"
LEGACY_PROBE_PATH = "/auth/key"
MAX_BODY_BYTES = 1 << 20


class ProbePath:
    """Which probe path to use; switches to the legacy path once ``/key`` answers 404.

    Shared by every probe of a run, so a missing ``/key`` costs one extra request per run,
    not one per key.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._legacy = False

    @property
    def current(self) -> str:
        with self._lock:
            return LEGACY_PROBE_PATH if self._legacy else PROBE_PATH

    def use_legacy(self) -> None:
        with self._lock:
            self._legacy = True


@dataclass(frozen=True, slots=True)
class ProbeContext:
    """Everything one probe needs besides the key and the session."""

    base_url: str
    limiter: TokenBucket
    deadline: float
    """``clock.now()`` value after which no request is started."""
    timeout: float = 10.0
    retries: int = 3
    backoff_base: float = 0.5
    """First backoff step in seconds when the server gives no hint; doubles per retry."""
    path: ProbePath = field(default_factory=ProbePath)
    clock: Clock = field(default_factory=Clock)
    """The limiter and ``deadline`` must use this clock too."""
    on_wait: Callable[[str], None] | None = None
    """Told, in words, what the probe waits for when an answer is slow or a retry is due."""
    slow_after: float = 1.5
    """Seconds without an answer before ``on_wait`` hears of it (at most half the timeout)."""


@dataclass(frozen=True, slots=True)
class _Outcome:
    """One HTTP exchange, classified."""

    validation: Validation | None = None
    """Final verdict, or None when the exchange should be retried."""
    reason: str = ""
    """Why a retry is wanted (becomes the reason if retries run out)."""
    delay: float | None = None
    """Server-requested wait before the retry, in seconds."""
    global_pause: bool = False
    """A 429: every worker should wait, not just this one."""
    not_found: bool = False
    """A 404: the probe path does not exist here."""


def probe_key(session: requests.Session, secret: str, ctx: ProbeContext) -> Validation:
    """Probe ``secret`` once (with bounded retries) and return the verdict."""
    fp = fingerprint_of(secret)[:12]
    attempt = 0
    while True:
        if not ctx.limiter.acquire(ctx.deadline):
            return _unknown("time budget exhausted before the key could be checked")
        path = ctx.path.current
        outcome = _exchange(session, secret, ctx, path, attempt)
        if outcome.validation is not None:
            log.debug("probe %s %s: %s", fp, redact(secret), outcome.validation.status)
            return outcome.validation
        if outcome.not_found and path == PROBE_PATH:
            # Documented fallback: older deployments only answer the legacy path.
            log.debug("probe %s: %s answered 404, trying %s", fp, path, LEGACY_PROBE_PATH)
            ctx.path.use_legacy()
            continue
        if outcome.not_found:
            return _unknown(f"HTTP 404 on {PROBE_PATH} and {LEGACY_PROBE_PATH}")
        if attempt >= ctx.retries:
            tries = "attempt" if attempt == 0 else "attempts"
            return _unknown(f"{outcome.reason} ({attempt + 1} {tries})")
        delay = (
            outcome.delay
            if outcome.delay is not None
            else backoff_seconds(attempt, base=ctx.backoff_base)
        )
        now = ctx.clock.now()
        if now + delay >= ctx.deadline:
            return _unknown(f"{outcome.reason}; retrying would exceed the time budget")
        log.debug("probe %s: %s, retry %d in %.2fs", fp, outcome.reason, attempt + 1, delay)
        if ctx.on_wait is not None and delay >= 1.0:
            ctx.on_wait(
                f"{outcome.reason} from {ctx.base_url}; attempt {attempt + 2} of "
                f"{ctx.retries + 1} in {delay:.0f} s..."
            )
        if outcome.global_pause:
            ctx.limiter.defer_until(now + delay)
        ctx.clock.sleep(delay)
        attempt += 1


def _exchange(
    session: requests.Session, secret: str, ctx: ProbeContext, path: str, attempt: int
) -> _Outcome:
    remaining = ctx.deadline - ctx.clock.now()
    if remaining <= 0:
        return _Outcome(_unknown("time budget exhausted"))
    timeout = min(ctx.timeout, remaining)
    notice = None
    if ctx.on_wait is not None:
        # A watchdog, not a log line after the fact: the user hears of a hanging API while
        # it hangs, and a quick answer cancels it unseen.
        text = (
            f"waiting for {ctx.base_url} (timeout {round(timeout, 1):g} s, "
            f"attempt {attempt + 1} of {ctx.retries + 1})..."
        )
        notice = threading.Timer(min(ctx.slow_after, timeout / 2), ctx.on_wait, (text,))
        notice.daemon = True
        notice.start()
    # Exception texts are never used: some carry request details (ADR-0031 in the API notes).
    try:
        response = session.get(
            ctx.base_url + path,
            auth=bearer(secret),
            timeout=timeout,
            allow_redirects=False,
            stream=True,
        )
        try:
            body = _read_body(response)
        finally:
            response.close()
    except requests.exceptions.SSLError:
        # Certificate problems do not fix themselves between retries.
        return _Outcome(_unknown("TLS failure (certificate or handshake)"))
    except requests.exceptions.Timeout:
        return _Outcome(reason="timeout")
    except requests.exceptions.ConnectionError:
        return _Outcome(reason="connection failure")
    except _BodyTooLarge:
        return _Outcome(_unknown("response body too large"))
    except requests.exceptions.RequestException as exc:
        return _Outcome(_unknown(f"request failed ({type(exc).__name__})"))
    finally:
        if notice is not None:
            notice.cancel()
    return _classify(response.status_code, response.headers, body)


def _classify(status: int, headers: Mapping[str, str], body: bytes) -> _Outcome:
    """Map one HTTP answer to a verdict or a retry request."""
    if status == 200:
        return _Outcome(_live_or_unknown(body))
    if status == 401:
        return _Outcome(
            Validation(
                status="invalid",
                reason="rejected (401): revoked, deleted, disabled, expired or never issued",
                checked_at=now_iso(),
            )
        )
    if status == 404:
        return _Outcome(not_found=True)  # probe_key says what a 404 means
    if status == 429:
        return _Outcome(
            reason="rate limited (HTTP 429)",
            delay=retry_after_seconds(headers, _json_or_none(body)),
            global_pause=True,
        )
    if status >= 500:
        return _Outcome(
            reason=f"server error (HTTP {status})",
            delay=retry_after_seconds(headers, _json_or_none(body)),
        )
    if status == 402:
        return _Outcome(_unknown("HTTP 402 payment required: possibly live but out of credit"))
    if status == 403:
        return _Outcome(_unknown("HTTP 403 forbidden, probably a proxy or firewall in the way"))
    if 300 <= status < 400:
        return _Outcome(_unknown(f"HTTP {status} redirect (not followed)"))
    return _Outcome(_unknown(f"unexpected HTTP status {status}"))


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _unknown(reason: str) -> Validation:
    return Validation(status="unknown", reason=reason, checked_at=now_iso())


def _live_or_unknown(body: bytes) -> Validation:
    payload = _json_or_none(body)
    if payload is None:
        return _unknown("HTTP 200 with a body that is not JSON")
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        return _unknown("HTTP 200 without a data object")
    details = parse_details(data)
    reason = "management key" if details.is_management_key else ""
    return Validation(status="live", reason=reason, details=details, checked_at=now_iso())


def parse_details(data: Mapping[str, object]) -> KeyDetails:
    """Read the fields keysentry reports; every one is optional (older responses omit some)."""
    management = _bool(data.get("is_management_key"))
    provisioning = _bool(data.get("is_provisioning_key"))  # the deprecated name
    if management is None and provisioning is None:
        is_management = None
    else:
        is_management = bool(management) or bool(provisioning)
    label = data.get("label")
    expires_at = data.get("expires_at")
    return KeyDetails(
        # A label is free text and could, in principle, hold a key: scrub it before storing.
        label=scrub_secrets(label) if isinstance(label, str) else None,
        limit=_number(data.get("limit")),
        limit_remaining=_number(data.get("limit_remaining")),
        usage=_number(data.get("usage")),
        usage_monthly=_number(data.get("usage_monthly")),
        is_free_tier=_bool(data.get("is_free_tier")),
        is_management_key=is_management,
        expires_at=expires_at if isinstance(expires_at, str) else None,
    )


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _json_or_none(body: bytes) -> object | None:
    try:
        payload: object = json.loads(body.decode("utf-8"))
        return payload
    except (UnicodeDecodeError, ValueError):
        return None


class _BodyTooLarge(Exception):
    pass


def _read_body(response: requests.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=65536):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)

"""A global request-rate cap and the retry delays a server asks for.

The cap is a token bucket with a burst of one: requests are spaced at least ``1/rate`` apart
across all threads, retries included, plus a small margin so that jitter on the way to the
server never packs ``rate + 1`` requests into one second as the server sees it. A 429 pushes
the whole bucket back, so every worker honours the server's ``Retry-After``, not just the one
that was told.
"""

from __future__ import annotations

import email.utils
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# Server hints beyond this are treated as "not within this run" rather than slept on.
MAX_HINT_SECONDS = 300.0
# X-RateLimit-Reset is epoch milliseconds on OpenRouter; a value below this is taken as
# epoch seconds instead (some proxies send seconds), and below a day as a relative delay.
_EPOCH_MS_THRESHOLD = 100_000_000_000
_ONE_DAY = 86_400.0
# Spacing is 1/rate stretched by this factor (see the module docstring).
_SPACING_MARGIN = 1.03


@dataclass(frozen=True, slots=True)
class Clock:
    """Where waiting code gets the time and sleeps. Tests pass a virtual clock, so they check
    the schedule (who waits how long, in what order) without waiting or racing a real one."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def bucket(self, rate: float) -> TokenBucket:
        """A :class:`TokenBucket` on this clock."""
        return TokenBucket(rate, clock=self.now, sleep=self.sleep)


class TokenBucket:
    """Thread-safe pacing of requests to at most ``rate`` per second."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError("rate must be a positive number")
        self._interval = _SPACING_MARGIN / rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot = clock()

    def acquire(self, deadline: float | None = None) -> bool:
        """Wait for a request slot; False (no slot used) if it would start after ``deadline``."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            if deadline is not None and slot > deadline:
                return False
            # Reserve under the lock, sleep outside it, so waiters queue in order.
            self._next_slot = slot + self._interval
        if slot > now:
            self._sleep(slot - now)
        return True

    def defer_until(self, when: float) -> None:
        """No request may start before ``when`` (a time of this bucket's clock)."""
        with self._lock:
            self._next_slot = max(self._next_slot, when)


def retry_after_seconds(
    headers: Mapping[str, str],
    body: object = None,
    *,
    now: float | None = None,
) -> float | None:
    """The delay the server asked for, in seconds, or None if it gave no usable hint.

    Looks at ``Retry-After`` (seconds or an HTTP date), then ``X-RateLimit-Reset`` (epoch
    milliseconds) in the response headers, then the same names inside the JSON error body at
    ``error.metadata.headers``. ``headers`` should be case-insensitive (requests' are).
    """
    wall = time.time() if now is None else now
    for source in (headers, _body_headers(body)):
        retry_after = _get(source, "Retry-After")
        if retry_after is not None:
            delay = _parse_retry_after(retry_after, wall)
            if delay is not None:
                return delay
        reset = _get(source, "X-RateLimit-Reset")
        if reset is not None:
            delay = _parse_reset(reset, wall)
            if delay is not None:
                return delay
    return None


def backoff_seconds(
    attempt: int,
    *,
    base: float = 0.5,
    cap: float = 8.0,
    rng: Callable[[], float] = random.random,
) -> float:
    """Exponential backoff with jitter for retry number ``attempt`` (0-based).

    The jitter keeps parallel workers that failed together from retrying together.
    """
    ceiling = min(cap, base * (2.0**attempt))
    return ceiling * (0.5 + 0.5 * float(rng()))


def _body_headers(body: object) -> Mapping[str, object]:
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):
            metadata = error.get("metadata")
            if isinstance(metadata, Mapping):
                headers = metadata.get("headers")
                if isinstance(headers, Mapping):
                    return headers
    return {}


def _get(source: Mapping[str, object], name: str) -> str | None:
    value = source.get(name)
    if value is None:
        # Body metadata is a plain dict: match the name case-insensitively by hand.
        lowered = name.lower()
        value = next((v for k, v in source.items() if str(k).lower() == lowered), None)
    if isinstance(value, bool) or value is None:
        return None
    return str(value).strip() if isinstance(value, str | int | float) else None


def _clamp(delay: float) -> float | None:
    if not math.isfinite(delay):
        return None
    return min(max(delay, 0.0), MAX_HINT_SECONDS)


def _parse_retry_after(value: str, now: float) -> float | None:
    try:
        return _clamp(float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return _clamp(when.timestamp() - now)


def _parse_reset(value: str, now: float) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    if number >= _EPOCH_MS_THRESHOLD:
        return _clamp(number / 1000.0 - now)
    if number >= _ONE_DAY:
        return _clamp(number - now)
    return _clamp(number)

"""A clock on which time passes only when keysentry sleeps.

Tests hand it to the rate limiter, the probe and the batch (``keysentry.validate.ratelimit.Clock``)
and then assert on the schedule (who slept how long, when the last request could start)
instead of on wall-clock time, which a loaded CI machine stretches at will.
"""

from __future__ import annotations

import threading

from keysentry.validate.ratelimit import Clock


class VirtualClock:
    """Thread-safe. A sleep of ``d`` seconds ends at ``d`` after the time the sleeping thread
    last read, so a thread that computed ``slot - now`` wakes exactly at ``slot``, whatever
    other threads did meanwhile; time never runs backwards."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self._seen = threading.local()
        self.sleeps: list[float] = []

    def now(self) -> float:
        with self._lock:
            self._seen.value = self._now
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            base = getattr(self._seen, "value", self._now)
            self._now = max(self._now, base + max(0.0, seconds))
            self._seen.value = self._now

    @property
    def clock(self) -> Clock:
        return Clock(self.now, self.sleep)

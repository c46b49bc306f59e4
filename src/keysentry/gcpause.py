"""A pause of Python's cycle collector while a scan builds and renders its result.

A scan allocates objects by the million that live until the report is written (hits,
findings, locations, their display copies) and form no reference cycles. The cycle
collector would only traverse them again each time the count of live objects grows by
a quarter: for a file of 100,000 keys, about 2 s of 12 (measured with
benchmarks/bench_keys.py). Reference counting still frees everything as soon as it is
unused; the collector is switched back on afterwards, for what is allocated later.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # What the pause allocated is moved out of the collector's view (gc.freeze):
        # switched back on with millions of new objects counted, it would traverse them
        # all at the next allocation, and again as they age (about 1 s per 100,000 keys).
        gc.freeze()
        if enabled:
            gc.enable()


def paused(function: Callable[P, R]) -> Callable[P, R]:
    """``function`` run with the cycle collector paused."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with cycle_collector_paused():
            return function(*args, **kwargs)

    return wrapper

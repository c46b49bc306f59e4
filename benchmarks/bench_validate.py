"""Validation throughput and rate-limit behaviour against the local fake OpenRouter server.

    PYTHONPATH=src python benchmarks/bench_validate.py [--keys 200] [--latency-ms 50] [--runs 3]

1. Throughput: ``--keys`` distinct live keys, ``--latency-ms`` server latency, with the
   default settings (concurrency 4, the default requests-per-second cap), against the target
   of 4 s; ``--rate-limit`` measures another cap.
2. Forced 429 with ``Retry-After: 1`` on every key, every time (bounded retries, every
   probe ends ``unknown``), and on every key once: the highest number of requests seen in
   any one-second window must not exceed the configured cap (10/s).

No network beyond 127.0.0.1; keys are generated at run time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fake_openrouter import FakeOpenRouter
from keysentry.models import Finding, Location, fingerprint_of, redact
from keysentry.validate import ValidationSettings, validate_findings

LOCATION = Location("bench.txt", 1, 1)


def findings_for(keys: list[str]) -> list[Finding]:
    return [
        Finding(
            "openrouter-api-key", "high", fingerprint_of(k), redact(k), (Location("f", 1, 1),), k
        )
        for k in keys
    ]


def max_in_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    best = start = 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def throughput(count: int, latency_ms: float, rate_limit: float) -> tuple[float, int, bool]:
    """Seconds for one run, the number of requests, and whether each key got exactly one."""
    with FakeOpenRouter() as fake, tempfile.TemporaryDirectory() as cache:
        keys = fake.add_keys(count)
        fake.set_controls(latency_ms=latency_ms)
        settings = ValidationSettings(
            base_url=fake.base_url, rate_limit=rate_limit, cache=False, cache_dir=cache
        )
        started = time.perf_counter()
        result = validate_findings(findings_for(keys), settings)
        elapsed = time.perf_counter() - started
        assert all(f.validation is not None and f.validation.status == "live" for f in result)
        per_key = Counter(r.token_hash for r in fake.requests)
        return elapsed, len(fake.requests), set(per_key.values()) == {1}


def rate_under_429(count: int, cap: float, fail_times: int | None) -> tuple[int, int, float, str]:
    """Max requests in any 1 s window, total requests, seconds, and the outcome counts."""
    with FakeOpenRouter() as fake, tempfile.TemporaryDirectory() as cache:
        keys = fake.add_keys(count)
        for key in keys:  # per key: each key is refused fail_times times (None: always)
            fake.set_controls(key, force_status=429, fail_times=fail_times, retry_after=1)
        settings = ValidationSettings(
            base_url=fake.base_url, rate_limit=cap, cache=False, cache_dir=cache, budget=60
        )
        started = time.perf_counter()
        result = validate_findings(findings_for(keys), settings)
        elapsed = time.perf_counter() - started
        outcomes = Counter(f.validation.status for f in result if f.validation is not None)
        times = [r.at for r in fake.requests]
        summary = ", ".join(f"{n} {s}" for s, n in sorted(outcomes.items()))
        return max_in_window(times), len(times), elapsed, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--rate-limit", type=float, default=ValidationSettings().rate_limit)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    print(f"1. throughput: {args.keys} keys, {args.latency_ms:.0f} ms latency, concurrency 4")
    runs = []
    for run in range(args.runs):
        elapsed, requests, one_each = throughput(args.keys, args.latency_ms, args.rate_limit)
        runs.append(elapsed)
        print(
            f"   run {run + 1}: {elapsed:.2f}s  {requests} requests  "
            f"one per key: {one_each}  ({args.keys / elapsed:.0f} keys/s)"
        )
    print(f"   median {statistics.median(runs):.2f}s at cap {args.rate_limit:g}/s (target <= 4 s)")

    cap = 10.0
    print(f"2. forced 429, Retry-After: 1, cap {cap:g}/s, retries 3")
    for label, count, fail_times in (("every time", 20, None), ("once per key", 40, 1)):
        peak, total, elapsed, outcomes = rate_under_429(count, cap, fail_times)
        print(
            f"   {label}: {count} keys, {total} requests in {elapsed:.2f}s "
            f"({total / elapsed:.1f}/s average), max {peak} in any 1 s window "
            f"(cap {cap:g}); outcomes: {outcomes}"
        )


if __name__ == "__main__":
    main()

"""Cost per key found: one file holding many keys (a leaked key list, a huge log).

    python benchmarks/bench_keys.py [--keys 10000,100000] [--runs 3] [--kingfisher PATH]

Writes, for each count, a file of that many distinct keys (built at run time from
``secrets.token_hex``; one ``API_KEY=<key>  # comment`` line each, about 78 bytes a
key), then times ``keysentry scan FILE`` with text and with JSON output, and
Kingfisher (``kingfisher scan FILE``; PyPI ``kingfisher-bin``, in its own
environment) when ``--kingfisher`` names it or it is on PATH, interleaved, ``--runs``
rounds each. Prints the medians (wall clock and CPU time), the growth from the
smallest count to the largest (linear: 10x the keys, at most 12x the time) and
keysentry's ratio to Kingfisher.
Target: the 100,000-key file at most 1.0x Kingfisher's time, text and JSON alike.
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "PYTHONPYCACHEPREFIX": os.path.join(tempfile.gettempdir(), "ks-bench-pycache"),
}
PREFIX = "sk-or" + "-v1-"


def write_keys(path: Path, count: int) -> None:
    with path.open("w") as fh:
        for i in range(count):
            fh.write(f"API_KEY_{i}={PREFIX}{secrets.token_hex(32)}  # leaked\n")


def timed(command: list[str]) -> tuple[float, float]:
    """(wall-clock seconds, CPU seconds): on a shared machine the wall clock mostly
    measures the wait for a core. Kingfisher scans on every core, so its CPU time is
    the sum over its threads."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(command, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1, 200, 205):  # kingfisher: 200/205 mean "found"
        sys.exit(f"{command} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--keys", default="10000,100000", help="comma-separated key counts")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kingfisher", help="the kingfisher executable (default: PATH)")
    args = parser.parse_args()
    counts = [int(c) for c in args.keys.split(",")]
    exe = shutil.which("keysentry", path=os.path.dirname(sys.executable)) or shutil.which(
        "keysentry"
    )
    ours = [exe] if exe else [sys.executable, "-m", "keysentry"]
    kingfisher = args.kingfisher or shutil.which("kingfisher")
    tmp = Path(tempfile.mkdtemp(prefix="ks-keys-"))
    try:
        jobs: dict[str, list[str]] = {}
        for count in counts:
            path = tmp / f"keys-{count}.env"
            write_keys(path, count)
            size = path.stat().st_size / 2**20
            print(f"{count} keys: {path.name}, {size:.1f} MiB")
            jobs[f"keysentry text {count}"] = [*ours, "scan", "-q", str(path)]
            jobs[f"keysentry json {count}"] = [*ours, "scan", "-q", "--format", "json", str(path)]
            if kingfisher:
                jobs[f"kingfisher {count}"] = [kingfisher, "scan", "--no-update-check",
                                               "--no-validate", str(path)]  # fmt: skip
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in jobs}
        for _ in range(args.runs):
            for name, command in jobs.items():  # interleaved: passing load hits all alike
                times[name].append(timed(command))
        wall = {name: statistics.median(w for w, _ in t) for name, t in times.items()}
        cpu = {name: statistics.median(c for _, c in t) for name, t in times.items()}
        for name, t in times.items():
            print(f"{name:24} wall median {wall[name]:7.2f} s (min {min(w for w, _ in t):7.2f}, "
                  f"max {max(w for w, _ in t):7.2f})   CPU median {cpu[name]:7.2f} s")  # fmt: skip
        lo, hi = counts[0], counts[-1]
        for fmt in ("text", "json"):
            small, big = f"keysentry {fmt} {lo}", f"keysentry {fmt} {hi}"
            if hi != lo:
                print(f"keysentry {fmt}: {hi / lo:.0f}x the keys, {wall[big] / wall[small]:.1f}x "
                      f"the wall-clock time, {cpu[big] / cpu[small]:.1f}x the CPU time "
                      "(linear: at most 12x for 10x)")  # fmt: skip
            if kingfisher:
                king = f"kingfisher {hi}"
                print(f"keysentry {fmt} / kingfisher at {hi} keys: wall "
                      f"{wall[big] / wall[king]:.2f}x, CPU {cpu[big] / cpu[king]:.2f}x "
                      "(target <= 1.0x)")  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Compare `keysentry scan DIR` with reading the same files (`cat`), interleaved runs.

    python benchmarks/bench_scan.py DIR [--runs 5]

The floor is `find DIR -type f -print0 | xargs -0 cat > /dev/null` with a warm
page cache. Prints each run and the ratio of medians.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def timed(command: str) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.exit(f"{command!r} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    keysentry = shutil.which("keysentry") or f"{sys.executable} -m keysentry"
    target = str(args.directory)
    floor = f"find {target} -type f -print0 | xargs -0 cat > /dev/null"
    ours = f"{keysentry} scan {target} --format json --output /dev/null --quiet"
    timed(floor)  # warm the page cache
    floors, scans = [], []
    for run in range(args.runs):
        floors.append(timed(floor))
        scans.append(timed(ours))
        print(
            f"run {run + 1}: cat {floors[-1]:.2f}s  keysentry {scans[-1]:.2f}s  "
            f"ratio {scans[-1] / floors[-1]:.2f}x"
        )
    f, s = statistics.median(floors), statistics.median(scans)
    print(f"median: cat {f:.2f}s  keysentry {s:.2f}s  ratio {s / f:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()

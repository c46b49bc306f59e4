"""Two builds of keysentry on the same inputs, interleaved: does a change cost throughput?

    python benchmarks/bench_compare.py --before BEFORE/.venv/bin/keysentry \\
        --after .venv/bin/keysentry [--scan DIR] [--history REPO] [--runs 7]

Each run times ``scan DIR`` and ``history REPO`` with one build, then the other, in
alternating order (before, after, after, before, ...), after one warm-up of each, so both
see the same page cache and the same load from other work on the machine. Prints every
run, the medians, and after/before. Build "before" from the base branch in its own clone
and virtual environment (``git clone /path/to/main before && cd before && python3 -m venv
.venv && .venv/bin/pip install .``).

Measured for issue 19 (documents, mail and pasted forms), on the 2-core machine shared
with other developers' work (load average 7 to 10 during the runs), "before" built from
main at c105219 and "after" from the branch, both installed as ``pip install .`` (an
editable install alone costs 40 ms of start-up); a 360 MB, 12,000-file tree from
``gen_tree.py DIR --gib 0.3353 --files 12000`` and a 4,006-commit history of 360 MiB of
unique blob content from ``gen_history.py REPO --commits 4000 --mb 360``; 9 interleaved
runs each, medians:

    scan     wall 1.40 s -> 1.51 s (1.080)   CPU 1.26 s -> 1.23 s (0.977)
    history  wall 4.90 s -> 5.08 s (1.037)   CPU 4.73 s -> 4.92 s (1.040)

The wall-clock times of single runs spread from 1.14 to 1.94 s (scan) under that load, so
the CPU times are the measure; the instructions a whole scan of the tree executes
(valgrind --tool=callgrind, independent of load) went from 3.721 to 3.831 billion
(+3.0%), most of it the literal search's larger needle set. What had to change to get
there: a zlib stream in the middle of other bytes is not looked for (its two-byte
header made 581 binary files take the scanner's slow path instead of 15), the soft
hyphen triggers only with a key character after it, and the UTF-32LE trigger leaves off
its trailing zero bytes (hyperscan's compiled search took 11 MB more with them).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time


def timed(command: list[str]) -> tuple[float, float]:
    """Wall-clock seconds, and CPU seconds (user + system) of the command and of every
    process it started and waited for (git): on a machine shared with other work the
    CPU time is the steadier measure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        sys.exit(f"{command!r} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", required=True, help="the base build's keysentry")
    parser.add_argument("--after", required=True, help="the changed build's keysentry")
    parser.add_argument("--scan", help="a directory for `keysentry scan`")
    parser.add_argument("--history", help="a repository for `keysentry history`")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    jobs = []
    if args.scan:
        jobs.append(("scan", ["scan", args.scan]))
    if args.history:
        jobs.append(("history", ["history", args.history]))
    if not jobs:
        parser.error("give --scan, --history or both")
    builds = {"before": args.before, "after": args.after}
    quiet = ["--format", "json", "--output", "/dev/null", "--quiet"]
    for name, job in jobs:
        wall: dict[str, list[float]] = {"before": [], "after": []}
        cpu: dict[str, list[float]] = {"before": [], "after": []}
        for build in builds.values():
            timed([build, *job, *quiet])  # warm-up: page cache, imports, hyperscan
        for run in range(args.runs):
            order = ["before", "after"] if run % 2 == 0 else ["after", "before"]
            for which in order:
                elapsed, used = timed([builds[which], *job, *quiet])
                wall[which].append(elapsed)
                cpu[which].append(used)
            print(
                f"{name} run {run + 1}: before {wall['before'][-1]:.2f}s "
                f"(CPU {cpu['before'][-1]:.2f}s)  after {wall['after'][-1]:.2f}s "
                f"(CPU {cpu['after'][-1]:.2f}s)",
                flush=True,
            )
        for label, series in (("wall", wall), ("CPU", cpu)):
            b, a = statistics.median(series["before"]), statistics.median(series["after"])
            print(
                f"{name} {label}: median before {b:.2f}s  after {a:.2f}s  after/before {a / b:.3f}"
            )


if __name__ == "__main__":
    main()

"""`keysentry history` against the floor: reading every object once with git.

    python benchmarks/bench_history.py REPO [REPO...] [--runs 5] [--planted FILE.json]
                                       [--before SRC]

(--planted is for the first REPO; each REPO.planted.json beside a repository is used too.)

--before SRC runs a second keysentry, from the source tree SRC (``git archive main src |
tar -x -C /tmp/before`` gives one: SRC is then /tmp/before/src), in the same interleaved
runs, and prints its median and the ratio of the two: a change measured before and after.

Floor: `git cat-file --batch-all-objects --batch > /dev/null` (single-threaded git,
every object inflated once, in object-id order). The same with `--unordered` (pack
order, often much faster on packs with long delta chains) is shown too, for an
honest second ratio. Runs are interleaved (floor, unordered floor, keysentry, ...)
after one warm-up of each, so all see the same page cache and machine load; the
ratios are of the medians.

Peak RSS: the floor's git (from /usr/bin/time), and for keysentry its own Python
process and the git processes it started (getrusage of the process itself and of
its waited-for children, printed by a small in-process wrapper). The target is
keysentry's Python peak <= the floor git's peak + 64 MiB.

With --planted (written by gen_history.py) it also checks that every planted key
was found.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WRAPPER = """
import resource, sys
from keysentry.cli import main
code = main(sys.argv[1:])
me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"RSS {me} {kids}", file=sys.stderr)
sys.exit(code)
"""


def floor(repo: Path, *extra: str) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "MAXRSS %M", "git", "-C", str(repo), "cat-file",
         "--batch-all-objects", "--batch", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    rss = int(proc.stderr.decode().rsplit("MAXRSS ", 1)[1].split()[0])
    return elapsed, rss


def keysentry(
    repo: Path, report: Path, extra: list[str], src: Path | None = None
) -> tuple[float, int, int]:
    args = [sys.executable, "-c", WRAPPER, "history", str(repo), "--format", "json",
            "--output", str(report), "--quiet", *extra]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(src)} if src is not None else None
    start = time.perf_counter()
    proc = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - start
    err = proc.stderr.decode()
    if proc.returncode not in (0, 1) or "RSS " not in err:
        sys.exit(f"keysentry failed ({proc.returncode}): {err[-800:]}")
    me, kids = err.rsplit("RSS ", 1)[1].split()[:2]
    return elapsed, int(me), int(kids)


def check_planted(report: Path, planted: Path) -> None:
    found = {f["fingerprint"]: f for f in json.loads(report.read_text())["findings"]}
    for where, fp in json.loads(planted.read_text()).items():
        locs = found.get(fp, {}).get("locations", [])
        shown = ", ".join(f"{loc['display_path']} [{loc['exposure']}]" for loc in locs)
        print(f"  planted ({where}): {'FOUND ' + shown if locs else 'MISSED'}")


def bench(
    repo: Path, runs: int, planted: Path | None, extra: list[str], before: Path | None = None
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        floor(repo)
        keysentry(repo, report, extra)  # warm-up: page cache, .pyc files
        if before is not None:
            keysentry(repo, Path(tmp) / "before.json", extra, before)
        floors, unordered, ours, rss_floor, rss_me, rss_kids = [], [], [], [], [], []
        befores: list[float] = []
        for run in range(runs):
            f, fr = floor(repo)
            u, _ = floor(repo, "--unordered")
            if before is not None:
                befores.append(keysentry(repo, Path(tmp) / "before.json", extra, before)[0])
            k, me, kids = keysentry(repo, report, extra)
            floors.append(f)
            unordered.append(u)
            ours.append(k)
            rss_floor.append(fr)
            rss_me.append(me)
            rss_kids.append(kids)
            then = f"  before {befores[-1]:.2f}s" if befores else ""
            print(f"  run {run + 1}: floor {f:.2f}s  (--unordered {u:.2f}s){then}  keysentry "
                  f"{k:.2f}s  ratio {k / f:.2f}x")  # fmt: skip
        fm, km = statistics.median(floors), statistics.median(ours)
        um = statistics.median(unordered)
        stats = json.loads(report.read_text())["stats"]["counters"]
        print(
            f"{repo}: {stats.get('blobs', 0)} blobs, {stats.get('bytes', 0) / 2**20:.0f} MiB, "
            f"{stats.get('commits', 0)} commits, {stats.get('findings', 0)} findings"
        )
        print(
            f"  median: floor {fm:.2f}s  keysentry {km:.2f}s  ratio {km / fm:.2f}x (target <= 1.3x)"
        )
        print(f"  (against `cat-file --batch-all-objects --batch --unordered`, {um:.2f}s: "
              f"{km / um:.2f}x)")  # fmt: skip
        if befores:
            bm = statistics.median(befores)
            print(f"  before (--before): median {bm:.2f}s; after / before = {km / bm:.3f}x")
        peak_floor = max(rss_floor) / 1024
        peak_me = max(rss_me) / 1024
        print(
            f"  peak RSS: floor git {peak_floor:.0f} MiB; keysentry python {peak_me:.0f} MiB, "
            f"its git children {max(rss_kids) / 1024:.0f} MiB; python - floor git = "
            f"{peak_me - peak_floor:+.0f} MiB (target <= +64 MiB)"
        )
        if planted is not None:
            check_planted(report, planted)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("repos", type=Path, nargs="+")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--planted", type=Path, help="fingerprints from gen_history.py")
    parser.add_argument("--extra", default="", help="extra keysentry options, one string")
    parser.add_argument(
        "--before", type=Path, help="a keysentry source tree (its src/) to compare with"
    )
    args = parser.parse_args()
    os.environ.setdefault("GIT_CONFIG_GLOBAL", os.devnull)
    # Compiled modules are cached as after any real install (a sandbox may set
    # PYTHONDONTWRITEBYTECODE, which would make every run compile keysentry anew).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ.setdefault(
        "PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "ks-bench-pycache")
    )
    for repo in args.repos:
        # --planted belongs to the first repository; the others use their own
        # REPO.planted.json when gen_history.py wrote one beside them.
        guess = repo.with_name(repo.name + ".planted.json")
        planted = args.planted if repo == args.repos[0] and args.planted else None
        if planted is None and guess.exists():
            planted = guess
        bench(repo, args.runs, planted, args.extra.split(), args.before)


if __name__ == "__main__":
    main()

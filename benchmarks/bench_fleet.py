"""``keysentry audit`` against a shell loop of ``keysentry history``, on a generated fleet.

    python benchmarks/gen_fleet.py /tmp/ks-fleet --repos 200
    python benchmarks/bench_fleet.py /tmp/ks-fleet [--dask] [--rss]

Measures, in wall time: the shell loop (one ``keysentry history`` per repository, one
after the other, as a script would); ``keysentry audit`` with the default executor;
resuming that finished audit (nothing changed); with ``--dask``, the audit through a
local Dask cluster (2 worker processes, started before the clock); with ``--rss``, the
driver's peak RSS (VmHWM of the driver process alone) for 50 and for every repository.
Every planted fingerprint must be found.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KEYSENTRY = [sys.executable, "-m", "keysentry"]


def repositories(root: Path) -> list[Path]:
    found = []
    for team in sorted(root.iterdir()):
        found.extend(sorted(p for p in team.iterdir() if p.is_dir()))
    return found


def shell_loop(repos: list[Path], work: Path) -> float:
    started = time.monotonic()
    for repo in repos:
        subprocess.run(
            [
                *KEYSENTRY,
                "history",
                str(repo),
                "--format",
                "json",
                "-o",
                str(work / "h.json"),
                "-q",
            ],
            check=False,
        )
    return time.monotonic() - started


def audit(args: list[str], db: Path, out: Path) -> tuple[float, int, int]:
    """Wall time, exit code, and the driver's peak RSS in KiB."""
    command = [
        *KEYSENTRY,
        "audit",
        *args,
        "--db",
        str(db),
        "--format",
        "json",
        "-o",
        str(out),
        "-q",
    ]
    started = time.monotonic()
    proc = subprocess.Popen(command)
    peak = 0
    while proc.poll() is None:
        try:
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.02)
    return time.monotonic() - started, proc.returncode, peak


def check(out: Path, planted: dict[str, object]) -> None:
    report = json.loads(out.read_text())
    found = {f["fingerprint"] for f in report["findings"]}
    missing = set(planted["fingerprints"]) - found  # type: ignore[arg-type]
    failed = [r["repository"] for r in report["repositories"] if r["failure"]]
    print(
        f"  {len(found)} distinct keys, {len(failed)} repositories failed, missing: {len(missing)}"
    )
    assert not missing, missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--dask", action="store_true")
    parser.add_argument("--rss", action="store_true")
    parser.add_argument("--skip-loop", action="store_true")
    args = parser.parse_args()
    planted = json.loads(args.root.with_suffix(".planted.json").read_text())
    repos = repositories(args.root)
    work = Path(tempfile.mkdtemp(prefix="ks-bench-fleet-"))
    try:
        print(f"{len(repos)} repositories")
        loop = None
        if not args.skip_loop:
            loop = shell_loop(repos, work)
            print(f"shell loop of `keysentry history`: {loop:.1f} s")
        db, out = work / "audit.sqlite", work / "audit.json"
        first, code, rss = audit([str(args.root)], db, out)
        ratio = f" ({first / loop:.2f}x the loop)" if loop else ""
        print(f"audit, local processes: {first:.1f} s{ratio}, exit {code}, driver peak {rss} KiB")
        check(out, planted)
        again, code, _ = audit([str(args.root)], db, out)
        print(
            f"resume, nothing changed: {again:.2f} s ({100 * again / first:.1f}% of the first run)"
        )
        check(out, planted)
        if args.dask:
            from distributed import LocalCluster

            with LocalCluster(
                n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
            ) as cluster:
                took, code, _ = audit(
                    [str(args.root), "--scheduler", cluster.scheduler_address],
                    work / "dask.sqlite", out,
                )  # fmt: skip
            ratio = f" ({took / loop:.2f}x the loop)" if loop else ""
            print(f"audit, local Dask cluster (2 workers): {took:.1f} s{ratio}, exit {code}")
            check(out, planted)
        if args.rss:
            listing = work / "fifty.txt"
            listing.write_text("\n".join(str(r) for r in repos[:50]) + "\n")
            _, _, small = audit(["--repos-file", str(listing)], work / "rss50.sqlite", out)
            _, _, large = audit([str(args.root)], work / "rss-all.sqlite", out)
            print(
                f"driver peak RSS: 50 repositories {small} KiB, {len(repos)} repositories {large} KiB"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

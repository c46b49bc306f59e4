"""`keysentry purge` against git-filter-repo alone with a hand-written replacement file.

    python benchmarks/bench_purge.py REPO [--planted REPO.planted.json] [--work DIR] [--runs 2]

REPO is a history from gen_history.py (its ``.planted.json`` beside it is read). Keys are
checked against the local fake OpenRouter server (tests/fake_openrouter.py), which does
not know them, so they come back ``invalid`` (revoked): the normal path.

1. keysentry: ``keysentry purge REPO --into W/purged.git --remove-files`` in a fresh
   process; the split (audit, probe, clone, rewrite, verify) comes from its JSON report.
2. The floor: what a careful person does by hand, given the keys (collected here, untimed,
   by ``keysentry history --show-secrets`` into a 0600 file): ``git clone --mirror
   --no-local`` then ``git filter-repo --replace-text F --replace-message F --invert-paths
   --paths-from-file P`` (which also expires the reflogs and runs gc), then nothing else:
   no audit before, no check that anything worked afterwards.

Both results are checked with ``git cat-file --batch-all-objects --batch``: no planted key
may be left in either mirror. The repository is read once first (warm page cache); runs
alternate which side goes first, and the medians are compared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fake_openrouter import FakeOpenRouter
from keysentry.models import fingerprint_of

ENV = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"}
MARKER = "OPENROUTER_KEY_REMOVED"


def keysentry(*args: str, base_url: str) -> tuple[float, int]:
    env = {**ENV, "OPENROUTER_BASE_URL": base_url, "XDG_CACHE_HOME": tempfile.mkdtemp()}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "keysentry", *args], env=env, check=False)
    return time.perf_counter() - start, proc.returncode


def collect_keys(repo: Path, work: Path, base_url: str) -> tuple[list[str], list[str]]:
    """The raw keys and the paths to drop: what the person writing the file by hand knows."""
    report = work / "secrets.json"
    keysentry("history", str(repo), "--show-secrets", "--format", "json", "-o", str(report),
              "-q", base_url=base_url)  # fmt: skip
    findings = json.loads(report.read_text())["findings"]
    report.unlink()
    keys = sorted({f["secret"] for f in findings})
    paths = sorted(
        {
            loc["path"]
            for f in findings
            for loc in f["locations"]
            if loc["source"] == "blob" and (loc["decoders"] or loc["members"])
        }
    )
    return keys, paths


def private(path: Path, text: str) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w") as fh:
        fh.write(text)
    return path


def floor(repo: Path, work: Path, keys: list[str], paths: list[str]) -> dict[str, float]:
    expressions = private(work / "replace.txt", "".join(f"{k}==>{MARKER}\n" for k in keys))
    listed = private(work / "paths.txt", "".join(f"{p}\n" for p in paths))
    into = work / "floor.git"
    start = time.perf_counter()
    subprocess.run(["git", "clone", "-q", "--mirror", "--no-local", str(repo), str(into)],
                   env=ENV, check=True)  # fmt: skip
    cloned = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "git_filter_repo", "--quiet", "--replace-text", str(expressions),
         "--replace-message", str(expressions), "--invert-paths", "--paths-from-file",
         str(listed)],
        cwd=into, env=ENV, check=True, capture_output=True,
    )  # fmt: skip
    done = time.perf_counter()
    expressions.unlink()
    return {"clone": cloned - start, "filter-repo": done - cloned, "total": done - start}


def leftovers(mirror: Path, keys: list[str]) -> int:
    objects = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"],
        cwd=mirror, env=ENV, capture_output=True, check=True,
    ).stdout  # fmt: skip
    return sum(1 for k in keys if k.encode() in objects)


def count(mirror: Path, *what: str) -> int:
    out = subprocess.run(["git", "rev-list", "--count", *what], cwd=mirror, env=ENV,
                         capture_output=True, check=True, text=True).stdout  # fmt: skip
    return int(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("repo", type=Path)
    parser.add_argument("--planted", type=Path)
    parser.add_argument("--work", type=Path, help="scratch directory (default: a new one)")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    repo = args.repo.resolve()
    planted_file = args.planted or repo.with_name(repo.name + ".planted.json")
    planted = json.loads(planted_file.read_text()) if planted_file.exists() else {}
    work = Path(tempfile.mkdtemp(prefix="ks-bench-purge-", dir=args.work))
    os.chmod(work, 0o700)
    with FakeOpenRouter() as fake:
        keys, paths = collect_keys(repo, work, fake.base_url)
        found = {fingerprint_of(k) for k in keys}
        missing = [where for where, fp in planted.items() if fp not in found]
        print(f"{len(keys)} key(s) in {repo} ({len(planted)} planted, missed: {missing or 0}); "
              f"{len(paths)} file(s) to drop: {paths}")  # fmt: skip
        # Warm the page cache once, so that neither side pays for the first read.
        leftovers(repo, [])
        floors: list[dict[str, float]] = []
        ours: list[tuple[float, dict[str, Any]]] = []
        for run in range(args.runs):
            # Alternate which side goes first: a shared machine's load drifts.
            for side in ("floor", "keysentry") if run % 2 == 0 else ("keysentry", "floor"):
                if side == "floor":
                    floors.append(floor(repo, work, keys, paths))
                    floors[-1]["left"] = leftovers(work / "floor.git", keys)
                    shutil.rmtree(work / "floor.git")
                else:
                    ours.append(purge(repo, work, keys, fake.base_url))
    base = {k: statistics.median(f[k] for f in floors) for k in floors[0]}
    total = statistics.median(t for t, _ in ours)
    outcome = ours[0][1]
    split = ", ".join(
        f"{k} {statistics.median(o['timings'][k] for _, o in ours):.1f}s"
        for k in outcome["timings"]
    )
    print(f"keysentry purge ({args.runs} run(s), medians): {total:.1f}s total "
          f"({split}); exit {outcome['exit_code']}; {outcome['commits_rewritten']} of "
          f"{outcome['commits']} commits rewritten, {len(outcome['refs_updated'])} refs "
          f"updated; keys left: {outcome['left']}; commits before/after (all refs): "
          f"{outcome['commits_before']}/{outcome['commits_after']}")  # fmt: skip
    print(f"git-filter-repo alone: {base['total']:.1f}s (clone {base['clone']:.1f}s, "
          f"filter-repo {base['filter-repo']:.1f}s); keys left: {base['left']:.0f}")  # fmt: skip
    print(
        f"ratio: {total / base['total']:.2f}x  (every run: keysentry "
        f"{[round(t, 1) for t, _ in ours]}, floor {[round(f['total'], 1) for f in floors]})"
    )
    shutil.rmtree(work)


def purge(repo: Path, work: Path, keys: list[str], base_url: str) -> tuple[float, dict[str, Any]]:
    report = work / "purge.json"
    into = work / "purged.git"
    total, _code = keysentry("purge", str(repo), "--into", str(into), "--remove-files",
                            "--format", "json", "-o", str(report), "-q",
                            base_url=base_url)  # fmt: skip
    outcome: dict[str, Any] = json.loads(report.read_text())
    outcome["left"] = leftovers(into, keys)
    outcome["commits_before"] = count(repo, "--all")
    outcome["commits_after"] = count(into, "--all")
    shutil.rmtree(into)
    return total, outcome


if __name__ == "__main__":
    main()

"""`keysentry purge` against git-filter-repo alone with a hand-written replacement file.

    python benchmarks/bench_purge.py REPO [--planted REPO.planted.json] [--work DIR]

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
may be left in either mirror. Runs interleave (floor, keysentry) after nothing else; on a
shared machine run it more than once.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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

        base = floor(repo, work, keys, paths)
        base_left = leftovers(work / "floor.git", keys)
        shutil.rmtree(work / "floor.git")

        report = work / "purge.json"
        into = work / "purged.git"
        total, code = keysentry("purge", str(repo), "--into", str(into), "--remove-files",
                                "--format", "json", "-o", str(report), "-q",
                                base_url=fake.base_url)  # fmt: skip
    outcome = json.loads(report.read_text())
    left = leftovers(into, keys)
    commits = (count(repo, "--all"), count(into, "--all"))
    split = ", ".join(f"{k} {v:.1f}s" for k, v in outcome["timings"].items())
    print(f"keysentry purge: {total:.1f}s total, exit {code} ({split}); "
          f"{outcome['commits_rewritten']} of {outcome['commits']} commits rewritten, "
          f"{len(outcome['refs_updated'])} refs updated; keys left: {left}; "
          f"commits before/after (all refs): {commits[0]}/{commits[1]}")  # fmt: skip
    print(f"git-filter-repo alone: {base['total']:.1f}s (clone {base['clone']:.1f}s, "
          f"filter-repo {base['filter-repo']:.1f}s); keys left: {base_left}")  # fmt: skip
    print(f"ratio: {total / base['total']:.2f}x")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()

"""`keysentry fix` against `keysentry scan` on the same tree, interleaved runs.

    python benchmarks/bench_fix.py [--files 10000] [--with-keys 50] [--runs 5]

A git repository of ``--files`` small source files (Python, JavaScript, TypeScript, Go,
shell, compose YAML, Markdown), ``--with-keys`` of them holding a key in a literal.
Each run copies the pristine tree (not timed), then times `scan` and `fix` on the copy:
`fix` parses only the files with a key, so it should cost little more than the scan it
starts with (target: fix <= 1.5x scan, medians). Keys are made at run time.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PREFIX = "sk-or-" + "v1-"

PLAIN = {
    ".py": "def f{i}(x):\n    return x * {i}\n\n\nVALUE_{i} = 'text {i}'\n",
    ".js": "export function f{i}(x) {{\n  return x * {i};\n}}\nconst label{i} = 'text {i}';\n",
    ".ts": "export const f{i} = (x: number): number => x * {i};\n",
    ".go": "package p\n\nfunc F{i}(x int) int {{ return x * {i} }}\n",
    ".sh": "#!/bin/sh\necho 'step {i}'\n",
    ".md": "# Note {i}\n\nSome text about item {i}.\n",
}
KEYED = {
    ".py": 'import requests\n\nOPENROUTER_API_KEY = "{key}"\nheaders = {{"Authorization": f"Bearer {key}"}}\n',
    ".js": 'const OPENROUTER_API_KEY = "{key}";\nfetch(u, {{ headers: {{ Authorization: `Bearer {key}` }} }});\n',
    ".ts": 'export const client = new OpenAI({{ apiKey: "{key}" }});\n',
    ".go": 'package p\n\nimport "fmt"\n\nvar key = "{key}"\n\nfunc F() {{ fmt.Println(key) }}\n',
    ".sh": '#!/bin/sh\ncurl -H "Authorization: Bearer {key}" https://openrouter.ai/api/v1/key\n',
    ".yml": "services:\n  app:\n    environment:\n      OPENROUTER_API_KEY: {key}\n",
}


def build(root: Path, files: int, with_keys: int, rng: random.Random) -> None:
    kinds = list(PLAIN)
    keyed = set(rng.sample(range(files), with_keys))
    for i in range(files):
        directory = root / f"pkg{i % 100:02d}" / f"mod{i % 7}"
        directory.mkdir(parents=True, exist_ok=True)
        if i in keyed:
            suffix = list(KEYED)[i % len(KEYED)]
            name = "compose.yml" if suffix == ".yml" else f"file{i}{suffix}"
            body = KEYED[suffix].format(key=PREFIX + secrets.token_hex(32))
            (directory / name).write_text(body)
        else:
            suffix = kinds[i % len(kinds)]
            (directory / f"file{i}{suffix}").write_text(PLAIN[suffix].format(i=i) * 8)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_AUTHOR_NAME": "b",
           "GIT_AUTHOR_EMAIL": "b@example.test", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@example.test"}  # fmt: skip
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "tree"]):
        subprocess.run(["git", "-c", "gc.auto=0", *args], cwd=root, check=True, env=env)


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1, 3):
        sys.exit(f"{command} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--with-keys", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    keysentry = shutil.which("keysentry") or "keysentry"
    with tempfile.TemporaryDirectory(prefix="bench-fix-") as tmp:
        pristine = Path(tmp) / "pristine"
        pristine.mkdir()
        build(pristine, args.files, args.with_keys, random.Random(args.seed))
        scans, fixes = [], []
        for run in range(args.runs + 1):  # the first run warms the caches
            work = Path(tmp) / f"work{run}"
            shutil.copytree(pristine, work, symlinks=True)
            scan = timed([keysentry, "scan", ".", "--format", "json", "--output", os.devnull,
                          "--quiet"], work)  # fmt: skip
            fix = timed([keysentry, "fix", "."], work)
            shutil.rmtree(work)
            if run == 0:
                continue
            scans.append(scan)
            fixes.append(fix)
            print(f"run {run}: scan {scan:.2f}s  fix {fix:.2f}s  ratio {fix / scan:.2f}x")
        s, f = statistics.median(scans), statistics.median(fixes)
        print(f"median: scan {s:.2f}s  fix {f:.2f}s  ratio {f / s:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()

"""Generate a fleet of repositories for ``keysentry audit`` benchmarks, with `git fast-import`.

    python benchmarks/gen_fleet.py /tmp/ks-fleet [--repos 200] [--seed 1]

Sizes vary log-uniformly from tens to thousands of commits. Keys (built at run time,
never written to this repository) are planted in about a third of the repositories,
some of them shared by several repositories; a few repositories are broken (a ``.git``
file pointing nowhere, a bare repository whose HEAD is garbage, a missing object).
``<dir>.planted.json`` lists the fingerprints planted and the broken repositories.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import secrets
import shutil
import subprocess
from pathlib import Path

PREFIX = "sk-or-" + "v1-"
ENV = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"}
WORDS = ("alpha", "beta", "gamma", "delta", "config", "value", "user", "name", "token")


def stream(rng: random.Random, commits: int, key: str | None) -> bytes:
    out = []
    files: dict[str, list[str]] = {}
    plant_at = rng.randrange(commits) if key else -1
    for n in range(commits):
        name = f"src/mod{rng.randrange(max(3, commits // 20))}.py"
        lines = files.setdefault(name, [])
        lines.extend(
            " ".join(rng.choice(WORDS) for _ in range(8)) for _ in range(rng.randrange(3, 30))
        )
        del lines[: max(0, len(lines) - 60)]
        changed = {name: "\n".join(lines) + "\n"}
        if n == plant_at:
            changed["config/settings.env"] = f"OPENROUTER_API_KEY={key}\n"
        out.append(f"commit refs/heads/main\nmark :{n + 1}\n")
        out.append(f"author Dev <dev@example.test> {1_600_000_000 + n * 3600} +0000\n")
        out.append(f"committer Dev <dev@example.test> {1_600_000_000 + n * 3600} +0000\n")
        message = f"change {n}\n"
        out.append(f"data {len(message)}\n{message}")
        if n:
            out.append(f"from :{n}\n")
        for path, text in changed.items():
            data = text.encode()
            out.append(f"M 100644 inline {path}\ndata {len(data)}\n")
            out.append(data.decode() + "\n")
    return "".join(out).encode()


def make_repo(path: Path, rng: random.Random, commits: int, key: str | None) -> None:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env=ENV)
    subprocess.run(
        ["git", "fast-import", "--quiet"], cwd=path, input=stream(rng, commits, key),
        check=True, env=ENV,
    )  # fmt: skip
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=path, check=True, env=ENV)


def generate(root: Path, repos: int, seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    pool = [PREFIX + secrets.token_hex(32) for _ in range(max(4, repos // 10))]
    planted: set[str] = set()
    broken = []
    for i in range(repos):
        commits = int(math.exp(rng.uniform(math.log(10), math.log(2000))))
        key = rng.choice(pool) if rng.random() < 0.35 else None
        if key:
            planted.add(hashlib.sha256(key.encode()).hexdigest())
        make_repo(root / f"team{i % 7}" / f"repo{i:04}", rng, commits, key)
    for j, kind in enumerate(("dangling-gitdir", "garbage-head", "missing-object")):
        path = root / "broken" / f"{kind}-{j}"
        if kind == "dangling-gitdir":
            path.mkdir(parents=True)
            (path / ".git").write_text("gitdir: /nonexistent/fleet\n")
        elif kind == "garbage-head":
            make_repo(path, rng, 5, None)
            (path / ".git" / "HEAD").write_text("garbage\n")
        else:
            make_repo(path, rng, 5, None)
            objects = sorted((path / ".git" / "objects" / "pack").glob("*.pack"))
            for pack in objects:
                pack.write_bytes(pack.read_bytes()[:64])
        broken.append(str(path))
    return {"fingerprints": sorted(planted), "broken": broken, "repos": repos + len(broken)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--repos", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    info = generate(args.root, args.repos, args.seed)
    args.root.with_suffix(".planted.json").write_text(json.dumps(info, indent=2))
    print(f"{info['repos']} repositories in {args.root}, {len(info['fingerprints'])} keys planted")


if __name__ == "__main__":
    main()

"""Generate a large synthetic git history with `git fast-import`.

    python benchmarks/gen_history.py /tmp/ks-bench/synthetic [--commits 20000] [--mb 1100]
                                     [--repack] [--seed 1] [--files 2000] [--depth 1]

Shape: one main line; every ~400 commits a feature branch forks, gets its own
commits and is merged back with a merge commit; one branch is never merged; tags
(lightweight and annotated) along the way. Each commit edits a few text files so
that the unique blob content grows to about ``--mb`` megabytes in total; a few
binary files, zips and gzips are committed too.

Planted keys (built at run time, never written to this repository): a file later
deleted, a branch never merged, a commit message, an annotated tag message, a
base64-encoded .env file, a file inside a zip, and content that exists only in a
merge commit's resolution. Their SHA-256 fingerprints (not the keys) go to
``<repo>.planted.json`` so the benchmark can check every one is found.

``--files`` and ``--depth`` shape the tree: the source files sit ``--depth`` directories
deep (8 per level below the first), so that each commit writes about ``--depth`` + 1 new
trees per file it edits, as in a large real project.

fast-import writes one pack; its deltas are poor (each blob against the previous
one written). ``--repack`` runs `git repack -adf` afterwards for realistic deltas
(minutes).
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import io
import json
import os
import random
import secrets
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

PREFIX = "sk-or-" + "v1-"
START = 1_600_000_000
ENV = {
    **os.environ,
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "LC_ALL": "C",
}


def new_key() -> str:
    return PREFIX + secrets.token_hex(32)


class Text:
    """Plausible source-like lines from a fixed vocabulary (compresses like code does)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        letters = "abcdefghijklmnopqrstuvwxyz"
        self.words = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 10)))
                      for _ in range(6000)]  # fmt: skip
        extras = ["%2d", "\\x2d", "%73", "\\u002d", "0x7f", "b64:", "==", "://"]
        self.pool = [self._line(extras) for _ in range(60000)]

    def _line(self, extras: list[str]) -> bytes:
        rng = self.rng
        indent = "    " * rng.randint(0, 3)
        words = rng.choices(self.words, k=rng.randint(2, 12))
        # Decoder triggers (an escaped or percent-encoded dash, say) turn up in real code
        # now and then: about one per MiB in psf/requests, 0.1 in Aider-AI/aider.
        if rng.random() < 0.0001:
            words.append(rng.choice(extras))
        return (indent + " ".join(words) + "\n").encode()

    def lines(self, n: int) -> list[bytes]:
        return self.rng.choices(self.pool, k=n)


class Writer:
    """A fast-import stream with marks."""

    def __init__(self, sink: io.BufferedWriter) -> None:
        self.sink = sink
        self.mark = 0
        self.blob_bytes = 0

    def data(self, payload: bytes) -> None:
        self.sink.write(b"data %d\n" % len(payload))
        self.sink.write(payload)
        self.sink.write(b"\n")

    def blob(self, payload: bytes) -> int:
        self.mark += 1
        self.blob_bytes += len(payload)
        self.sink.write(b"blob\nmark :%d\n" % self.mark)
        self.data(payload)
        return self.mark

    def commit(
        self,
        ref: str,
        when: int,
        message: str,
        changes: dict[str, int | None],
        parent: int | None,
        merge: int | None = None,
    ) -> int:
        self.mark += 1
        ident = f"Dev {when % 7} <dev{when % 7}@example.test> {when} +0000"
        out = [f"commit {ref}", f"mark :{self.mark}", f"author {ident}", f"committer {ident}"]
        self.sink.write(("\n".join(out) + "\n").encode())
        self.data(message.encode())
        if parent is not None:
            self.sink.write(b"from :%d\n" % parent)
        if merge is not None:
            self.sink.write(b"merge :%d\n" % merge)
        for path, mark in changes.items():
            if mark is None:
                self.sink.write(f"D {path}\n".encode())
            else:
                self.sink.write(f"M 100644 :{mark} {path}\n".encode())
        self.sink.write(b"\n")
        return self.mark

    def tag(self, name: str, target: int, when: int, message: str) -> None:
        self.sink.write(f"tag {name}\nfrom :{target}\n".encode())
        self.sink.write(f"tagger Release <rel@example.test> {when} +0000\n".encode())
        self.data(message.encode())

    def reset(self, ref: str, target: int) -> None:
        self.sink.write(f"reset {ref}\nfrom :{target}\n\n".encode())


class History:
    def __init__(self, writer: Writer, text: Text, rng: random.Random, target: int, n: int):
        self.w = writer
        self.text = text
        self.rng = rng
        self.target = target
        self.n = n
        self.when = START
        self.count = 0
        self.files: dict[str, bytes] = {}
        self.marks: dict[str, int] = {}
        self.planted: dict[str, str] = {}

    def tick(self) -> int:
        self.when += self.rng.randint(60, 3600)
        return self.when

    def plant(self, where: str) -> str:
        key = new_key()
        self.planted[where] = hashlib.sha256(key.encode()).hexdigest()
        return key

    def edit(self, files: dict[str, bytes], path: str) -> bytes:
        lines = files[path].splitlines(keepends=True)
        rng = self.rng
        at = rng.randint(0, len(lines))
        cut = rng.randint(0, min(5, len(lines) - at))
        unique = f"# rev {self.count} {rng.getrandbits(64):x}\n".encode()
        lines[at : at + cut] = [*self.text.lines(rng.randint(1, 8)), unique]
        return b"".join(lines)

    def step(
        self,
        files: dict[str, bytes],
        marks: dict[str, int],
        ref: str,
        parent: int | None,
        extra: Callable[[dict[str, int | None]], None] | None = None,
        message: str = "",
    ) -> int:
        """One commit: edit files until the unique bytes keep pace with the target."""
        self.count += 1
        goal = self.target * self.count // self.n
        changes: dict[str, int | None] = {}
        paths = list(files)
        while not changes or (self.w.blob_bytes < goal and len(changes) < 40):
            path = self.rng.choice(paths)
            files[path] = self.edit(files, path)
            changes[path] = marks[path] = self.w.blob(files[path])
        if extra is not None:
            extra(changes)
        text = message or f"change {self.count}: " + " ".join(
            self.rng.choices(self.text.words, k=6)
        )
        return self.w.commit(ref, self.tick(), text, changes, parent)


def binary_files(rng: random.Random, text: Text) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for i in range(20):
        out[f"assets/blob{i}.bin"] = rng.randbytes(rng.randint(10_000, 400_000))
    for i in range(5):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for j in range(5):
                zf.writestr(f"pkg/mod{j}.py", b"".join(text.lines(200)))
        out[f"dist/bundle{i}.zip"] = buf.getvalue()
        out[f"data/dump{i}.gz"] = gzip.compress(b"".join(text.lines(2000)), mtime=0)
    out["media/big.bin"] = rng.randbytes(8 * 2**20)  # streamed, not buffered
    return out


def source_path(i: int, depth: int) -> str:
    if depth <= 1:
        return f"src/pkg{i % 40}/mod{i}.py"
    dirs = [f"pkg{i % 40}", *(f"d{(i // 40 // 8**k) % 8}" for k in range(depth - 1))]
    return "src/" + "/".join(dirs) + f"/mod{i}.py"


def generate(
    repo: Path, commits: int, megabytes: int, seed: int, n_files: int = 2000, depth: int = 1
) -> dict[str, str]:
    rng = random.Random(seed)
    text = Text(rng)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=ENV)
    proc = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done"], cwd=repo, stdin=subprocess.PIPE, env=ENV
    )
    assert proc.stdin is not None
    sink = io.BufferedWriter(proc.stdin, 2**20)  # type: ignore[arg-type]
    w = Writer(sink)
    h = History(w, text, rng, megabytes * 2**20, commits)

    # The first commit: ~2000 source files plus binaries and archives.
    files: dict[str, bytes] = {}
    for i in range(n_files):
        size = int(min(rng.lognormvariate(9.3, 1.0), 400_000))
        files[source_path(i, depth)] = b"".join(text.lines(max(5, size // 45)))
    files.update(binary_files(rng, text))
    marks = {path: w.blob(content) for path, content in files.items()}
    first: dict[str, int | None] = dict(marks)
    tip = w.commit("refs/heads/main", h.tick(), "initial import", first, None)
    h.count = 1
    source_files = {p: c for p, c in files.items() if p.startswith("src/")}

    plants = {commits // 10: "deleted", commits // 3: "message", commits // 2: "base64",
              2 * commits // 3: "zip"}  # fmt: skip
    branch_every = 400
    branch_no = 0
    while h.count < commits:
        due = [at for at in plants if h.count >= at]
        if due:
            tip = plant(h, plants.pop(min(due)), source_files, marks, tip)
            continue
        if h.count % branch_every == 0 and h.count + 60 < commits:
            branch_no += 1
            tip = feature_branch(h, source_files, marks, tip, branch_no)
            continue
        tip = h.step(source_files, marks, "refs/heads/main", tip)
        if h.count % 1000 == 0:
            w.reset(f"refs/tags/v0.{h.count // 1000}", tip)
        if h.count % 2500 == 0:
            w.tag(f"release-{h.count}", tip, h.tick(), f"release {h.count}\n")

    # An annotated tag whose message holds a key, and a branch never merged.
    w.tag("v-leaky", tip, h.tick(), f"release notes\n\ntoken: {h.plant('tag message')}\n")
    stray_files = dict(source_files)
    stray_marks = dict(marks)
    key = h.plant("branch never merged")
    blob = w.blob(f'api_key = "{key}"\n'.encode())
    stray = w.commit(
        "refs/heads/experiment", h.tick(), "try the api", {"experiment/client.py": blob}, tip
    )
    for _ in range(5):
        stray = h.step(stray_files, stray_marks, "refs/heads/experiment", stray)
    w.reset("refs/heads/main", tip)
    sink.write(b"done\n")
    sink.flush()
    sink.close()
    if proc.wait() != 0:
        sys.exit("git fast-import failed")
    return h.planted


def plant(h: History, kind: str, files: dict[str, bytes], marks: dict[str, int], tip: int) -> int:
    w = h.w
    main = "refs/heads/main"
    if kind == "deleted":
        key = h.plant("file later deleted")
        blob = w.blob(f"OPENROUTER_API_KEY={key}\n".encode())
        tip = w.commit(main, h.tick(), "add local config", {".env.local": blob}, tip)
        h.count += 2
        return w.commit(main, h.tick(), "remove config", {".env.local": None}, tip)
    if kind == "message":
        key = h.plant("commit message")
        return h.step(
            files, marks, main, tip, message=f"debug: temporarily use {key}\n\nwill remove"
        )
    if kind == "base64":
        key = h.plant("base64 .env file")
        env = base64.b64encode(f"OPENROUTER_API_KEY={key}\nDEBUG=1\n".encode())
        blob = w.blob(b"apiVersion: v1\nkind: Secret\ndata:\n  env: " + env + b"\n")
        path = "deploy/secret.yaml"
    else:
        key = h.plant("file inside a zip")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("app/settings.py", f'KEY = "{key}"\n')
        blob = w.blob(buf.getvalue())
        path = "dist/app.zip"

    def add(changes: dict[str, int | None]) -> None:
        changes[path] = blob

    return h.step(files, marks, main, tip, add)


def feature_branch(
    h: History, files: dict[str, bytes], marks: dict[str, int], tip: int, number: int
) -> int:
    """A branch of ~40 commits, merged back; the first merge also adds content of its own."""
    ref = f"refs/heads/feature-{number}"
    w = h.w
    w.reset(ref, tip)
    branch_files = dict(files)
    branch_marks = dict(marks)
    head = tip
    for _ in range(40):
        head = h.step(branch_files, branch_marks, ref, head)
    # Meanwhile main moved on a little.
    for _ in range(5):
        tip = h.step(files, marks, "refs/heads/main", tip)
    changed = {p: m for p, m in branch_marks.items() if marks.get(p) != m}
    for path in changed:
        files[path] = branch_files[path]
        marks[path] = changed[path]
    merge_changes: dict[str, int | None] = dict(changed)
    if number == 1:
        key = h.plant("merge resolution only")
        merge_changes["config/resolved.py"] = w.blob(f'TOKEN = "{key}"  # fix\n'.encode())
    h.count += 1
    return w.commit(
        "refs/heads/main",
        h.tick(),
        f"Merge branch 'feature-{number}'",
        merge_changes,
        tip,
        merge=head,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("repo", type=Path)
    parser.add_argument("--commits", type=int, default=20000)
    parser.add_argument("--mb", type=int, default=1100, help="unique blob content, MiB")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repack", action="store_true", help="git repack -adf afterwards")
    parser.add_argument("--files", type=int, default=2000, help="source files")
    parser.add_argument("--depth", type=int, default=1, help="directories below src/")
    args = parser.parse_args()
    if args.repo.exists():
        sys.exit(f"{args.repo} exists; remove it first")
    started = time.monotonic()
    planted = generate(args.repo, args.commits, args.mb, args.seed, args.files, args.depth)
    if args.repack:
        subprocess.run(["git", "repack", "-adf", "-q"], cwd=args.repo, check=True, env=ENV)
    side = args.repo.with_name(args.repo.name + ".planted.json")
    side.write_text(json.dumps(planted, indent=2) + "\n")
    stats = subprocess.run(
        ["git", "count-objects", "-vH"], cwd=args.repo, env=ENV, capture_output=True, text=True
    ).stdout
    print(
        f"generated {args.repo} in {time.monotonic() - started:.0f}s "
        f"({len(planted)} planted keys, fingerprints in {side})"
    )
    print(stats)


if __name__ == "__main__":
    main()

"""Generate a large directory tree for benchmarking `keysentry scan`.

    python benchmarks/gen_tree.py OUT_DIR [--gib 1.0] [--files 40000] [--seed 1]

Source-like text files, JSON, logs, some binaries, a few zip / tar.gz archives,
and a handful of planted keys (built at run time: nothing key-shaped is stored
in this script). Prints the planted keys' fingerprints, never the keys.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import random
import tarfile
import zipfile
from pathlib import Path

WORDS = [
    "def",
    "return",
    "import",
    "class",
    "self",
    "value",
    "result",
    "config",
    "request",
    "response",
    "client",
    "model",
    "token",
    "async",
    "await",
    "const",
    "let",
    "function",
    "export",
    "default",
    "interface",
    "string",
    "number",
    "boolean",
    "null",
    "true",
    "false",
    "if",
    "else",
    "for",
    "while",
    "try",
    "except",
    "finally",
    "raise",
    "yield",
    "lambda",
    "with",
    "open",
    "read",
    "write",
]


def text_blob(rng: random.Random, size: int) -> bytes:
    out = io.StringIO()
    written = 0
    while written < size:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14)))
        line = "    " * rng.randint(0, 3) + line + "\n"
        out.write(line)
        written += len(line)
    return out.getvalue().encode()[:size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--files", type=int, default=40_000)
    parser.add_argument("--keys", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    total = int(args.gib * 2**30)
    per_file = total // args.files
    args.out.mkdir(parents=True, exist_ok=True)
    # A pool of text to slice from keeps generation fast and content varied.
    pool = text_blob(rng, 64 * 2**20)
    binary_pool = rng.randbytes(16 * 2**20)
    key_at = set(rng.sample(range(args.files), args.keys))
    fingerprints = []
    for i in range(args.files):
        directory = args.out / f"pkg{i % 200:03d}" / f"mod{i % 37:02d}"
        directory.mkdir(parents=True, exist_ok=True)
        size = max(64, int(rng.expovariate(1 / per_file)))
        kind = rng.random()
        if kind < 0.08:
            start = rng.randrange(0, len(binary_pool) - size) if size < len(binary_pool) else 0
            data, name = binary_pool[start : start + size], f"blob{i}.bin"
        else:
            start = rng.randrange(0, len(pool) - size) if size < len(pool) else 0
            data, name = (
                pool[start : start + size],
                f"file{i}.{rng.choice(['py', 'js', 'json', 'log', 'md'])}",
            )
        if i in key_at:
            key = "sk-or-" + "v1-" + rng.randbytes(32).hex()
            fingerprints.append(hashlib.sha256(key.encode()).hexdigest())
            data = (
                data[: len(data) // 2]
                + f"\nOPENROUTER_API_KEY={key}\n".encode()
                + data[len(data) // 2 :]
            )
        if i % 5000 == 4999:
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.writestr("inner/data.txt", data)
            data, name = buf.getvalue(), f"bundle{i}.zip"
        elif i % 5000 == 2499:
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w:gz") as tf:
                info = tarfile.TarInfo("inner/data.txt")
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            data, name = buf.getvalue(), f"bundle{i}.tar.gz"
        (directory / name).write_bytes(data)
    print(f"wrote {args.files} files under {args.out}; planted key fingerprints:")
    for fp in fingerprints:
        print(f"  {fp}")


if __name__ == "__main__":
    main()

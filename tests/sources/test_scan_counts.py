"""The summary's counters say what was read: `files` inputs and `bytes` of them, once each."""

from __future__ import annotations

import gzip
import io
import random
import zipfile
from pathlib import Path

import pytest

from scanhelpers import run_json


def test_bytes_is_the_sum_of_the_input_sizes(tmp_path: Path) -> None:
    rng = random.Random(8)
    root = tmp_path / "tree"
    root.mkdir()
    sizes = []
    # Random binaries either side of the scanner's 8 MiB whole-file read: in random bytes
    # some trigger needle (a short base64 or archive prefix) turns up about half the time.
    for i in range(6):
        size = rng.randrange(4 * 2**20, 9 * 2**20)
        (root / f"blob{i}.bin").write_bytes(rng.randbytes(size))
        sizes.append(size)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.txt", b"alpha\n" * 50_000)
    (root / "small.zip").write_bytes(buffer.getvalue())
    sizes.append(len(buffer.getvalue()))
    packed = gzip.compress(rng.randbytes(9 * 2**20), compresslevel=1)
    (root / "big.gz").write_bytes(packed)  # over the whole-file read: streamed
    sizes.append(len(packed))
    (root / "empty.txt").write_bytes(b"")
    sizes.append(0)
    code, report = run_json(tmp_path, "scan", str(root))
    assert code == 0, report["findings"]
    counters = report["stats"]["counters"]
    assert counters["files"] == len(sizes)
    assert counters["bytes"] == sum(sizes)


def test_stdin_counts_the_bytes_read_not_the_bytes_unpacked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packed = gzip.compress(b"line of text\n" * 100_000)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(packed)))
    code, report = run_json(tmp_path, "scan", "-")
    assert code == 0
    assert report["stats"]["counters"]["bytes"] == len(packed)
    assert report["stats"]["counters"]["files"] == 1

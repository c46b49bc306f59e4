"""Archives through the whole scan: links, per-member and total caps, bombs."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import random
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import make_key
from keysentry.decoders.views import Limits
from keysentry.detect.rules import load_rules
from keysentry.detect.scanner import Scanner
from scanhelpers import locations, run_json


def fp(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def test_links_in_archives_are_counted_not_reported_as_skipped(tmp_path: Path) -> None:
    key = make_key()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, kind in (("app", tarfile.DIRTYPE), ("app/current", tarfile.SYMTYPE),
                           ("app/again.env", tarfile.LNKTYPE)):  # fmt: skip
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = "app/.env" if kind != tarfile.DIRTYPE else ""
            archive.addfile(info)
        info = tarfile.TarInfo("app/.env")
        content = f"K={key}\n".encode()
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
    link = zipfile.ZipInfo("lib/libz.so")
    link.create_system = 3
    link.external_attr = 0o120777 << 16
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr(link, "libz.so.1")
    root = tmp_path / "tree"
    root.mkdir()
    (root / "site.tar.gz").write_bytes(buffer.getvalue())
    (root / "libs.zip").write_bytes(zipped.getvalue())
    code, report = run_json(tmp_path, "scan", str(root))
    assert code == 1
    assert [loc["members"][-1] for loc in locations(report, fp(key))] == ["app/.env"]
    assert report["stats"]["issues"] == []
    assert report["stats"]["counters"]["archive_links"] == 3


# -- caps: one huge member does not hide the ones after it ------------------------------

MiB = 2**20


def text_blob(size: int, seed: int) -> bytes:
    """Text that compresses like real files do (about 2:1): lines of random hex."""
    raw = random.Random(seed).randbytes(size // 2).hex().encode()
    return b"\n".join(raw[i : i + 63] for i in range(0, len(raw), 64))[:size]


def zip_of(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method, compresslevel=1) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def tar_of(files: dict[str, bytes], mode: str = "w") -> bytes:
    buffer = io.BytesIO()
    options = {"compresslevel": 1} if mode.endswith("gz") else {}
    with tarfile.open(fileobj=buffer, mode=mode, **options) as archive:  # type: ignore[call-overload]
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def scan_with_caps(
    tmp_path: Path, files: dict[str, bytes], **caps: int
) -> tuple[int, dict[str, Any]]:
    root = tmp_path / "tree"
    root.mkdir()
    for name, content in files.items():
        (root / name).write_bytes(content)
    config = tmp_path / "caps.toml"
    config.write_text("".join(f"{k} = {v}\n" for k, v in caps.items()))
    return run_json(tmp_path, "scan", str(root), "--config", str(config))


def cap_issues(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (i["kind"], i["path"].split("/tree/", 1)[-1])
        for i in report["stats"]["issues"]
        if i["kind"].endswith("-cap")
    ]


LOW_CAPS = {"max_member_bytes": 2 * MiB, "max_decoded_bytes": 32 * MiB}


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_zip_member_over_the_cap_does_not_hide_the_next(tmp_path: Path, method: int) -> None:
    key = make_key()
    big = text_blob(12 * MiB, 1)
    data = zip_of({"big.bin": big, "conf/.env": f"K={key}\n".encode()}, method)
    # The budget is below the first member's size: only skipping it reaches the key.
    code, report = scan_with_caps(
        tmp_path, {"release.zip": data}, max_member_bytes=2 * MiB, max_decoded_bytes=8 * MiB
    )
    assert code == 1
    assert [loc["members"] for loc in locations(report, fp(key))] == [["conf/.env"]]
    assert cap_issues(report) == [("size-cap", "release.zip!big.bin")]
    if method == zipfile.ZIP_DEFLATED:  # skipped through the central directory: not inflated
        assert report["stats"]["counters"]["decoded_bytes"] < 4 * MiB


@pytest.mark.parametrize(("mode", "name"), [("w", "image.tar"), ("w:gz", "image.tar.gz")])
def test_tar_member_over_the_cap_does_not_hide_the_next(
    tmp_path: Path, mode: str, name: str
) -> None:
    key = make_key()
    data = tar_of(
        {"layer/big.bin": text_blob(12 * MiB, 2), "etc/app.env": f"K={key}\n".encode()}, mode
    )
    code, report = scan_with_caps(tmp_path, {name: data}, **LOW_CAPS)
    assert code == 1
    assert [loc["members"][-1] for loc in locations(report, fp(key))] == ["etc/app.env"]
    assert cap_issues(report) == [("size-cap", f"{name}!layer/big.bin")]


def test_skipping_inside_a_compressed_stream_is_bounded_by_the_budget(tmp_path: Path) -> None:
    key = make_key()
    data = tar_of({"big.bin": text_blob(12 * MiB, 3), "app.env": f"K={key}\n".encode()}, "w:gz")
    # Getting past big.bin means inflating it: the budget ends first, and says so.
    code, report = scan_with_caps(
        tmp_path, {"x.tar.gz": data}, max_member_bytes=2 * MiB, max_decoded_bytes=8 * MiB
    )
    assert code == 0
    assert [kind for kind, _ in cap_issues(report)] == ["size-cap", "size-cap"]
    assert report["stats"]["counters"]["decoded_bytes"] == 8 * MiB


def test_nested_member_over_the_cap_does_not_hide_the_next(tmp_path: Path) -> None:
    key, other = make_key(), make_key()
    bundle = zip_of({"big.bin": text_blob(12 * MiB, 4), "conf/.env": f"K={key}\n".encode()})
    release = tar_of({"release/bundle.zip": bundle}, "w:gz")
    inner = tar_of({"big.bin": text_blob(12 * MiB, 5), "b.env": f"K={other}\n".encode()}, "w:gz")
    outer = zip_of({"inner.tar.gz": inner}, zipfile.ZIP_STORED)
    code, report = scan_with_caps(
        tmp_path, {"release.tar.gz": release, "outer.zip": outer}, **LOW_CAPS
    )
    assert code == 1
    assert [loc["members"] for loc in locations(report, fp(key))] == [
        ["release/bundle.zip", "conf/.env"]
    ]
    assert [loc["members"][-1] for loc in locations(report, fp(other))] == ["b.env"]
    assert sorted(cap_issues(report)) == [
        ("size-cap", "outer.zip!inner.tar.gz!big.bin"),
        ("size-cap", "release.tar.gz!release/bundle.zip!big.bin"),
    ]


# -- bombs stop early; real archives are read to their end --------------------------------


def zeros_bomb(compress: Callable[[bytes], bytes]) -> bytes:
    """1 GiB of zeros as 1024 concatenated streams of 1 MiB: one stream to any decoder,
    built in milliseconds and a few hundred KiB."""
    bomb = compress(bytes(MiB)) * 1024
    assert len(bomb) < 2 * MiB
    return bomb


def test_gzip_bomb_stops_early_and_is_reported(tmp_path: Path) -> None:
    code, report = run_json_tree(tmp_path, {"bomb.gz": zeros_bomb(gzip.compress)})
    assert code == 0
    assert cap_issues(report) == [("ratio-cap", "bomb.gz!bomb")]
    # Stopped once the ratio check starts (256 MiB), not at 1 GiB or the 4 GiB budget.
    assert report["stats"]["counters"]["decoded_bytes"] < 300 * MiB


@pytest.mark.parametrize(
    ("compress", "kind"), [(gzip.compress, "gzip"), (bz2.compress, "bzip2"), (lzma.compress, "xz")]
)
def test_bomb_in_each_format_stops_once_its_ratio_is_checked(
    compress: Callable[[bytes], bytes], kind: str
) -> None:
    scanner = Scanner(load_rules(), limits=Limits(ratio_grace_bytes=16 * MiB))
    tally = scanner.scan_bytes(zeros_bomb(compress), "bomb")
    assert [(i.kind, i.path) for i in tally.issues] == [("ratio-cap", f"bomb!<{kind}>")]
    assert "ratio over 200:1" in tally.issues[0].detail
    assert 15 * MiB <= tally.counters["decoded_bytes"] < 24 * MiB


def test_zip_bomb_member_does_not_hide_the_next() -> None:
    key = make_key()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("zeros.bin", bytes(40 * MiB))
        archive.writestr("z.env", f"K={key}\n".encode())
    scanner = Scanner(load_rules(), limits=Limits(ratio_grace_bytes=16 * MiB))
    tally = scanner.scan_bytes(buffer.getvalue(), "bomb.zip")
    assert [(h.secret, h.members) for h in tally.hits] == [(key, ("z.env",))]
    assert [(i.kind, i.path) for i in tally.issues] == [("ratio-cap", "bomb.zip!zeros.bin")]
    assert tally.counters["decoded_bytes"] < 24 * MiB


def test_normal_archive_bigger_than_the_old_cap_is_read_to_its_end(tmp_path: Path) -> None:
    key = make_key()
    rng = random.Random(6)
    block = b"".join(
        b"2026-12-02T01:%02d:%02dZ INFO GET /api/v1/items/%d 200 %dms\n"
        % (i // 60 % 60, i % 60, rng.randrange(10**6), rng.randrange(1000))
        for i in range(20_000)
    )[:MiB]
    packed = gzip.compress(block, compresslevel=1)
    assert len(block) // len(packed) < 20  # an ordinary log, nothing like a bomb
    tail = gzip.compress(f"DEBUG key={key}\n".encode())
    root = tmp_path / "tree"
    root.mkdir()
    with (root / "app.log.gz").open("wb") as fh:
        for _ in range(300):  # 300 MiB of log: more than the old cap of 256 MiB per input
            fh.write(packed)
        fh.write(tail)
    code, report = run_json(tmp_path, "scan", str(root))
    assert code == 1, report["stats"]["issues"]
    assert report["stats"]["issues"] == []
    assert report["stats"]["counters"]["decoded_bytes"] > 300 * MiB


def run_json_tree(tmp_path: Path, files: dict[str, bytes]) -> tuple[int, dict[str, Any]]:
    root = tmp_path / "tree"
    root.mkdir()
    for name, content in files.items():
        (root / name).write_bytes(content)
    return run_json(tmp_path, "scan", str(root))


class CountingFile(io.BytesIO):
    """A file that counts the bytes read from it."""

    read_bytes = 0

    def read(self, size: int | None = -1, /) -> bytes:
        data = super().read(size)
        self.read_bytes += len(data)
        return data


def test_plain_tar_seeks_over_the_rest_of_a_capped_member() -> None:
    key = make_key()
    data = tar_of({"disk.img": bytes(24 * MiB), "etc/app.env": f"K={key}\n".encode()})
    scanner = Scanner(load_rules(), limits=Limits(max_member_bytes=2 * MiB))
    source = CountingFile(data)
    tally = scanner.scan_file(source, "image.tar")
    assert [(h.secret, h.members) for h in tally.hits] == [(key, ("etc/app.env",))]
    assert [(i.kind, i.path) for i in tally.issues] == [("size-cap", "image.tar!disk.img")]
    assert source.read_bytes < 4 * MiB  # the 22 MiB after the cap were not read


def test_nested_zip_too_large_to_buffer_is_scanned_as_bytes_and_reported(tmp_path: Path) -> None:
    key = make_key()
    bundle = zip_of({"big.bin": text_blob(3 * MiB, 7), "k.env": f"K={key}\n".encode()}, 0)
    release = tar_of({"bundle.zip": bundle}, "w:gz")
    code, report = scan_with_caps(tmp_path, {"r.tar.gz": release}, max_buffered_bytes=MiB)
    assert code == 1  # a stored member's bytes are there to be seen
    assert [loc["members"] for loc in locations(report, fp(key))] == [["bundle.zip"]]
    assert cap_issues(report) == [("size-cap", "r.tar.gz!bundle.zip")]


def test_a_bomb_cut_is_reported_once_not_as_damage_too() -> None:
    key = make_key()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=9) as archive:
        for name, content in (("disk.img", bytes(40 * MiB)), ("k.env", f"K={key}\n".encode())):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    scanner = Scanner(load_rules(), limits=Limits(ratio_grace_bytes=16 * MiB))
    tally = scanner.scan_bytes(buffer.getvalue(), "img.tar.gz")
    assert [(i.kind, i.path) for i in tally.issues] == [("ratio-cap", "img.tar.gz!img.tar")]
    assert tally.hits == []  # what follows a bomb in one stream is not reached, and said so


def test_a_text_file_with_ustar_at_257_is_scanned_as_text_not_reported(tmp_path: Path) -> None:
    """A tar library's source (``ustar`` at byte 257 by chance) is text: its key is found
    and it is not listed as "not fully scanned: not a readable tar", in a scan or in
    history."""
    from conftest import git

    key = make_key()
    text = b"// tar header: name, mode, uid, gid, size, mtime, chksum, typeflag;\n".ljust(257, b"/")
    text += b'ustar = "ustar";\nconst key = "' + key.encode() + b'";\n' + b"\n" * 400
    assert text[257:262] == b"ustar"
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "tar.js").write_bytes(text)
    code, report = run_json(tmp_path, "scan", str(repo))
    assert code == 1
    assert [loc["line"] for loc in locations(report, fp(key))] == [3]
    assert report["stats"]["issues"] == []
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "tar library")
    code, report = run_json(tmp_path, "history", str(repo))
    assert code == 1
    assert [loc["line"] for loc in locations(report, fp(key))] == [3]
    assert report["stats"]["issues"] == []

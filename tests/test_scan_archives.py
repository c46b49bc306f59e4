"""Archives through the whole scan: links, per-member and total caps, bombs."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

from conftest import make_key
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

"""A zip behind a prefix, found by its end-of-central-directory record through `scan` and
`history`: zipapps with a shebang, self-extracting executables, polyglots."""

from __future__ import annotations

import io
import tarfile
import zipapp
import zipfile
from pathlib import Path

from formhelpers import found_in_both, nothing_in_both


def _zip(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buf.getvalue()


def test_zipapp_with_a_shebang(tmp_path: Path, key: str) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "__main__.py").write_text(f"import os\nKEY = '{key}'\n")
    target = tmp_path / "app.pyz"
    # zipapp writes the shebang and then the zip into the same file: offsets are absolute.
    zipapp.create_archive(src, target, interpreter="/usr/bin/env python3", compressed=True)
    (loc,) = found_in_both(tmp_path, "app.pyz", target.read_bytes(), key)
    assert loc["display_path"] == "app.pyz!__main__.py"
    assert (loc["line"], loc["column"], loc["decoders"]) == (2, 8, ["zip"])


def test_self_extracting_executable(tmp_path: Path, key: str) -> None:
    # A stub followed by a zip written on its own: offsets relative to the zip's start.
    stub = b"MZ\x90\x00" + bytes(3000) + b"This program cannot be run in DOS mode." + bytes(900)
    data = stub + _zip({"setup/config.ini": f"[api]\nkey={key}\n".encode()})
    (loc,) = found_in_both(tmp_path, "setup.exe", data, key)
    assert loc["display_path"] == "setup.exe!setup/config.ini"
    assert loc["line"] == 2


def test_polyglot_gif_and_zip(tmp_path: Path, key: str) -> None:
    gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04" + bytes(64)
    data = gif + _zip({"a/b/.env": f"X={key}\n".encode()}) + b""
    (loc,) = found_in_both(tmp_path, "picture.gif", data, key)
    assert loc["display_path"] == "picture.gif!a/b/.env"


def test_zipapp_inside_a_tar(tmp_path: Path, key: str) -> None:
    app = b"#!/usr/bin/python3\n" + _zip({"__main__.py": f"K='{key}'\n".encode()})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("dist/tool.pyz")
        info.size = len(app)
        tar.addfile(info, io.BytesIO(app))
    (loc,) = found_in_both(tmp_path, "release.tar.gz", buf.getvalue(), key)
    assert loc["display_path"] == "release.tar.gz!dist/tool.pyz!__main__.py"


def test_end_record_bytes_without_a_zip_are_not_an_archive(tmp_path: Path) -> None:
    data = b"#!/bin/sh\necho 'PK\x05\x06 is the end of a zip'\n" + bytes(40)
    nothing_in_both(tmp_path, "notes.sh", data)


def test_a_clean_zipapp_finds_nothing(tmp_path: Path) -> None:
    data = b"#!/usr/bin/env python3\n" + _zip({"__main__.py": b"print('hi')\n"})
    nothing_in_both(tmp_path, "clean.pyz", data)

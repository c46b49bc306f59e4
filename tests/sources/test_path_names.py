"""Names are content in a work tree and the index too: a file or directory named with a key
publishes it with the commit that adds it, whatever the file holds. scan, staged and the
commit hook (both entries, screen included) report it as a `file-name` location."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import GIT_ENV, PREFIX, git, make_key
from keysentry.models import redact
from scanhelpers import run_json


def _names(report: dict, key: str) -> list[dict]:
    from keysentry.models import fingerprint_of

    return [
        loc
        for f in report["findings"]
        if f["fingerprint"] == fingerprint_of(key)
        for loc in f["locations"]
    ]


def test_scan_reports_a_file_named_with_a_key(tmp_path: Path) -> None:
    key = make_key()
    tree = tmp_path / "tree"
    (tree / "config").mkdir(parents=True)
    (tree / "config" / f"{key}.env").write_text("nothing here\n")
    code, report = run_json(tmp_path, "scan", str(tree))
    assert code == 1
    (loc,) = _names(report, key)
    # Reports show the path redacted; the column counts in the real one.
    assert loc["source"] == "file-name" and loc["path"] == f"{tree}/config/{redact(key)}.env"
    assert (loc["line"], loc["column"]) == (1, len(f"{tree}/config/") + 1)
    assert key not in loc["snippet"] and redact(key) in loc["snippet"]
    assert loc["fix"]["fixable"] is False and "rename" in loc["fix"]["how"]


def test_a_directory_named_with_a_key_is_one_location(tmp_path: Path) -> None:
    key = make_key()
    tree = tmp_path / "tree"
    (tree / key / "sub").mkdir(parents=True)
    for name in ("a.txt", "b.txt", "sub/c.txt"):
        (tree / key / name).write_text("plain\n")
    code, report = run_json(tmp_path, "scan", str(tree))
    assert code == 1
    (loc,) = _names(report, key)
    assert loc["path"] == f"{tree}/{redact(key)}" and loc["source"] == "file-name"


def test_a_placeholder_in_a_name_is_not_a_finding(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / f"{PREFIX}{'0' * 64}.txt").write_text("plain\n")
    (tree / f"{PREFIX}{'ab' * 32}.txt").write_text("plain\n")
    code, report = run_json(tmp_path, "scan", str(tree))
    assert code == 0, report["findings"]


def _hook(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", "-m", "keysentry.hook", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120,
        env={**os.environ, **GIT_ENV}, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.mark.parametrize("entry", ["files", "staged"])
def test_the_commit_hook_refuses_a_staged_file_named_with_a_key(
    repo: Path, entry: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The screen (which answers clean commits before the scanner loads) must not call it
    clean: the name holds a needle, so the pipeline decides."""
    key = make_key()
    (repo / "README.md").write_text("# project\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "initial")
    (repo / "keys").mkdir()
    (repo / "keys" / f"{key}.txt").write_text("nothing here\n")
    git(repo, "add", "keys")
    args = ["--staged"] if entry == "staged" else ["--", f"keys/{key}.txt"]
    proc = _hook(repo, *args)
    assert proc.returncode == 1, proc.stderr
    assert f"keys/{redact(key)}.txt" in proc.stdout and key not in proc.stdout + proc.stderr
    # The same through `keysentry staged`, with the index's own path.
    monkeypatch.chdir(repo)
    code, report = run_json(repo.parent, "staged")
    assert code == 1
    (loc,) = _names(report, key)
    assert loc["source"] == "file-name" and loc["path"] == f"keys/{redact(key)}.txt"


def test_a_clean_name_still_passes_the_hook_on_the_screen(repo: Path) -> None:
    (repo / "README.md").write_text("# project\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "initial")
    (repo / "notes.txt").write_text("plain\n")
    git(repo, "add", "notes.txt")
    proc = _hook(repo, "--staged")
    assert proc.returncode == 0, proc.stderr

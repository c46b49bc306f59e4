"""A reader of standard output that goes away (``keysentry scan . | head -1``, a pager
quit): the command and the commit hook both exit 3 (incomplete), with no traceback and no
message from Python's own flush at exit. Exit 1 would say "a key was found" whatever the
scan found. Real child processes whose standard output is a pipe with no reader."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import make_key
from keysentry.errors import ExitCode


def _with_stdout_closed(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    read, write = os.pipe()
    os.close(read)  # nobody will read: the first write meets EPIPE
    try:
        return subprocess.run(
            [sys.executable, "-I", *argv],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=write,
            stderr=subprocess.PIPE,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write)


@pytest.mark.parametrize("holds_key", [True, False], ids=["key", "clean"])
@pytest.mark.parametrize(
    "argv",
    [
        ["-m", "keysentry", "scan", "--format", "json", "."],
        ["-m", "keysentry.hook", "--format", "json", "--", "a.env"],
    ],
    ids=["scan", "hook"],
)
def test_a_closed_stdout_is_incomplete_not_findings(
    tmp_path: Path, argv: list[str], holds_key: bool
) -> None:
    (tmp_path / "a.env").write_text(f"K={make_key() if holds_key else 'nothing'}\n")
    proc = _with_stdout_closed(argv, tmp_path)
    assert proc.returncode == ExitCode.INCOMPLETE, proc.stderr
    assert b"Traceback" not in proc.stderr and b"Exception ignored" not in proc.stderr


def test_shell_completion_still_answers(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-I", "-m", "keysentry"],
        cwd=tmp_path,
        env={**os.environ, "_KEYSENTRY_COMPLETE": "bash_source"},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert b"_keysentry_completion()" in proc.stdout

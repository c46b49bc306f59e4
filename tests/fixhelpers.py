"""Running ``keysentry fix`` on real repositories, and the programs it rewrote."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dotenv import dotenv_values

from keysentry.cli import main

TIMEOUT = 120


def fix(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """``keysentry fix ARGS`` in-process, from the repository's top: (code, stdout, stderr)."""
    monkeypatch.chdir(repo)
    capsys.readouterr()
    code = main(["fix", *args])
    out, err = capsys.readouterr()
    return code, out, err


def cli(repo: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """``keysentry ARGS`` in a process of its own (isolated), from the repository's top."""
    return subprocess.run(
        [sys.executable, "-I", "-m", "keysentry", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def env_file(repo: Path) -> dict[str, str]:
    values = dotenv_values(repo / ".env")
    return {k: v for k, v in values.items() if v is not None}


def run_with_env(
    repo: Path, command: list[str], extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a program the way the developer would after the fix: the env file's variables
    in its environment (and nothing else of ours)."""
    env = {"PATH": os.environ["PATH"], "HOME": str(repo), **env_file(repo), **(extra or {})}
    return subprocess.run(
        command, cwd=repo, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def tree_text(repo: Path) -> str:
    """Every file of the work tree (not .git, not the env file), as one text."""
    parts = []
    for path in sorted(repo.rglob("*")):
        if ".git" in path.relative_to(repo).parts or path.name == ".env" or not path.is_file():
            continue
        parts.append(path.read_text(errors="replace"))
    return "\n".join(parts)

"""Scanning an untrusted repository runs nothing from it; git failures are clear.

The hostile repository points every configurable command git might run (fsmonitor,
hooks, pagers, external diff, textconv, clean/smudge/process filters, ssh, editors,
signature verification, credential helpers) at a script that leaves a marker file.
The test first shows that plain git does run it, then that keysentry never does.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from conftest import GIT_ENV, git, make_key
from gitrepo_helpers import commit, hostile_repo, locations, only, run
from keysentry.errors import ExitCode
from keysentry.git import command as gitcmd
from keysentry.models import redact


def test_plain_git_would_run_the_script(tmp_path: Path) -> None:
    """The hostile configuration is real: ordinary git commands do run it."""
    repo, marker, _base, _new = hostile_repo(tmp_path)
    env = {**os.environ, **GIT_ENV}
    for args in (["diff", "HEAD~1"], ["status"], ["log", "-1"], ["diff-files"]):
        marker.unlink(missing_ok=True)
        subprocess.run(
            ["git", *args], cwd=repo, env=env, capture_output=True, check=False, timeout=300
        )
        assert marker.exists(), args


def test_keysentry_runs_nothing_from_the_repository(tmp_path: Path) -> None:
    repo, marker, base, new = hostile_repo(tmp_path)
    marker.unlink(missing_ok=True)
    commands = [
        ["scan", str(repo)],
        ["history", str(repo)],
        ["history", str(repo), "--range", f"{base}..main"],
        ["staged", "--repo", str(repo)],
        ["staged", "--repo", str(repo), "--all-changes"],
    ]
    for args in commands:
        code, report = run(tmp_path, *args)
        assert code == ExitCode.FINDINGS, (args, report)
        assert not marker.exists(), (args, marker.read_text())
    # ... and the results are still right under the hostile settings.
    code, report = run(tmp_path, "history", str(repo))
    found = {loc["path"]: loc for loc in locations(report, new)}
    assert found["app.py"]["exposure"] == "head"
    assert found["staged.py"]["source"] == "staged"  # in the index only, not committed
    assert only(run(tmp_path, "staged", "--repo", str(repo))[1], new)["path"] == "staged.py"


def test_not_a_repository(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    for args in (["history", str(plain)], ["staged", "--repo", str(plain)]):
        code, _ = run(tmp_path, *args)
        assert code == ExitCode.USAGE
        assert f"not a git repository: {plain}" in capsys.readouterr().err
    code, _ = run(tmp_path, "history", str(tmp_path / "missing"))
    assert code == ExitCode.USAGE


def test_corrupt_object(tmp_path: Path, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    commit(repo, {"a.txt": "hello\n", "b.txt": "world\n"})
    blob = git(repo, "rev-parse", "HEAD:a.txt").strip()
    loose = repo / ".git" / "objects" / blob[:2] / blob[2:]
    loose.chmod(0o644)
    loose.write_bytes(b"not zlib at all")
    code, report = run(tmp_path, "history", str(repo))
    assert code == ExitCode.INCOMPLETE
    issue = next(i for i in report["stats"]["issues"] if i["kind"] == "corrupt-object")
    assert issue["path"] == blob and "inflate" in issue["detail"]
    assert "could not be read" in capsys.readouterr().err


def test_corrupt_object_does_not_hide_findings(tmp_path: Path, repo: Path, key: str) -> None:
    commit(repo, {"a.txt": "hello\n", "b.env": f"K={key}\n"})
    blob = git(repo, "rev-parse", "HEAD:a.txt").strip()
    loose = repo / ".git" / "objects" / blob[:2] / blob[2:]
    loose.chmod(0o644)
    loose.write_bytes(b"not zlib at all")
    code, report = run(tmp_path, "history", str(repo))
    assert code == ExitCode.FINDINGS and only(report, key)["path"] == "b.env"


def test_git_missing(
    tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    code, _ = run(tmp_path, "history", str(repo))
    assert code == ExitCode.INCOMPLETE
    assert "git is not installed" in capsys.readouterr().err
    with pytest.raises(Exception, match="git is not installed"):
        gitcmd.git_executable()


@pytest.mark.parametrize("fifo", ["HEAD", "refs/heads/planted", "packed-refs", "config"])
def test_a_fifo_among_the_refs_is_refused_not_waited_on(tmp_path: Path, fifo: str) -> None:
    """git opens HEAD, refs, packed-refs and config as files and waits forever on a FIFO
    there: history and staged refuse such a repository at once (exit 3, naming it), and a
    scan of its files goes on without git statuses."""
    import sys

    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    key = make_key()
    (repo / "a.env").write_text(f"K={key}\n")
    git(repo, "add", "a.env")
    git(repo, "commit", "-q", "-m", "a key")
    target = repo / ".git" / fifo
    if target.exists():
        target.unlink()
    os.mkfifo(target)

    def keysentry(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-I", "-m", "keysentry", *args, "-q"],
            cwd=repo, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    for args in (["history", "."], ["staged"]):
        proc = keysentry(*args)
        assert proc.returncode == 3, (args, proc.stderr)
        assert f"{fifo} is not a regular file" in proc.stderr, proc.stderr
    proc = keysentry("scan", ".", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    assert redact(key) in proc.stdout


def test_a_fifo_gitignore_is_said_not_waited_on(tmp_path: Path) -> None:
    """git reads the ignore rules for the ignored files and waits forever on a FIFO
    .gitignore: the scan says so at once and goes on without git statuses; the fix then
    refuses to ask git whether the env file is ignored (exit 3), and says why. (A FIFO
    deeper in the tree holds git's listing up until its time limit.)"""
    import sys

    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    key = make_key()
    (repo / "a.py").write_text(f'KEY = "{key}"\n')
    os.mkfifo(repo / ".gitignore")

    def keysentry(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-I", "-m", "keysentry", *args],
            cwd=repo, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    proc = keysentry("scan", ".", "--format", "json", "-q")
    assert proc.returncode == 1, proc.stderr
    assert redact(key) in proc.stdout
    assert ".gitignore is a FIFO, which git would wait on reading it" in proc.stdout
    proc = keysentry("fix")
    assert proc.returncode == 3, proc.stderr
    assert f"cannot read {repo / '.gitignore'}: it is a FIFO\n" in proc.stderr
    assert (repo / "a.py").read_text() == f'KEY = "{key}"\n'

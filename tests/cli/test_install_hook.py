"""`keysentry install-hook`: a plain git hook, never clobbering someone else's."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import GIT_ENV, git
from keysentry.cli import main
from keysentry.cli.integrations import HOOK_MARKER, hook_script
from keysentry.errors import ExitCode


def install(capsys, *args: str) -> tuple[int, str]:
    code = main(["install-hook", *args])
    return code, capsys.readouterr().err


def test_installs_an_executable_pre_commit_hook(repo: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(repo)
    code, err = install(capsys)
    hook = repo / ".git" / "hooks" / "pre-commit"
    assert code == 0 and f"installed {hook}" in err
    text = hook.read_text()
    assert text.startswith("#!/bin/sh\n") and HOOK_MARKER in text
    assert 'exec "$KEYSENTRY_PYTHON" -I -m keysentry.hook --staged' in text
    assert "--no-verify" in text
    # the fallback: the interpreter of the keysentry-hook on PATH, isolated too
    assert 'exec "$python" -I -m keysentry.hook --staged' in text
    assert hook.stat().st_mode & stat.S_IXUSR
    # ours: re-installing updates it without --force
    assert install(capsys)[0] == 0


def test_pre_push(repo: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(repo)
    assert install(capsys, "--pre-push")[0] == 0
    text = (repo / ".git" / "hooks" / "pre-push").read_text()
    assert 'ci --pre-push "$1"' in text


def test_refuses_a_foreign_hook_without_force(repo: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(repo)
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text("#!/bin/sh\nexec lint-everything\n")
    code, err = install(capsys)
    assert code == ExitCode.USAGE and "was not written by keysentry" in err and "--force" in err
    assert hook.read_text() == "#!/bin/sh\nexec lint-everything\n"
    code, err = install(capsys, "--force")
    assert code == 0 and HOOK_MARKER in hook.read_text()
    backup = hook.with_name("pre-commit.keysentry-backup")
    assert backup.read_text() == "#!/bin/sh\nexec lint-everything\n" and str(backup) in err


def test_honours_core_hooks_path(repo: Path, monkeypatch, capsys) -> None:
    git(repo, "config", "core.hooksPath", ".githooks")
    (repo / "sub").mkdir()
    monkeypatch.chdir(repo / "sub")
    assert install(capsys)[0] == 0
    assert HOOK_MARKER in (repo / ".githooks" / "pre-commit").read_text()
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()


def test_worktree_uses_the_common_hooks(repo: Path, monkeypatch, capsys, tmp_path) -> None:
    (repo / "f").write_text("x\n")
    git(repo, "add", "f")
    git(repo, "commit", "-q", "-m", "one")
    git(repo, "worktree", "add", "-q", str(tmp_path / "wt"), "-b", "other")
    monkeypatch.chdir(tmp_path / "wt")
    assert install(capsys)[0] == 0
    assert (repo / ".git" / "hooks" / "pre-commit").is_file()


def test_outside_a_repository(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    code, err = install(capsys)
    assert code == ExitCode.USAGE and "not inside a git repository" in err


def test_script_quotes_the_interpreter_path() -> None:
    text = hook_script(False, "/opt/my env/it's/python")
    assert "KEYSENTRY_PYTHON='/opt/my env/it'\"'\"'s/python'" in text


def _commit(repo: Path, message: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "commit", "-q", *args, "-m", message],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
        check=False,
        timeout=300,
    )


def test_the_hook_blocks_a_staged_key(repo: Path, monkeypatch, capsys, key: str) -> None:
    pytest.importorskip("keysentry.sources.staged", reason="needs `keysentry staged`")
    monkeypatch.chdir(repo)
    assert install(capsys)[0] == 0
    (repo / "ok.txt").write_text("fine\n")
    git(repo, "add", "ok.txt")
    assert _commit(repo, "clean").returncode == 0
    (repo / "app.env").write_text(f"OPENROUTER_API_KEY={key}\n")
    git(repo, "add", "app.env")
    proc = _commit(repo, "leak")
    assert proc.returncode != 0
    assert "app.env:1" in proc.stdout + proc.stderr and key not in proc.stdout + proc.stderr
    # an unstaged edit is not what is being committed
    git(repo, "rm", "-q", "--cached", "app.env")
    (repo / "ok.txt").write_text("fine\nmore\n")
    git(repo, "add", "ok.txt")
    (repo / "ok.txt").write_text(f"fine\nmore\n{key}\n")
    assert _commit(repo, "staged part is clean").returncode == 0


def test_the_pre_push_hook_blocks_a_pushed_key(repo: Path, monkeypatch, capsys, key, tmp_path):
    pytest.importorskip("keysentry.sources.history", reason="needs the history source")
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    monkeypatch.chdir(repo)
    assert install(capsys, "--pre-push")[0] == 0
    (repo / "a.txt").write_text("clean\n")
    git(repo, "add", "a.txt")
    git(repo, "commit", "-q", "-m", "clean")

    def push() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "push", "-q", "origin", "main"],
            cwd=repo,
            capture_output=True,
            text=True,
            env={**os.environ, **GIT_ENV},
            check=False,
            timeout=300,
        )

    assert push().returncode == 0
    (repo / "b.txt").write_text(f"token: {key}\n")
    git(repo, "add", "b.txt")
    git(repo, "commit", "-q", "-m", "leak")
    proc = push()
    assert proc.returncode != 0 and "b.txt" in proc.stdout + proc.stderr
    assert git(remote, "rev-parse", "main").strip() != git(repo, "rev-parse", "HEAD").strip()


def test_the_hook_blocks_commit_all(repo: Path, monkeypatch, capsys, key: str) -> None:
    pytest.importorskip("keysentry.sources.staged", reason="needs `keysentry staged`")
    monkeypatch.chdir(repo)
    (repo / "a.txt").write_text("clean\n")
    git(repo, "add", "a.txt")
    git(repo, "commit", "-q", "-m", "clean")
    assert install(capsys)[0] == 0
    (repo / "a.txt").write_text(f"clean\n{key}\n")  # modified, not staged
    proc = _commit(repo, "leak", "-a")
    assert proc.returncode != 0 and "a.txt:2" in proc.stdout + proc.stderr


def test_refuses_a_bare_repository(tmp_path: Path, monkeypatch, capsys) -> None:
    # Nothing is committed or pushed from a bare repository: its hook would never run.
    bare = tmp_path / "server.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    for where in (bare, bare / "hooks"):
        monkeypatch.chdir(where)
        for args in ((), ("--pre-push",)):
            code, err = install(capsys, *args)
            assert code == ExitCode.USAGE and "bare repository" in err, (where, args)
            assert "keysentry ci" in err  # what to run on a server instead
    assert not (bare / "hooks" / "pre-commit").exists()
    assert not (bare / "hooks" / "pre-push").exists()


def test_a_hook_without_keysentry_says_how_to_install_it(repo: Path, tmp_path: Path) -> None:
    hook = tmp_path / "pre-commit"
    hook.write_text(hook_script(False, str(tmp_path / "gone" / "python")))
    hook.chmod(0o755)
    bin_dir = tmp_path / "bin"  # a PATH with git's shell tools but without keysentry
    bin_dir.mkdir()
    for tool in ("sh", "git"):
        (bin_dir / tool).symlink_to(subprocess.check_output(["sh", "-c", f"command -v {tool}"],
                                                            text=True, timeout=300).strip())  # fmt: skip
    proc = subprocess.run(
        [str(hook)], cwd=repo, capture_output=True, text=True, check=False,
        env={**os.environ, "PATH": str(bin_dir)}, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 1 and "nothing was scanned" in proc.stderr
    # The README installs from a clone or the git URL: there is no `keysentry` on PyPI to name.
    assert "pip install keysentry" not in proc.stderr
    assert "git URL" in proc.stderr and "keysentry install-hook" in proc.stderr


def test_the_hook_falls_back_to_keysentry_hook_on_path(repo: Path, key: str, tmp_path) -> None:
    """The interpreter install-hook recorded is gone (a rebuilt virtualenv): the script
    runs keysentry-hook from PATH instead, which scans the index like `keysentry staged`."""
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text(hook_script(False, str(tmp_path / "gone" / "python")))
    hook.chmod(0o755)
    (repo / "app.env").write_text(f"OPENROUTER_API_KEY={key}\n")
    git(repo, "add", "app.env")
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
    proc = subprocess.run(
        ["git", "commit", "-q", "-m", "leak"],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV, "PATH": path},
        check=False,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "app.env:1:20" in out and key not in out
    assert "keysentry staged: scanned 1 input(s)" in out


# -- nothing from the repository runs: the hook's Python is isolated --------------------------

PLANTED = {
    # `python -m keysentry.hook` from the top of the work tree imported this package.
    "package": {
        "keysentry/__init__.py": "",
        "keysentry/hook.py": "{payload}",
        "keysentry/__main__.py": "{payload}",
        "keysentry/cli/__init__.py": "{payload}",
    },
    # `python -m keysentry` (the pre-push hook): a module wins over nothing installed there.
    "module": {"keysentry.py": "{payload}"},
}
PAYLOAD = "open({marker!r}, 'a').write(__name__ + '\\n')\nraise SystemExit(0)\n"


def _plant(repo: Path, kind: str, marker: Path) -> None:
    payload = PAYLOAD.format(marker=str(marker))
    for name, text in PLANTED[kind].items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text.format(payload=payload))
    # also a keysentry-hook and a keysentry "program" for a relative PATH entry to find
    for name in ("keysentry-hook", "keysentry"):
        if (repo / name).exists():
            continue  # the package directory
        (repo / name).write_text(f"#!/bin/sh\necho $0 >> {marker}\nexit 0\n")
        (repo / name).chmod(0o755)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a repository with its own keysentry")


def _git(repo: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True,
        env={**os.environ, **GIT_ENV, **env}, timeout=120, check=False,
    )  # fmt: skip


def _install(repo: Path, *args: str, python: str = sys.executable) -> None:
    """`keysentry install-hook` run as a user runs it, in the repository."""
    proc = subprocess.run(
        [python, "-I", "-m", "keysentry", "install-hook", *args], cwd=repo,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr


# PYTHONPATH=. and a relative PATH entry: what a user's shell may hold, and would make the
# work tree's files the ones found, but for -I and the absolute-path search.
HOSTILE_ENV = {"PYTHONPATH": ".", "PATH": "." + os.pathsep + os.environ["PATH"]}


@pytest.mark.parametrize("kind", sorted(PLANTED))
def test_a_planted_keysentry_never_runs_in_the_pre_commit_hook(
    repo: Path, tmp_path: Path, key: str, kind: str
) -> None:
    marker = tmp_path / "ran"
    _plant(repo, kind, marker)
    _install(repo)
    (repo / "app.env").write_text(f"OPENROUTER_API_KEY={key}\n")
    git(repo, "add", "app.env")
    for env in ({}, HOSTILE_ENV):
        proc = _git(repo, "commit", "-q", "-m", "leak", env=env)
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0 and "app.env:1:20" in out and key not in out, out
        assert not marker.exists(), marker.read_text()
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"


@pytest.mark.parametrize("kind", sorted(PLANTED))
def test_a_planted_keysentry_never_runs_in_the_pre_push_hook(
    repo: Path, tmp_path: Path, key: str, kind: str
) -> None:
    marker = tmp_path / "ran"
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    _plant(repo, kind, marker)
    _install(repo, "--pre-push")
    assert _git(repo, "push", "-q", "origin", "main", env={}).returncode == 0
    (repo / "b.txt").write_text(f"token: {key}\n")
    git(repo, "add", "b.txt")
    git(repo, "commit", "-q", "-m", "leak")
    for env in ({}, HOSTILE_ENV):
        proc = _git(repo, "push", "-q", "origin", "main", env=env)
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0 and "b.txt:1:8" in out and key not in out, out
        assert not marker.exists(), marker.read_text()
    assert git(remote, "rev-parse", "main").strip() != git(repo, "rev-parse", "HEAD").strip()


def test_the_fallback_is_isolated_too(repo: Path, tmp_path: Path, key: str) -> None:
    """The recorded interpreter is gone: the hook takes the interpreter of the
    keysentry-hook found on an absolute PATH entry, runs it isolated, and never the
    keysentry-hook or keysentry/ in the work tree."""
    marker = tmp_path / "ran"
    _plant(repo, "package", marker)
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text(hook_script(False, str(tmp_path / "gone" / "python")))
    hook.chmod(0o755)
    (repo / "app.env").write_text(f"OPENROUTER_API_KEY={key}\n")
    git(repo, "add", "app.env")
    path = os.pathsep.join([".", "", os.path.dirname(sys.executable), os.environ["PATH"]])
    proc = _git(repo, "commit", "-q", "-m", "leak", env={"PATH": path, "PYTHONPATH": "."})
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "app.env:1:20" in out, out
    assert not marker.exists(), marker.read_text()


def test_install_hook_refuses_a_python_that_finds_keysentry_only_when_not_isolated(
    repo: Path,
) -> None:
    """Found only through PYTHONPATH (or the user site-packages), which -I ignores: the hook
    would fail on every commit, so install-hook says so instead of writing it."""
    import sysconfig

    import keysentry

    base = getattr(sys, "_base_executable", sys.executable)
    source = os.path.dirname(os.path.dirname(os.path.realpath(keysentry.__file__)))
    path = os.pathsep.join([source, sysconfig.get_paths()["purelib"]])
    proc = subprocess.run(
        [base, "-m", "keysentry", "install-hook"], cwd=repo, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": path}, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == ExitCode.USAGE, proc.stderr
    assert "runs Python isolated" in proc.stderr and "virtual environment" in proc.stderr
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()

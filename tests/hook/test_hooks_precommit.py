"""The hooks in .pre-commit-hooks.yaml, run by the real pre-commit framework.

Each test builds a user repository and runs ``pre-commit try-repo <snapshot> <hook>``,
where the snapshot is a fresh git repository holding this checkout's files (tracked
and untracked-but-not-ignored), so the hooks under test are the ones in the work
tree, committed or not. try-repo installs the snapshot with pip into a throwaway
environment; pip installs from a wheelhouse built once per session, so only that
build reaches the package index. The last test installs the hooks for real
(``pre-commit install``) and runs ``git commit`` and ``git push``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import conftest
from conftest import GIT_ENV, git, unavailable
from keysentry.models import redact

REPO = conftest.ROOT
HOOK_IDS = ("keysentry", "keysentry-pre-push", "keysentry-fix")
TIMEOUT = 600


def _snapshot(dest: Path) -> str:
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
        timeout=300,
    ).stdout.split(b"\0")
    for raw in filter(None, files):
        rel = os.fsdecode(raw)
        src = REPO / rel
        if not src.is_file() or src.is_symlink():
            continue  # deleted in the work tree, or a link
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / rel)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "snapshot of the work tree")
    return git(dest, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """(snapshot repository, environment for pre-commit) shared by the session."""
    base = tmp_path_factory.mktemp("precommit")
    snapshot = base / "keysentry"
    snapshot.mkdir()
    saved = {k: os.environ.get(k) for k in GIT_ENV}
    os.environ.update(GIT_ENV)  # the session fixture runs before the per-test environment
    try:
        _snapshot(snapshot)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    wheels = base / "wheels"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "-w",
            str(wheels),
            str(snapshot),
            "setuptools>=77",
            "wheel",
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    if proc.returncode != 0:
        unavailable(
            f"cannot build the wheelhouse (package index unreachable?): "
            f"{proc.stderr.strip()[-500:]}"
        )
    env = {
        "PRE_COMMIT_HOME": str(base / "home"),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheels),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PRE_COMMIT_COLOR": "never",
    }
    yield snapshot, env


@pytest.fixture
def user_repo(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("PRE_COMMIT_") or name in ("CI", "GITHUB_ACTIONS", "GITLAB_CI"):
            monkeypatch.delenv(name, raising=False)
    (repo / "README.md").write_text("# project\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "initial")
    return repo


def pre_commit(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=TIMEOUT,
        check=False,
    )


def try_repo(hook_repo, cwd: Path, hook: str, *args: str) -> tuple[int, str]:
    snapshot, env = hook_repo
    proc = pre_commit(cwd, env, "try-repo", str(snapshot), hook, *args)
    return proc.returncode, proc.stdout + proc.stderr


def test_manifest_lists_both_hooks() -> None:
    from pre_commit.clientlib import load_manifest

    hooks = {h["id"]: h for h in load_manifest(str(REPO / ".pre-commit-hooks.yaml"))}
    assert set(HOOK_IDS) <= set(hooks)
    assert hooks["keysentry"]["stages"][0] == "pre-commit"
    # the hook's own entry point: no click, no hyperscan on every commit (tests/hook/test_hook.py)
    assert hooks["keysentry"]["entry"] == "keysentry-hook"
    assert hooks["keysentry-pre-push"]["stages"] == ["pre-push"]
    assert hooks["keysentry-pre-push"]["pass_filenames"] is False
    # file names follow the args: after `--`, a file named `-v` is a file, not an option
    assert all(hook["args"][-1:] == ["--"] for hook in hooks.values())


def test_commit_hook_fails_on_a_staged_key(hook_repo, user_repo: Path, key: str) -> None:
    (user_repo / "app.env").write_text(f"OPENROUTER_API_KEY={key}\n")
    git(user_repo, "add", "app.env")
    code, out = try_repo(hook_repo, user_repo, "keysentry")
    assert code == 1, out
    assert "keysentry (leaked OpenRouter API keys)" in out and "Failed" in out
    assert "openrouter-api-key" in out and "app.env:1:20" in out
    assert redact(key) in out and key not in out
    assert "treat every key found as compromised" in out


def test_fix_hook_rewrites_fails_then_passes(hook_repo, user_repo: Path, key: str) -> None:
    """keysentry-fix behaves as formatters do: it changes the staged files in the work
    tree, leaves them unstaged and fails; once the changes are added, it passes."""
    (user_repo / "app.py").write_text(f'import requests\n\nOPENROUTER_API_KEY = "{key}"\n')
    git(user_repo, "add", "app.py")
    code, out = try_repo(hook_repo, user_repo, "keysentry-fix")
    assert code == 1, out
    assert "files were modified by this hook" in out and key not in out
    assert (
        'OPENROUTER_API_KEY = os.environ["OPENROUTER_API_KEY"]'
        in (user_repo / "app.py").read_text()
    )
    assert (user_repo / ".env").read_text() == f"OPENROUTER_API_KEY={key}\n"
    assert git(user_repo, "diff", "--name-only").split() == ["app.py"]  # left unstaged
    git(user_repo, "add", "app.py", ".gitignore")
    code, out = try_repo(hook_repo, user_repo, "keysentry-fix")
    assert code == 0 and "Passed" in out, out
    code, out = try_repo(hook_repo, user_repo, "keysentry")
    assert code == 0 and "Passed" in out, out


def test_commit_hook_passes_a_clean_change_and_ignores_unstaged_keys(
    hook_repo, user_repo: Path, key: str
) -> None:
    (user_repo / "README.md").write_text("# project\n\nclean line\n")
    git(user_repo, "add", "README.md")
    # the same file gets a key after staging, and an untracked file holds one: neither
    # is part of the commit
    (user_repo / "README.md").write_text(f"# project\n\nclean line\n{key}\n")
    (user_repo / "scratch.env").write_text(f"KEY={key}\n")
    code, out = try_repo(hook_repo, user_repo, "keysentry")
    assert code == 0, out
    assert "Passed" in out
    assert key in (user_repo / "README.md").read_text()  # the unstaged edit is restored


def test_commit_hook_reads_the_repository_config(hook_repo, user_repo: Path, key: str) -> None:
    (user_repo / "app.env").write_text(f"OPENROUTER_API_KEY={key}  # vetted-by-security\n")
    git(user_repo, "add", "app.env")
    code, out = try_repo(hook_repo, user_repo, "keysentry")
    assert code == 1 and key not in out, out
    (user_repo / ".keysentry.toml").write_text('allow_markers = ["vetted-by-security"]\n')
    git(user_repo, "add", ".keysentry.toml")
    code, out = try_repo(hook_repo, user_repo, "keysentry")
    assert code == 0 and "Passed" in out, out
    (user_repo / ".keysentry.toml").write_text("allow_markers = [\n")
    git(user_repo, "add", ".keysentry.toml")
    code, out = try_repo(hook_repo, user_repo, "keysentry")
    assert code == 1 and "exit code: 2" in out, out  # pre-commit's own code is 1
    assert "not valid TOML" in out and "Traceback" not in out, out


def test_commit_hook_all_files_scans_every_tracked_file(hook_repo, user_repo: Path, key) -> None:
    (user_repo / "old.py").write_text(f'KEY = "{key}"\n')
    git(user_repo, "add", "old.py")
    git(user_repo, "commit", "-q", "-m", "committed before the hook existed")
    code, out = try_repo(hook_repo, user_repo, "keysentry", "--all-files")
    assert code == 1 and "old.py:1:8" in out, out


def test_pre_push_hook_scans_the_pushed_commits(hook_repo, user_repo: Path, key: str) -> None:
    base = git(user_repo, "rev-parse", "HEAD").strip()
    (user_repo / "notes.txt").write_text("nothing secret\n")
    git(user_repo, "add", "notes.txt")
    git(user_repo, "commit", "-q", "-m", "clean")
    clean = git(user_repo, "rev-parse", "HEAD").strip()
    (user_repo / "deploy.sh").write_text(f"curl -H 'Authorization: Bearer {key}' x\n")
    git(user_repo, "add", "deploy.sh")
    git(user_repo, "commit", "-q", "-m", "leak")
    leak = git(user_repo, "rev-parse", "HEAD").strip()
    stage = ("--hook-stage", "pre-push")
    code, out = try_repo(
        hook_repo, user_repo, "keysentry-pre-push", *stage, "--from-ref", base, "--to-ref", leak
    )
    assert code == 1, out
    assert "deploy.sh:1:" in out and key not in out
    assert f"commit range chosen: pre-commit: {base[:12]}..{leak[:12]}" in out
    code, out = try_repo(
        hook_repo, user_repo, "keysentry-pre-push", *stage, "--from-ref", base, "--to-ref", clean
    )
    assert code == 0 and "Passed" in out, out


def test_installed_hooks_on_real_commit_and_push(hook_repo, user_repo: Path, key, tmp_path):
    """pre-commit install: git itself runs the hooks; pre-commit derives the pushed range."""
    snapshot, env = hook_repo
    rev = git(snapshot, "rev-parse", "HEAD").strip()
    (user_repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {snapshot}\n  rev: {rev}\n  hooks:\n"
        "  - id: keysentry\n  - id: keysentry-pre-push\n"
    )
    git(user_repo, "add", ".pre-commit-config.yaml")
    git(user_repo, "commit", "-q", "-m", "pre-commit config")
    installed = pre_commit(user_repo, env, "install", "-t", "pre-commit", "-t", "pre-push")
    assert installed.returncode == 0, installed.stderr
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(user_repo, "remote", "add", "origin", str(remote))
    full_env = {**os.environ, **GIT_ENV, **env}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *args],
            cwd=user_repo,
            capture_output=True,
            text=True,
            env=full_env,
            timeout=TIMEOUT,
            check=False,
        )

    assert run("push", "-q", "origin", "main").returncode == 0  # a new history, no key
    # git commit -a commits through a temporary index: the framework passes the file
    (user_repo / "README.md").write_text(f"# project\ntoken {key}\n")
    blocked = run("commit", "-q", "-a", "-m", "leak via -a")
    assert blocked.returncode != 0 and "README.md:2:7" in blocked.stdout + blocked.stderr
    run("checkout", "--", "README.md")
    (user_repo / "cfg.yaml").write_text(f"api_key: {key}\n")
    run("add", "cfg.yaml")
    blocked = run("commit", "-q", "-m", "leak")
    assert blocked.returncode != 0 and "cfg.yaml:1:10" in blocked.stdout + blocked.stderr
    # --no-verify bypasses the commit hook; the pre-push hook still stops the key
    assert run("commit", "-q", "--no-verify", "-m", "leak").returncode == 0
    run("switch", "-q", "-c", "topic")
    pushed = run("push", "-q", "origin", "topic")  # a new branch: commits not on the remote
    assert pushed.returncode != 0, pushed.stdout + pushed.stderr
    assert "cfg.yaml" in pushed.stdout + pushed.stderr
    assert "topic" not in git(remote, "branch")


DASH_NAMES = ("-", "-v", "--quiet", "--")


def test_files_named_like_options_are_scanned_on_a_real_commit(
    hook_repo, user_repo: Path, keys, tmp_path: Path
) -> None:
    """The framework appends the staged files' names to the hook's args: files named `-`,
    `-v`, `--quiet` and `--` were read as standard input or options and never scanned.
    The manifest's args end with `--`; a user's own args without it are refused (exit 2),
    not guessed."""
    snapshot, env = hook_repo
    rev = git(snapshot, "rev-parse", "HEAD").strip()

    def configure(args: str) -> None:
        (user_repo / ".pre-commit-config.yaml").write_text(
            f"repos:\n- repo: {snapshot}\n  rev: {rev}\n  hooks:\n  - id: keysentry\n{args}"
        )
        git(user_repo, "add", ".pre-commit-config.yaml")
        # this file alone: the files with odd names stay staged for the next commit
        git(
            user_repo,
            "commit",
            "-q",
            "--no-verify",
            "-m",
            "config",
            "--",
            ".pre-commit-config.yaml",
        )

    configure("")
    installed = pre_commit(user_repo, env, "install", "-t", "pre-commit")
    assert installed.returncode == 0, installed.stderr

    def commit() -> tuple[int, str]:
        proc = subprocess.run(
            ["git", "commit", "-q", "-m", "files with odd names"], cwd=user_repo,
            capture_output=True, text=True, env={**os.environ, **GIT_ENV, **env},
            timeout=TIMEOUT, check=False,
        )  # fmt: skip
        return proc.returncode, proc.stdout + proc.stderr

    secrets = dict(zip(DASH_NAMES, keys(len(DASH_NAMES)), strict=True))
    for name, key in secrets.items():
        (user_repo / name).write_text(f"OPENROUTER_API_KEY={key}\n")
    git(user_repo, "add", "--", *DASH_NAMES)
    code, out = commit()
    assert code != 0, out
    for name, key in secrets.items():
        shown = "./-" if name == "-" else name
        assert f"{shown}:1:20" in out, (name, out)
        assert redact(key) in out and key not in out
    assert "1 file(s)" not in out
    # A user's args replace the manifest's `--`: refused, never a skipped file.
    configure("    args: [--format, text]\n")
    code, out = commit()
    assert code != 0 and "is both an option and a file" in out, out
    # Clean content under the same names goes through.
    for name in DASH_NAMES:
        (user_repo / name).write_text("nothing secret\n")
    git(user_repo, "add", "--", *DASH_NAMES)
    configure("")
    code, out = commit()
    assert code == 0, out

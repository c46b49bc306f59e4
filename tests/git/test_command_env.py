"""What keysentry.git.command sets in git's environment, and which git it runs.

tests/git/test_command_hardening.py shows each ``-c`` setting and each dropped variable
defending on its own. Here: each variable ``git_env`` sets, against an environment (the
user's, a CI runner's) that names a program or changes what git prints, on a real
repository; and ``find_git``'s choice of program on a hostile PATH. Each case first shows
the threat is real (git without the entry does what the environment asks), then that
``git_env()`` prevents it, with the hostile variable set where keysentry runs.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import shutil
import subprocess
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import conftest
from conftest import GIT_ENV, git
from gitrepo_helpers import commit, marker_script
from keysentry.errors import GitError
from keysentry.git import command as gitcmd

GIT = shutil.which("git") or "git"


@dataclass
class Scene:
    repo: Path
    evil: Path
    marker: Path
    tmp: Path
    oids: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def scene(tmp_path: Path) -> Scene:
    marker = tmp_path / "marker"
    evil = marker_script(tmp_path / "evil.sh", marker)
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, {"a.txt": "first\n"}, "first subject")
    commit(repo, {"a.txt": "second\n"}, "second subject")
    return Scene(repo, evil, marker, tmp_path)


def _plain_env(scene: Scene) -> dict[str, str]:
    """The environment without anything git reads, isolated from the machine's config."""
    drop = {"PAGER", "EDITOR", "VISUAL", "SSH_ASKPASS", "LESS", "LV", "LANG", "LC_ALL"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") and k not in drop}
    env.update(GIT_ENV, TERM="dumb", HOME=str(scene.tmp))
    return env


def _controlling_terminal() -> None:
    """In the child: a session of its own whose terminal is its standard input (git's
    prompts open /dev/tty)."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _on_a_terminal(
    argv: list[str], cwd: Path, env: dict[str, str], wait_for: bytes, typed: bytes
) -> bytes:
    """Run ``argv`` with a terminal as its input and output, ``typed`` typed into it; what
    it wrote, up to ``wait_for`` or its exit (a prompt waiting for an answer is killed,
    within 30 s)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        argv, cwd=cwd, env={**env, "TERM": "xterm"}, stdin=follower, stdout=follower,
        stderr=follower, preexec_fn=_controlling_terminal,
    )  # fmt: skip
    os.close(follower)
    if typed:
        os.write(leader, typed)
    out = b""
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline and wait_for not in out:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the terminal closed: the program ended
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        os.close(leader)
    return out


def _locale(tmp: Path) -> Path:
    """A German locale compiled into ``tmp`` (LOCPATH): git's messages then come in
    German, as on a developer's machine with LC_ALL set."""
    ok = (
        shutil.which("localedef")
        and Path("/usr/share/i18n/locales/de_DE").exists()
        and Path("/usr/share/locale/de/LC_MESSAGES/git.mo").exists()
    )
    if not ok:
        conftest.unavailable(
            "the locale case needs localedef, Debian's locale sources and git's German "
            "messages: `apt-get install -y locales git`"
        )
    out = tmp / "locales"
    out.mkdir()
    subprocess.run(
        ["localedef", "-i", "de_DE", "-f", "UTF-8", str(out / "de_DE.UTF-8")],
        check=False, capture_output=True, timeout=120,
    )  # fmt: skip
    assert (out / "de_DE.UTF-8").exists()
    return out


def _replace_head(scene: Scene) -> None:
    head = git(scene.repo, "rev-parse", "HEAD").strip()
    git(scene.repo, "replace", head, git(scene.repo, "rev-parse", "HEAD~1").strip())


def _stale_index(scene: Scene) -> None:
    """A tracked file whose stat data no longer matches the index: a status refreshes the
    index and writes it back, unless optional locks are off."""
    path = scene.repo / "a.txt"
    later = time.time() + 100
    os.utime(path, (later, later))


def _index_stamp(scene: Scene) -> bytes:
    return (scene.repo / ".git" / "index").read_bytes()


def _partial_clone(scene: Scene) -> None:
    """A clone without blobs whose promisor remote runs a program when asked for one."""
    git(scene.repo, "config", "uploadpack.allowFilter", "true")
    clone = scene.tmp / "clone"
    subprocess.run(
        [GIT, "clone", "-q", "--no-checkout", "--filter=blob:none",
         f"file://{scene.repo}", str(clone)],
        env=_plain_env(scene), check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    blob = git(scene.repo, "rev-parse", "HEAD:a.txt").strip()
    scene.oids["blob"] = blob
    git(clone, "config", "remote.origin.uploadpack", str(scene.evil))


@dataclass(frozen=True)
class Case:
    """A variable ``git_env`` sets: what a hostile environment holds instead, the git
    command that meets it, where (``clone``: the partial clone), and how to tell that the
    environment had its way."""

    planted: dict[str, str]
    args: tuple[str, ...]
    worked: Callable[[Scene, bytes], bool]
    prepare: Callable[[Scene], None] | None = None
    terminal: bytes = b""
    """Run on a terminal, reading its output up to this."""
    where: str = "repo"
    before: Callable[[Scene], bytes] | None = None
    stdin: bytes = b""


_CREDENTIAL = b"protocol=https\nhost=example.invalid\n\n"


def _ran(scene: Scene, _out: bytes) -> bool:
    return scene.marker.exists()


# Keyed by the variable; each entry of git_env's list has its case here or its reason in
# EQUIVALENT_SETTINGS below (test_every_variable_git_env_sets_is_accounted_for).
SET_CASES: dict[str, Case] = {
    "LC_ALL": Case(
        {"LC_ALL": "de_DE.UTF-8"},
        ("status",),
        lambda _s, out: b"Auf Branch" in out,
    ),
    "GIT_PAGER": Case(
        {"GIT_PAGER": "{evil}"},
        ("log", "-1", "--format=%s"),
        # The log reaches the terminal through `cat`, or not at all.
        lambda scene, out: scene.marker.exists() or b"second subject" not in out,
        terminal=b"second subject",
    ),
    "GIT_TERMINAL_PROMPT": Case(
        {},
        ("credential", "fill"),
        # The prompt on a line of its own (git's refusal names it too, mid-line).
        lambda _s, out: b"\nUsername for" in out,
        terminal=b"\nUsername for",
        stdin=_CREDENTIAL,
    ),
    "GIT_OPTIONAL_LOCKS": Case(
        {},
        ("status", "--porcelain"),
        lambda scene, _out: False,  # decided by comparing the index before and after
        prepare=_stale_index,
        before=_index_stamp,
    ),
    "GIT_NO_LAZY_FETCH": Case(
        {},
        ("cat-file", "-p", "{blob}"),
        _ran,
        prepare=_partial_clone,
        where="clone",
    ),
    "GIT_ASKPASS": Case({"GIT_ASKPASS": "{evil}"}, ("credential", "fill"), _ran, stdin=_CREDENTIAL),
    "GIT_SSH_COMMAND": Case(
        {"GIT_SSH_COMMAND": "{evil}"}, ("ls-remote", "ssh://git@example.invalid/x.git"), _ran
    ),
    "GIT_NO_REPLACE_OBJECTS": Case(
        {},
        ("log", "-1", "--format=%s"),
        lambda _s, out: b"second subject" not in out,
        prepare=_replace_head,
    ),
}

EQUIVALENT_SETTINGS = {
    "LANG": "LC_ALL=C overrides LANG in every category",
    "PAGER": "git reads PAGER only when GIT_PAGER is unset, and git_env sets it",
    "SSH_ASKPASS": "git asks GIT_ASKPASS first, which git_env sets; ssh never runs "
    "(GIT_SSH_COMMAND=false)",
}


def test_every_variable_git_env_sets_is_accounted_for(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        monkeypatch.delenv(name)
    assert set(gitcmd.git_env()) == SET_CASES.keys() | EQUIVALENT_SETTINGS.keys()


def _run(scene: Scene, case: Case, env: dict[str, str]) -> tuple[bytes, bool]:
    scene.marker.unlink(missing_ok=True)
    cwd = scene.tmp / "clone" if case.where == "clone" else scene.repo
    args = [a.format(**scene.oids) for a in case.args]
    before = case.before(scene) if case.before else None
    if case.terminal:
        out = _on_a_terminal([GIT, *args], cwd, env, case.terminal, case.stdin)
    else:
        proc = subprocess.run(
            [GIT, *args], cwd=cwd, env=env, input=case.stdin, capture_output=True,
            timeout=60, check=False,
        )  # fmt: skip
        out = proc.stdout + proc.stderr
    worked = case.worked(scene, out)
    if case.before is not None:
        worked = worked or case.before(scene) != before
    return out, worked


@pytest.mark.parametrize("name", list(SET_CASES))
def test_each_variable_git_env_sets_defends(
    scene: Scene, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = SET_CASES[name]
    if case.prepare is not None:
        case.prepare(scene)
    planted = {k: v.format(evil=scene.evil) for k, v in case.planted.items()}
    plain = _plain_env(scene)
    if name == "LC_ALL":
        plain["LOCPATH"] = str(_locale(scene.tmp))
    # The threat is real: git in that environment does what it asks.
    out, worked = _run(scene, case, {**plain, **planted})
    assert worked, out.decode(errors="replace")
    if case.prepare is _stale_index:
        _stale_index(scene)  # the status above refreshed it
    # keysentry's environment for git, built where the variable is set, prevents it.
    for key in list(os.environ):
        if key.startswith("GIT_") or key in ("PAGER", "LANG", "LC_ALL", "SSH_ASKPASS"):
            monkeypatch.delenv(key)
    for key, value in {**plain, **planted}.items():
        monkeypatch.setenv(key, value)
    out, worked = _run(scene, case, gitcmd.git_env())
    assert not worked, out.decode(errors="replace")
    assert not scene.marker.exists()


# -- which git ----------------------------------------------------------------------------


def test_a_relative_path_entry_is_skipped_not_the_end_of_the_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative entry would resolve against the scanned repository (git runs there);
    it is passed over, and the search goes on to the absolute entries after it."""
    planted = tmp_path / "git"
    marker_script(planted, tmp_path / "marker")
    monkeypatch.chdir(tmp_path)
    real = os.path.dirname(GIT)
    monkeypatch.setenv("PATH", os.pathsep.join([".", "", real]))
    assert gitcmd.find_git() == os.path.join(real, "git")


@pytest.mark.parametrize("shape", ["directory", "not executable"])
def test_a_git_that_is_no_program_is_passed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    first = tmp_path / "first"
    first.mkdir()
    if shape == "directory":
        (first / "git").mkdir()
    else:
        (first / "git").write_text("#!/bin/sh\nexit 1\n")
        (first / "git").chmod(0o644)
    real = os.path.dirname(GIT)
    monkeypatch.setenv("PATH", os.pathsep.join([str(first), real]))
    assert gitcmd.find_git() == os.path.join(real, "git")


def test_no_git_is_said_in_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GitError) as caught:
        gitcmd.git_executable()
    assert str(caught.value) == (
        "git is not installed or not on PATH; install git to scan repositories"
    )

"""Every entry of the hardened git command line (keysentry.git.command) is load-bearing.

For each ``-c`` setting of HARDENING and each variable git_env drops, a real repository
set up the way a hostile one would be shows what git does without the entry: it runs a
program the repository (or the environment) names, changes the repository it reads, or
prints output of another shape than keysentry parses. Each case shows three things:
plain git does it (the threat is real), git with that one entry does not (the entry alone
defends against it), and git with the whole list does not. Defences overlap on purpose
(``--no-pager`` and GIT_PAGER=cat beside core.pager, protocol.allow=never beside
core.sshCommand), so a case tests its entry on its own: removing one entry from the list
fails its case even where another entry would still cover the hole.
"""

from __future__ import annotations

import hashlib
import os
import pty
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import GIT_ENV, git
from gitrepo_helpers import HOOKS, commit, marker_script, raw_commit
from keysentry.git import command as gitcmd

GIT = shutil.which("git") or "git"


@dataclass
class Scene:
    """A repository, a script that leaves a marker when run, and what cases refer to."""

    repo: Path
    evil: Path
    marker: Path
    hooks: Path
    other: Path
    """Another repository (for variables that point git at one)."""
    root: str
    oids: dict[str, str] = field(default_factory=dict)

    def ran(self) -> bool:
        return self.marker.exists()


@pytest.fixture
def scene(tmp_path: Path) -> Scene:
    marker = tmp_path / "marker"
    evil = marker_script(tmp_path / "evil.sh", marker)
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for name in HOOKS:
        marker_script(hooks / name, marker)
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q", "-b", "main")
    commit(other, {"other.txt": "another repository\n"}, "other")
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    root = commit(repo, {"top.txt": "top\n", "sub/a.txt": "a\n", "caf\u00e9.txt": "x\n"}, "root")
    commit(repo, {"top.txt": "top 2\n", "sub/a.txt": "a 2\n"}, "second")
    return Scene(repo, evil, marker, hooks, other, root)


def _signed(scene: Scene, kind: str, begin: str, end: str) -> None:
    header = f"gpgsig {begin}\n abcd\n {end}\n"
    scene.oids[kind] = raw_commit(scene.repo, header, f"signed ({kind})\n")


def _loose_objects_in_17(scene: Scene) -> None:
    """Two loose blobs in objects/17, the directory git samples to decide an automatic gc."""
    found = 0
    n = 0
    while found < 2:
        n += 1
        data = f"filler {n}\n".encode()
        if hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest().startswith("17"):
            git(scene.repo, "hash-object", "-w", "--stdin", input=data)
            found += 1


def _submodule(scene: Scene) -> None:
    git(scene.other, "config", "uploadpack.allowAnySHA1InWant", "true")
    commit(scene.other, {"notes.txt": "needle-word\n"}, "notes")
    git(scene.repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q",
        str(scene.other), "vendored")  # fmt: skip
    git(scene.repo, "commit", "-q", "-m", "submodule")
    origin = scene.repo.parent / "origin"
    git(scene.repo.parent, "clone", "-q", "--bare", str(scene.repo), str(origin))
    git(scene.repo, "remote", "add", "origin", str(origin))
    commit(scene.other, {"more.txt": "more\n"}, "more")
    git(scene.repo / "vendored", "pull", "-q", "--ff-only")
    git(scene.repo, "commit", "-q", "-am", "bump")
    git(origin, "fetch", "-q", str(scene.repo), "main:main")
    git(scene.repo, "reset", "-q", "--hard", "HEAD~1")
    git(scene.repo / "vendored", "reset", "-q", "--hard", "HEAD~1")


@dataclass(frozen=True)
class Threat:
    """What the repository sets up (``{evil}``, ``{hooks}``, ``{other}`` filled in), the
    git command that meets it, and how to tell it worked."""

    config: dict[str, str]
    args: tuple[str, ...]
    worked: Callable[[Scene, subprocess.CompletedProcess[bytes]], bool] = lambda scene, _proc: (
        scene.ran()
    )
    prepare: Callable[[Scene], None] | None = None
    tty: bool = False
    stdin: bytes = b""
    cwd: str = ""


_CREDENTIAL = b"protocol=https\nhost=example.invalid\n\n"


def _index_has(extension: bytes) -> Callable[[Scene, subprocess.CompletedProcess[bytes]], bool]:
    return lambda scene, _proc: extension in (scene.repo / ".git" / "index").read_bytes()


# Keyed by the setting HARDENING overrides: every entry has its case, and each case its
# entry (test_every_entry_has_a_case).
HARDENING_CASES: dict[str, Threat] = {
    "core.fsmonitor": Threat({"core.fsmonitor": "{evil}"}, ("status", "--porcelain")),
    "core.hooksPath": Threat(
        {"core.hooksPath": "{hooks}"}, ("update-ref", "refs/heads/moved", "HEAD")
    ),
    "core.pager": Threat({"core.pager": "{evil}"}, ("log", "-1"), tty=True),
    "core.sshCommand": Threat(
        {"core.sshCommand": "{evil}", "remote.origin.url": "ssh://git@example.invalid/x.git"},
        ("ls-remote", "origin"),
    ),
    "core.askPass": Threat({"core.askPass": "{evil}"}, ("credential", "fill"), stdin=_CREDENTIAL),
    "core.editor": Threat({"core.editor": "{evil}"}, ("commit", "-q", "--allow-empty")),
    "sequence.editor": Threat(
        {"sequence.editor": "{evil}", "core.editor": "true"}, ("rebase", "-q", "-i", "HEAD~1")
    ),
    "credential.helper": Threat(
        {"credential.helper": "!{evil}"}, ("credential", "fill"), stdin=_CREDENTIAL
    ),
    "diff.external": Threat({"diff.external": "{evil}"}, ("diff", "HEAD~1")),
    "diff.relative": Threat(
        {"diff.relative": "true"},
        ("diff", "--name-only", "HEAD~1"),
        worked=lambda _s, proc: b"top.txt" not in proc.stdout,
        cwd="sub",
    ),
    "protocol.allow": Threat(
        {"remote.origin.url": "{other}", "remote.origin.uploadpack": "{evil}"},
        ("ls-remote", "origin"),
    ),
    "fetch.recurseSubmodules": Threat(
        {"fetch.recurseSubmodules": "true", "protocol.file.allow": "always"},
        ("fetch", "origin"),
        worked=lambda _s, proc: b"Fetching submodule" in proc.stdout + proc.stderr,
        prepare=_submodule,
    ),
    "submodule.recurse": Threat(
        {"submodule.recurse": "true"},
        ("grep", "-e", "needle-word"),
        worked=lambda _s, proc: b"vendored/" in proc.stdout,
        prepare=_submodule,
    ),
    "core.untrackedCache": Threat(
        {"core.untrackedCache": "true"}, ("status", "--porcelain"), worked=_index_has(b"UNTR")
    ),
    "gc.auto": Threat(
        {"gc.auto": "1", "gc.autoDetach": "false"},
        ("commit", "-q", "--allow-empty", "-m", "more"),
        worked=lambda scene, _proc: any((scene.repo / ".git" / "objects" / "pack").glob("*.pack")),
        prepare=_loose_objects_in_17,
    ),
    "maintenance.auto": Threat(
        {"maintenance.commit-graph.enabled": "true", "maintenance.commit-graph.auto": "1"},
        ("commit", "-q", "--allow-empty", "-m", "more"),
        worked=lambda scene, _proc: any(
            (scene.repo / ".git" / "objects" / "info").glob("commit-graph*")
        ),
    ),
    "log.showSignature": Threat(
        {"log.showSignature": "true", "gpg.program": "{evil}"},
        ("log", "-1", "--format=%s", "{pgp}"),
        prepare=lambda s: _signed(
            s, "pgp", "-----BEGIN PGP SIGNATURE-----", "-----END PGP SIGNATURE-----"
        ),
    ),
    "gpg.program": Threat(
        {"gpg.program": "{evil}"},
        ("log", "-1", "--format=%G?", "{pgp}"),
        prepare=lambda s: _signed(
            s, "pgp", "-----BEGIN PGP SIGNATURE-----", "-----END PGP SIGNATURE-----"
        ),
    ),
    "gpg.ssh.program": Threat(
        {"gpg.ssh.program": "{evil}", "gpg.ssh.allowedSignersFile": "{evil}"},
        ("log", "-1", "--format=%G?", "{ssh}"),
        prepare=lambda s: _signed(
            s, "ssh", "-----BEGIN SSH SIGNATURE-----", "-----END SSH SIGNATURE-----"
        ),
    ),
    "gpg.x509.program": Threat(
        {"gpg.x509.program": "{evil}"},
        ("log", "-1", "--format=%G?", "{x509}"),
        prepare=lambda s: _signed(
            s, "x509", "-----BEGIN SIGNED MESSAGE-----", "-----END SIGNED MESSAGE-----"
        ),
    ),
    "diff.renames": Threat(
        {"diff.renames": "copies"},
        ("diff", "--name-status", "HEAD~1"),
        worked=lambda _s, proc: proc.stdout.startswith((b"R", b"C")),
        prepare=lambda s: commit(s.repo, {"top.txt": None, "moved.txt": "top 2\n"}, "move"),
    ),
    "log.showRoot": Threat(
        {"log.showRoot": "false"},
        ("log", "--format=%H", "--name-only", "{root}"),
        worked=lambda _s, proc: b"top.txt" not in proc.stdout,
    ),
    "color.ui": Threat(
        {"color.ui": "always"}, ("diff", "HEAD~1"), worked=lambda _s, proc: b"\x1b[" in proc.stdout
    ),
    "core.quotePath": Threat(
        {"core.quotePath": "true"},
        ("ls-files",),
        worked=lambda _s, proc: "caf\u00e9.txt".encode() not in proc.stdout,
    ),
}


def _plain_env(scene: Scene) -> dict[str, str]:
    """The user's environment without anything git would read from it (the other defence
    layer, tested on its own below), isolated from the machine's git configuration."""
    drop = {"PAGER", "EDITOR", "VISUAL", "SSH_ASKPASS", "LESS", "LV"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") and k not in drop}
    env.update(GIT_ENV, LANG="C", LC_ALL="C", TERM="dumb", HOME=str(scene.repo.parent))
    return env


def _run(
    scene: Scene, argv: list[str], threat: Threat, env: dict[str, str]
) -> subprocess.CompletedProcess[bytes]:
    args = [a.format(root=scene.root, **scene.oids) for a in threat.args]
    cwd = scene.repo / threat.cwd
    if not threat.tty:
        return subprocess.run(
            [*argv, *args], cwd=cwd, env=env, input=threat.stdin, capture_output=True,
            timeout=60, check=False,
        )  # fmt: skip
    # A pager runs only when standard output is a terminal.
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [*argv, *args], cwd=cwd, env={**env, "TERM": "xterm"}, stdin=subprocess.DEVNULL,
            stdout=follower, stderr=subprocess.PIPE, timeout=60, check=False,
        )  # fmt: skip
    finally:
        os.close(follower)
        os.close(leader)
    return proc


def _setting(key: str) -> str:
    pairs = [v for v in gitcmd.HARDENING[1::2] if v.split("=", 1)[0] == key]
    assert pairs, f"{key} is no longer set by HARDENING"
    return pairs[0]


def test_every_entry_has_a_case() -> None:
    flags, settings = gitcmd.HARDENING[0::2], gitcmd.HARDENING[1::2]
    assert set(flags) == {"-c"}
    assert [s.split("=", 1)[0] for s in settings] == list(HARDENING_CASES)


@pytest.mark.parametrize("key", list(HARDENING_CASES))
def test_each_hardening_entry_defends_on_its_own(scene: Scene, key: str) -> None:
    threat = HARDENING_CASES[key]
    if threat.prepare is not None:
        threat.prepare(scene)
    for name, value in threat.config.items():
        filled = value.format(evil=scene.evil, hooks=scene.hooks, other=scene.other)
        git(scene.repo, "config", name, filled)
    env = _plain_env(scene)
    entry = _setting(key)
    for argv in ([GIT, *gitcmd.HARDENING], [GIT, "-c", entry]):
        proc = _run(scene, argv, threat, env)
        assert not threat.worked(scene, proc), (argv[1:3], proc.stderr.decode(errors="replace"))
        assert not scene.ran(), scene.marker.read_text()
    # ... and the threat is real: without it, git does what the repository asks.
    proc = _run(scene, [GIT], threat, env)
    assert threat.worked(scene, proc), proc.stderr.decode(errors="replace")


@dataclass(frozen=True)
class Planted:
    """A variable an environment may hold, the git command that meets it, and its effect
    (a program it names ran, or the command's output or exit status changed)."""

    value: str
    args: tuple[str, ...]
    extra: dict[str, str] = field(default_factory=dict)
    prepare: Callable[[Scene], None] | None = None


def _replace_head(scene: Scene) -> None:
    head = git(scene.repo, "rev-parse", "HEAD").strip()
    git(
        scene.repo,
        "update-ref",
        f"refs/evil/{head}",
        git(scene.repo, "rev-parse", "HEAD~1").strip(),
    )


def _shallow_file(scene: Scene) -> None:
    (scene.repo.parent / "shallow").write_text(git(scene.repo, "rev-parse", "HEAD").strip() + "\n")


def _exec_path(scene: Scene) -> None:
    exec_dir = scene.repo.parent / "exec"
    exec_dir.mkdir()
    marker_script(exec_dir / "git", scene.marker)


DROP_CASES: dict[str, Planted] = {
    "GIT_DIR": Planted("{other}/.git", ("log", "-1", "--format=%s")),
    "GIT_WORK_TREE": Planted("{other}", ("status", "--porcelain")),
    "GIT_INDEX_FILE": Planted("{tmp}/no-index", ("ls-files",)),
    "GIT_OBJECT_DIRECTORY": Planted("{other}/.git/objects", ("log", "-1", "--format=%s")),
    "GIT_ALTERNATE_OBJECT_DIRECTORIES": Planted(
        "{other}/.git/objects", ("cat-file", "-t", "{other_head}")
    ),
    "GIT_COMMON_DIR": Planted("{other}/.git", ("log", "-1", "--format=%s")),
    "GIT_NAMESPACE": Planted("elsewhere", ("ls-remote", ".")),
    "GIT_EXTERNAL_DIFF": Planted("{evil}", ("diff", "HEAD~1")),
    "GIT_SSH": Planted("{evil}", ("ls-remote", "ssh://git@example.invalid/x.git")),
    "GIT_EDITOR": Planted("{evil}", ("var", "GIT_EDITOR")),
    "GIT_SEQUENCE_EDITOR": Planted(
        "{evil}", ("-c", "core.editor=true", "rebase", "-q", "-i", "HEAD~1")
    ),
    "GIT_CONFIG_PARAMETERS": Planted("'core.fsmonitor'='{evil}'", ("status", "--porcelain")),
    "GIT_CONFIG_COUNT": Planted(
        "1",
        ("status", "--porcelain"),
        extra={"GIT_CONFIG_KEY_0": "core.fsmonitor", "GIT_CONFIG_VALUE_0": "{evil}"},
    ),
    "GIT_EXEC_PATH": Planted("{tmp}/exec", ("gc", "-q"), prepare=_exec_path),
    "GIT_TRACE": Planted("{tmp}/trace", ("status", "--porcelain")),
    "GIT_SHALLOW_FILE": Planted("{tmp}/shallow", ("log", "--format=%s"), prepare=_shallow_file),
    "GIT_REPLACE_REF_BASE": Planted(
        "refs/evil/", ("log", "-1", "--format=%s"), prepare=_replace_head
    ),
    "GIT_QUARANTINE_PATH": Planted("{tmp}", ("update-ref", "refs/heads/moved", "HEAD")),
}


def test_every_dropped_variable_has_a_case() -> None:
    assert list(gitcmd._DROP_ENV) == list(DROP_CASES)


@pytest.mark.parametrize("name", list(DROP_CASES))
def test_each_dropped_variable_is_not_passed_to_git(
    scene: Scene, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = DROP_CASES[name]
    if planted.prepare is not None:
        planted.prepare(scene)
    other_head = git(scene.other, "rev-parse", "HEAD").strip()

    def fill(value: str) -> str:
        return value.format(evil=scene.evil, other=scene.other, tmp=scene.repo.parent)

    hostile = {name: fill(planted.value), **{k: fill(v) for k, v in planted.extra.items()}}
    args = [a.format(other_head=other_head) for a in planted.args]
    plain = _plain_env(scene)

    def run(env: dict[str, str]) -> tuple[int, bytes, bool]:
        scene.marker.unlink(missing_ok=True)
        trace = scene.repo.parent / "trace"
        trace.unlink(missing_ok=True)
        proc = subprocess.run(
            [GIT, *args], cwd=scene.repo, env=env, capture_output=True, timeout=60,
            stdin=subprocess.DEVNULL, check=False,
        )  # fmt: skip
        return proc.returncode, proc.stdout, scene.ran() or trace.exists()

    clean = run(plain)
    assert not clean[2]
    # The threat is real: git given the variable does something else.
    assert run({**plain, **hostile}) != clean
    # keysentry's environment for git, built where the variable is set, leaves it out.
    for key, value in hostile.items():
        monkeypatch.setenv(key, value)
    for key in ("PAGER", "EDITOR", "VISUAL"):
        monkeypatch.delenv(key, raising=False)
    env = gitcmd.git_env()
    assert name not in env
    assert run({**env, "HOME": plain["HOME"], "TERM": plain["TERM"], **GIT_ENV}) == clean

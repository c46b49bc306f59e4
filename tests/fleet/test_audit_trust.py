"""``keysentry audit`` against hostile input: nothing raw is kept (store, report, progress,
the clone folder), nothing of a mirror's runs, nothing hangs, bad input is refused.
Real repositories, real git, a real git:// socket that never answers, real FIFOs."""

from __future__ import annotations

import json
import os
import pickle
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import GIT_ENV, git, make_key, tool
from fleethelpers import SilentServer
from gitrepo_helpers import commit
from keysentry.cli import main
from keysentry.errors import ExitCode
from keysentry.fleet import targets
from keysentry.fleet.run import AuditPlan, run_audit
from keysentry.fleet.spec import AuditSettings, RepoOutcome, TaskSpec
from keysentry.models import fingerprint_of

WAIT = 120
"""A test-side limit on every child we start: a hang fails the test, not the suite."""


def audit(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "out" / "audit.json"
    out.parent.mkdir(exist_ok=True)
    out.unlink(missing_ok=True)
    code = main(
        ["audit", *args, "--db", str(tmp_path / "out" / "audit.sqlite"),
         "--clone-dir", str(tmp_path / "clones"), "--jobs", "2",
         "--format", "json", "--output", str(out), "--quiet"]
    )  # fmt: skip
    return code, json.loads(out.read_text()) if out.exists() else {}


def cli(cwd: Path, *args: str, timeout: float = WAIT) -> subprocess.CompletedProcess[str]:
    """The real command, in a process of its own, with a time limit."""
    return subprocess.run(
        [sys.executable, "-I", "-c", "import sys; from keysentry.cli import main; sys.exit(main())",
         *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        env={**os.environ, **GIT_ENV},
    )  # fmt: skip


def every_byte(*roots: Path, skip: tuple[Path, ...] = ()) -> Iterator[tuple[Path, bytes]]:
    for root in roots:
        for path in [root] if root.is_file() else sorted(root.rglob("*")):
            if path.is_file() and not any(path.is_relative_to(s) for s in skip):
                yield path, path.read_bytes()


def secret_forms(key: str) -> list[bytes]:
    return [key.encode(), key.rpartition("-")[2].encode()]


# --- 1. nothing raw is kept ---------------------------------------------------------


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A repository with a key in every field a history scan reports, under a folder
    whose name is a key."""
    keys = {
        name: make_key()
        for name in ("subject", "author", "email", "path", "content", "tag", "note",
                     "issue", "folder", "body")
    }  # fmt: skip
    repo = tmp_path / "fleet" / f"team-{keys['folder']}" / "repo"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / f"cfg-{keys['path']}.env").write_text(f"KEY={keys['content']}\n")
    (repo / f"dump-{keys['issue']}.zip").write_bytes(b"PK\x03\x04 not really a zip")
    (repo / "body.txt").write_text(f"K={keys['body']}\n")
    git(repo, "add", "-A")
    body = keys["body"].rpartition("-")[2]
    subprocess.run(
        ["git", "commit", "-q", "-m", f"subject {keys['subject']} and {body}"],
        cwd=repo, check=True, timeout=WAIT,
        env={**os.environ, **GIT_ENV, "GIT_AUTHOR_NAME": f"Dev {keys['author']}",
             "GIT_AUTHOR_EMAIL": f"{keys['email']}@example.test"},
    )  # fmt: skip
    git(repo, "tag", "-a", "v1", "-m", f"release {keys['tag']}")
    git(repo, "notes", "add", "-m", f"note {keys['note']}")
    return repo, keys


def test_the_store_and_every_file_the_audit_writes_hold_no_raw_key(
    tmp_path: Path, hostile: Any
) -> None:
    _repo, keys = hostile
    token_url = "https://deploy:pa55-w0rd-9@127.0.0.1:9/org/r.git?private_token=qt-0123456789"
    code, report = audit(tmp_path, str(tmp_path / "fleet"), token_url)
    assert code == ExitCode.FINDINGS
    found = {f["fingerprint"] for f in report["findings"]}
    # What the scan reports today: the key in the file and in each message.
    for name in ("content", "subject", "tag", "note", "body"):
        assert fingerprint_of(keys[name]) in found, name
    stored = list(every_byte(tmp_path / "out", tmp_path / "clones"))
    assert any(p.name == "audit.sqlite" for p, _ in stored)
    for path, data in stored:
        for name, key in keys.items():
            for form in secret_forms(key):
                assert form not in data, f"{name} key in {path.name}"
        for credential in (b"pa55-w0rd-9", b"qt-0123456789"):
            assert credential not in data, f"{credential!r} in {path.name}"
    names = {r["repository"] for r in report["repositories"]}
    assert "https://127.0.0.1:9/org/r.git" in names
    assert any("sk-or-v1-" in n and "..." in n for n in names)  # the folder, redacted


def test_the_progress_display_hears_nothing_raw(tmp_path: Path, hostile: Any) -> None:
    _repo, keys = hostile
    heard: list[str] = []

    class Listener:
        def done(self, outcome: RepoOutcome) -> None:
            heard.append(repr(outcome))

        def stage(self, repository: str, what: str) -> None:
            heard.append(f"{repository} {what}")

    found, _credentials = targets.expand([str(tmp_path / "fleet")], 3)
    settings = AuditSettings(tmp_path / "clones")
    run_audit(AuditPlan(tuple(found), settings, tmp_path / "db.sqlite", jobs=1), Listener())
    assert any("scanning" in h for h in heard)
    text = "\n".join(heard)
    for key in keys.values():
        assert key.rpartition("-")[2] not in text


def test_raw_keys_come_back_from_a_worker_only_when_asked(tmp_path: Path, hostile: Any) -> None:
    from keysentry.fleet.task import audit_repository

    repo, keys = hostile
    (target,), _ = targets.expand([str(repo)], 0)
    plain = audit_repository(TaskSpec(target, AuditSettings(tmp_path / "c")))
    assert plain.findings and all(f.secret == "" for f in plain.findings)
    text = repr(pickle.dumps(plain))
    for key in keys.values():
        assert key.rpartition("-")[2] not in text
    kept = audit_repository(TaskSpec(target, AuditSettings(tmp_path / "c", keep_secrets=True)))
    assert {f.secret for f in kept.findings} >= {keys["content"], keys["subject"]}


@pytest.mark.parametrize(
    ("url", "public"),
    [
        ("https://user:tok3n@git.example/o/r.git", "https://git.example/o/r.git"),
        ("https://tok3n@git.example/o/r.git", "https://git.example/o/r.git"),
        ("https://git.example/o/r.git?private_token=tok3n", "https://git.example/o/r.git"),
        ("https://git.example/o/r.git?access_token=tok3n&x=1", "https://git.example/o/r.git"),
        ("https://git.example/o/r.git#tok3n", "https://git.example/o/r.git"),
        ("https://u:tok3n@[::1]:8443/r.git", "https://[::1]:8443/r.git"),
        ("ssh://git:tok3n@git.example:22/o/r.git", "ssh://git@git.example:22/o/r.git"),
        ("git@git.example:o/r.git", "git@git.example:o/r.git"),
    ],
)
def test_urls_lose_their_credentials(url: str, public: str) -> None:
    assert targets.public_url(url) == targets.public_name(url) == public
    (target,), credentials = targets.expand([url], 0)
    assert target.url == public and "tok3n" not in repr(target)
    assert "tok3n" not in str(pickle.dumps(TaskSpec(target, AuditSettings(Path("/c")))))
    assert credentials.full(public) == url and "tok3n" not in repr(credentials)


def test_credentials_are_never_written(tmp_path: Path) -> None:
    """file://user:password@localhost/... is a URL git clones (the file transport ignores
    the password, so this does not prove git receives it): the password is nowhere the
    audit writes, the mirror's config included, after a clone and a fetch."""
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    key = make_key()
    commit(origin, {"a.env": f"K={key}\n"})
    url = f"file://me:hunter2-secret@localhost{origin}"
    for _ in (1, 2):  # a clone, then a fetch
        code, report = audit(tmp_path, url)
        assert code == ExitCode.FINDINGS
        assert report["repositories"][0]["repository"] == f"file://me@localhost{origin}"
    for path, data in every_byte(tmp_path / "out", tmp_path / "clones"):
        assert b"hunter2" not in data, path


def test_dask_refuses_urls_with_credentials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["audit", "https://u:t0k3n@git.example/r.git", "--scheduler", "tcp://127.0.0.1:9",
         "--db", str(tmp_path / "db"), "-q"]
    )  # fmt: skip
    assert code == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "--scheduler: refusing URLs with credentials" in err and "t0k3n" not in err


@pytest.mark.slow
def test_dask_outcomes_carry_no_raw_key_unless_asked(
    tmp_path: Path, hostile: Any, scheduler: str
) -> None:
    from keysentry.fleet.executors import run_dask

    repo, keys = hostile
    (target,), _ = targets.expand([str(repo)], 0)
    for keep in (False, True):
        specs = [TaskSpec(target, AuditSettings(tmp_path / "c", keep_secrets=keep))]
        (outcome,) = list(run_dask(specs, scheduler))
        assert outcome.findings
        secrets = {f.secret for f in outcome.findings}
        assert (secrets == {""}) != keep
        text = repr(replace_secrets(outcome))
        for key in keys.values():
            assert key.rpartition("-")[2] not in text


def replace_secrets(outcome: RepoOutcome) -> RepoOutcome:
    from dataclasses import replace

    return replace(outcome, findings=tuple(replace(f, secret="") for f in outcome.findings))


# --- 3. the clone folder is not trusted ---------------------------------------------


@pytest.fixture
def mirrored(tmp_path: Path) -> tuple[str, Path, str]:
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    key = make_key()
    commit(origin, {"a.env": f"K={key}\n"})
    url = origin.as_uri()
    assert audit(tmp_path, url)[0] == ExitCode.FINDINGS
    (mirror,) = (tmp_path / "clones").iterdir()
    return url, mirror, key


def test_mirrors_are_private(tmp_path: Path, mirrored: Any) -> None:
    _, mirror, _ = mirrored
    assert stat.S_IMODE((tmp_path / "clones").stat().st_mode) == 0o700
    for path in [mirror, *mirror.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode & 0o077 == 0, f"{path} is {mode:o}"


MARK = "planted-ran"

PLANTED = {
    "remote.origin.uploadpack": "touch {mark}; git-upload-pack",
    "remote.origin.receivepack": "touch {mark}; git-receive-pack",
    "core.sshCommand": "touch {mark}; ssh",
    "core.gitProxy": "touch {mark}",
    "core.fsmonitor": "touch {mark}",
    "core.hooksPath": "{hooks}",
    "core.alternateRefsCommand": "touch {mark}",
    "filter.lfs.process": "touch {mark}",
    "credential.helper": "!touch {mark}",
    "include.path": "{include}",
    "url.file:///nonexistent/.insteadOf": "file://",
    "http.proxy": "http://127.0.0.1:9",
    "remote.origin.url": "file:///somewhere/else.git",
    "remote.origin.fetch": "+refs/heads/main:refs/heads/main",
    "core.bare": "false",
    "gc.auto": "1",
}
"""Configuration a mirror must not be fetched with. Each makes the mirror untrusted
(cloned again): the allowlist's every refusal is tested, not only the keys that run."""


@pytest.mark.parametrize("key", sorted(PLANTED))
def test_a_planted_mirror_config_is_never_used(tmp_path: Path, mirrored: Any, key: str) -> None:
    url, mirror, found = mirrored
    mark = tmp_path / MARK
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for hook in ("reference-transaction", "post-fetch", "pre-auto-gc"):
        (hooks / hook).write_text(f"#!/bin/sh\ntouch {mark}\n")
        (hooks / hook).chmod(0o755)
    include = tmp_path / "included"
    include.write_text(f'[remote "origin"]\n\tuploadpack = touch {mark}; git-upload-pack\n')
    value = PLANTED[key].format(mark=mark, hooks=hooks, include=include)
    subprocess.run(["git", "config", "--file", str(mirror / "config"), key, value],
                   check=True, timeout=WAIT)  # fmt: skip
    code, report = audit(tmp_path, url)
    assert not mark.exists(), f"{key} ran"
    assert code == ExitCode.FINDINGS
    assert fingerprint_of(found) in {f["fingerprint"] for f in report["findings"]}
    now = subprocess.run(["git", "config", "--file", str(mirror / "config"), "--get-all", key],
                         capture_output=True, text=True, timeout=WAIT)  # fmt: skip
    assert value not in now.stdout  # cloned again, without it
    assert f"url = {url}" in (mirror / "config").read_text()


@pytest.mark.parametrize("planted", ["objects/info/alternates", "shallow", "info/grafts", "mode"])
def test_a_mirror_that_reads_elsewhere_or_others_read_is_cloned_again(
    tmp_path: Path, mirrored: Any, planted: str
) -> None:
    url, mirror, _found = mirrored
    if planted == "mode":
        mirror.chmod(0o755)
    else:
        (mirror / planted).parent.mkdir(exist_ok=True)
        (mirror / planted).write_text(f"{tmp_path}\n")
    code, _report = audit(tmp_path, url)
    assert code == ExitCode.FINDINGS
    assert not (mirror / planted).exists() or planted == "mode"
    assert stat.S_IMODE(mirror.stat().st_mode) == 0o700


def test_a_mirror_of_an_old_version_with_credentials_is_replaced(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    commit(origin, {"a.txt": "x\n"})
    url = f"file://me:hunter2-secret@localhost{origin}"
    from keysentry.fleet.clone import mirror_path

    mirror = mirror_path(tmp_path / "clones", targets.public_url(url))
    mirror.parent.mkdir()
    git(tmp_path, "clone", "-q", "--mirror", url, str(mirror))  # as the old version did
    assert b"hunter2" in (mirror / "config").read_bytes()
    assert audit(tmp_path, url)[0] == ExitCode.CLEAN
    assert b"hunter2" not in (mirror / "config").read_bytes()


# --- 4. nothing hangs -----------------------------------------------------------------


def test_a_fifo_among_the_refs_does_not_hang_the_audit(tmp_path: Path) -> None:
    """git waits forever on a FIFO where a ref should be (``git log --all`` does): the
    audit reads the refs without opening one, and reports the repository as not
    audited, with the reason, instead of hanging; the other repository is audited."""
    fifo_repo, other = tmp_path / "fleet" / "r", tmp_path / "fleet" / "s"
    key = make_key()
    for repo in (fifo_repo, other):
        repo.mkdir(parents=True)
        git(repo, "init", "-q", "-b", "main")
        commit(repo, {"a.env": f"K={key}\n"})
    os.mkfifo(fifo_repo / ".git" / "refs" / "heads" / "x")
    for name in (".keysentry.toml", "pyproject.toml"):
        os.mkfifo(fifo_repo / name)
    db = tmp_path / "db.sqlite"
    out = tmp_path / "out.json"
    for _ in (1, 2):  # the audit, then a resume that reads the refs state again
        proc = cli(tmp_path, "audit", str(tmp_path / "fleet"), "--db", str(db), "-q",
                   "--format", "json", "-o", str(out), timeout=60)  # fmt: skip
        assert proc.returncode == ExitCode.FINDINGS, proc.stderr
        rows = {r["repository"]: r for r in json.loads(out.read_text())["repositories"]}
        assert rows[str(other)]["failure"] is None
        assert rows[str(fifo_repo)]["failure"] == (
            "not audited: refs/heads/x is not a regular file (a FIFO or device: git would "
            "wait on it forever)"
        )


def test_a_silent_git_server_is_given_up_after_the_stall_limit(tmp_path: Path) -> None:
    server = SilentServer()
    try:
        url = f"git://127.0.0.1:{server.port}/hang.git"
        started = time.monotonic()
        proc = cli(tmp_path, "audit", url, "--stall-timeout", "2", "--db",
                   str(tmp_path / "db"), "--clone-dir", str(tmp_path / "c"), "--format",
                   "json", "-o", str(tmp_path / "o.json"), timeout=60)  # fmt: skip
        took = time.monotonic() - started
    finally:
        server.close()
    assert proc.returncode == ExitCode.INCOMPLETE, proc.stderr
    (row,) = json.loads((tmp_path / "o.json").read_text())["repositories"]
    assert row["failure"] == (
        f"cannot clone or fetch {url}: stalled: nothing received for 2 s (--stall-timeout)"
    )
    assert server.accepted and took < 50


def test_the_stall_limit_has_a_default() -> None:
    from keysentry.cli.audit import audit as command

    option = next(p for p in command.params if p.name == "stall_timeout")
    assert option.default == 300.0


# --- 5. bad input, clear words --------------------------------------------------------


@pytest.mark.parametrize("line", ["-x", "--upload-pack=touch /tmp/x", "--", "-"])
def test_option_like_lines_in_a_repos_file_are_refused(tmp_path: Path, line: str) -> None:
    listing = tmp_path / "repos.txt"
    listing.write_text(f"# fleet\n{tmp_path}\n{line}\n")
    proc = cli(tmp_path, "audit", "--repos-file", str(listing), "--db", str(tmp_path / "db"))
    assert proc.returncode == ExitCode.USAGE
    assert "--repos-file line 3: refusing the option-like target" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "db").exists()


def test_a_failed_clone_says_why(tmp_path: Path) -> None:
    url = f"file://me:hunter2-secret@localhost{tmp_path}/missing.git"
    code, report = audit(tmp_path, url)
    assert code == ExitCode.INCOMPLETE
    (row,) = report["repositories"]
    assert row["failure"].startswith(f"cannot clone or fetch file://me@localhost{tmp_path}")
    assert "does not appear to be a git repository" in row["failure"]
    assert "hunter2" not in json.dumps(report)


def test_a_repository_path_with_a_newline_is_audited(tmp_path: Path) -> None:
    repo = tmp_path / "odd\nname"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    key = make_key()
    commit(repo, {"a.env": f"K={key}\n"})
    code, report = audit(tmp_path, str(repo))
    assert code == ExitCode.FINDINGS
    (row,) = report["repositories"]
    assert row["failure"] is None and row["repository"] == str(tmp_path / "odd\\nname")
    assert report["findings"][0]["fingerprint"] == fingerprint_of(key)


def test_no_module_of_the_working_directory_runs(tmp_path: Path) -> None:
    """multiprocessing's forkserver and resource tracker are Python processes started
    with -c: from the audit's working directory, a planted module there ran."""
    here = tmp_path / "here"
    for name in ("multiprocessing", "keysentry", "concurrent", "json", "git"):
        (here / name).mkdir(parents=True)
        (here / name / "__init__.py").write_text(f"open({str(tmp_path / MARK)!r}, 'w')\n")
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, {"a.txt": "x\n"})
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("keysentry")), "audit", str(repo), "--db",
         str(tmp_path / "db"), "-q"],
        cwd=here, capture_output=True, text=True, timeout=WAIT, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == ExitCode.CLEAN, proc.stderr
    assert not (tmp_path / MARK).exists()


class _AuthenticatedGitServer:
    """A bare repository served over HTTPS on 127.0.0.1 with git's "dumb" protocol (plain
    files), behind HTTP basic authentication: git gets in only with the URL's credentials.
    Records the user names it was sent (and whether the password matched)."""

    def __init__(self, root: Path, cert: str, key: str, user: str, password: str) -> None:
        import base64
        import ssl
        import threading
        from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        seen = self.seen = []

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=str(root), **kwargs)

            def do_GET(self) -> None:
                given = self.headers.get("Authorization")
                if given is not None:
                    seen.append(given == expected)
                if given != expected:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="git"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.path = self.path.split("?", 1)[0]  # info/refs?service=...: the file
                super().do_GET()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def fresh_audit(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    """:func:`audit` in a process of its own, which starts its workers with this test's
    environment (in this process they may come from a forkserver an earlier test started)."""
    out = tmp_path / "out" / "audit.json"
    out.parent.mkdir(exist_ok=True)
    out.unlink(missing_ok=True)
    proc = cli(
        tmp_path, "audit", *args, "--db", str(tmp_path / "out" / "audit.sqlite"),
        "--clone-dir", str(tmp_path / "clones"), "--jobs", "2", "--format", "json",
        "--output", str(out), "--quiet",
    )  # fmt: skip
    return proc.returncode, json.loads(out.read_text()) if out.exists() else {}


@pytest.mark.needs("openssl")
def test_git_receives_the_url_credentials_in_memory_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An HTTPS server that lets git in only with the URL's user and password: the clone
    and the later fetch succeed (git was given them), the same URL with another password
    fails with the server's reason, and no password is in a file the audit wrote."""
    import shutil

    openssl = tool("openssl")
    cert, cert_key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", cert_key,
         "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=WAIT,
    )  # fmt: skip
    monkeypatch.setenv("GIT_SSL_CAINFO", cert)  # this certificate, and nothing else, is trusted
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    key = make_key()
    commit(origin, {"a.env": f"K={key}\n"})
    served = tmp_path / "served"
    served.mkdir()
    git(tmp_path, "clone", "-q", "--bare", str(origin), str(served / "repo.git"))
    git(served / "repo.git", "update-server-info")
    server = _AuthenticatedGitServer(served, cert, cert_key, "me", "hunter2-secret")
    try:
        url = f"https://me:hunter2-secret@127.0.0.1:{server.port}/repo.git"
        for _ in (1, 2):  # a clone, then a fetch
            code, report = fresh_audit(tmp_path, url)
            assert code == ExitCode.FINDINGS, report.get("repositories")
            assert report["findings"][0]["fingerprint"] == fingerprint_of(key)
        assert server.seen and all(server.seen)
        for path, data in every_byte(tmp_path / "out", tmp_path / "clones"):
            assert b"hunter2" not in data, path
        shutil.rmtree(tmp_path / "clones")
        code, report = fresh_audit(
            tmp_path, f"https://me:wrong-one@127.0.0.1:{server.port}/repo.git"
        )
        assert code == ExitCode.INCOMPLETE
        (failed,) = report["repositories"]
        assert "Authentication failed" in failed["failure"], failed
        assert "wrong-one" not in json.dumps(report)
    finally:
        server.close()

"""keysentry purge and names: keys in file names, identities, headers and ref names are
rewritten; what cannot be is listed; the verification is a literal search that does not
ask the scanner; in-place leftovers are cleaned; the child Python runs isolated; a
killed purge leaves no file with a key behind.

Every check of what is left is made with git and plain byte searches, not keysentry."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_purge import all_objects, api, fake, purge  # noqa: F401 - fixtures

from conftest import GIT_ENV, git, make_key
from gitrepo_helpers import commit
from keysentry.errors import ExitCode
from keysentry.purge.filter_repo import LEFTOVERS

MARKER = "OPENROUTER_KEY_REMOVED"
pytestmark = pytest.mark.usefixtures("api")  # the fake API: every key checks as revoked


def git_env(repo: Path, env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, env={**os.environ, **GIT_ENV, **env},
        capture_output=True, check=True, text=True, timeout=60,
    ).stdout  # fmt: skip


def everything(path: Path) -> bytes:
    """Every byte under ``path``, names included, and every object git reads there."""
    out = [all_objects(path)]
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            full = Path(root) / name
            out.append(os.fsencode(full))
            if full.is_file() and not full.is_symlink():
                out.append(full.read_bytes())
    return b"\n".join(out)


def build_names(repo: Path) -> dict[str, str]:
    """A history with a key in each kind of name purge must rewrite."""
    where = ("file", "directory", "author", "email", "committer", "tagger", "tag", "branch",
             "remote", "message")  # fmt: skip
    keys = {w: make_key() for w in where}
    commit(repo, {"README.md": "# project\n"}, "initial")
    commit(repo, {f"keys/{keys['file']}.txt": "plain\n"}, "a file named with a key")
    commit(repo, {f"conf/{keys['directory']}/a.toml": "x = 1\n"}, "a directory named with one")
    (repo / "b.txt").write_text("b\n")
    git(repo, "add", "b.txt")
    people = {
        "GIT_AUTHOR_NAME": f"Dev {keys['author']}",
        "GIT_AUTHOR_EMAIL": f"{keys['email']}@example.test",
        "GIT_COMMITTER_NAME": f"Bot {keys['committer']}",
    }
    git_env(repo, people, "commit", "-q", "-m", f"odd people {keys['message']}")
    git_env(repo, {"GIT_COMMITTER_NAME": f"Rel {keys['tagger']}"}, "tag", "-a",
            f"v1-{keys['tag']}", "-m", "release")  # fmt: skip
    git(repo, "branch", f"fix-{keys['branch']}")
    git(repo, "update-ref", f"refs/remotes/origin/wip-{keys['remote']}", "HEAD~1")
    return keys


def test_purge_rewrites_names_identities_and_refs(repo, tmp_path):
    keys = build_names(repo)
    into = tmp_path / "mirror.git"
    code, report, text = purge(tmp_path, str(repo), "--into", str(into))
    assert code == ExitCode.CLEAN, report
    left = everything(into)
    for place, key in keys.items():
        assert key.encode() not in left, place
    assert not any(key in text for key in keys.values())
    refs = git(into, "for-each-ref", "--format=%(refname)").split()
    assert f"refs/heads/fix-{MARKER}" in refs and f"refs/tags/v1-{MARKER}" in refs
    assert f"refs/remotes/origin/wip-{MARKER}" in refs
    assert len(refs) == len(git(repo, "for-each-ref").splitlines())
    assert git(into, "cat-file", "tag", f"v1-{MARKER}").count(MARKER) == 2  # its name, tagger
    assert f"keys/{MARKER}.txt" in git(into, "ls-tree", "-r", "--name-only", "main")
    assert f"Dev {MARKER}" in git(into, "log", "-1", "--format=%an <%ae> %cn", "main")
    assert len(report["refs_renamed"]) == 3
    assert report["verdict"].startswith("verified") and report["searched"]["objects"] > 10


def test_purge_rewrites_or_drops_every_other_header(repo, tmp_path):
    from gitrepo_helpers import raw_commit

    encoding, unknown, mergetag, signature = (make_key() for _ in range(4))
    commit(repo, {"README.md": "# project\n"}, "initial")
    headers = (
        f"encoding {encoding}\nx-review-token {unknown}\n"
        "mergetag object 0000000000000000000000000000000000000000\n type commit\n tag t\n"
        f" tagger T <t@x.test> 1704067200 +0000\n \n note {mergetag}\n"
        f"gpgsig -----BEGIN PGP SIGNATURE-----\n {signature}\n -----END PGP SIGNATURE-----\n"
    )
    git(repo, "update-ref", "refs/heads/main", raw_commit(repo, headers))
    into = tmp_path / "mirror.git"
    code, report, _ = purge(tmp_path, str(repo), "--into", str(into))
    assert code == ExitCode.CLEAN, report
    left = everything(into)
    for key in (encoding, unknown, mergetag, signature):
        assert key.encode() not in left
    assert f"encoding {MARKER}" in git(into, "cat-file", "commit", "main")


def test_purge_renames_the_checked_out_branch_in_place(repo, tmp_path, key):
    commit(repo, {"README.md": "# project\n"}, "initial")
    git(repo, "switch", "-q", "-c", f"wip-{key}")
    commit(repo, {f"conf/{key}.txt": "a\n"}, "work")
    code, report, _ = purge(tmp_path, str(repo), "--in-place")
    assert code == ExitCode.CLEAN, report
    assert git(repo, "symbolic-ref", "HEAD").strip() == f"refs/heads/wip-{MARKER}"
    assert git(repo, "status", "--porcelain") == ""
    assert [p.name for p in (repo / "conf").iterdir()] == [f"{MARKER}.txt"]
    assert key.encode() not in everything(repo / ".git")


def test_what_cannot_be_rewritten_is_listed(repo, tmp_path, key):
    """git-filter-repo cannot export a ref that names a tree: a key in a name inside
    it stays, and the literal search says so (the audit of main's day did not)."""
    commit(repo, {"README.md": "# project\n"}, "initial")
    scratch = {"GIT_INDEX_FILE": str(tmp_path / "scratch-index")}
    blob = git(repo, "hash-object", "-w", "--stdin", input=b"x\n").strip()
    git_env(repo, scratch, "update-index", "--add", "--cacheinfo", f"100644,{blob},{key}.txt")
    tree = git_env(repo, scratch, "write-tree").strip()
    git(repo, "update-ref", "refs/snapshots/one", tree)
    into = tmp_path / "mirror.git"
    code, report, text = purge(tmp_path, str(repo), "--into", str(into))
    assert code == ExitCode.FINDINGS, report
    (left,) = report["still_present"]
    assert any("<refs/snapshots/one>:" in place for place in left["places"]), left
    assert key not in text and "STILL PRESENT" in report["verdict"]
    assert key.encode() in all_objects(into)


def test_the_check_reads_what_the_scanner_does_not(repo, tmp_path, key):
    """A key in a file of the git directory: no audit reads it; the literal search does,
    in each form (here base64 in a file name, raw in a file)."""
    import base64

    commit(repo, {"a.py": f"K = '{key}'\n"}, "leak")
    info = repo / ".git" / "info"
    info.mkdir(exist_ok=True)
    (info / "notes.txt").write_text(f"reminder: {key}\n")
    named = base64.b64encode(f"k={key}".encode()).decode()
    (info / named).write_text("x\n")
    code, report, text = purge(tmp_path, str(repo), "--in-place")
    assert code == ExitCode.FINDINGS, report
    (left,) = report["still_present"]
    assert "file info/notes.txt" in left["places"]
    assert any("info/" in p and "[base64]" in p for p in left["places"]), left
    assert key not in text and named not in text


def test_a_leftover_only_the_literal_search_sees(repo, tmp_path, key):
    """The key's secret part without its prefix is no finding for the scanner (its rule
    wants the prefix), and the rewrite replaces whole keys: the object search finds it."""
    core = key.rpartition("-")[2]
    commit(repo, {"a.py": f"K = '{key}'\n", "b.cfg": f"key_hex = {core}\n"}, "leak")
    into = tmp_path / "mirror.git"
    code, report, text = purge(tmp_path, str(repo), "--into", str(into))
    assert code == ExitCode.FINDINGS, report
    (left,) = report["still_present"]
    blob = git(into, "rev-parse", "main:b.cfg").strip()
    assert left["places"] == [f"object {blob} (blob)"]
    assert core not in text


def test_in_place_leaves_no_key_in_the_git_directory(repo, tmp_path, key):
    commit(repo, {"README.md": "# project\n"}, "initial")
    commit(repo, {"a.py": "x = 1\n"}, f"debug {key}")  # COMMIT_EDITMSG keeps the message
    git(repo, "switch", "-q", "-c", f"old-{key}")
    git(repo, "switch", "-q", "main")  # HEAD's reflog: "moving from old-<key> to main"
    git(repo, "branch", "-D", f"old-{key}")
    git(repo, "reset", "-q", "--hard", "HEAD")  # ORIG_HEAD: a commit id, kept or not
    head = git(repo, "rev-parse", "HEAD").strip()
    (repo / ".git" / "FETCH_HEAD").write_text(
        f"{head}\t\tbranch 'deploy-{key}' of https://example.test/x\n"
    )
    assert key.encode() in (repo / ".git" / "COMMIT_EDITMSG").read_bytes()
    code, report, _ = purge(tmp_path, str(repo), "--in-place")
    assert code == ExitCode.CLEAN, report
    assert key.encode() not in everything(repo / ".git")
    kept = {p.name for p in (repo / ".git" / "filter-repo").iterdir()}
    assert kept == {"commit-map"}


@pytest.mark.parametrize("name", LEFTOVERS)
def test_each_leftover_of_git_is_removed(repo, tmp_path, key, name):
    commit(repo, {"a.py": f"K = '{key}'\n"}, "leak")
    (repo / ".git" / name).write_text(f"left by git: {key}\n")
    code, report, _ = purge(tmp_path, str(repo), "--in-place")
    assert code == ExitCode.CLEAN, report
    assert not (repo / ".git" / name).exists()


def test_a_planted_git_filter_repo_module_never_runs(repo, tmp_path, key):
    """The child Python runs in the repository: modules committed there must not load."""
    marker = tmp_path / "planted-ran"
    planted = f"open({str(marker)!r}, 'a').write(__name__ + '\\n')\nraise SystemExit(0)\n"
    modules = ("git_filter_repo.py", "json.py", "keysentry/__init__.py",
               "keysentry/purge/callbacks.py")  # fmt: skip
    commit(repo, {**dict.fromkeys(modules, planted), "a.py": f"K = '{key}'\n"}, "leak")
    code, report, _ = purge(tmp_path, str(repo), "--in-place")
    assert not marker.exists(), marker.read_text()
    assert code == ExitCode.CLEAN, report
    assert key.encode() not in all_objects(repo)


@pytest.mark.slow
def test_a_killed_purge_leaves_no_key_in_a_file(repo, tmp_path, key):
    """kill -9 while git-filter-repo runs: nothing under TMPDIR holds the key, and the
    child that held it in memory ends with its parent."""
    commit(repo, {"a.py": f"K = '{key}'\n"}, "leak")
    for i in range(150):
        commit(repo, {f"f{i % 7}.txt": f"{i}\n" * 200}, f"c{i}")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, **GIT_ENV, "TMPDIR": str(tmp)}
    command = [sys.executable, "-m", "keysentry", "purge", str(repo), "--into",
               str(tmp_path / "m.git"), "-q"]  # fmt: skip
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    child = 0
    try:
        child = _wait_for_child(proc.pid, b"keysentry.purge.callbacks", timeout=120)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while _alive(child):
            assert time.monotonic() < deadline, "the child outlived purge"
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        if child and _alive(child):
            os.kill(child, signal.SIGKILL)
    for root, _dirs, files in os.walk(tmp):
        for name in files:
            assert key.encode() not in (Path(root) / name).read_bytes(), name


def _alive(pid: int) -> bool:
    """Running (a zombie no one reaps in a container counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _wait_for_child(parent: int, needle: bytes, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and _parent(int(entry.name)) == parent:
                try:
                    if needle in (entry / "cmdline").read_bytes():
                        return int(entry.name)
                except OSError:
                    continue
        time.sleep(0.005)
    raise AssertionError("the rewrite (git-filter-repo) never started")


def test_the_child_ends_when_its_parent_is_gone(tmp_path):
    """The rewrite's child watches a pipe only its parent can write to: once the parent
    is gone (here: once the test closes its end), the child exits at once."""
    watched, held = os.pipe()
    code = (
        "import sys, time\n"
        "from keysentry.purge.callbacks import _die_with_parent\n"
        "_die_with_parent(int(sys.argv[1]))\n"
        "time.sleep(120)\n"
    )
    child = subprocess.Popen([sys.executable, "-I", "-c", code, str(watched)], pass_fds=(watched,))
    os.close(watched)
    try:
        time.sleep(0.5)
        assert child.poll() is None  # alive while the parent's end is open
        os.close(held)
        held = -1
        assert child.wait(timeout=30) == 70
    finally:
        if held >= 0:
            os.close(held)
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)

"""keysentry purge on real repositories, with keys checked against the real fake API.

What a purge must leave behind is checked with git itself (every object of the mirror read
with `git cat-file --batch-all-objects --batch`), not only with keysentry."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from conftest import git, make_key
from fake_openrouter import FakeOpenRouter, fake_openrouter_fixture
from gitrepo_helpers import commit
from keysentry.cli import main
from keysentry.errors import ExitCode
from keysentry.models import fingerprint_of

fake = fake_openrouter_fixture()
MARKER = "OPENROUTER_KEY_REMOVED"
CLEAN_FILES = ("README.md", "src/app.py", "assets/logo.bin")


@pytest.fixture
def api(fake: FakeOpenRouter, monkeypatch: pytest.MonkeyPatch) -> FakeOpenRouter:
    monkeypatch.setenv("OPENROUTER_BASE_URL", fake.base_url)
    return fake


def build_leaky(repo: Path) -> dict[str, str]:
    """A history with a key in each place purge must reach; returns the keys by place."""
    places = ("edited", "message", "tag", "note", "branch", "remote", "stash")
    keys = {p: make_key() for p in places}
    commit(
        repo,
        {
            "README.md": "# project\n",
            "src/app.py": "print('hello')\n",
            "assets/logo.bin": b"\x89PNG\0\0binary without a key",
            "config.py": f'API_KEY = "{keys["edited"]}"\nDEBUG = True\n',
        },
        "initial",
    )
    commit(repo, {"config.py": 'API_KEY = os.environ["API_KEY"]\nDEBUG = True\n'}, "edit out")
    commit(repo, {"notes.txt": "todo\n"}, f"debug with {keys['message']}\n\nremove later")
    git(repo, "tag", "-a", "v1", "-m", f"release\n\ntoken {keys['tag']}")
    git(repo, "notes", "add", "-m", f"deployed with {keys['note']}", "HEAD")
    git(repo, "checkout", "-q", "-b", "experiment")
    commit(repo, {"try.py": f"KEY = '{keys['branch']}'\n"}, "try it")
    git(repo, "checkout", "-q", "main")
    # What a clone of a server has: a remote-tracking ref to a commit only it reaches.
    git(repo, "checkout", "-q", "--detach")
    remote = commit(repo, {"server.env": f"KEY={keys['remote']}\n"}, "on the server")
    git(repo, "update-ref", "refs/remotes/origin/deploy", remote)
    git(repo, "checkout", "-q", "main")
    (repo / "notes.txt").write_text(f"wip {keys['stash']}\n")
    git(repo, "stash", "-q")
    return keys


@pytest.fixture
def leaky(repo: Path) -> tuple[Path, dict[str, str]]:
    return repo, build_leaky(repo)


def purge(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    """``keysentry purge ARGS --format json``: exit code, report, and the report's text."""
    out = tmp_path / "purge.json"
    out.unlink(missing_ok=True)
    code = main(["purge", *args, "--format", "json", "--output", str(out), "--quiet"])
    text = out.read_text() if out.exists() else ""
    return code, json.loads(text) if text else {}, text


def all_objects(repo: Path) -> bytes:
    return git_bytes(repo, "cat-file", "--batch-all-objects", "--batch")


def git_bytes(repo: Path, *args: str) -> bytes:
    import subprocess

    from conftest import GIT_ENV

    return subprocess.run(
        ["git", *args],
        cwd=repo,
        capture_output=True,
        check=True,
        env={**os.environ, **GIT_ENV},
        timeout=300,
    ).stdout


def snapshot(repo: Path) -> tuple[str, str, str]:
    """Refs, every object id, and the reflogs: what must not change in REPO."""
    objects = git(repo, "cat-file", "--batch-all-objects", "--batch-check")
    return git(repo, "for-each-ref"), objects, git(repo, "reflog", "--all")


def commit_count(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", "--branches", "--tags", "--remotes").strip())


def test_purge_removes_every_key_from_every_object_and_ref(api, leaky, tmp_path, capsys):
    repo, keys = leaky
    before = snapshot(repo)
    into = tmp_path / "mirror.git"
    code, report, text = purge(tmp_path, str(repo), "--into", str(into))
    assert code == ExitCode.CLEAN, report
    objects = all_objects(into)
    for place, key in keys.items():
        assert key.encode() not in objects, place
    assert MARKER.encode() in objects
    # Every key is reported redacted, never raw, in the report and on the terminal.
    shown = text + capsys.readouterr().err
    assert not any(key in shown for key in keys.values())
    assert {k["fingerprint"] for k in report["keys"]} == {fingerprint_of(k) for k in keys.values()}
    assert report["still_present"] == []
    # The same refs, the same number of commits; untouched files keep their blob ids.
    names = lambda r: git(r, "for-each-ref", "--format=%(refname)").split()  # noqa: E731
    assert names(into) == names(repo)
    assert commit_count(into) == commit_count(repo)
    for path in CLEAN_FILES:
        assert git(into, "rev-parse", f"main:{path}") == git(repo, "rev-parse", f"main:{path}")
    assert "refs/remotes/origin/deploy" in report["refs_updated"]
    assert report["commits_rewritten"] >= 1
    assert Path(report["commit_map"]).is_file()
    assert MARKER in git(into, "show", "experiment:try.py")
    assert MARKER in git(into, "cat-file", "tag", "v1")
    # The note was rewritten and still belongs to the (rewritten) commit it annotated.
    assert MARKER in git(into, "notes", "show", "main")
    assert snapshot(repo) == before
    assert any("force-push" in step.lower() for step in report["next_steps"])


def test_key_in_binary_is_listed_then_removed_with_remove_files(api, repo, tmp_path, key):
    commit(repo, {"README.md": "# project\n"}, "initial")
    blob = b"\0\x01\x02" + key.encode() + b"\0rest of a binary"
    commit(repo, {"data/cache.bin": blob, "src/a.py": "x = 1\n"}, "add cache")
    commit(repo, {"data/cache.bin": None}, "drop cache")
    into = tmp_path / "kept.git"
    code, report, _ = purge(tmp_path, str(repo), "--into", str(into))
    assert code == ExitCode.FINDINGS
    assert [left["places"] for left in report["still_present"]] == [["data/cache.bin"]]
    assert report["keys"][0]["unreplaceable"] == ["data/cache.bin"]
    assert key.encode() in all_objects(into)

    into = tmp_path / "removed.git"
    code, report, _ = purge(tmp_path, str(repo), "--into", str(into), "--remove-files")
    assert code == ExitCode.CLEAN, report
    assert report["removed_paths"] == ["data/cache.bin"]
    assert key.encode() not in all_objects(into)
    assert "data/cache.bin" not in git(into, "log", "--all", "--name-only", "--format=")
    assert commit_count(into) == commit_count(repo)
    assert git(into, "rev-parse", "main:src/a.py") == git(repo, "rev-parse", "main:src/a.py")


def test_live_key_is_refused_and_nothing_is_written(api, repo, tmp_path, capsys):
    live = api.add_key()
    dead = make_key()
    commit(repo, {"a.py": f"K = '{live}'\nJ = '{dead}'\n"}, "leak")
    before = snapshot(repo)
    into = tmp_path / "mirror.git"
    code, _, _ = purge(tmp_path, str(repo), "--into", str(into))
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert not into.exists()
    assert live[:12] in err and "keysentry revoke" in err
    assert live not in err and dead not in err
    assert snapshot(repo) == before

    code, report, _ = purge(tmp_path, str(repo), "--into", str(into), "--allow-live")
    assert code == ExitCode.CLEAN
    assert any("still live" in w for w in report["warnings"])
    assert live.encode() not in all_objects(into)


def test_api_down_needs_allow_unverified(repo, tmp_path, key, capsys):
    # conftest points OPENROUTER_BASE_URL at a closed loopback port.
    commit(repo, {"a.py": f"K = '{key}'\n"}, "leak")
    into = tmp_path / "mirror.git"
    code, _, _ = purge(tmp_path, str(repo), "--into", str(into))
    assert code == ExitCode.USAGE
    assert not into.exists()
    assert "--allow-unverified" in capsys.readouterr().err
    code, report, _ = purge(tmp_path, str(repo), "--into", str(into), "--allow-unverified")
    assert code == ExitCode.CLEAN
    assert report["keys"][0]["status"] == "unknown"
    assert key.encode() not in all_objects(into)


def test_base_url_from_the_purged_repository_is_ignored(api, repo, tmp_path, key, monkeypatch):
    commit(repo, {"a.py": f"K = '{key}'\n"}, "leak")
    # A repository trying to receive its reader's keys: run from inside it.
    (repo / ".keysentry.toml").write_text('[validation]\nbase_url = "http://127.0.0.1:9/api/v1"\n')
    git(repo, "add", ".keysentry.toml")
    git(repo, "commit", "-q", "-m", "config")
    monkeypatch.chdir(repo)
    code, report, _ = purge(tmp_path, ".", "--into", str(tmp_path / "m.git"))
    assert code == ExitCode.CLEAN
    assert report["keys"][0]["status"] == "invalid"
    assert api.requests


def test_in_place_refused_on_a_dirty_tree(api, repo, tmp_path, key):
    commit(repo, {"a.py": f"K = '{key}'\n"}, "leak")
    (repo / "a.py").write_text("edited\n")
    before = snapshot(repo)
    code, _, _ = purge(tmp_path, str(repo), "--in-place")
    assert code == ExitCode.USAGE
    assert snapshot(repo) == before


def test_in_place_rewrites_a_clean_repository(api, repo, tmp_path, key):
    commit(repo, {"a.py": f"K = '{key}'\n", "b.py": "ok\n"}, "leak")
    commit(repo, {"a.py": "K = None\n"}, "fix")
    assert purge(tmp_path, str(repo), "--in-place", "--replacement", "a==>b")[0] == 2
    code, report, _ = purge(tmp_path, str(repo), "--in-place", "--replacement", "REVOKED")
    assert code == ExitCode.CLEAN, report
    assert key.encode() not in all_objects(repo)
    assert git(repo, "show", "HEAD~1:a.py") == "K = 'REVOKED'\n"
    assert git(repo, "status", "--porcelain") == ""


def test_report_limits_the_purge_to_its_keys(api, repo, tmp_path):
    chosen, other = make_key(), make_key()
    commit(repo, {"a.py": f"K = '{chosen}'\n", "b.py": f"K = '{other}'\n"}, "leak")
    # A redacted report of a scan that saw only one of the keys.
    (tmp_path / "seen").mkdir()
    (tmp_path / "seen" / "a.py").write_text(f"K = '{chosen}'\n")
    scanned = tmp_path / "scan.jsonl"
    main(["scan", str(tmp_path / "seen"), "--format", "jsonl", "-o", str(scanned), "-q"])
    assert chosen not in scanned.read_text()
    into = tmp_path / "m.git"
    code, report, _ = purge(tmp_path, str(repo), "--into", str(into), "--report", str(scanned))
    assert code == ExitCode.CLEAN, report
    objects = all_objects(into)
    assert chosen.encode() not in objects
    assert other.encode() in objects
    assert any("not in the report" in w for w in report["warnings"])


def test_existing_into_is_refused(api, repo, tmp_path, key):
    commit(repo, {"a.py": f"K = '{key}'\n"}, "leak")
    into = tmp_path / "there"
    into.mkdir()
    assert purge(tmp_path, str(repo), "--into", str(into))[0] == ExitCode.USAGE
    assert list(into.iterdir()) == []
    before = snapshot(repo)
    assert purge(tmp_path, str(repo), "--into", str(repo / "m.git"))[0] == ExitCode.USAGE
    assert purge(tmp_path, str(repo), "--into", str(repo / ".git" / "m"))[0] == ExitCode.USAGE
    assert snapshot(repo) == before and not (repo / "m.git").exists()


def test_nothing_to_purge_writes_nothing(api, repo, tmp_path):
    commit(repo, {"a.py": "clean\n"}, "clean")
    into = tmp_path / "m.git"
    code, report, _ = purge(tmp_path, str(repo), "--into", str(into))
    assert code == ExitCode.CLEAN
    assert report["keys"] == []
    assert not into.exists()


def test_local_only_keys_are_named_and_not_copied(api, repo, tmp_path, key):
    commit(repo, {"a.py": "clean\n"}, "initial")
    commit(repo, {"b.py": f"K = '{key}'\n"}, "oops")
    git(repo, "reset", "-q", "--hard", "HEAD~1")  # now only the reflog reaches the key
    into = tmp_path / "m.git"
    code, report, _ = purge(tmp_path, str(repo), "--into", str(into))
    assert code == ExitCode.CLEAN, report
    assert report["not_carried"] and "reflog-only" in report["not_carried"][0]
    assert "reflogs" in report["not_carried_note"]
    assert key.encode() not in all_objects(into)
    assert key.encode() in all_objects(repo)  # REPO keeps it: the report says so


def test_text_report_says_what_to_do_next(api, repo, tmp_path, key, capsys):
    commit(repo, {"a.py": f"K = '{key}'\n"}, "leak")
    into = tmp_path / "m.git"
    assert main(["purge", str(repo), "--into", str(into), "-q"]) == ExitCode.CLEAN
    out = capsys.readouterr().out
    assert key not in out and key[:12] in out
    assert "1 of 1 commit(s) rewritten" in out
    assert str(into / "filter-repo" / "commit-map") in out
    for words in ("Force-push every ref", "clone again", "support ticket", "offline"):
        assert words in out


def test_purge_runs_nothing_from_a_hostile_repository(tmp_path):
    from gitrepo_helpers import hostile_repo

    repo, marker, _base, new = hostile_repo(tmp_path)
    neutral = ["-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false"]
    neutral += ["-c", "filter.evil.clean=cat", "-c", "filter.evil.smudge=cat"]
    neutral += ["-c", "filter.evil.process=", "-c", "filter.evil.required=false"]
    git(repo, *neutral, "reset", "-q", "--hard")
    git(repo, *neutral, "clean", "-fdq")
    marker.unlink(missing_ok=True)
    into = tmp_path / "m.git"
    code, report, _ = purge(tmp_path, str(repo), "--into", str(into), "--allow-unverified")
    assert code == ExitCode.CLEAN, report
    assert not marker.exists(), marker.read_text()
    code, report, _ = purge(tmp_path, str(repo), "--in-place", "--allow-unverified")
    assert code == ExitCode.CLEAN, report
    assert not marker.exists(), marker.read_text()
    assert new.encode() not in all_objects(repo)


def test_in_place_refused_with_another_worktree(api, repo, tmp_path, key):
    commit(repo, {"a.py": f"K = '{key}'\n"}, "leak")
    git(repo, "worktree", "add", "-q", str(tmp_path / "other"), "-b", "other")
    before = snapshot(repo)
    code, _, _ = purge(tmp_path, str(repo), "--in-place", "--allow-unverified")
    assert code == ExitCode.USAGE
    assert snapshot(repo) == before


def test_exit_code_of_an_outcome():
    from keysentry.purge.flow import Leftover, PurgeOutcome

    base = PurgeOutcome("r", "d", False, MARKER, ())
    assert base.exit_code == ExitCode.CLEAN
    assert PurgeOutcome("r", "d", False, MARKER, (), unverified=2).exit_code == 3
    left = (Leftover("x", "f", ("a.bin",)),)
    assert PurgeOutcome("r", "d", False, MARKER, (), still_present=left).exit_code == 1

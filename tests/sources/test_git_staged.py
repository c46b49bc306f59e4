"""`keysentry staged` (and `--all-changes`): what is about to be committed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import GIT_ENV, git, make_key
from gitrepo_helpers import commit, locations, only, run, write
from keysentry.errors import ExitCode


def staged(tmp_path: Path, repo: Path, *args: str) -> tuple[int, dict]:
    return run(tmp_path, "staged", "--repo", str(repo), *args)


def test_staged_only_unstaged_only_untracked_only(tmp_path: Path, repo: Path) -> None:
    in_index, in_work_tree, untracked, ignored = (make_key() for _ in range(4))
    commit(repo, {"app.py": "pass\n", ".gitignore": "secret.local\n"})
    # Staged, then edited away in the work tree: the staged content is what counts.
    write(repo, {"config.py": f"KEY = '{in_index}'\n"})
    git(repo, "add", "config.py")
    write(repo, {"config.py": "KEY = None\n"})
    write(repo, {"app.py": f"KEY = '{in_work_tree}'\n"})  # edited, not staged
    write(repo, {"notes.txt": f"{untracked}\n", "secret.local": f"{ignored}\n"})

    code, report = staged(tmp_path, repo)
    assert code == ExitCode.FINDINGS
    loc = only(report, in_index)
    assert (loc["path"], loc["source"], loc["line"]) == ("config.py", "staged", 1)
    assert loc["blob"] == git(repo, "rev-parse", ":config.py").strip()
    for key in (in_work_tree, untracked, ignored):
        assert locations(report, key) == []

    code, report = staged(tmp_path, repo, "--all-changes")
    assert only(report, in_index)["source"] == "staged"
    edited = only(report, in_work_tree)
    assert (edited["path"], edited["source"], edited["git_status"]) == ("app.py", "file", "tracked")
    new = only(report, untracked)
    assert (new["path"], new["git_status"]) == ("notes.txt", "untracked")
    assert locations(report, ignored) == []  # ignored files stay out


def test_partial_staging_reports_staged_line_numbers(tmp_path: Path, repo: Path, key: str) -> None:
    commit(repo, {"app.py": "a = 1\nb = 2\n"})
    # As `git add -p` leaves it: the index holds a version the work tree never had.
    staged_text = f"a = 1\n# note\nkey = '{key}'\nb = 2\n"
    blob = git(repo, "hash-object", "-w", "--stdin", input=staged_text.encode()).strip()
    git(repo, "update-index", "--cacheinfo", f"100644,{blob},app.py")
    write(repo, {"app.py": "a = 1\nb = 2\nc = 3\n"})
    loc = only(staged(tmp_path, repo)[1], key)
    assert (loc["path"], loc["line"], loc["column"]) == ("app.py", 3, 8)


def test_clean_index_is_exit_zero(tmp_path: Path, repo: Path, key: str) -> None:
    commit(repo, {"app.py": f"key = '{key}'\n"})  # committed already: not staged
    code, report = staged(tmp_path, repo)
    assert code == ExitCode.CLEAN and report["findings"] == []


def test_before_the_first_commit(tmp_path: Path, repo: Path, key: str) -> None:
    write(repo, {"first.env": f"K={key}\n"})
    git(repo, "add", "first.env")
    code, report = staged(tmp_path, repo)
    assert code == ExitCode.FINDINGS
    assert only(report, key)["path"] == "first.env"
    assert any("no commit yet" in n for n in report["stats"]["notes"])


def test_renamed_copied_and_deleted(tmp_path: Path, repo: Path) -> None:
    moved, kept = make_key(), make_key()
    commit(repo, {"old/name.py": f"k = '{moved}'\n", "gone.py": f"k = '{kept}'\n"})
    (repo / "new").mkdir()
    git(repo, "mv", "old/name.py", "new/name.py")
    git(repo, "rm", "-q", "gone.py")
    write(repo, {"copy.py": f"k = '{moved}'\n"})
    git(repo, "add", "copy.py")
    report = staged(tmp_path, repo)[1]
    assert sorted(loc["path"] for loc in locations(report, moved)) == ["copy.py", "new/name.py"]
    assert locations(report, kept) == []  # a deletion adds nothing


def test_type_change_and_binary(tmp_path: Path, repo: Path) -> None:
    in_binary, in_link = make_key(), make_key()
    commit(repo, {"data.bin": b"\0\1\2", "link": "plain file\n"})
    write(repo, {"data.bin": b"\0\x89PNG" + in_binary.encode() + b"\xff\0"})
    (repo / "link").unlink()
    (repo / "link").symlink_to(f"/tmp/{in_link}")  # a symlink's content is its target
    git(repo, "add", "-A")
    report = staged(tmp_path, repo)[1]
    assert only(report, in_binary)["path"] == "data.bin"
    assert only(report, in_link)["path"] == "link"


def test_paths_limit_the_scan(tmp_path: Path, repo: Path) -> None:
    one, two = make_key(), make_key()
    commit(repo, {"README": "hi\n"})
    write(repo, {"a/one.py": f"k = '{one}'\n", "b/two.py": f"k = '{two}'\n"})
    git(repo, "add", "-A")
    _code, report = run(tmp_path, "staged", "--repo", str(repo), str(repo / "a" / "one.py"))
    assert only(report, one)["path"] == "a/one.py"
    assert locations(report, two) == []


def test_during_a_merge(tmp_path: Path, repo: Path) -> None:
    theirs, merged_in = make_key(), make_key()
    commit(repo, {"conf.py": "x = 1\n"})
    git(repo, "switch", "-q", "-c", "side")
    commit(repo, {"conf.py": f"x = '{theirs}'\n", "lib.py": f"k = '{merged_in}'\n"}, "side")
    git(repo, "switch", "-q", "main")
    commit(repo, {"conf.py": "x = 3\n"}, "main")
    with pytest.raises(AssertionError):
        git(repo, "merge", "-q", "side")  # conflict in conf.py; lib.py merged cleanly
    report = staged(tmp_path, repo)[1]
    assert only(report, merged_in)["path"] == "lib.py"
    assert only(report, theirs)["path"] == "conf.py"  # the incoming side of the conflict
    # Resolved: the resolution is what gets committed.
    write(repo, {"conf.py": "x = 4\n"})
    git(repo, "add", "conf.py")
    report = staged(tmp_path, repo)[1]
    assert locations(report, theirs) == [] and only(report, merged_in)["path"] == "lib.py"


def test_submodule_gitlink_is_skipped_and_said(tmp_path: Path, repo: Path) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    git(sub, "init", "-q", "-b", "main")
    commit(sub, {"inner.py": f"k = '{make_key()}'\n"})
    commit(repo, {"README": "hi\n"})
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "vendor/sub")
    code, report = staged(tmp_path, repo)
    assert code == ExitCode.CLEAN
    assert report["stats"]["counters"]["submodules_skipped"] == 1
    assert any("vendor/sub" in n and "skipped" in n for n in report["stats"]["notes"])


def test_same_blob_staged_at_two_paths(tmp_path: Path, repo: Path, key: str) -> None:
    commit(repo, {"README": "hi\n"})
    write(repo, {"a.env": f"K={key}\n", "b.env": f"K={key}\n"})
    git(repo, "add", "-A")
    report = staged(tmp_path, repo)[1]
    assert len(report["findings"]) == 1
    assert sorted(loc["path"] for loc in locations(report, key)) == ["a.env", "b.env"]
    assert report["stats"]["counters"]["blobs"] == 1  # read and scanned once


def test_from_a_subdirectory(tmp_path: Path, repo: Path, key: str, monkeypatch) -> None:
    commit(repo, {"src/app.py": "pass\n"})
    write(repo, {"src/app.py": f"k = '{key}'\n", "top.txt": f"{key}\n"})
    git(repo, "add", "-A")
    monkeypatch.chdir(repo / "src")
    _code, report = run(tmp_path, "staged")
    assert sorted(loc["path"] for loc in locations(report, key)) == ["src/app.py", "top.txt"]
    _code, report = run(tmp_path, "staged", "app.py")  # paths are relative to the cwd
    assert [loc["path"] for loc in locations(report, key)] == ["src/app.py"]


def test_bare_repository_is_a_usage_error(tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    code, _ = staged(tmp_path, bare)
    assert code == ExitCode.USAGE


def test_commit_all_through_a_temporary_index(tmp_path: Path, repo: Path, key: str) -> None:
    """`git commit -a` runs the hook with GIT_INDEX_FILE naming a temporary index."""
    commit(repo, {"a.txt": "clean\n"})
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text(
        "#!/bin/sh\n"
        f'exec "{sys.executable}" -m keysentry staged -q --format json -o "{tmp_path}/hook.json"\n'
    )
    hook.chmod(0o755)
    write(repo, {"a.txt": f"clean\n{key}\n"})  # modified, not staged
    proc = subprocess.run(
        ["git", "commit", "-q", "-a", "-m", "leak"], cwd=repo, capture_output=True,
        env={**os.environ, **GIT_ENV}, check=False, timeout=300,
    )  # fmt: skip
    assert proc.returncode != 0  # the hook stopped it
    report = json.loads((tmp_path / "hook.json").read_text())
    assert (only(report, key)["path"], only(report, key)["line"]) == ("a.txt", 2)

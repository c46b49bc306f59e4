"""Configuration belongs to the scanned tree: per-target lookup, excludes for every way a
file arrives, [validation] checked always and never taken from a scanned repository,
overlapping targets, the output checked first, and nothing left out without saying so."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest

from conftest import git, make_key
from fake_openrouter import FakeOpenRouter, fake_openrouter_fixture, hash_of
from gitrepo_helpers import commit
from keysentry.cli import main
from keysentry.config import VALIDATION_KEYS
from keysentry.errors import ExitCode
from keysentry.models import fingerprint_of
from keysentry.validate.settings import ValidationSettings

fake = fake_openrouter_fixture()
hostile = fake_openrouter_fixture("hostile")


def run(out_dir: Path, *args: str) -> tuple[int, dict[str, Any]]:
    """``keysentry ARGS --format json`` in-process: the exit code and the report."""
    out = out_dir / "report.json"
    out.unlink(missing_ok=True)
    code = main([*args, "--format", "json", "--output", str(out), "--quiet"])
    return code, json.loads(out.read_text()) if out.exists() else {}


def found(report: dict[str, Any]) -> set[str]:
    return {f["fingerprint"] for f in report.get("findings", [])}


def paths(report: dict[str, Any]) -> list[str]:
    return sorted(loc["path"] for f in report["findings"] for loc in f["locations"])


@pytest.fixture
def out(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


def new_repo(path: Path, config: str | None = None) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    if config is not None:
        (path / ".keysentry.toml").write_text(config)
    return path


# -- 1. configuration comes from the scanned tree -------------------------------------------


def test_the_working_directory_config_does_not_apply_to_another_repository(
    tmp_path: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = new_repo(tmp_path / "here", 'exclude = ["dist/"]\n')
    other = new_repo(tmp_path / "other")
    key = make_key()
    (other / "dist").mkdir()
    (other / "dist" / "bundle.js").write_text(f'k="{key}"\n')
    monkeypatch.chdir(here)
    code, report = run(out, "scan", str(other))
    assert code == ExitCode.FINDINGS and found(report) == {fingerprint_of(key)}
    assert report["stats"]["configs"] == {str(other): "<defaults>"}


@pytest.mark.parametrize(
    ("cwd", "args", "found_kept", "excluded"),
    [
        ("", ["repo"], True, 1),
        ("repo/sub", ["."], True, 0),  # sub/dist is not the top-level dist
        ("repo/dist", ["."], False, 1),
        ("", ["repo/dist/x.txt", "repo/sub/dist/y.txt"], True, 1),
        ("", ["repo/dist", "repo/sub"], True, 1),
    ],
)
def test_excludes_are_relative_to_the_repository_root(
    tmp_path: Path,
    out: Path,
    monkeypatch: pytest.MonkeyPatch,
    cwd: str,
    args: list[str],
    found_kept: bool,
    excluded: int,
) -> None:
    # Anchored: only the top-level dist/ is excluded, wherever keysentry runs from.
    repo = new_repo(tmp_path / "repo", 'exclude = ["/dist/"]\n')
    (repo / "dist").mkdir()
    (repo / "dist" / "x.txt").write_text(make_key())
    kept = make_key()
    (repo / "sub" / "dist").mkdir(parents=True)
    (repo / "sub" / "dist" / "y.txt").write_text(kept)
    monkeypatch.chdir(tmp_path / cwd)
    _, report = run(out, "scan", *args)
    assert found(report) == ({fingerprint_of(kept)} if found_kept else set())
    assert report["stats"]["counters"].get("excluded", 0) == excluded
    assert set(report["stats"]["configs"].values()) == {str(repo / ".keysentry.toml")}


def test_scan_from_a_subdirectory_uses_the_repository_allowlist_and_baseline(
    tmp_path: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    allowed, baselined, new = make_key(), make_key(), make_key()
    repo = new_repo(
        tmp_path / "repo",
        'baseline = "ci/accepted.json"\n'
        f'[[allowlist]]\nfingerprint = "{fingerprint_of(allowed)}"\nreason = "revoked"\n',
    )
    (repo / "ci").mkdir()
    entry = {"rule_id": "openrouter-api-key", "fingerprint": fingerprint_of(baselined)}
    (repo / "ci" / "accepted.json").write_text(
        json.dumps({"keysentry_baseline": 1, "entries": [entry]})
    )
    (repo / "sub").mkdir()
    (repo / "sub" / "a.py").write_text(f"a = '{allowed}'\nb = '{baselined}'\nc = '{new}'\n")
    monkeypatch.chdir(repo / "sub")
    code, report = run(out, "scan", ".")
    assert code == ExitCode.FINDINGS and found(report) == {fingerprint_of(new)}
    counters = report["stats"]["counters"]
    assert counters["allowlisted"] == 1 and counters["baselined"] == 1
    assert report["stats"]["configs"] == {".": str(repo / ".keysentry.toml")}


def test_each_target_gets_its_own_repository_config(tmp_path: Path, out: Path) -> None:
    key = make_key()
    fp = fingerprint_of(key)
    a = new_repo(tmp_path / "a", f'[[allowlist]]\nfingerprint = "{fp}"\nreason = "test key"\n')
    b = new_repo(tmp_path / "b")
    for repo in (a, b):
        (repo / "k.txt").write_text(key)
    code, report = run(out, "scan", str(a), str(b))
    # The same key: allow-listed where a's config applies, reported where b's does.
    assert code == ExitCode.FINDINGS and paths(report) == [str(b / "k.txt")]
    assert report["stats"]["configs"] == {
        str(a): str(a / ".keysentry.toml"),
        str(b): "<defaults>",
    }


def test_a_baseline_shared_by_two_repositories_is_not_called_stale(
    tmp_path: Path, out: Path
) -> None:
    key = make_key()
    a, b = new_repo(tmp_path / "a", "exclude = []\n"), new_repo(tmp_path / "b")
    (b / "k.txt").write_text(key)
    baseline = tmp_path / "accepted.json"
    entry = {"rule_id": "openrouter-api-key", "fingerprint": fingerprint_of(key)}
    baseline.write_text(json.dumps({"keysentry_baseline": 1, "entries": [entry]}))
    code, report = run(out, "scan", str(a), str(b), "--baseline", str(baseline))
    assert code == ExitCode.CLEAN and report["stats"]["counters"]["baselined"] == 1
    assert not any("not seen" in n for n in report["stats"]["notes"])
    code, report = run(out, "scan", str(a), "--baseline", str(baseline))
    assert any("1 of 1 entries not seen" in n for n in report["stats"]["notes"])


def test_an_explicit_config_applies_to_every_target(tmp_path: Path, out: Path) -> None:
    a = new_repo(tmp_path / "a", "exclude = []\n")
    b = new_repo(tmp_path / "b")
    for repo in (a, b):
        (repo / "skip.txt").write_text(make_key())
    config = tmp_path / "mine.toml"
    config.write_text('exclude = ["skip.txt"]\n')
    code, report = run(out, "scan", str(a), str(b), "--config", str(config))
    assert code == ExitCode.CLEAN and report["stats"]["counters"]["excluded"] == 2
    assert report["stats"]["configs"] == {str(a): str(config), str(b): str(config)}


def test_relative_paths_in_a_config_are_relative_to_its_file(
    tmp_path: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = new_repo(tmp_path / "repo", 'rules = ["ci/rules.toml"]\n')
    (repo / "ci").mkdir()
    (repo / "ci" / "rules.toml").write_text(
        'schema_version = 1\n[[rules]]\nid = "exco-token"\ndescription = "Example"\n'
        'severity = "high"\nkeywords = ["exco_"]\nregex = \'exco_[0-9a-f]{40}(?![0-9a-f])\'\n'
    )
    (repo / "t.txt").write_text("exco_" + "1f" * 20)
    monkeypatch.chdir(tmp_path)
    code, report = run(out, "scan", "repo")
    assert code == ExitCode.FINDINGS
    assert [f["rule_id"] for f in report["findings"]] == ["exco-token"]


def test_history_uses_the_repository_config(
    tmp_path: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = make_key()
    repo = new_repo(
        tmp_path / "repo",
        f'[[allowlist]]\nfingerprint = "{fingerprint_of(key)}"\nreason = "revoked"\n',
    )
    commit(repo, {"a.py": f"k = '{key}'\n"})
    elsewhere = new_repo(tmp_path / "elsewhere")
    monkeypatch.chdir(elsewhere)
    code, report = run(out, "history", str(repo))
    assert code == ExitCode.CLEAN and report["stats"]["counters"]["allowlisted"] == 1
    assert report["stats"]["configs"] == {str(repo): str(repo / ".keysentry.toml")}


def test_ci_from_a_subdirectory_uses_the_repository_config(
    tmp_path: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    allowed, new = make_key(), make_key()
    repo = new_repo(
        tmp_path / "repo",
        f'[[allowlist]]\nfingerprint = "{fingerprint_of(allowed)}"\nreason = "revoked"\n',
    )
    base = commit(repo, {"sub/readme.txt": "hello\n"})
    head = commit(repo, {"sub/a.py": f"a = '{allowed}'\nb = '{new}'\n"})
    monkeypatch.chdir(repo / "sub")
    code, report = run(out, "ci", "--range", f"{base}..{head}")
    assert code == ExitCode.FINDINGS and found(report) == {fingerprint_of(new)}
    assert report["stats"]["counters"]["allowlisted"] == 1
    assert set(report["stats"]["configs"].values()) == {str(repo / ".keysentry.toml")}


def test_history_of_a_bare_repository_uses_its_config(tmp_path: Path, out: Path) -> None:
    key = make_key()
    work = new_repo(tmp_path / "work")
    commit(work, {"a.py": f"k = '{key}'\n"})
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    (bare / ".keysentry.toml").write_text(
        f'[[allowlist]]\nfingerprint = "{fingerprint_of(key)}"\nreason = "revoked"\n'
    )
    code, report = run(out, "history", str(bare / "refs"))
    assert code == ExitCode.CLEAN and report["stats"]["counters"]["allowlisted"] == 1


def test_staged_uses_the_repository_config_from_anywhere(
    tmp_path: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, kept = make_key(), make_key()
    repo = new_repo(tmp_path / "repo", 'exclude = ["fixtures/"]\n')
    (repo / "fixtures").mkdir()
    (repo / "fixtures" / "k.txt").write_text(key)
    (repo / "app.py").write_text(f"k = '{kept}'\n")
    git(repo, "add", "-A")
    monkeypatch.chdir(tmp_path)
    code, report = run(out, "staged", "--repo", str(repo))
    assert code == ExitCode.FINDINGS and found(report) == {fingerprint_of(kept)}
    assert report["stats"]["counters"]["excluded"] == 1
    # with paths, as a hook passes them, from a subdirectory
    monkeypatch.chdir(repo / "fixtures")
    code, report = run(out, "staged", "k.txt")
    assert code == ExitCode.CLEAN and report["stats"]["counters"]["excluded"] == 1


def test_the_text_summary_names_the_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = new_repo(tmp_path / "a", "exclude = []\n")
    b = new_repo(tmp_path / "b")
    assert main(["scan", str(a)]) == 0
    assert f"configuration: {a / '.keysentry.toml'}" in capsys.readouterr().err
    assert main(["scan", str(a), str(b)]) == 0
    err = capsys.readouterr().err
    assert f"configuration: {a / '.keysentry.toml'} (for {a})" in err
    assert f"configuration: built-in defaults, no configuration file found (for {b})" in err
    # files of one repository, as a hook names them: one line
    for name in ("x.py", "y.py"):
        (a / name).write_text("nothing\n")
    assert main(["scan", str(a / "x.py"), str(a / "y.py")]) == 0
    err = capsys.readouterr().err
    assert err.count("configuration:") == 1


# -- 2. where keys are sent is never decided by a scanned repository --------------------------


def hostile_repo(path: Path, server: FakeOpenRouter, key: str) -> Path:
    repo = new_repo(path, f'[validation]\nbase_url = "{server.base_url}"\n')
    (repo / "app.py").write_text(f"k = '{key}'\n")
    return repo


@pytest.mark.parametrize("inside", [False, True])
def test_a_scanned_repository_cannot_choose_where_keys_are_sent(
    tmp_path: Path,
    out: Path,
    fake: FakeOpenRouter,
    hostile: FakeOpenRouter,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    inside: bool,
) -> None:
    monkeypatch.setenv("OPENROUTER_BASE_URL", fake.base_url)
    key = fake.add_key()
    repo = hostile_repo(tmp_path / "cloned", hostile, key)
    if inside:
        monkeypatch.chdir(repo)
    target = "." if inside else str(repo)
    out_file = out / "r.json"
    code = main(["scan", "--validate", target, "--format", "json", "--output", str(out_file)])
    assert code == ExitCode.FINDINGS
    assert hostile.requests == []
    assert [r.token_hash for r in fake.requests] == [hash_of(key)]
    note = f"[validation] in {repo / '.keysentry.toml'} ignored"
    assert note in capsys.readouterr().err
    assert any(n.startswith(note) for n in json.loads(out_file.read_text())["stats"]["notes"])


def test_an_explicit_config_may_set_the_base_url(
    tmp_path: Path, out: Path, fake: FakeOpenRouter, hostile: FakeOpenRouter
) -> None:
    # The user names the file: that is the user's choice (here: the second server).
    key = make_key()
    repo = hostile_repo(tmp_path / "repo", hostile, key)
    code, _ = run(out, "scan", "--validate", str(repo), "--config", str(repo / ".keysentry.toml"))
    assert code == ExitCode.FINDINGS and len(hostile.requests) == 1 and fake.requests == []


def test_management_commands_never_read_a_repository_config(
    tmp_path: Path,
    fake: FakeOpenRouter,
    hostile: FakeOpenRouter,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    manager = fake.add_key("management", name="ops")
    leaked = fake.add_key()
    monkeypatch.setenv("OPENROUTER_BASE_URL", fake.base_url)
    monkeypatch.setenv("OPENROUTER_MANAGEMENT_KEY", manager)
    repo = hostile_repo(tmp_path / "cloned", hostile, leaked)
    (repo / "pyproject.toml").write_text(
        f'[tool.keysentry.validation]\nbase_url = "{hostile.base_url}"\n'
    )
    monkeypatch.chdir(repo)
    assert main(["keys", "list"]) == 0
    report = repo / "r.json"
    assert main(["scan", ".", "--format", "json", "--output", str(report)]) == 1
    assert main(["revoke", "--report", str(report), "--yes"]) == 0
    assert hostile.requests == []
    assert {r.token_hash for r in fake.requests} == {hash_of(manager)}
    assert fake.key(leaked).status == "disabled"
    capsys.readouterr()


# -- 3. [validation] is checked whenever a configuration loads ---------------------------------


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ("colour = 1", "validation.colour"),
        ('concurrency = "4"', "validation.concurrency"),
        ("rate_limit = true", "validation.rate_limit"),
        ("concurrency = 1000", "validation.concurrency"),
        ("cache = 1", "validation.cache"),
    ],
)
@pytest.mark.parametrize("where", ["found", "explicit"])
def test_validation_table_is_checked_without_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str, key: str, where: str
) -> None:
    repo = new_repo(tmp_path / "repo", f"[validation]\n{table}\n")
    args = ["scan", str(repo)]
    if where == "explicit":
        args += ["--config", str(repo / ".keysentry.toml")]
    assert main(args) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert str(repo / ".keysentry.toml") in err and key in err


def test_validation_keys_match_the_settings_fields() -> None:
    assert set(VALIDATION_KEYS) == {f.name for f in dataclasses.fields(ValidationSettings)}


# -- 4. excludes apply to every way a file arrives, and are counted -----------------------------


def test_named_files_follow_the_excludes(
    tmp_path: Path, out: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = new_repo(tmp_path / "repo", 'exclude = ["*.min.js", "vendor/"]\n')
    (repo / "vendor").mkdir()
    (repo / "vendor" / "lib.py").write_text(make_key())
    (repo / "app.min.js").write_text(make_key())
    kept = make_key()
    (repo / "app.py").write_text(f"k = '{kept}'\n")
    monkeypatch.chdir(repo)
    # what the pre-commit framework runs: every file, by name
    code, report = run(out, "scan", "vendor/lib.py", "app.min.js", "app.py")
    assert code == ExitCode.FINDINGS and found(report) == {fingerprint_of(kept)}
    assert report["stats"]["counters"]["excluded"] == 2
    assert main(["scan", "vendor/lib.py", "app.min.js"]) == ExitCode.CLEAN
    err = capsys.readouterr().err
    assert "2 excluded by configuration" in err and "vendor/lib.py" not in err
    assert main(["scan", ".", "-v"]) == ExitCode.FINDINGS
    err = capsys.readouterr().err
    assert "2 excluded by configuration" in err
    config = repo / ".keysentry.toml"
    assert f"excluded: vendor/ (by 'vendor/' in {config})" in err
    assert f"excluded: app.min.js (by '*.min.js' in {config})" in err


def test_command_line_excludes_are_named_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "gen.txt").write_text(make_key())
    assert main(["scan", str(tree), "--exclude", "gen.txt", "-v"]) == ExitCode.CLEAN
    err = capsys.readouterr().err
    assert f"excluded: {tree}/gen.txt (by --exclude 'gen.txt')" in err


def test_staged_all_changes_follows_the_excludes(tmp_path: Path, out: Path) -> None:
    repo = new_repo(tmp_path / "repo", 'exclude = ["build/"]\n')
    commit(repo, {"build/tracked.txt": "nothing\n"})
    (repo / "build" / "tracked.txt").write_text(make_key())  # an unstaged edit
    (repo / "build" / "new.txt").write_text(make_key())  # untracked
    code, report = run(out, "staged", "--repo", str(repo), "--all-changes")
    assert code == ExitCode.CLEAN and report["stats"]["counters"]["excluded"] == 2


# -- 5. overlapping targets are read once -------------------------------------------------------


def test_overlapping_targets_are_scanned_once(
    tmp_path: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    key = make_key()
    (tree / "app.py").write_text(f"k = '{key}'\n")
    (tree / "sub" / "b.py").write_text(f"k = '{key}'\n")
    monkeypatch.chdir(tree)
    code, report = run(out, "scan", ".", "app.py", "./app.py", "sub", str(tree / "sub" / "b.py"))
    assert code == ExitCode.FINDINGS
    assert paths(report) == ["app.py", "sub/b.py"]
    assert report["stats"]["counters"]["files"] == 2
    assert report["stats"]["counters"]["overlapping_targets"] == 4
    # a missing path is still an error, even inside another target
    assert main(["scan", ".", "missing.py"]) == ExitCode.USAGE
    # the inner directory first, the outer one after: still once
    code, report = run(out, "scan", "sub", ".")
    assert paths(report) == ["app.py", "sub/b.py"]
    assert report["stats"]["counters"]["overlapping_targets"] == 1


# -- 6. --output is checked before the scan -----------------------------------------------------


def test_output_into_a_missing_directory_fails_before_the_scan(
    tmp_path: Path,
    fake: FakeOpenRouter,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPENROUTER_BASE_URL", fake.base_url)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.py").write_text(f"k = '{fake.add_key()}'\n")
    missing = tmp_path / "no-such-dir" / "report.json"
    code = main(["scan", str(tree), "--validate", "--output", str(missing)])
    assert code == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "no-such-dir" in err and "does not exist" in err
    assert fake.requests == []  # nothing was scanned, so nothing was validated
    assert "scanned" not in err
    # history and staged check it first too (before finding out it is not a repository)
    for command in ("history", "staged"):
        assert main([command, "--output", str(missing)]) == ExitCode.USAGE
        assert "does not exist" in capsys.readouterr().err


def test_output_that_cannot_be_created_fails_before_the_scan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # /proc refuses new files even to root
    code = main(["scan", str(tmp_path), "--output", "/proc/keysentry-report.json"])
    assert code == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "cannot write the report to /proc/keysentry-report.json" in err
    assert "scanned" not in err


# -- 7. unreadable inputs are counted and listed ----------------------------------------------


def test_an_unreadable_file_is_counted_and_listed(
    tmp_path: Path, out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Tests run as root, so chmod 000 does not stop a read. /proc/self/mem is a regular
    # file whose first page is never mapped: reading it fails with EIO for everyone.
    unreadable = "/proc/self/mem"
    with pytest.raises(OSError), open(unreadable, "rb") as fh:
        fh.read(1)
    tree = tmp_path / "tree"
    tree.mkdir()
    key = make_key()
    (tree / "a.py").write_text(f"k = '{key}'\n")
    code, report = run(out, "scan", str(tree), unreadable)
    assert code == ExitCode.FINDINGS and found(report) == {fingerprint_of(key)}
    issues = report["stats"]["issues"]
    assert [(i["kind"], i["path"]) for i in issues] == [("unreadable", unreadable)]
    assert report["stats"]["counters"]["skipped_unreadable"] == 1
    assert report["stats"]["counters"]["files"] == 1
    assert main(["scan", str(tree), unreadable]) == ExitCode.FINDINGS
    err = capsys.readouterr().err
    assert "not fully scanned: 1 (1 unreadable)" in err
    assert f"unreadable: {unreadable}: Input/output error" in err


# -- 8. a skipped .git directory is mentioned ---------------------------------------------------


def test_the_summary_mentions_a_skipped_git_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = new_repo(tmp_path / "repo")
    commit(repo, {"a.txt": "hello\n"})
    assert main(["scan", str(repo)]) == ExitCode.CLEAN
    assert "1 .git directory skipped" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("fifo", "config"),
    [
        (".keysentry.toml", None),
        ("pyproject.toml", None),
        ("baseline.json", 'baseline = "baseline.json"\n'),
        ("rules.toml", 'rules = ["rules.toml"]\n'),
    ],
)
def test_a_fifo_where_a_configuration_file_is_expected_is_an_error_not_a_hang(
    tmp_path: Path, fifo: str, config: str | None
) -> None:
    """A repository decides what its configuration files are: a FIFO there (whose open
    waits for a writer forever) is reported as not a regular file, exit 2, at once."""
    import subprocess
    import sys

    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.txt").write_text("nothing here\n")
    if config is not None:
        (tree / ".keysentry.toml").write_text(config)
    os.mkfifo(tree / fifo)
    proc = subprocess.run(
        [sys.executable, "-I", "-m", "keysentry", "scan", str(tree)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert f"{tree / fifo}: not a regular file" in proc.stderr


def test_a_pyproject_that_is_not_utf8_is_a_configuration_error(tmp_path: Path, capsys) -> None:
    """Not UTF-8, and naming keysentry: a clear error (exit 2), not an internal one. The
    same bytes without the name are another tool's file, and not read at all."""
    (tmp_path / "pyproject.toml").write_bytes(b"[tool.keysentry]\nexclude = ['\xff']\n")
    (tmp_path / "a.txt").write_text("plain\n")
    assert main(["scan", str(tmp_path)]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "pyproject.toml: not valid TOML: not UTF-8" in err and "internal" not in err
    (tmp_path / "pyproject.toml").write_bytes(b"[tool.ruff]\nexclude = ['\xff']\n")
    assert main(["scan", str(tmp_path)]) == ExitCode.CLEAN

"""``keysentry audit``: many real repositories (local paths and file:// URLs), one report."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from conftest import git, make_key
from gitrepo_helpers import commit
from keysentry.cli import main
from keysentry.errors import ExitCode
from keysentry.models import fingerprint_of
from keysentry.report.plan import FORMATS


def new_repo(path: Path, files: dict[str, str | bytes | None]) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    commit(path, files, "first")
    return path


def audit(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "audit.json"
    out.unlink(missing_ok=True)
    code = main(
        ["audit", *args, "--db", str(tmp_path / "audit.sqlite"),
         "--clone-dir", str(tmp_path / "clones"), "--jobs", "2",
         "--format", "json", "--output", str(out), "--quiet"]
    )  # fmt: skip
    return code, json.loads(out.read_text()) if out.exists() else {}


def by_fingerprint(report: dict[str, Any]) -> dict[str, list[str]]:
    return {
        f["fingerprint"]: sorted({loc["repository"] for loc in f["locations"]})
        for f in report["findings"]
    }


@pytest.fixture
def fleet(tmp_path: Path) -> tuple[Path, str, str]:
    shared, single = make_key(), make_key()
    root = tmp_path / "fleet"
    new_repo(root / "a", {"a.env": f"KEY={shared}\n"})
    new_repo(root / "b", {"deep/b.py": f"key = '{shared}'\n", "c.txt": f"{single}\n"})
    new_repo(root / "clean", {"README": "nothing\n"})
    return root, shared, single


def test_one_finding_per_key_with_every_repository(tmp_path: Path, fleet: Any) -> None:
    root, shared, single = fleet
    code, report = audit(tmp_path, str(root))
    assert code == ExitCode.FINDINGS
    found = by_fingerprint(report)
    assert found == {
        fingerprint_of(shared): [str(root / "a"), str(root / "b")],
        fingerprint_of(single): [str(root / "b")],
    }
    rows = {r["repository"]: r for r in report["repositories"]}
    assert set(rows) == {str(root / n) for n in ("a", "b", "clean")}
    assert rows[str(root / "b")]["findings"] == 2
    assert rows[str(root / "clean")]["findings"] == 0
    assert all(r["failure"] is None and r["objects"] > 0 for r in rows.values())
    keys = {k["fingerprint"]: k for k in report["keys"]}
    assert keys[fingerprint_of(shared)]["earliest_introduction"].startswith("2024-01-01")
    assert keys[fingerprint_of(shared)]["worst_exposure"] == "head"


def test_same_findings_as_history_per_repository(tmp_path: Path, fleet: Any) -> None:
    root, _, _ = fleet
    _, report = audit(tmp_path, str(root))
    for name in ("a", "b"):
        out = tmp_path / f"{name}.json"
        main(["history", str(root / name), "--format", "json", "-o", str(out), "-q"])
        alone = json.loads(out.read_text())
        mine = [
            {k: v for k, v in loc.items() if k != "repository"}
            for f in report["findings"]
            for loc in f["locations"]
            if loc["repository"] == str(root / name)
        ]
        theirs = [loc for f in alone["findings"] for loc in f["locations"]]
        key = lambda loc: (loc["display_path"], loc["line"], loc["column"], loc["source"])  # noqa: E731
        assert sorted(mine, key=key) == sorted(theirs, key=key)


def test_a_broken_repository_is_reported_and_the_others_go_on(tmp_path: Path) -> None:
    good = new_repo(tmp_path / "good", {"a.txt": "nothing\n"})
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / ".git").write_text("gitdir: /nonexistent\n")
    code, report = audit(tmp_path, str(good), str(broken), str(tmp_path / "missing"))
    assert code == ExitCode.INCOMPLETE
    rows = {r["repository"]: r for r in report["repositories"]}
    assert rows[str(good)]["failure"] is None
    assert rows[str(broken.resolve())]["failure"]
    assert "does not exist" in rows[str(tmp_path / "missing")]["failure"]


def test_clean_fleet_exits_zero(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "r", {"a.txt": "nothing\n"})
    assert audit(tmp_path, str(repo))[0] == ExitCode.CLEAN


def test_directories_are_walked_without_symlinks_or_descending(tmp_path: Path) -> None:
    key = make_key()
    root = tmp_path / "root"
    outer = new_repo(root / "x" / "outer", {"a.txt": "nothing\n"})
    new_repo(outer / "inner", {"k.txt": key})  # inside a repository found: not a target
    elsewhere = new_repo(tmp_path / "elsewhere", {"k.txt": make_key()})
    (root / "link").symlink_to(elsewhere)
    new_repo(root / "1" / "2" / "3" / "4" / "too-deep", {"k.txt": make_key()})
    git(root / "x", "init", "-q", "--bare", "bare.git")
    _, report = audit(tmp_path, str(root))
    names = {r["repository"] for r in report["repositories"]}
    assert names == {str(outer), str(root / "x" / "bare.git")}


def test_urls_are_mirrored_then_fetched(tmp_path: Path) -> None:
    first, second = make_key(), make_key()
    origin = new_repo(tmp_path / "origin", {"a.env": f"K={first}\n"})
    git(origin, "update-ref", "refs/pull/1/head", "HEAD")
    url = origin.as_uri()
    code, report = audit(tmp_path, url)
    assert code == ExitCode.FINDINGS
    assert by_fingerprint(report) == {fingerprint_of(first): [url]}
    mirrors = list((tmp_path / "clones").iterdir())
    assert len(mirrors) == 1
    assert "refs/pull/1/head" in git(mirrors[0], "for-each-ref")
    commit(origin, {"b.env": f"K={second}\n"})
    code, report = audit(tmp_path, url)
    assert set(by_fingerprint(report)) == {fingerprint_of(first), fingerprint_of(second)}
    assert list((tmp_path / "clones").iterdir()) == mirrors


@pytest.mark.parametrize(
    "url",
    ["ext::sh -c touch% /tmp/pwned", "-uhttps://example.test/x", "fd::17", "ftp://example.test/x"],
)
def test_dangerous_urls_are_refused(tmp_path: Path, url: str) -> None:
    code = main(["audit", "--db", str(tmp_path / "db"), "-q", "--", url])
    assert code == ExitCode.USAGE
    assert not (tmp_path / "db").exists()


def test_a_url_that_needs_credentials_fails_fast(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "r", {"a.txt": "nothing\n"})
    # Nothing listens on port 9 of loopback: the clone fails with git's reason.
    code, report = audit(tmp_path, str(repo), "https://127.0.0.1:9/org/repo.git")
    assert code == ExitCode.INCOMPLETE
    row = next(r for r in report["repositories"] if r["repository"].startswith("https"))
    assert "cannot clone or fetch https://127.0.0.1:9/org/repo.git" in row["failure"]


def test_credentials_never_reach_the_report(tmp_path: Path) -> None:
    code, report = audit(tmp_path, "https://user:s3cr3t-token@127.0.0.1:9/org/repo.git")
    assert code == ExitCode.INCOMPLETE
    assert "s3cr3t" not in json.dumps(report)
    assert b"s3cr3t" not in (tmp_path / "audit.sqlite").read_bytes()


def test_repos_file_lines_and_github_json(tmp_path: Path, fleet: Any) -> None:
    root, shared, single = fleet
    listing = tmp_path / "repos.txt"
    listing.write_text(f"# our repositories\n{root / 'a'}  # the first\n\n{root / 'b'}\n")
    _, report = audit(tmp_path, "--repos-file", str(listing))
    assert {r["repository"] for r in report["repositories"]} == {str(root / "a"), str(root / "b")}
    gh = tmp_path / "gh.json"
    gh.write_text(
        json.dumps([{"url": "https://github.invalid/o/a", "sshUrl": (root / "a").as_uri()}])
    )
    _, report = audit(tmp_path, "--repos-file", str(gh))
    assert by_fingerprint(report) == {fingerprint_of(shared): [(root / "a").as_uri()]}
    gl = tmp_path / "gl.json"
    gl.write_text(json.dumps([{"http_url_to_repo": (root / "b").as_uri(), "id": 1}]))
    _, report = audit(tmp_path, "--repos-file", str(gl))
    assert set(by_fingerprint(report)) == {fingerprint_of(shared), fingerprint_of(single)}


def test_resume_skips_unchanged_repositories(tmp_path: Path, fleet: Any) -> None:
    root, _, _ = fleet
    _, first = audit(tmp_path, str(root))
    later = make_key()
    commit(root / "clean", {"new.env": f"K={later}\n"})
    _, second = audit(tmp_path, str(root))
    before = {r["repository"]: r["duration_s"] for r in first["repositories"]}
    after = {r["repository"]: r["duration_s"] for r in second["repositories"]}
    # Unchanged repositories keep their stored row; the changed one was scanned again.
    assert after[str(root / "a")] == before[str(root / "a")]
    assert after[str(root / "b")] == before[str(root / "b")]
    assert fingerprint_of(later) in by_fingerprint(second)
    _, forced = audit(tmp_path, str(root), "--rescan")
    assert by_fingerprint(forced) == by_fingerprint(second)


def test_report_only_renders_the_store(tmp_path: Path, fleet: Any) -> None:
    root, _, _ = fleet
    _, report = audit(tmp_path, str(root))
    out = tmp_path / "stored.json"
    code = main(
        ["audit", "--report-only", "--db", str(tmp_path / "audit.sqlite"),
         "--format", "json", "-o", str(out), "-q"]
    )  # fmt: skip
    assert code == ExitCode.FINDINGS
    stored = json.loads(out.read_text())
    assert stored["findings"] == report["findings"]
    assert stored["repositories"] == report["repositories"]


def test_the_store_never_holds_a_raw_key(tmp_path: Path, fleet: Any) -> None:
    root, shared, single = fleet
    audit(tmp_path, str(root))
    db = tmp_path / "audit.sqlite"
    with sqlite3.connect(db) as conn:
        dump = "\n".join(conn.iterdump())
    assert shared not in dump and single not in dump
    assert fingerprint_of(shared) in dump
    for path in tmp_path.glob("audit.sqlite*"):
        raw = path.read_bytes()
        assert shared.encode() not in raw and single.encode() not in raw


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "html"])
def test_every_format_names_the_repository(tmp_path: Path, fleet: Any, fmt: str) -> None:
    root, _, _ = fleet
    out = tmp_path / "report.out"
    code = main(
        ["audit", str(root / "b"), "--db", str(tmp_path / "db"), "--format", fmt,
         "-o", str(out), "-q"]
    )  # fmt: skip
    assert code == ExitCode.FINDINGS
    text = out.read_text()
    assert str(root / "b") in text


def test_html_report_has_a_repository_column_and_chart(tmp_path: Path, fleet: Any) -> None:
    root, shared, single = fleet
    out = tmp_path / "report.html"
    code = main(["audit", str(root), "--db", str(tmp_path / "db"), "--format", "html",
                 "-o", str(out), "-q"])  # fmt: skip
    assert code == ExitCode.FINDINGS
    page = out.read_text()
    assert "Repositories with the most keys" in page
    assert page.count(str(root / "b")) >= 2  # the chart's bar and the key rows
    assert shared not in page and single not in page


def test_text_report_has_the_repository_table(tmp_path: Path, fleet: Any) -> None:
    root, _, _ = fleet
    broken = root / "zz-broken"
    broken.mkdir()
    (broken / ".git").write_text("gitdir: /nonexistent\n")
    out = tmp_path / "report.txt"
    main(["audit", str(root), "--db", str(tmp_path / "db"), "-o", str(out), "-q"])
    table = out.read_text().split("worst exposure")[1]
    lines = table.splitlines()
    assert [ln.split()[-1] for ln in lines[1:] if not ln.lstrip().startswith("FAILED")] == [
        str(root / n) for n in ("a", "b", "clean", "zz-broken")
    ]
    assert "FAILED: " in table

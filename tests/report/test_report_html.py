"""The HTML report: built from real repositories and the real fake API, then read in headless
Chromium (Debian's package, driven by Playwright) the way a person reads it."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

import conftest
from conftest import GIT_ENV, git, make_key, tool
from fake_openrouter import FakeOpenRouter
from gitrepo_helpers import write
from keysentry.cli import main
from keysentry.console.progress import CI_VARIABLES
from keysentry.models import (
    CommitInfo,
    Finding,
    Issue,
    Location,
    ScanResult,
    ScanStats,
    fingerprint_of,
    redact,
)
from keysentry.report import html

ARTIFACTS = conftest.TESTS / "artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
"""No network of its own: no component updates, sync, QUIC or background fetches."""
HOSTILE_NAME = "<img src=x onerror=alert(1)>.env"
HOSTILE_MESSAGE = "add <script>alert(1)</script> settings"
HOSTILE_REPOSITORY = "<img src=x onerror=alert(1)> mirror"


# -- the reporter alone: escaping, redaction, self-containment ----------------------------------


def _result(secret: str, *, show_secrets: bool = False, **loc: Any) -> ScanResult:
    where = Location(
        path=loc.pop("path", "app/.env"),
        line=3,
        column=9,
        commit=CommitInfo(
            id="c0ffee" * 6 + "abcd",
            author=loc.pop("author", "Dev <dev@example.test>"),
            date="2024-05-06T07:08:09+02:00",
            summary=loc.pop("summary", "add settings"),
        ),
        exposure="pushed",
        snippet=f"KEY={redact(secret)}",
        **loc,
    )
    finding = Finding(
        rule_id="openrouter-api-key",
        severity="high",
        fingerprint=fingerprint_of(secret),
        redacted=redact(secret),
        locations=(where,),
        secret=secret,
    )
    stats = ScanStats(
        counters={"blobs": 3, "bytes": 99},
        issues=(Issue("size-cap", "big.bin", "over 64 MiB"),),
        notes=("a note",),
    )
    return ScanResult(
        "history",
        ("repo",),
        (finding,),
        stats,
        show_secrets,
        started_at="2026-12-02T01:00:00+00:00",
    )


def test_every_value_from_the_scan_is_escaped_and_redacted(key: str) -> None:
    """File names, commit messages, authors, notes and skipped paths come from the scanned
    repository: markup in them is text, and a key in them is redacted like the key itself."""
    other = make_key()
    result = _result(
        key,
        path=f"<img src=x onerror=alert(1)>{other}.env",
        author=f"<b>{other}</b>",
        summary="<script>alert(1)</script>",
    )
    stats = replace(
        result.stats,
        notes=(f"note {other}",),
        issues=(Issue("unreadable", f"<i>{other}</i>", "denied"),),
    )
    page = html.render(replace(result, stats=stats))
    assert key not in page and other not in page
    assert redact(other) in page and redact(key) in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>" not in page and "<i>" not in page


def test_show_secrets_shows_the_key_and_says_so_at_the_top(key: str) -> None:
    page = html.render(_result(key, show_secrets=True))
    assert key in page
    body = page[page.index("<body>") :]
    assert body.index('id="secrets-shown"') < body.index("<h1>")
    assert 'id="secrets-shown"' not in html.render(_result(key))


def test_the_page_loads_nothing_from_outside(key: str) -> None:
    page = html.render(_result(key))
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:|//)", page, re.IGNORECASE)
    assert "url(" not in page and "@import" not in page
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None and "default-src &#39;none&#39;" in csp.group(1)
    # The policy admits the page's own script by hash, so an injected one would not run.
    script = re.search(r"<script>(.*?)</script>", page, re.DOTALL)
    assert script is not None
    digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    assert f"sha256-{digest}" in csp.group(1)


def test_a_clean_scan_still_lists_what_was_not_scanned() -> None:
    stats = ScanStats(counters={"files": 2}, issues=(Issue("symlink", "link", "not followed"),))
    page = html.render(ScanResult("scan", (".",), (), stats))
    assert "No key found." in page and "Some inputs were not fully scanned" in page
    assert "<td>symlink</td><td><code>link</code></td><td>not followed</td>" in page
    assert "<script>" not in page  # nothing to sort or filter


def test_placeholder_keys_listed_on_request_still_get_rows(key: str) -> None:
    result = _result(key)
    only = replace(result.findings[0], placeholder=True, severity="info")
    page = html.render(replace(result, findings=(only,)))
    assert "Leaked OpenRouter keys: 0 found" in page
    assert page.count('<tbody class="key"') == 1 and "placeholder-shaped" in page


@dataclass(frozen=True, slots=True)
class _FleetLocation(Location):
    """A location that names its repository, as a fleet audit's result will (issue 9)."""

    repository: str = ""


def test_a_result_that_names_repositories_gets_a_column_and_a_chart() -> None:
    findings = []
    for n, repos in enumerate((("api", "web"), ("api",))):
        secret = make_key()
        where = tuple(_FleetLocation(f"f{n}.env", 1, 1, repository=r) for r in repos)
        findings.append(
            Finding(
                "openrouter-api-key", "high", fingerprint_of(secret), redact(secret), where, secret
            )
        )
    page = html.render(ScanResult("audit", ("org",), tuple(findings), ScanStats()))
    assert '<th data-sort="repositories">Repositories</th>' in page
    assert 'id="chart-repositories"' in page
    assert "<td>api, web</td>" in page
    assert "Repository or path contains" in page


def _audit_result(findings: tuple[Finding, ...], rows: list[dict[str, Any]]) -> ScanResult:
    stats = ScanStats(counters={"blobs": 9, "repositories": len(rows)})
    return ScanResult("audit", ("fleet",), findings, stats, extra={"repositories": rows})


def _repo_row(name: str, **fields: Any) -> dict[str, Any]:
    row = {"repository": name, "objects": 3, "bytes": 100, "duration_s": 0.25, "findings": 0,
           "worst_exposure": None, "failure": None}  # fmt: skip
    return {**row, **fields}


def test_an_audit_lists_every_repository(key: str) -> None:
    """The text report's table, as rows: with keys, failed (with its reason), clean; a
    repository with keys whose audit was incomplete is listed under both."""
    rows = [
        _repo_row("clean", objects=7, bytes=2048),
        _repo_row("broken", failure="not a git repository: broken", objects=0, bytes=0),
        _repo_row("api", findings=2, worst_exposure="pushed", duration_s=1.5),
        _repo_row("half", findings=1, worst_exposure="head", failure="incomplete: 1 object"),
    ]
    page = html.render(_audit_result((), rows))
    names = re.findall(r'<tr class="repo" data-name="([^"]+)" data-result="([^"]+)"', page)
    # Most urgent first (the order without scripts): keys by exposure, failed, clean.
    assert names == [("api", "keys"), ("half", "keys failed"), ("broken", "failed"),
                     ("clean", "clean")]  # fmt: skip
    assert "Repositories (4)" in page
    assert "2 with keys, 1 clean; 2 could not be fully audited" in page
    assert 'data-objects="7" data-bytes="2048"' in page and "2.0 KiB" in page and "1.5 s" in page
    assert "not a git repository: broken" in page and "failed: incomplete: 1 object" in page
    assert 'id="fig-repositories"' in page and "2 not fully audited" in page
    # No key found, and still a table to sort: the script is there, admitted by its hash.
    script = re.search(r"<script>(.*?)</script>", page, re.DOTALL)
    assert script is not None
    digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    assert f"sha256-{digest}" in page
    # Not an audit: no repository table.
    assert 'id="repositories"' not in html.render(_result(key))


def test_a_failed_repository_s_name_and_reason_are_escaped_and_redacted(key: str) -> None:
    name = f"{HOSTILE_NAME}{key}"
    rows = [_repo_row(name, failure=f"not a git repository: {name}")]
    page = html.render(_audit_result((), rows))
    assert key not in page and redact(key) in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_every_scanning_command_writes_the_html_report(
    tmp_path: Path, repo: Path, key: str
) -> None:
    (repo / "settings.py").write_text(f"KEY = '{key}'\n")
    (repo / "link").symlink_to("settings.py")
    out = tmp_path / "scan.html"
    assert _keysentry("scan", str(repo), "--format", "html", "-o", str(out)) == 1
    page = out.read_text()
    assert redact(key) in page and key not in page and "<td>symlink</td>" in page
    git(repo, "add", "settings.py")
    os.chdir(repo)
    assert _keysentry("staged", "--format", "html", "-o", str(tmp_path / "staged.html")) == 1
    assert "keysentry staged" in (tmp_path / "staged.html").read_text()
    git(repo, "commit", "-q", "-m", "one")
    git(repo, "commit", "-q", "--allow-empty", "-m", "two")
    code = _keysentry("ci", "--range", "HEAD~1..HEAD", "--format", "html", "-o", "ci.html")
    assert code == 0
    page = (repo / "ci.html").read_text()
    assert "keysentry ci" in page and "No key found." in page and "commit range chosen" in page
    assert "ran 20" in page and "start time not recorded" not in page


def test_jinja2_is_imported_only_for_the_html_format(tmp_path: Path) -> None:
    probe = (
        "import sys; from keysentry.cli import main; "
        "main(['scan', sys.argv[1], '--format', sys.argv[2], '--quiet']); "
        "print('jinja2' in sys.modules)"
    )
    (tmp_path / "a.txt").write_text("nothing here\n")
    for fmt, loaded in (("text", "False"), ("json", "False"), ("html", "True")):
        proc = subprocess.run(
            [sys.executable, "-c", probe, str(tmp_path), fmt],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.stdout.strip().endswith(loaded), (fmt, proc.stderr)


# -- a generated repository with several keys, validated against the fake API ------------------


def _commit(repo: Path, files: dict[str, str | bytes | None], message: str, day: str) -> str:
    write(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message, "--date", f"{day}T10:00:00+00:00")
    return git(repo, "rev-parse", "HEAD").strip()


@dataclass(frozen=True)
class Audit:
    report: Path
    keys: dict[str, str]
    """pushed (live), hostile (invalid, in HEAD), tagged (unknown), dangling (live)."""


def _build_repository(root: Path, fake: FakeOpenRouter) -> dict[str, str]:
    keys = {
        "pushed": fake.add_key(name="ci-deploy"),
        "hostile": make_key(),  # never issued: invalid
        "tagged": fake.add_key(),
        "dangling": fake.add_key(),
    }
    fake.set_controls(keys["tagged"], force_status=403)
    repo, remote = root / "repo", root / "origin.git"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(root, "init", "-q", "--bare", "-b", "main", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    _commit(repo, {"config/.env": f"OPENROUTER_API_KEY={keys['pushed']}\n"}, "config", "2024-02-10")
    _commit(repo, {"docs/setup.md": f"export KEY={keys['pushed']}\n"}, "docs", "2024-03-02")
    git(repo, "push", "-q", "origin", "main")
    _commit(repo, {HOSTILE_NAME: f"KEY={keys['hostile']}\n"}, HOSTILE_MESSAGE, "2024-04-20")
    git(repo, "checkout", "-q", "-b", "release")
    _commit(repo, {"release.txt": f"token {keys['tagged']}\n"}, "release", "2024-06-15")
    git(repo, "tag", "v1.0")
    git(repo, "checkout", "-q", "main")
    git(repo, "branch", "-q", "-D", "release")
    _commit(repo, {"app.py": f"KEY = '{keys['dangling']}'\n"}, "oops", "2024-09-01")
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    git(repo, "reflog", "expire", "--expire=now", "--all")
    return keys


def _keysentry(*args: str) -> int:
    return main([*args, "--quiet"])


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Audit]:
    """``keysentry history --validate --format html`` on the generated repository. Module
    scope (one build for the browser tests), so conftest's per-test isolation is redone here."""
    root = tmp_path_factory.mktemp("audit")
    with FakeOpenRouter() as fake, pytest.MonkeyPatch.context() as mp:
        for name, value in GIT_ENV.items():
            mp.setenv(name, value)
        mp.setenv("OPENROUTER_BASE_URL", fake.base_url)
        mp.setenv("XDG_CACHE_HOME", str(root / "cache"))
        for name in CI_VARIABLES:  # in a CI job every commit would count as pushed
            mp.delenv(name, raising=False)
        mp.chdir(root)  # the report names its target as given: "repo"
        keys = _build_repository(root, fake)
        report = root / "report.html"
        assert (
            _keysentry("history", "repo", "--validate", "--format", "html", "-o", "report.html")
            == 1
        )
        yield Audit(report, keys)


# -- the browser ------------------------------------------------------------------------------


@dataclass
class Seen:
    """What the page did: console errors, script errors, requests and dialogs."""

    errors: list[str]
    requests: list[str]
    dialogs: list[str]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = tool("chromium")  # conftest.py: every test using this fixture needs it
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # Debian's build, never one downloaded by `playwright install`. launch() gives the
        # browser a fresh temporary profile (user-data-dir) and removes it on close.
        browser = pw.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        yield browser
        browser.close()


def open_report(browser: Any, report: Path, *, scripts: bool = True) -> tuple[Any, Seen]:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, java_script_enabled=scripts)
    seen = Seen([], [], [])
    page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: seen.errors.append(str(exc)))
    page.on("request", lambda r: seen.requests.append(r.url))

    def dialog(d: Any) -> None:
        seen.dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", dialog)
    # Anything but the report file itself is recorded above and refused here.
    page.route(re.compile(r"^(?!file:).*"), lambda route: route.abort())
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    return page, seen


@pytest.fixture
def page(browser: Any, audit: Audit) -> Iterator[tuple[Any, Seen]]:
    page, seen = open_report(browser, audit.report)
    yield page, seen
    page.close()


def visible_rows(page: Any) -> list[Any]:
    return [b for b in page.locator("tbody.key").all() if b.is_visible()]


def figure(page: Any, name: str) -> str:
    return page.locator(f"#fig-{name} .n").inner_text().strip()


# -- what a person sees -----------------------------------------------------------------------


@pytest.mark.slow
def test_headline_numbers(page: tuple[Any, Seen]) -> None:
    p, _ = page
    assert figure(p, "found") == "4"
    assert figure(p, "live") == "2"
    assert figure(p, "invalid") == "1"
    assert figure(p, "unchecked") == "1"
    assert "1 unknown" in p.locator("#fig-unchecked").inner_text()
    assert int(figure(p, "scanned")) > 0 and figure(p, "skipped") == "0"
    header = p.locator("header").inner_text()
    assert "keysentry history" in header and "ran 20" in header and "UTC" in header
    assert "disable or delete the 2 live key(s) now" in p.locator(".next").inner_text()


@pytest.mark.slow
def test_one_row_per_key_redacted(page: tuple[Any, Seen], audit: Audit) -> None:
    p, _ = page
    rows = visible_rows(p)
    assert len(rows) == 4
    shown = {r.locator("code.redacted").inner_text() for r in rows}
    assert shown == {redact(k) for k in audit.keys.values()}
    text = p.content() + p.locator("body").inner_text()
    assert not any(k in text for k in audit.keys.values())
    assert p.locator("#secrets-shown").count() == 0
    by_key = {r.locator("code.redacted").inner_text(): r for r in rows}
    pushed = by_key[redact(audit.keys["pushed"])]
    assert pushed.get_attribute("data-exposure") == "pushed"
    assert "live" in pushed.locator(".badge").inner_text()
    assert "LIVE, label" in pushed.inner_text() and "limit $10" in pushed.inner_text()
    assert "2024-02-10" in pushed.inner_text()  # first introduced, not the later copy
    tagged = by_key[redact(audit.keys["tagged"])]
    assert tagged.get_attribute("data-exposure") == "tag"
    assert "unknown (" in tagged.inner_text()
    fp = fingerprint_of(audit.keys["pushed"])
    assert pushed.locator(".fp").get_attribute("title").endswith(fp)  # full on hover
    assert by_key[redact(audit.keys["dangling"])].get_attribute("data-exposure") == "unreachable"


@pytest.mark.slow
def test_rows_sort_by_a_column_both_ways(page: tuple[Any, Seen]) -> None:
    p, _ = page

    def introduced() -> list[str]:
        return [r.get_attribute("data-introduced")[:10] for r in visible_rows(p)]

    p.get_by_role("button", name="First introduced").click()
    assert introduced() == ["2024-02-10", "2024-04-20", "2024-06-15", "2024-09-01"]
    p.get_by_role("button", name="First introduced").click()
    assert introduced() == ["2024-09-01", "2024-06-15", "2024-04-20", "2024-02-10"]
    p.get_by_role("button", name="Worst exposure").click()
    exposures = [r.get_attribute("data-exposure") for r in visible_rows(p)]
    assert exposures == ["pushed", "head", "tag", "unreachable"]


@pytest.mark.slow
def test_rows_filter_by_status_exposure_and_path(page: tuple[Any, Seen]) -> None:
    p, _ = page
    p.select_option("#f-status", "live")
    assert {r.get_attribute("data-status") for r in visible_rows(p)} == {"live"}
    assert len(visible_rows(p)) == 2
    assert p.locator("#shown").inner_text() == "showing 2 of 4 keys"
    p.select_option("#f-exposure", "unreachable")
    assert len(visible_rows(p)) == 1
    p.select_option("#f-status", "")
    p.select_option("#f-exposure", "")
    p.fill("#f-where", "docs/setup")
    rows = visible_rows(p)
    assert len(rows) == 1 and rows[0].get_attribute("data-exposure") == "pushed"
    p.fill("#f-where", "")
    assert len(visible_rows(p)) == 4


@pytest.mark.slow
def test_an_expanded_key_shows_its_locations(page: tuple[Any, Seen], audit: Audit) -> None:
    p, _ = page
    row = p.locator("tbody.key", has=p.locator(f"text={redact(audit.keys['pushed'])}"))
    where = row.locator("ol.where")
    assert not where.is_visible()
    row.locator("summary").click()
    assert where.is_visible()
    items = where.locator("li").all_inner_texts()
    assert len(items) == 2
    text = "\n".join(items)
    assert "config/.env:1:20" in text and "docs/setup.md:1:12" in text
    assert "Test Author <author@example.test>" in text
    assert "exposure pushed" in text
    assert f"OPENROUTER_API_KEY={redact(audit.keys['pushed'])}" in text  # the redacted snippet
    assert fingerprint_of(audit.keys["pushed"]) in row.locator("details").inner_text()


@pytest.mark.slow
def test_charts_have_drawn_marks(page: tuple[Any, Seen]) -> None:
    p, _ = page
    for chart in ("#chart-timeline", "#chart-exposure"):
        marks = p.locator(f"{chart} svg rect").all()
        assert marks, chart
        for mark in marks:
            box = mark.bounding_box()
            assert box is not None and box["width"] > 1 and box["height"] > 1, chart
    labels = p.locator("#chart-exposure svg text").all_text_contents()
    assert {"pushed", "head", "tag", "unreachable"} <= set(labels)
    titles = p.locator("#chart-timeline rect title").all_text_contents()
    assert {t.split(":")[0] for t in titles} == {"2024-02", "2024-04", "2024-06", "2024-09"}


@pytest.mark.slow
def test_no_console_error_and_no_request_leaves_the_page(
    page: tuple[Any, Seen], audit: Audit
) -> None:
    p, seen = page
    p.get_by_role("button", name="Status").click()
    p.locator("tbody.key summary").first.click()
    p.fill("#f-where", "x")
    assert seen.errors == []
    assert seen.requests == [audit.report.as_uri()]


@pytest.mark.slow
def test_hostile_file_name_and_commit_message_stay_text(page: tuple[Any, Seen]) -> None:
    p, seen = page
    for summary in p.locator("tbody.key summary").all():
        summary.click()
    body = p.locator("body").inner_text()
    assert HOSTILE_NAME + ":1:5" in body
    assert HOSTILE_MESSAGE in body
    assert p.locator("img").count() == 0
    assert p.locator("script").count() == 1  # the report's own
    assert seen.dialogs == [] and seen.errors == []


@pytest.mark.slow
def test_page_reads_correctly_with_scripts_off(browser: Any, audit: Audit) -> None:
    p, seen = open_report(browser, audit.report, scripts=False)
    assert figure(p, "found") == "4"
    assert len(visible_rows(p)) == 4
    assert not p.locator("#filters").is_visible()  # controls that need the script stay hidden
    assert p.locator("th button").count() == 0
    assert p.locator("#chart-exposure svg rect").count() > 0
    where = p.locator("tbody.key ol.where").first
    p.locator("tbody.key summary").first.click()  # <details> opens without a script
    assert where.is_visible()
    assert seen.errors == []
    p.close()


@pytest.mark.slow
def test_screenshot_for_the_reviewer(page: tuple[Any, Seen], audit: Audit) -> None:
    """Saves tests/artifacts/html-report.png (gitignored); docs/html-report.png is a copy."""
    p, _ = page
    p.locator("tbody.key summary").first.click()
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "html-report.png"
    p.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


# -- an audit's page: every repository, sortable and filterable -------------------------------


@dataclass(frozen=True)
class Fleet:
    report: Path
    root: Path
    key_in_name: str
    """A key in the failed repository's directory name: redacted wherever it is shown."""


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """``keysentry audit --format html`` on four real repositories (two with keys, one clean,
    one failed whose name is markup and holds a key), plus the text report from the same
    run. Module scope, so conftest's per-test isolation is redone here."""
    root = tmp_path_factory.mktemp("fleet")
    with pytest.MonkeyPatch.context() as mp:
        for name, value in GIT_ENV.items():
            mp.setenv(name, value)
        mp.setenv("XDG_CACHE_HOME", str(root / "cache"))
        for name in CI_VARIABLES:
            mp.delenv(name, raising=False)
        mp.chdir(root)
        repos = root / "repos"
        contents: dict[str, dict[str, str | bytes | None]] = {
            "api": {"a.env": f"K={make_key()}\n", "b.py": f"k = '{make_key()}'\n"},
            "web": {"w.env": f"K={make_key()}\n"},
            "docs": {"big.txt": "documentation\n" * 400},
        }
        for name, files in contents.items():
            (repos / name).mkdir(parents=True)
            git(repos / name, "init", "-q", "-b", "main")
            _commit(repos / name, files, "first", "2024-05-01")
        key_in_name = make_key()
        broken = repos / f"{HOSTILE_REPOSITORY} {key_in_name}"
        broken.mkdir()
        (broken / ".git").write_text("gitdir: /nonexistent\n")
        code = _keysentry("audit", str(repos), "--db", "audit.sqlite", "--jobs", "1",
                          "--clone-dir", "clones", "--format", "html:fleet.html",
                          "--format", "text", "--output", "fleet.txt")  # fmt: skip
        assert code == 1
        yield Fleet(root / "fleet.html", repos, key_in_name)


@pytest.fixture
def fleet_page(browser: Any, fleet: Fleet) -> Iterator[tuple[Any, Seen]]:
    page, seen = open_report(browser, fleet.report)
    yield page, seen
    page.close()


def visible_repositories(page: Any) -> list[Any]:
    return [r for r in page.locator("#repositories tr.repo").all() if r.is_visible()]


def _basename(row: Any) -> str:
    return row.locator("td code").inner_text().rsplit("/", 1)[-1]


@pytest.mark.slow
def test_an_audit_page_lists_every_repository_as_the_text_table_does(
    fleet_page: tuple[Any, Seen], fleet: Fleet
) -> None:
    p, seen = fleet_page
    rows = visible_repositories(p)
    assert [_basename(r) for r in rows[:2]] == ["api", "web"]  # most keys first
    assert [r.get_attribute("data-result") for r in rows] == ["keys", "keys", "failed", "clean"]
    text = (fleet.root.parent / "fleet.txt").read_text()
    for row in rows:  # the same figures as the text report's table
        cells = row.locator("td").all_inner_texts()
        name, keys, objects = cells[0], cells[2], cells[4]
        line = next(x for x in text.splitlines() if x.endswith(name))
        assert line.split()[0] == objects and line.split()[4] == keys, (line, cells)
    assert figure(p, "repositories") == "4"
    assert "1 not fully audited" in p.locator("#fig-repositories").inner_text()
    assert seen.errors == [] and seen.requests == [fleet.report.as_uri()]


@pytest.mark.slow
def test_a_failed_repository_shows_its_reason_as_text(
    fleet_page: tuple[Any, Seen], fleet: Fleet
) -> None:
    p, seen = fleet_page
    (failed,) = [r for r in visible_repositories(p) if r.get_attribute("data-result") == "failed"]
    reason = failed.locator(".reason").inner_text()
    assert reason.startswith("not a git repository: ") and HOSTILE_REPOSITORY in reason
    assert redact(fleet.key_in_name) in reason
    assert fleet.key_in_name not in p.content()
    assert p.locator("img").count() == 0 and seen.dialogs == [] and seen.errors == []


@pytest.mark.slow
def test_repositories_sort_by_a_column_both_ways(fleet_page: tuple[Any, Seen]) -> None:
    p, _ = fleet_page

    def column(name: str) -> list[float]:
        return [float(r.get_attribute(f"data-{name}")) for r in visible_repositories(p)]

    for button, field in (("Bytes", "bytes"), ("Objects", "objects"), ("Time", "seconds")):
        p.locator("#repositories").get_by_role("button", name=button).click()
        assert column(field) == sorted(column(field)), button
        p.locator("#repositories").get_by_role("button", name=button).click()
        assert column(field) == sorted(column(field), reverse=True), button
    p.locator("#repositories").get_by_role("button", name="Bytes").click()
    rows = visible_repositories(p)
    assert rows[0].get_attribute("data-result") == "failed" and _basename(rows[-1]) == "docs"
    p.locator("#repositories").get_by_role("button", name="Keys").click()
    assert column("keys") == [0, 0, 1, 2]
    p.locator("#repositories").get_by_role("button", name="Repository").click()
    names = [_basename(r) for r in visible_repositories(p)]
    assert names.index("api") < names.index("docs") < names.index("web")


@pytest.mark.slow
def test_repositories_filter_by_result_and_name(fleet_page: tuple[Any, Seen]) -> None:
    p, _ = fleet_page
    for result, expected in (("keys", {"api", "web"}), ("clean", {"docs"}), ("failed", None)):
        p.select_option("#r-result", result)
        rows = visible_repositories(p)
        if expected is None:
            assert len(rows) == 1 and HOSTILE_REPOSITORY in _basename(rows[0])
        else:
            assert {_basename(r) for r in rows} == expected
    p.select_option("#r-result", "")
    p.fill("#r-name", "/DOCS")  # any case
    assert [_basename(r) for r in visible_repositories(p)] == ["docs"]
    assert p.locator("#repositories-shown").inner_text() == "showing 1 of 4 repositories"
    p.fill("#r-name", "")
    assert len(visible_repositories(p)) == 4
    # The key table's own controls still work on the same page.
    p.fill("#f-where", "/api")
    assert len(visible_rows(p)) == 2 and p.locator("#shown").inner_text() == "showing 2 of 3 keys"


@pytest.mark.slow
def test_an_audit_page_reads_in_order_with_scripts_off(browser: Any, fleet: Fleet) -> None:
    p, seen = open_report(browser, fleet.report, scripts=False)
    rows = visible_repositories(p)
    assert [r.get_attribute("data-result") for r in rows] == ["keys", "keys", "failed", "clean"]
    assert not p.locator("#repository-filters").is_visible()
    assert p.locator("#repositories th button").count() == 0
    body = p.locator("body").inner_text()
    # Keys, then the repositories, then what was not fully scanned.
    assert body.index("Keys (3)") < body.index("Repositories (4)") < body.index("Not fully")
    assert seen.errors == []
    ARTIFACTS.mkdir(exist_ok=True)
    p.close()
    p, _ = open_report(browser, fleet.report)
    p.screenshot(path=str(ARTIFACTS / "html-audit.png"), full_page=True)
    p.close()

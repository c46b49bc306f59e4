"""End to end through keysentry.cli.main: scan --validate, --fail-on, the cache, and the rule
that a key never appears in any output, log record or exception text."""

from __future__ import annotations

import io
import json
import logging
import sys
from pathlib import Path

import pytest

from fake_openrouter import FakeOpenRouter, fake_openrouter_fixture, hash_of, make_key
from keysentry.errors import ExitCode, KeysentryError
from keysentry.validate.management import ManagementClient

fake = fake_openrouter_fixture()


@pytest.fixture
def main(fake: FakeOpenRouter, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from keysentry.cli import main

    monkeypatch.setenv("OPENROUTER_BASE_URL", fake.base_url)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    # The base URL comes from OPENROUTER_BASE_URL: a [validation] table is read only from an
    # explicit --config, never from the working directory's or a scanned tree's config.
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return main


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    return root


def plant(tree: Path, *keys: str) -> None:
    for n, key in enumerate(keys):
        (tree / f"settings_{n}.py").write_text(f'OPENROUTER_API_KEY = "{key}"\n')


def scan_json(main, tmp_path: Path, tree: Path, *extra: str) -> tuple[int, dict]:
    out = tmp_path / "report.json"
    code = main(["scan", str(tree), "--validate", "--format", "json", "--output", str(out), *extra])
    return code, json.loads(out.read_text())


def by_fingerprint(report: dict) -> dict[str, dict]:
    return {f["fingerprint"]: f for f in report["findings"]}


def test_scan_validate_reports_every_outcome(main, fake, tree, tmp_path):
    live, mgmt, dead = fake.add_key(), fake.add_key("management"), make_key()
    flaky = fake.add_key()
    fake.set_controls(flaky, force_status=403)
    plant(tree, live, mgmt, dead, flaky)
    code, report = scan_json(main, tmp_path, tree)
    assert code == ExitCode.FINDINGS
    found = by_fingerprint(report)
    assert found[hash_of(live)]["validation"]["status"] == "live"
    assert found[hash_of(live)]["validation"]["details"]["limit"] == 10.0
    assert found[hash_of(mgmt)]["validation"]["details"]["is_management_key"] is True
    assert found[hash_of(mgmt)]["severity"] == "critical"
    assert found[hash_of(dead)]["validation"]["status"] == "invalid"
    assert found[hash_of(flaky)]["validation"]["status"] == "unknown"
    assert found[hash_of(flaky)]["validation"]["reason"]
    assert sorted(r.token_hash for r in fake.requests) == sorted(
        hash_of(k) for k in (live, mgmt, dead, flaky)
    )


def test_same_key_in_many_files_is_probed_once(main, fake, tree, tmp_path):
    key = fake.add_key()
    plant(tree, key, key, key)
    code, _ = scan_json(main, tmp_path, tree)
    assert code == ExitCode.FINDINGS
    assert len(fake.requests) == 1


def test_fail_on_live(main, fake, tree, tmp_path):
    dead = make_key()
    flaky = fake.add_key()
    # A 503 with a short Retry-After: a server error that keeps the retries fast.
    fake.set_controls(flaky, force_status=503, retry_after=0.05)
    plant(tree, dead, flaky)
    code, _ = scan_json(main, tmp_path, tree, "--fail-on", "live", "--no-cache")
    assert code == ExitCode.CLEAN, "invalid and unknown keys do not fail --fail-on live"
    code, _ = scan_json(main, tmp_path, tree, "--no-cache")
    assert code == ExitCode.FINDINGS, "--fail-on any is the default"
    plant(tree, dead, flaky, fake.add_key())
    code, _ = scan_json(main, tmp_path, tree, "--fail-on", "live", "--no-cache")
    assert code == ExitCode.FINDINGS


def test_cache_between_runs_and_no_cache(main, fake, tree, tmp_path):
    live = fake.add_key()
    plant(tree, live)
    scan_json(main, tmp_path, tree)
    _, report = scan_json(main, tmp_path, tree)
    assert len(fake.requests) == 1
    assert report["findings"][0]["validation"]["cached"] is True
    cache = tmp_path / "xdg" / "keysentry" / "validation-cache.json"
    assert hash_of(live) in cache.read_text() and live not in cache.read_text()
    _, report = scan_json(main, tmp_path, tree, "--no-cache")
    assert len(fake.requests) == 2
    assert report["findings"][0]["validation"]["cached"] is False


def test_text_report_shows_validation(main, fake, tree, capsys):
    plant(tree, fake.add_key("management"))
    assert main(["scan", str(tree), "--validate"]) == ExitCode.FINDINGS
    out = capsys.readouterr().out
    assert "LIVE" in out and "MANAGEMENT KEY" in out


def test_plain_http_base_url_is_refused(main, fake, tree, monkeypatch, capsys):
    monkeypatch.setenv("OPENROUTER_BASE_URL", "http://openrouter.example/api/v1")
    plant(tree, make_key())
    assert main(["scan", str(tree), "--validate"]) == ExitCode.USAGE
    assert "OPENROUTER_BASE_URL" in capsys.readouterr().err


def test_without_validate_nothing_is_sent(main, fake, tree, tmp_path):
    plant(tree, fake.add_key())
    out = tmp_path / "r.json"
    assert main(["scan", str(tree), "--format", "json", "--output", str(out)]) == 1
    assert fake.requests == []
    assert json.loads(out.read_text())["findings"][0]["validation"] is None


# -- a key never appears ------------------------------------------------------------------------


@pytest.mark.parametrize("verbosity", [(), ("-v",), ("-vv",)], ids=["quiet", "v", "vv"])
def test_no_key_in_any_output_log_or_exception(
    main, fake, tree, tmp_path, monkeypatch, capsys, caplog, verbosity
):
    caplog.set_level(logging.DEBUG)  # every logger, urllib3 included
    live, mgmt, dead = fake.add_key(), fake.add_key("management"), make_key()
    flaky, html, slow = fake.add_key(), fake.add_key(), fake.add_key()
    fake.set_controls(flaky, force_status=503, retry_after=0.05)
    fake.set_controls(html, force_status=403, non_json_body=True)
    fake.set_controls(slow, force_status=429, fail_times=1, retry_after=0.05)
    manager = fake.add_key("management", name="ops")
    leaked = (live, mgmt, dead, flaky, html, slow)
    secrets = (*leaked, manager)
    plant(tree, *leaked)
    report = tmp_path / "report.json"
    texts: list[str] = []

    def run(*args: str, stdin: str = "") -> int:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(args))
        captured = capsys.readouterr()
        texts.extend((captured.out, captured.err))
        return code

    v = list(verbosity)
    assert run("scan", str(tree), "--validate", "--format", "json", "-o", str(report), *v) == 1
    assert run("scan", str(tree), "--validate", "--no-cache", *v) == 1
    assert run("check-key", *v, stdin="\n".join(leaked)) == 1
    # check-key reads no config (so runs at 10 requests/s): the quick outcomes will do here.
    assert run("check-key", "--format", "json", *v, stdin="\n".join(leaked[:3])) == 1
    monkeypatch.setenv("LEAKED_KEYS", "\n".join(leaked[:3]))
    assert run("check-key", "--env", "LEAKED_KEYS", *v) == 1
    assert run("check-key", live, *v) == 2, "argv is refused without echoing the key"
    assert run("check-key", *v, stdin=live[:-1] + "X") == 2, "a typo is not echoed"
    # Management commands, first with keys that fail in every way the API can.
    for wrong in (live, dead, "sk-or-v1-" + live[9:-1]):
        monkeypatch.setenv("OPENROUTER_MANAGEMENT_KEY", wrong)
        assert run("keys", "list", *v) in (2, 3)
    monkeypatch.setenv("OPENROUTER_MANAGEMENT_KEY", manager)
    assert run("keys", "list", *v) == 0
    assert run("keys", "list", "--format", "json", *v) == 0
    assert run("keys", "audit", "--report", str(report), *v) == 1
    assert run("keys", "audit", "--report", str(report), "--format", "json", *v) == 1
    new_key = tmp_path / "rotated.key"
    assert run("keys", "rotate", hash_of(live), "--yes", "-o", str(new_key), *v) == 0
    assert run("revoke", "--report", str(report), "--dry-run", *v) == 0
    assert run("revoke", "--report", str(report), "--yes", *v) == 0
    assert run("revoke", "--delete", "--yes", *v, stdin="\n".join(secrets)) == 0

    exceptions: list[BaseException] = []
    with ManagementClient(live, base_url=fake.base_url) as client:
        try:
            client.list_keys()
        except KeysentryError as exc:
            exceptions.append(exc)
    exceptions.append(_chain(exceptions[0]))
    texts.extend(str(e) for e in exceptions)
    texts.extend(repr(e) for e in exceptions)
    texts.append(report.read_text())
    texts.append((tmp_path / "xdg" / "keysentry" / "validation-cache.json").read_text())
    texts.append(caplog.text)  # formatted records, tracebacks included
    texts.extend(repr(r.args) for r in caplog.records)
    if verbosity:
        assert any(
            "probe" in r.getMessage() or "validated" in r.getMessage() for r in caplog.records
        )
    everything = "\n".join(texts)
    for secret in secrets:
        assert secret not in everything
        assert secret[9:] not in everything, "not even the body without its prefix"


def _chain(exc: BaseException) -> BaseException:
    """The innermost exception in the cause/context chain."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return exc


# -- the cache follows what keysentry itself changed ---------------------------------------------


def _status(report: dict, key: str) -> tuple[str, bool]:
    v = by_fingerprint(report)[hash_of(key)]["validation"]
    return v["status"], v["cached"]


@pytest.mark.parametrize("how", ["disable", "delete"])
def test_revoke_drops_the_cached_live_outcome(main, fake, tree, tmp_path, monkeypatch, how):
    leaked, other = fake.add_key(), fake.add_key()
    monkeypatch.setenv("OPENROUTER_MANAGEMENT_KEY", fake.add_key("management"))
    plant(tree, leaked, other)
    _, first = scan_json(main, tmp_path, tree)
    assert _status(first, leaked) == ("live", False)
    report = tmp_path / "leaked.json"
    report.write_text(json.dumps({**first, "findings": [by_fingerprint(first)[hash_of(leaked)]]}))
    extra = ["--delete"] if how == "delete" else []
    assert main(["revoke", "--report", str(report), "--yes", *extra]) == ExitCode.CLEAN
    # The same cache, no --no-cache: the revoked key is asked again, the other is not.
    _, second = scan_json(main, tmp_path, tree)
    assert _status(second, leaked) == ("invalid", False)
    assert _status(second, other) == ("live", True)
    assert len(fake.requests_for(leaked, path="/api/v1/key")) == 2
    assert len(fake.requests_for(other, path="/api/v1/key")) == 1


@pytest.mark.parametrize("old", ["delete", "disable"])
def test_rotate_drops_the_cached_live_outcome_of_the_old_key(
    main, fake, tree, tmp_path, monkeypatch, old
):
    key = fake.add_key()
    monkeypatch.setenv("OPENROUTER_MANAGEMENT_KEY", fake.add_key("management"))
    plant(tree, key)
    _, first = scan_json(main, tmp_path, tree)
    assert _status(first, key) == ("live", False)
    new_key = tmp_path / "new.key"
    args = ["keys", "rotate", hash_of(key), "--old", old, "--yes", "-o", str(new_key)]
    assert main(args) == ExitCode.CLEAN
    _, second = scan_json(main, tmp_path, tree)
    assert _status(second, key) == ("invalid", False)


def test_text_report_says_when_an_outcome_came_from_the_cache(main, fake, tree, capsys):
    plant(tree, fake.add_key(), make_key())
    assert main(["scan", str(tree), "--validate"]) == ExitCode.FINDINGS
    fresh = capsys.readouterr()
    assert "cached" not in fresh.out and "validation cache" not in fresh.err
    assert main(["scan", str(tree), "--validate"]) == ExitCode.FINDINGS
    again = capsys.readouterr()
    assert len(fake.requests) == 2, "the second scan asked nothing"
    assert "validation: LIVE (cached " in again.out
    assert "; cached " in again.out and "validation: invalid (" in again.out
    assert "2 outcome(s) from the validation cache" in again.err


def test_cached_age_in_words():
    from datetime import datetime, timezone

    from keysentry.models import Validation
    from keysentry.report.text import describe_validation

    now = datetime(2026, 12, 2, 1, 12, 30, tzinfo=timezone.utc)
    live = Validation("live", checked_at="2026-12-02T01:00:00Z", cached=True)
    assert describe_validation(live, now) == "LIVE (cached 12 min ago)"
    dead = Validation("invalid", "rejected (401)", checked_at="2026-12-01T22:00:00Z", cached=True)
    assert describe_validation(dead, now).endswith("; cached 3 h 12 min ago)")
    assert describe_validation(Validation("live", checked_at="2026-12-02T01:12:00Z"), now) == "LIVE"


# -- one JSON form for a validation outcome -------------------------------------------------------


def test_check_key_and_scan_give_the_same_validation_json(
    main, fake, tree, tmp_path, monkeypatch, capsys
):
    live, mgmt, dead = fake.add_key(), fake.add_key("management"), make_key()
    plant(tree, live, mgmt, dead)
    _, report = scan_json(main, tmp_path, tree, "--no-cache")
    monkeypatch.setenv("KEYS", "\n".join((live, mgmt, dead)))
    capsys.readouterr()
    assert main(["check-key", "--env", "KEYS", "--format", "json"]) == ExitCode.FINDINGS
    checked = {
        k["fingerprint"]: k["validation"] for k in json.loads(capsys.readouterr().out)["keys"]
    }
    scanned = {fp: f["validation"] for fp, f in by_fingerprint(report).items()}
    for fp in (hash_of(live), hash_of(mgmt), hash_of(dead)):
        a, b = dict(checked[fp]), dict(scanned[fp])
        a.pop("checked_at"), b.pop("checked_at")
        assert a == b
    assert scanned[hash_of(live)]["reason"] is None, "no reason is null, not an empty string"
    assert scanned[hash_of(dead)]["reason"]


# -- the advice follows what ran ------------------------------------------------------------------


def test_next_step_advice_follows_validation(main, fake, tree, capsys):
    plant(tree, fake.add_key())
    main(["scan", str(tree)])
    assert "check it with --validate" in capsys.readouterr().err
    main(["scan", str(tree), "--validate"])
    err = capsys.readouterr().err
    assert "--validate" not in err
    assert "disable or delete the 1 live key(s) now" in err
    for f in tree.iterdir():
        f.unlink()
    plant(tree, make_key())
    main(["scan", str(tree), "--validate"])
    err = capsys.readouterr().err
    assert "--validate" not in err and "no key found answered live" in err


# -- what is never sent --------------------------------------------------------------------------


def test_allowlisted_baselined_and_inline_allowed_keys_are_never_sent(main, fake, tmp_path):
    work = Path.cwd()  # the fixture's working directory
    baselined, allowlisted, inline, reported = (fake.add_key() for _ in range(4))
    (work / "old.py").write_text(f'KEY = "{baselined}"\n')
    assert main(["baseline", "create", "-q", "."]) == ExitCode.CLEAN
    (work / ".keysentry.toml").write_text(
        f'[[allowlist]]\nfingerprint = "{hash_of(allowlisted)}"\nreason = "test key"\n'
    )
    (work / "docs.py").write_text(f'EXAMPLE = "{allowlisted}"\n')
    (work / "inline.py").write_text(f'KEY = "{inline}"  # gitleaks:allow\n')
    (work / "app.py").write_text(f'KEY = "{reported}"\n')
    out = tmp_path / "report.json"
    args = ["scan", ".", "--validate", "--baseline", ".keysentry-baseline.json"]
    assert main([*args, "--format", "json", "-o", str(out)]) == ExitCode.FINDINGS
    report = json.loads(out.read_text())
    assert list(by_fingerprint(report)) == [hash_of(reported)]
    counters = report["stats"]["counters"]
    assert (counters["allowlisted"], counters["baselined"], counters["allowed_inline"]) == (1, 1, 1)
    # The one key sent is the one reported: filtered keys never leave the machine.
    assert [r.token_hash for r in fake.requests] == [hash_of(reported)]

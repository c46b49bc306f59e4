"""check-key, keys list/audit, revoke and the management client, against the fake server."""

from __future__ import annotations

import io
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from fake_openrouter import FakeOpenRouter, fake_openrouter_fixture, hash_of, make_key
from keysentry.errors import ApiError, ExitCode
from keysentry.validate.audit import audit_key
from keysentry.validate.http import make_session
from keysentry.validate.management import ApiKeyRecord, ManagementClient
from keysentry.validate.probe import ProbeContext, probe_key
from virtualclock import VirtualClock

fake = fake_openrouter_fixture()


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def run(fake, monkeypatch, capsys):
    """Run the keysentry entry point with OPENROUTER_BASE_URL at the fake server."""
    monkeypatch.setenv("OPENROUTER_BASE_URL", fake.base_url)

    def invoke(*args: str, stdin: str = "") -> Run:
        main = _entry_point()
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Run(int(code), captured.out, captured.err)

    return invoke


def _entry_point():
    from keysentry.cli import main

    return main


@pytest.fixture
def manager(fake, monkeypatch) -> str:
    key = fake.add_key("management", name="ops")
    monkeypatch.setenv("OPENROUTER_MANAGEMENT_KEY", key)
    return key


def write_report(path: Path, *secrets: str, management: tuple[str, ...] = ()) -> Path:
    """A keysentry JSON report (redacted: fingerprints only) listing ``secrets``."""

    def validation(secret: str) -> dict[str, object] | None:
        if secret not in management:
            return None
        details = {"is_management_key": True, "limit": None}
        return {
            "status": "live",
            "reason": "",
            "checked_at": "",
            "cached": False,
            "details": details,
        }

    findings = [
        {
            "rule_id": "openrouter-api-key",
            "severity": "high",
            "fingerprint": hash_of(secret),
            "redacted": "sk-or-v1-abc...def",
            "locations": [{"path": "app.py", "line": 1, "column": 1}],
            "validation": validation(secret),
        }
        for secret in secrets
    ]
    path.write_text(json.dumps({"schema_version": 1, "findings": findings, "stats": {}}))
    return path


def probe(fake: FakeOpenRouter, key: str) -> str:
    vclock = VirtualClock()
    limiter = vclock.clock.bucket(100)
    ctx = ProbeContext(fake.base_url, limiter, vclock.now() + 10, retries=0, clock=vclock.clock)
    with make_session(fake.base_url) as session:
        return probe_key(session, key, ctx).status


# -- check-key --------------------------------------------------------------------------------


def test_check_key_from_stdin_live_exits_1(fake, run):
    key = fake.add_key()
    result = run("check-key", stdin=f"{key}\n")
    assert result.code == ExitCode.FINDINGS
    assert "live" in result.out
    assert "sk-or-v1-" in result.out and key not in result.out + result.err
    assert len(fake.requests) == 1


def test_check_key_from_env_in_json(fake, run, monkeypatch):
    live, mgmt, dead = fake.add_key(), fake.add_key("management"), make_key()
    monkeypatch.setenv("LEAKED", f"{live}\n\n# comment\n{mgmt}\n{dead}\n{live}\n")
    result = run("check-key", "--env", "LEAKED", "--format", "json")
    assert result.code == ExitCode.FINDINGS
    data = json.loads(result.out)
    assert data["schema_version"] == 1
    statuses = [(k["fingerprint"], k["validation"]["status"]) for k in data["keys"]]
    assert statuses == [
        (hash_of(live), "live"),
        (hash_of(mgmt), "live"),
        (hash_of(dead), "invalid"),
    ]
    assert data["keys"][1]["validation"]["details"]["is_management_key"] is True
    assert set(data["keys"][0]["validation"]) == {
        "status",
        "reason",
        "checked_at",
        "cached",
        "details",
    }
    for k in (live, mgmt, dead):
        assert k not in result.out


def test_check_key_invalid_only_exits_0(fake, run):
    result = run("check-key", stdin=make_key())
    assert result.code == ExitCode.CLEAN
    assert "invalid" in result.out


def test_check_key_unknown_exits_3(fake, run):
    key = fake.add_key()
    fake.set_controls(key, force_status=403)
    result = run("check-key", stdin=key)
    assert result.code == ExitCode.INCOMPLETE
    assert "unknown" in result.out


def test_check_key_says_what_it_waits_for_when_the_api_hangs(fake, run):
    key = fake.add_key()
    fake.set_controls(hang=True)
    result = run("check-key", "--timeout", "0.4", "--budget", "2", stdin=key)
    assert result.code == ExitCode.INCOMPLETE
    # Which attempt is seen first is up to the machine's load; that one is seen is not.
    waiting = re.escape(f"keysentry: waiting for {fake.base_url} (timeout 0.4 s, attempt ")
    assert re.search(waiting + r"[1-4] of 4\)\.\.\.\n", result.err), result.err
    assert "unknown" in result.out and "timeout" in result.out
    assert 1 <= len(fake.requests_for(key)) <= 4


def test_check_key_budget_bounds_every_wait_and_quiet_silences_it(fake, run):
    key = fake.add_key()
    fake.set_controls(hang=True)
    result = run("check-key", "--timeout", "30", "--budget", "2", stdin=key)
    assert result.code == ExitCode.INCOMPLETE
    # The one request may not outlive the budget: its timeout is cut down to fit.
    assert re.search(r"\(timeout (1\.\d|2) s, attempt 1 of 4\)", result.err), result.err
    assert len(fake.requests_for(key)) == 1
    quiet = run("check-key", "-q", "--timeout", "0.4", "--budget", "0.6", stdin=key)
    assert quiet.code == ExitCode.INCOMPLETE
    assert quiet.err == ""


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_check_key_timeout_must_be_positive(fake, run, value):
    result = run("check-key", "--timeout", value, stdin=fake.add_key())
    assert result.code == ExitCode.USAGE
    assert fake.requests == []


def test_check_key_refuses_keys_on_the_command_line(fake, run):
    key = make_key()
    result = run("check-key", key)
    assert result.code == ExitCode.USAGE
    assert key not in result.out + result.err
    assert "stdin" in result.err
    assert fake.requests == []


@pytest.mark.parametrize("stdin", ["", "\n# only a comment\n", "not-a-key\n"])
def test_check_key_bad_input_is_a_usage_error(fake, run, stdin):
    result = run("check-key", stdin=stdin)
    assert result.code == ExitCode.USAGE
    assert "Traceback" not in result.err


def test_check_key_names_the_bad_line_without_echoing_it(fake, run):
    typo = make_key()[:-1] + "Z"
    result = run("check-key", stdin=f"{fake.add_key()}\n{typo}\n")
    assert result.code == ExitCode.USAGE
    assert "line 2" in result.err
    assert typo not in result.err


def test_check_key_missing_env_var(run):
    result = run("check-key", "--env", "NOT_SET_ANYWHERE")
    assert result.code == ExitCode.USAGE
    assert "NOT_SET_ANYWHERE" in result.err


def test_key_commands_never_take_the_base_url_from_a_config_file(
    fake, run, manager, tmp_path, monkeypatch
):
    # A cloned repository's configuration must not be able to send the user's keys elsewhere.
    with FakeOpenRouter() as elsewhere:
        monkeypatch.chdir(tmp_path)
        (tmp_path / ".keysentry.toml").write_text(
            f'[validation]\nbase_url = "{elsewhere.base_url}"\n'
        )
        key = fake.add_key()
        assert run("check-key", stdin=key).code == ExitCode.FINDINGS
        assert run("keys", "list").code == ExitCode.CLEAN
        assert run("revoke", "--dry-run", stdin=key).code == ExitCode.CLEAN
        assert elsewhere.requests == []
    assert fake.requests_for(key) and fake.requests_for(manager)


# -- management key problems (S13) ------------------------------------------------------------


def test_missing_management_key(run):
    result = run("keys", "list")
    assert result.code == ExitCode.USAGE
    assert "OPENROUTER_MANAGEMENT_KEY" in result.err
    assert "Traceback" not in result.err


def test_malformed_management_key(run, monkeypatch):
    monkeypatch.setenv("OPENROUTER_MANAGEMENT_KEY", "hunter2")
    result = run("keys", "list")
    assert result.code == ExitCode.USAGE
    assert "hunter2" not in result.err


def test_s13_regular_key_used_as_management_key(fake, run, monkeypatch):
    regular = fake.add_key()
    monkeypatch.setenv("OPENROUTER_MANAGEMENT_KEY", regular)
    for args in (("keys", "list"), ("keys", "audit")):
        result = run(*args)
        assert result.code == ExitCode.INCOMPLETE
        assert "not a management key" in result.err
        assert regular not in result.err
    client = ManagementClient(regular, base_url=fake.base_url)
    with client, pytest.raises(ApiError, match="not a management key"):
        client.credits()


def test_invalid_management_key(fake, run, monkeypatch):
    monkeypatch.setenv("OPENROUTER_MANAGEMENT_KEY", make_key())
    result = run("keys", "list")
    assert result.code == ExitCode.INCOMPLETE
    assert "rejected (401)" in result.err


def test_credits_with_a_management_key(fake, manager):
    with ManagementClient(manager, base_url=fake.base_url) as client:
        credits = client.credits()
    assert (credits.total_credits, credits.total_usage) == (100.5, 25.75)


def test_management_client_hides_its_key(fake, manager):
    client = ManagementClient(manager, base_url=fake.base_url)
    assert manager not in repr(client)
    client.close()


def test_management_retries_server_errors_then_explains(fake, manager):
    fake.set_controls(manager, force_status=500)
    client = ManagementClient(manager, base_url=fake.base_url, retries=1)
    with client, pytest.raises(ApiError, match="server error") as err:
        client.list_keys()
    assert manager not in str(err.value)
    assert len(fake.requests) == 2


def test_management_honours_retry_after_on_429(fake, manager):
    fake.set_controls(manager, force_status=429, fail_times=1, retry_after=5)
    vclock = VirtualClock()
    with ManagementClient(manager, base_url=fake.base_url, clock=vclock.clock) as client:
        assert client.list_keys() == ()
    assert vclock.sleeps == [5.0]
    assert len(fake.requests_for(manager)) == 2


def test_management_gives_up_on_a_wait_too_long(fake, manager):
    fake.set_controls(manager, force_status=429, retry_after=120)
    vclock = VirtualClock()
    client = ManagementClient(manager, base_url=fake.base_url, clock=vclock.clock)
    with client, pytest.raises(ApiError, match="asked to wait 120s"):
        client.list_keys()
    assert vclock.sleeps == []


# -- keys list (S12) --------------------------------------------------------------------------


def test_s12_list_follows_offset_until_empty(fake, run, manager):
    fake.add_keys(250)
    fake.add_keys(5, status="disabled")
    fake.add_keys(3, status="deleted")
    result = run("keys", "list", "--include-disabled", "--format", "json")
    assert result.code == ExitCode.CLEAN
    listed = json.loads(result.out)["keys"]
    assert len(listed) == 255
    assert len({k["hash"] for k in listed}) == 255
    pages = fake.requests_for(manager, path="/api/v1/keys")
    assert [r.query["offset"] for r in pages] == [["0"], ["100"], ["200"], ["300"]]
    assert all(r.query["include_disabled"] == ["true"] for r in pages)


def test_list_shows_disabled_keys_only_with_include_disabled(fake, run, manager):
    enabled = fake.add_keys(2)
    disabled = fake.add_keys(2, status="disabled")
    result = run("keys", "list", "--format", "json")
    assert result.code == ExitCode.CLEAN
    assert {k["hash"] for k in json.loads(result.out)["keys"]} == {hash_of(k) for k in enabled}
    assert fake.requests_for(manager)[0].query["include_disabled"] == ["false"]
    result = run("keys", "list", "--include-disabled")
    assert result.code == ExitCode.CLEAN
    rows = result.out.splitlines()[1:]
    assert sorted(row.split()[3] for row in rows) == ["no", "no", "yes", "yes"]
    assert {hash_of(k)[:16] for k in disabled} <= {row.split()[2] for row in rows}


def test_list_table_shows_the_columns(fake, run, manager):
    fake.add_key(name="ci-runner")
    result = run("keys", "list")
    assert result.code == ExitCode.CLEAN
    header = result.out.splitlines()[0].split()
    assert header == [
        "name",
        "label",
        "hash",
        "disabled",
        "limit",
        "remaining",
        "usage",
        "created",
        "updated",
        "expires",
    ]
    assert "ci-runner" in result.out


# -- keys audit -------------------------------------------------------------------------------


def test_audit_flags(tmp_path):
    base = ApiKeyRecord(hash="a" * 64, name="k", limit=5.0, expires_at="2099-01-01T00:00:00Z")
    clean = ApiKeyRecord(**{**_fields(base), "usage": 1.0, "usage_monthly": 1.0})
    assert audit_key(clean).flags == ()
    risky = ApiKeyRecord(hash="b" * 64, name="r", usage=0.0, usage_monthly=0.0)
    audited = audit_key(risky, leaked=frozenset({"b" * 64}))
    assert audited.leaked
    assert audited.flags == ("leaked", "no-limit", "no-expiry", "never-used")
    revoked = ApiKeyRecord(**{**_fields(risky), "disabled": True})
    audited = audit_key(revoked, leaked=frozenset({"b" * 64}))
    assert audited.leaked, "still marked as leaked"
    assert audited.flags == ("no-limit", "no-expiry", "never-used", "disabled-not-deleted")
    stale = ApiKeyRecord(**{**_fields(base), "usage": 3.0, "usage_monthly": 0.0})
    assert audit_key(stale).flags == ("unused-this-month",)
    assert "management-key" in audit_key(base, management=frozenset({"a" * 64})).flags


def _fields(record: ApiKeyRecord) -> dict[str, object]:
    return {name: getattr(record, name) for name in record.__dataclass_fields__}


def test_audit_marks_leaked_keys_from_a_report(fake, run, manager, tmp_path):
    leaked = fake.add_key(name="leaked", expires_at="2099-01-01T00:00:00Z")
    tidy = fake.add_key(name="tidy", expires_at="2099-01-01T00:00:00Z")
    fake.add_key(name="no-limit", limit=None)
    report = write_report(tmp_path / "report.json", leaked, make_key())
    result = run("keys", "audit", "--report", str(report), "--format", "json")
    assert result.code == ExitCode.FINDINGS
    data = json.loads(result.out)
    by_name = {k["name"]: k for k in data["keys"]}
    assert by_name["leaked"]["leaked"] is True
    assert by_name["leaked"]["flags"][0] == "leaked"
    assert by_name["tidy"]["flags"] == []
    assert "no-limit" in by_name["no-limit"]["flags"]
    assert by_name["ops"]["flags"][:1] == ["management-key"], "the management key in use"
    assert len(data["leaked_not_in_account"]) == 1
    assert data["keys"][0]["name"] == "leaked", "leaked keys first"
    assert hash_of(tidy) in {k["hash"] for k in data["keys"]}


def test_audit_finds_a_leaked_management_key_by_hash(fake, run, manager, tmp_path):
    other_mgmt = fake.add_key("management", name="old-admin")
    report = write_report(tmp_path / "r.json", other_mgmt, management=(other_mgmt,))
    result = run("keys", "audit", "--report", str(report))
    assert result.code == ExitCode.FINDINGS
    line = next(x for x in result.out.splitlines() if x.startswith("old-admin"))
    assert "LEAKED" in line and "management-key" in line
    assert other_mgmt not in result.out + result.err


def test_audit_exit_code_follows_fail_on(fake, run, manager, tmp_path):
    leaked = fake.add_key(expires_at="2099-01-01T00:00:00Z")
    fake.add_key(limit=None, expires_at="2099-01-01T00:00:00Z")
    report = str(write_report(tmp_path / "r.json", leaked))
    assert run("keys", "audit").code == ExitCode.CLEAN, "no report: nothing leaked"
    assert run("keys", "audit", "--fail-on", "no-limit").code == ExitCode.FINDINGS
    assert run("keys", "audit", "--fail-on", "any").code == ExitCode.FINDINGS
    assert run("keys", "audit", "--report", report).code == ExitCode.FINDINGS
    assert run("revoke", "--report", report, "--yes").code == ExitCode.CLEAN
    result = run("keys", "audit", "--report", report, "--format", "json")
    assert result.code == ExitCode.CLEAN, "the gate clears once the leaked key is disabled"
    [entry] = [k for k in json.loads(result.out)["keys"] if k["hash"] == hash_of(leaked)]
    assert entry["leaked"] is True
    assert entry["flags"] == ["disabled-not-deleted"]


def test_audit_flag_names_match_the_cli_choices():
    from keysentry.cli.keys import _AUDIT_FLAG_NAMES
    from keysentry.validate.audit import AUDIT_FLAGS

    assert _AUDIT_FLAG_NAMES == AUDIT_FLAGS


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{nope", "not valid JSON"),
        ('{"schema_version": 2, "findings": []}', "schema_version"),
        ('{"schema_version": 1, "findings": [{"fingerprint": "xyz"}]}', "fingerprint"),
    ],
)
def test_audit_rejects_a_bad_report(fake, run, manager, tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = run("keys", "audit", "--report", str(path))
    assert result.code == ExitCode.USAGE
    assert message in result.err


# -- revoke (S10) -----------------------------------------------------------------------------


def test_s10_revoke_disables_from_a_redacted_report(fake, run, manager, tmp_path):
    leaked = fake.add_key(name="leaked")
    assert probe(fake, leaked) == "live"
    report = write_report(tmp_path / "report.json", leaked)
    result = run("revoke", "--report", str(report), "--yes")
    assert result.code == ExitCode.CLEAN, result.err
    [patch] = fake.requests_for(manager, method="PATCH")
    assert patch.path == f"/api/v1/keys/{hash_of(leaked)}"
    assert patch.body == {"disabled": True}
    assert probe(fake, leaked) == "invalid"
    assert fake.key(leaked).status == "disabled"
    assert "disabled" in result.out


def test_s10_revoke_delete(fake, run, manager, tmp_path):
    leaked = fake.add_key()
    result = run(
        "revoke", "--report", str(write_report(tmp_path / "r.json", leaked)), "--delete", "--yes"
    )
    assert result.code == ExitCode.CLEAN, result.err
    [delete] = fake.requests_for(manager, method="DELETE")
    assert delete.path == f"/api/v1/keys/{hash_of(leaked)}"
    assert probe(fake, leaked) == "invalid"
    with ManagementClient(manager, base_url=fake.base_url) as client:
        assert client.get_key(hash_of(leaked)) is None


def test_revoke_dry_run_changes_nothing(fake, run, manager, tmp_path):
    leaked = fake.add_key()
    result = run("revoke", "--report", str(write_report(tmp_path / "r.json", leaked)), "--dry-run")
    assert result.code == ExitCode.CLEAN
    assert "Will disable 1 key(s)" in result.out
    assert fake.requests_for(manager, method="PATCH") == []
    assert probe(fake, leaked) == "live"


def test_revoke_asks_and_respects_no(fake, run, manager, tmp_path):
    leaked = fake.add_key()
    report = str(write_report(tmp_path / "r.json", leaked))
    result = run("revoke", "--report", report, stdin="n\n")
    assert result.code == ExitCode.CLEAN
    assert "Nothing changed" in result.err
    assert fake.key(leaked).status == "live"
    result = run("revoke", "--report", report, stdin="y\n")
    assert result.code == ExitCode.CLEAN
    assert fake.key(leaked).status == "disabled"


def test_revoke_without_an_answer_is_a_usage_error(fake, run, manager, tmp_path):
    leaked = fake.add_key()
    result = run("revoke", "--report", str(write_report(tmp_path / "r.json", leaked)))
    assert result.code == ExitCode.USAGE
    assert "--yes" in result.err
    assert fake.key(leaked).status == "live"


def test_revoke_from_stdin_needs_yes(fake, run, manager):
    result = run("revoke", stdin=fake.add_key())
    assert result.code == ExitCode.USAGE
    assert "--yes" in result.err


def test_revoke_from_stdin_keys_and_fingerprints(fake, run, manager):
    by_key, by_hash = fake.add_key(), fake.add_key()
    stdin = f"{by_key}\n{hash_of(by_hash).upper()}\n"
    result = run("revoke", "--delete", "--yes", stdin=stdin)
    assert result.code == ExitCode.CLEAN, result.err
    assert fake.key(by_key).status == "deleted"
    assert fake.key(by_hash).status == "deleted"
    assert by_key not in result.out + result.err


def test_revoke_reports_keys_not_in_the_account(fake, run, manager, tmp_path):
    deleted = fake.add_key(status="deleted")
    disabled = fake.add_key(status="disabled")
    report = write_report(tmp_path / "r.json", deleted, disabled, make_key())
    result = run("revoke", "--report", str(report), "--yes")
    assert result.code == ExitCode.CLEAN
    assert result.out.count("not in this account or already deleted") == 2
    assert "already disabled" in result.out
    assert "Nothing to disable" in result.out
    assert fake.requests_for(manager, method="PATCH") == []


def test_revoke_puts_the_management_key_last(fake, run, manager):
    other = fake.add_key()
    result = run("revoke", "--yes", stdin=f"{manager}\n{other}\n")
    assert result.code == ExitCode.CLEAN, result.err
    patches = [r.path.rsplit("/", 1)[-1] for r in fake.requests_for(manager, method="PATCH")]
    assert patches == [hash_of(other), hash_of(manager)]
    assert "the management key in use" in result.out


def test_revoke_failure_exits_3(fake, run, manager, tmp_path):
    leaked = fake.add_key()
    report = str(write_report(tmp_path / "r.json", leaked))
    fake.set_controls(manager, force_status=400, fail_times=2)
    # The lookup (GET) and the PATCH both fail: the lookup error aborts with exit 3.
    result = run("revoke", "--report", report, "--yes")
    assert result.code == ExitCode.INCOMPLETE
    assert "400" in result.err
    assert "Traceback" not in result.err


# -- S11: rotation through the management client ----------------------------------------------


def test_s11_rotate_with_the_client(fake, manager):
    old = fake.add_key(name="service", limit=20.0)
    with ManagementClient(manager, base_url=fake.base_url) as client:
        created = client.create_key(
            "service 2026-11", limit=20.0, expires_at="2099-01-01T00:00:00Z"
        )
        assert created.secret not in repr(created)
        assert created.record.hash == hash_of(created.secret)
        assert created.record.limit == 20.0
        assert probe(fake, created.secret) == "live"
        assert client.delete_key(hash_of(old)) is True
        assert probe(fake, old) == "invalid"
        assert client.delete_key(hash_of(old)) is False, "second delete: already gone"
    [post] = fake.requests_for(manager, method="POST")
    assert post.path == "/api/v1/keys"


def test_s11_keys_rotate_command(fake, run, manager, tmp_path):
    old = fake.add_key(name="service", limit=20.0)
    out = tmp_path / "new-key"
    result = run("keys", "rotate", hash_of(old), "--yes", "--output", str(out))
    assert result.code == ExitCode.CLEAN, result.err
    new = out.read_text().strip()
    assert new.startswith("sk-or-v1-") and new != old
    assert out.stat().st_mode & 0o777 == 0o600
    assert new not in result.out + result.err and old not in result.out + result.err
    assert probe(fake, new) == "live"
    assert probe(fake, old) == "invalid"
    assert fake.key(new).limit == 20.0
    assert fake.key(new).name.startswith("service (rotated ")
    methods = [(r.method, r.path.rsplit("/", 1)[-1]) for r in fake.requests_for(manager)]
    assert methods == [("GET", hash_of(old)), ("POST", "keys"), ("DELETE", hash_of(old))]
    assert len(fake.requests_for(new, path="/api/v1/key")) == 2  # the command's check + ours


def test_rotate_can_keep_or_disable_the_old_key_and_prints_to_stdout(fake, run, manager):
    old = fake.add_key(name="service")
    result = run("keys", "rotate", hash_of(old), "--old", "disable", "--yes")
    assert result.code == ExitCode.CLEAN, result.err
    new = result.out.strip()
    assert probe(fake, new) == "live"
    assert fake.key(old).status == "disabled"
    result = run("keys", "rotate", hash_of(new), "--old", "keep", "--yes", "--name", "v3")
    assert result.code == ExitCode.CLEAN
    assert fake.key(new).status == "live"
    assert fake.key(result.out.strip()).name == "v3"


def test_rotate_leaves_the_old_key_if_the_new_one_is_not_live(fake, run, manager):
    old = fake.add_key()
    # Neither probe path answers, so the new key cannot be confirmed live.
    fake.set_missing("/api/v1/key")
    fake.set_missing("/api/v1/auth/key")
    result = run("keys", "rotate", hash_of(old), "--yes")
    assert result.code == ExitCode.INCOMPLETE
    assert "left as it is" in result.err
    assert fake.key(old).status == "live"


def test_rotate_unknown_hash_is_a_usage_error(fake, run, manager):
    result = run("keys", "rotate", "ab" * 32, "--yes")
    assert result.code == ExitCode.USAGE
    assert fake.requests_for(manager, method="POST") == []


def test_create_rejects_bad_parameters_clearly(fake, manager):
    client = ManagementClient(manager, base_url=fake.base_url)
    with client, pytest.raises(ApiError, match="400"):
        client.create_key("x", expires_at="2099-01-01T00:00:00+02:00")
    assert len(fake.requests_for(manager, method="POST")) == 1, "a POST is never retried"


def test_update_rejects_unknown_fields_before_sending(fake, manager):
    with ManagementClient(manager, base_url=fake.base_url) as client, pytest.raises(ValueError):
        client.update_key("a" * 64, disabld=True)
    assert fake.requests == []


def test_commands_are_registered_on_a_group():
    from keysentry.cli.keys import register

    group = click.Group("g")
    register(group)
    assert {"check-key", "keys", "revoke"} <= set(group.commands)
    assert {"list", "audit"} <= set(group.commands["keys"].commands)  # type: ignore[attr-defined]


# -- one report reader: JSON and JSONL, from a file or stdin, for audit, revoke and baseline ----


@pytest.fixture
def scanned(fake, run, tmp_path, monkeypatch):
    """A leaked key of the account, and real reports of a scan that found it."""
    monkeypatch.chdir(tmp_path)
    leaked = fake.add_key(name="leaked", expires_at="2099-01-01T00:00:00Z")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "app.py").write_text(f'KEY = "{leaked}"\n')
    for fmt in ("json", "jsonl", "sarif"):
        assert run("scan", str(tree), "--format", fmt, "-o", f"report.{fmt}").code == 1
    return leaked, tmp_path


def _report_args(tmp_path: Path, fmt: str, from_stdin: bool) -> tuple[str, str]:
    """The --report argument and the stdin text for one way of giving the report."""
    path = tmp_path / f"report.{fmt}"
    return ("-", path.read_text()) if from_stdin else (str(path), "")


WAYS = pytest.mark.parametrize(
    ("fmt", "from_stdin"),
    [("json", False), ("json", True), ("jsonl", False), ("jsonl", True)],
    ids=["json-file", "json-stdin", "jsonl-file", "jsonl-stdin"],
)


@WAYS
def test_audit_reads_every_report_form(fake, run, manager, scanned, fmt, from_stdin):
    leaked, tmp_path = scanned
    source, stdin = _report_args(tmp_path, fmt, from_stdin)
    result = run("keys", "audit", "--report", source, "--format", "json", stdin=stdin)
    assert result.code == ExitCode.FINDINGS, result.err
    [entry] = [k for k in json.loads(result.out)["keys"] if k["hash"] == hash_of(leaked)]
    assert entry["leaked"] is True and entry["flags"][0] == "leaked"


@WAYS
def test_revoke_reads_every_report_form(fake, run, manager, scanned, fmt, from_stdin):
    leaked, tmp_path = scanned
    source, stdin = _report_args(tmp_path, fmt, from_stdin)
    result = run("revoke", "--report", source, "--yes", stdin=stdin)
    assert result.code == ExitCode.CLEAN, result.err
    assert fake.key(leaked).status == "disabled"


@WAYS
def test_baseline_reads_every_report_form(fake, run, scanned, fmt, from_stdin):
    leaked, tmp_path = scanned
    source, stdin = _report_args(tmp_path, fmt, from_stdin)
    result = run("baseline", "create", "--from-report", source, "-q", stdin=stdin)
    assert result.code == ExitCode.CLEAN, result.err
    entries = json.loads((tmp_path / ".keysentry-baseline.json").read_text())["entries"]
    assert [(e["fingerprint"], e["first_location"]) for e in entries] == [
        (hash_of(leaked), str(tmp_path / "tree" / "app.py") + ":1")
    ]


COMMANDS = {
    "audit": ("keys", "audit", "--report"),
    "revoke": ("revoke", "--yes", "--report"),
    "baseline": ("baseline", "create", "--from-report"),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_cut_jsonl_report_is_refused_by_every_command(fake, run, manager, scanned, command):
    leaked, tmp_path = scanned
    lines = (tmp_path / "report.jsonl").read_text().splitlines()
    cut = tmp_path / "cut.jsonl"
    cut.write_text(lines[0] + "\n")  # the finding, without the summary that ends the report
    result = run(*COMMANDS[command], str(cut))
    assert result.code == ExitCode.USAGE
    assert "no summary line" in result.err
    assert fake.key(leaked).status == "live"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_sarif_report_is_refused_with_a_way_out(fake, run, manager, scanned, command):
    _, tmp_path = scanned
    result = run(*COMMANDS[command], str(tmp_path / "report.sarif"))
    assert result.code == ExitCode.USAGE
    assert "SARIF" in result.err and "--format json" in result.err


def test_revoke_report_on_stdin_needs_yes(fake, run, manager, scanned):
    leaked, tmp_path = scanned
    result = run("revoke", "--report", "-", stdin=(tmp_path / "report.json").read_text())
    assert result.code == ExitCode.USAGE
    assert "--yes" in result.err
    assert fake.key(leaked).status == "live"


# -- what the API returns is shown escaped ------------------------------------------------

# A terminal title, a screen clear, a colour and a bidi override: whoever can name or label
# a key can put these in front of whoever lists it.
CONTROLS = "\x1b]0;owned\x07\x1b[2J\x1b[31m\u202e"


def _no_controls(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text, text
    assert "\\x1b]0;owned\\x07\\x1b[2J\\x1b[31m\\u202e" in text, text


def test_api_strings_are_escaped_in_every_command_that_shows_them(fake, run, manager, tmp_path):
    key = fake.add_key(name=f"svc{CONTROLS}", label=f"label{CONTROLS}")
    result = run("check-key", stdin=key)
    assert result.code == ExitCode.FINDINGS
    _no_controls(result.out + result.err)
    assert f"label: label{CONTROLS}" not in result.out
    for args in (("keys", "list"), ("keys", "audit")):
        result = run(*args)
        assert result.code in (ExitCode.CLEAN, ExitCode.FINDINGS), result.err
        _no_controls(result.out + result.err)
    report = str(write_report(tmp_path / "r.json", key))
    result = run("revoke", "--report", report, "--dry-run")
    assert result.code == ExitCode.CLEAN and "svc" in result.out
    _no_controls(result.out + result.err)
    result = run("revoke", "--report", report, "--yes")
    assert result.code == ExitCode.CLEAN and "disabled" in result.out
    _no_controls(result.out + result.err)
    # JSON carries the text as it is, encoded: json.dumps writes no raw control character
    result = run("keys", "list", "--include-disabled", "--format", "json")
    assert "\x1b" not in result.out
    assert any(k["label"] == f"label{CONTROLS}" for k in json.loads(result.out)["keys"])

"""validate_findings: one probe per distinct key, pacing, the cache and the settings."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from fake_openrouter import FakeOpenRouter, fake_openrouter_fixture, hash_of, make_key
from keysentry.errors import ConfigError, UsageError
from keysentry.models import Finding, Location, fingerprint_of, redact
from keysentry.validate import ValidationSettings, validate_findings
from keysentry.validate.cache import CACHE_FILE, default_cache_dir
from virtualclock import VirtualClock

fake = fake_openrouter_fixture()


def finding(secret: str, *, rule: str = "openrouter-api-key", placeholder: bool = False) -> Finding:
    return Finding(
        rule_id=rule,
        severity="high",
        fingerprint=fingerprint_of(secret),
        redacted=redact(secret),
        locations=(Location("config.py", 1, 1),),
        secret=secret,
        placeholder=placeholder,
    )


def settings(fake: FakeOpenRouter, tmp_path: Path, **overrides: object) -> ValidationSettings:
    values: dict[str, object] = {
        "base_url": fake.base_url,
        "rate_limit": 1000.0,
        "cache_dir": str(tmp_path / "cache"),
        "budget": 30.0,
    }
    values.update(overrides)
    return ValidationSettings(**values)  # type: ignore[arg-type]


def test_each_distinct_key_is_probed_once(fake, tmp_path):
    key = fake.add_key()
    findings = [finding(key), finding(key, rule="openrouter-generic"), finding(make_key())]
    result = validate_findings(findings, settings(fake, tmp_path))
    assert [f.validation.status for f in result] == ["live", "live", "invalid"]
    assert len(fake.requests_for(key)) == 1
    assert len(fake.requests) == 2


def test_placeholders_are_never_probed(fake, tmp_path):
    key = fake.add_key()
    [result] = validate_findings([finding(key, placeholder=True)], settings(fake, tmp_path))
    assert result.validation is None
    assert fake.requests == []


def test_live_management_key_becomes_critical(fake, tmp_path):
    mgmt, regular = fake.add_key("management"), fake.add_key()
    result = validate_findings([finding(mgmt), finding(regular)], settings(fake, tmp_path))
    assert [f.severity for f in result] == ["critical", "high"]
    assert result[0].validation.details.is_management_key is True


def test_order_and_identity_are_kept(fake, tmp_path):
    keys = fake.add_keys(5)
    findings = [finding(k) for k in keys]
    result = validate_findings(findings, settings(fake, tmp_path))
    assert [f.fingerprint for f in result] == [f.fingerprint for f in findings]
    assert all(r.secret == f.secret for r, f in zip(result, findings, strict=True))


def test_200_keys_at_50ms_latency_one_request_each_four_at_a_time(fake, tmp_path):
    # Throughput is measured in benchmarks/bench_validate.py; here only what happens.
    keys = fake.add_keys(200)
    fake.set_controls(latency_ms=50)
    result = validate_findings([finding(k) for k in keys], settings(fake, tmp_path, cache=False))
    assert all(f.validation.status == "live" for f in result)
    counts: dict[str | None, int] = {}
    for request in fake.requests:
        counts[request.token_hash] = counts.get(request.token_hash, 0) + 1
    assert counts == {hash_of(k): 1 for k in keys}
    assert 1 < fake.max_in_flight <= 4, "default concurrency is 4, and it is used"


def test_one_rate_cap_for_all_workers(fake, tmp_path):
    keys = fake.add_keys(30)
    vclock = VirtualClock()
    started = vclock.now()
    validate_findings(
        [finding(k) for k in keys],
        settings(fake, tmp_path, rate_limit=20.0, cache=False),
        clock=vclock.clock,
    )
    assert len(fake.requests) == 30
    # 30 request slots at most 20 per second, shared by the 4 workers: the last one cannot
    # start before 29/20 s (four limiters of their own would end near 7/20 s).
    assert vclock.now() - started >= 29 / 20


def test_429_retries_wait_as_told_and_count_against_the_cap(fake, tmp_path):
    keys = fake.add_keys(4)
    for k in keys:
        fake.set_controls(k, force_status=429, fail_times=1, retry_after=1)
    vclock = VirtualClock()
    started = vclock.now()
    result = validate_findings(
        [finding(k) for k in keys],
        settings(fake, tmp_path, rate_limit=10.0, cache=False),
        clock=vclock.clock,
    )
    assert all(f.validation.status == "live" for f in result)
    assert len(fake.requests) == 8
    assert vclock.sleeps.count(1.0) == 4, "each worker honours its Retry-After"
    # Eight slots at 10/s after a one-second pause: not before 1 s + 3 slots.
    assert vclock.now() - started >= 1.0 + 3 / 10


def test_per_key_failures_never_raise(tmp_path):
    with FakeOpenRouter() as gone:
        base = gone.base_url
    s = ValidationSettings(base_url=base, retries=0, cache_dir=str(tmp_path), budget=5)
    [result] = validate_findings([finding(make_key())], s)
    assert result.validation.status == "unknown"


def test_budget_exhaustion_leaves_keys_unknown(fake, tmp_path):
    keys = fake.add_keys(10)
    # One at a time, 0.4 s each, 2 s in all: ten keys cannot all be asked.
    fake.set_controls(latency_ms=400)
    s = settings(fake, tmp_path, concurrency=1, budget=2.0, cache=False)
    result = validate_findings([finding(k) for k in keys], s)
    assert 1 <= len(fake.requests) < 10, "the budget stopped the run"
    statuses = [f.validation.status for f in result]
    assert "live" in statuses and "unknown" in statuses
    reasons = {f.validation.reason for f in result if f.validation.status == "unknown"}
    assert all("budget" in r for r in reasons)


def test_unusable_base_url_raises_usage_error(tmp_path):
    s = ValidationSettings(base_url="http://example.com/api/v1", cache_dir=str(tmp_path))
    with pytest.raises(UsageError):
        validate_findings([finding(make_key())], s)


# -- cache ------------------------------------------------------------------------------------


def test_cache_hit_skips_the_request_and_holds_no_key(fake, tmp_path):
    live, dead = fake.add_key(), make_key()
    s = settings(fake, tmp_path)
    validate_findings([finding(live), finding(dead)], s)
    assert len(fake.requests) == 2
    second = validate_findings([finding(live), finding(dead)], s)
    assert len(fake.requests) == 2, "served from the cache"
    assert [f.validation.status for f in second] == ["live", "invalid"]
    assert all(f.validation.cached for f in second)
    text = (tmp_path / "cache" / CACHE_FILE).read_text()
    assert live not in text and dead not in text
    assert fingerprint_of(live) in text


def test_no_cache_probes_again(fake, tmp_path):
    key = fake.add_key()
    validate_findings([finding(key)], settings(fake, tmp_path))
    s = ValidationSettings.from_config(
        {"cache_dir": str(tmp_path / "cache"), "rate_limit": 1000},
        {"OPENROUTER_BASE_URL": fake.base_url},
        no_cache=True,
    )
    [result] = validate_findings([finding(key)], s)
    assert not result.validation.cached
    assert len(fake.requests) == 2


def test_expired_entries_are_probed_again(fake, tmp_path):
    key = fake.add_key()
    s = settings(fake, tmp_path, cache_ttl=60.0)
    validate_findings([finding(key)], s)
    path = tmp_path / "cache" / CACHE_FILE
    data = json.loads(path.read_text())
    for entry in data["entries"].values():
        entry["stored_at"] -= 120
    path.write_text(json.dumps(data))
    [result] = validate_findings([finding(key)], s)
    assert not result.validation.cached
    assert len(fake.requests) == 2


def test_unknown_outcomes_are_not_cached(fake, tmp_path):
    key = fake.add_key()
    fake.set_controls(key, force_status=500, fail_times=1)
    s = settings(fake, tmp_path, retries=0)
    [first] = validate_findings([finding(key)], s)
    assert first.validation.status == "unknown"
    [second] = validate_findings([finding(key)], s)
    assert second.validation.status == "live" and not second.validation.cached


def test_entries_from_another_base_url_are_ignored(fake, tmp_path):
    key = fake.add_key()
    validate_findings([finding(key)], settings(fake, tmp_path))
    with FakeOpenRouter() as other:
        other.add_key(secret=key)
        validate_findings([finding(key)], settings(other, tmp_path))
        assert len(other.requests) == 1


def test_corrupt_cache_is_ignored_with_a_warning(fake, tmp_path, caplog):
    key = fake.add_key()
    path = tmp_path / "cache" / CACHE_FILE
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="keysentry"):
        [result] = validate_findings([finding(key)], settings(fake, tmp_path))
    assert result.validation.status == "live"
    assert any("corrupt validation cache" in r.getMessage() for r in caplog.records)
    assert json.loads(path.read_text())["version"] == 1, "rewritten"


def test_no_cache_does_not_read_or_write_the_cache(fake, tmp_path, caplog):
    path = tmp_path / "cache" / CACHE_FILE
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="keysentry"):
        validate_findings([finding(fake.add_key())], settings(fake, tmp_path, cache=False))
    assert caplog.records == []
    assert path.read_text() == "{not json"


def test_unwritable_cache_is_not_fatal(fake, tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("")
    s = settings(fake, tmp_path, cache_dir=str(blocker / "sub"))
    with caplog.at_level(logging.WARNING, logger="keysentry"):
        [result] = validate_findings([finding(fake.add_key())], s)
    assert result.validation.status == "live"
    assert any("could not write" in r.getMessage() for r in caplog.records)


def test_forget_keys_drops_entries_from_every_base_url_and_keeps_the_rest(fake, tmp_path):
    from keysentry.validate.cache import forget_keys

    revoked, kept = fake.add_key(), fake.add_key()
    validate_findings([finding(revoked), finding(kept)], settings(fake, tmp_path))
    with FakeOpenRouter() as other:
        other.add_key(secret=revoked)
        validate_findings([finding(revoked)], settings(other, tmp_path))
    assert forget_keys([fingerprint_of(revoked)], tmp_path / "cache") == 1
    entries = json.loads((tmp_path / "cache" / CACHE_FILE).read_text())["entries"]
    assert list(entries) == [fingerprint_of(kept)]
    assert forget_keys([fingerprint_of(revoked)], tmp_path / "cache") == 0


def test_default_cache_dir_follows_xdg(tmp_path):
    assert default_cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "keysentry"
    assert default_cache_dir({"XDG_CACHE_HOME": "relative"}).parts[-2:] == (".cache", "keysentry")


# -- settings ---------------------------------------------------------------------------------


def test_settings_precedence_config_then_env_then_default():
    env = {"OPENROUTER_BASE_URL": "http://127.0.0.1:1234/api/v1/"}
    assert ValidationSettings.from_config({}, {}).base_url == "https://openrouter.ai/api/v1"
    assert ValidationSettings.from_config({}, env).base_url == "http://127.0.0.1:1234/api/v1"
    explicit = {"base_url": "https://proxy.example/api/v1"}
    assert ValidationSettings.from_config(explicit, env).base_url == explicit["base_url"]


def test_settings_values_are_read_and_coerced():
    s = ValidationSettings.from_config(
        {"concurrency": 2, "rate_limit": 5, "timeout": 1.5, "cache": False, "cache_dir": "/x"},
        {},
    )
    assert (s.concurrency, s.rate_limit, s.timeout, s.cache, s.cache_dir) == (
        2,
        5.0,
        1.5,
        False,
        "/x",
    )


@pytest.mark.parametrize(
    ("section", "name"),
    [
        ({"concurrenty": 2}, "validation.concurrenty"),
        ({"concurrency": "4"}, "validation.concurrency"),
        ({"concurrency": True}, "validation.concurrency"),
        ({"rate_limit": "fast"}, "validation.rate_limit"),
        ({"cache": 1}, "validation.cache"),
        ({"concurrency": 0}, "validation.concurrency"),
        ({"timeout": -1}, "validation.timeout"),
        ({"base_url": "http://openrouter.ai/api/v1"}, "validation.base_url"),
    ],
)
def test_bad_settings_name_the_key(section, name):
    with pytest.raises(ConfigError, match=name.replace(".", r"\.")):
        ValidationSettings.from_config(section, {})


def test_plain_http_from_the_environment_names_the_variable():
    with pytest.raises(ConfigError, match="OPENROUTER_BASE_URL"):
        ValidationSettings.from_config({}, {"OPENROUTER_BASE_URL": "http://evil.example/api"})

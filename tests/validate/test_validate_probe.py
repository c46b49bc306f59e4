"""The liveness probe against the fake OpenRouter server (scenarios S1-S9, S14 of section 8.10)."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import tool
from fake_openrouter import FakeOpenRouter, fake_openrouter_fixture, hash_of, make_key
from keysentry.errors import ApiError, UsageError
from keysentry.validate.http import USER_AGENT, check_base_url, make_session
from keysentry.validate.management import ManagementClient
from keysentry.validate.probe import ProbeContext, probe_key
from keysentry.validate.ratelimit import (
    MAX_HINT_SECONDS,
    TokenBucket,
    backoff_seconds,
    retry_after_seconds,
)
from virtualclock import VirtualClock

fake = fake_openrouter_fixture()


@pytest.fixture
def session(fake: FakeOpenRouter) -> Iterator[requests.Session]:
    with make_session(fake.base_url) as s:
        yield s


@pytest.fixture
def vclock() -> VirtualClock:
    return VirtualClock()


class SpyBucket(TokenBucket):
    """The real limiter, remembering every pause a probe asked of all workers."""

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__(1000, clock=clock.now, sleep=clock.sleep)
        self.deferred: list[float] = []

    def defer_until(self, when: float) -> None:
        self.deferred.append(when)
        super().defer_until(when)


def context(
    fake: FakeOpenRouter, vclock: VirtualClock | None = None, **overrides: object
) -> ProbeContext:
    """Probe settings on a virtual clock: retries and waits cost no real time."""
    clock = vclock or VirtualClock()
    values: dict[str, object] = {
        "base_url": overrides.pop("base_url", None) or fake.base_url,
        "limiter": SpyBucket(clock),
        "deadline": clock.now() + 30,
        "timeout": 5.0,
        "retries": 2,
        "backoff_base": 0.01,
        "clock": clock.clock,
    }
    values.update(overrides)
    return ProbeContext(**values)  # type: ignore[arg-type]


def probe(fake: FakeOpenRouter, session: requests.Session, key: str, **kw: object):  # type: ignore[no-untyped-def]
    return probe_key(session, key, context(fake, **kw))  # type: ignore[arg-type]


def test_s1_live_regular_key_reports_details(fake, session):
    key = fake.add_key(limit=10.0, usage=2.5, usage_monthly=2.0, expires_at="2099-01-01T00:00:00Z")
    v = probe(fake, session, key)
    assert v.status == "live"
    assert v.details is not None
    assert v.details.limit == 10.0
    assert v.details.limit_remaining == 7.5
    assert v.details.usage == 2.5
    assert v.details.usage_monthly == 2.0
    assert v.details.is_management_key is False
    assert v.details.is_free_tier is False
    assert v.details.expires_at == "2099-01-01T00:00:00Z"
    assert v.details.label and v.details.label.startswith("sk-or-v1-")
    assert v.checked_at.endswith("Z")
    [request] = fake.requests
    assert (request.method, request.path, request.token_hash) == (
        "GET",
        "/api/v1/key",
        hash_of(key),
    )


def test_s2_live_management_key(fake, session):
    key = fake.add_key("management")
    v = probe(fake, session, key)
    assert v.status == "live"
    assert v.details is not None and v.details.is_management_key is True
    assert "management" in v.reason


def test_legacy_minimal_body_is_parsed(fake, session):
    key = fake.add_key(legacy_minimal=True)
    v = probe(fake, session, key)
    assert v.status == "live"
    assert v.details is not None
    assert v.details.limit == 5.0
    assert v.details.usage_monthly is None
    assert v.details.is_management_key is False  # from the deprecated is_provisioning_key


def test_s3_unknown_key_is_invalid(fake, session):
    v = probe(fake, session, make_key())
    assert v.status == "invalid"
    assert len(fake.requests) == 1, "a 401 is final: no retry"


def test_s4_disabled_key_is_invalid_and_management_lookup_shows_disabled(fake, session):
    key = fake.add_key(status="disabled")
    assert probe(fake, session, key).status == "invalid"
    with ManagementClient(fake.add_key("management"), base_url=fake.base_url) as client:
        record = client.get_key(hash_of(key))
    assert record is not None and record.disabled is True


def test_s5_deleted_key_is_invalid_and_management_lookup_is_not_found(fake, session):
    key = fake.add_key(status="deleted")
    assert probe(fake, session, key).status == "invalid"
    with ManagementClient(fake.add_key("management"), base_url=fake.base_url) as client:
        assert client.get_key(hash_of(key)) is None
        assert client.delete_key(hash_of(key)) is False


def test_expired_key_is_invalid(fake, session):
    key = fake.add_key(expires_at="2020-01-01T00:00:00Z")
    assert probe(fake, session, key).status == "invalid"


def test_s6_rate_limited_once_honours_retry_after_then_live(fake, session, vclock):
    key = fake.add_key()
    fake.set_controls(key, force_status=429, fail_times=1, retry_after=3)
    ctx = context(fake, vclock)
    started = vclock.now()
    v = probe_key(session, key, ctx)
    assert v.status == "live"
    assert len(fake.requests_for(key)) == 2
    assert vclock.sleeps == [3.0], "Retry-After: 3 is the wait, not the backoff"
    # A 429 holds back every worker sharing the limiter, not just the one that was told.
    assert ctx.limiter.deferred == [started + 3.0]  # type: ignore[attr-defined]


def test_a_server_error_pauses_only_its_own_worker(fake, session, vclock):
    key = fake.add_key()
    fake.set_controls(key, force_status=503, fail_times=1, retry_after=2)
    ctx = context(fake, vclock)
    assert probe_key(session, key, ctx).status == "live"
    assert vclock.sleeps == [2.0]
    assert ctx.limiter.deferred == []  # type: ignore[attr-defined]


def test_s6_rate_limit_hint_from_error_metadata_only(fake, session, vclock):
    key = fake.add_key()
    # No Retry-After and no X-RateLimit-* headers: only error.metadata.headers has the reset
    # (epoch milliseconds, so the wait is what is left of 20 s when the answer is read).
    fake.set_controls(
        key,
        force_status=429,
        fail_times=1,
        retry_after=20,
        retry_after_header=False,
        ratelimit_headers=False,
    )
    assert probe(fake, session, key, vclock=vclock).status == "live"
    [wait] = vclock.sleeps
    assert 10 < wait <= 20


def test_s6_rate_limited_forever_is_unknown_after_bounded_attempts(fake, session, vclock):
    key = fake.add_key()
    fake.set_controls(key, force_status=429, retry_after=0.05)
    v = probe(fake, session, key, vclock=vclock, retries=3)
    assert v.status == "unknown"
    assert "rate limited" in v.reason
    assert len(fake.requests_for(key)) == 4
    assert vclock.sleeps == [0.05] * 3


def test_rate_limit_wait_beyond_the_budget_gives_up_at_once(fake, session, vclock):
    key = fake.add_key()
    fake.set_controls(key, force_status=429, retry_after=30)
    v = probe(fake, session, key, vclock=vclock, deadline=vclock.now() + 2)
    assert v.status == "unknown"
    assert "budget" in v.reason
    assert vclock.sleeps == [], "no wait that cannot end within the budget"
    assert len(fake.requests_for(key)) == 1


def test_backoff_without_a_hint_grows(fake, session, vclock):
    key = fake.add_key()
    fake.set_controls(key, force_status=500)
    v = probe(fake, session, key, vclock=vclock, retries=3, backoff_base=1.0)
    assert v.status == "unknown" and "(4 attempts)" in v.reason
    first, second, third = vclock.sleeps
    assert 0.5 <= first <= 1.0 and 1.0 <= second <= 2.0 and 2.0 <= third <= 4.0


@pytest.mark.parametrize("status", [500, 502, 503])
def test_s7_server_error_is_unknown_after_bounded_retries(fake, session, status):
    key = fake.add_key()
    fake.set_controls(key, force_status=status, retry_after=0.05)
    v = probe(fake, session, key, retries=2)
    assert v.status == "unknown"
    assert f"HTTP {status}" in v.reason
    assert len(fake.requests_for(key)) == 3


def test_s7_server_error_once_then_live(fake, session):
    key = fake.add_key()
    fake.set_controls(key, force_status=503, fail_times=1, retry_after=0.05)
    assert probe(fake, session, key).status == "live"


@pytest.mark.parametrize("status", [403, 429, 200])
def test_s8_non_json_body_is_unknown_without_crash(fake, session, status):
    key = fake.add_key()
    fake.set_controls(key, force_status=status, non_json_body=True, retry_after=0.01)
    v = probe(fake, session, key, retries=1)
    assert v.status == "unknown"


def test_200_without_data_object_is_unknown(fake, session):
    key = fake.add_key()
    fake.set_controls(key, force_status=200, body={"label": "no data wrapper"})
    v = probe(fake, session, key)
    assert v.status == "unknown"
    assert "data" in v.reason


def test_403_from_a_proxy_is_unknown_not_invalid(fake, session):
    key = fake.add_key()
    fake.set_controls(key, force_status=403)
    v = probe(fake, session, key)
    assert v.status == "unknown"
    assert len(fake.requests_for(key)) == 1


def test_402_is_not_reported_live(fake, session):
    key = fake.add_key()
    fake.set_controls(key, force_status=402)
    assert probe(fake, session, key).status == "unknown"


def test_s9_the_probe_sends_the_key_it_was_given_as_a_bearer_only(fake, session):
    live, dead = fake.add_key(), make_key()
    assert probe(fake, session, live).status == "live"
    assert probe(fake, session, dead).status == "invalid"
    assert [r.token_hash for r in fake.requests] == [hash_of(live), hash_of(dead)]
    for request in fake.requests:
        assert "authorization" in request.header_names
        assert "x-api-key" not in request.header_names
        assert request.query == {}, "nothing about the key in the URL"
        assert request.path == "/api/v1/key"


def test_s14_falls_back_to_legacy_path_on_404(fake, session):
    key = fake.add_key()
    fake.set_missing("/api/v1/key")
    ctx = context(fake)
    assert probe_key(session, key, ctx).status == "live"
    assert [r.path for r in fake.requests] == ["/api/v1/key", "/api/v1/auth/key"]
    # The run remembers the switch: the next key goes straight to the legacy path.
    other = fake.add_key()
    assert probe_key(session, other, ctx).status == "live"
    assert [r.path for r in fake.requests_for(other)] == ["/api/v1/auth/key"]


def test_404_on_both_paths_is_unknown(fake, session):
    fake.set_missing("/api/v1/key")
    fake.set_missing("/api/v1/auth/key")
    v = probe(fake, session, fake.add_key())
    assert v.status == "unknown"
    assert len(fake.requests) == 2


def test_redirect_is_not_followed(fake, session):
    key = fake.add_key()
    fake.set_controls(key, force_status=302, location=fake.base_url + "/key?followed=1")
    v = probe(fake, session, key)
    assert v.status == "unknown"
    assert "redirect" in v.reason
    assert len(fake.requests) == 1


def test_timeout_is_unknown(fake, session):
    key = fake.add_key()
    fake.set_controls(key, latency_ms=800)
    v = probe(fake, session, key, timeout=0.2, retries=0)
    assert v.status == "unknown"
    assert "timeout" in v.reason


def test_connection_failure_is_unknown_after_a_retry(session, vclock):
    with FakeOpenRouter() as gone:
        base = gone.base_url
    v = probe_key(session, make_key(), context(gone, vclock, base_url=base, timeout=1, retries=1))
    assert v.status == "unknown"
    assert "connection failure (2 attempts)" in v.reason
    assert len(vclock.sleeps) == 1


def test_safe_headers_only(fake, session):
    probe(fake, session, fake.add_key())
    [request] = fake.requests
    assert request.user_agent == USER_AGENT
    for name in ("http-referer", "x-title", "x-openrouter-title", "cookie"):
        assert name not in request.header_names


def test_probe_logs_and_verdicts_never_hold_the_key(fake, session, caplog):
    caplog.set_level(logging.DEBUG)  # keysentry's records and urllib3's
    live, dead, flaky, html = fake.add_key(), make_key(), fake.add_key(), fake.add_key()
    fake.set_controls(flaky, force_status=429, fail_times=1, retry_after=0.01)
    fake.set_controls(html, force_status=403, non_json_body=True)
    verdicts = [probe(fake, session, k) for k in (live, dead, flaky, html)]
    assert [v.status for v in verdicts] == ["live", "invalid", "live", "unknown"]
    assert any("probe" in r.getMessage() for r in caplog.records)
    text = caplog.text + repr(verdicts) + repr([r.args for r in caplog.records])
    for key in (live, dead, flaky, html):
        assert key[9:] not in text


def test_label_holding_a_key_is_redacted(fake, session):
    key = fake.add_key()
    leaked = make_key()
    fake.set_controls(key, force_status=200, body={"data": {"label": f"copy of {leaked}"}})
    v = probe(fake, session, key)
    assert v.details is not None and v.details.label is not None
    assert leaked not in v.details.label
    assert "..." in v.details.label


# -- TLS ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A certificate for 127.0.0.1 that no trust store knows."""
    openssl = tool("openssl")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True, timeout=300,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_fake(self_signed: tuple[str, str]) -> Iterator[FakeOpenRouter]:
    with FakeOpenRouter(tls=self_signed) as server:
        yield server


def test_probe_verifies_tls_and_never_sends_the_key_on_a_bad_certificate(tls_fake):
    key = tls_fake.add_key()
    assert tls_fake.base_url.startswith("https://127.0.0.1:")
    with make_session(tls_fake.base_url) as session:
        v = probe_key(session, key, context(tls_fake, retries=2))
    assert v.status == "unknown"
    assert v.reason == "TLS failure (certificate or handshake)"
    assert tls_fake.requests == [], "no request got through the handshake"


def test_the_fake_serves_tls_to_a_client_that_trusts_it(tls_fake, self_signed):
    # The control for the test above: the same server answers once its certificate is trusted,
    # so the failure there is the verification and nothing else.
    key = tls_fake.add_key()
    answer = requests.get(
        tls_fake.base_url + "/key",
        headers={"Authorization": f"Bearer {key}"},
        verify=self_signed[0],
        timeout=5,
    )
    assert answer.status_code == 200


def test_management_client_verifies_tls(tls_fake):
    manager = tls_fake.add_key("management")
    client = ManagementClient(manager, base_url=tls_fake.base_url, retries=0)
    with client, pytest.raises(ApiError, match="TLS failure"):
        client.list_keys()
    assert tls_fake.requests == []


def test_management_client_refuses_plain_http_off_loopback():
    with pytest.raises(UsageError, match="plain-HTTP"):
        ManagementClient(make_key(), base_url="http://openrouter.example/api/v1")


@pytest.mark.parametrize(
    "url",
    ["http://openrouter.ai/api/v1", "ftp://127.0.0.1/x", "https://", "http://10.0.0.1/api"],
)
def test_base_url_must_be_https_or_loopback(url):
    with pytest.raises(UsageError):
        check_base_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://openrouter.ai/api/v1/",
        "http://127.0.0.1:8080/api/v1",
        "http://localhost/api/v1",
        "http://[::1]:9/api/v1",
    ],
)
def test_https_and_loopback_urls_are_accepted(url):
    assert not check_base_url(url).endswith("/")


def test_base_url_with_credentials_is_refused():
    with pytest.raises(UsageError):
        check_base_url("https://user:pw@openrouter.ai/api/v1")


# -- ratelimit helpers ------------------------------------------------------------------------


def test_retry_after_seconds_and_http_date():
    assert retry_after_seconds({"Retry-After": "3"}) == 3.0
    now = 1_700_000_000.0
    date = "Tue, 14 Nov 2023 22:13:30 GMT"  # now + 10 s
    assert retry_after_seconds({"Retry-After": date}, now=now) == pytest.approx(10.0)


def test_ratelimit_reset_epoch_ms_in_headers_and_body():
    now = 1_700_000_000.0
    reset = str(int((now + 4) * 1000))
    assert retry_after_seconds({"X-RateLimit-Reset": reset}, now=now) == pytest.approx(4.0)
    body = {"error": {"code": 429, "metadata": {"headers": {"X-RateLimit-Reset": reset}}}}
    assert retry_after_seconds({}, body, now=now) == pytest.approx(4.0)
    assert retry_after_seconds({}, {"error": "x"}, now=now) is None
    assert retry_after_seconds({"Retry-After": "soon"}, now=now) is None


@settings(deadline=None)  # Hypothesis' per-example deadline is a wall-clock bound too
@given(
    st.dictionaries(
        st.sampled_from(["Retry-After", "retry-after", "X-RateLimit-Reset", "Other"]),
        st.one_of(st.text(max_size=40), st.integers().map(str), st.floats().map(str)),
    )
)
def test_any_header_value_gives_a_bounded_delay_or_none(headers):
    delay = retry_after_seconds(headers, {"error": {"metadata": {"headers": headers}}})
    assert delay is None or 0.0 <= delay <= MAX_HINT_SECONDS


def test_hint_in_the_past_means_no_wait():
    assert retry_after_seconds({"X-RateLimit-Reset": "1000000000000"}, now=2e9) == 0.0


def test_backoff_grows_and_is_capped():
    assert backoff_seconds(0, rng=lambda: 1.0) == 0.5
    assert backoff_seconds(3, rng=lambda: 1.0) == 4.0
    assert backoff_seconds(10, rng=lambda: 1.0) == 8.0
    assert backoff_seconds(10, rng=lambda: 0.0) == 4.0


def test_token_bucket_spaces_requests():
    clock = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    bucket = TokenBucket(4, clock=lambda: clock[0], sleep=sleep)
    for _ in range(5):
        assert bucket.acquire()
    # 5 requests at 4/s: the last starts at t=1.0, stretched by the small safety margin.
    assert 1.0 <= clock[0] <= 1.05
    assert len(sleeps) == 4 and all(0.25 <= s <= 0.26 for s in sleeps)
    before = clock[0]
    bucket.defer_until(before + 3)
    assert bucket.acquire()
    assert clock[0] == pytest.approx(before + 3)
    assert not bucket.acquire(deadline=clock[0] + 0.1)

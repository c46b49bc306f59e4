"""Every answer the probe can get, and the verdict, words and waits each one gives.

The fake OpenRouter server (tests/fake_openrouter.py) answers each case for real; the
probe runs on a virtual clock, so retries and budgets cost no real time. The reasons are
compared whole: they are what ``check-key`` and every report show.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import requests

from fake_openrouter import FakeOpenRouter, fake_openrouter_fixture, hash_of, make_key
from keysentry.models import KeyDetails, Validation, redact
from keysentry.validate.http import make_session
from keysentry.validate.probe import MAX_BODY_BYTES, ProbeContext, probe_key
from keysentry.validate.ratelimit import TokenBucket
from virtualclock import VirtualClock

fake = fake_openrouter_fixture()

INVALID = "rejected (401): revoked, deleted, disabled, expired or never issued"


@pytest.fixture
def session(fake: FakeOpenRouter) -> Iterator[requests.Session]:
    with make_session(fake.base_url) as s:
        yield s


def context(
    fake: FakeOpenRouter, clock: VirtualClock | None = None, **overrides: object
) -> ProbeContext:
    clock = clock or VirtualClock()
    values: dict[str, object] = {
        "base_url": fake.base_url,
        "limiter": TokenBucket(1000, clock=clock.now, sleep=clock.sleep),
        "deadline": clock.now() + 30,
        "timeout": 5.0,
        "retries": 2,
        "backoff_base": 0.01,
        "clock": clock.clock,
    }
    values.update(overrides)
    return ProbeContext(**values)  # type: ignore[arg-type]


def probe(fake: FakeOpenRouter, session: requests.Session, key: str, **kw: object) -> Validation:
    return probe_key(session, key, context(fake, **kw))


# -- one answer, one verdict --------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (402, "HTTP 402 payment required: possibly live but out of credit"),
        (403, "HTTP 403 forbidden, probably a proxy or firewall in the way"),
        (300, "HTTP 300 redirect (not followed)"),
        (302, "HTTP 302 redirect (not followed)"),
        (399, "HTTP 399 redirect (not followed)"),
        (299, "unexpected HTTP status 299"),
        (400, "unexpected HTTP status 400"),
        (418, "unexpected HTTP status 418"),
        (499, "unexpected HTTP status 499"),
    ],
)
def test_a_final_answer_is_unknown_with_its_reason_and_never_retried(
    fake: FakeOpenRouter, session: requests.Session, status: int, reason: str
) -> None:
    key = fake.add_key()
    fake.set_controls(key, force_status=status)
    v = probe(fake, session, key)
    assert (v.status, v.reason, v.details) == ("unknown", reason, None)
    assert len(fake.requests) == 1


def test_a_key_the_api_does_not_know_is_invalid(
    fake: FakeOpenRouter, session: requests.Session
) -> None:
    v = probe(fake, session, make_key())
    assert (v.status, v.reason, v.details) == ("invalid", INVALID, None)


@pytest.mark.parametrize(("status", "retries"), [(500, 0), (503, 1), (599, 2)])
def test_a_server_error_is_retried_and_then_counted(
    fake: FakeOpenRouter, session: requests.Session, status: int, retries: int
) -> None:
    key = fake.add_key()
    fake.set_controls(key, force_status=status, retry_after_header=False)
    v = probe(fake, session, key, retries=retries)
    tries = "1 attempt" if retries == 0 else f"{retries + 1} attempts"
    assert (v.status, v.reason) == ("unknown", f"server error (HTTP {status}) ({tries})")
    assert len(fake.requests) == retries + 1


def test_a_server_error_s_wait_may_come_in_its_body_only(
    fake: FakeOpenRouter, session: requests.Session
) -> None:
    key = fake.add_key()
    reset = str(int((time.time() + 40) * 1000))
    error = {"error": {"code": 503, "metadata": {"headers": {"X-RateLimit-Reset": reset}}}}
    fake.set_controls(key, force_status=503, fail_times=1, body=error)
    clock = VirtualClock()
    assert probe(fake, session, key, clock=clock, deadline=clock.now() + 100).status == "live"
    [wait] = clock.sleeps
    assert 20 < wait <= 40, "the hint, not the 0.01 s backoff"


@pytest.mark.parametrize(
    "body",
    [b"<html>blocked</html>", b"\xff\xfe{\x00}\x00", b""],
    ids=["html", "not-utf-8", "empty"],
)
def test_a_200_that_is_not_json_is_unknown(
    fake: FakeOpenRouter, session: requests.Session, body: bytes
) -> None:
    key = fake.add_key()
    fake.set_controls(key, force_status=200, body=body)
    v = probe(fake, session, key)
    assert (v.status, v.reason) == ("unknown", "HTTP 200 with a body that is not JSON")


@pytest.mark.parametrize("body", [[{"data": {}}], {"data": [1]}, {"data": "live"}, {"key": {}}])
def test_a_200_without_a_data_object_is_unknown(
    fake: FakeOpenRouter, session: requests.Session, body: object
) -> None:
    key = fake.add_key()
    fake.set_controls(key, force_status=200, body=body)
    v = probe(fake, session, key)
    assert (v.status, v.reason) == ("unknown", "HTTP 200 without a data object")


def test_a_200_with_an_empty_data_object_is_live_and_knows_nothing(
    fake: FakeOpenRouter, session: requests.Session
) -> None:
    key = fake.add_key()
    fake.set_controls(key, force_status=200, body={"data": {}})
    v = probe(fake, session, key)
    assert (v.status, v.reason, v.details) == ("live", "", KeyDetails())


def test_fields_of_the_wrong_type_are_dropped_not_trusted(
    fake: FakeOpenRouter, session: requests.Session
) -> None:
    key = fake.add_key()
    data = {
        "label": 5,
        "limit": True,
        "limit_remaining": "3",
        "usage": 2,
        "usage_monthly": 1.5,
        "is_free_tier": "yes",
        "is_management_key": 1,
        "is_provisioning_key": None,
        "expires_at": 20990101,
    }
    fake.set_controls(key, force_status=200, body={"data": data})
    v = probe(fake, session, key)
    assert (v.status, v.reason) == ("live", "")
    assert v.details == KeyDetails(usage=2.0, usage_monthly=1.5)
    assert v.details is not None and type(v.details.usage) is float


def test_fields_of_the_right_type_are_kept() -> None:
    """The control for the test above: the same fields, well typed, all come through."""
    data = {
        "label": "ci deploy",
        "limit": 10,
        "limit_remaining": 7.5,
        "usage": 2.5,
        "usage_monthly": 0,
        "is_free_tier": True,
        "is_management_key": False,
        "expires_at": "2099-01-01T00:00:00Z",
    }
    from keysentry.validate.probe import parse_details

    assert parse_details(data) == KeyDetails(
        "ci deploy", 10.0, 7.5, 2.5, 0.0, True, False, "2099-01-01T00:00:00Z"
    )


_ABSENT = object()


@pytest.mark.parametrize(
    ("management", "provisioning", "expected"),
    [
        (_ABSENT, _ABSENT, None),
        (True, _ABSENT, True),
        (_ABSENT, True, True),
        (False, _ABSENT, False),
        (_ABSENT, False, False),
        (False, False, False),
        (False, True, True),
        (True, False, True),
        ("true", _ABSENT, None),
        (_ABSENT, 1, None),
    ],
)
def test_a_management_key_is_named_by_either_field(
    fake: FakeOpenRouter,
    session: requests.Session,
    management: object,
    provisioning: object,
    expected: bool | None,
) -> None:
    """``is_management_key``, or the deprecated ``is_provisioning_key`` of older answers:
    either one true makes the key a management key; neither (as booleans) says nothing."""
    key = fake.add_key()
    data = {"label": "x"}
    if management is not _ABSENT:
        data["is_management_key"] = management  # type: ignore[assignment]
    if provisioning is not _ABSENT:
        data["is_provisioning_key"] = provisioning  # type: ignore[assignment]
    fake.set_controls(key, force_status=200, body={"data": data})
    v = probe(fake, session, key)
    assert v.details is not None and v.details.is_management_key is expected
    assert (v.status, v.reason) == ("live", "management key" if expected else "")


def test_a_legacy_management_key_is_known_by_its_old_field(
    fake: FakeOpenRouter, session: requests.Session
) -> None:
    key = fake.add_key("management", legacy_minimal=True)
    v = probe(fake, session, key)
    assert v.details is not None and v.details.is_management_key is True
    assert v.reason == "management key"


# -- bodies: read whole up to a cap, never further ------------------------------------------------


def _padded(size: int) -> bytes:
    """A live answer of exactly ``size`` bytes (JSON allows the trailing spaces)."""
    head = json.dumps({"data": {"label": "padded", "usage": 1}}).encode()
    return head + b" " * (size - len(head))


def test_a_body_of_the_cap_is_read(fake: FakeOpenRouter, session: requests.Session) -> None:
    key = fake.add_key()
    fake.set_controls(key, force_status=200, body=_padded(MAX_BODY_BYTES))
    v = probe(fake, session, key)
    assert v.status == "live" and v.details is not None and v.details.label == "padded"


def test_a_body_one_byte_over_the_cap_is_refused(
    fake: FakeOpenRouter, session: requests.Session
) -> None:
    key = fake.add_key()
    fake.set_controls(key, force_status=200, body=_padded(MAX_BODY_BYTES + 1))
    v = probe(fake, session, key)
    assert (v.status, v.reason) == ("unknown", "response body too large")
    assert len(fake.requests) == 1, "a body too large is final: no retry"


def test_a_huge_body_is_not_downloaded(fake: FakeOpenRouter, session: requests.Session) -> None:
    """The probe stops reading past the cap and hangs up: a hostile endpoint cannot make
    it take (or hold in memory) what it sends."""
    key = fake.add_key()
    size = 64 << 20
    fake.set_controls(key, force_status=200, body=_padded(size))
    v = probe(fake, session, key)
    assert (v.status, v.reason) == ("unknown", "response body too large")
    deadline = time.monotonic() + 30
    while not fake.body_bytes_sent and time.monotonic() < deadline:
        time.sleep(0.01)  # the server notices the hang-up on its next write
    [sent] = fake.body_bytes_sent
    assert sent < size // 2


def test_a_body_that_does_not_decode_is_a_failed_request(
    fake: FakeOpenRouter, session: requests.Session
) -> None:
    key = fake.add_key()
    fake.set_controls(key, force_status=200, body=b"not gzip", headers={"Content-Encoding": "gzip"})
    v = probe(fake, session, key)
    assert (v.status, v.reason) == ("unknown", "request failed (ContentDecodingError)")
    assert len(fake.requests) == 1


def test_no_redirect_is_followed_whatever_the_session(fake: FakeOpenRouter) -> None:
    """The probe asks for no redirects itself: a caller's plain requests.Session (which
    would follow one) still sends the key to the base URL only."""
    key = fake.add_key()
    fake.set_controls(key, force_status=302, fail_times=1, location=fake.base_url + "/credits")
    with requests.Session() as plain:
        v = probe_key(plain, key, context(fake))
    assert (v.status, v.reason) == ("unknown", "HTTP 302 redirect (not followed)")
    assert [r.path for r in fake.requests] == ["/api/v1/key"]


# -- the time budget ------------------------------------------------------------------------


def test_a_budget_already_spent_sends_nothing(
    fake: FakeOpenRouter, session: requests.Session
) -> None:
    clock = VirtualClock()
    v = probe(fake, session, fake.add_key(), clock=clock, deadline=clock.now() - 1)
    assert (v.status, v.reason) == (
        "unknown",
        "time budget exhausted before the key could be checked",
    )
    assert fake.requests == []


def test_a_budget_that_ends_now_sends_nothing(
    fake: FakeOpenRouter, session: requests.Session
) -> None:
    # A request slot at the deadline itself is granted, but no time is left to ask in.
    clock = VirtualClock()
    v = probe(fake, session, fake.add_key(), clock=clock, deadline=clock.now())
    assert (v.status, v.reason) == ("unknown", "time budget exhausted")
    assert fake.requests == []


def test_a_wait_that_ends_at_the_deadline_is_not_taken(
    fake: FakeOpenRouter, session: requests.Session
) -> None:
    key = fake.add_key()
    fake.set_controls(key, force_status=429, retry_after=2)
    clock = VirtualClock()
    v = probe(fake, session, key, clock=clock, deadline=clock.now() + 2)
    assert (v.status, v.reason) == (
        "unknown",
        "rate limited (HTTP 429); retrying would exceed the time budget",
    )
    assert clock.sleeps == [] and len(fake.requests) == 1


def test_a_wait_that_ends_before_the_deadline_is_taken(
    fake: FakeOpenRouter, session: requests.Session
) -> None:
    key = fake.add_key()
    fake.set_controls(key, force_status=429, fail_times=1, retry_after=2)
    clock = VirtualClock()
    v = probe(fake, session, key, clock=clock, deadline=clock.now() + 2.5)
    assert v.status == "live"
    assert clock.sleeps == [2.0]


# -- what the user hears while the probe waits ---------------------------------------------


def _retry_notices(heard: list[str]) -> list[str]:
    return [h for h in heard if not h.startswith("waiting for ")]


@pytest.mark.parametrize(("retry_after", "told"), [(1, True), (0.5, False)])
def test_a_wait_of_a_second_or_more_is_announced(
    fake: FakeOpenRouter, session: requests.Session, retry_after: float, told: bool
) -> None:
    key = fake.add_key()
    fake.set_controls(key, force_status=429, fail_times=2, retry_after=retry_after)
    heard: list[str] = []
    v = probe(fake, session, key, retries=3, on_wait=heard.append, slow_after=60)
    assert v.status == "live"
    expected = [
        f"rate limited (HTTP 429) from {fake.base_url}; attempt {n} of 4 in 1 s..." for n in (2, 3)
    ]
    assert _retry_notices(heard) == (expected if told else [])


class Ear:
    """An ``on_wait`` that notes what it hears and when (``time.monotonic``)."""

    def __init__(self) -> None:
        self.heard: list[tuple[float, str]] = []

    def __call__(self, text: str) -> None:
        self.heard.append((time.monotonic(), text))


def test_a_slow_answer_is_announced_while_it_is_awaited(
    fake: FakeOpenRouter, session: requests.Session
) -> None:
    key = fake.add_key()
    fake.set_controls(key, latency_ms=1500)
    ear = Ear()
    started = time.monotonic()
    v = probe(fake, session, key, timeout=30.0, retries=1, on_wait=ear, slow_after=0.3)
    assert v.status == "live"
    [(when, text)] = ear.heard
    assert text == f"waiting for {fake.base_url} (timeout 30 s, attempt 1 of 2)..."
    assert when - started >= 0.3, "not before slow_after"


def test_the_announcement_comes_by_half_the_timeout_at_the_latest(
    fake: FakeOpenRouter, session: requests.Session
) -> None:
    key = fake.add_key()
    fake.set_controls(key, latency_ms=3000)
    ear = Ear()
    started = time.monotonic()
    probe(fake, session, key, timeout=4.25, retries=0, on_wait=ear, slow_after=60)
    [(when, text)] = ear.heard
    assert text == f"waiting for {fake.base_url} (timeout 4.2 s, attempt 1 of 1)..."
    assert when - started >= 4.25 / 2, "half the timeout, not sooner"


def test_a_timeout_is_unknown_and_counted(fake: FakeOpenRouter, session: requests.Session) -> None:
    key = fake.add_key()
    fake.set_controls(key, latency_ms=1000)
    v = probe(fake, session, key, timeout=0.2, retries=0)
    assert (v.status, v.reason) == ("unknown", "timeout (1 attempt)")


def test_a_budget_shorter_than_the_timeout_still_asks(
    fake: FakeOpenRouter, session: requests.Session
) -> None:
    # Less than a second left: the request is made, its timeout cut to what is left.
    clock = VirtualClock()
    v = probe(fake, session, fake.add_key(), clock=clock, deadline=clock.now() + 0.9)
    assert v.status == "live"
    assert len(fake.requests) == 1


def test_a_quick_answer_is_never_announced(fake: FakeOpenRouter, session: requests.Session) -> None:
    heard: list[str] = []
    key = fake.add_key()
    v = probe(fake, session, key, on_wait=heard.append, slow_after=0.3)
    assert v.status == "live"
    threading.Event().wait(1.0)  # past the moment the announcement was set for
    assert heard == []


# -- what is logged -----------------------------------------------------------------------


def test_the_log_tells_each_step_by_fingerprint_and_redacted_key(
    fake: FakeOpenRouter, session: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    key = fake.add_key()
    fake.set_missing("/api/v1/key")
    fake.set_controls(key, force_status=429, fail_times=1, retry_after=1)
    caplog.set_level(logging.DEBUG, logger="keysentry.validate.probe")
    assert probe(fake, session, key).status == "live"
    fp = hash_of(key)[:12]
    assert [r.getMessage() for r in caplog.records if r.name == "keysentry.validate.probe"] == [
        f"probe {fp}: rate limited (HTTP 429), retry 1 in 1.00s",
        f"probe {fp}: /key answered 404, trying /auth/key",
        f"probe {fp} {redact(key)}: live",
    ]


def test_no_key_path_at_all_is_unknown(fake: FakeOpenRouter, session: requests.Session) -> None:
    fake.set_missing("/api/v1/key")
    fake.set_missing("/api/v1/auth/key")
    v = probe(fake, session, fake.add_key())
    assert (v.status, v.reason) == ("unknown", "HTTP 404 on /key and /auth/key")


# -- when -------------------------------------------------------------------------------------


@pytest.fixture
def far_east(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's local time 14 hours ahead of UTC."""
    monkeypatch.setenv("TZ", "KEY-14")
    time.tzset()
    try:
        yield
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.usefixtures("far_east")
def test_every_verdict_is_stamped_in_utc(fake: FakeOpenRouter, session: requests.Session) -> None:
    live, dead, odd = fake.add_key(), make_key(), fake.add_key()
    fake.set_controls(odd, force_status=403)
    for key, status in ((live, "live"), (dead, "invalid"), (odd, "unknown")):
        v = probe(fake, session, key)
        assert v.status == status
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", v.checked_at), v.checked_at
        stamped = datetime.strptime(v.checked_at, "%Y-%m-%dT%H:%M:%SZ")
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        assert abs(stamped - now) < timedelta(hours=2), (v.checked_at, now)

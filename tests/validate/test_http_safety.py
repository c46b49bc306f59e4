"""The safety properties of keysentry.validate.http, asserted one by one.

Every API call goes through make_session/bearer/check_base_url, so these are what keeps a key
on the wire to the right host only. tools/mutate.py runs its "network" target against this
file. The servers are real sockets on 127.0.0.1.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
import requests.auth

import keysentry
from keysentry.errors import UsageError
from keysentry.validate.http import (
    USER_AGENT,
    bearer,
    check_base_url,
    is_loopback_host,
    make_session,
)


def make_key() -> str:
    return "sk-or-" + "v1-" + secrets.token_hex(32)


class Recorder:
    """A loopback HTTP server that records each request's headers and answers by path:
    ``/cookie`` sets a cookie, ``/redirect`` answers 302 to ``/target``, anything else 200."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                recorder.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                self.send_response(302 if self.path == "/redirect" else 200)
                if self.path == "/cookie":
                    self.send_header("Set-Cookie", "session=abc; Path=/")
                if self.path == "/redirect":
                    self.send_header("Location", "/target")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def server() -> Iterator[Recorder]:
    recorder = Recorder()
    recorder.thread.start()
    try:
        yield recorder
    finally:
        recorder.server.shutdown()
        recorder.server.server_close()


# -- check_base_url / is_loopback_host ------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LocalHost", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("10.0.0.1", False),
        ("0.0.0.0", False),
        ("openrouter.ai", False),
        ("localhost.example.test", False),
        ("", False),
    ],
)
def test_is_loopback_host(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://openrouter.ai/api/v1", "https://openrouter.ai/api/v1"),
        ("  https://openrouter.ai/api/v1/  ", "https://openrouter.ai/api/v1"),
        ("https://openrouter.ai/api/v1///", "https://openrouter.ai/api/v1"),
        ("http://127.0.0.1:8080/api/v1", "http://127.0.0.1:8080/api/v1"),
        ("http://LOCALHOST/api/v1/", "http://LOCALHOST/api/v1"),
        ("http://[::1]:9/api/v1", "http://[::1]:9/api/v1"),
        ("https://example.test/API/X/", "https://example.test/API/X"),
    ],
)
def test_accepted_base_urls_are_normalised(url: str, expected: str) -> None:
    assert check_base_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "https://openrouter.ai:99999/api",
            "invalid API base URL 'https://openrouter.ai:99999/api'",
        ),
        ("https://[::1/api", "invalid API base URL"),
        ("ftp://127.0.0.1/x", "expected https://host/path"),
        ("https:///api/v1", "expected https://host/path"),
        ("openrouter.ai/api/v1", "expected https://host/path"),
        ("http://openrouter.ai/api/v1", "refusing plain-HTTP API base URL"),
        ("http://10.0.0.1/api", "keys would travel unencrypted"),
        ("https://user@openrouter.ai/api/v1", "must not contain a user name or password"),
        ("https://:pw@openrouter.ai/api/v1", "must not contain a user name or password"),
        ("https://openrouter.ai/api/v1?x=1", "must not have a query or fragment"),
        ("https://openrouter.ai/api/v1#frag", "must not have a query or fragment"),
    ],
)
def test_refused_base_urls_say_why(url: str, message: str) -> None:
    with pytest.raises(UsageError) as err:
        check_base_url(url)
    assert message in str(err.value)


def test_refusals_tell_the_user_what_to_do() -> None:
    with pytest.raises(UsageError) as err:
        check_base_url("http://openrouter.ai/api/v1")
    assert str(err.value) == (
        "refusing plain-HTTP API base URL 'http://openrouter.ai/api/v1': keys would travel "
        "unencrypted. Use https:// (plain http is allowed for 127.0.0.1, ::1 and localhost only)."
    )
    with pytest.raises(UsageError) as err:
        check_base_url("https://user:pw@openrouter.ai/api/v1")
    assert str(err.value) == "the API base URL must not contain a user name or password"
    assert "pw" not in str(err.value)


# -- make_session -----------------------------------------------------------------------------


def test_session_sends_only_its_own_headers(server: Recorder) -> None:
    with make_session(server.url) as session:
        assert dict(session.headers) == {"User-Agent": USER_AGENT, "Accept": "application/json"}
        session.get(server.url + "/x", timeout=5)
    [(_, headers)] = server.seen
    assert headers["user-agent"] == f"keysentry/{keysentry.__version__}"
    assert headers["accept"] == "application/json"
    assert "accept-encoding" not in headers or "br" not in headers["accept-encoding"]
    for name in ("authorization", "cookie", "http-referer", "x-title"):
        assert name not in headers


def test_session_verifies_tls_and_never_redirects(server: Recorder) -> None:
    with make_session("https://openrouter.ai/api/v1") as session:
        assert session.verify is True
        assert session.max_redirects == 0
    with make_session(server.url) as session:
        answer = session.get(server.url + "/redirect", timeout=5)
    # Not followed, and not an error either: the caller sees the 3xx and reports it.
    assert answer.status_code == 302
    assert [path for path, _ in server.seen] == ["/redirect"]


def test_cookies_are_never_kept_or_sent(server: Recorder) -> None:
    with make_session(server.url) as session:
        session.get(server.url + "/cookie", timeout=5)
        session.get(server.url + "/next", timeout=5)
        assert len(session.cookies) == 0
    assert "cookie" not in server.seen[1][1]


def test_proxies_from_the_environment_apply_to_real_hosts_only(
    server: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    with make_session("https://openrouter.ai/api/v1") as session:
        assert session.trust_env is True
    # A dead proxy in the environment would break every request to the local fake server.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with make_session(server.url) as session:
        assert session.trust_env is False
        assert session.get(server.url + "/x", timeout=5).status_code == 200


@pytest.mark.parametrize(("pool_size", "expected"), [(None, 4), (7, 7), (1, 1), (0, 1), (-3, 1)])
def test_connection_pool_is_sized_for_the_workers(pool_size: int | None, expected: int) -> None:
    kwargs = {} if pool_size is None else {"pool_size": pool_size}
    with make_session("https://openrouter.ai/api/v1", **kwargs) as session:
        for scheme in ("https://", "http://"):
            adapter = session.get_adapter(scheme + "openrouter.ai/")
            assert isinstance(adapter, requests.adapters.HTTPAdapter)
            assert adapter._pool_maxsize == expected
            assert adapter._pool_connections == 1
            assert adapter.poolmanager.connection_pool_kw["maxsize"] == expected


# -- bearer -----------------------------------------------------------------------------------


def test_bearer_sends_the_key_and_never_shows_it(server: Recorder) -> None:
    key = make_key()
    auth = bearer(key)
    assert isinstance(auth, requests.auth.AuthBase)
    assert repr(auth) == "<Bearer [redacted]>"
    assert key not in repr(auth) and key not in str(auth)
    with make_session(server.url) as session:
        session.get(server.url + "/x", auth=auth, timeout=5)
    assert server.seen[0][1]["authorization"] == f"Bearer {key}"

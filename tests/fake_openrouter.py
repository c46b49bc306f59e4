"""A fake OpenRouter API: a real HTTP server on 127.0.0.1 for offline tests.

It follows the contract in shared/openrouter-api.md section 8: ``GET /key`` (and the legacy
``/auth/key``), ``/credits``, and the management endpoints ``/keys`` and ``/keys/{hash}``,
with an in-memory key table. Test controls (not part of OpenRouter) can be set per key or
globally: ``force_status``, ``fail_times``, ``latency_ms``, ``non_json_body``, ``hang`` and
a few more. The request log keeps a hash of each bearer token, never the token.

Use it as a context manager, or get a pytest fixture from :func:`fake_openrouter_fixture`::

    from fake_openrouter import FakeOpenRouter, fake_openrouter_fixture

    fake = fake_openrouter_fixture()  # a fixture named "fake"

    def test_live(fake: FakeOpenRouter) -> None:
        key = fake.add_key()
"""

from __future__ import annotations

import hashlib
import json
import secrets
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import pytest

API = "/api/v1"
PAGE_SIZE = 100
HANG_LIMIT_S = 300
_PIECE = 1 << 16
"""Bodies are written in pieces of this size (``body_bytes_sent`` counts them)."""
"""The longest a request of a hanging server is held (a test's clients give up sooner)."""
WORKSPACE_ID = "0b7c6d52-1f7e-4c59-9a1e-5d2f3c1a0e11"
CREATOR = "user_test0000000000000000000000"
_EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)

Kind = Literal["regular", "management"]
Status = Literal["live", "disabled", "deleted"]

_REASONS = {
    400: "Invalid request parameters",
    401: "User not found.",
    402: "Insufficient credits. Add more using https://openrouter.ai/credits",
    403: "Only management keys can perform this operation",
    404: "Resource not found",
    429: "Rate limit exceeded",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
_HTML = (
    b"<html><head><title>Attention Required! | Cloudflare</title></head><body>blocked</body></html>"
)


def make_key() -> str:
    """A fresh key-shaped string, built at run time (never committed)."""
    return "sk-or-" + "v1-" + secrets.token_hex(32)


def hash_of(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _label(secret: str) -> str:
    body = secret.rsplit("-", 1)[-1]
    return f"sk-or-v1-{body[:3]}...{body[-3:]}"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Controls:
    """Test knobs; set per key (by token) or globally."""

    force_status: int | None = None
    """Answer with this status instead of the normal one."""
    fail_times: int | None = None
    """How many times ``force_status`` applies; None means every time."""
    latency_ms: float = 0.0
    non_json_body: bool = False
    """Send an HTML page (``text/html``) instead of the JSON body."""
    body: Any = None
    """JSON body to send with ``force_status`` instead of the error envelope (``bytes``: sent
    as they are, as ``text/html``)."""
    retry_after: float | None = None
    """Seconds for 429/503 hints (contract default: 2 for 429, 1 for 503)."""
    retry_after_header: bool = True
    ratelimit_headers: bool = True
    """Send ``X-RateLimit-*`` headers on 429 (the body metadata carries them regardless)."""
    headers: dict[str, str] = field(default_factory=dict)
    """More headers to send with a forced answer (``Content-Encoding``, ...)."""
    location: str = "http://127.0.0.1:9/elsewhere"
    """``Location`` for a forced 3xx."""
    hang: bool = False
    """Never answer: read the request, log it (status 0) and hold the connection until the
    server stops, as an API stuck behind a proxy does."""

    def take_forced(self) -> int | None:
        if self.force_status is None:
            return None
        if self.fail_times is None:
            return self.force_status
        if self.fail_times <= 0:
            return None
        self.fail_times -= 1
        return self.force_status


@dataclass
class FakeKey:
    """One row of the key table."""

    secret: str = field(repr=False)
    hash: str
    name: str
    kind: Kind = "regular"
    status: Status = "live"
    limit: float | None = 10.0
    usage: float = 2.5
    usage_daily: float = 0.5
    usage_weekly: float = 1.0
    usage_monthly: float = 2.5
    limit_reset: str | None = None
    include_byok_in_limit: bool = False
    created_at: str = ""
    updated_at: str | None = None
    expires_at: str | None = None
    workspace_id: str = WORKSPACE_ID
    legacy_minimal: bool = False
    """Answer ``/key`` with the older, minimal field set."""
    seq: int = 0
    label: str | None = None
    """The label the API returns (free text); default: the redacted key, as OpenRouter's."""

    @property
    def shown_label(self) -> str:
        return _label(self.secret) if self.label is None else self.label

    @property
    def expired(self) -> bool:
        if not self.expires_at:
            return False
        when = datetime.fromisoformat(self.expires_at.replace("Z", "+00:00"))
        return when <= datetime.now(timezone.utc)

    @property
    def limit_remaining(self) -> float | None:
        return None if self.limit is None else max(self.limit - self.usage, 0.0)

    def _limits_and_usage(self) -> dict[str, Any]:
        """The fields the Key object and the live /key body share."""
        return {
            "limit": self.limit,
            "limit_remaining": self.limit_remaining,
            "limit_reset": self.limit_reset,
            "include_byok_in_limit": self.include_byok_in_limit,
            "usage": self.usage,
            "usage_daily": self.usage_daily,
            "usage_weekly": self.usage_weekly,
            "usage_monthly": self.usage_monthly,
            "byok_usage": 0,
            "byok_usage_daily": 0,
            "byok_usage_weekly": 0,
            "byok_usage_monthly": 0,
        }

    def key_object(self) -> dict[str, Any]:
        return {
            "hash": self.hash,
            "name": self.name,
            "label": self.shown_label,
            "disabled": self.status == "disabled",
            **self._limits_and_usage(),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "creator_user_id": CREATOR,
            "workspace_id": self.workspace_id,
            "expires_at": self.expires_at,
        }

    def probe_data(self) -> dict[str, Any]:
        management = self.kind == "management"
        if self.legacy_minimal:
            return {
                "label": self.shown_label,
                "limit": 5,
                "usage": 0.1,
                "is_provisioning_key": management,
                "limit_remaining": 4.9,
                "is_free_tier": False,
                "rate_limit": {"requests": 50, "interval": "10s"},
            }
        return {
            "label": self.shown_label,
            **self._limits_and_usage(),
            "is_free_tier": False,
            "is_management_key": management,
            "is_provisioning_key": management,
            "creator_user_id": CREATOR,
            "rate_limit": {
                "requests": -1,
                "interval": "10s",
                "note": "This field is deprecated and safe to ignore.",
            },
            "expires_at": self.expires_at,
        }


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the fake saw it. ``token_hash`` is sha256 of the bearer, never the bearer."""

    method: str
    path: str
    query: dict[str, list[str]]
    has_auth: bool
    token_hash: str | None
    user_agent: str | None
    header_names: tuple[str, ...]
    """Lower-cased names of every request header."""
    body: Any
    """Decoded JSON request body (management calls carry no secrets), or None."""
    at: float
    """``time.monotonic()`` on arrival."""
    status: int = 0


class _Reply(Exception):
    """Raised by route handlers to answer: unwinds to the dispatcher."""

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _error(status: int, message: str | None = None) -> _Reply:
    return _Reply(status, {"error": {"code": status, "message": message or _REASONS[status]}})


class FakeOpenRouter:
    """The fake server and its state. Thread-safe; start with ``with`` or :meth:`start`."""

    def __init__(self, *, tls: tuple[str, str] | None = None) -> None:
        """``tls``: (certificate, private key) PEM files to serve HTTPS instead of HTTP."""
        self._tls = tls
        self._lock = threading.RLock()
        self._keys: dict[str, FakeKey] = {}  # by hash
        self._controls: dict[str, Controls] = {}  # by token hash
        self._global = Controls()
        self._log: list[LoggedRequest] = []
        self._missing_paths: set[str] = set()
        self._seq = 0
        self._in_flight = 0
        self.max_in_flight = 0
        self.body_bytes_sent: list[int] = []
        """Per answer, the bytes of its body the client took before it hung up (or all)."""
        self._server: ThreadingHTTPServer | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> FakeOpenRouter:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        if self._tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self._tls)
            # A client that refuses the certificate fails the handshake inside accept(); the
            # server loop treats that OSError as a dropped connection and serves on.
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-openrouter"
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # lets hanging handlers go
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOpenRouter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return int(self._server.server_address[1])

    @property
    def root_url(self) -> str:
        scheme = "http" if self._tls is None else "https"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """What ``OPENROUTER_BASE_URL`` should be set to."""
        return self.root_url + API

    # -- state --------------------------------------------------------------------------

    def add_key(
        self,
        kind: Kind = "regular",
        status: Status = "live",
        *,
        name: str | None = None,
        secret: str | None = None,
        **fields: Any,
    ) -> str:
        """Seed a key; returns its secret. ``fields`` set FakeKey attributes (limit, usage, ...)."""
        token = secret or make_key()
        with self._lock:
            self._seq += 1
            record = FakeKey(
                secret=token,
                hash=hash_of(token),
                name=name or f"{kind}-key-{self._seq}",
                kind=kind,
                status=status,
                created_at=_iso(_EPOCH + timedelta(minutes=self._seq)),
                seq=self._seq,
            )
            if kind == "management":
                record.limit = None
            for attr, value in fields.items():
                if not hasattr(record, attr):
                    raise TypeError(f"FakeKey has no field {attr}")
                setattr(record, attr, value)
            self._keys[record.hash] = record
        return token

    def add_keys(self, count: int, kind: Kind = "regular", **fields: Any) -> list[str]:
        return [self.add_key(kind, **fields) for _ in range(count)]

    def key(self, secret_or_hash: str) -> FakeKey:
        """The table row for a key (by secret or hash)."""
        h = secret_or_hash if len(secret_or_hash) == 64 else hash_of(secret_or_hash)
        with self._lock:
            return self._keys[h]

    def set_status(self, secret: str, status: Status) -> None:
        with self._lock:
            self.key(secret).status = status

    def set_controls(self, secret: str | None = None, **changes: Any) -> None:
        """Set controls for requests authenticated with ``secret``, or globally for None."""
        with self._lock:
            if secret is None:
                self._global = replace(self._global, **changes)
            else:
                h = hash_of(secret)
                self._controls[h] = replace(self._controls.get(h, Controls()), **changes)

    def set_missing(self, path: str, missing: bool = True) -> None:
        """Make ``path`` (e.g. ``/api/v1/key``) answer 404, as an older or newer API might."""
        with self._lock:
            (self._missing_paths.add if missing else self._missing_paths.discard)(path)

    # -- request log --------------------------------------------------------------------

    @property
    def requests(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._log)

    def requests_for(
        self,
        secret: str | None = None,
        *,
        path: str | None = None,
        method: str | None = None,
    ) -> list[LoggedRequest]:
        h = None if secret is None else hash_of(secret)
        return [
            r
            for r in self.requests
            if (h is None or r.token_hash == h)
            and (path is None or r.path == path)
            and (method is None or r.method == method)
        ]

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()
            self.max_in_flight = 0
            self.body_bytes_sent.clear()

    # -- request handling (called from server threads) ----------------------------------

    def _handle(self, method: str, raw_path: str, headers: Any, body: bytes) -> _Reply | None:
        """The reply, or None to hang up without one (the ``hang`` control)."""
        url = urlsplit(raw_path)
        query = parse_qs(url.query, keep_blank_values=True)
        has_auth, token = _token(headers)
        token_hash = hash_of(token) if token else None
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = "<not json>"
        entry = LoggedRequest(
            method=method,
            path=url.path,
            query=query,
            has_auth=has_auth,
            token_hash=token_hash,
            user_agent=headers.get("User-Agent"),
            header_names=tuple(sorted(k.lower() for k in headers)),
            body=payload,
            at=time.monotonic(),
        )
        with self._lock:
            controls = self._controls.get(token_hash or "", self._global)
            latency = max(controls.latency_ms, self._global.latency_ms)
            forced = controls.take_forced()
            if forced is None and controls is not self._global:
                forced = self._global.take_forced()
                controls = self._global if forced is not None else controls
            snapshot = replace(controls)
            missing = url.path in self._missing_paths
        if snapshot.hang or self._global.hang:
            with self._lock:
                self._log.append(entry)
            # Held until the server stops (a client's own timeout ends it first).
            self._stopping.wait(timeout=HANG_LIMIT_S)
            return None
        if latency:
            time.sleep(latency / 1000.0)
        try:
            if forced is not None:
                raise self._forced(forced, snapshot)
            if missing:
                raise _error(404, "Not Found")
            self._route(method, url.path, query, has_auth, token, payload)
            raise _error(404, "Not Found")  # pragma: no cover - _route always raises
        except _Reply as reply:
            if snapshot.non_json_body:
                reply.body = _HTML
            with self._lock:
                self._log.append(replace(entry, status=reply.status))
            return reply

    def _forced(self, status: int, controls: Controls) -> _Reply:
        headers: dict[str, str] = {}
        if controls.body is not None:
            return _Reply(status, controls.body, dict(controls.headers))
        reply = _error(status, _REASONS.get(status, "Error"))
        if 300 <= status < 400:
            return _Reply(status, {}, {"Location": controls.location})
        if status == 429:
            wait = 2.0 if controls.retry_after is None else controls.retry_after
            reset = str(int(time.time() * 1000 + wait * 1000))
            limits = {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0"}
            limits["X-RateLimit-Reset"] = reset
            if controls.retry_after_header:
                headers["Retry-After"] = _seconds(wait)
            if controls.ratelimit_headers:
                headers.update(limits)
            reply.body["error"]["metadata"] = {"headers": limits}
        if status == 503 and controls.retry_after_header:
            headers["Retry-After"] = _seconds(
                1.0 if controls.retry_after is None else controls.retry_after
            )
        reply.headers = {**headers, **controls.headers}
        return reply

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        has_auth: bool,
        token: str | None,
        body: Any,
    ) -> None:
        if method == "GET" and path in (API + "/key", API + "/auth/key"):
            record = self._caller(has_auth, token)
            raise _Reply(200, {"data": record.probe_data()})
        if method == "GET" and path == API + "/credits":
            self._manager(has_auth, token)
            raise _Reply(200, {"data": {"total_credits": 100.5, "total_usage": 25.75}})
        if path in (API + "/keys", API + "/keys/"):
            self._manager(has_auth, token)
            if method == "GET":
                self._list(query)
            if method == "POST":
                self._create(body)
            raise _error(405, "Method Not Allowed")
        if path.startswith(API + "/keys/"):
            self._manager(has_auth, token)
            self._one(method, path.rsplit("/", 1)[-1], body)
        raise _error(404, "Not Found")

    def _caller(self, has_auth: bool, token: str | None) -> FakeKey:
        """The live key behind the bearer, or a 401 (contract 8.2 check order)."""
        if not has_auth:
            raise _error(401, "Missing Authentication header")
        if not token or not (token.startswith("sk-or-v1-") or token.startswith("eyJ")):
            raise _error(401, "No cookie auth credentials found")
        with self._lock:
            record = self._keys.get(hash_of(token))
            if record is None or record.status != "live" or record.expired:
                raise _error(401, "User not found.")
            return record

    def _manager(self, has_auth: bool, token: str | None) -> FakeKey:
        record = self._caller(has_auth, token)
        if record.kind != "management":
            raise _error(403)
        return record

    def _list(self, query: dict[str, list[str]]) -> None:
        offset_text = query.get("offset", ["0"])[-1]
        include = query.get("include_disabled", ["false"])[-1]
        workspace = query.get("workspace_id", [WORKSPACE_ID])[-1]
        if not offset_text.isdigit() or include not in ("true", "false"):
            raise _error(400)
        offset = int(offset_text)
        with self._lock:
            rows = [
                k
                for k in self._keys.values()
                if k.kind == "regular"
                and k.status != "deleted"
                and (include == "true" or k.status != "disabled")
                and k.workspace_id == workspace
            ]
            rows.sort(key=lambda k: (k.created_at, k.seq), reverse=True)
            page = [k.key_object() for k in rows[offset : offset + PAGE_SIZE]]
        raise _Reply(200, {"data": page})

    def _create(self, body: Any) -> None:
        if not isinstance(body, dict) or not _valid_create(body):
            raise _error(400)
        fields: dict[str, Any] = {"usage": 0.0, "usage_daily": 0.0, "usage_weekly": 0.0}
        fields.update(usage_monthly=0.0, limit=body.get("limit"))
        for name in ("limit_reset", "include_byok_in_limit", "expires_at", "workspace_id"):
            if body.get(name) is not None:
                fields[name] = body[name]
        fields["created_at"] = _iso(datetime.now(timezone.utc))
        secret = self.add_key("regular", name=body["name"], **fields)
        record = self.key(secret)
        raise _Reply(201, {"data": record.key_object(), "key": secret})

    def _one(self, method: str, key_hash: str, body: Any) -> None:
        with self._lock:
            record = self._keys.get(key_hash)
            if record is None or record.status == "deleted":
                raise _error(404)
            if method == "GET":
                raise _Reply(200, {"data": record.key_object()})
            if method == "DELETE":
                record.status = "deleted"
                raise _Reply(200, {"deleted": True})
            if method == "PATCH":
                if not isinstance(body, dict) or not _valid_patch(body):
                    raise _error(400)
                for name, value in body.items():
                    if name == "disabled":
                        record.status = "disabled" if value else "live"
                    else:
                        setattr(record, name, value)
                record.updated_at = _iso(datetime.now(timezone.utc))
                raise _Reply(200, {"data": record.key_object()})
        raise _error(405, "Method Not Allowed")

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _token(headers: Any) -> tuple[bool, str | None]:
    auth = headers.get("Authorization")
    if auth is not None:
        scheme, _, rest = auth.strip().partition(" ")
        return True, rest.strip() if scheme.lower() == "bearer" else ""
    api_key = headers.get("x-api-key")
    if api_key is not None:
        return True, api_key.strip()
    return False, None


def _is_number(value: Any, *, allow_none: bool) -> bool:
    if value is None:
        return allow_none
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _valid_create(body: dict[str, Any]) -> bool:
    name = body.get("name")
    if not isinstance(name, str) or not name:
        return False
    if not _is_number(body.get("limit"), allow_none=True):
        return False
    if body.get("limit_reset") not in (None, "daily", "weekly", "monthly"):
        return False
    if not isinstance(body.get("include_byok_in_limit", False), bool):
        return False
    expires = body.get("expires_at")
    if expires is not None:
        if not isinstance(expires, str) or not (
            expires.endswith("Z") or expires.endswith("+00:00")
        ):
            return False
        try:
            datetime.fromisoformat(expires.replace("Z", "+00:00"))
        except ValueError:
            return False
    return True


def _valid_patch(body: dict[str, Any]) -> bool:
    checks: dict[str, Callable[[Any], bool]] = {
        "name": lambda v: isinstance(v, str) and bool(v),
        "disabled": lambda v: isinstance(v, bool),
        "limit": lambda v: _is_number(v, allow_none=True),
        "limit_reset": lambda v: v in (None, "daily", "weekly", "monthly"),
        "include_byok_in_limit": lambda v: isinstance(v, bool),
    }
    return all(name in checks and checks[name](value) for name, value in body.items())


def _handler_for(fake: FakeOpenRouter) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like the real API
        # Headers and body leave in one write (flushed by handle_one_request): two small
        # writes meet the client's delayed ACK and cost ~40 ms per request.
        wbufsize = 1 << 16
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            fake._enter()
            try:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                reply = fake._handle(self.command, self.path, self.headers, body)
                if reply is None:
                    self.close_connection = True
                    return
                if isinstance(reply.body, bytes):
                    data, ctype = reply.body, "text/html; charset=utf-8"
                else:
                    data, ctype = json.dumps(reply.body).encode(), "application/json"
                self.send_response(reply.status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                sent = 0
                try:
                    # In pieces, to know how much a client that stops reading took.
                    for start in range(0, len(data), _PIECE):
                        self.wfile.write(data[start : start + _PIECE])
                        sent = min(start + _PIECE, len(data))
                finally:
                    with fake._lock:
                        fake.body_bytes_sent.append(sent)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (a timeout test)
            finally:
                fake._leave()

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the request log is the record

    return Handler


def fake_openrouter_fixture(name: str = "fake") -> Any:
    """A pytest fixture (named ``name``) yielding a started :class:`FakeOpenRouter`."""

    @pytest.fixture(name=name)
    def _fixture() -> Iterator[FakeOpenRouter]:
        with FakeOpenRouter() as server:
            yield server

    return _fixture

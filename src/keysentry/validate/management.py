"""Client for OpenRouter's key-management API (requires a management key).

Every failure becomes an :class:`~keysentry.errors.ApiError` whose text says what to do; a
"not found" is a normal answer (None / False), because for a leaked key it means "not in this
account or already deleted". The management key is held privately and never appears in a
message, a repr or a log line.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from keysentry.errors import ApiError
from keysentry.validate.http import bearer, check_base_url, make_session
from keysentry.validate.ratelimit import Clock, backoff_seconds, retry_after_seconds

log = logging.getLogger(__name__)

MANAGEMENT_KEY_ENV = "OPENROUTER_MANAGEMENT_KEY"
PAGE_SIZE = 100
_MAX_PAGES = 10_000
_PATCH_FIELDS = frozenset({"name", "disabled", "limit", "limit_reset", "include_byok_in_limit"})


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """One key of the account, as the management API describes it."""

    hash: str
    """sha256 hex of the key string, i.e. a keysentry fingerprint."""
    name: str = ""
    label: str = ""
    disabled: bool = False
    limit: float | None = None
    limit_remaining: float | None = None
    limit_reset: str | None = None
    usage: float | None = None
    usage_monthly: float | None = None
    created_at: str | None = None
    updated_at: str | None = None
    expires_at: str | None = None
    workspace_id: str | None = None
    is_management_key: bool | None = None
    """Only when the API says so; the documented Key object has no such field."""

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> ApiKeyRecord:
        key_hash = data.get("hash")
        if not isinstance(key_hash, str) or not key_hash:
            raise ApiError("the API returned a key without a hash; cannot continue")
        management = data.get("is_management_key", data.get("is_provisioning_key"))
        return cls(
            hash=key_hash.lower(),
            name=_str(data.get("name")) or "",
            label=_str(data.get("label")) or "",
            disabled=data.get("disabled") is True,
            limit=_num(data.get("limit")),
            limit_remaining=_num(data.get("limit_remaining")),
            limit_reset=_str(data.get("limit_reset")),
            usage=_num(data.get("usage")),
            usage_monthly=_num(data.get("usage_monthly")),
            created_at=_str(data.get("created_at")),
            updated_at=_str(data.get("updated_at")),
            expires_at=_str(data.get("expires_at")),
            workspace_id=_str(data.get("workspace_id")),
            is_management_key=management if isinstance(management, bool) else None,
        )


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A newly created key: the only moment the API ever returns the key string."""

    record: ApiKeyRecord
    secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Credits:
    total_credits: float | None
    total_usage: float | None


class ManagementClient:
    """List, inspect, disable, delete and create keys with a management key."""

    def __init__(
        self,
        management_key: str,
        *,
        base_url: str,
        timeout: float = 10.0,
        retries: int = 3,
        rate_limit: float = 10.0,
        max_retry_wait: float = 60.0,
        clock: Clock | None = None,
    ) -> None:
        if not management_key.strip():
            raise ApiError(f"no management key given; set {MANAGEMENT_KEY_ENV}")
        self._key = management_key.strip()
        self._base = check_base_url(base_url)
        self._timeout = timeout
        self._retries = retries
        self._max_retry_wait = max_retry_wait
        self._clock = clock or Clock()
        self._limiter = self._clock.bucket(rate_limit)
        self._session = make_session(self._base, pool_size=1)

    def __repr__(self) -> str:
        return f"ManagementClient(base_url={self._base!r})"

    def __enter__(self) -> ManagementClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    # -- operations ---------------------------------------------------------------------

    def list_keys(
        self, *, include_disabled: bool = True, workspace_id: str | None = None
    ) -> tuple[ApiKeyRecord, ...]:
        """Every key of the account, following ``offset`` in pages of 100 until empty."""
        records: list[ApiKeyRecord] = []
        seen: set[str] = set()
        for page in range(_MAX_PAGES):
            params = {
                "offset": str(page * PAGE_SIZE),
                "include_disabled": "true" if include_disabled else "false",
            }
            if workspace_id:
                params["workspace_id"] = workspace_id
            items = self._data_list(self._call("GET", "/keys", params=params))
            if not items:
                return tuple(records)
            fresh = [r for r in map(ApiKeyRecord.from_json, items) if r.hash not in seen]
            if not fresh:
                # A server that ignores offset would otherwise loop forever.
                raise ApiError("the API returned the same page of keys twice; stopping")
            seen.update(r.hash for r in fresh)
            records.extend(fresh)
        raise ApiError(f"more than {_MAX_PAGES * PAGE_SIZE} keys listed; stopping")

    def get_key(self, key_hash: str) -> ApiKeyRecord | None:
        """The key with this hash, or None if it is not in this account (or deleted)."""
        body = self._call("GET", _key_path(key_hash), not_found_ok=True)
        return None if body is None else ApiKeyRecord.from_json(self._data_object(body))

    def update_key(self, key_hash: str, **changes: object) -> ApiKeyRecord | None:
        """PATCH the key; None if it is not in this account (or deleted)."""
        unknown = set(changes) - _PATCH_FIELDS
        if unknown:
            raise ValueError(f"cannot change {', '.join(sorted(unknown))}")
        body = self._call("PATCH", _key_path(key_hash), json_body=changes, not_found_ok=True)
        return None if body is None else ApiKeyRecord.from_json(self._data_object(body))

    def disable_key(self, key_hash: str) -> ApiKeyRecord | None:
        return self.update_key(key_hash, disabled=True)

    def delete_key(self, key_hash: str) -> bool:
        """True if deleted now; False if it was not in this account or already deleted."""
        return self._call("DELETE", _key_path(key_hash), not_found_ok=True) is not None

    def create_key(
        self,
        name: str,
        *,
        limit: float | None = None,
        limit_reset: str | None = None,
        expires_at: str | None = None,
    ) -> CreatedKey:
        payload: dict[str, object] = {"name": name, "limit": limit}
        if limit_reset is not None:
            payload["limit_reset"] = limit_reset
        if expires_at is not None:
            payload["expires_at"] = expires_at
        body = self._call("POST", "/keys", json_body=payload)
        secret = body.get("key") if isinstance(body, dict) else None
        if not isinstance(secret, str) or not secret:
            raise ApiError("the API created a key but did not return it")
        return CreatedKey(ApiKeyRecord.from_json(self._data_object(body)), secret)

    def credits(self) -> Credits:
        data = self._data_object(self._call("GET", "/credits"))
        return Credits(_num(data.get("total_credits")), _num(data.get("total_usage")))

    # -- transport ----------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, object] | None = None,
        not_found_ok: bool = False,
    ) -> Any:
        """The decoded JSON body of a 2xx answer (None for an allowed 404); else ApiError."""
        what = f"{method} {path.split('?')[0]}"
        attempt = 0
        while True:
            self._limiter.acquire()
            try:
                response = self._session.request(
                    method,
                    self._base + path,
                    params=params,
                    json=json_body,
                    auth=bearer(self._key),
                    timeout=self._timeout,
                    allow_redirects=False,
                )
            except requests.exceptions.SSLError:
                raise ApiError(f"{what}: TLS failure talking to {self._base}") from None
            except (requests.exceptions.Timeout, requests.exceptions.ConnectionError) as exc:
                problem = "timed out" if isinstance(exc, requests.exceptions.Timeout) else None
                retry_reason = f"{what}: {problem or 'could not connect to ' + self._base}"
                delay = None
                rate_limited = False
            except requests.exceptions.RequestException as exc:
                raise ApiError(f"{what}: request failed ({type(exc).__name__})") from None
            else:
                status = response.status_code
                if 200 <= status < 300:
                    return self._json(response, what)
                if status == 404 and not_found_ok:
                    return None
                if status != 429 and status < 500:
                    raise ApiError(_error_text(what, status, response))
                retry_reason = _error_text(what, status, response)
                rate_limited = status == 429
                delay = retry_after_seconds(response.headers, _safe_json(response))
                if status == 429 and delay is not None:
                    self._limiter.defer_until(self._clock.now() + delay)
            if method == "POST" and not rate_limited:
                # A POST that timed out or hit a 5xx may have created the key: never repeat it.
                raise ApiError(f"{retry_reason}; not retried (the request may have succeeded)")
            if attempt >= self._retries:
                raise ApiError(f"{retry_reason} (gave up after {attempt + 1} attempts)")
            wait = delay if delay is not None else backoff_seconds(attempt)
            if wait > self._max_retry_wait:
                raise ApiError(f"{retry_reason}; the server asked to wait {wait:.0f}s")
            log.debug("%s: retry %d in %.2fs", what, attempt + 1, wait)
            self._clock.sleep(wait)
            attempt += 1

    @staticmethod
    def _json(response: requests.Response, what: str) -> Any:
        body = _safe_json(response)
        if body is None:
            raise ApiError(f"{what}: the API answered with something that is not JSON")
        return body

    @staticmethod
    def _data_object(body: Any) -> Mapping[str, object]:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise ApiError("unexpected API answer: no data object")
        # POST /keys puts the key string next to data, not in it; nothing else is read here.
        return data

    @staticmethod
    def _data_list(body: Any) -> list[Mapping[str, object]]:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
            raise ApiError("unexpected API answer: no list of keys")
        return data


def _key_path(key_hash: str) -> str:
    return "/keys/" + quote(key_hash.lower(), safe="")


def _error_text(what: str, status: int, response: requests.Response) -> str:
    if status == 401:
        return (
            f"{what}: the management key was rejected (401): it is invalid, disabled, expired "
            f"or deleted. Check {MANAGEMENT_KEY_ENV}."
        )
    if status == 403:
        return (
            f"{what}: forbidden (403): the key in {MANAGEMENT_KEY_ENV} is not a management key. "
            "Create one at https://openrouter.ai/settings/management-keys"
        )
    if status == 404:
        return f"{what}: not found (404)"
    if status == 400:
        return f"{what}: the API rejected the request parameters (400)"
    if status == 429:
        return f"{what}: rate limited by the API (429)"
    if status >= 500:
        return f"{what}: OpenRouter server error (HTTP {status}); try again later"
    if 300 <= status < 400:
        return f"{what}: unexpected redirect (HTTP {status}), not followed"
    return f"{what}: unexpected HTTP status {status}"


def _safe_json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)

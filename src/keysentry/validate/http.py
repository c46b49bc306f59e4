"""The one place that builds HTTP sessions for the OpenRouter API.

Safety properties live here so every caller gets them: redirects are never followed (a
redirect could carry the bearer to another host), TLS is verified, cookies are dropped, the
User-Agent names keysentry and no attribution headers are sent. ``requests`` is imported
lazily by callers of :func:`make_session` only.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import keysentry
from keysentry.errors import UsageError

if TYPE_CHECKING:
    import requests

USER_AGENT = f"keysentry/{keysentry.__version__}"


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str) -> str:
    """Return ``url`` without a trailing slash, or raise :class:`UsageError`.

    HTTPS is required except for loopback hosts (the offline fake server). Credentials,
    query strings and fragments are refused because they would be sent with every request.
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        raise UsageError(f"invalid API base URL {url!r}") from None
    if parts.scheme not in ("https", "http") or not host:
        raise UsageError(f"invalid API base URL {url!r}: expected https://host/path")
    if parts.scheme == "http" and not is_loopback_host(host):
        raise UsageError(
            f"refusing plain-HTTP API base URL {url!r}: keys would travel unencrypted. "
            "Use https:// (plain http is allowed for 127.0.0.1, ::1 and localhost only)."
        )
    if parts.username is not None or parts.password is not None:
        raise UsageError("the API base URL must not contain a user name or password")
    if parts.query or parts.fragment:
        raise UsageError(f"the API base URL must not have a query or fragment: {url!r}")
    return url.strip().rstrip("/")


def make_session(base_url: str, *, pool_size: int = 4) -> requests.Session:
    """A ``requests.Session`` configured for keysentry's API calls to ``base_url``."""
    from http.cookiejar import DefaultCookiePolicy  # pulls in urllib.request: import late

    import requests.adapters

    session_class, _ = _classes()
    session = session_class()
    session.headers.clear()
    session.headers["User-Agent"] = USER_AGENT
    session.headers["Accept"] = "application/json"
    session.verify = True
    session.max_redirects = 0
    # A cookie set for one key must not ride along with the next key's probe.
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    host = urlsplit(base_url).hostname or ""
    # Environment proxies are honoured for the real API (corporate networks), but never for
    # loopback, where a proxy would only break the local fake server.
    session.trust_env = not is_loopback_host(host)
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=max(1, pool_size))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def bearer(secret: str) -> requests.auth.AuthBase:
    """An auth object that sets ``Authorization: Bearer``.

    Passing auth as an object (not a header dict) stops requests from replacing it with
    ``~/.netrc`` credentials, and the object's repr never shows the key.
    """
    _, bearer_class = _classes()
    return bearer_class(secret)


@functools.cache
def _classes() -> tuple[type[requests.Session], Callable[[str], requests.auth.AuthBase]]:
    # Built on first use so that importing this module does not import requests.
    import requests
    import requests.auth

    class NoRedirectSession(requests.Session):
        # requests follows redirects through this hook for every verb; returning None turns
        # it off even for a caller that forgets ``allow_redirects=False``.
        def get_redirect_target(self, resp: requests.Response) -> str | None:
            return None

    class Bearer(requests.auth.AuthBase):
        __slots__ = ("_secret",)

        def __init__(self, secret: str) -> None:
            self._secret = secret

        def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
            r.headers["Authorization"] = f"Bearer {self._secret}"
            return r

        def __repr__(self) -> str:
            return "<Bearer [redacted]>"

    return NoRedirectSession, Bearer

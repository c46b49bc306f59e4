"""Validation settings: one frozen value built from config, environment and CLI flags."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from keysentry.errors import ConfigError, UsageError

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
BASE_URL_ENV = "OPENROUTER_BASE_URL"


@dataclass(frozen=True, slots=True)
class ValidationSettings:
    """How found keys are probed against the OpenRouter API."""

    base_url: str = DEFAULT_BASE_URL
    """API root; ``GET {base_url}/key`` is the probe. HTTPS, or plain HTTP on loopback only."""
    concurrency: int = 4
    """Probes in flight at once."""
    rate_limit: float = 80.0
    """Global cap on requests per second, retries included."""
    timeout: float = 10.0
    """Per-request timeout in seconds."""
    budget: float = 120.0
    """Total seconds for the whole validation run; keys not settled by then are ``unknown``."""
    retries: int = 3
    """Retries after a transient failure (429, 5xx, timeout, connection error)."""
    cache: bool = True
    cache_ttl: float = 3600.0
    """Seconds a cached live/invalid outcome stays valid."""
    cache_dir: str | None = None
    """Defaults to ``$XDG_CACHE_HOME/keysentry`` or ``~/.cache/keysentry``."""

    def __post_init__(self) -> None:
        _check_ranges(self)

    @classmethod
    def from_config(
        cls,
        section: Mapping[str, object],
        env: Mapping[str, str],
        *,
        no_cache: bool = False,
    ) -> ValidationSettings:
        """Build settings from the ``[validation]`` config table and the environment.

        Precedence for ``base_url``: an explicit ``base_url`` in the config table, then the
        ``OPENROUTER_BASE_URL`` environment variable, then the public API. Every other field
        comes from the table or its default. ``no_cache`` (the ``--no-cache`` flag) wins over
        ``cache = true``. Unknown keys and values of the wrong type raise :class:`ConfigError`
        naming the key.
        """
        values: dict[str, object] = {}
        for name, raw in section.items():
            values[name] = _coerce(name, raw)
        if "base_url" not in values and env.get(BASE_URL_ENV, "").strip():
            values["base_url"] = env[BASE_URL_ENV].strip()
        settings = cls(**values)  # type: ignore[arg-type]  # each value was checked by _coerce
        if no_cache:
            settings = replace(settings, cache=False)
        # Imported here so that settings stay importable without requests installed.
        from keysentry.validate.http import check_base_url

        try:
            return replace(settings, base_url=check_base_url(settings.base_url))
        except UsageError as exc:
            source = "validation.base_url" if "base_url" in section else BASE_URL_ENV
            raise ConfigError(f"{source}: {exc}") from None


_INT_FIELDS = frozenset({"concurrency", "retries"})
_FLOAT_FIELDS = frozenset({"rate_limit", "timeout", "budget", "cache_ttl"})
_STR_FIELDS = frozenset({"base_url"})
_OPTIONAL_STR_FIELDS = frozenset({"cache_dir"})
_BOOL_FIELDS = frozenset({"cache"})
_KNOWN = frozenset(f.name for f in fields(ValidationSettings))


def _coerce(name: str, raw: object) -> object:
    where = f"validation.{name}"
    if name not in _KNOWN:
        known = ", ".join(sorted(_KNOWN))
        raise ConfigError(f"{where}: unknown setting (known: {known})")
    # bool is a subclass of int: reject it explicitly so `concurrency = true` is an error.
    if name in _INT_FIELDS:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ConfigError(f"{where}: expected an integer, got {type(raw).__name__}")
        return raw
    if name in _FLOAT_FIELDS:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ConfigError(f"{where}: expected a number, got {type(raw).__name__}")
        return float(raw)
    if name in _BOOL_FIELDS:
        if not isinstance(raw, bool):
            raise ConfigError(f"{where}: expected true or false, got {type(raw).__name__}")
        return raw
    if name in _STR_FIELDS or name in _OPTIONAL_STR_FIELDS:
        if not isinstance(raw, str) or not raw.strip():
            raise ConfigError(f"{where}: expected a non-empty string")
        return raw.strip()
    raise AssertionError(f"unhandled setting {name}")  # pragma: no cover


def _check_ranges(s: ValidationSettings) -> None:
    def positive(name: str, value: float) -> None:
        if not (math.isfinite(value) and value > 0):
            raise ConfigError(f"validation.{name}: must be a positive number, got {value}")

    if s.concurrency < 1 or s.concurrency > 64:
        raise ConfigError(f"validation.concurrency: must be 1 to 64, got {s.concurrency}")
    if s.retries < 0 or s.retries > 10:
        raise ConfigError(f"validation.retries: must be 0 to 10, got {s.retries}")
    positive("rate_limit", s.rate_limit)
    positive("timeout", s.timeout)
    positive("budget", s.budget)
    if not (math.isfinite(s.cache_ttl) and s.cache_ttl >= 0):
        raise ConfigError(f"validation.cache_ttl: must be zero or more, got {s.cache_ttl}")

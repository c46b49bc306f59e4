"""Validation settings: one frozen value built from config, environment and CLI flags."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from keysentry.config import check_validation_range, validation_value
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


# config.py checks the [validation] table when any file loads, without importing this
# module; tests/test_config.py checks that config.VALIDATION_KEYS lists these fields.
def _coerce(name: str, raw: object) -> object:
    return validation_value(name, raw)


def _check_ranges(s: ValidationSettings) -> None:
    for name in ("concurrency", "retries", "rate_limit", "timeout", "budget", "cache_ttl"):
        check_validation_range(name, getattr(s, name))

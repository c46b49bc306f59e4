"""On-disk cache of probe outcomes, keyed by fingerprint (never by the key).

One JSON file in the user cache directory. Only settled outcomes (live, invalid) are stored;
an ``unknown`` is always probed again. Entries remember the API base URL they came from so a
test server's answers are never reused against the real API. A corrupt or unreadable cache
is ignored with a warning; it can never stop a scan.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from keysentry.models import KeyDetails, Validation

log = logging.getLogger(__name__)

CACHE_FILE = "validation-cache.json"
_VERSION = 1
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
_CACHEABLE = frozenset({"live", "invalid"})


def default_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/keysentry``, else ``~/.cache/keysentry``."""
    environ = os.environ if env is None else env
    xdg = environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says relative paths are invalid and must be ignored.
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "keysentry"


def validation_to_dict(validation: Validation) -> dict[str, object]:
    """The JSON form used by reports and by the cache (:meth:`Validation.to_json`)."""
    return validation.to_json()


def validation_from_dict(data: Mapping[str, object]) -> Validation | None:
    """Inverse of :func:`validation_to_dict`; None for anything malformed."""
    status = data.get("status")
    reason = data.get("reason") or ""
    checked_at = data.get("checked_at", "")
    if status not in ("live", "invalid", "unknown"):
        return None
    if not isinstance(reason, str) or not isinstance(checked_at, str):
        return None
    raw_details = data.get("details")
    details: KeyDetails | None = None
    if raw_details is not None:
        if not isinstance(raw_details, Mapping):
            return None
        details = _details_from_dict(raw_details)
        if details is None:
            return None
    return Validation(
        status=status,
        reason=reason,
        details=details,
        checked_at=checked_at,
        cached=bool(data.get("cached", False)),
    )


def _details_from_dict(raw: Mapping[str, object]) -> KeyDetails | None:
    numbers = ("limit", "limit_remaining", "usage", "usage_monthly")
    bools = ("is_free_tier", "is_management_key")
    strings = ("label", "expires_at")
    values: dict[str, object] = {}
    for name in (*numbers, *bools, *strings):
        value = raw.get(name)
        if value is None:
            continue
        ok = (
            (name in numbers and isinstance(value, int | float) and not isinstance(value, bool))
            or (name in bools and isinstance(value, bool))
            or (name in strings and isinstance(value, str))
        )
        if not ok:
            return None
        values[name] = float(value) if name in numbers else value  # type: ignore[arg-type]
    return KeyDetails(**values)  # type: ignore[arg-type]  # types checked above


@dataclass(slots=True)
class ValidationCache:
    """Probe outcomes by fingerprint. Not thread-safe: used from the coordinating thread only."""

    path: Path
    base_url: str
    ttl: float
    clock: Callable[[], float] = time.time
    _entries: dict[str, dict[str, object]] = field(default_factory=dict)
    _dirty: bool = False

    @classmethod
    def open(
        cls, directory: str | os.PathLike[str] | None, base_url: str, ttl: float
    ) -> ValidationCache:
        """Load the cache file in ``directory`` (default: the user cache dir), if any."""
        folder = Path(directory) if directory is not None else default_cache_dir()
        cache = cls(path=folder / CACHE_FILE, base_url=base_url, ttl=ttl)
        cache._load()
        return cache

    def get(self, fingerprint: str) -> Validation | None:
        entry = self._entries.get(fingerprint)
        if entry is None or entry.get("base_url") != self.base_url:
            return None
        if not self._fresh(entry, self.clock()):
            return None
        raw = entry.get("validation")
        validation = validation_from_dict(raw) if isinstance(raw, Mapping) else None
        return None if validation is None else replace(validation, cached=True)

    def put(self, fingerprint: str, validation: Validation) -> None:
        """Remember a settled outcome; ``unknown`` is not stored."""
        if validation.status not in _CACHEABLE or not _FINGERPRINT.fullmatch(fingerprint):
            return
        self._entries[fingerprint] = {
            "base_url": self.base_url,
            "stored_at": self.clock(),
            "validation": validation_to_dict(replace(validation, cached=False)),
        }
        self._dirty = True

    def forget(self, fingerprints: Iterable[str]) -> int:
        """Drop the entries of these keys, whatever base URL they came from; returns how many.

        Called when keysentry itself changes a key's state (revoke, rotate): the stored
        outcome is then known to be stale, and the next scan must ask the API again.
        """
        dropped = 0
        for fp in fingerprints:
            if self._entries.pop(fp.lower(), None) is not None:
                dropped += 1
        if dropped:
            self._dirty = True
        return dropped

    def save(self) -> None:
        """Write atomically (temp file + rename); failures are logged, never raised."""
        if not self._dirty:
            return
        now = self.clock()
        kept = {fp: e for fp, e in self._entries.items() if self._fresh(e, now)}
        payload = json.dumps({"version": _VERSION, "entries": kept}, indent=1, sort_keys=True)
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".cache-", suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(payload)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            log.warning("could not write the validation cache %s: %s", self.path, exc.strerror)
            return
        self._dirty = False

    def _fresh(self, entry: Mapping[str, object], now: float) -> bool:
        stored_at = entry.get("stored_at")
        if isinstance(stored_at, bool) or not isinstance(stored_at, int | float):
            return False
        return 0 <= now - stored_at <= self.ttl

    def _load(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("ignoring unreadable validation cache %s: %s", self.path, exc)
            return
        try:
            data = json.loads(text)
        except ValueError:
            log.warning("ignoring corrupt validation cache %s (it will be rewritten)", self.path)
            return
        entries = data.get("entries") if isinstance(data, dict) else None
        if (
            not isinstance(data, dict)
            or data.get("version") != _VERSION
            or not isinstance(entries, dict)
        ):
            log.warning("ignoring validation cache %s: unknown format", self.path)
            return
        self._entries = {
            fp: entry
            for fp, entry in entries.items()
            if isinstance(fp, str) and _FINGERPRINT.fullmatch(fp) and isinstance(entry, dict)
        }


def forget_keys(
    fingerprints: Iterable[str], directory: str | os.PathLike[str] | None = None
) -> int:
    """Drop these keys from the cache file in ``directory`` (default: the user cache dir).

    Never raises: a cache that cannot be read or written is logged, like everywhere else.
    """
    # An infinite ttl: saving prunes expired entries, and this caller knows no ttl.
    cache = ValidationCache.open(directory, base_url="", ttl=math.inf)
    dropped = cache.forget(fingerprints)
    cache.save()
    return dropped

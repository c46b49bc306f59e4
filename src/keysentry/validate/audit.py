"""Key-hygiene rules over the account's key list, and matching a report's leaks to keys.

Pure functions: no I/O, no network (reports are read by :mod:`keysentry.findings.read`). A report's fingerprints are
sha256 hex of the leaked keys, which is exactly the ``hash`` the management API uses, so a
redacted report is enough to find the leaked keys in the account.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from keysentry.errors import UsageError
from keysentry.findings.read import ReportedFinding
from keysentry.models import fingerprint_of
from keysentry.validate.management import ApiKeyRecord

AuditFlag = Literal[
    "leaked",
    "management-key",
    "no-limit",
    "no-expiry",
    "never-used",
    "unused-this-month",
    "disabled-not-deleted",
]

FLAG_HELP: Mapping[AuditFlag, str] = {
    "leaked": "found in the given keysentry report and still enabled: revoke it",
    "management-key": "a management key can create and delete every key of the account",
    "no-limit": "no credit limit: a leak can spend without bound",
    "no-expiry": "no expiry date",
    "never-used": "never used: probably not needed",
    "unused-this-month": "no use this (UTC) month: maybe no longer needed",
    "disabled-not-deleted": "disabled but not deleted",
}

_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
_KEY = re.compile(r"sk-or-v\d+-[0-9a-f]{64}")


AUDIT_FLAGS: tuple[AuditFlag, ...] = tuple(FLAG_HELP)


@dataclass(frozen=True, slots=True)
class AuditedKey:
    record: ApiKeyRecord
    flags: tuple[AuditFlag, ...]
    leaked: bool = False
    """In the report, enabled or not (the ``leaked`` flag is only for enabled keys)."""


def audit_key(
    record: ApiKeyRecord,
    *,
    leaked: frozenset[str] = frozenset(),
    management: frozenset[str] = frozenset(),
) -> AuditedKey:
    """Flags for one key. ``leaked`` and ``management`` are sets of key hashes."""
    flags: list[AuditFlag] = []
    is_leaked = record.hash in leaked
    if is_leaked and not record.disabled:
        # A disabled leaked key no longer works; it keeps "disabled-not-deleted" below.
        flags.append("leaked")
    if record.hash in management or record.is_management_key:
        flags.append("management-key")
    if record.limit is None:
        flags.append("no-limit")
    if not record.expires_at:
        flags.append("no-expiry")
    # usage is all-time and usage_monthly is the current UTC month: the API offers no
    # "last used" time, so this month's usage is the closest thing to "used recently".
    if record.usage == 0:
        flags.append("never-used")
    elif record.usage_monthly == 0:
        flags.append("unused-this-month")
    if record.disabled:
        flags.append("disabled-not-deleted")
    return AuditedKey(record, tuple(flags), is_leaked)


def audit_keys(
    records: Iterable[ApiKeyRecord],
    *,
    leaked: frozenset[str] = frozenset(),
    management: frozenset[str] = frozenset(),
) -> tuple[AuditedKey, ...]:
    """Audit every key; leaked keys first, then by name."""
    audited = [audit_key(r, leaked=leaked, management=management) for r in records]
    return tuple(sorted(audited, key=lambda a: (not a.leaked, a.record.name, a.record.hash)))


@dataclass(frozen=True, slots=True)
class LeakReport:
    """What keys-related commands need from a keysentry report."""

    fingerprints: frozenset[str]
    """sha256 of every leaked key: the management API's ``hash``."""
    management: frozenset[str]
    """Fingerprints the report's validation saw as live management keys."""


def leak_report(findings: Iterable[ReportedFinding]) -> LeakReport:
    """What the key commands need from a report read by :mod:`keysentry.findings.read`."""
    found = tuple(findings)
    return LeakReport(
        frozenset(f.fingerprint for f in found),
        frozenset(f.fingerprint for f in found if f.live_management),
    )


def parse_hash_lines(lines: Iterable[str], *, source: str = "stdin") -> frozenset[str]:
    """Raw keys (hashed here) or 64-hex fingerprints, one per line; blanks and # comments skipped.

    An unrecognised line is an error that names the line number, never its content (it might
    be a mistyped key).
    """
    hashes: set[str] = set()
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if _KEY.fullmatch(line):
            hashes.add(fingerprint_of(line))
        elif _FINGERPRINT.fullmatch(line.lower()):
            hashes.add(line.lower())
        else:
            raise UsageError(
                f"{source} line {number}: expected an OpenRouter key or a 64-hex fingerprint"
            )
    return frozenset(hashes)

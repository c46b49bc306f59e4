"""Key-hygiene rules over the account's key list, and matching a report's leaks to keys.

Pure functions: no I/O besides :func:`load_report`, no network. A report's fingerprints are
sha256 hex of the leaked keys, which is exactly the ``hash`` the management API uses, so a
redacted report is enough to find the leaked keys in the account.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from keysentry.errors import UsageError
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
    """What keys-related commands need from a keysentry JSON report."""

    fingerprints: frozenset[str]
    """sha256 of every leaked key: the management API's ``hash``."""
    management: frozenset[str]
    """Fingerprints the report's validation saw as live management keys."""


def read_report(report: object, *, source: str = "report") -> LeakReport:
    """Parse a keysentry JSON report (schema_version 1); UsageError for anything else."""
    if not isinstance(report, Mapping):
        raise UsageError(f"{source}: not a keysentry JSON report (expected an object)")
    if report.get("schema_version") != 1:
        raise UsageError(
            f"{source}: unsupported report schema_version {report.get('schema_version')!r} "
            "(expected 1; write it with `keysentry scan --format json`)"
        )
    findings = report.get("findings")
    if not isinstance(findings, list):
        raise UsageError(f"{source}: the report has no findings list")
    fingerprints: set[str] = set()
    management: set[str] = set()
    for index, finding in enumerate(findings):
        fp = finding.get("fingerprint") if isinstance(finding, Mapping) else None
        if not isinstance(fp, str) or not _FINGERPRINT.fullmatch(fp):
            raise UsageError(f"{source}: finding {index} has no valid fingerprint")
        fingerprints.add(fp)
        if _is_live_management(finding):
            management.add(fp)
    return LeakReport(frozenset(fingerprints), frozenset(management))


def _is_live_management(finding: Mapping[str, object]) -> bool:
    # The management API's key object does not say whether a key is a management key; a
    # report written with --validate does.
    validation = finding.get("validation")
    if not isinstance(validation, Mapping) or validation.get("status") != "live":
        return False
    details = validation.get("details")
    return isinstance(details, Mapping) and details.get("is_management_key") is True


def load_report(path: str | Path) -> LeakReport:
    """Read a report file; UsageError for anything unusable."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read report {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"report {path} is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        # The position only: the message of a JSON error can quote the document.
        raise UsageError(f"report {path} is not valid JSON (line {_line(exc)})") from None
    return read_report(data, source=str(path))


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


def _line(exc: ValueError) -> object:
    return getattr(exc, "lineno", "?")

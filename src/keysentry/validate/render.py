"""What the key commands print: check-key lines, key tables, audit summaries, revoke plans
and JSON documents.

Pure formatting: every function returns a string and writes nothing; the commands in
:mod:`keysentry.cli.keys` choose the stream. Keys appear only redacted. It lives under
``validate`` because it formats validate's records (the reporters may not import them).

Every string the API returned (a key's name, label, hash, dates) is shown through
:func:`api_text`: whoever can set a key's label can put terminal controls in it, so it is
escaped (and key-shaped text in it redacted) like text from a scanned repository. JSON
output needs nothing more: json.dumps writes control characters as ``\u001b``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

from keysentry.models import Validation, fingerprint_of, redact
from keysentry.untrusted import shown
from keysentry.validate.audit import FLAG_HELP
from keysentry.validate.cache import validation_to_dict

if TYPE_CHECKING:
    from keysentry.validate.audit import AuditedKey
    from keysentry.validate.management import ApiKeyRecord

LIST_COLUMNS = (
    "name",
    "label",
    "hash",
    "disabled",
    "limit",
    "remaining",
    "usage",
    "created",
    "updated",
    "expires",
)
AUDIT_COLUMNS = ("name", "hash", "leaked", "flags")


# -- check-key ---------------------------------------------------------------------------


def check_text(rows: Sequence[tuple[str, Validation]]) -> str:
    """One entry per key (a line, two when live), each key redacted."""
    return "".join(describe(redact(secret), validation) + "\n" for secret, validation in rows)


def describe(redacted: str, v: Validation) -> str:
    head = f"{redacted}  {v.status}"
    if v.status != "live":
        return f"{head}  ({v.reason})" if v.reason else head
    d = v.details
    if d is None:
        return head
    management = "MANAGEMENT KEY (critical)" if d.is_management_key else "regular key"
    parts = [
        f"label: {api_text(d.label) or '-'}",
        f"limit: {money(d.limit, none='unlimited')}",
        f"remaining: {money(d.limit_remaining, none='unlimited')}",
        f"usage: {money(d.usage)} (this month {money(d.usage_monthly)})",
        f"free tier: {_yes_no(d.is_free_tier)}",
        f"expires: {api_text(d.expires_at) or 'never'}",
    ]
    return f"{head}  {management}\n    " + ", ".join(parts)


def check_json(rows: Sequence[tuple[str, Validation]]) -> str:
    keys = [
        {
            "redacted": redact(secret),
            "fingerprint": fingerprint_of(secret),
            "validation": validation_to_dict(validation),
        }
        for secret, validation in rows
    ]
    return json.dumps({"schema_version": 1, "keys": keys}, indent=2)


# -- keys list / audit -------------------------------------------------------------------


def keys_table(records: Sequence[ApiKeyRecord]) -> str:
    return table(LIST_COLUMNS, [_list_row(r) for r in records])


def keys_json(records: Sequence[ApiKeyRecord]) -> str:
    return json.dumps({"schema_version": 1, "keys": [_record_json(r) for r in records]})


def audit_table(audited: Sequence[AuditedKey]) -> str:
    return table(AUDIT_COLUMNS, [_audit_row(a) for a in audited])


def audit_json(audited: Sequence[AuditedKey], missing: Sequence[str]) -> str:
    keys = [{**_record_json(a.record), "flags": list(a.flags), "leaked": a.leaked} for a in audited]
    return json.dumps({"schema_version": 1, "keys": keys, "leaked_not_in_account": list(missing)})


def audit_summary(audited: Sequence[AuditedKey], missing: Sequence[str], had_report: bool) -> str:
    """A count per flag met, with what it means; and the report's leaks not in the account.
    Empty when there is nothing to say."""
    counts: dict[str, int] = {}
    for a in audited:
        for flag in a.flags:
            counts[flag] = counts.get(flag, 0) + 1
    lines = [
        f"{counts[flag]:>4} {flag}: {text}" for flag, text in FLAG_HELP.items() if counts.get(flag)
    ]
    if had_report and missing:
        lines.append(
            f"{len(missing)} leaked key(s) from the report are not in this account "
            "(or were already deleted)."
        )
    return "".join(line + "\n" for line in lines)


def _list_row(r: ApiKeyRecord) -> tuple[str, ...]:
    return (
        api_text(r.name),
        api_text(r.label),
        api_text(r.hash[:16]),
        "yes" if r.disabled else "no",
        money(r.limit, none="unlimited"),
        money(r.limit_remaining, none="unlimited"),
        money(r.usage),
        _date(r.created_at),
        _date(r.updated_at),
        _date(r.expires_at, none="never"),
    )


def _audit_row(a: AuditedKey) -> tuple[str, ...]:
    return (
        api_text(a.record.name),
        api_text(a.record.hash[:16]),
        "LEAKED" if a.leaked else "",
        ",".join(a.flags),
    )


def _record_json(r: ApiKeyRecord) -> dict[str, object]:
    return asdict(r)


# -- revoke ------------------------------------------------------------------------------


def revoke_plan(
    verb: str, planned: Sequence[ApiKeyRecord], skipped: Sequence[tuple[str, str]], own: str
) -> str:
    """What revoke will do (``verb``: disable or delete) and which keys it skips and why;
    ``own`` is the hash of the management key in use."""
    lines = []
    if planned:
        lines.append(f"Will {verb} {len(planned)} key(s):")
        for r in planned:
            note = "  <- the management key in use" if r.hash == own else ""
            lines.append(
                f"  {verb:<9} {api_text(r.hash[:16])}  {quoted(r.name)}  {api_text(r.label)}{note}"
            )
    for key_hash, why in skipped:
        lines.append(f"  {'skip':<9} {key_hash[:16]}  {why}")
    if not planned:
        lines.append(f"Nothing to {verb}.")
    return "".join(line + "\n" for line in lines)


# -- cells -------------------------------------------------------------------------------


def table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns two spaces apart, a header line first; no trailing blanks."""
    widths = [len(c) for c in columns]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = [columns, *rows]
    return "".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() + "\n"
        for line in lines
    )


def api_text(value: str | None) -> str:
    """A string the API returned, safe to show: control characters escaped, key-shaped
    text redacted (None: empty)."""
    return shown(value) if value else ""


def quoted(value: str) -> str:
    """A key's name in quotes, as shown in plans and results."""
    return f"'{api_text(value)}'"


def money(value: float | None, *, none: str = "-") -> str:
    return none if value is None else f"${value:,.2f}"


def _date(value: str | None, *, none: str = "-") -> str:
    return api_text(value[:10]) if value else none


def _yes_no(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")

"""CSV: one row per location of a finding, for spreadsheets and other CI systems.

Free-text cells that a spreadsheet would read as a formula (starting with ``=``,
``+``, ``-``, ``@``, TAB or CR) get a leading ``'``: a scanned line must not run
in the reader's spreadsheet (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io

from keysentry.models import Finding, Location, ScanResult

COLUMNS = (
    "rule_id", "severity", "fingerprint", "redacted", "placeholder",
    "path", "display_path", "line", "column", "members", "decoders", "source",
    "git_status", "blob", "commit", "author", "date", "exposure", "in_head",
    "validation_status", "validation_reason", "key_label", "management_key",
    "limit", "limit_remaining", "usage", "expires_at", "snippet", "repository",
)  # fmt: skip
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def render(result: ScanResult) -> str:
    columns = (*COLUMNS, "secret") if result.show_secrets else COLUMNS
    if result.scope:  # what was scanned (the commit range ci chose), on every row
        columns = (*columns, "scope")
    buf = io.StringIO()
    # RFC 4180 line ends: the writer quotes a cell holding any lineterminator character, so
    # with "\n" alone a CR inside a cell was written bare and a reader split the row there,
    # turning the rest of the cell into a new row's first cell (and past the formula guard).
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    for f in result.findings:
        for loc in f.locations:
            row = _row(f, loc)
            if result.show_secrets:
                row.append(f.secret)
            if result.scope:
                row.append(_text(result.scope))
            writer.writerow(row)
    return buf.getvalue()


def _row(f: Finding, loc: Location) -> list[str]:
    v = f.validation
    d = v.details if v is not None else None
    commit = loc.commit
    return [
        f.rule_id,
        f.severity,
        f.fingerprint,
        f.redacted,
        _bool(f.placeholder),
        _text(loc.path),
        _text(loc.display_path),
        str(loc.line),
        str(loc.column),
        _text("!".join(loc.members)),
        " > ".join(loc.decoders),
        loc.source,
        loc.git_status or "",
        loc.blob or "",
        commit.id if commit else "",
        _text(commit.author) if commit else "",
        commit.date if commit else "",
        loc.exposure or "",
        _bool(loc.in_head),
        v.status if v else "",
        _text(v.reason) if v else "",
        _text(d.label or "") if d else "",
        _bool(d.is_management_key) if d else "",
        _num(d.limit) if d else "",
        _num(d.limit_remaining) if d else "",
        _num(d.usage) if d else "",
        (d.expires_at or "") if d else "",
        _text(loc.snippet),
        _text(loc.repository),
    ]


def _text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _bool(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"

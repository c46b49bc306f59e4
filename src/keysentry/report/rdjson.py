"""reviewdog's Diagnostic Format (rdjson, the ``DiagnosticResult`` message): one
diagnostic per location, with the change ``keysentry fix`` makes as ``suggestions``, so
reviewdog posts a one-click suggested change on the pull request (GitHub) or merge
request (GitLab).

Positions: lines and columns start at 1, columns count UTF-8 bytes, ranges end
exclusive (reviewdog's ``proto/rdf/reviewdog.proto``). A suggestion carries the new
text (the read of the environment variable), never the key.
"""

from __future__ import annotations

import json
from typing import Any

from keysentry.models import Finding, Location, Position, ScanResult
from keysentry.report.sarif import MESSAGE_SOURCES, _path
from keysentry.report.text import describe_fix, describe_validation

SOURCE = {"name": "keysentry"}
_SEVERITY = {
    "critical": "ERROR",
    "high": "ERROR",
    "medium": "WARNING",
    "low": "INFO",
    "info": "INFO",
}


def render(result: ScanResult) -> str:
    diagnostics = [
        _diagnostic(f, loc, result.show_secrets) for f in result.findings for loc in f.locations
    ]
    document = {"source": SOURCE, "severity": "ERROR" if diagnostics else "INFO",
                "diagnostics": diagnostics}  # fmt: skip
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _position(p: Position) -> dict[str, int]:
    return {"line": p.line, "column": p.byte_column}


def _diagnostic(f: Finding, loc: Location, show_secrets: bool) -> dict[str, Any]:
    shown = f.secret if show_secrets else f.redacted
    message = f"{f.description or f.rule_id}: {shown} (fingerprint {f.fingerprint[:16]})."
    if f.validation is not None:
        message += f" Validation: {describe_validation(f.validation)}."
    if loc.members:
        message += f" In archive member {'!'.join(loc.members)}, line {loc.line}."
    if loc.source in MESSAGE_SOURCES and loc.commit is not None:
        message += f" In the message of {loc.commit.id[:12]}."
    if loc.repository:
        message += f" Repository: {loc.repository}."
    fix = loc.fix
    if fix is not None and not f.placeholder:
        message += f" {describe_fix(fix)[0].upper()}{describe_fix(fix)[1:]}."
        if fix.advice:
            message += f" Then {fix.advice}."
    line = 1 if loc.members else max(loc.line, 1)
    column = 1 if loc.members else max(loc.column, 1)
    start = {"line": line, "column": column}
    location: dict[str, Any] = {"path": _path(loc), "range": {"start": start}}
    suggestions = []
    if fix is not None and fix.fixable and not loc.members and not loc.decoders:
        # The key's own edit carries its exact (byte) range; the diagnostic points there.
        for edit in fix.edits:
            suggestions.append(
                {"range": {"start": _position(edit.start), "end": _position(edit.end)},
                 "text": edit.new_text}
            )  # fmt: skip
        if fix.edits:
            first = fix.edits[0]
            location["range"] = {"start": _position(first.start), "end": _position(first.end)}
    out: dict[str, Any] = {
        "message": message,
        "location": location,
        "severity": "ERROR"
        if f.validation is not None and f.validation.status == "live"
        else _SEVERITY.get(f.severity, "WARNING"),
        "source": SOURCE,
        "code": {"value": f.rule_id},
    }
    if suggestions:
        out["suggestions"] = suggestions
    return out

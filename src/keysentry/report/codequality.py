"""GitLab Code Quality: the JSON array GitLab shows in a merge request's widget and diff.

The format is the subset of the Code Climate issue spec that GitLab documents
(https://docs.gitlab.com/ci/testing/code_quality/): one object per issue with
``description``, ``check_name``, ``fingerprint``, ``severity`` (``info``, ``minor``,
``major``, ``critical``, ``blocker``) and ``location`` (``path`` relative to the
repository root, ``lines.begin``). GitLab keeps one issue per fingerprint, so each
location of a key gets its own, from the rule, the key's fingerprint, the path and the
line. It is available on every GitLab tier, unlike the secret-detection report.

As in SARIF, a key inside an archive member points at the archive (line 1), a key in a
commit or tag message, identity or header at ``.git/commit/<id>``, and one in a ref's
name at ``.git/<ref>``; the description says where exactly.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from keysentry.models import Finding, Location, ScanResult, Severity
from keysentry.report.sarif import NOT_FILES, git_path
from keysentry.report.text import describe_location, describe_validation

_SEVERITY: dict[Severity, str] = {
    "critical": "blocker",
    "high": "critical",
    "medium": "major",
    "low": "minor",
    "info": "info",
}


def render(result: ScanResult) -> str:
    issues = [_issue(f, loc, result) for f in result.findings for loc in f.locations]
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"


def _issue(f: Finding, loc: Location, result: ScanResult) -> dict[str, Any]:
    shown = f.secret if result.show_secrets else f.redacted
    severity = _SEVERITY[f.severity]
    if f.validation is not None and f.validation.status == "live":
        severity = "blocker"
    text = [f"Leaked key {shown} ({f.description or f.rule_id}), fingerprint {f.fingerprint}"]
    if f.placeholder:
        text.append("placeholder-shaped: probably not a real key")
    if f.validation is not None:
        text.append(f"validation: {describe_validation(f.validation)}")
    text.append(f"at {describe_location(loc)}")
    if result.scope:
        text.append(f"scanned: {result.scope}")
    if not f.placeholder:
        text.append("next: treat the key as compromised; disable or delete it (keysentry revoke)")
    path, line = _where(loc)
    identity = "\0".join((f.rule_id, f.fingerprint, path, str(line), str(loc.column)))
    return {
        "type": "issue",
        "description": "; ".join(text),
        "check_name": f"keysentry/{f.rule_id}",
        "fingerprint": hashlib.sha256(identity.encode("utf-8", "surrogateescape")).hexdigest(),
        "severity": severity,
        "categories": ["Security"],
        "location": {"path": path, "lines": {"begin": line}},
    }


def _where(loc: Location) -> tuple[str, int]:
    if loc.source in NOT_FILES and loc.source != "note":
        # A message's line is within the message; a name's has one line.
        return git_path(loc), loc.line
    if loc.members:  # the line is inside the member; GitLab can only show the archive
        return loc.path, 1
    return loc.path, loc.line

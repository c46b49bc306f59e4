"""SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.

One SARIF result per location of a finding, so every place that must be cleaned
gets its own alert. How locations map (also in the README):

- a file: ``physicalLocation`` with the path relative to the scan's working
  directory (``uriBaseId`` ``%SRCROOT%``), and the line and column of the key;
- an archive member: the physical location is the archive file itself, at line 1,
  column 1 (code scanning can only point at files in the repository); the member
  chain and the line and column inside the member are in the location's
  ``message`` and in the result's ``properties`` (``members``, ``memberLine``,
  ``memberColumn``);
- git history: the path of the blob in the commit that introduced it, at the
  key's line and column in that version; the commit, blob, exposure class and
  whether the blob is still in HEAD are in the location's message and in
  ``properties``. Commit and tag messages have no file: they are reported
  against the ``.git`` path of the object (``.git/commit/<id>``), with the
  message line and column.

``partialFingerprints`` leave out line and column, so alerts survive moved
lines; the key's SHA-256 fingerprint is in ``properties.fingerprint``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

from keysentry import __version__
from keysentry.models import SEVERITIES, Finding, Location, ScanResult, Severity
from keysentry.report.json_report import validation_dict
from keysentry.report.text import describe_fix, describe_validation
from keysentry.untrusted import unescape_bytes

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
MESSAGE_SOURCES = ("commit-message", "tag-message")
OBJECT_PARTS = (*MESSAGE_SOURCES, "identity", "commit-header", "tag-header")
"""Sources that are a part of a commit or tag object: pointed at as ``.git/commit/<id>``."""
NOT_FILES = (*OBJECT_PARTS, "note", "ref-name", "tree-entry", "file-name")
"""Sources that are not a file's content: no file line to point at (a tree entry is a
name: its path is a file or directory, but the key is in the name)."""

_LEVEL: dict[Severity, str] = {
    "critical": "error",
    "high": "error",
    "medium": "warning",
    "low": "note",
    "info": "note",
}
# GitHub's bands: >= 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
_SECURITY_SEVERITY: dict[Severity, str] = {
    "critical": "9.5",
    "high": "8.0",
    "medium": "5.5",
    "low": "3.0",
    "info": "0.1",
}
_RANK = {s: i for i, s in enumerate(SEVERITIES)}  # info lowest

HELP_TEXT = """\
A leaked API key lets anyone who reads it spend the account's credits and read its usage.
Treat every key found as compromised, even in a private repository or an old commit.

Remediation:
1. Check whether the key is live: `keysentry check-key` or `keysentry scan --validate`.
2. Disable or delete it (`keysentry revoke`, or https://openrouter.ai/settings/keys) and
   create a new key.
3. Load the new key from the environment or a secret manager, never from the code.
4. Remove the old key from the code. Removing it from git history is optional once it is
   revoked; rewrite history only if the key cannot be revoked.
5. If the key is a deliberate test value, list its fingerprint in the configuration
   allowlist with a reason, or in a baseline (`keysentry baseline update`)."""

HELP_MARKDOWN = """\
A leaked API key lets anyone who reads it spend the account's credits and read its usage.
**Treat every key found as compromised**, even in a private repository or an old commit.

**Remediation**

1. Check whether the key is live: `keysentry check-key` or `keysentry scan --validate`.
2. Disable or delete it (`keysentry revoke`, or the
   [OpenRouter keys page](https://openrouter.ai/settings/keys)) and create a new key.
3. Load the new key from the environment or a secret manager, never from the code.
4. Remove the old key from the code. Removing it from git history is optional once it is
   revoked; rewrite history only if the key cannot be revoked.
5. If the key is a deliberate test value, list its fingerprint in the configuration
   allowlist with a reason, or in a baseline (`keysentry baseline update`)."""


def render(result: ScanResult) -> str:
    return json.dumps(sarif_log(result), indent=2, ensure_ascii=False) + "\n"


def sarif_log(result: ScanResult) -> dict[str, Any]:
    rules = _rules(result.findings)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results = [
        _result(f, loc, index[f.rule_id], result.show_secrets)
        for f in result.findings
        for loc in f.locations
    ]
    notifications = [
        {
            "level": "warning",
            "message": {
                "text": f"not fully scanned: {i.kind}: {i.path}"
                + (f": {i.detail}" if i.detail else "")
            },
            "descriptor": {"id": i.kind},
        }
        for i in result.stats.issues
    ] + [{"level": "note", "message": {"text": note}} for note in result.stats.notes]
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "keysentry",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": rules,
            }
        },
        "automationDetails": {"id": f"keysentry/{result.command}/"},
        "invocations": [invocation],
        "columnKind": "unicodeCodePoints",
        "results": results,
        "properties": {"counters": dict(result.stats.counters)},
    }
    if result.scope:
        run["properties"]["scope"] = result.scope
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _rules(findings: tuple[Finding, ...]) -> list[dict[str, Any]]:
    by_id: dict[str, tuple[Severity, str]] = {}
    for f in findings:
        severity, description = by_id.get(f.rule_id, (f.severity, f.description))
        if _RANK[f.severity] > _RANK[severity]:
            severity = f.severity
        by_id[f.rule_id] = (severity, description or f.description)
    return [_rule(rule_id, *by_id[rule_id]) for rule_id in sorted(by_id)]


def _rule(rule_id: str, severity: Severity, description: str) -> dict[str, Any]:
    summary = description or f"Secret matching rule {rule_id}"
    return {
        "id": rule_id,
        "name": "".join(part.capitalize() for part in rule_id.replace("_", "-").split("-")),
        "shortDescription": {"text": summary},
        "fullDescription": {"text": f"{summary}: a credential committed to files or history."},
        "help": {"text": HELP_TEXT, "markdown": HELP_MARKDOWN},
        "defaultConfiguration": {"level": _LEVEL[severity]},
        "properties": {
            "tags": ["security", "secret", "external/cwe/cwe-798"],
            "precision": "very-high",
            "security-severity": _SECURITY_SEVERITY[severity],
        },
    }


def _result(f: Finding, loc: Location, rule_index: int, show_secrets: bool) -> dict[str, Any]:
    shown = f.secret if show_secrets else f.redacted
    level = _LEVEL[f.severity]
    if f.validation is not None and f.validation.status == "live":
        level = "error"
    text = f"{f.description or f.rule_id}: {shown} (fingerprint {f.fingerprint[:16]})."
    if f.placeholder:
        text += " Placeholder-shaped: probably not a real key."
    if f.validation is not None:
        text += f" Validation: {describe_validation(f.validation)}."
    where = _where(loc)
    if where:
        text += f" {where[0].upper()}{where[1:]}."
    if len(f.locations) > 1:
        text += f" Seen in {len(f.locations)} places in total."
    properties: dict[str, Any] = {
        "fingerprint": f.fingerprint,
        "redacted": f.redacted,
        "severity": f.severity,
        "placeholder": f.placeholder,
        "source": loc.source,
        "displayPath": loc.display_path,
    }
    if loc.repository:
        properties["repository"] = loc.repository
        text += f" Repository: {loc.repository}."
    if show_secrets:
        properties["secret"] = f.secret
    if f.validation is not None:
        properties["validation"] = validation_dict(f.validation)
    if loc.members:
        properties.update(members=list(loc.members), memberLine=loc.line, memberColumn=loc.column)
    if loc.decoders:
        properties["decoders"] = list(loc.decoders)
    if loc.git_status:
        properties["gitStatus"] = loc.git_status
    if loc.blob:
        properties["blob"] = loc.blob
    if loc.commit is not None:
        properties["commit"] = {
            "id": loc.commit.id,
            "author": loc.commit.author,
            "date": loc.commit.date,
            "summary": loc.commit.summary,
        }
    if loc.exposure:
        properties["exposure"] = loc.exposure
    if loc.in_head is not None:
        properties["inHead"] = loc.in_head
    if loc.fix is not None and not f.placeholder:
        properties["fixable"] = loc.fix.fixable
        text += f" {describe_fix(loc.fix)[0].upper()}{describe_fix(loc.fix)[1:]}."
    out: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "kind": "fail",
        "level": level,
        "message": {"text": text},
        "locations": [_location(f, loc, where)],
        "partialFingerprints": {"keysentryLocation/v1": _identity(f, loc)},
        "properties": properties,
    }
    fixes = _fixes(loc)
    if fixes:
        out["fixes"] = fixes
    return out


def _fixes(loc: Location) -> list[dict[str, Any]]:
    """The change ``keysentry fix`` makes here, as a SARIF fix: the replacement text
    (the read of the variable), never the key; the deleted region only points at it."""
    fix = loc.fix
    if fix is None or not fix.fixable or not fix.edits or loc.members or loc.decoders:
        return []
    if loc.source in NOT_FILES:
        return []
    replacements = [
        {
            "deletedRegion": {
                "startLine": e.start.line,
                "startColumn": e.start.column,
                "endLine": e.end.line,
                "endColumn": e.end.column,
            },
            "insertedContent": {"text": e.new_text},
        }
        for e in fix.edits
    ]
    description = f"Read the key from the environment variable {fix.variable} ({fix.how})"
    if fix.advice:
        description += f"; then {fix.advice}"
    return [
        {
            "description": {"text": description + ". Run `keysentry fix` to apply it."},
            "artifactChanges": [
                {"artifactLocation": artifact_location(_path(loc)), "replacements": replacements}
            ],
        }
    ]


def _location(f: Finding, loc: Location, where: str) -> dict[str, Any]:
    region: dict[str, Any]
    if loc.members:
        # The line and column belong to the member, not to the archive file.
        region = {"startLine": 1, "startColumn": 1}
    else:
        region = {"startLine": max(loc.line, 1), "startColumn": max(loc.column, 1)}
        if not loc.decoders and f.secret:
            region["endColumn"] = region["startColumn"] + len(f.secret)
    if loc.snippet:
        region["snippet"] = {"text": loc.snippet}
    out: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": artifact_location(_path(loc)), "region": region}
    }
    if where:
        out["message"] = {"text": where}
    return out


def _path(loc: Location) -> str:
    return git_path(loc)


def git_path(loc: Location) -> str:
    """The path a report points at: a file's own, or a made-up one under ``.git/`` for
    what is no file (a message, a header, a note, a ref's name)."""
    if loc.source in OBJECT_PARTS:
        ident = loc.blob or (loc.commit.id if loc.commit is not None else "") or "unknown"
        return f".git/{object_kind(loc)}/{ident}"
    if loc.source == "note":
        return f".git/note/{loc.blob or 'unknown'}"
    if loc.source == "ref-name":
        return ".git/" + loc.path.removeprefix("<ref ").removesuffix(">")
    return loc.path


def object_kind(loc: Location) -> str:
    """commit or tag: the object a message, identity or header location is part of."""
    if loc.source in ("tag-message", "tag-header"):
        return "tag"
    return "tag" if loc.source == "identity" and loc.path.startswith("<tag ") else "commit"


def artifact_location(path: str) -> dict[str, str]:
    """A relative URI under ``%SRCROOT%`` (or a ``file:`` URI for an absolute path).

    ``path`` is the shown name (``caf\\xe9.env``); the URI names the file itself, so it
    percent-encodes the name's bytes (``caf%E9.env``)."""
    posix = unescape_bytes(path)
    if posix.startswith(b"/"):
        return {"uri": "file://" + quote(posix, safe="/")}
    while posix.startswith(b"./"):
        posix = posix[2:]
    # quote() also encodes ':', so no first segment can be read as a URI scheme.
    return {"uri": quote(posix or b".", safe="/"), "uriBaseId": "%SRCROOT%"}


def _where(loc: Location) -> str:
    bits = []
    if loc.source in OBJECT_PARTS:
        what = object_kind(loc)
        ident = loc.blob or (loc.commit.id if loc.commit is not None else "?")
        if loc.source in MESSAGE_SOURCES:
            bits.append(
                f"in the message of {what} {ident[:12]}, line {loc.line}, column {loc.column}"
            )
        else:
            bits.append(f"in {loc.path} of {what} {ident[:12]}, column {loc.column}")
    if loc.source == "ref-name":
        bits.append(f"in the name of the ref {git_path(loc)[5:]}, column {loc.column}")
    if loc.source in ("tree-entry", "file-name"):
        bits.append(f"in the file or directory name {loc.path}, column {loc.column}")
    if loc.source == "note":
        bits.append(f"in the git note {loc.path}, line {loc.line}, column {loc.column}")
    if loc.members:
        bits.append(
            f"in archive member {'!'.join(loc.members)}, line {loc.line}, column {loc.column}"
        )
    if loc.decoders:
        bits.append("decoded via " + " > ".join(loc.decoders))
    if loc.commit is not None and loc.source not in OBJECT_PARTS:
        bits.append(
            f"introduced by commit {loc.commit.id[:12]} ({loc.commit.author}, {loc.commit.date})"
        )
    if loc.in_head is False:
        bits.append("no longer in the current tree")
    if loc.exposure:
        bits.append(f"exposure: {loc.exposure}")
    if loc.source == "staged":
        bits.append("staged for commit")
    return "; ".join(bits)


def _identity(f: Finding, loc: Location) -> str:
    """Stable across runs: rule, key and place, but neither line nor column."""
    parts = [f.rule_id, f.fingerprint, loc.display_path]
    if loc.source in NOT_FILES:
        parts.append(_path(loc))
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()

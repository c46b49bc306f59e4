"""JSON and JSON Lines reports. The schema is versioned (``schema_version``) and in README.md."""

from __future__ import annotations

import json
from typing import Any

from keysentry import __version__
from keysentry.models import (
    Finding,
    FixInfo,
    Location,
    ScanResult,
    ScanStats,
    Validation,
    scrub_secrets,
)

SCHEMA_VERSION = 1


def location_dict(loc: Location) -> dict[str, Any]:
    return {
        **({"repository": loc.repository} if loc.repository else {}),
        "path": loc.path,
        "display_path": loc.display_path,
        "line": loc.line,
        "column": loc.column,
        "members": list(loc.members),
        "decoders": list(loc.decoders),
        "source": loc.source,
        "git_status": loc.git_status,
        "blob": loc.blob,
        "commit": None
        if loc.commit is None
        else {
            "id": loc.commit.id,
            "author": loc.commit.author,
            "date": loc.commit.date,
            "summary": loc.commit.summary,
        },
        "exposure": loc.exposure,
        "in_head": loc.in_head,
        "snippet": loc.snippet,
        "fix": fix_dict(loc.fix),
    }


def fix_dict(fix: FixInfo | None) -> dict[str, Any] | None:
    """What ``keysentry fix`` does here (null where it does not apply: standard input)."""
    if fix is None:
        return None
    return {
        "fixable": fix.fixable,
        "how": fix.how,
        "kind": fix.kind,
        "variable": fix.variable or None,
        "advice": fix.advice or None,
        "edits": [
            {
                "start": {"line": e.start.line, "column": e.start.column},
                "end": {"line": e.end.line, "column": e.end.column},
                "text": e.new_text,
            }
            for e in fix.edits
        ],
    }


def validation_dict(v: Validation | None) -> dict[str, Any] | None:
    return None if v is None else v.to_json()


def finding_dict(f: Finding, show_secrets: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule_id": f.rule_id,
        "severity": f.severity,
        "description": f.description,
        "fingerprint": f.fingerprint,
        "redacted": f.redacted,
        "placeholder": f.placeholder,
        "validation": validation_dict(f.validation),
        "locations": [location_dict(loc) for loc in f.locations],
    }
    if show_secrets:
        out["secret"] = f.secret
    return out


def stats_dict(stats: ScanStats) -> dict[str, Any]:
    return {
        "counters": dict(stats.counters),
        "issues": [{"kind": i.kind, "path": i.path, "detail": i.detail} for i in stats.issues],
        "duration_s": stats.duration_s,
        "notes": list(stats.notes),
        # Which configuration file applied to which target ("<defaults>": none found).
        "configs": {scrub_secrets(t): scrub_secrets(s) for t, s in stats.configs.items()},
    }


def report_dict(result: ScanResult) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "keysentry", "version": __version__},
        "command": result.command,
        "targets": list(result.targets),
        "findings": [finding_dict(f, result.show_secrets) for f in result.findings],
        "stats": stats_dict(result.stats),
        **dict(result.extra),
    }


def render_json(result: ScanResult) -> str:
    """Indented, with each finding on one line of its own: json's C encoder does not
    indent, and its Python one, for 100,000 findings, took longer than the scan."""
    fields = []
    for key, value in report_dict(result).items():
        if key == "findings" and value:
            rows = ",\n".join("    " + json.dumps(f, ensure_ascii=False) for f in value)
            text = f"[\n{rows}\n  ]"
        else:
            # A JSON string holds no raw newline, so every newline here is indentation.
            text = json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  ")
        fields.append(f"  {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(fields) + "\n}\n"


def render_jsonl(result: ScanResult) -> str:
    lines = [
        json.dumps({"type": "finding", **finding_dict(f, result.show_secrets)}, ensure_ascii=False)
        for f in result.findings
    ]
    repositories = result.extra.get("repositories")  # keysentry audit's table
    if isinstance(repositories, list):
        lines.extend(
            json.dumps({"type": "repository", **row}, ensure_ascii=False) for row in repositories
        )
    summary = {
        "type": "summary",
        "schema_version": SCHEMA_VERSION,
        "command": result.command,
        "targets": list(result.targets),
        "stats": stats_dict(result.stats),
    }
    lines.append(json.dumps(summary, ensure_ascii=False))
    return "\n".join(lines) + "\n"

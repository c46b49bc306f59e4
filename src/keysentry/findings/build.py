"""Located hits -> findings: one per distinct secret and rule, with every location."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from keysentry.detect.scanner import Hit
from keysentry.models import (
    CommitInfo,
    Exposure,
    Finding,
    GitStatus,
    Location,
    fingerprint_of,
    redact,
)


@dataclass(frozen=True, slots=True)
class InputContext:
    """What is known about the input a hit came from, beyond the hit itself."""

    path: str
    source: str = "file"
    git_status: GitStatus | None = None
    blob: str | None = None
    commit: CommitInfo | None = None
    exposure: Exposure | None = None
    in_head: bool | None = None


def location(hit: Hit, ctx: InputContext) -> Location:
    return Location(
        path=ctx.path,
        line=hit.line,
        column=hit.column,
        members=hit.members,
        decoders=hit.decoders,
        source=ctx.source,
        git_status=ctx.git_status,
        blob=ctx.blob,
        commit=ctx.commit,
        exposure=ctx.exposure,
        in_head=ctx.in_head,
        snippet=hit.snippet,
    )


def build_findings(pairs: Iterable[tuple[Hit, InputContext]]) -> tuple[Finding, ...]:
    """Group by (rule, secret); placeholders that reach here are listed at info severity."""
    groups: dict[tuple[str, str], tuple[Hit, dict[Location, None]]] = {}
    for hit, ctx in pairs:
        key = (hit.rule.id, hit.secret)
        if key not in groups:
            groups[key] = (hit, {})
        groups[key][1][location(hit, ctx)] = None
    findings = []
    for (_rule_id, secret), (first, locations) in groups.items():
        ordered = tuple(sorted(locations, key=Location.sort_key))
        findings.append(
            Finding(
                rule_id=first.rule.id,
                severity="info" if first.placeholder else first.rule.severity,
                fingerprint=fingerprint_of(secret),
                redacted=redact(secret),
                locations=ordered,
                secret=secret,
                description=first.rule.description,
                placeholder=first.placeholder is not None,
            )
        )
    findings.sort(key=lambda f: (f.locations[0].sort_key(), f.rule_id))
    return tuple(findings)

"""The cross-repository merge: one finding per distinct key with every repository and
location, and the per-repository table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace

from keysentry.fleet.spec import RepoOutcome
from keysentry.models import EXPOSURE_RANK, Finding, Issue, ScanResult, ScanStats


@dataclass(frozen=True, slots=True)
class RepoRow:
    """One line of the per-repository table."""

    repository: str
    objects: int
    bytes: int
    duration_s: float
    findings: int
    worst_exposure: str
    failure: str

    def to_json(self) -> dict[str, object]:
        return {
            "repository": self.repository,
            "objects": self.objects,
            "bytes": self.bytes,
            "duration_s": self.duration_s,
            "findings": self.findings,
            "worst_exposure": self.worst_exposure or None,
            "failure": self.failure or None,
        }


def worst_exposure(findings: Iterable[Finding]) -> str:
    exposures = {loc.exposure for f in findings for loc in f.locations if loc.exposure}
    return next((e for e in EXPOSURE_RANK if e in exposures), "")


def earliest(f: Finding) -> str:
    """The earliest introduction date among a key's locations ('' when none is known)."""
    dates = [loc.commit.date for loc in f.locations if loc.commit is not None and loc.commit.date]
    return min(dates, default="")


def failure_of(outcome: RepoOutcome) -> str:
    """Why a repository counts as not (fully) audited: its failure, or unreadable objects."""
    if outcome.failure:
        return outcome.failure
    corrupt = sum(1 for i in outcome.issues if i.kind == "corrupt-object")
    if corrupt:
        return f"incomplete: {corrupt} object(s) could not be read (corrupt repository)"
    return ""


def merge(
    outcomes: Iterable[RepoOutcome],
    *,
    targets: tuple[str, ...],
    duration_s: float,
    started_at: str,
    show_secrets: bool,
) -> ScanResult:
    """The fleet's result: findings merged by (rule, fingerprint) across repositories."""
    merged: dict[tuple[str, str], Finding] = {}
    counters: Counter[str] = Counter()
    issues: list[Issue] = []
    notes: list[str] = []
    rows: list[RepoRow] = []
    for outcome in outcomes:
        counters.update(outcome.counters)
        counters["repositories"] += 1
        failure = failure_of(outcome)
        if failure:
            counters["repositories_failed"] += 1
            issues.append(Issue("repository-failed", outcome.name, failure))
        issues.extend(
            replace(i, path=f"{outcome.name}: {i.path}")
            for i in outcome.issues
            if i.kind != "corrupt-object" or not failure
        )
        rows.append(
            RepoRow(
                outcome.name,
                outcome.objects,
                outcome.counters.get("bytes", 0),
                outcome.duration_s,
                sum(1 for f in outcome.findings if not f.placeholder),
                worst_exposure(outcome.findings),
                failure,
            )
        )
        for f in outcome.findings:
            here = tuple(replace(loc, repository=outcome.name) for loc in f.locations)
            key = (f.rule_id, f.fingerprint)
            old = merged.get(key)
            if old is None:
                merged[key] = replace(f, locations=here)
                continue
            merged[key] = replace(
                old,
                locations=(*old.locations, *here),
                secret=old.secret or f.secret,
                validation=old.validation or f.validation,
            )
    findings = tuple(
        sorted(
            (replace(f, locations=tuple(sorted(f.locations, key=lambda loc: loc.sort_key())))
             for f in merged.values()),
            key=lambda f: (f.locations[0].sort_key(), f.rule_id),
        )
    )  # fmt: skip
    for name in ("files", "findings"):
        del counters[name]
    counters["findings"] = len(findings)
    stats = ScanStats(
        counters=dict(sorted(counters.items())),
        issues=tuple(issues),
        duration_s=round(duration_s, 3),
        notes=tuple(notes),
    )
    keys = [
        {
            "fingerprint": f.fingerprint,
            "rule_id": f.rule_id,
            "repositories": sorted({loc.repository for loc in f.locations}),
            "worst_exposure": worst_exposure([f]) or None,
            "earliest_introduction": earliest(f) or None,
        }
        for f in findings
    ]
    return ScanResult(
        "audit",
        targets,
        findings,
        stats,
        show_secrets=show_secrets,
        extra={"repositories": [r.to_json() for r in rows], "keys": keys},
        started_at=started_at,
    )

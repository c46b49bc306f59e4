"""The pipeline's stage that tells every report what ``keysentry fix`` can do.

For each location in a file on disk or a staged file it attaches a :class:`FixInfo`:
fixable or not, why, the variable, and the exact edit (never the key). Only files that
hold findings are read again and parsed, so a clean scan pays nothing, and a parser is
imported only for a file of its kind. History cannot be changed in place: its
locations say to revoke the key and purge it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from keysentry.models import Finding, FixInfo, Location, ScanResult
from keysentry.rewrite.plan import Target, plan

Reader = Callable[[Location], bytes | None]
"""A location -> the bytes of its file (the work tree's, or the staged blob's)."""

HISTORY = FixInfo(
    fixable=False,
    how="in git history, which `keysentry fix` does not rewrite: revoke the key "
    "(`keysentry revoke`), then remove it with `keysentry purge`",
    kind="history",
)
NAME = FixInfo(
    fixable=False,
    how="in the name of the file or of a directory above it, which `keysentry fix` does not "
    "rename: rename it (`git mv`), and revoke the key if the name was ever committed",
    kind="name",
)
MEMBER = "inside an archive member"
DECODED = "encoded ({decoders})"
NOT_WHOLE = "the key is not written whole here (split across literals or escaped)"
FILE_SOURCES = ("file", "staged")


def annotate(result: ScanResult, read: Reader) -> ScanResult:
    """``result`` with ``fix`` set on every location of every finding."""
    if not result.findings:
        return result
    by_path: dict[tuple[str, str], tuple[Location, list[str]]] = {}
    for finding in result.findings:
        for loc in finding.locations:
            if loc.source in FILE_SOURCES and not loc.members and not loc.decoders:
                entry = by_path.setdefault((loc.source, loc.path), (loc, []))
                if finding.secret not in entry[1]:
                    entry[1].append(finding.secret)
    targets = []
    for (source, path), (loc, secrets) in by_path.items():
        data = read(loc)
        if data is not None:
            status = "staged" if source == "staged" else loc.git_status
            targets.append(Target(path, data, tuple(secrets), None, status))
    planned = plan(targets, quick=True)
    at: dict[tuple[str, int, int], FixInfo] = {}
    moved: dict[str, list[tuple[str, FixInfo]]] = {}
    for fp in planned.files:
        for outcome in fp.outcomes:
            at[(fp.target.path, outcome.position.line, outcome.position.column)] = outcome.info
            if outcome.info.fixable:
                moved.setdefault(fp.target.path, []).append((outcome.secret, outcome.info))
    findings = tuple(_finding(f, at, moved) for f in result.findings)
    return replace(result, findings=findings)


def _finding(
    finding: Finding,
    at: dict[tuple[str, int, int], FixInfo],
    moved: dict[str, list[tuple[str, FixInfo]]],
) -> Finding:
    def info(loc: Location) -> Location:
        done = _info(loc, at)
        if done.fix is not None and done.fix.how == NOT_WHOLE:
            # Part of a longer key that moves (two rules, one match inside the other's).
            for secret, fix in moved.get(loc.path, ()):
                if finding.secret in secret:
                    return replace(loc, fix=fix)
        return done

    return replace(finding, locations=tuple(info(loc) for loc in finding.locations))


def _info(loc: Location, at: dict[tuple[str, int, int], FixInfo]) -> Location:
    if loc.source != "file-name" and loc.source not in FILE_SOURCES:
        return replace(loc, fix=HISTORY) if loc.source != "stdin" else loc
    info = left_alone(loc) or at.get((loc.path, loc.line, loc.column))
    return replace(loc, fix=info or FixInfo(False, NOT_WHOLE))


def left_alone(loc: Location) -> FixInfo | None:
    """Why the fix leaves a location of a file alone whatever the file holds (the key is in
    its name, in an archive member, or encoded); None: the planner decides. The reports and
    ``keysentry fix`` give the same reasons."""
    if loc.source == "file-name":
        return NAME
    if loc.members:
        return FixInfo(False, MEMBER, kind="archive")
    if loc.decoders:
        return FixInfo(False, DECODED.format(decoders=" > ".join(loc.decoders)), kind="encoded")
    return None

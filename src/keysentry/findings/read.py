"""Reading keysentry's own reports back, for every command that takes one: ``baseline
--from-report``, ``keys audit --report`` and ``revoke --report``.

One reader, so that all of them accept the same inputs: a JSON report (``--format json``) or a
JSON Lines report (``--format jsonl``), from a file or from stdin (``-``). A report is trusted
for nothing but fingerprints, rule ids and validation outcomes; anything malformed is a
:class:`~keysentry.errors.UsageError` that names the source and the place, never its content
(a report written with ``--show-secrets`` holds keys).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from keysentry.console import stdin
from keysentry.errors import UsageError

SCHEMA_VERSION = 1
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
_WRITE_IT = "write it with --format json or --format jsonl"


@dataclass(frozen=True, slots=True)
class ReportedFinding:
    """What a command may take from one finding of a report."""

    rule_id: str
    fingerprint: str
    """sha256 hex of the key: OpenRouter's key ``hash``."""
    first_location: str = ""
    """``path:line`` of the first location, or empty."""
    live_management: bool = False
    """The report's validation saw a live management key."""
    places: tuple[tuple[str, str], ...] = ()
    """``(source, path)`` of every location: where the report's scan saw the key."""


@dataclass(frozen=True, slots=True)
class Report:
    """A whole report: its findings and what its scan was (for baseline coverage)."""

    findings: tuple[ReportedFinding, ...]
    command: str = ""
    targets: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def read_report(source: str) -> tuple[ReportedFinding, ...]:
    """The findings of the report at ``source`` (a path, or ``-`` for stdin)."""
    return read_report_document(source).findings


def read_report_document(source: str) -> Report:
    """The report at ``source`` (a path, or ``-`` for stdin), findings and scan alike."""
    try:
        text = stdin.read_text() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read the report {source}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"the report {_name(source)} is not UTF-8 text") from None
    return parse_report(text, _name(source))


def parse_report(text: str, source: str = "report") -> Report:
    """Parse the text of a JSON or JSON Lines report; ``source`` names it in errors."""
    try:
        document: object = json.loads(text)
    except ValueError as exc:
        first = next((line for line in text.splitlines() if line.strip()), "")
        if _is_record(first):
            return _from_jsonl(text, source)
        # The position only: the message of a JSON error can quote the document.
        raise UsageError(
            f"{source} is not valid JSON (line {getattr(exc, 'lineno', '?')}); {_WRITE_IT}"
        ) from None
    if isinstance(document, Mapping) and "type" in document:
        return _from_jsonl(text, source)  # a JSON Lines report of one line (no findings)
    return _from_json(document, source)


def _from_json(document: object, source: str) -> Report:
    if isinstance(document, Mapping) and "runs" in document and "version" in document:
        raise UsageError(f"{source} is a SARIF log, which keeps no rule data to read: {_WRITE_IT}")
    findings = document.get("findings") if isinstance(document, Mapping) else None
    if not isinstance(document, Mapping) or "schema_version" not in document:
        raise UsageError(f"{source} is not a keysentry JSON report (--format json or jsonl)")
    _check_version(document.get("schema_version"), source)
    if not isinstance(findings, list):
        raise UsageError(f"{source}: the report has no findings list")
    return Report(
        tuple(_finding(f, f"{source}: finding {n}") for n, f in enumerate(findings, 1)),
        *_scan_of(document),
    )


def _from_jsonl(text: str, source: str) -> Report:
    found: list[ReportedFinding] = []
    summary_seen = False
    scan: tuple[str, tuple[str, ...], tuple[str, ...]] = ("", (), ())
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{source} line {number}"
        try:
            record: object = json.loads(line)
        except ValueError:
            raise UsageError(f"{where} is not valid JSON") from None
        kind = record.get("type") if isinstance(record, Mapping) else None
        if summary_seen or kind not in ("finding", "summary"):
            raise UsageError(f"{where} is not a keysentry JSON Lines record in its place")
        assert isinstance(record, Mapping)
        if kind == "summary":
            _check_version(record.get("schema_version"), source)
            summary_seen = True
            scan = _scan_of(record)
        else:
            found.append(_finding(record, where))
    if not summary_seen:
        # The summary is written last: without it the report was cut short, and a command
        # acting on it would silently miss keys.
        raise UsageError(f"{source} has no summary line: the JSON Lines report is incomplete")
    return Report(tuple(found), *scan)


def _scan_of(document: Mapping[str, object]) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The command, targets and notes of a report (its JSON top level or JSONL summary)."""
    command = document.get("command")
    targets = document.get("targets")
    stats = document.get("stats")
    notes = stats.get("notes") if isinstance(stats, Mapping) else None
    return (
        command if isinstance(command, str) else "",
        tuple(t for t in targets if isinstance(t, str)) if isinstance(targets, list) else (),
        tuple(n for n in notes if isinstance(n, str)) if isinstance(notes, list) else (),
    )


def _finding(data: object, where: str) -> ReportedFinding:
    fingerprint = data.get("fingerprint") if isinstance(data, Mapping) else None
    if not isinstance(fingerprint, str) or not _FINGERPRINT.fullmatch(fingerprint):
        raise UsageError(f"{where} has no valid fingerprint (64 lowercase hex digits)")
    assert isinstance(data, Mapping)
    rule_id = data.get("rule_id")
    if not isinstance(rule_id, str) or not rule_id:
        raise UsageError(f"{where} has no rule_id")
    locations = data.get("locations")
    located = (
        [loc for loc in locations if isinstance(loc, Mapping)]
        if isinstance(locations, list)
        else []
    )
    first = located[0] if located else None
    places = tuple((str(loc.get("source", "")), str(loc.get("path", ""))) for loc in located)
    place = ""
    if isinstance(first, Mapping):
        path = first.get("display_path", first.get("path"))
        line = first.get("line")
        if isinstance(path, str):
            place = f"{path}:{line}" if isinstance(line, int) else path
    return ReportedFinding(rule_id, fingerprint, place, _is_live_management(data), places)


def _is_live_management(finding: Mapping[str, object]) -> bool:
    # The management API's key object does not say whether a key is a management key; a
    # report written with --validate does.
    validation = finding.get("validation")
    if not isinstance(validation, Mapping) or validation.get("status") != "live":
        return False
    details = validation.get("details")
    return isinstance(details, Mapping) and details.get("is_management_key") is True


def _check_version(version: object, source: str) -> None:
    if version != SCHEMA_VERSION:
        raise UsageError(
            f"{source}: unsupported report schema_version {version!r} "
            f"(expected {SCHEMA_VERSION}; {_WRITE_IT})"
        )


def _is_record(line: str) -> bool:
    try:
        record: object = json.loads(line)
    except ValueError:
        return False
    return isinstance(record, Mapping) and "type" in record


def _name(source: str) -> str:
    return "stdin" if source == "-" else source

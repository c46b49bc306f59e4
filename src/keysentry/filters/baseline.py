"""Baselines: findings a team has reviewed and accepted, suppressed wherever they appear.

An entry is a rule id and a key fingerprint (SHA-256 of the key), never a line or a
commit, so it survives rebases, squashes and moved lines. The file is JSON with one
entry per line, sorted, without timestamps, so that merges rarely conflict::

    {
      "keysentry_baseline": 1,
      "entries": [
        {"rule_id": "openrouter-api-key", "fingerprint": "0f1e...", "reason": "revoked", ...}
      ]
    }

``first_location`` is informational (where the key was first baselined); it is
never used for matching and never rewritten by ``baseline update``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from keysentry.errors import BaselineError
from keysentry.models import Finding
from keysentry.untrusted import shown

VERSION = 1
DEFAULT_PATH = Path(".keysentry-baseline.json")
MAX_STALE_SHOWN = 5
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
_ENTRY_KEYS = ("rule_id", "fingerprint", "reason", "first_location")


@dataclass(frozen=True, slots=True)
class BaselineEntry:
    rule_id: str
    fingerprint: str
    """Lowercase hex SHA-256 of the key."""
    reason: str = ""
    """Why the finding is accepted; kept across updates."""
    first_location: str = ""
    """``path:line`` where it was seen when baselined. Informational only."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.rule_id, self.fingerprint)


@dataclass(frozen=True, slots=True)
class Baseline:
    path: Path
    entries: tuple[BaselineEntry, ...]


def load_baseline(path: Path) -> Baseline:
    """Read and check a baseline file. Raises BaselineError naming the file and the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(
            f"baseline file not found: {path} (create it with `keysentry baseline create`)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc}") from None
    return parse_baseline(text, path)


def _malformed(path: Path, problem: str) -> BaselineError:
    return BaselineError(f"malformed baseline {path}: {problem}")


def parse_baseline(text: str, path: Path) -> Baseline:
    def fail(problem: str) -> BaselineError:
        return _malformed(path, problem)

    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = " (unresolved merge conflict markers?)" if "\n<<<<<<< " in "\n" + text else ""
        problem = f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}{hint}"
        raise fail(problem) from None
    if not isinstance(doc, dict):
        raise fail("the top level must be a JSON object")
    unknown = sorted(set(doc) - {"keysentry_baseline", "entries"})
    if unknown:
        raise fail(f"unknown key {unknown[0]!r}")
    if doc.get("keysentry_baseline") != VERSION:
        raise fail(
            f"'keysentry_baseline' must be {VERSION} (the format version), "
            f"not {doc.get('keysentry_baseline')!r}"
        )
    raw = doc.get("entries")
    if not isinstance(raw, list):
        raise fail("'entries' must be a list")
    entries: dict[tuple[str, str], BaselineEntry] = {}
    for number, item in enumerate(raw, 1):
        entry = _entry(item, number, path)
        if entry.key not in entries or not entries[entry.key].reason:
            entries[entry.key] = entry  # a duplicate from a merge is harmless
    return Baseline(path, tuple(sorted(entries.values(), key=lambda e: e.key)))


def _entry(item: object, number: int, path: Path) -> BaselineEntry:
    def fail(problem: str) -> BaselineError:
        return _malformed(path, f"entry {number}: {problem}")

    if not isinstance(item, dict):
        raise fail("must be an object")
    unknown = sorted(set(item) - set(_ENTRY_KEYS))
    if unknown:
        raise fail(f"unknown key {unknown[0]!r}")
    rule_id, fingerprint = item.get("rule_id"), item.get("fingerprint")
    if not isinstance(rule_id, str) or not rule_id.strip():
        raise fail("'rule_id' must be a non-empty string")
    if not isinstance(fingerprint, str) or not _FINGERPRINT.fullmatch(fingerprint):
        raise fail("'fingerprint' must be 64 lowercase hex digits (the key's SHA-256)")
    for name in ("reason", "first_location"):
        if not isinstance(item.get(name, ""), str):
            raise fail(f"{name!r} must be a string")
    return BaselineEntry(
        rule_id, fingerprint, item.get("reason", ""), item.get("first_location", "")
    )


def dump_baseline(entries: Iterable[BaselineEntry]) -> str:
    """The file text: sorted, one entry per line, keys in a fixed order."""
    lines = [
        json.dumps({k: getattr(e, k) for k in _ENTRY_KEYS}, ensure_ascii=False)
        for e in sorted(entries, key=lambda e: e.key)
    ]
    body = ",\n".join(f"    {line}" for line in lines)
    return (
        f'{{\n  "keysentry_baseline": {VERSION},\n  "entries": ['
        + (f"\n{body}\n  " if lines else "")
        + "]\n}\n"
    )


def save_baseline(path: Path, entries: Iterable[BaselineEntry]) -> None:
    try:
        path.write_text(dump_baseline(entries), encoding="utf-8")
    except OSError as exc:
        raise BaselineError(f"cannot write baseline {path}: {exc.strerror or exc}") from None


def entries_for(findings: Iterable[Finding], reason: str = "") -> list[BaselineEntry]:
    out = []
    for f in findings:
        first = f.locations[0] if f.locations else None
        # The file is committed and shared: a key in a path must not reach it either.
        where = f"{shown(first.display_path)}:{first.line}" if first is not None else ""
        out.append(BaselineEntry(f.rule_id, f.fingerprint, reason, where))
    return out


def updated(
    existing: Sequence[BaselineEntry], found: Sequence[BaselineEntry], reason: str = ""
) -> tuple[list[BaselineEntry], int]:
    """Existing entries unchanged (reasons kept) plus the new ones; and how many were added."""
    have = {e.key: e for e in existing}
    added = [replace(e, reason=reason or e.reason) for e in found if e.key not in have]
    return [*have.values(), *{e.key: e for e in added}.values()], len({e.key for e in added})


def pruned(
    existing: Sequence[BaselineEntry], found: Sequence[BaselineEntry]
) -> list[BaselineEntry]:
    seen = {e.key for e in found}
    return [e for e in existing if e.key in seen]


def apply_baseline(
    findings: Sequence[Finding], baseline: Baseline, counters: Counter[str]
) -> tuple[tuple[Finding, ...], list[BaselineEntry]]:
    """Drop baselined findings (counted as ``baselined``); return the entries not seen."""
    wanted = {e.key for e in baseline.entries}
    kept, seen = [], set()
    for f in findings:
        key = (f.rule_id, f.fingerprint)
        if key in wanted:
            counters["baselined"] += 1
            seen.add(key)
        else:
            kept.append(f)
    stale = [e for e in baseline.entries if e.key not in seen]
    if stale:
        counters["baseline_unseen"] += len(stale)
    return tuple(kept), stale


def filter_findings(
    findings: Sequence[Finding], path: Path | None, counters: Counter[str], notes: list[str]
) -> tuple[Finding, ...]:
    """The pipeline's baseline stage: load, apply, and say which entries went unseen."""
    if path is None:
        return tuple(findings)
    baseline = load_baseline(path)
    kept, stale = apply_baseline(findings, baseline, counters)
    if stale:
        notes.append(stale_note(baseline, stale))
    return kept


def stale_note(baseline: Baseline, stale: Sequence[BaselineEntry]) -> str:
    shown = ", ".join(
        f"{e.fingerprint[:12]}" + (f" ({e.first_location})" if e.first_location else "")
        for e in stale[:MAX_STALE_SHOWN]
    )
    more = f" and {len(stale) - MAX_STALE_SHOWN} more" if len(stale) > MAX_STALE_SHOWN else ""
    return (
        f"baseline {baseline.path}: {len(stale)} of {len(baseline.entries)} entries not seen "
        f"in this scan: {shown}{more}. If this scan covers what the baseline was made from, "
        "they are stale: `keysentry baseline prune` removes them."
    )

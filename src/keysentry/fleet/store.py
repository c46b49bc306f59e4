"""The audit store: one SQLite file, one transaction per finished repository.

Each repository's row holds its identity, the digest of its refs, its counters, issues
and findings: fingerprint, redacted form and locations, never a raw key (findings read
back have an empty ``secret``). A crash or Ctrl-C loses only the repositories that had
not finished; the next run skips those whose refs digest is unchanged.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from keysentry.errors import UsageError
from keysentry.fleet.spec import RepoOutcome
from keysentry.models import (
    CommitInfo,
    Finding,
    FixInfo,
    Issue,
    KeyDetails,
    Location,
    Position,
    TextEdit,
    Validation,
)

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS repos (
    name TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    digest TEXT NOT NULL,
    failure TEXT NOT NULL,
    counters TEXT NOT NULL,
    issues TEXT NOT NULL,
    notes TEXT NOT NULL,
    duration_s REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS findings (
    repo TEXT NOT NULL REFERENCES repos(name) ON DELETE CASCADE,
    rule_id TEXT NOT NULL,
    severity TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    redacted TEXT NOT NULL,
    description TEXT NOT NULL,
    placeholder INTEGER NOT NULL,
    locations TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS findings_repo ON findings(repo);
CREATE TABLE IF NOT EXISTS validations (
    fingerprint TEXT PRIMARY KEY,
    outcome TEXT NOT NULL
);
"""


class Store:
    def __init__(self, path: Path, *, must_exist: bool = False) -> None:
        if must_exist and not path.is_file():
            raise UsageError(f"no audit store at {path} (run the audit first)")
        try:
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise UsageError(f"cannot use {path} as the audit store: {exc}") from None
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        elif row[0] != str(SCHEMA_VERSION):
            raise UsageError(f"{path} was written by another keysentry version (schema {row[0]})")
        self.path = path

    def close(self) -> None:
        self._db.close()

    def digests(self) -> dict[str, str]:
        """Repository -> refs state, for every repository stored with one: the audited,
        and those that failed for a reason of their own (a failure that says nothing about
        the repository is stored without a state, and retried)."""
        rows = self._db.execute("SELECT name, digest FROM repos WHERE digest != ''")
        return dict(rows.fetchall())

    def failures(self) -> dict[str, str]:
        """Repository -> why it could not be audited, for those stored as failed."""
        rows = self._db.execute("SELECT name, failure FROM repos WHERE failure != ''")
        return dict(rows.fetchall())

    def names_with_unvalidated_findings(self) -> set[str]:
        rows = self._db.execute(
            "SELECT DISTINCT repo FROM findings WHERE placeholder = 0 AND fingerprint NOT IN "
            "(SELECT fingerprint FROM validations)"
        )
        return {r[0] for r in rows}

    def put(self, outcome: RepoOutcome, position: int) -> None:
        """Replace what is stored for the repository, in one transaction."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM findings WHERE repo = ?", (outcome.name,))
            db.execute(
                "INSERT OR REPLACE INTO repos VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    outcome.name,
                    position,
                    outcome.digest,
                    outcome.failure,
                    json.dumps(outcome.counters, sort_keys=True),
                    json.dumps([asdict(i) for i in outcome.issues]),
                    json.dumps(list(outcome.notes)),
                    outcome.duration_s,
                ),
            )
            db.executemany(
                "INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        outcome.name,
                        f.rule_id,
                        f.severity,
                        f.fingerprint,
                        f.redacted,
                        f.description,
                        int(f.placeholder),
                        json.dumps([_location_json(loc) for loc in f.locations]),
                    )
                    for f in outcome.findings
                ],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def put_validations(self, outcomes: dict[str, Validation]) -> None:
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO validations VALUES (?, ?)",
                [(fp, json.dumps(v.to_json())) for fp, v in outcomes.items()],
            )

    def validations(self) -> dict[str, Validation]:
        rows = self._db.execute("SELECT fingerprint, outcome FROM validations")
        return {fp: _validation(json.loads(text)) for fp, text in rows}

    def outcomes(self) -> Iterator[RepoOutcome]:
        """Every stored repository in the order of the targets, findings without keys."""
        repos = self._db.execute(
            "SELECT name, digest, failure, counters, issues, notes, duration_s "
            "FROM repos ORDER BY position, name"
        ).fetchall()
        for name, digest, failure, counters, issues, notes, duration in repos:
            rows = self._db.execute(
                "SELECT rule_id, severity, fingerprint, redacted, description, placeholder, "
                "locations FROM findings WHERE repo = ?",
                (name,),
            ).fetchall()
            findings = tuple(
                Finding(
                    rule_id=r[0],
                    severity=r[1],
                    fingerprint=r[2],
                    redacted=r[3],
                    locations=tuple(_location(d) for d in json.loads(r[6])),
                    secret="",
                    description=r[4],
                    placeholder=bool(r[5]),
                )
                for r in rows
            )
            yield RepoOutcome(
                name,
                digest=digest,
                failure=failure,
                counters=json.loads(counters),
                issues=tuple(Issue(**i) for i in json.loads(issues)),
                notes=tuple(json.loads(notes)),
                findings=findings,
                duration_s=duration,
            )


def _location_json(loc: Location) -> dict[str, Any]:
    return asdict(loc)


def _location(d: dict[str, Any]) -> Location:
    commit = d.pop("commit")
    fix = d.pop("fix", None)  # absent from a store written before keysentry fix
    return Location(
        **{
            **d,
            "members": tuple(d["members"]),
            "decoders": tuple(d["decoders"]),
            "commit": CommitInfo(**commit) if commit else None,
            "fix": _fix(fix) if fix else None,
        }
    )


def _fix(d: dict[str, Any]) -> FixInfo:
    edits = tuple(
        TextEdit(Position(**e["start"]), Position(**e["end"]), tuple(e["text"]))
        for e in d.get("edits", ())
    )
    return FixInfo(**{**d, "edits": edits})


def _validation(d: dict[str, Any]) -> Validation:
    details = d.get("details")
    return Validation(
        status=d["status"],
        reason=d.get("reason") or "",
        details=KeyDetails(**details) if details else None,
        checked_at=d.get("checked_at") or "",
        cached=bool(d.get("cached")),
    )

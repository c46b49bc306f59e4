"""Values that flow between the stages. All frozen; secrets never reach a repr."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "low", "medium", "high", "critical")

GitStatus = Literal["tracked", "untracked", "ignored"]
Exposure = Literal["head", "branch", "pushed", "tag", "stash", "reflog-only", "unreachable"]
EXPOSURE_RANK: tuple[Exposure, ...] = (
    "pushed", "head", "branch", "tag", "stash", "reflog-only", "unreachable",
)  # fmt: skip
"""Most exposed first: a location gets the first class that applies to it, and a key's worst
exposure is the first class among its locations."""
ValidationStatus = Literal["live", "invalid", "unknown"]

_EMPTY: Mapping[str, object] = MappingProxyType({})
_EMPTY_STR: Mapping[str, str] = MappingProxyType({})


def fingerprint_of(secret: str) -> str:
    """Lowercase hex SHA-256 of the key string: OpenRouter's key ``hash``."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def redact(secret: str) -> str:
    """``sk-or-v1-abc...def``: the prefix, the first 3 and the last 3 characters of the body."""
    prefix, sep, body = secret.rpartition("-")
    if not sep or len(body) < 12:
        return (secret[:3] + "...") if len(secret) > 3 else "..."
    return f"{prefix}-{body[:3]}...{body[-3:]}"


@dataclass(frozen=True, slots=True)
class CommitInfo:
    """Where a git object first appeared."""

    id: str
    author: str
    date: str
    """ISO-8601 author date."""
    summary: str = ""


@dataclass(frozen=True, slots=True)
class Position:
    """A place in a file's text, counted both ways reports need it."""

    line: int
    """1-based line."""
    column: int
    """1-based column in characters (SARIF's ``unicodeCodePoints``)."""
    byte_column: int
    """1-based column in UTF-8 bytes (reviewdog's rdjson)."""


@dataclass(frozen=True, slots=True)
class TextEdit:
    """Replace the text from ``start`` up to ``end`` (exclusive) by ``text``.

    ``text`` holds the new lines (joined with a line break; ``("import os", "")`` is
    ``import os`` and its line break). It never holds a key: only the code that reads the
    variable and what surrounded the key in its literal."""

    start: Position
    end: Position
    text: tuple[str, ...]

    @property
    def new_text(self) -> str:
        return "\n".join(self.text)


@dataclass(frozen=True, slots=True)
class FixInfo:
    """What ``keysentry fix`` can do about one location (computed for files on disk and
    staged files; history cannot be changed in place)."""

    fixable: bool
    """True when ``keysentry fix`` rewrites this location by itself."""
    how: str
    """Fixable: what the fix writes, in a few words; else why it has to be done by hand."""
    kind: str = ""
    """The kind of file as the fix sees it: python, javascript, compose, json, ..."""
    variable: str = ""
    """The environment variable the key moves to."""
    edits: tuple[TextEdit, ...] = ()
    """The changes to this file that this location needs (empty when the change is not a
    text edit: a notebook rewritten whole, an env file untracked)."""
    advice: str = ""
    """What else to do (create the Kubernetes Secret, add the CI variable, ...)."""


@dataclass(frozen=True, slots=True)
class Location:
    """One place a secret was seen."""

    path: str
    """File path as given or found, ``<stdin>``, or the path in a git tree."""
    line: int
    """1-based line in the innermost container (the archive member, or the file)."""
    column: int
    """1-based column, in characters of the line's text."""
    members: tuple[str, ...] = ()
    """Archive member chain below ``path``: ``("release/pkg.whl", "pkg/settings.py")``."""
    decoders: tuple[str, ...] = ()
    """Decoding chain that revealed the key, outermost first: ``("gzip", "base64")``."""
    source: str = "file"
    """What kind of thing was read: file, stdin, blob, staged, commit-message, tag-message, note;
    for names: tree-entry, ref-name, identity, commit-header, tag-header."""
    git_status: GitStatus | None = None
    """For working-tree files inside a git repository."""
    blob: str | None = None
    """Git object id of the blob (or commit/tag for messages)."""
    commit: CommitInfo | None = None
    """The commit that introduced this blob at this path (history scans)."""
    exposure: Exposure | None = None
    in_head: bool | None = None
    snippet: str = ""
    """The line, with every key on it redacted, trimmed to a readable length."""
    repository: str = ""
    """The repository of a fleet audit (``keysentry audit``): its path or URL; empty
    for the other commands, whose targets name it."""
    fix: FixInfo | None = None
    """Whether ``keysentry fix`` can change this location, and how (None: not asked)."""

    @property
    def display_path(self) -> str:
        """``dist/release.tar.gz!release/pkg.whl!pkg/settings.py``."""
        return "!".join((self.path, *self.members))

    def sort_key(self) -> tuple[str, str, int, int, tuple[str, ...]]:
        return (self.repository, self.display_path, self.line, self.column, self.decoders)


@dataclass(frozen=True, slots=True)
class KeyDetails:
    """What a live ``GET /key`` told us about a key (all optional: older responses omit fields)."""

    label: str | None = None
    limit: float | None = None
    limit_remaining: float | None = None
    usage: float | None = None
    usage_monthly: float | None = None
    is_free_tier: bool | None = None
    is_management_key: bool | None = None
    expires_at: str | None = None


@dataclass(frozen=True, slots=True)
class Validation:
    """The outcome of probing a key."""

    status: ValidationStatus
    reason: str = ""
    details: KeyDetails | None = None
    checked_at: str = ""
    """ISO-8601 UTC time of the probe (or of the cached probe)."""
    cached: bool = False

    def to_json(self) -> dict[str, object]:
        """The one JSON form (reports, check-key, the cache). ``reason`` is null when there
        is nothing to add (a live regular key), never an empty string."""
        d = self.details
        return {
            "status": self.status,
            "reason": self.reason or None,
            "checked_at": self.checked_at,
            "cached": self.cached,
            "details": None
            if d is None
            else {name: getattr(d, name) for name in KeyDetails.__dataclass_fields__},
        }


@dataclass(frozen=True, slots=True)
class Finding:
    """One distinct secret for one rule, with every place it was seen."""

    rule_id: str
    severity: Severity
    fingerprint: str
    redacted: str
    locations: tuple[Location, ...]
    secret: str = field(repr=False, compare=False)
    description: str = ""
    placeholder: bool = False
    """True when the placeholder model matched and ``--include-placeholders`` listed it."""
    validation: Validation | None = None

    def __str__(self) -> str:
        return f"{self.rule_id} {self.redacted} ({len(self.locations)} location(s))"


@dataclass(frozen=True, slots=True)
class Issue:
    """Something that was not (fully) scanned, and why. Always reported, never dropped."""

    kind: str
    """symlink, unreadable, size-cap, archive-cap, depth-cap, decode-error, corrupt-object, ..."""
    path: str
    detail: str = ""


UNREAD_KINDS = frozenset({"unreadable", "missing-object", "corrupt-object"})
"""Issues of an input that was not read at all (not one a cap or a decoder cut short):
``scan``, ``staged`` and the commit hooks call a scan with one of them incomplete."""


@dataclass(frozen=True, slots=True)
class ScanStats:
    counters: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    """Named counts: files, bytes, blobs, placeholders_suppressed, allowed_inline, ..."""
    issues: tuple[Issue, ...] = ()
    duration_s: float = 0.0
    notes: tuple[str, ...] = ()
    """Plain-language facts about the scan (the range chosen, a shallow boundary, ...)."""
    excluded: tuple[Issue, ...] = ()
    """Inputs left out by an exclude pattern (kind ``excluded``; detail: the pattern)."""
    configs: Mapping[str, str] = field(default_factory=lambda: _EMPTY_STR)
    """Which configuration applied to which target: target -> file (or ``<defaults>``)."""

    def get(self, name: str) -> int:
        return self.counters.get(name, 0)


@dataclass(frozen=True, slots=True)
class ScanResult:
    command: str
    targets: tuple[str, ...]
    findings: tuple[Finding, ...]
    stats: ScanStats
    show_secrets: bool = False
    extra: Mapping[str, object] = field(default_factory=lambda: _EMPTY)
    started_at: str = ""
    """ISO-8601 UTC time the run started (empty when unknown)."""
    scope: str = ""
    """Which part of the targets was scanned, in plain words, when it is not all of them
    (the commit range ``ci`` chose); every report format states it."""


_KEYLIKE = re.compile(r"sk-or-v[0-9]+-[0-9a-fA-F]{4,}")


def scrub_secrets(text: str) -> str:
    """Redact anything key-shaped in free text (exception messages, log lines, names),
    whole or cut: a head of four digits is already too much. Its output is a fixed
    point: a redacted key has three digits before its ``...``."""
    return _KEYLIKE.sub(lambda m: redact(m.group(0)), text)

"""What the driver hands a worker for one repository, and what comes back: plain data,
picklable, shared by the task, its helper processes and the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from keysentry.fleet.targets import Target
from keysentry.models import Finding, Issue

OBJECT_COUNTERS = ("commits", "trees", "blobs", "tags")


@dataclass(frozen=True, slots=True)
class AuditSettings:
    """What every repository's audit shares (the command line's options)."""

    clone_dir: Path
    config_path: Path | None = None
    rules: tuple[Path, ...] = ()
    include_placeholders: bool = False
    baseline: Path | None = None
    messages: bool = True
    timeout: float | None = None
    """Seconds per repository (clone, fetch and scan); None: no limit."""
    stall_timeout: float = 300.0
    """Seconds a clone or fetch may go without receiving anything before it is given up."""
    keep_secrets: bool = False
    """Send the raw keys back to the driver (for --validate and --show-secrets); else
    every finding comes back with an empty ``secret``."""


@dataclass(frozen=True, slots=True)
class TaskSpec:
    target: Target
    settings: AuditSettings
    known_digest: str | None = None
    """The state the store holds for this repository: the same state again means
    nothing changed, and the scan is skipped."""
    salt: str = ""
    """What the state is salted with (keysentry.fleet.state.settings_salt), computed
    once by the driver."""


@dataclass(frozen=True, slots=True)
class RepoOutcome:
    """What one repository's audit produced."""

    name: str
    digest: str = ""
    failure: str = ""
    """Why the repository could not be audited; empty when it was."""
    unchanged: bool = False
    """Its refs matched the stored digest: not scanned again."""
    counters: dict[str, int] = field(default_factory=dict)
    issues: tuple[Issue, ...] = ()
    notes: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    duration_s: float = 0.0

    @property
    def objects(self) -> int:
        return sum(self.counters.get(name, 0) for name in OBJECT_COUNTERS)

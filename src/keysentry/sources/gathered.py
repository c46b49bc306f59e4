"""What a git source hands to the pipeline: located hits, issues, counters, notes.

Sources only gather; the pipeline's collector turns this into findings (filters,
allowlists, baseline, validation), so sources never depend on those stages.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from keysentry.detect.scanner import Hit, Tally
from keysentry.findings.build import InputContext
from keysentry.models import Issue


@dataclass(slots=True)
class Gathered:
    pairs: list[tuple[Hit, InputContext]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    counters: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    excluded: list[Issue] = field(default_factory=list)
    """Inputs an exclude pattern left out (detail: the pattern and where it is set)."""

    def add(self, tally: Tally, ctx: InputContext) -> None:
        """Every hit of ``tally`` at ``ctx``; its issues and counters too."""
        self.pairs.extend((hit, ctx) for hit in tally.hits)
        self.issues.extend(tally.issues)
        self.counters.update(tally.counters)

"""The configuration allowlist: fingerprints a user has reviewed, each with a reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from keysentry.config import AllowEntry
from keysentry.models import Finding


def apply_allowlist(
    findings: Sequence[Finding], entries: Sequence[AllowEntry], counters: Counter[str]
) -> tuple[Finding, ...]:
    allowed = {e.fingerprint for e in entries}
    kept = []
    for finding in findings:
        if finding.fingerprint in allowed:
            counters["allowlisted"] += 1
        else:
            kept.append(finding)
    return tuple(kept)

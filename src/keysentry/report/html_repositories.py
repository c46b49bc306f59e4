"""The HTML report's table of an audit's repositories: the rows of the text report's table
(keysentry.report.text.repository_table), each a repository with keys, clean, or failed with
its reason, ready for the template to sort and filter."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from keysentry.console.wording import human_bytes
from keysentry.models import EXPOSURE_RANK

RESULTS = ("keys", "failed", "clean")
"""A repository's result, most urgent first (also its rank when sorted by result)."""
_EXPOSURE_RANK: dict[str, int] = {e: i for i, e in enumerate(EXPOSURE_RANK)}


@dataclass(frozen=True, slots=True)
class RepositoryRow:
    repository: str
    keys: int
    failure: str
    """Why it could not be (fully) audited; empty when it was."""
    worst_exposure: str
    objects: int
    bytes: int
    duration_s: float

    @property
    def result(self) -> str:
        """``keys`` (found some; it may have failed too), ``failed`` or ``clean``."""
        if self.keys:
            return "keys"
        return "failed" if self.failure else "clean"

    @property
    def matches(self) -> str:
        """The filter values it answers to: a repository with keys that also failed is
        listed under both."""
        return " ".join(r for r in RESULTS if r == self.result or (r == "failed" and self.failure))

    @property
    def result_rank(self) -> int:
        return RESULTS.index(self.result)

    @property
    def exposure_rank(self) -> int:
        """Most exposed first; none (clean, failed) last."""
        return _EXPOSURE_RANK.get(self.worst_exposure, len(_EXPOSURE_RANK))

    @property
    def size(self) -> str:
        return human_bytes(self.bytes)


def _row(raw: Mapping[str, object]) -> RepositoryRow:
    def number(name: str) -> float:
        value = raw.get(name)
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0

    return RepositoryRow(
        repository=str(raw.get("repository") or ""),
        keys=int(number("findings")),
        failure=str(raw.get("failure") or ""),
        worst_exposure=str(raw.get("worst_exposure") or ""),
        objects=int(number("objects")),
        bytes=int(number("bytes")),
        duration_s=float(number("duration_s")),
    )


def repository_rows(table: object) -> list[RepositoryRow]:
    """``ScanResult.extra["repositories"]`` (keysentry audit's table; absent elsewhere), most
    urgent first: keys by worst exposure and count, then failed, then clean, each by name.
    That is the order the page reads in with scripts off."""
    if not isinstance(table, list):
        return []
    rows = [_row(raw) for raw in table if isinstance(raw, Mapping)]
    return sorted(rows, key=lambda r: (r.result_rank, r.exposure_rank, -r.keys, r.repository))

"""The geometry of the HTML report's charts: numbers in, bars out; the template draws them.

The report draws its own SVG rather than using a charting library: two bar charts need only
rectangles and labels, a library that emits static SVG (pygal, matplotlib) would add a large
dependency for that, and its output would be one more source of markup to trust. Here every
label still passes through the template's escaping and redaction hook like any other value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

STATUSES = ("live", "unchecked", "invalid")
"""Stacking order of a bar's segments, bottom (or left) first: what needs action first."""

WIDTH = 640
BAR_HEIGHT = 22
"""Height of one bar of a horizontal chart, gap included."""


@dataclass(frozen=True, slots=True)
class Segment:
    status: str
    x: float
    y: float
    width: float
    height: float
    count: int


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    total: int
    segments: tuple[Segment, ...]
    label_x: float
    label_y: float
    show_label: bool = True


@dataclass(frozen=True, slots=True)
class Tick:
    value: int
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...] = ()
    plot_left: float = 0
    plot_bottom: float = 0
    plot_right: float = 0


Counts = Mapping[str, int]
"""Keys per status (``live``, ``unchecked``, ``invalid``)."""


def horizontal(rows: Sequence[tuple[str, Counts]], label_width: int = 190) -> Chart:
    """One bar per row, its length the number of keys, split by status."""
    top = max((sum(c.values()) for _, c in rows), default=0) or 1
    plot = WIDTH - label_width - 40  # room for the total after the bar
    bars = []
    for i, (label, counts) in enumerate(rows):
        y = i * BAR_HEIGHT + 4
        x = float(label_width)
        segments = []
        for status in STATUSES:
            n = counts.get(status, 0)
            if n:
                w = plot * n / top
                segments.append(Segment(status, x, y, w, BAR_HEIGHT - 6, n))
                x += w
        bars.append(Bar(label, sum(counts.values()), tuple(segments), x + 6, y + 12))
    return Chart(WIDTH, len(rows) * BAR_HEIGHT + 8, tuple(bars), plot_left=label_width)


def _buckets(days: Sequence[date]) -> tuple[list[str], list[date]]:
    """Contiguous time buckets covering ``days``: by day, month or year, whichever keeps the
    chart readable (at most about 40 bars)."""
    first, last = min(days), max(days)
    if (last - first).days <= 40:
        starts = [date.fromordinal(n) for n in range(first.toordinal(), last.toordinal() + 1)]
        return [d.isoformat() for d in starts], starts
    months = (last.year - first.year) * 12 + last.month - first.month
    if months <= 36:
        starts = [
            date(first.year + (first.month - 1 + n) // 12, (first.month - 1 + n) % 12 + 1, 1)
            for n in range(months + 1)
        ]
        return [d.strftime("%Y-%m") for d in starts], starts
    starts = [date(y, 1, 1) for y in range(first.year, last.year + 1)]
    return [str(d.year) for d in starts], starts


def timeline(dated: Sequence[tuple[date, str]]) -> Chart | None:
    """Keys introduced per period (by the date of the introducing commit), split by status."""
    if not dated:
        return None
    labels, starts = _buckets([d for d, _ in dated])
    counts: list[dict[str, int]] = [{} for _ in labels]
    for day, status in dated:
        i = max(n for n, start in enumerate(starts) if start <= day)
        counts[i][status] = counts[i].get(status, 0) + 1
    left, bottom, height = 36.0, 170.0, 200
    plot_w, plot_h = WIDTH - left - 10, bottom - 10
    top = max(sum(c.values()) for c in counts)
    slot = plot_w / len(labels)
    every = -(-len(labels) // 8)  # at most 8 labels under the axis
    bars = []
    width = min(slot * 0.7, 48.0)  # a lone bar stays a bar, not a slab
    for i, (label, c) in enumerate(zip(labels, counts, strict=True)):
        x = left + i * slot + (slot - width) / 2
        y = bottom
        segments = []
        for status in STATUSES:
            n = c.get(status, 0)
            if n:
                h = plot_h * n / top
                y -= h
                segments.append(Segment(status, x, y, width, h, n))
        bars.append(
            Bar(
                label,
                sum(c.values()),
                tuple(segments),
                x + slot * 0.35,
                bottom + 16,
                i % every == 0,
            )
        )
    ticks = tuple(Tick(v, left - 6, bottom - plot_h * v / top + 4) for v in sorted({0, top}))
    return Chart(
        WIDTH, height, tuple(bars), ticks, plot_left=left, plot_bottom=bottom, plot_right=WIDTH - 10
    )

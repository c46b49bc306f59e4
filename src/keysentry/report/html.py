"""The HTML report: one self-contained page a security lead reads at a glance.

A pure function of the ScanResult, like every reporter. The page makes no request when opened
(no CDN, font or remote script; a Content-Security-Policy of ``default-src 'none'`` that only
admits the page's own style and script by hash says so to the browser too), reads correctly
with scripts off (keys expand with ``<details>``), and prints everything from the scanned data
through Jinja2's autoescaping and one display hook (:func:`_display`) that redacts key-shaped
text. File names, commit messages and author names come from untrusted repositories.

Jinja2 is imported with this module, which keysentry.report loads only for ``--format html``.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timezone

import jinja2
from markupsafe import Markup

from keysentry import __version__
from keysentry.console.wording import human_bytes
from keysentry.models import EXPOSURE_RANK, Finding, Location, ScanResult
from keysentry.report import html_charts
from keysentry.report.html_repositories import repository_rows
from keysentry.report.text import describe_exposure, describe_validation, next_steps
from keysentry.untrusted import shown

NO_EXPOSURE = "files"
"""The exposure class of a key found in plain files, outside any git history."""
STATUS_WORDS = {
    "live": "live",
    "invalid": "invalid",
    "unknown": "unknown",
    "unchecked": "not checked",
}
_STATUS_RANK = {"live": 0, "unknown": 1, "unchecked": 2, "invalid": 3}
_EXPOSURE_RANK = {e: i for i, e in enumerate((*EXPOSURE_RANK, NO_EXPOSURE))}


class Revealed(str):
    """A raw key the user asked to see (``--show-secrets``): the only value the display hook
    lets through unredacted."""

    __slots__ = ()


def _display(value: object) -> object:
    """Jinja2's ``finalize`` hook: every value the template prints passes here, then through
    autoescaping. The one place that decides how untrusted text is shown."""
    if value is None:
        return ""
    if isinstance(value, Markup):
        # Markup only comes from the template itself (a macro's output), whose own values
        # already passed through here; the scanned data is plain str and never Markup.
        return value
    if isinstance(value, Revealed):
        return str(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    # The CLI already passed the result through untrusted.for_display; this is the page's
    # own guard for text the template builds from it.
    return shown(str(value))


@dataclass(frozen=True, slots=True)
class Introduced:
    day: date
    sort_value: str
    """UTC ISO-8601 time, for sorting across time zones."""
    commit: str
    author: str
    summary: str


@dataclass(frozen=True, slots=True)
class LocationView:
    where: str
    line: int
    column: int
    repository: str
    decoders: str
    source: str
    git_status: str
    commit: str
    author: str
    date: str
    summary: str
    exposure: str
    exposure_text: str
    snippet: str
    fixable: bool | None = None
    """True: ``keysentry fix`` changes it; False: by hand; None: not asked."""
    fix_text: str = ""


@dataclass(frozen=True, slots=True)
class KeyRow:
    key: str
    rule_id: str
    severity: str
    placeholder: bool
    fingerprint: str
    status: str
    """live, invalid, unknown, or unchecked (no --validate)."""
    status_text: str
    exposure: str
    exposure_text: str
    repositories: tuple[str, ...]
    introduced: Introduced | None
    locations: tuple[LocationView, ...]
    search_text: str
    """What the repository/path filter matches against."""

    @property
    def status_rank(self) -> int:
        return _STATUS_RANK[self.status]

    @property
    def exposure_rank(self) -> int:
        return _EXPOSURE_RANK.get(self.exposure, len(_EXPOSURE_RANK))


def _repository(loc: Location) -> str:
    """The repository a location is in, when the result names one per location (``keysentry
    audit``). A single-repository result names its repository in its targets instead."""
    return loc.repository or ""


def _when(iso: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _introduced(locations: Iterable[Location]) -> Introduced | None:
    dated = [
        (moment.astimezone(timezone.utc), loc)
        for loc in locations
        if loc.commit is not None and (moment := _when(loc.commit.date)) is not None
    ]
    if not dated:
        return None
    moment, loc = min(dated, key=lambda item: item[0])
    assert loc.commit is not None
    return Introduced(
        moment.date(), moment.isoformat(), loc.commit.id, loc.commit.author, loc.commit.summary
    )


def _location_view(loc: Location) -> LocationView:
    c = loc.commit
    return LocationView(
        where=loc.display_path,
        line=loc.line,
        column=loc.column,
        repository=_repository(loc),
        decoders=" > ".join(loc.decoders),
        source="" if loc.source == "file" else loc.source,
        git_status=loc.git_status or "",
        commit=c.id if c else "",
        author=c.author if c else "",
        date=c.date if c else "",
        summary=c.summary if c else "",
        exposure=loc.exposure or "",
        exposure_text=describe_exposure(loc.exposure) if loc.exposure else "",
        snippet=loc.snippet,
        fixable=None if loc.fix is None else loc.fix.fixable,
        fix_text="" if loc.fix is None else loc.fix.how,
    )


def _row(f: Finding, show_secrets: bool) -> KeyRow:
    v = f.validation
    status = "unchecked" if v is None else v.status
    exposures = [loc.exposure for loc in f.locations if loc.exposure]
    worst = min(exposures, key=EXPOSURE_RANK.index) if exposures else NO_EXPOSURE
    views = tuple(_location_view(loc) for loc in f.locations)
    repositories = tuple(dict.fromkeys(r for r in (v.repository for v in views) if r))
    return KeyRow(
        key=Revealed(f.secret) if show_secrets else f.redacted,
        rule_id=f.rule_id,
        severity=f.severity,
        placeholder=f.placeholder,
        fingerprint=f.fingerprint,
        status=status,
        status_text="not checked (run with --validate)" if v is None else describe_validation(v),
        exposure=worst,
        exposure_text="in files, outside git history"
        if worst == NO_EXPOSURE
        else describe_exposure(worst),
        repositories=repositories,
        introduced=_introduced(f.locations),
        locations=views,
        search_text=" ".join((*repositories, *(v.where for v in views))).lower(),
    )


def _rows(result: ScanResult) -> list[KeyRow]:
    """Most urgent first: live keys, then by how far each got, then the oldest leak."""
    rows = [_row(f, result.show_secrets) for f in result.findings]
    return sorted(
        rows,
        key=lambda r: (
            r.placeholder,
            r.status_rank,
            r.exposure_rank,
            r.introduced.sort_value if r.introduced else "~",
        ),
    )


def _chart_status(row: KeyRow) -> str:
    return row.status if row.status in html_charts.STATUSES else "unchecked"


def _exposure_chart(rows: list[KeyRow]) -> html_charts.Chart | None:
    counts: dict[str, Counter[str]] = {}
    for row in rows:
        counts.setdefault(row.exposure, Counter())[_chart_status(row)] += 1
    ordered = sorted(counts.items(), key=lambda item: _EXPOSURE_RANK[item[0]])
    return html_charts.horizontal(ordered) if ordered else None


def _repository_chart(rows: list[KeyRow]) -> html_charts.Chart | None:
    counts: dict[str, Counter[str]] = {}
    for row in rows:
        for repository in row.repositories:
            counts.setdefault(repository, Counter())[_chart_status(row)] += 1
    if len(counts) < 2:
        return None
    top = sorted(counts.items(), key=lambda item: (-sum(item[1].values()), item[0]))[:10]
    return html_charts.horizontal(top, label_width=240)


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("keysentry.report", "templates"),
        autoescape=True,
        finalize=_display,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def render(result: ScanResult) -> str:
    env = _environment()
    style = env.get_template("report.css").render()
    script = env.get_template("report.js").render()
    every = _rows(result)
    real = [r for r in every if not r.placeholder]
    statuses = Counter(r.status for r in real)
    counters = result.stats.counters
    issues = result.stats.issues
    dated = [(r.introduced.day, _chart_status(r)) for r in real if r.introduced]
    repositories = repository_rows(result.extra.get("repositories"))
    results = Counter(r.result for r in repositories)
    return env.get_template("report.html.j2").render(
        result=result,
        version=__version__,
        style=style,
        script=script,
        csp=f"default-src 'none'; style-src {_csp_hash(style)}; "
        f"script-src {_csp_hash(script)}; img-src data:",
        rows=every,
        found=len(real),
        placeholders=len(every) - len(real),
        live=statuses["live"],
        invalid=statuses["invalid"],
        unknown=statuses["unknown"],
        unchecked=statuses["unchecked"],
        validated=any(f.validation is not None for f in result.findings),
        scanned=counters.get("files", 0) + counters.get("blobs", 0),
        scanned_bytes=human_bytes(counters.get("bytes", 0)),
        issues=issues,
        issue_kinds=sorted(Counter(i.kind for i in issues).items()),
        started=_when(result.started_at) if result.started_at else None,
        next_steps=next_steps(result),
        exposures=sorted({r.exposure for r in every}, key=lambda e: _EXPOSURE_RANK[e]),
        has_repositories=any(r.repositories for r in every),
        undated=sum(1 for r in real if r.introduced is None),
        timeline=html_charts.timeline(dated),
        exposure_chart=_exposure_chart(real),
        repository_chart=_repository_chart(real),
        status_words=STATUS_WORDS,
        repositories=repositories,
        repositories_with_keys=results["keys"],
        repositories_failed=sum(1 for r in repositories if r.failure),
        repositories_clean=results["clean"],
    )

"""The human report (stdout) and the summary (stderr)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

from keysentry.console.wording import DEFAULTS_NAME, human_bytes, scanned_line
from keysentry.models import (
    Finding,
    FixInfo,
    Location,
    ScanResult,
    ScanStats,
    Validation,
    scrub_secrets,
)

_COLOURS = {"critical": "1;31", "high": "31", "medium": "33", "low": "36", "info": "2"}
_EXPOSURE = {
    "head": "not pushed as far as this clone knows",
    "branch": "in local history, not in HEAD; not pushed as far as this clone knows",
    "pushed": "published (pushed to a server): revoke it first",
    "tag": "reachable from a tag (published if the tag was pushed)",
    "stash": "only in a stash",
    "reflog-only": "only in the reflog (no branch or tag reaches it)",
    "unreachable": "unreachable (dangling) object",
}
MAX_ISSUES_SHOWN = 20


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour else text


def describe_exposure(exposure: str) -> str:
    return _EXPOSURE.get(exposure, exposure)


def next_steps(result: ScanResult) -> str:
    """What to do about the keys found (empty when none): the same words in every human format."""
    real = [f for f in result.findings if not f.placeholder]
    if not real:
        return ""
    validated = [f.validation for f in real if f.validation is not None]
    return _advice(validated, sum(1 for v in validated if v.status == "live"))


def describe_location(loc: Location) -> str:
    text = f"{loc.display_path}:{loc.line}:{loc.column}"
    if loc.repository:
        text = f"{loc.repository}: {text}"
    extras = []
    if loc.decoders:
        extras.append("via " + " > ".join(loc.decoders))
    if loc.source not in ("file",):
        extras.append(loc.source)
    if loc.git_status:
        extras.append(loc.git_status)
    if loc.commit is not None:
        extras.append(f"commit {loc.commit.id[:12]} by {loc.commit.author} on {loc.commit.date}")
    if loc.in_head:
        extras.append("in the current tree (HEAD)")  # and, below, how far it travelled
    if loc.exposure:
        extras.append(describe_exposure(loc.exposure))
    return text + (f"  ({'; '.join(extras)})" if extras else "")


def describe_validation(v: Validation, now: datetime | None = None) -> str:
    cached = f"cached {_age(v.checked_at, now)}" if v.cached else ""
    if v.status == "live":
        d = v.details
        bits = [f"LIVE ({cached})" if cached else "LIVE"]
        if d is not None:
            if d.is_management_key:
                bits.append("MANAGEMENT KEY: it can create and delete every key of the account")
            if d.label:
                bits.append(f"label {d.label}")
            bits.append("no credit limit" if d.limit is None else f"limit ${d.limit:g}")
            if d.limit_remaining is not None:
                bits.append(f"remaining ${d.limit_remaining:g}")
            if d.usage is not None:
                bits.append(f"used ${d.usage:g}")
            if d.expires_at:
                bits.append(f"expires {d.expires_at}")
        return ", ".join(bits)
    if v.status == "invalid":
        return "invalid (revoked, disabled, expired or never issued" + (
            f"; {cached})" if cached else ")"
        )
    return f"unknown ({v.reason})" if v.reason else "unknown"


def _age(checked_at: str, now: datetime | None) -> str:
    """``12 min ago`` for a cached outcome's probe time (ISO-8601 UTC)."""
    try:
        then = datetime.strptime(checked_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return "earlier"
    seconds = max(0, int(((now or datetime.now(timezone.utc)) - then).total_seconds()))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min ago"


def render_finding(f: Finding, show_secrets: bool, colour: bool) -> str:
    head = _paint(f"{f.severity.upper():8}", _COLOURS.get(f.severity, "0"), colour)
    shown = f.secret if show_secrets else f.redacted
    lines = [f"{head} {f.rule_id}  {shown}  fingerprint {f.fingerprint[:16]}"]
    if f.placeholder:
        lines.append("         placeholder-shaped: probably not a real key")
    if f.validation is not None:
        lines.append(f"         validation: {describe_validation(f.validation)}")
    for loc in f.locations:
        lines.append(f"  {describe_location(loc)}")
        if loc.snippet:
            lines.append(f"      {loc.snippet}")
        if loc.fix is not None and not f.placeholder:
            lines.append(f"      {describe_fix(loc.fix)}")
    return "\n".join(lines)


def describe_fix(fix: FixInfo) -> str:
    """Whether ``keysentry fix`` changes this location, in the words every human format uses."""
    if fix.fixable:
        return f"fixable by `keysentry fix`: {fix.how}"
    return f"change by hand: {fix.how}"


def render_text(result: ScanResult, colour: bool = False) -> str:
    blocks = [render_finding(f, result.show_secrets, colour) for f in result.findings]
    if result.scope:  # on stdout too: the summary on stderr is gone with -q
        head = f"keysentry {result.command}: {result.scope}"
        blocks.insert(0, head if blocks else f"{head}\nno leaked keys found")
    table = repository_table(result.extra.get("repositories"))
    if table:
        blocks.append(table)
    return "\n\n".join(blocks) + "\n" if blocks else ""


def repository_table(rows: object) -> str:
    """``keysentry audit``'s table: one line per repository, failures with their reason."""
    if not isinstance(rows, list) or not rows:
        return ""
    lines = [
        f"{'objects':>9} {'bytes':>9} {'time':>8} {'keys':>5}  {'worst exposure':14}  repository"
    ]
    for row in rows:
        line = (
            f"{row['objects']:>9} {human_bytes(row['bytes']):>9} {row['duration_s']:>7.1f}s "
            f"{row['findings']:>5}  {row['worst_exposure'] or '-':14}  {row['repository']}"
        )
        if row["failure"]:
            line += f"\n{'':>46}FAILED: {row['failure']}"
        lines.append(line)
    return "\n".join(lines)


def _config_name(source: str) -> str:
    return DEFAULTS_NAME if source == "<defaults>" else source


def _inputs_left_out(stats: ScanStats, verbose: bool) -> list[str]:
    """Which configuration applied, and what it (or the walk) left out on purpose."""
    lines = []
    by_source: dict[str, list[str]] = {}
    for target, source in stats.configs.items():
        by_source.setdefault(source, []).append(target)
    for source, targets in by_source.items():
        line = f"  configuration: {scrub_secrets(_config_name(source))}"
        if len(by_source) > 1:
            shown = ", ".join(scrub_secrets(t) for t in targets[:3])
            more = f" and {len(targets) - 3} more" if len(targets) > 3 else ""
            line += f" (for {shown}{more})"
        lines.append(line)
    if stats.excluded:
        lines.append(
            f"  {len(stats.excluded)} excluded by configuration"
            + ("" if verbose else " (-v lists them)")
        )
        if verbose:
            lines.extend(
                f"    excluded: {scrub_secrets(i.path)} (by {scrub_secrets(i.detail)})"
                for i in stats.excluded
            )
    git_dirs = stats.get("git_dirs_skipped")
    if git_dirs:
        lines.append(
            f"  {git_dirs} .git director{'y' if git_dirs == 1 else 'ies'} skipped: "
            "`keysentry history` scans a repository's history"
        )
    return lines


def render_summary(result: ScanResult, *, verbose: bool = False) -> str:
    """Plain-language summary for stderr: what was scanned, found, skipped and what to do."""
    c = result.stats.counters
    real = [f for f in result.findings if not f.placeholder]
    inputs = c.get("files", 0) + c.get("blobs", 0)
    parts = [scanned_line(result.command, inputs, c.get("bytes", 0), result.stats.duration_s)]
    if c.get("repositories"):
        failed = c.get("repositories_failed", 0)
        parts.append(
            f"  {c['repositories']} repositories"
            + (f", {failed} of them could not be audited (see the table)" if failed else "")
        )
    parts.extend(_inputs_left_out(result.stats, verbose))
    for note in result.stats.notes:
        parts.append(f"  {note}")
    found = f"{len(real)} finding(s)"
    live = sum(1 for f in real if f.validation is not None and f.validation.status == "live")
    validated = [f.validation for f in real if f.validation is not None]
    if validated:
        found += f", {live} confirmed live"
        from_cache = sum(1 for v in validated if v.cached)
        if from_cache:
            found += f" ({from_cache} outcome(s) from the validation cache; --no-cache asks again)"
    extra = []
    for key, label in (
        ("placeholders_suppressed", "placeholder(s) suppressed"),
        ("allowed_inline", "allowed inline"),
        ("allowlisted", "allow-listed"),
        ("baselined", "suppressed by the baseline"),
    ):
        if c.get(key):
            extra.append(f"{c[key]} {label}")
    parts.append("  " + found + (f"; {', '.join(extra)}" if extra else ""))
    issues = result.stats.issues
    if issues:
        kinds = Counter(i.kind for i in issues)
        parts.append(
            f"  not fully scanned: {len(issues)} ("
            + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
            + ")"
        )
        shown = issues if verbose else issues[:MAX_ISSUES_SHOWN]
        for issue in shown:
            parts.append(
                f"    {issue.kind}: {issue.path}" + (f": {issue.detail}" if issue.detail else "")
            )
        if len(shown) < len(issues):
            parts.append(
                f"    ... and {len(issues) - len(shown)} more (-v or --format json lists all)"
            )
    advice = next_steps(result)
    if advice:
        parts.append("  next: " + advice)
    return "\n".join(parts) + "\n"


def _advice(validated: list[Validation], live: int) -> str:
    """What to do next, following what ran: no probe, or the outcomes of ``--validate``."""
    cleanup = "remove every key found from the code and history"
    if not validated:
        return (
            "treat every key found as compromised; check it with --validate, then disable "
            f"or delete it (`keysentry revoke`) and {cleanup}."
        )
    unknown = sum(1 for v in validated if v.status == "unknown")
    steps = []
    if live:
        steps.append(f"disable or delete the {live} live key(s) now (`keysentry revoke`)")
    if unknown:
        steps.append(
            f"treat the {unknown} key(s) that could not be checked as live (see the reasons; "
            "`keysentry check-key` checks them again)"
        )
    if not steps:
        steps.append("no key found answered live; a disabled key can be enabled again, so")
        return f"{steps[0]} {cleanup}."
    return "; ".join(steps) + f"; then {cleanup}."

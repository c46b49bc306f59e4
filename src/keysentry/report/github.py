"""GitHub Actions: workflow-command annotations, and a Markdown job summary.

``render`` is a pure reporter (one ``::error``/``::warning``/``::notice`` line per
location). ``step_summary`` builds the Markdown for ``$GITHUB_STEP_SUMMARY``;
``append_step_summary`` is the only function here that writes, and the CLI calls it.

Escaping follows actions/toolkit (``packages/core/src/command.ts``): in the message
``%``, CR and LF; in properties also ``:`` and ``,``. Nothing else needs escaping,
and once CR and LF are escaped a scanned line cannot start a workflow command of its own.
"""

from __future__ import annotations

import html
from pathlib import Path

from keysentry.models import Finding, Location, ScanResult, Severity
from keysentry.report.sarif import NOT_FILES
from keysentry.report.text import describe_location, describe_validation

_COMMAND: dict[Severity, str] = {
    "critical": "error",
    "high": "error",
    "medium": "warning",
    "low": "notice",
    "info": "notice",
}
MAX_ISSUES = 20


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str | int | None) -> str:
    props = ",".join(
        f"{key}={escape_property(str(value))}"
        for key, value in properties.items()
        if value is not None
    )
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def render(result: ScanResult) -> str:
    lines = [
        annotation(f, loc, result.show_secrets) for f in result.findings for loc in f.locations
    ]
    if result.scope:  # a notice in the job log, findings or not
        lines.insert(0, command("notice", result.scope, title=f"keysentry {result.command}"))
    issues = result.stats.issues
    if issues:
        shown = [
            f"{i.kind}: {i.path}" + (f": {i.detail}" if i.detail else "")
            for i in issues[:MAX_ISSUES]
        ]
        if len(issues) > MAX_ISSUES:
            shown.append(f"... and {len(issues) - MAX_ISSUES} more (--format json lists all)")
        lines.append(
            command(
                "warning",
                "\n".join(shown),
                title=f"keysentry: {len(issues)} input(s) not fully scanned",
            )
        )
    return "".join(line + "\n" for line in lines)


def annotation(f: Finding, loc: Location, show_secrets: bool) -> str:
    shown = f.secret if show_secrets else f.redacted
    name = _COMMAND[f.severity]
    if f.validation is not None and f.validation.status == "live":
        name = "error"
    message = [f"{f.description or f.rule_id}: {shown}", f"fingerprint: {f.fingerprint}"]
    if f.placeholder:
        message.append("placeholder-shaped: probably not a real key")
    if f.validation is not None:
        message.append(f"validation: {describe_validation(f.validation)}")
    message.append(f"where: {describe_location(loc)}")
    if loc.snippet:
        message.append(f"line: {loc.snippet}")
    if not f.placeholder:
        message.append(
            "next: treat the key as compromised; disable or delete it "
            "(keysentry revoke) and remove it from the code."
        )
    props: dict[str, str | int | None] = {}
    if loc.source == "file-name":
        props["file"] = loc.path  # the file whose name holds the key: no line of it does
    elif loc.source not in NOT_FILES:
        props["file"] = loc.path
        if not loc.members:  # a member's line is inside the archive, not in the file
            props.update(line=loc.line, col=loc.column)
            if not loc.decoders and f.secret:
                props["endColumn"] = loc.column + len(f.secret)
    props["title"] = f"Leaked key {shown} ({f.rule_id})"
    return command(name, "\n".join(message), **props)


def step_summary(result: ScanResult) -> str:
    """The job summary: a Markdown table of the findings and what to do next."""
    real = [f for f in result.findings if not f.placeholder]
    c = result.stats.counters
    if real:
        head = f"## :rotating_light: keysentry {result.command}: {len(real)} leaked key(s) found"
    else:
        head = f"## :white_check_mark: keysentry {result.command}: no leaked keys found"
    out = [head, ""]
    if result.findings:
        out += ["| severity | rule | key | validation | where |", "|---|---|---|---|---|"]
        for f in result.findings:
            shown = f.secret if result.show_secrets else f.redacted
            validation = describe_validation(f.validation) if f.validation else "not checked"
            where = _cell(describe_location(f.locations[0]))
            if len(f.locations) > 1:
                where += f" (+{len(f.locations) - 1} more)"
            out.append(
                f"| {f.severity} | <code>{_cell(f.rule_id)}</code> | "
                f"<code>{_cell(shown)}</code> | {_cell(validation)} | {where} |"
            )
        out.append("")
    scanned = c.get("files", 0) + c.get("blobs", 0)
    out.append(f"Scanned {scanned} input(s) in {result.stats.duration_s:.2f}s.")
    for key, label in (
        ("placeholders_suppressed", "placeholder-shaped key(s) suppressed"),
        ("allowed_inline", "allowed inline"),
        ("allowlisted", "allow-listed"),
        ("baselined", "suppressed by the baseline"),
    ):
        if c.get(key):
            out.append(f"{c[key]} {label}.")
    for note in result.stats.notes:
        out.append(f"- {_cell(note)}")
    if result.stats.issues:
        out.append(
            f"\n{len(result.stats.issues)} input(s) not fully scanned "
            "(the job log and `--format json` list them)."
        )
    if real:
        out.append(
            "\n**Next:** treat every key found as compromised: check it with "
            "`keysentry scan --validate`, disable or delete it (`keysentry revoke`), "
            "then remove it from the code."
        )
    return "\n".join(out) + "\n"


def append_step_summary(result: ScanResult, path: Path) -> None:
    """Append the summary to ``$GITHUB_STEP_SUMMARY``. Raises OSError."""
    with path.open("a", encoding="utf-8") as fh:
        fh.write(step_summary(result))


def _cell(text: str) -> str:
    """Safe inside a Markdown table cell: no HTML, no column breaks, one line."""
    return html.escape(text).replace("|", "&#124;").replace("\r", " ").replace("\n", " ")

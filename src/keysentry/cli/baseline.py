"""``keysentry baseline create | update | prune``: accept the findings that exist today.

Entries are a rule id and the key's SHA-256 fingerprint, taken from a scan of PATHS
or from a keysentry JSON or JSONL report; the file format lives in
:mod:`keysentry.filters.baseline`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from keysentry.config import load_config
from keysentry.errors import UsageError
from keysentry.invocation import ScanOptions, baseline_path, build_request
from keysentry.report.plan import ReportSpec

if TYPE_CHECKING:
    from keysentry.filters.baseline import BaselineEntry, Coverage
    from keysentry.findings.read import Report

_WHOLE_HISTORY = "history: every object in the repository"
"""How a whole-history audit (not a range) describes itself in a report's notes."""


def register(group: click.Group) -> None:
    group.add_command(baseline_group)


def _baseline_options(func: Any) -> Any:
    options = [
        click.argument("paths", nargs=-1),
        click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False, path_type=Path),
                     help="Baseline file (default: the configured one, else "
                          ".keysentry-baseline.json)."),
        click.option("--from-report", type=click.Path(dir_okay=False, allow_dash=True),
                     help="Take the findings from a keysentry JSON or JSONL report (any "
                          "command, e.g. `keysentry history --format json`; '-' reads stdin) "
                          "instead of scanning PATHS."),
        click.option("--exclude", multiple=True, metavar="PATTERN",
                     help="Skip paths matching this gitignore-style pattern (repeatable)."),
        click.option("--config", "config_path", type=click.Path(path_type=Path),
                     help="Configuration file."),
        click.option("--rules", multiple=True, type=click.Path(path_type=Path),
                     help="Extra rule file (repeatable)."),
        click.option("--include-placeholders", is_flag=True,
                     help="Also baseline placeholder-shaped keys."),
        click.option("--quiet", "-q", is_flag=True, help="No summary on stderr."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


@click.group("baseline")
def baseline_group() -> None:
    """Accept the findings that exist today, so that scans report only new ones.

    Entries are a rule id and the key's SHA-256 fingerprint (no line, no commit), so
    they survive rebases, squashes and moved lines. Scans use a baseline with
    `--baseline FILE` or `baseline = "..."` in the configuration."""


@baseline_group.command("create")
@_baseline_options
@click.option("--reason", default="", help="Why these findings are accepted (stored per entry).")
@click.option("--force", is_flag=True, help="Overwrite an existing baseline file.")
def baseline_create(reason: str, force: bool, **kwargs: Any) -> int:
    """Write a new baseline with every current finding."""
    from keysentry.filters import baseline as bl

    path, found, _ = _baseline_inputs(kwargs)
    if path.exists() and not force:
        raise UsageError(
            f"{path} exists: `keysentry baseline update` adds to it and keeps its "
            "reasons; --force replaces it"
        )
    entries, _ = bl.updated([], found, reason)
    bl.save_baseline(path, entries)
    _say(
        kwargs,
        f"keysentry baseline: wrote {path} with {len(entries)} entr"
        f"{'y' if len(entries) == 1 else 'ies'}",
    )
    return 0


@baseline_group.command("update")
@_baseline_options
@click.option("--reason", default="", help="Reason stored on the entries added now.")
def baseline_update(reason: str, **kwargs: Any) -> int:
    """Add the current findings to the baseline; existing entries and reasons are kept."""
    from keysentry.filters import baseline as bl

    path, found, _ = _baseline_inputs(kwargs)
    existing = bl.load_baseline(path).entries if path.exists() else ()
    entries, added = bl.updated(existing, found, reason)
    bl.save_baseline(path, entries)
    _say(kwargs, f"keysentry baseline: {path}: {added} added, {len(existing)} kept")
    return 0


@baseline_group.command("prune")
@_baseline_options
def baseline_prune(**kwargs: Any) -> int:
    """Remove the entries whose key is no longer found where this scan looked.

    An entry is removed only when the scan covered every place it records (files
    under PATHS for a scan; `history` for a whole-history report given with
    --from-report); the others are kept and counted."""
    from keysentry.filters import baseline as bl

    path, found, coverage = _baseline_inputs(kwargs)
    existing = bl.load_baseline(path).entries
    result = bl.pruned(existing, found, coverage)
    bl.save_baseline(path, result.kept)
    message = f"keysentry baseline: {path}: {result.removed} removed, {len(result.kept)} kept"
    if result.out_of_scope:
        message += (
            f"\n  {result.out_of_scope} kept because this scan could not have seen them (found "
            "in git history, or in paths it did not read); prune those against a scan that "
            "covers them, e.g. `keysentry history --format json | keysentry baseline prune "
            "--from-report -`"
        )
    if result.unrecorded:
        message += (
            f"\n  {result.unrecorded} kept because they do not record where their key was "
            "found (written by an older keysentry); `keysentry baseline update` records it "
            "for the keys it finds"
        )
    _say(kwargs, message)
    return 0


def _baseline_inputs(kwargs: dict[str, Any]) -> tuple[Path, list[BaselineEntry], Coverage]:
    """The baseline file to write, the entries for the findings found now, and what
    the scan (or the report's scan) could have seen."""
    from keysentry.filters.baseline import DEFAULT_PATH, Coverage, entries_for

    opts = ScanOptions(
        reports=(ReportSpec("json", None),), config_path=kwargs["config_path"],
        rules=tuple(kwargs["rules"]), show_secrets=False,
        include_placeholders=kwargs["include_placeholders"], validate=False, fail_on="any",
        no_cache=False, baseline=kwargs["baseline_file"], quiet=True, verbose=0,
    )  # fmt: skip
    config = load_config(opts.config_path, Path.cwd())
    path = baseline_path(opts, config) or DEFAULT_PATH
    excludes = (*config.exclude, *kwargs["exclude"])
    if kwargs["from_report"]:
        if kwargs["paths"]:
            raise UsageError("give either PATHS or --from-report, not both")
        entries, coverage = _report_entries(kwargs["from_report"])
        return path, entries, replace(coverage, excludes=excludes)
    from keysentry.pipeline import scan_paths

    # The scan must see every finding, including those the current baseline suppresses.
    request = build_request(
        opts, "baseline", kwargs["paths"] or (".",), use_baseline=False,
        extra_excludes=kwargs["exclude"],
    )  # fmt: skip
    result = scan_paths(request)
    roots = tuple(t for t in request.targets if t != "-")
    return path, entries_for(result.findings), Coverage(roots=roots, excludes=excludes)


def _report_entries(source: str) -> tuple[list[BaselineEntry], Coverage]:
    from keysentry.filters.baseline import BaselineEntry, found_in
    from keysentry.findings.read import read_report_document

    report = read_report_document(source)
    entries = [
        BaselineEntry(f.rule_id, f.fingerprint, "", f.first_location, found_in(f.places))
        for f in report.findings
    ]
    return entries, _report_coverage(report)


def _report_coverage(report: Report) -> Coverage:
    """What the report's scan could have seen: a whole-history audit sees all of the
    history; a file scan its targets; a range, a CI run or staged files too little."""
    from keysentry.filters.baseline import Coverage

    if report.command == "history" and any(n.startswith(_WHOLE_HISTORY) for n in report.notes):
        return Coverage(history=True)
    if report.command == "scan":
        return Coverage(roots=tuple(t for t in report.targets if t != "-"))
    return Coverage()


def _say(kwargs: Mapping[str, Any], message: str) -> None:
    if not kwargs.get("quiet"):
        click.echo(message, err=True)

"""``keysentry baseline create | update | prune``: accept the findings that exist today.

Entries are a rule id and the key's SHA-256 fingerprint, taken from a scan of PATHS
or from a keysentry JSON or JSONL report; the file format lives in
:mod:`keysentry.filters.baseline`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from keysentry.cli_common import ScanOptions, baseline_path, build_request
from keysentry.config import load_config
from keysentry.errors import UsageError

if TYPE_CHECKING:
    from keysentry.filters.baseline import BaselineEntry


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

    path, found = _baseline_inputs(kwargs)
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

    path, found = _baseline_inputs(kwargs)
    existing = bl.load_baseline(path).entries if path.exists() else ()
    entries, added = bl.updated(existing, found, reason)
    bl.save_baseline(path, entries)
    _say(kwargs, f"keysentry baseline: {path}: {added} added, {len(existing)} kept")
    return 0


@baseline_group.command("prune")
@_baseline_options
def baseline_prune(**kwargs: Any) -> int:
    """Remove the entries whose key is no longer found.

    Prune against the same source the baseline was made from: a baseline of the
    whole history pruned against a directory scan would lose its history entries."""
    from keysentry.filters import baseline as bl

    path, found = _baseline_inputs(kwargs)
    existing = bl.load_baseline(path).entries
    kept = bl.pruned(existing, found)
    bl.save_baseline(path, kept)
    _say(
        kwargs, f"keysentry baseline: {path}: {len(existing) - len(kept)} removed, {len(kept)} kept"
    )
    return 0


def _baseline_inputs(kwargs: dict[str, Any]) -> tuple[Path, list[BaselineEntry]]:
    """The baseline file to write and the entries for the findings found now."""
    from keysentry.filters.baseline import DEFAULT_PATH, entries_for

    opts = ScanOptions(
        format="json", output=None, config_path=kwargs["config_path"],
        rules=tuple(kwargs["rules"]), show_secrets=False,
        include_placeholders=kwargs["include_placeholders"], validate=False, fail_on="any",
        no_cache=False, baseline=kwargs["baseline_file"], quiet=True, verbose=0,
    )  # fmt: skip
    path = baseline_path(opts, load_config(opts.config_path, Path.cwd())) or DEFAULT_PATH
    if kwargs["from_report"]:
        if kwargs["paths"]:
            raise UsageError("give either PATHS or --from-report, not both")
        return path, _report_entries(kwargs["from_report"])
    from keysentry.pipeline import scan_paths

    # The scan must see every finding, including those the current baseline suppresses.
    request = build_request(
        opts, "baseline", kwargs["paths"] or (".",), use_baseline=False,
        extra_excludes=kwargs["exclude"],
    )  # fmt: skip
    result = scan_paths(request)
    return path, entries_for(result.findings)


def _report_entries(source: str) -> list[BaselineEntry]:
    from keysentry.filters.baseline import BaselineEntry
    from keysentry.report_input import read_report

    return [
        BaselineEntry(f.rule_id, f.fingerprint, "", f.first_location) for f in read_report(source)
    ]


def _say(kwargs: Mapping[str, Any], message: str) -> None:
    if not kwargs.get("quiet"):
        click.echo(message, err=True)

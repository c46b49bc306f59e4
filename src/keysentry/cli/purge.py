"""``keysentry purge``: parse, run the purge flow with ``history``'s audit, render, exit."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from keysentry.errors import UsageError
from keysentry.invocation import ScanOptions, build_request
from keysentry.report.plan import ReportSpec

if TYPE_CHECKING:
    from keysentry.models import ScanResult


def register(group: click.Group) -> None:
    group.add_command(purge)


@click.command()
@click.argument("repo", required=False, default=".", type=click.Path(path_type=Path))
@click.option(
    "--into",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Write the rewritten mirror here (a new directory). REPO is not modified.",
)
@click.option(
    "--in-place",
    is_flag=True,
    help="Rewrite REPO itself (refused unless its work tree is clean; expires its reflogs).",
)
@click.option(
    "--replacement",
    default="OPENROUTER_KEY_REMOVED",
    show_default=True,
    help="What each key is replaced with.",
)
@click.option(
    "--remove-files",
    is_flag=True,
    help="Drop from history the files whose keys cannot be replaced (binaries, archives).",
)
@click.option("--allow-live", is_flag=True, help="Purge even keys the probe says are live.")
@click.option(
    "--allow-unverified",
    is_flag=True,
    help="Purge even when a key could not be checked (the API cannot be reached).",
)
@click.option(
    "--report",
    "report_path",
    metavar="FILE",
    help="Only the keys in this keysentry JSON/JSONL report ('-' for stdin; redacted is enough).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="Configuration file (also the only place besides OPENROUTER_BASE_URL for the API "
    "base URL: never REPO's own configuration).",
)
@click.option("--no-cache", is_flag=True, help="Do not use the validation cache.")
@click.option(
    "--format",
    "format_",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Report format.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to FILE instead of standard output.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress line.")
def purge(
    repo: Path,
    into: Path | None,
    in_place: bool,
    replacement: str,
    remove_files: bool,
    allow_live: bool,
    allow_unverified: bool,
    report_path: str | None,
    config_path: Path | None,
    no_cache: bool,
    format_: str,
    output: Path | None,
    quiet: bool,
) -> int:
    """Rewrite history so that leaked keys are gone: into a new mirror at DIR.

    REPO's whole history is audited as `keysentry history` does; every key is checked
    first, and the purge is refused while one is live (revoke it: `keysentry revoke`).
    git-filter-repo then replaces each key by the marker in every blob, commit and tag
    message, file name, identity and ref name of every ref of a `git clone --mirror` of
    REPO. DIR is then audited again and searched, independently of the scanner, for each
    key raw and encoded in every object, ref name and file. Keys in binary files and
    archives cannot be replaced: they are listed as still present (--remove-files drops
    those files from history).

    Exit codes: 0 no purged key is left in DIR; 1 some are left (listed); 2 refused
    (a live or unchecked key, a dirty tree with --in-place, DIR exists) or usage error,
    nothing written; 3 git or git-filter-repo failed, or DIR could not be fully
    checked."""
    from keysentry.pipeline import run_history
    from keysentry.purge.flow import PurgeRequest, check_replacement, run_purge
    from keysentry.purge.report import render_json, render_text
    from keysentry.sources.history import HistoryOptions

    # validate=True only to get --validate's settings (the base URL from the environment or
    # --config, never from REPO); the audits themselves do not probe: purge probes once.
    opts = ScanOptions((ReportSpec("json", output),), config_path, (), False, False, True,
                       "any", no_cache, None, quiet, 0)  # fmt: skip
    checked = build_request(opts, "purge", (str(repo),), use_baseline=False)
    assert checked.validation is not None
    validation = checked.validation
    scan = replace(checked, validation=None)
    request = PurgeRequest(
        repo=repo,
        into=into,
        in_place=in_place,
        replacement=check_replacement(replacement),
        remove_files=remove_files,
        allow_live=allow_live,
        allow_unverified=allow_unverified,
        only=_report_fingerprints(report_path) if report_path is not None else None,
    )
    history = HistoryOptions()

    def audit(path: Path) -> ScanResult:
        return run_history(scan, path, history)

    outcome = run_purge(request, audit, validation)
    text = render_json(outcome) if format_ == "json" else render_text(outcome)
    if output is not None:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    else:
        click.echo(text, nl=False)
    return int(outcome.exit_code)


def _report_fingerprints(source: str) -> frozenset[str]:
    from keysentry.findings.read import read_report

    return frozenset(f.fingerprint for f in read_report(source))

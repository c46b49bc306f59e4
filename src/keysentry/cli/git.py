"""The git commands: ``history`` (the audit, or a range for CI) and ``staged`` (pre-commit).

Only click and the shared option helpers are imported here; each command imports
its source when it runs, so ``keysentry staged`` never loads the history machinery.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from keysentry.cli.common import build_request, collect_options, emit, scan_options
from keysentry.errors import ExitCode

if TYPE_CHECKING:
    from keysentry.models import ScanResult
    from keysentry.pipeline import ScanRequest
    from keysentry.sources.gathered import Gathered
    from keysentry.sources.history import HistoryOptions


def register(group: click.Group) -> None:
    group.add_command(history)
    group.add_command(staged)


@click.command()
@click.argument("repo", required=False, default=".", type=click.Path(path_type=Path))
@click.option(
    "--range",
    "range_",
    metavar="BASE..HEAD",
    help="Only what this revision range introduced (CI, pre-push). Keys that "
    "already existed at BASE are not reported.",
)
@click.option("--since", metavar="REV", help="Shorthand for --range REV..HEAD.")
@click.option("--no-messages", is_flag=True, help="Do not scan commit and annotated-tag messages.")
@scan_options
def history(
    repo: Path, range_: str | None, since: str | None, no_messages: bool, **kwargs: Any
) -> int:
    """Scan every object in a repository's history (default: the current one).

    Everything in the object store is read once: all branches, remote-tracking
    branches, tags, stashes, notes, reflogs and unreachable objects, plus commit and
    tag messages. Each location says which commit introduced it, whether it is still
    in HEAD, and how exposed it is: head, branch, pushed, tag, stash, reflog-only or
    unreachable.

    Nothing in the repository is ever run (hooks, filters, pagers, textconv), and a
    partial clone never fetches: missing objects are counted and reported.
    Exit codes: 0 nothing found, 1 findings, 2 usage error (not a repository, a
    bad range), 3 git failed (a corrupt object, git missing)."""
    from keysentry.cli.ci_ranges import ci_job
    from keysentry.sources.history import HistoryOptions

    opts = collect_options(kwargs)
    request = build_request(opts, "history", (str(repo),))
    options = HistoryOptions(
        range=range_, since=since, messages=not no_messages, published_by=ci_job(os.environ)
    )
    result = run_history(request, repo, options)
    code = emit(result, opts)
    corrupt = sum(1 for issue in result.stats.issues if issue.kind == "corrupt-object")
    if corrupt and code == ExitCode.CLEAN:
        # Nothing found, but not everything was read: that is not a clean bill of health.
        click.echo(
            f"keysentry: error: {corrupt} object(s) could not be read (the repository "
            "is corrupt; `git fsck` shows which): the scan is incomplete",
            err=True,
        )
        return ExitCode.INCOMPLETE
    return code


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--all-changes",
    is_flag=True,
    help="Also scan unstaged edits and untracked files that are not ignored.",
)
@click.option(
    "--repo",
    "-C",
    "repo",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The repository (any directory inside its work tree).",
)
@scan_options
def staged(paths: tuple[str, ...], all_changes: bool, repo: Path, **kwargs: Any) -> int:
    """Scan what is staged for the next commit (for pre-commit hooks).

    The index version of each added, copied, modified, renamed or type-changed file
    is scanned (with `git add -p`, the staged part, not the working file), with line
    numbers of the staged version. PATHS, if given, limit the scan to those files.
    Submodules are skipped and said so."""
    opts = collect_options(kwargs)
    request = build_request(opts, "staged", paths or (str(repo),), config_from=repo)
    return emit(run_staged(request, repo, all_changes=all_changes, paths=paths), opts)


# -- the pipeline for the git sources -----------------------------------------------
# Sources only gather located hits; the pipeline's collector makes findings of them.


def run_history(request: ScanRequest, repo: Path, options: HistoryOptions) -> ScanResult:
    """``keysentry history`` as a function: also what ``keysentry ci`` runs per range."""
    from keysentry.pipeline import make_scanner
    from keysentry.sources.attach import exposure_note
    from keysentry.sources.history import collect_history

    started = time.monotonic()
    gathered = collect_history(
        make_scanner(request),
        repo,
        options,
        include_placeholders=request.include_placeholders,
        show_progress=request.show_progress,
    )
    result = _finish(request, gathered, started)
    # Described after the allowlist and the baseline: only the keys still reported.
    note = exposure_note(result.findings)
    if not note:
        return result
    return replace(result, stats=replace(result.stats, notes=(*result.stats.notes, note)))


def run_staged(
    request: ScanRequest, repo: Path, *, all_changes: bool = False, paths: Sequence[str] = ()
) -> ScanResult:
    from keysentry.pipeline import make_scanner, scan_excludes
    from keysentry.sources.staged import collect_staged

    started = time.monotonic()
    gathered = collect_staged(
        make_scanner(request),
        repo,
        all_changes=all_changes,
        paths=paths,
        excludes=scan_excludes(request, request.config),
    )
    return _finish(request, gathered, started)


def _finish(request: ScanRequest, gathered: Gathered, started: float) -> ScanResult:
    from keysentry.pipeline import finish

    return finish(gathered, request, started)

"""The git commands: ``history`` (the audit, or a range for CI) and ``staged`` (pre-commit).

Only click and the shared option helpers are imported here; each command imports
its pipeline function when it runs, so ``keysentry staged`` never loads the history
machinery.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from keysentry.cli.common import collect_options, scan_options
from keysentry.errors import ExitCode
from keysentry.invocation import build_request, emit, fail_closed


def register(group: click.Group) -> None:
    group.add_command(history)
    group.add_command(staged)


@click.command()
@click.argument("repo", required=False, default=".", type=click.Path(path_type=Path))
@click.option(
    "--range",
    "range_",
    metavar="BASE..HEAD",
    help="Only what this revision range introduced (CI, pre-push): BASE..HEAD, A...B, "
    "REV^! (one commit). Keys that "
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
    from keysentry.cli.ci_ranges import check_range_notation, ci_job
    from keysentry.pipeline import run_history
    from keysentry.sources.history import HistoryOptions

    if range_ is not None:
        check_range_notation(range_)
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
    from keysentry.pipeline import scan_staged

    opts = collect_options(kwargs)
    request = build_request(opts, "staged", paths or (str(repo),), config_from=repo)
    result = scan_staged(request, repo, all_changes=all_changes, paths=paths)
    return fail_closed(result, emit(result, opts))

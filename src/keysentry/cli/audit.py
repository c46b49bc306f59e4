"""``keysentry audit``: many repositories in one run, on this machine or a Dask cluster."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from keysentry.cli.common import collect_options, scan_options
from keysentry.console import stdin
from keysentry.errors import ExitCode, UsageError
from keysentry.invocation import ScanOptions, check_outputs, emit
from keysentry.models import ScanResult

DEFAULT_DB = "keysentry-audit.sqlite"


def register(group: click.Group) -> None:
    group.add_command(audit)


def default_clone_dir() -> Path:
    """``$XDG_CACHE_HOME/keysentry/clones``, else ``~/.cache/keysentry/clones``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "keysentry" / "clones"


@click.command()
@click.argument("targets", nargs=-1)
@click.option(
    "--repos-file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Targets, one per line (# comments), or the JSON of `gh repo list ORG --json "
    "url,sshUrl` or GitLab's project list; '-' reads stdin.",
)
@click.option(
    "--clone-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where URLs are mirrored, and fetched again next time "
    "(default: ~/.cache/keysentry/clones).",
)
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes (default: CPUs).")
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    envvar="DASK_SCHEDULER_ADDRESS",
    help="Run on this Dask scheduler (tcp://host:8786) instead of local processes "
    "[env: DASK_SCHEDULER_ADDRESS]; needs keysentry[distributed].",
)
@click.option(
    "--repo-timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Give up on a repository after this long (clone, fetch and scan).",
)
@click.option(
    "--stall-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=300.0,
    show_default=True,
    metavar="SECONDS",
    help="Give up a clone or fetch that receives nothing for this long.",
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_DB,
    show_default=True,
    help="The audit store (SQLite): results per repository; a rerun resumes from it.",
)
@click.option(
    "--rescan", is_flag=True, help="Scan every repository, even if its refs are unchanged."
)
@click.option("--report-only", is_flag=True, help="Render the stored results without scanning.")
@click.option(
    "--max-depth",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="How many directories deep to look for repositories under a directory target.",
)
@click.option("--no-messages", is_flag=True, help="Do not scan commit and annotated-tag messages.")
@scan_options
def audit(
    targets: tuple[str, ...],
    repos_file: str | None,
    clone_dir: Path | None,
    jobs: int | None,
    scheduler: str | None,
    repo_timeout: float | None,
    stall_timeout: float,
    db: Path,
    rescan: bool,
    report_only: bool,
    max_depth: int,
    no_messages: bool,
    **kwargs: Any,
) -> int:
    """Audit many repositories: each gets `keysentry history`'s audit.

    \b
    TARGETS are repositories (work trees or bare), directories holding
    repositories, and clone URLs (https, ssh, git, file), which are mirrored with
    every ref and fetched, not cloned again, on the next run. Results go to the
    --db store as each repository finishes; running the same command again skips
    the repositories whose refs have not changed. Each key is reported once with
    every repository and location it is in, plus a table per repository.

    Exit codes: 0 nothing found, 1 findings, 2 usage error, 3 a repository could
    not be audited (nothing found in the others)."""
    from keysentry.fleet.run import AuditPlan, run_audit
    from keysentry.fleet.run import report_only as stored
    from keysentry.fleet.spec import AuditSettings
    from keysentry.fleet.targets import expand, read_repos_file

    opts = collect_options(kwargs)
    if opts.baseline is not None and not opts.baseline.is_file():
        raise UsageError(f"baseline file not found: {opts.baseline}")
    check_outputs(opts.reports)
    if report_only:
        if targets or repos_file is not None:
            raise UsageError("--report-only renders the store: give no targets")
        result = stored(db, show_secrets=opts.show_secrets)
        return _exit(emit(result, opts), result)
    arguments = list(targets)
    if repos_file is not None:
        arguments += read_repos_file(_read_repos_file(repos_file))
    if not arguments:
        raise UsageError("nothing to audit: give repositories, directories, URLs or --repos-file")
    targets_found, credentials = expand(arguments, max_depth)
    settings = AuditSettings(
        clone_dir=(clone_dir or default_clone_dir()).absolute(),
        config_path=opts.config_path.absolute() if opts.config_path else None,
        rules=tuple(p.absolute() for p in opts.rules),
        include_placeholders=opts.include_placeholders,
        baseline=opts.baseline.absolute() if opts.baseline else None,
        messages=not no_messages,
        timeout=repo_timeout,
        stall_timeout=stall_timeout,
        keep_secrets=opts.validate or opts.show_secrets,
    )
    _check_settings(settings)
    plan = AuditPlan(
        targets=tuple(targets_found),
        settings=settings,
        db=db,
        jobs=jobs or _cpus(),
        scheduler=scheduler or None,
        rescan=rescan,
        validation=_validation(opts),
        show_secrets=opts.show_secrets,
        credentials=credentials,
    )
    from keysentry.cli.fleet_progress import display

    with display(not opts.quiet and _progress_wanted(opts), len(plan.targets)) as listener:
        result = run_audit(plan, listener)
    return _exit(emit(result, opts), result)


def _read_repos_file(source: str) -> str:
    try:
        return stdin.read_text() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read --repos-file {source}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"--repos-file {source} is not UTF-8 text") from None


def _exit(code: int, result: ScanResult) -> int:
    """1 for findings first; else 3 when a repository could not be audited."""
    if code == ExitCode.CLEAN and result.stats.get("repositories_failed"):
        return int(ExitCode.INCOMPLETE)
    return code


def _cpus() -> int:
    from keysentry.fleet.executors import default_jobs

    return default_jobs()


def _progress_wanted(opts: ScanOptions) -> bool:
    from keysentry.console import progress

    return progress.wanted(opts.quiet)


def _check_settings(settings: Any) -> None:
    """Rules and an explicit configuration are checked once here, not once per repository."""
    from keysentry.config import load_file
    from keysentry.detect.rules import load_rules

    if settings.config_path is not None:
        load_file(settings.config_path)
    load_rules(settings.rules)


def _validation(opts: ScanOptions) -> Any:
    if not opts.validate:
        if opts.fail_on == "live":
            raise UsageError("--fail-on live needs --validate")
        return None
    from keysentry.config import load_file
    from keysentry.validate.settings import ValidationSettings

    section = load_file(opts.config_path).validation if opts.config_path else {}
    return ValidationSettings.from_config(section, os.environ, no_cache=opts.no_cache)

"""What one run of a scanning command asked for, and how its answer is written.

The two faces, the command line (:mod:`keysentry.cli`) and the commit hook's entry point
(:mod:`keysentry.hook`), share this module below both: the options of a scan, building
the pipeline's request from them (checked before the scan starts), and emitting the result
(every report of the one scan, the summary, the exit code). Nothing here imports click.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from keysentry.console import progress
from keysentry.errors import ExitCode, UsageError
from keysentry.gcpause import paused
from keysentry.models import UNREAD_KINDS, ScanResult
from keysentry.report.plan import ReportSpec

if TYPE_CHECKING:
    from keysentry.config import Config
    from keysentry.pipeline import ScanRequest
    from keysentry.validate.settings import ValidationSettings


@dataclass(frozen=True, slots=True)
class ScanOptions:
    reports: tuple[ReportSpec, ...]
    """Every report of the one scan, in the order asked (keysentry.report.plan)."""
    config_path: Path | None
    rules: tuple[Path, ...]
    show_secrets: bool
    include_placeholders: bool
    validate: bool
    fail_on: str
    no_cache: bool
    baseline: Path | None
    quiet: bool
    verbose: int


def build_request(
    opts: ScanOptions,
    command: str,
    targets: tuple[str, ...],
    *,
    use_baseline: bool = True,
    config_from: Path | None = None,
    **extra: Any,
) -> ScanRequest:
    """Everything a scan needs, checked before it starts: the output can be written, each
    target's configuration (``config_from``: one repository's for all), rules, baseline."""
    if opts.fail_on == "live" and not opts.validate:
        raise UsageError("--fail-on live needs --validate")
    check_outputs(opts.reports)
    # Imported here, not at the top: `keysentry --help` and the hook start-up stay light.
    from keysentry.config import TargetConfig, resolve_configs
    from keysentry.detect.rules import load_rules
    from keysentry.pipeline import ScanRequest, Scope

    resolved = resolve_configs(opts.config_path, targets, config_from=config_from)
    # One scope (one scanner, one rule set) per configuration file: the files of many
    # directories outside git all share the defaults.
    groups: dict[str, list[TargetConfig]] = {}
    for tc in resolved:
        groups.setdefault(tc.config.source, []).append(tc)
    scopes = []
    for members in groups.values():
        config = members[0].config
        baseline = baseline_path(opts, config) if use_baseline else None
        if baseline is not None:
            from keysentry.filters.baseline import load_baseline

            load_baseline(baseline)  # a malformed baseline fails now, not after a long scan
        scopes.append(
            Scope(
                config=config,
                rules=load_rules([*config.rules, *opts.rules]),
                baseline=baseline,
                include_placeholders=opts.include_placeholders or config.include_placeholders,
                targets=tuple(members),
            )
        )
    validation, notes = _validation(opts, [s.config for s in scopes])
    first = scopes[0]
    return ScanRequest(
        command=command,
        targets=targets,
        config=first.config,
        rules=first.rules,
        include_placeholders=first.include_placeholders,
        show_secrets=opts.show_secrets,
        validation=validation,
        baseline=first.baseline,
        show_progress=progress.wanted(opts.quiet),
        scopes=tuple(scopes),
        notes=notes,
        **extra,
    )


def _validation(
    opts: ScanOptions, configs: list[Config]
) -> tuple[ValidationSettings | None, tuple[str, ...]]:
    """Where found keys are sent is the user's choice, never a scanned repository's: the
    ``[validation]`` table is read only from an explicit ``--config``; else the
    environment (OPENROUTER_BASE_URL) and the defaults apply."""
    if not opts.validate:
        return None, ()
    from keysentry.validate.settings import ValidationSettings

    section = configs[0].validation if opts.config_path is not None else {}
    settings = ValidationSettings.from_config(section, os.environ, no_cache=opts.no_cache)
    if opts.config_path is not None:
        return settings, ()
    notes = tuple(
        f"[validation] in {c.source} ignored: validation settings come only from --config "
        "or the environment, never from a scanned repository's configuration"
        for c in configs
        if c.validation
    )
    return settings, notes


def check_outputs(reports: tuple[ReportSpec, ...]) -> None:
    for report in reports:
        check_output(report.output)


def check_output(path: Path | None) -> None:
    """Fail before the scan, not after it, when the report cannot be written to ``path``."""
    if path is None:
        return
    if not path.parent.is_dir():
        raise UsageError(
            f"cannot write the report to {path}: the directory {path.parent} does not exist"
        )
    existed = path.exists()
    try:
        with path.open("ab"):  # appends nothing; the report replaces the file later
            pass
    except OSError as exc:
        raise UsageError(f"cannot write the report to {path}: {exc.strerror or exc}") from None
    if not existed:
        path.unlink(missing_ok=True)


def baseline_path(opts: ScanOptions, config: Config) -> Path | None:
    return opts.baseline or config.baseline


@paused
def emit(result: ScanResult, opts: ScanOptions) -> int:
    """Render every report of the one result, write each where asked, print the summary
    once, choose the exit code (the same whatever the reports)."""
    from keysentry.report import REPORTERS
    from keysentry.report.text import render_summary
    from keysentry.untrusted import for_display

    # Everything below shows the result: the reports, the summary, the step summary.
    result = for_display(result)
    for spec in opts.reports:
        if spec.format not in REPORTERS:
            raise UsageError(f"the {spec.format} format is not available in this build")
    for spec in opts.reports:
        _write_report(result, spec)
    if any(s.format == "github" for s in opts.reports) and os.environ.get("GITHUB_STEP_SUMMARY"):
        _github_summary(result, Path(os.environ["GITHUB_STEP_SUMMARY"]))
    if not opts.quiet:
        _write(sys.stderr, render_summary(result, verbose=opts.verbose > 0))
    return int(exit_code(result, opts.fail_on))


def _write_report(result: ScanResult, spec: ReportSpec) -> None:
    from keysentry.report import REPORTERS

    to_tty = spec.output is None and sys.stdout.isatty()
    colour = to_tty and spec.format == "text" and not os.environ.get("NO_COLOR")
    report = REPORTERS[spec.format](result, colour)
    if spec.output is not None:
        try:
            spec.output.write_text(report, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {spec.output}: {exc.strerror or exc}") from None
    elif report:
        _write(sys.stdout, report)


def _github_summary(result: ScanResult, path: Path) -> None:
    from keysentry.report.github import append_step_summary

    try:
        append_step_summary(result, path)
    except OSError as exc:  # the report itself is out; a summary is not worth failing for
        _write(
            sys.stderr,
            f"keysentry: warning: cannot write $GITHUB_STEP_SUMMARY ({path}): "
            f"{exc.strerror or exc}\n",
        )


def _write(stream: TextIO, text: str) -> None:
    stream.write(text)
    stream.flush()


def fail_closed(result: ScanResult, code: int) -> int:
    """Exit 3, not 0, when nothing was found but an input could not be read (a staged blob
    missing from the object store, a file that fails to read): what was not read may hold
    a key, and a commit hook that answered "clean" would let it through. The summary lists
    each such input; this says why the answer is not "clean". (``history`` decides for
    itself: a partial clone's missing objects are expected there.)"""
    if code != ExitCode.CLEAN:
        return code
    unread = sum(1 for issue in result.stats.issues if issue.kind in UNREAD_KINDS)
    if not unread:
        return code
    _write(
        sys.stderr,
        f"keysentry: error: {unread} input(s) could not be read (the summary and -v list "
        "them): the scan is incomplete, not clean\n",
    )
    return int(ExitCode.INCOMPLETE)


def exit_code(result: ScanResult, fail_on: str) -> ExitCode:
    real = [f for f in result.findings if not f.placeholder]
    if fail_on == "live":
        real = [f for f in real if f.validation is not None and f.validation.status == "live"]
    return ExitCode.FINDINGS if real else ExitCode.CLEAN

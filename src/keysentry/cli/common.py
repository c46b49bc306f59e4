"""What every scanning command shares: its options, building the request, and emitting.

The commands only parse, call one pipeline function, render and pick the exit code.
Only :func:`scan_options` needs click: the hook entry point (keysentry.hook) builds its
request and emits its report through this module without loading click.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from keysentry import progress
from keysentry.errors import ExitCode, UsageError
from keysentry.gcpause import paused
from keysentry.models import ScanResult

if TYPE_CHECKING:
    from keysentry.config import Config
    from keysentry.pipeline import ScanRequest
    from keysentry.validate.settings import ValidationSettings

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = (
    "text", "json", "jsonl", "sarif", "github", "csv", "junit", "html", "codequality", "rdjson",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ScanOptions:
    format: str
    output: Path | None
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


def scan_options(func: F) -> F:
    """The options shared by scan, history and staged."""
    import click

    options = [
        click.option(
            "--format",
            "format_",
            type=click.Choice(FORMATS),
            default="text",
            show_default=True,
            help="Report format.",
        ),
        click.option(
            "--output",
            "-o",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Write the report to FILE instead of standard output.",
        ),
        click.option(
            "--config",
            "config_path",
            type=click.Path(path_type=Path),
            help="Configuration file for every target (default: each target's repository root"
            " .keysentry.toml, else pyproject.toml).",
        ),
        click.option(
            "--rules",
            "rules",
            multiple=True,
            type=click.Path(path_type=Path),
            help="Extra rule file (repeatable).",
        ),
        click.option(
            "--show-secrets",
            is_flag=True,
            help="Print the keys themselves. Everything is redacted without it.",
        ),
        click.option(
            "--include-placeholders",
            is_flag=True,
            help="List placeholder-shaped keys (at info severity) instead of counting them.",
        ),
        click.option(
            "--validate",
            is_flag=True,
            help="Check each key found against the OpenRouter API (GET /key).",
        ),
        click.option(
            "--fail-on",
            type=click.Choice(["any", "live"]),
            default="any",
            show_default=True,
            help="Exit 1 on any finding, or only on keys confirmed live (needs --validate).",
        ),
        click.option("--no-cache", is_flag=True, help="Do not use the validation cache."),
        click.option(
            "--baseline",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Suppress the findings listed in this baseline file.",
        ),
        click.option("--quiet", "-q", is_flag=True, help="No summary on stderr."),
        click.option(
            "--verbose", "-v", count=True, help="List every skipped and every excluded input."
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def collect_options(kwargs: dict[str, Any]) -> ScanOptions:
    return ScanOptions(
        format=kwargs.pop("format_"),
        output=kwargs.pop("output"),
        config_path=kwargs.pop("config_path"),
        rules=tuple(kwargs.pop("rules")),
        show_secrets=kwargs.pop("show_secrets"),
        include_placeholders=kwargs.pop("include_placeholders"),
        validate=kwargs.pop("validate"),
        fail_on=kwargs.pop("fail_on"),
        no_cache=kwargs.pop("no_cache"),
        baseline=kwargs.pop("baseline"),
        quiet=kwargs.pop("quiet"),
        verbose=kwargs.pop("verbose"),
    )


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
    check_output(opts.output)
    # Imported here, not at the top: `keysentry --help` and the hook start-up stay light.
    from keysentry.config import TargetConfig, resolve_configs
    from keysentry.pipeline import ScanRequest, Scope
    from keysentry.rules import load_rules

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
    """Render the report, write it where asked, print the summary, choose the exit code."""
    from keysentry.report import REPORTERS
    from keysentry.report.text import render_summary
    from keysentry.untrusted import for_display

    # Everything below shows the result: the report, the summary, the step summary.
    result = for_display(result)
    if opts.format not in REPORTERS:
        raise UsageError(f"the {opts.format} format is not available in this build")
    to_tty = opts.output is None and sys.stdout.isatty()
    colour = to_tty and opts.format == "text" and not os.environ.get("NO_COLOR")
    report = REPORTERS[opts.format](result, colour)
    if opts.output is not None:
        try:
            opts.output.write_text(report, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {opts.output}: {exc.strerror or exc}") from None
    elif report:
        _write(sys.stdout, report)
    if opts.format == "github" and os.environ.get("GITHUB_STEP_SUMMARY"):
        _github_summary(result, Path(os.environ["GITHUB_STEP_SUMMARY"]))
    if not opts.quiet:
        _write(sys.stderr, render_summary(result, verbose=opts.verbose > 0))
    return int(exit_code(result, opts.fail_on))


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


def exit_code(result: ScanResult, fail_on: str) -> ExitCode:
    real = [f for f in result.findings if not f.placeholder]
    if fail_on == "live":
        real = [f for f in real if f.validation is not None and f.validation.status == "live"]
    return ExitCode.FINDINGS if real else ExitCode.CLEAN

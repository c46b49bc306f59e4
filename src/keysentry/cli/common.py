"""The options every scanning command shares, as click options, and reading them back.

Building the request and emitting the result live in :mod:`keysentry.invocation`, which
the commit hook's entry point uses too without loading click.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from keysentry.invocation import ScanOptions
from keysentry.report.plan import FORMATS, plan_reports

F = TypeVar("F", bound=Callable[..., Any])


def scan_options(func: F) -> F:
    """The options shared by scan, history and staged."""
    import click

    options = [
        click.option(
            "--format",
            "format_",
            multiple=True,
            metavar="FORMAT[:FILE]",
            help=f"Report format: {', '.join(FORMATS)} (default text). Repeat it for "
            "several reports of one scan; FORMAT:FILE writes that one to FILE.",
        ),
        click.option(
            "--output",
            "-o",
            multiple=True,
            metavar="FILE",
            help="Write the report to FILE instead of standard output ('-'); with several "
            "--format, one --output for each format given without a file, in order.",
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
        reports=plan_reports(kwargs.pop("format_"), kwargs.pop("output")),
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

"""Reporters: pure functions from a ScanResult to text. They only format.

Each format's module is imported when it is used, so the pre-commit path does
not pay for XML or CSV machinery it never needs.
"""

from __future__ import annotations

from collections.abc import Callable

from keysentry.models import ScanResult
from keysentry.report.json_report import render_json, render_jsonl
from keysentry.report.text import render_text

Reporter = Callable[[ScanResult, bool], str]
"""(result, colour) -> the report text."""


def _sarif(result: ScanResult, _colour: bool) -> str:
    from keysentry.report import sarif

    return sarif.render(result)


def _github(result: ScanResult, _colour: bool) -> str:
    from keysentry.report import github

    return github.render(result)


def _csv(result: ScanResult, _colour: bool) -> str:
    from keysentry.report import csv_report

    return csv_report.render(result)


def _junit(result: ScanResult, _colour: bool) -> str:
    from keysentry.report import junit

    return junit.render(result)


def _html(result: ScanResult, _colour: bool) -> str:
    from keysentry.report import html

    return html.render(result)


REPORTERS: dict[str, Reporter] = {
    "text": render_text,
    "json": lambda result, _colour: render_json(result),
    "jsonl": lambda result, _colour: render_jsonl(result),
    "sarif": _sarif,
    "github": _github,
    "csv": _csv,
    "junit": _junit,
    "html": _html,
}

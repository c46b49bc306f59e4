"""Reporters: pure functions from a ScanResult to text. They only format.

Each format's module is imported when it is used, so the pre-commit path does
not pay for JSON, XML or CSV machinery it never needs.
"""

from __future__ import annotations

from collections.abc import Callable

from keysentry.models import ScanResult

Reporter = Callable[[ScanResult, bool], str]
"""(result, colour) -> the report text."""


def _text(result: ScanResult, colour: bool) -> str:
    from keysentry.report.text import render_text

    return render_text(result, colour)


def _json(result: ScanResult, _colour: bool) -> str:
    from keysentry.report.json_report import render_json

    return render_json(result)


def _jsonl(result: ScanResult, _colour: bool) -> str:
    from keysentry.report.json_report import render_jsonl

    return render_jsonl(result)


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


REPORTERS: dict[str, Reporter] = {
    "text": _text,
    "json": _json,
    "jsonl": _jsonl,
    "sarif": _sarif,
    "github": _github,
    "csv": _csv,
    "junit": _junit,
}

"""Reporters: pure functions from a ScanResult to text. They only format.

Each format's module is imported when it is used, so the pre-commit path does
not pay for XML or CSV machinery it never needs. Every reporter in the registry
gets its result through :func:`keysentry.untrusted.for_display`: keys redacted and
names escaped in every field, so no format has to remember which fields are unsafe.
"""

from __future__ import annotations

from collections.abc import Callable

from keysentry.models import ScanResult
from keysentry.untrusted import for_display

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


def _codequality(result: ScanResult, _colour: bool) -> str:
    from keysentry.report import codequality

    return codequality.render(result)


def _rdjson(result: ScanResult, _colour: bool) -> str:
    from keysentry.report import rdjson

    return rdjson.render(result)


def _html(result: ScanResult, _colour: bool) -> str:
    from keysentry.report import html

    return html.render(result)


_FORMATTERS: dict[str, Reporter] = {
    "text": _text,
    "json": _json,
    "jsonl": _jsonl,
    "sarif": _sarif,
    "github": _github,
    "csv": _csv,
    "junit": _junit,
    "html": _html,
    "codequality": _codequality,
    "rdjson": _rdjson,
}


def _shown(reporter: Reporter) -> Reporter:
    return lambda result, colour: reporter(for_display(result), colour)


REPORTERS: dict[str, Reporter] = {name: _shown(r) for name, r in _FORMATTERS.items()}

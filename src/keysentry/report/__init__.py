"""Reporters: pure functions from a ScanResult to text. They only format."""

from __future__ import annotations

from collections.abc import Callable

from keysentry.models import ScanResult
from keysentry.report.json_report import render_json, render_jsonl
from keysentry.report.text import render_text

Reporter = Callable[[ScanResult, bool], str]
"""(result, colour) -> the report text."""

REPORTERS: dict[str, Reporter] = {
    "text": render_text,
    "json": lambda result, _colour: render_json(result),
    "jsonl": lambda result, _colour: render_jsonl(result),
}

"""Run the CLI in-process and read its JSON report; a rule of one's own to run it with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from keysentry.cli import main

HEX_RULE = """\
schema_version = 1

[[rules]]
id = "hex-secret"
description = "a generic 64-hex secret"
severity = "high"
keywords = ["secret"]
regex = 'secret = "(?:sk-or-v1-)?(?P<secret>[0-9a-f]{64})"'
examples = ['secret = "{hex64}"']
negatives = ['secret = "{hex63}"']
"""
"""A rule of one's own for a configuration to name (``rules = ["hex.toml"]``): a 64-hex
secret after ``secret = "``, with or without an OpenRouter key's prefix, so that it
matches inside such a key too."""


def run_json(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "report.json"
    code = main([*args, "--format", "json", "--output", str(out), "--quiet"])
    return code, json.loads(out.read_text()) if out.exists() else {}


def locations(report: dict[str, Any], secret_fp: str) -> list[dict[str, Any]]:
    for finding in report["findings"]:
        if finding["fingerprint"] == secret_fp:
            return list(finding["locations"])
    return []

"""Run the CLI in-process and read its JSON report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from keysentry.cli import main


def run_json(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "report.json"
    code = main([*args, "--format", "json", "--output", str(out), "--quiet"])
    return code, json.loads(out.read_text()) if out.exists() else {}


def locations(report: dict[str, Any], secret_fp: str) -> list[dict[str, Any]]:
    for finding in report["findings"]:
        if finding["fingerprint"] == secret_fp:
            return list(finding["locations"])
    return []

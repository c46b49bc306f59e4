"""JUnit XML: one test case per finding, for CI systems that show test reports.

A finding is a failed test case; a placeholder-shaped key is a skipped one; a scan
without findings has one passing case, so the report is never an empty suite.
Characters that XML 1.0 cannot carry (control bytes from binary files) are
written as ``\\xNN``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from keysentry.models import Finding, ScanResult
from keysentry.report.text import describe_location, describe_validation

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


def render(result: ScanResult) -> str:
    findings = result.findings
    failures = sum(1 for f in findings if not f.placeholder)
    skipped = len(findings) - failures
    tests = max(len(findings), 1)
    suites = ET.Element(
        "testsuites",
        name="keysentry",
        tests=str(tests),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=f"{result.stats.duration_s:.3f}",
    )
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"keysentry {result.command}",
        tests=str(tests),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=f"{result.stats.duration_s:.3f}",
    )
    if result.scope:  # JUnit's place for facts about a suite, before its test cases
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", name="scope", value=clean(result.scope))
    for f in findings:
        _testcase(suite, f, result.show_secrets)
    if not findings:
        ET.SubElement(
            suite,
            "testcase",
            classname=f"keysentry.{result.command}",
            name=clean(f"no leaked keys ({result.scope})") if result.scope else "no leaked keys",
            time="0",
        )
    out = _system_out(result)
    if out:
        ET.SubElement(suite, "system-out").text = clean(out)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, "unicode") + "\n"


def _testcase(suite: ET.Element, f: Finding, show_secrets: bool) -> None:
    shown = f.secret if show_secrets else f.redacted
    first = f.locations[0]
    case = ET.SubElement(
        suite,
        "testcase",
        classname=clean(f"keysentry.{f.rule_id}"),
        name=clean(f"{shown} at {first.display_path}:{first.line}:{first.column}"),
        file=clean(first.path),
        line=str(first.line),
        time="0",
    )
    summary = f"{f.description or f.rule_id}: {shown} (fingerprint {f.fingerprint})"
    lines = [summary, f"severity: {f.severity}"]
    if f.validation is not None:
        lines.append(f"validation: {describe_validation(f.validation)}")
    lines.append(f"{len(f.locations)} location(s):")
    for loc in f.locations:
        lines.append(f"  {describe_location(loc)}")
        if loc.snippet:
            lines.append(f"      {loc.snippet}")
    if f.placeholder:
        ET.SubElement(case, "skipped", message="placeholder-shaped: probably not a real key")
        ET.SubElement(case, "system-out").text = clean("\n".join(lines))
        return
    if f.validation is not None:
        summary += f"; validation: {describe_validation(f.validation)}"
    failure = ET.SubElement(case, "failure", type=clean(f.rule_id), message=clean(summary))
    lines.append(
        "next: treat the key as compromised; disable or delete it (keysentry revoke) "
        "and remove it from the code."
    )
    failure.text = clean("\n".join(lines))


def _system_out(result: ScanResult) -> str:
    lines = list(result.stats.notes)
    counters = result.stats.counters
    if counters:
        lines.append("counters: " + ", ".join(f"{k}={v}" for k, v in counters.items()))
    for issue in result.stats.issues:
        lines.append(
            f"not fully scanned: {issue.kind}: {issue.path}"
            + (f": {issue.detail}" if issue.detail else "")
        )
    return "\n".join(lines)

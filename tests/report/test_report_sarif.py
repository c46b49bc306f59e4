"""SARIF 2.1.0: valid against the OASIS schema and shaped the way GitHub code scanning wants."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import jsonschema
import pytest

import conftest
from keysentry.models import (
    Location,
    ScanResult,
    ScanStats,
    redact,
)
from keysentry.report.sarif import render
from resulthelpers import finding, rich_result

# Vendored, unmodified, with its source and the OASIS notice in tests/data/sarif/README.md, so
# that a plain clone validates against the real schema: these tests never skip.
SCHEMA = conftest.TESTS / "data" / "sarif" / "sarif-schema-2.1.0.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def test_valid_against_the_schema(validator, keys) -> None:
    ks = keys(3)
    doc = json.loads(render(rich_result(ks)))
    validator.validate(doc)
    assert doc["version"] == "2.1.0"
    text = json.dumps(doc)
    for k in ks:
        assert k not in text  # redacted by default, snippets included
        assert redact(k) in text


def test_empty_result_is_valid(validator) -> None:
    doc = json.loads(render(ScanResult("scan", (".",), (), ScanStats())))
    validator.validate(doc)
    assert doc["runs"][0]["results"] == []


def test_github_code_scanning_shape(validator, keys) -> None:
    doc = json.loads(render(rich_result(keys(3))))
    run = doc["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert set(rules) == {"openrouter-api-key", "openrouter-api-key-unknown-version"}
    for rule in rules.values():
        assert rule["help"]["text"] and "Remediation" in rule["help"]["markdown"]
        assert "revoke" in rule["help"]["text"]
        assert float(rule["properties"]["security-severity"]) > 0
        assert "security" in rule["properties"]["tags"]
    assert rules["openrouter-api-key"]["properties"]["security-severity"] == "8.0"
    assert run["automationDetails"]["id"] == "keysentry/history/"
    results = run["results"]
    assert len(results) == 6  # one per location
    for res in results:
        assert run["tool"]["driver"]["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["partialFingerprints"]["keysentryLocation/v1"]
        phys = res["locations"][0]["physicalLocation"]
        uri = phys["artifactLocation"]["uri"]
        assert phys["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        parts = urlsplit(uri)
        assert not parts.scheme and not parts.netloc and not uri.startswith("/"), uri
        assert phys["region"]["startLine"] >= 1 and phys["region"]["startColumn"] >= 1
    # distinct places, distinct alert identities
    assert len({r["partialFingerprints"]["keysentryLocation/v1"] for r in results}) == 6


def test_locations_archive_history_and_messages(keys) -> None:
    ks = keys(3)
    results = json.loads(render(rich_result(ks)))["runs"][0]["results"]
    by_path = {r["properties"]["displayPath"]: r for r in results}

    member = by_path["dist/release.tar.gz!release/pkg.whl!pkg/settings.py"]
    loc = member["locations"][0]
    assert loc["physicalLocation"]["artifactLocation"]["uri"] == "dist/release.tar.gz"
    assert loc["physicalLocation"]["region"] == {"startLine": 1, "startColumn": 1}
    assert "release/pkg.whl!pkg/settings.py, line 2, column 5" in loc["message"]["text"]
    assert member["properties"]["members"] == ["release/pkg.whl", "pkg/settings.py"]
    assert (member["properties"]["memberLine"], member["properties"]["memberColumn"]) == (2, 5)

    old = by_path["config/old.env"]
    assert old["properties"]["commit"]["id"] == "a" * 40
    assert old["properties"]["exposure"] == "pushed" and old["properties"]["inHead"] is False
    assert "no longer in the current tree" in old["locations"][0]["message"]["text"]

    odd = by_path["dir with space/ä:b,c.txt"]
    assert odd["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "dir%20with%20space/%C3%A4%3Ab%2Cc.txt"
    )
    assert "endColumn" not in odd["locations"][0]["physicalLocation"]["region"]  # decoded

    msg = by_path["<commit message>"]
    assert msg["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        ".git/commit/" + "c" * 40
    )
    assert "message of commit" in msg["locations"][0]["message"]["text"]
    assert msg["level"] == "warning"

    plain = by_path["src/app.py"]
    region = plain["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] == 3 and region["startColumn"] == 9
    assert region["endColumn"] == 9 + len(ks[0])
    assert region["snippet"]["text"] == f'KEY = "{redact(ks[0])}"'


def test_validation_outcome_and_placeholder(keys) -> None:
    results = json.loads(render(rich_result(keys(3))))["runs"][0]["results"]
    live = next(r for r in results if r["properties"]["displayPath"] == "src/app.py")
    assert live["level"] == "error"
    assert live["properties"]["validation"]["status"] == "live"
    assert live["properties"]["validation"]["details"]["label"] == "ci"
    assert "LIVE" in live["message"]["text"]
    placeholder = next(r for r in results if r["properties"]["placeholder"])
    assert placeholder["level"] == "note"


def test_partial_fingerprint_ignores_line_and_column(keys) -> None:
    k = keys(1)[0]

    def one(line: int, col: int) -> str:
        result = ScanResult("scan", (), (finding(k, Location("a.py", line, col)),), ScanStats())
        return json.loads(render(result))["runs"][0]["results"][0]["partialFingerprints"]

    assert one(3, 1) == one(40, 7)


def test_show_secrets(validator, keys) -> None:
    ks = keys(3)
    text = render(rich_result(ks, show_secrets=True))
    validator.validate(json.loads(text))
    assert ks[0] in text


def test_notifications_for_issues_and_notes(keys) -> None:
    run = json.loads(render(rich_result(keys(3))))["runs"][0]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert {n["level"] for n in notes} == {"warning", "note"}
    assert any("symlink: link" in n["message"]["text"] for n in notes)
    assert any("origin/main..HEAD" in n["message"]["text"] for n in notes)


def test_absolute_paths_become_file_uris(validator, keys) -> None:
    k = keys(1)[0]
    result = ScanResult("scan", (), (finding(k, Location("/tmp/x y/a.py", 1, 1)),), ScanStats())
    doc = json.loads(render(result))
    validator.validate(doc)
    art = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert art == {"uri": "file:///tmp/x%20y/a.py"}


def test_real_scans_validate(validator, repo, monkeypatch, capsys, keys) -> None:
    """Archive members, a file, history blobs and a commit message, through the CLI."""
    import io
    import zipfile

    from conftest import git
    from keysentry.cli import main

    k_file, k_zip, k_msg = keys(3)
    (repo / "app.env").write_text(f"OPENROUTER_API_KEY={k_file}\n")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("pkg/settings.py", f'\n\nKEY = "{k_zip}"\n')
    (repo / "dist.zip").write_bytes(buf.getvalue())
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"add config\n\nused {k_msg} for testing")
    monkeypatch.chdir(repo)
    for command in (["scan", "."], ["history"]):
        assert main([*command, "--format", "sarif"]) == 1
        doc = json.loads(capsys.readouterr().out)
        validator.validate(doc)
        results = doc["runs"][0]["results"]
        uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
        assert {"app.env", "dist.zip"} <= uris
        member = next(r for r in results if r["properties"].get("members"))
        assert member["properties"]["members"] == ["pkg/settings.py"]
        assert member["properties"]["memberLine"] == 3
        text = json.dumps(doc)
        assert all(k not in text for k in (k_file, k_zip, k_msg))
    message = next(r for r in results if r["properties"]["source"] == "commit-message")
    uri = message["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.startswith(".git/commit/") and message["properties"]["commit"]["id"] in uri

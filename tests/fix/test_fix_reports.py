"""What the reports say about keysentry fix: per location, fixable or by hand, and the
replacement itself (SARIF fixes, rdjson suggestions), never the key."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

import conftest
from conftest import git
from keysentry.cli import main
from keysentry.models import redact

SCHEMA = conftest.TESTS / "data" / "sarif" / "sarif-schema-2.1.0.json"


def _repo(repo: Path, key: str) -> None:
    (repo / "app.py").write_text(f'# Übersicht\nKEY = "{key}"  # naïve\n')
    (repo / "config.json").write_text(f'{{"key": "{key}"}}\n')
    git(repo, "add", "-A")


def report(repo: Path, monkeypatch, *args: str) -> str:
    monkeypatch.chdir(repo)
    out = repo.parent / "report.out"
    code = main([*args, "--output", str(out), "--quiet"])
    assert code == 1
    return out.read_text()


def test_text_report_says_fixable_or_by_hand(repo: Path, key: str, monkeypatch) -> None:
    _repo(repo, key)
    text = report(repo, monkeypatch, "scan", ".")
    assert 'fixable by `keysentry fix`: os.environ["KEY"]' in text
    assert "change by hand: JSON has no variable syntax" in text
    staged = report(repo, monkeypatch, "staged")
    assert 'fixable by `keysentry fix`: os.environ["KEY"]' in staged
    assert key not in text + staged


def test_sarif_fixes_are_valid_and_hold_no_key(repo: Path, key: str, monkeypatch) -> None:
    _repo(repo, key)
    log = json.loads(report(repo, monkeypatch, "scan", ".", "--format", "sarif"))
    jsonschema.validate(log, json.loads(SCHEMA.read_text()))
    results = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r
               for r in log["runs"][0]["results"]}  # fmt: skip
    fixed = results["app.py"]
    assert fixed["properties"]["fixable"] is True
    (change,) = fixed["fixes"][0]["artifactChanges"]
    key_edit, import_edit = change["replacements"]
    assert key_edit["insertedContent"]["text"] == 'os.environ["KEY"]'
    # line 2, the literal after 'KEY = ' (columns in code points, end exclusive)
    assert key_edit["deletedRegion"] == {
        "startLine": 2, "startColumn": 7, "endLine": 2, "endColumn": 7 + len(key) + 2,
    }  # fmt: skip
    assert import_edit["insertedContent"]["text"] == "import os\n"
    assert "fixes" not in results["config.json"]
    assert results["config.json"]["properties"]["fixable"] is False
    assert key not in json.dumps(log)


def test_rdjson_suggestions(repo: Path, key: str, monkeypatch) -> None:
    _repo(repo, key)
    (repo / "naïve.js").write_text(f'const ü = "{key}";\n')
    git(repo, "add", "-A")
    doc = json.loads(report(repo, monkeypatch, "scan", ".", "--format", "rdjson"))
    assert doc["source"]["name"] == "keysentry"
    by_path = {d["location"]["path"]: d for d in doc["diagnostics"]}
    js = by_path["naïve.js"]
    (suggestion,) = js["suggestions"]
    assert suggestion["text"] == "process.env.KEY"  # the same key: the name app.py gave it
    # columns count UTF-8 bytes: 'const ü = ' is 11 bytes, so the literal starts at 12
    assert suggestion["range"] == {
        "start": {"line": 1, "column": 12}, "end": {"line": 1, "column": 12 + len(key) + 2},
    }  # fmt: skip
    assert js["severity"] == "ERROR" and js["code"]["value"] == "openrouter-api-key"
    assert "suggestions" not in by_path["config.json"]
    assert "Change by hand" in by_path["config.json"]["message"]
    assert key not in json.dumps(doc) and redact(key) in json.dumps(doc)


def test_json_report_carries_the_fix(repo: Path, key: str, monkeypatch) -> None:
    _repo(repo, key)
    doc = json.loads(report(repo, monkeypatch, "scan", ".", "--format", "json"))
    fixes = {loc["path"]: loc["fix"] for f in doc["findings"] for loc in f["locations"]}
    assert fixes["app.py"]["fixable"] is True and fixes["app.py"]["variable"] == "KEY"
    assert fixes["config.json"] == {
        "fixable": False, "how": "JSON has no variable syntax", "kind": "json",
        "variable": None, "advice": None, "edits": [],
    }  # fmt: skip


def test_history_says_revoke_and_purge(repo: Path, key: str, monkeypatch) -> None:
    _repo(repo, key)
    git(repo, "commit", "-q", "-m", "leak")
    text = report(repo, monkeypatch, "history", ".")
    assert "change by hand: in git history" in text
    assert "keysentry revoke" in text and "keysentry purge" in text


def test_html_report_per_location(repo: Path, key: str, monkeypatch) -> None:
    _repo(repo, key)
    page = report(repo, monkeypatch, "scan", ".", "--format", "html")
    assert "fixable by <code>keysentry fix</code>: os.environ[&#34;KEY&#34;]" in page
    assert "by hand: JSON has no variable syntax" in page
    assert key not in page


def _locations(repo: Path, monkeypatch, *args: str, stdin: str | None = None) -> list[dict]:
    monkeypatch.chdir(repo)
    if stdin is not None:
        import io
        import sys

        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
    out = repo.parent / "report.json"
    assert main([*args, "--format", "json", "--output", str(out), "--quiet"]) == 1
    doc = json.loads(out.read_text())
    return [loc for f in doc["findings"] for loc in f["locations"]]


def test_standard_input_has_no_fix_verdict(repo: Path, key: str, monkeypatch) -> None:
    (loc,) = _locations(repo, monkeypatch, "scan", "-", stdin=f'KEY = "{key}"\n')
    assert loc["fix"] is None


def test_archive_members_and_encoded_keys_say_why(repo: Path, monkeypatch) -> None:
    import base64
    import io
    import zipfile

    from conftest import make_key

    inner, encoded = make_key(), make_key()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", f'KEY = "{inner}"\n')
    (repo / "bundle.zip").write_bytes(buffer.getvalue())
    (repo / "blob.txt").write_text(base64.b64encode(f"k={encoded}".encode()).decode() + "\n")
    fixes = {loc["path"]: loc["fix"] for loc in _locations(repo, monkeypatch, "scan", ".")}
    assert fixes["bundle.zip"] == {
        "fixable": False, "how": "inside an archive member", "kind": "archive",
        "variable": None, "advice": None, "edits": [],
    }  # fmt: skip
    assert fixes["blob.txt"] == {
        "fixable": False, "how": "encoded (base64)", "kind": "encoded",
        "variable": None, "advice": None, "edits": [],
    }  # fmt: skip


def test_history_verdict(repo: Path, key: str, monkeypatch) -> None:
    (repo / "a.py").write_text(f'KEY = "{key}"\n')
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "leak")
    (loc,) = _locations(repo, monkeypatch, "history", ".")
    assert loc["fix"]["fixable"] is False and loc["fix"]["kind"] == "history"
    assert loc["fix"]["how"].startswith("in git history, which `keysentry fix` does not rewrite")


def test_each_location_of_a_key_gets_its_own_verdict(repo: Path, key: str, monkeypatch) -> None:
    """One key in two files, and twice in one of them: each place is planned."""
    (repo / "a.py").write_text(f'# {key}\nKEY = "{key}"\n')
    (repo / "b.js").write_text(f"const k = '{key}';\n")
    (repo / "c.json").write_text(f'["{key}"]\n')
    locs = _locations(repo, monkeypatch, "scan", ".")
    verdicts = {(loc["path"], loc["line"]): loc["fix"] for loc in locs}
    assert set(verdicts) == {("a.py", 1), ("a.py", 2), ("b.js", 1), ("c.json", 1)}
    assert verdicts[("a.py", 1)]["fixable"] is False
    assert verdicts[("a.py", 2)]["variable"] == "KEY"
    assert verdicts[("b.js", 1)]["variable"] == "KEY"  # one key, one name everywhere
    assert verdicts[("c.json", 1)]["how"] == "JSON has no variable syntax"


def test_a_key_in_a_file_name_is_renamed_by_hand(repo: Path, key: str, monkeypatch) -> None:
    (repo / f"{key}.txt").write_text("nothing here\n")
    (loc,) = _locations(repo, monkeypatch, "scan", ".")
    assert loc["source"] == "file-name"
    assert loc["fix"] == {
        "fixable": False, "kind": "name", "variable": None, "advice": None, "edits": [],
        "how": "in the name of the file or of a directory above it, which `keysentry fix` does"
        " not rename: rename it (`git mv`), and revoke the key if the name was ever committed",
    }  # fmt: skip


def test_a_key_encoded_twice_names_each_decoder(repo: Path, key: str, monkeypatch) -> None:
    import base64

    twice = base64.b64encode(base64.b64encode(f"k={key}".encode())).decode()
    (repo / "blob.txt").write_text(twice + "\n")
    (loc,) = _locations(repo, monkeypatch, "scan", ".")
    assert loc["fix"]["how"] == "encoded (base64 > base64)"


def test_a_key_allowed_where_written_whole_is_not_planned(repo: Path, monkeypatch) -> None:
    """The reports plan only the keys reported at a whole location: a key allowed inline
    where it is written whole, and reported only encoded, takes no variable name (here
    the first) from the key that is moved."""
    import base64

    from conftest import make_key

    allowed, moved = make_key(), make_key()
    blob = base64.b64encode(f"k={allowed}".encode()).decode()
    (repo / "a.py").write_text(
        f'first = "{allowed}"  # keysentry:allow\nsecond = "{moved}"\nBLOB = "{blob}"\n'
    )
    fixes = {loc["line"]: loc["fix"] for loc in _locations(repo, monkeypatch, "scan", ".")}
    assert set(fixes) == {2, 3}
    assert fixes[2]["variable"] == "OPENROUTER_API_KEY"
    assert fixes[3]["how"] == "encoded (base64)"


def test_the_reports_plan_python_with_the_quick_locator(repo: Path, key: str, monkeypatch) -> None:
    """The reports' fix stage runs in the commit hook: Python is located with tree-sitter,
    never with libcst (a quarter of a second to load), whose rewriter is `keysentry fix`'s."""
    from keysentry.rewrite import registry

    def slow(*_args: object) -> None:
        raise AssertionError("the reports ran keysentry fix's libcst rewriter")

    monkeypatch.setitem(registry.REWRITERS, "python", slow)
    (repo / "a.py").write_text(f'KEY = "{key}"\n')
    (loc,) = _locations(repo, monkeypatch, "scan", ".")
    assert loc["fix"]["fixable"] is True and loc["fix"]["variable"] == "KEY"


def test_bytes_not_utf8_count_as_one_column_each(repo: Path, key: str, monkeypatch) -> None:
    """A Latin-1 byte before the literal, and inside it: the JSON report counts it as one
    column (as the code point the decoder stands in for it), rdjson as one byte; the
    replacement keeps it (shown escaped). Blank lines first: lines count from every
    newline, the first byte's too."""
    (repo / "latin.js").write_bytes(
        b'\n\n// caf\xe9\nconst s = /* \xe9 */ "\xe9' + key.encode() + b'";\n'
    )
    git(repo, "add", "-A")
    (loc,) = _locations(repo, monkeypatch, "scan", ".")
    literal = 18 + 1  # 'const s = /* \xe9 */ ' is 18 bytes and characters
    (edit,) = loc["fix"]["edits"]
    assert edit == {
        "start": {"line": 4, "column": literal},
        "end": {"line": 4, "column": literal + len(key) + 3},
        "text": "`\\xe9${process.env.OPENROUTER_API_KEY}`",
    }
    doc = json.loads(report(repo, monkeypatch, "scan", ".", "--format", "rdjson"))
    (suggestion,) = doc["diagnostics"][0]["suggestions"]
    assert suggestion["range"] == {
        "start": {"line": 4, "column": literal}, "end": {"line": 4, "column": literal + len(key) + 3},
    }  # fmt: skip

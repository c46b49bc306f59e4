"""Baselines: file format, matching by fingerprint, stale entries, errors, and the commands."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from keysentry.cli import main
from keysentry.errors import BaselineError, ExitCode
from keysentry.filters.baseline import (
    Baseline,
    BaselineEntry,
    Coverage,
    apply_baseline,
    dump_baseline,
    load_baseline,
    parse_baseline,
    pruned,
    updated,
)
from keysentry.models import Location, fingerprint_of

FP_A, FP_B, FP_C = "a" * 64, "b" * 64, "c" * 64


def test_dump_is_sorted_one_entry_per_line_and_round_trips() -> None:
    entries = [
        BaselineEntry("rule-b", FP_A, "", "x.py:1"),
        BaselineEntry("rule-a", FP_C, "test key", "y.py:2"),
        BaselineEntry("rule-a", FP_B),
    ]
    text = dump_baseline(entries)
    lines = text.splitlines()
    assert lines[0] == "{" and lines[-1] == "}"
    entry_lines = [line for line in lines if line.strip().startswith('{"rule_id"')]
    assert len(entry_lines) == 3  # one entry per line
    assert [json.loads(line.rstrip(","))["fingerprint"] for line in entry_lines] == [
        FP_B, FP_C, FP_A,
    ]  # fmt: skip
    assert "time" not in text and "date" not in text
    assert parse_baseline(text, Path("b.json")).entries == tuple(
        sorted(entries, key=lambda e: e.key)
    )
    assert dump_baseline(reversed(entries)) == text  # order-independent: merges rarely conflict
    assert json.loads(dump_baseline([])) == {"keysentry_baseline": 1, "entries": []}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", "not valid JSON at line 1"),
        ('{\n<<<<<<< HEAD\n"entries": []\n>>>>>>> b\n}', "merge conflict"),
        ("[]", "top level must be a JSON object"),
        ('{"keysentry_baseline": 2, "entries": []}', "must be 1"),
        ('{"entries": []}', "must be 1"),
        ('{"keysentry_baseline": 1, "entries": {}}', "'entries' must be a list"),
        ('{"keysentry_baseline": 1, "entries": [], "x": 1}', "unknown key 'x'"),
        ('{"keysentry_baseline": 1, "entries": [3]}', "entry 1: must be an object"),
        (
            '{"keysentry_baseline": 1, "entries": [{"rule_id": "r", "fingerprint": "ABC"}]}',
            "entry 1: 'fingerprint' must be 64 lowercase hex",
        ),
        (
            f'{{"keysentry_baseline": 1, "entries": [{{"fingerprint": "{FP_A}"}}]}}',
            "entry 1: 'rule_id' must be a non-empty string",
        ),
        (
            f'{{"keysentry_baseline": 1, "entries": [{{"rule_id": "r", "fingerprint": "{FP_A}", '
            '"line": 3}]}',
            "entry 1: unknown key 'line'",
        ),
        (
            f'{{"keysentry_baseline": 1, "entries": [{{"rule_id": "r", "fingerprint": "{FP_A}", '
            '"reason": 5}]}',
            "entry 1: 'reason' must be a string",
        ),
    ],
)
def test_malformed_baselines_name_file_and_problem(text: str, problem: str) -> None:
    with pytest.raises(BaselineError) as err:
        parse_baseline(text, Path("team/.keysentry-baseline.json"))
    message = str(err.value)
    assert "team/.keysentry-baseline.json" in message and problem in message
    assert err.value.exit_code == ExitCode.USAGE


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match=r"not found: .*nope\.json.*baseline create"):
        load_baseline(tmp_path / "nope.json")


def test_duplicates_from_a_merge_are_harmless() -> None:
    line = f'{{"rule_id": "r", "fingerprint": "{FP_A}"}}'
    reason = f'{{"rule_id": "r", "fingerprint": "{FP_A}", "reason": "why"}}'
    text = f'{{"keysentry_baseline": 1, "entries": [{line}, {reason}, {line}]}}'
    assert parse_baseline(text, Path("b")).entries == (BaselineEntry("r", FP_A, "why"),)


def test_update_keeps_reasons_and_prune_drops_unseen() -> None:
    existing = [BaselineEntry("r", FP_A, "old reason", "a.py:1", ("file:a.py",))]
    found = [
        BaselineEntry("r", FP_A, "", "moved.py:9", ("file:moved.py",)),
        BaselineEntry("r", FP_B, "", "b.py:2", ("file:b.py",)),
    ]
    entries, added = updated(existing, found, "new")
    assert added == 1
    assert sorted(entries, key=lambda e: e.key) == [
        # location and reason not churned; where the key is seen now is recorded
        BaselineEntry("r", FP_A, "old reason", "a.py:1", ("file:a.py", "file:moved.py")),
        BaselineEntry("r", FP_B, "new", "b.py:2", ("file:b.py",)),
    ]
    everything = Coverage(roots=("a.py", "moved.py", "b.py"))
    result = pruned(entries, [BaselineEntry("r", FP_B)], everything)
    assert (result.kept, result.removed) == ([entries[1]], 1)


def test_prune_drops_only_what_the_scan_covered() -> None:
    history = BaselineEntry("r", FP_A, "", "<commit message>:1", ("history",))
    both = BaselineEntry("r", FP_B, "", "src/a.py:1", ("file:src/a.py", "history"))
    other = BaselineEntry("r", FP_C, "", "docs/b.md:1", ("file:docs/b.md",))
    legacy = BaselineEntry("r", "d" * 64, "", "x.py:1")
    entries = [history, both, other, legacy]
    result = pruned(entries, [], Coverage(roots=("src",)))
    assert result.kept == [history, replace(both, found_in=("history",)), other, legacy]
    assert (result.removed, result.out_of_scope, result.unrecorded) == (0, 3, 1)
    result = pruned(result.kept, [], Coverage(history=True))
    assert result.kept == [other, legacy] and result.removed == 2
    excluded = Coverage(roots=(".",), excludes=("docs/",))
    assert pruned([other], [], excluded).kept == [other]  # excluded: never read
    assert pruned([other], [], Coverage(roots=(".",))).kept == []
    assert pruned([other], [], Coverage(roots=("docs/b.md",))).kept == []
    assert pruned([other], [], Coverage(roots=("doc",))).kept == [other]  # not a prefix match


def test_apply_matches_rule_and_fingerprint_anywhere(keys) -> None:
    from resulthelpers import finding

    k1, k2 = keys(2)
    f1 = finding(k1, Location("a.py", 1, 1), Location("elsewhere/b.py", 40, 3))
    f2 = finding(k2, Location("c.py", 2, 2))
    baseline = Baseline(
        Path("b.json"),
        (
            BaselineEntry("openrouter-api-key", fingerprint_of(k1)),
            BaselineEntry("other-rule", fingerprint_of(k2)),  # same key, other rule: no match
            BaselineEntry("openrouter-api-key", FP_C),  # stale
        ),
    )
    counters: Counter[str] = Counter()
    kept, stale = apply_baseline([f1, f2], baseline, counters)
    assert kept == (f2,)
    assert counters["baselined"] == 1 and counters["baseline_unseen"] == 2
    assert {e.fingerprint for e in stale} == {fingerprint_of(k2), FP_C}


# -- through the CLI -----------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_create_scan_update_prune(tmp_path, monkeypatch, capsys, keys) -> None:
    monkeypatch.chdir(tmp_path)
    k1, k2 = keys(2)
    (tmp_path / "app.py").write_text(f'KEY = "{k1}"\n')
    code, _, err = run(capsys, "baseline", "create", "--reason", "rotated 2024-05")
    assert code == 0 and "1 entry" in err
    data = json.loads((tmp_path / ".keysentry-baseline.json").read_text())
    assert data["entries"] == [{
        "rule_id": "openrouter-api-key", "fingerprint": fingerprint_of(k1),
        "reason": "rotated 2024-05", "first_location": "app.py:1", "found_in": ["file:app.py"],
    }]  # fmt: skip
    text = (tmp_path / ".keysentry-baseline.json").read_text()
    assert k1 not in text and k1[9:] not in text  # only the hash is stored

    base = ("--baseline", ".keysentry-baseline.json")
    # moved to another file and line: still suppressed
    (tmp_path / "app.py").unlink()
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "settings.py").write_text(f'\n\n\nOTHER = 1; KEY = "{k1}"\n')
    code, out, err = run(capsys, "scan", ".", *base)
    assert code == 0 and out == "" and "1 suppressed by the baseline" in err

    # a new key is still reported; json stats carry the counter
    (tmp_path / "new.env").write_text(f"OPENROUTER_API_KEY={k2}\n")
    code, out, _ = run(capsys, "scan", ".", *base, "--format", "json")
    report = json.loads(out)
    assert code == 1 and [f["fingerprint"] for f in report["findings"]] == [fingerprint_of(k2)]
    assert report["stats"]["counters"]["baselined"] == 1

    code, _, err = run(capsys, "baseline", "update")
    assert code == 0 and "1 added, 1 kept" in err
    assert run(capsys, "scan", ".", *base)[0] == 0

    # remove the first key: the entry is reported as unseen, prune removes it
    (tmp_path / "src" / "settings.py").write_text("OTHER = 1\n")
    code, _, err = run(capsys, "scan", ".", *base)
    assert code == 0 and "1 of 2 entries not seen" in err and "baseline prune" in err
    code, _, err = run(capsys, "baseline", "prune")
    assert code == 0 and "1 removed, 1 kept" in err
    entries = json.loads((tmp_path / ".keysentry-baseline.json").read_text())["entries"]
    assert [e["fingerprint"] for e in entries] == [fingerprint_of(k2)]
    assert entries[0]["reason"] == ""


def test_create_refuses_to_overwrite(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".keysentry-baseline.json").write_text(dump_baseline([]))
    code, _, err = run(capsys, "baseline", "create")
    assert code == ExitCode.USAGE and "exists" in err and "--force" in err
    assert run(capsys, "baseline", "create", "--force")[0] == 0


def test_configured_baseline_is_used(tmp_path, monkeypatch, capsys, key) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".keysentry.toml").write_text('baseline = "ci/accepted.json"\n')
    (tmp_path / "ci").mkdir()
    (tmp_path / "a.txt").write_text(key)
    assert run(capsys, "baseline", "create")[0] == 0
    assert (tmp_path / "ci" / "accepted.json").is_file()
    code, _, err = run(capsys, "scan", "a.txt")
    assert code == 0 and "1 suppressed by the baseline" in err
    # update with the configured baseline in force still sees the suppressed finding
    code, _, err = run(capsys, "baseline", "update")
    assert code == 0 and "0 added, 1 kept" in err


def test_from_report(tmp_path, monkeypatch, capsys, key) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.cfg").write_text(f"key={key}\n")
    code, _, _ = run(capsys, "scan", ".", "--format", "json", "--output", "r.json")
    assert code == 1
    (tmp_path / "x.cfg").unlink()
    code, _, _ = run(capsys, "baseline", "create", "--from-report", "r.json")
    assert code == 0
    entries = json.loads((tmp_path / ".keysentry-baseline.json").read_text())["entries"]
    assert entries[0]["fingerprint"] == fingerprint_of(key)
    assert entries[0]["first_location"] == "x.cfg:1"
    (tmp_path / "bad.json").write_text('{"findings": []}')
    code, _, err = run(capsys, "baseline", "update", "--from-report", "bad.json")
    assert code == ExitCode.USAGE and "not a keysentry JSON report" in err


def test_malformed_baseline_exits_2_before_scanning(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "b.json").write_text('{"keysentry_baseline": 1, "entries": [1]}')
    code, out, err = run(capsys, "scan", ".", "--baseline", "b.json")
    assert code == ExitCode.USAGE and out == ""
    assert "malformed baseline b.json: entry 1" in err
    code, _, err = run(capsys, "scan", ".", "--baseline", "missing.json")
    assert code == ExitCode.USAGE and "baseline file not found: missing.json" in err


def test_prune_after_a_directory_scan_keeps_the_history_entries(
    tmp_path, monkeypatch, capsys, keys
) -> None:
    from conftest import git

    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.chdir(repo)
    git(repo, "init", "-q", "-b", "main")
    gone, current = keys(10), keys(1)[0]
    for i, k in enumerate(gone):
        (repo / f"old{i}.env").write_text(f"K={k}\n")
    (repo / "app.env").write_text(f"K={current}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "keys")
    git(repo, "rm", "-q", *(f"old{i}.env" for i in range(10)))
    git(repo, "commit", "-qm", "remove most")
    code, _, _ = run(capsys, "history", "--format", "json", "--output", str(tmp_path / "h.json"))
    assert code == 1
    assert run(capsys, "baseline", "create", "--from-report", str(tmp_path / "h.json"))[0] == 0
    path = repo / ".keysentry-baseline.json"

    # A directory scan cannot see history: nothing it did not find there is dropped.
    code, _, err = run(capsys, "baseline", "prune")
    assert code == 0 and "0 removed, 11 kept" in err
    assert "10 kept because this scan could not have seen them" in err  # app.env: found
    entries = json.loads(path.read_text())["entries"]
    assert len(entries) == 11 and {tuple(e["found_in"]) for e in entries} == {("history",)}

    # A history audit can: the keys are all still in the history, so all stay.
    code, _, _ = run(capsys, "history", "--format", "json", "--output", str(tmp_path / "h.json"))
    code, _, err = run(capsys, "baseline", "prune", "--from-report", str(tmp_path / "h.json"))
    assert code == 0 and "0 removed, 11 kept" in err
    # A range scans too little to prune anything.
    ranged = tmp_path / "r.json"
    run(capsys, "history", "--since", "HEAD~1", "--format", "json", "--output", str(ranged))
    code, _, err = run(capsys, "baseline", "prune", "--from-report", str(ranged))
    assert code == 0 and "0 removed, 11 kept" in err

    # Files: a scan prunes the entries of the paths it read, and only those.
    (repo / "sub").mkdir()
    (repo / "sub" / "a.env").write_text(f"K={gone[0]}\n")
    (repo / "b.env").write_text(f"K={gone[1]}\n")
    path.unlink()
    assert run(capsys, "baseline", "create", ".")[0] == 0
    (repo / "sub" / "a.env").write_text("K=\n")
    (repo / "b.env").write_text("K=\n")
    code, _, err = run(capsys, "baseline", "prune", "sub")
    assert code == 0 and "1 removed, 2 kept" in err  # b.env was not read: kept
    left = {e["first_location"] for e in json.loads(path.read_text())["entries"]}
    assert left == {"app.env:1", "b.env:1"}

"""keysentry.pipeline: from what the sources gathered to the result that decides "clean"
or "a key": findings of several configurations merged, results of several ranges merged,
every limit of a configuration given to the scanner, what was skipped counted under its
own name, and the time a run took. Through the CLI in-process where it reaches the
behaviour; the pipeline's own functions where it does not."""

from __future__ import annotations

import gzip
import io
import json
import sys
import tarfile
import time
import zipfile
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from conftest import git, make_key
from gitrepo_helpers import commit
from keysentry.config import Config
from keysentry.detect.rules import load_rules
from keysentry.errors import ExitCode
from keysentry.models import Issue, Location, ScanResult, ScanStats, fingerprint_of
from keysentry.pipeline import ScanRequest, merge_findings, merge_results, scan_paths
from resulthelpers import finding
from scanhelpers import HEX_RULE, run_json

ZERO = "0" * 40


def fps(report: dict[str, Any]) -> list[str]:
    return [f["fingerprint"] for f in report["findings"]]


def paths_of(report: dict[str, Any], key: str) -> list[str]:
    (found,) = [f for f in report["findings"] if f["fingerprint"] == fingerprint_of(key)]
    return [loc["path"] for loc in found["locations"]]


def new_repo(path: Path, config: str | None = None) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    if config is not None:
        (path / ".keysentry.toml").write_text(config)
    return path


# -- findings of several configurations ------------------------------------------------------


def test_a_key_under_two_configurations_is_one_finding(tmp_path: Path) -> None:
    """Two repositories, each with its own configuration (two scopes): the key both hold
    is one finding with the locations of both, in order; findings sort by place."""
    shared, only_b, only_a = make_key(), make_key(), make_key()
    a = new_repo(tmp_path / "a", "exclude = []\n")
    b = new_repo(tmp_path / "b")
    (a / "k.txt").write_text(f"{shared}\n")
    (b / "k.txt").write_text(f"{shared}\n")
    (b / "a-first.txt").write_text(f"{only_b}\n")
    (a / "z-last.txt").write_text(f"{only_a}\n")
    code, report = run_json(tmp_path, "scan", str(b), str(a))  # b's scope first
    assert code == ExitCode.FINDINGS
    assert paths_of(report, shared) == [str(a / "k.txt"), str(b / "k.txt")]
    assert fps(report) == [fingerprint_of(k) for k in (shared, only_a, only_b)]
    assert report["stats"]["counters"]["findings"] == 3
    assert report["stats"]["counters"]["files"] == 5  # and a's .keysentry.toml


def test_merge_findings_keeps_rules_apart_and_places_in_order() -> None:
    key = make_key()
    one = finding(key, Location("b.txt", 1, 1), Location("d.txt", 1, 1))
    two = finding(key, Location("a.txt", 1, 1), Location("b.txt", 1, 1))
    other_rule = finding(key, Location("c.txt", 1, 1), rule_id="another-rule")
    merged = merge_findings([(one,), (two, other_rule)])
    assert [(f.rule_id, [loc.path for loc in f.locations]) for f in merged] == [
        ("openrouter-api-key", ["a.txt", "b.txt", "d.txt"]),
        ("another-rule", ["c.txt"]),
    ]
    same_place = finding(key, Location("a.txt", 1, 1), rule_id="a-rule")
    merged = merge_findings([(two,), (same_place,)])
    assert [f.rule_id for f in merged] == ["a-rule", "openrouter-api-key"]


# -- what was skipped, under its own name --------------------------------------------------


def zip_of(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_each_kind_of_issue_is_counted_under_its_name(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    big = b"x" * 5000 + b"\n"
    (tree / "a.zip").write_bytes(zip_of({"one.bin": big, "two.bin": big}))
    (tree / "b.zip").write_bytes(zip_of({"three.bin": big}))
    (tree / "broken.zip").write_bytes(b"PK\x03\x04" + b"\0" * 40)
    config = tmp_path / "caps.toml"
    config.write_text("max_member_bytes = 1024\n")
    code, report = run_json(tmp_path, "scan", str(tree), "--config", str(config))
    assert code == ExitCode.CLEAN  # caps are reported, not failed on
    counters = report["stats"]["counters"]
    kinds = sorted(i["kind"] for i in report["stats"]["issues"])
    assert kinds.count("size-cap") == 3
    assert counters["skipped_size_cap"] == 3
    assert {k: v for k, v in counters.items() if k.startswith("skipped_")} == {
        f"skipped_{kind.replace('-', '_')}": kinds.count(kind) for kind in set(kinds)
    }


def test_excluded_inputs_are_counted_and_name_their_pattern(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "repo", "exclude = ['*.tmp']\n")
    for name in ("a.log", "b.log", "c.tmp", "d.txt"):
        (repo / name).write_text("nothing\n")
    code, report = run_json(tmp_path, "scan", str(repo), "--exclude", "*.log")
    assert code == ExitCode.CLEAN
    assert report["stats"]["counters"]["excluded"] == 3
    assert report["stats"]["counters"]["files"] == 2  # d.txt and .keysentry.toml
    code, report = run_json(tmp_path, "scan", str(repo / "d.txt"))
    assert "excluded" not in report["stats"]["counters"]
    request = replace(
        _request(str(repo), config=Config(exclude=("*.tmp",), source="my.toml")),
        extra_excludes=("*.log",),
    )
    excluded = {Path(i.path).name: i.detail for i in scan_paths(request).stats.excluded}
    assert excluded == {
        "a.log": "--exclude '*.log'",
        "b.log": "--exclude '*.log'",
        "c.tmp": "'*.tmp' in my.toml",
    }


def test_the_time_a_run_took_and_when_it_started(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.txt").write_text("nothing\n" * 10_000)
    before = datetime.now(timezone.utc).replace(microsecond=0)
    started = time.monotonic()
    result = scan_paths(_request(str(tree)))
    took = time.monotonic() - started
    after = datetime.now(timezone.utc)
    assert 0 <= result.stats.duration_s <= round(took, 3) + 0.001
    assert result.stats.duration_s == round(result.stats.duration_s, 3)
    began = datetime.fromisoformat(result.started_at)
    assert before <= began <= after and began.microsecond == 0


def _request(*targets: str, config: Config | None = None) -> ScanRequest:
    return ScanRequest("scan", targets, config or Config(), load_rules())


# -- the limits of a configuration reach the scanner ---------------------------------------


def _nested(key: str) -> bytes:
    return zip_of({"inner.zip": zip_of({"k.env": f"K={key}\n".encode()})})


LIMITS: dict[str, tuple[str, str, Any]] = {
    # setting: (a value that leaves the key unread, the issue that says so, the input)
    "max_depth": ("1", "depth-cap", _nested),
    "max_members": (
        "1",
        "archive-cap",
        lambda key: zip_of({"a.txt": b"a\n", "k.env": f"K={key}\n".encode()}),
    ),
    "max_member_bytes": (
        "1024",
        "size-cap",
        lambda key: zip_of({"k.env": b"#" * 4096 + f"\nK={key}\n".encode()}),
    ),
    "max_decoded_bytes": (
        "1024",
        "size-cap",
        lambda key: gzip.compress(b"#" * 4096 + f"\nK={key}\n".encode()),
    ),
    "max_buffered_bytes": ("100", "size-cap", _nested),
}
"""Written out here, not imported: each entry must fail a test when it is dropped."""


@pytest.mark.parametrize("setting", list(LIMITS))
def test_each_limit_of_the_configuration_is_applied(tmp_path: Path, setting: str) -> None:
    key = make_key()
    value, kind, build = LIMITS[setting]
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "input.bin").write_bytes(build(key))
    code, report = run_json(tmp_path, "scan", str(tree))
    assert code == ExitCode.FINDINGS and fps(report) == [fingerprint_of(key)]  # the default
    config = tmp_path / "limits.toml"
    config.write_text(f"{setting} = {value}\n")
    code, report = run_json(tmp_path, "scan", str(tree), "--config", str(config))
    assert code == ExitCode.CLEAN and fps(report) == [], setting
    assert [i["kind"] for i in report["stats"]["issues"]] == [kind]
    assert f"{value}" in report["stats"]["issues"][0]["detail"]


def test_the_compression_ratio_limit_of_the_configuration(tmp_path: Path) -> None:
    """Past the grace of 256 MiB a stream over the ratio is stopped: 0 turns the check
    off, so the key at the end of 300 MiB of zeros is reached only then."""
    key = make_key()
    tree = tmp_path / "tree"
    tree.mkdir()
    with gzip.open(tree / "zeros.gz", "wb", compresslevel=1) as out:
        chunk = bytes(2**20)
        for _ in range(300):
            out.write(chunk)
        out.write(f"\nK={key}\n".encode())
    code, report = run_json(tmp_path, "scan", str(tree))
    assert code == ExitCode.CLEAN and fps(report) == []
    assert [i["kind"] for i in report["stats"]["issues"]] == ["ratio-cap"]
    config = tmp_path / "limits.toml"
    config.write_text("max_compression_ratio = 0\n")
    code, report = run_json(tmp_path, "scan", str(tree), "--config", str(config))
    assert code == ExitCode.FINDINGS and fps(report) == [fingerprint_of(key)]


def test_the_allow_markers_of_the_configuration(tmp_path: Path) -> None:
    key = make_key()
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.py").write_text(f"K = '{key}'  # reviewed-ok\n")
    code, _ = run_json(tmp_path, "scan", str(tree))
    assert code == ExitCode.FINDINGS
    config = tmp_path / "markers.toml"
    config.write_text('allow_markers = ["reviewed-ok"]\n')
    code, report = run_json(tmp_path, "scan", str(tree), "--config", str(config))
    assert code == ExitCode.CLEAN and report["stats"]["counters"]["allowed_inline"] == 1


def test_history_and_staged_use_the_configuration_limits(tmp_path: Path) -> None:
    key = make_key()
    repo = new_repo(tmp_path / "repo", "max_depth = 1\n")
    commit(repo, {"input.zip": _nested(key)})
    for args in (["history", str(repo)], ["staged", "--repo", str(repo), "--all-changes"]):
        code, report = run_json(tmp_path, *args)
        assert fps(report) == [], args
    (repo / ".keysentry.toml").unlink()
    code, report = run_json(tmp_path, "history", str(repo))
    assert code == ExitCode.FINDINGS and fps(report) == [fingerprint_of(key)]


# -- a request built without scopes (the pipeline used as a library) ------------------------


def test_a_request_without_scopes_reads_the_configuration_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = make_key()
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "doc.md").write_text("K = sk-or-v1-" + "0" * 64 + "\n")  # a placeholder
    (tree / "a.zip").write_bytes(_nested(key))
    result = scan_paths(_request(str(tree)))
    assert [f.fingerprint for f in result.findings] == [fingerprint_of(key)]
    assert result.stats.configs == {str(tree): Config().source}
    placeholders = scan_paths(_request(str(tree), config=Config(include_placeholders=True)))
    assert len(placeholders.findings) == 2
    asked = replace(_request(str(tree)), include_placeholders=True)
    assert len(scan_paths(asked).findings) == 2
    capped = scan_paths(_request(str(tree), config=Config(max_depth=1)))
    assert capped.findings == () and capped.stats.counters["skipped_depth_cap"] == 1


def test_standard_input_belongs_to_the_repository_it_is_read_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = make_key()
    repo = new_repo(tmp_path / "repo")
    (repo / "sub").mkdir()
    monkeypatch.chdir(repo / "sub")
    data = io.BytesIO(f"K={key}\n".encode())
    result = scan_paths(_request("-"), data)
    assert [f.fingerprint for f in result.findings] == [fingerprint_of(key)]
    assert result.findings[0].locations[0].source == "stdin"
    assert result.stats.counters["files"] == 1 and result.stats.counters["bytes"] == len(
        f"K={key}\n"
    )
    nothing = scan_paths(_request("-"))  # no standard input at all: unreadable, said so
    assert [(i.kind, i.path, i.detail) for i in nothing.stats.issues] == [
        ("unreadable", "<stdin>", "standard input is not available")
    ]
    assert "files" not in nothing.stats.counters


# -- results of several ranges --------------------------------------------------------------


def test_ranges_that_find_the_same_key_give_one_finding(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    key = make_key()
    base = commit(repo, {"README": "hi\n"})
    with_key = commit(repo, {"app.py": f"K = '{key}'\n"})
    tip = commit(repo, {"more.txt": "more\n"})
    git(repo, "branch", "side", with_key)
    monkeypatch.chdir(repo)
    lines = [
        f"refs/heads/side {with_key} refs/heads/side {base}",
        f"refs/heads/main {tip} refs/heads/main {base}",
    ]
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(f"{x}\n" for x in lines)))
    code, report = run_json(tmp_path, "ci", "--pre-push", "origin")
    assert code == ExitCode.FINDINGS
    (found,) = report["findings"]
    assert found["fingerprint"] == fingerprint_of(key) and len(found["locations"]) == 1
    stats = report["stats"]
    assert stats["counters"]["commits"] == 3 and stats["counters"]["findings"] == 1
    assert report["targets"] == [str(repo), str(repo)]
    chosen = [n for n in stats["notes"] if n.startswith("commit range chosen: ")]
    assert len(chosen) == 2
    exposure = [n for n in stats["notes"] if n.startswith("exposure of the keys found: ")]
    assert len(exposure) == 1 and stats["notes"][-1] == exposure[0]
    assert main_sarif_scope(tmp_path, lines) == "; ".join(chosen)


def main_sarif_scope(tmp_path: Path, lines: list[str]) -> str:
    from keysentry.cli import main

    out = tmp_path / "ci.sarif"
    sys.stdin = io.StringIO("".join(f"{x}\n" for x in lines))
    main(["ci", "--pre-push", "origin", "--format", "sarif", "-o", str(out), "-q"])
    return str(json.loads(out.read_text())["runs"][0]["properties"]["scope"])


def _result(when: str, *, notes: tuple[str, ...] = (), **kw: Any) -> ScanResult:
    stats = ScanStats(
        counters=kw.pop("counters", {}),
        issues=kw.pop("issues", ()),
        duration_s=kw.pop("duration_s", 0.0),
        notes=notes,
        excluded=kw.pop("excluded", ()),
        configs=kw.pop("configs", {}),
    )
    return ScanResult(
        "ci", kw.pop("targets", ("r",)), kw.pop("findings", ()), stats, started_at=when, **kw
    )


def test_merge_results_keeps_everything_each_range_said() -> None:
    one = _result(
        "2024-01-01T00:00:05+00:00",
        notes=("range one", "exposure of the keys found: 1 old"),
        counters={"commits": 2, "blobs": 1},
        issues=(Issue("unreadable", "a", "x"),),
        excluded=(Issue("excluded", "e1", "p"),),
        configs={"r": "one.toml"},
        duration_s=0.2504,  # summed, then kept to the millisecond as any duration
        targets=("r1",),
        scope="first",
        show_secrets=True,
    )
    two = _result(
        "2024-01-01T00:00:01+00:00",
        notes=("range two",),
        counters={"commits": 3},
        issues=(Issue("size-cap", "b", "y"),),
        excluded=(Issue("excluded", "e2", "p"),),
        configs={"r2": "two.toml"},
        duration_s=0.5,
        targets=("r2",),
        scope="second",
    )
    merged = merge_results([one, two])
    assert merged.started_at == "2024-01-01T00:00:01+00:00"
    assert merged.stats.notes == ("range one", "range two")  # no keys: no exposure note
    assert dict(merged.stats.counters) == {"blobs": 1, "commits": 5, "findings": 0}
    assert [i.path for i in merged.stats.issues] == ["a", "b"]
    assert [i.path for i in merged.stats.excluded] == ["e1", "e2"]
    assert dict(merged.stats.configs) == {"r": "one.toml", "r2": "two.toml"}
    assert merged.stats.duration_s == 0.75
    assert merged.targets == ("r1", "r2") and merged.scope == "first; second"
    assert merged.command == "ci" and merged.show_secrets is True
    assert merge_results([two]) is two


def test_merge_results_describes_the_keys_of_every_range_once() -> None:
    old, new = make_key(), make_key()
    one = _result(
        "t",
        notes=("exposure of the keys found: stale",),
        findings=(finding(old, Location("a.py", 1, 1, exposure="pushed")),),
    )
    two = _result("t", findings=(finding(new, Location("b.py", 1, 1, exposure="head")),))
    merged = merge_results([one, two])
    (note,) = [n for n in merged.stats.notes if n.startswith("exposure of the keys found: ")]
    assert note.startswith("exposure of the keys found: 1 published") and "1 in the current" in note
    assert merged.stats.counters["findings"] == 2


# -- what scan_paths does on its own: scopes, progress, timing -------------------------------


def test_each_target_is_scanned_with_its_own_configuration_and_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two repositories in one scan: the second's rules (a custom rule) and limits
    (max_depth 1) apply to it alone, not the first target's."""
    hex64 = make_key()[-64:]
    keys = {"a": make_key(), "b": make_key()}
    for name, config in (("a", ""), ("b", 'rules = ["hex.toml"]\nmax_depth = 1\n')):
        tree = tmp_path / name
        tree.mkdir()
        git(tree, "init", "-q")
        (tree / ".keysentry.toml").write_text(config)
        (tree / "hex.toml").write_text(HEX_RULE)
        (tree / "notes.txt").write_text(f'secret = "{hex64}"\n')
        (tree / "input.bin").write_bytes(_nested(keys[name]))
    monkeypatch.chdir(tmp_path)
    code, report = run_json(tmp_path, "scan", "a", "b")
    assert code == ExitCode.FINDINGS
    assert sorted(fps(report)) == sorted([fingerprint_of(keys["a"]), fingerprint_of(hex64)])
    assert paths_of(report, hex64) == ["b/notes.txt"]
    assert [(i["kind"], i["path"]) for i in report["stats"]["issues"]] == [
        ("depth-cap", "b/input.bin!inner.zip")
    ]


def test_a_request_without_scopes_takes_the_repository_root_and_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A library call names no scopes: excludes match from the target's repository root
    (not the current directory's), and the request's baseline applies."""
    from keysentry.filters.baseline import entries_for, save_baseline

    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    git(repo, "init", "-q")
    kept, skipped = make_key(), make_key()
    (repo / "sub/secret.txt").write_text(f"K={skipped}\n")
    (repo / "sub/kept.txt").write_text(f"K={kept}\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = Config(exclude=("sub/secret.txt",))
    result = scan_paths(_request(str(repo / "sub"), config=config))
    assert [f.secret for f in result.findings] == [kept]
    baseline = tmp_path / "baseline.json"
    save_baseline(baseline, entries_for(result.findings))
    again = scan_paths(replace(_request(str(repo / "sub"), config=config), baseline=baseline))
    assert again.findings == () and again.stats.counters["baselined"] == 1


def test_the_progress_line_counts_each_input_and_byte_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small files (read whole), a file past the scanner's chunk (read in windows, its key
    at the end still found), a large archive read in part, standard input, and an input
    that cannot be read: each counts one object, and its bytes once."""
    from keysentry.console import progress
    from keysentry.detect.scanner import CHUNK

    bars: list[progress.TerminalProgress] = []

    class Recorded(progress.TerminalProgress):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            bars.append(self)

    monkeypatch.setattr(progress, "TerminalProgress", Recorded)
    key = make_key()
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.txt").write_bytes(b"a\n" * 100)
    (tree / "b.txt").write_bytes(b"b\n" * 3000)
    big = b"#" * CHUNK + f"\nK={key}\n".encode()
    (tree / "big.log").write_bytes(big)
    request = replace(_request(str(tree)), show_progress=True)
    result = scan_paths(request)
    assert [f.secret for f in result.findings] == [key]
    (bar,) = bars
    assert (bar.objects, bar.bytes) == (3, 200 + 6000 + len(big))
    assert result.stats.counters["bytes"] == bar.bytes

    # A large archive read only in part (the members past max_members are not read): the
    # whole file still counts, once.
    bars.clear()
    archive = tmp_path / "archive"
    archive.mkdir()
    with tarfile.open(archive / "t.tar", "w") as tar:
        for name, size in (("a.txt", 100), ("b.bin", CHUNK + 1000)):
            info = tarfile.TarInfo(name)
            info.size = size
            tar.addfile(info, io.BytesIO(b"x" * size))
    capped = scan_paths(
        replace(_request(str(archive), config=Config(max_members=1)), show_progress=True)
    )
    assert [i.kind for i in capped.stats.issues] == ["archive-cap"]
    assert (bars[0].objects, bars[0].bytes) == (1, (archive / "t.tar").stat().st_size)

    bars.clear()
    data = b"x\n" * 500
    scan_paths(replace(_request("-"), show_progress=True), stdin=io.BytesIO(data))
    assert (bars[0].objects, bars[0].bytes) == (1, len(data))
    bars.clear()
    empty = scan_paths(replace(_request("-"), show_progress=True), stdin=io.BytesIO(b""))
    assert (bars[0].objects, bars[0].bytes) == (1, 0) and empty.stats.issues == ()
    bars.clear()
    nothing = scan_paths(replace(_request("-"), show_progress=True))  # no standard input
    assert (bars[0].objects, bars[0].bytes) == (1, 0)
    assert [i.kind for i in nothing.stats.issues] == ["unreadable"]


def test_the_start_is_the_end_less_the_duration(tmp_path: Path) -> None:
    """started_at is derived from the monotonic start: an hour-long run started an hour
    before it ended."""
    from keysentry.pipeline import finish
    from keysentry.sources.gathered import Gathered

    result = finish(Gathered(), _request(str(tmp_path)), time.monotonic() - 3600)
    began = datetime.fromisoformat(result.started_at)
    assert 3600 <= result.stats.duration_s < 3660
    assert abs((datetime.now(timezone.utc) - began).total_seconds() - 3600) < 60

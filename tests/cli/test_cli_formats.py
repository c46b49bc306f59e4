"""Several reports from one scan: ``--format`` repeated, ``FORMAT:FILE`` or one ``--output``
per format. Through ``main([...])`` and a real ``python -I -m keysentry`` process, on every
command that reports scan results. That the scan and its validation ran once is shown by
the fake API's request log: with ``--no-cache``, a second pass would ask again."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import git, make_key
from fake_openrouter import FakeOpenRouter, fake_openrouter_fixture
from gitrepo_helpers import commit
from keysentry import hook
from keysentry.cli import main
from keysentry.errors import ExitCode, UsageError
from keysentry.models import fingerprint_of, redact
from keysentry.report.plan import ReportSpec, plan_reports

fake = fake_openrouter_fixture()
PROBE = "/api/v1/key"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    return root


def _probes(fake: FakeOpenRouter) -> int:
    return len(fake.requests_for(path=PROBE))


def _json_fingerprints(path: Path) -> list[str]:
    return sorted(f["fingerprint"] for f in json.loads(path.read_text())["findings"])


def _sarif_fingerprints(path: Path) -> list[str]:
    (run,) = json.loads(path.read_text())["runs"]
    return sorted({r["properties"]["fingerprint"] for r in run["results"]})


# -- the plan: which report goes where --------------------------------------------------------


def test_the_plan_pairs_outputs_with_the_formats_without_a_file() -> None:
    assert plan_reports((), ()) == (ReportSpec("text", None),)
    assert plan_reports((), ("r.txt",)) == (ReportSpec("text", Path("r.txt")),)
    assert plan_reports(("json",), ("r.json",)) == (ReportSpec("json", Path("r.json")),)
    assert plan_reports(("text", "sarif:s.sarif", "json"), ("-", "j.json")) == (
        ReportSpec("text", None),
        ReportSpec("sarif", Path("s.sarif")),
        ReportSpec("json", Path("j.json")),
    )
    assert plan_reports(("github", "sarif:s.sarif"), ()) == (
        ReportSpec("github", None),
        ReportSpec("sarif", Path("s.sarif")),
    )
    # Split at the first colon only: a Windows path keeps its drive letter.
    assert plan_reports(("sarif:C:\\out\\k.sarif",), ()) == (
        ReportSpec("sarif", Path("C:\\out\\k.sarif")),
    )
    assert plan_reports(("json:-",), ()) == (ReportSpec("json", None),)


@pytest.mark.parametrize(
    ("formats", "outputs", "message"),
    [
        (("text", "json"), (), "text and json would both go to standard output"),
        (("text", "json:-"), (), "would both go to standard output"),
        (("text", "json"), ("-", "-"), "would both go to standard output"),
        # One --output for two formats without a file: which one is meant is a guess.
        (("text", "sarif"), ("k.sarif",), "1 --output for 2 --format without a file"),
        (("sarif:k.sarif",), ("other",), "1 --output for 0 --format without a file"),
        (("yaml:k.yaml",), (), "unknown format 'yaml'"),
        (("k.sarif",), (), "unknown format 'k.sarif'"),
        (("json:",), (), "names no file after the colon"),
        (("json:r", "sarif:r"), (), "json and sarif reports would both be written to r"),
        (("json", "sarif"), ("r", "./r"), "would both be written to"),
    ],
)
def test_the_plan_refuses_what_it_would_have_to_guess(
    formats: tuple[str, ...], outputs: tuple[str, ...], message: str
) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        plan_reports(formats, outputs)


# -- one scan, several reports, through main() ------------------------------------------------


def test_one_scan_and_one_validation_feed_every_report(
    tree: Path,
    tmp_path: Path,
    fake: FakeOpenRouter,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPENROUTER_BASE_URL", fake.base_url)
    live, dead = fake.add_key(), make_key()
    (tree / "a.env").write_text(f"KEY={live}\n")
    (tree / "b.py").write_text(f"KEY = '{dead}'\n")
    out = {name: tmp_path / f"report.{name}" for name in ("sarif", "json", "csv", "html")}
    code = main(
        ["scan", str(tree), "--validate", "--no-cache",
         "--format", "text", "--format", f"sarif:{out['sarif']}",
         "--format", "json", "--output", "-", "--output", str(out["json"]),
         "--format", f"csv:{out['csv']}", "--format", f"html:{out['html']}"]
    )  # fmt: skip
    assert code == ExitCode.FINDINGS
    # Each distinct key was sent once, for five reports: one scan, one validation.
    assert _probes(fake) == 2
    stdout, stderr = capsys.readouterr()
    assert stdout.count("fingerprint ") == 2 and "validation: LIVE" in stdout  # the text
    assert stderr.count("2 finding(s), 1 confirmed live") == 1  # the summary, once
    both = sorted(fingerprint_of(k) for k in (live, dead))
    assert _json_fingerprints(out["json"]) == both == _sarif_fingerprints(out["sarif"])
    rows = list(csv.DictReader(io.StringIO(out["csv"].read_text())))
    assert sorted(r["fingerprint"] for r in rows) == both
    page = out["html"].read_text()
    assert redact(live) in page and redact(dead) in page
    report = json.loads(out["json"].read_text())
    assert {f["validation"]["status"] for f in report["findings"]} == {"live", "invalid"}
    written = stdout + stderr + "".join(p.read_text() for p in out.values())
    assert live not in written and dead not in written


@pytest.mark.parametrize(
    ("files", "args", "expected"),
    [
        ({"a.txt": "nothing here\n"}, (), ExitCode.CLEAN),
        ({"a.env": "KEY={key}\n"}, (), ExitCode.FINDINGS),
        # Not live (the tests' API address is a closed port): --fail-on live passes.
        ({"a.env": "KEY={key}\n"}, ("--validate", "--fail-on", "live"), ExitCode.CLEAN),
    ],
)
def test_the_exit_code_is_that_of_one_format(
    tree: Path, tmp_path: Path, files: dict[str, str], args: tuple[str, ...], expected: int
) -> None:
    key = make_key()
    for name, text in files.items():
        (tree / name).write_text(text.format(key=key))
    one = main(["scan", str(tree), *args, "-q", "--format", "json", "-o", str(tmp_path / "1")])
    many = main(
        ["scan", str(tree), *args, "-q", "--format", f"json:{tmp_path / 'j'}",
         "--format", "sarif", "-o", str(tmp_path / "s"), "--format", f"junit:{tmp_path / 'x'}"]
    )  # fmt: skip
    assert one == many == expected
    assert _json_fingerprints(tmp_path / "1") == _json_fingerprints(tmp_path / "j")


def test_usage_errors_come_before_the_scan(
    tree: Path,
    tmp_path: Path,
    fake: FakeOpenRouter,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPENROUTER_BASE_URL", fake.base_url)
    (tree / "a.env").write_text(f"KEY={fake.add_key()}\n")
    first = tmp_path / "first.json"
    for extra in (
        ["--format", "text", "--format", "github"],  # two reports on stdout
        ["--format", "text", "--format", "sarif", "-o", str(tmp_path / "x.sarif")],
        ["--format", f"json:{first}", "--format", f"sarif:{tmp_path / 'no' / 'x.sarif'}"],
        ["--format", f"json:{first}", "--format", "yaml:x"],
    ):
        assert main(["scan", str(tree), "--validate", *extra]) == ExitCode.USAGE, extra
        err = capsys.readouterr().err
        assert err.startswith("keysentry: error: ") and "Traceback" not in err
    assert _probes(fake) == 0  # nothing was scanned, nothing validated
    assert not first.exists() and not (tmp_path / "x.sarif").exists()
    missing = f"sarif:{tmp_path / 'no' / 'x.sarif'}"
    assert main(["scan", str(tree), "--format", "text", "--format", missing]) == ExitCode.USAGE
    assert "the directory" in capsys.readouterr().err


# -- a real process: stdout, the step summary, stderr ----------------------------------------


def test_a_real_process_writes_annotations_summary_and_files_once(
    tree: Path, tmp_path: Path, fake: FakeOpenRouter
) -> None:
    live = fake.add_key()
    (tree / "app.py").write_text(f"KEY = '{live}'\n")
    summary = tmp_path / "step-summary.md"
    summary.write_text("")
    env = {
        **os.environ,
        "OPENROUTER_BASE_URL": fake.base_url,
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    proc = subprocess.run(
        [sys.executable, "-I", "-m", "keysentry", "scan", ".", "--validate", "--no-cache",
         "--format", "github", "--format", "sarif:k.sarif", "--format", "json:k.json"],
        cwd=tree, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == ExitCode.FINDINGS, proc.stderr
    assert _probes(fake) == 1
    lines = proc.stdout.splitlines()
    assert lines and all(line.startswith("::") for line in lines)  # annotations only
    assert len([x for x in lines if x.startswith("::error file=app.py,line=1")]) == 1
    assert summary.read_text().count("## ") == 1  # the step summary, once
    assert proc.stderr.count("1 finding(s), 1 confirmed live") == 1
    assert _json_fingerprints(tree / "k.json") == [fingerprint_of(live)]
    assert _sarif_fingerprints(tree / "k.sarif") == [fingerprint_of(live)]
    assert live not in proc.stdout + proc.stderr + summary.read_text()
    # Two reports for standard output: exit 2, nothing scanned, the message on stderr.
    proc = subprocess.run(
        [sys.executable, "-I", "-m", "keysentry", "scan", ".", "--validate",
         "--format", "github", "--format", "text"],
        cwd=tree, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == ExitCode.USAGE and proc.stdout == ""
    assert "github and text would both go to standard output" in proc.stderr
    assert _probes(fake) == 1


# -- every command that reports scan results --------------------------------------------------


@pytest.fixture
def history_repo(repo: Path) -> tuple[Path, str]:
    key = make_key()
    commit(repo, {"README": "hello\n"}, "readme")
    commit(repo, {"app.env": f"KEY={key}\n"}, "add settings")
    commit(repo, {"README": "hello again\n"}, "readme")
    return repo, key


def test_history_and_ci(
    history_repo: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, key = history_repo
    j, s = tmp_path / "h.json", tmp_path / "h.sarif"
    args = ["--format", "csv", "-o", "-", "--format", f"json:{j}", "--format", f"sarif:{s}"]
    assert main(["history", str(repo), "-q", *args]) == ExitCode.FINDINGS
    assert _json_fingerprints(j) == _sarif_fingerprints(s) == [fingerprint_of(key)]
    monkeypatch.chdir(repo)
    assert main(["ci", "--range", "HEAD~1..HEAD", "-q", *args]) == ExitCode.CLEAN
    assert _json_fingerprints(j) == _sarif_fingerprints(s) == []
    assert main(["ci", "--range", "HEAD~2..HEAD", "-q", *args]) == ExitCode.FINDINGS
    assert _json_fingerprints(j) == _sarif_fingerprints(s) == [fingerprint_of(key)]
    assert main(["ci", "--range", "HEAD~2..HEAD", "--format", "text", "--format", "github"]) == 2


def test_staged(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = make_key()
    (repo / "app.env").write_text(f"KEY={key}\n")
    git(repo, "add", "app.env")
    j = tmp_path / "s.json"
    code = main(["staged", "-C", str(repo), "--format", "text", "--format", f"json:{j}"])
    assert code == ExitCode.FINDINGS
    out, err = capsys.readouterr()
    assert redact(key) in out and err.count("1 finding(s)") == 1
    assert _json_fingerprints(j) == [fingerprint_of(key)]


def test_audit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = make_key()
    fleet = tmp_path / "fleet"
    for name, files in (("a", {"k.env": f"KEY={key}\n"}), ("b", {"README": "hi\n"})):
        (fleet / name).mkdir(parents=True)
        git(fleet / name, "init", "-q", "-b", "main")
        commit(fleet / name, files, "first")
    (fleet / "broken").mkdir()
    (fleet / "broken" / ".git").write_text("gitdir: /nonexistent\n")
    db = tmp_path / "audit.sqlite"
    j, h = tmp_path / "a.json", tmp_path / "a.html"
    base = ["audit", "--db", str(db), "--clone-dir", str(tmp_path / "clones"), "--jobs", "1"]
    two_on_stdout = [*base, str(fleet), "--format", "text", "--format", "jsonl"]
    assert main(two_on_stdout) == ExitCode.USAGE and not db.exists()  # before any work
    capsys.readouterr()
    code = main([*base, str(fleet), "-q", "--format", "text", "--format", f"json:{j}",
                 "--format", f"html:{h}"])  # fmt: skip
    assert code == ExitCode.FINDINGS
    out = capsys.readouterr().out
    assert "FAILED:" in out and redact(key) in out  # the text table, on stdout
    report = json.loads(j.read_text())
    assert len(report["repositories"]) == 3
    assert [f["fingerprint"] for f in report["findings"]] == [fingerprint_of(key)]
    assert 'id="repositories"' in h.read_text() and redact(key) in h.read_text()
    # Only the failed repository and the clean one: 3 (incomplete), whatever the reports.
    (fleet / "a" / "k.env").unlink()
    rest = [str(fleet / "b"), str(fleet / "broken")]
    assert main([*base, *rest, "-q", "--format", "json", "-o", str(j)]) == ExitCode.INCOMPLETE
    assert (
        main([*base, *rest, "-q", "--format", f"json:{j}", "--format", f"sarif:{h}"])
        == ExitCode.INCOMPLETE
    )
    # --report-only renders the store in several formats too.
    code = main(["audit", "--db", str(db), "--report-only", "-q", "--format", f"json:{j}",
                 "--format", "csv", "--output", str(h)])  # fmt: skip
    assert code == ExitCode.FINDINGS and h.read_text().startswith("rule_id,")


# -- the commit hook: one report, on standard output ------------------------------------------


def test_the_hook_writes_one_report_and_says_so(
    tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tree / "a.env").write_text(f"KEY={make_key()}\n")
    monkeypatch.chdir(tree)
    for args in (["--format", "json", "--format", "text"], ["--format", "json:out.json"]):
        assert hook.main([*args, "a.env"]) == ExitCode.USAGE
        assert "keysentry-hook writes one report" in capsys.readouterr().err
    assert not (tree / "out.json").exists()
    assert hook.main(["--format", "json", "-q", "a.env"]) == ExitCode.FINDINGS
    assert len(json.loads(capsys.readouterr().out)["findings"]) == 1

"""keysentry-hook's own interface: each option in each spelling, its exact messages, the
summary the screen prints, standard input, and what the hook passes on to the pipeline.

Run in process (``keysentry.hook.main``) where only the arguments matter, and as a real
process where standard input or output is the point. tests/hook/test_hook.py covers the
hook's paths through git and the pre-commit framework, and which modules a run loads.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PREFIX, git, make_key
from gitrepo_helpers import commit
from keysentry.console.wording import DEFAULTS_NAME
from keysentry.hook import USAGE, main
from keysentry.models import fingerprint_of
from keysentry.report.plan import FORMATS


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A work tree: a clean file, a file the screen cannot rule out (a needle, no key),
    and a configuration that leaves out the file holding a key."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "clean.txt").write_text("nothing to see\n")
    # An example key: the screen cannot rule it out, the pipeline does not report it.
    (tmp_path / "needle.txt").write_text(f"OPENROUTER_API_KEY={PREFIX}{'ab' * 32}\n")
    (tmp_path / "secret.txt").write_text(f"KEY={make_key()}\n")
    (tmp_path / "ks.toml").write_text('exclude = ["secret.txt"]\n')
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_in_either_spelling(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, flag) == (0, USAGE, "")


def test_the_arguments_given_are_the_ones_used(
    tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """main(argv) reads argv, not the process's command line."""
    monkeypatch.setattr(sys, "argv", ["keysentry-hook", "secret.txt"])
    assert run(capsys, "--help")[0] == 0


_SCANNED = re.compile(r"keysentry scan: scanned 1 input\(s\), \d+ B in (\d+\.\d\d)s")


def test_the_screen_s_summary_line_by_line(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--", "clean.txt")
    assert (code, out) == (0, "")
    assert err.endswith("\n") and not err.endswith("\n\n")
    first, *rest = err.splitlines()
    seconds = _SCANNED.fullmatch(first)
    assert seconds is not None, first
    assert 0 <= float(seconds[1]) < 60  # the time taken, not a clock reading
    assert rest == [f"  configuration: {DEFAULTS_NAME}", "  0 finding(s)"]


@pytest.mark.parametrize("flag", ["-q", "--quiet"])
@pytest.mark.parametrize("target", ["clean.txt", "needle.txt"])
def test_quiet_in_either_spelling_for_the_screen_and_the_pipeline(
    tree: Path, capsys: pytest.CaptureFixture[str], flag: str, target: str
) -> None:
    """clean.txt is answered by the screen, needle.txt by the pipeline: neither says a word."""
    assert run(capsys, flag, "--", target) == (0, "", "")
    assert run(capsys, "--", target)[2] != ""


@pytest.mark.parametrize("spelling", [["--config", "ks.toml"], ["--config=ks.toml"]])
@pytest.mark.parametrize("verbose", [[], ["-v"], ["--verbose"], ["-v", "-v"]])
def test_config_and_verbose_reach_the_pipeline(
    tree: Path, capsys: pytest.CaptureFixture[str], spelling: list[str], verbose: list[str]
) -> None:
    code, out, err = run(capsys, *spelling, *verbose, "--", "secret.txt", "clean.txt")
    assert (code, out) == (0, "")
    assert "  configuration: ks.toml" in err.splitlines()
    if verbose:
        assert "  1 excluded by configuration" in err.splitlines()
        assert any(line.startswith("    excluded: ") and "secret.txt" in line
                   for line in err.splitlines())  # fmt: skip
    else:
        assert "  1 excluded by configuration (-v lists them)" in err.splitlines()
        assert "    excluded:" not in err


@pytest.mark.parametrize("spelling", [["--format", "json"], ["--format=json"]])
def test_format_in_either_spelling(
    tree: Path, capsys: pytest.CaptureFixture[str], spelling: list[str]
) -> None:
    code, out, _ = run(capsys, *spelling, "--", "secret.txt")
    assert code == 1
    report = json.loads(out)
    assert report["command"] == "scan"
    assert len(report["findings"]) == 1


def test_a_placeholder_does_not_stop_the_commit(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tree / "example.md").write_text(f"export OPENROUTER_API_KEY={PREFIX}{'ab' * 32}\n")
    code, out, _ = run(capsys, "--format", "json", "--", "example.md")
    assert code == 0 and json.loads(out)["findings"] == []


_ONE_REPORT = (
    "keysentry: error: keysentry-hook writes one report, to standard output: give --format "
    "once, without a file (`keysentry scan` writes several from one scan)\n"
)


@pytest.mark.parametrize(
    "args",
    [["--format", "json", "--format", "sarif"], ["--format", "json:report.json"],
     ["--format=sarif:out.sarif"]],
)  # fmt: skip
def test_one_report_only(tree: Path, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    assert run(capsys, *args, "--", "secret.txt") == (2, "", _ONE_REPORT)
    assert not (tree / "report.json").exists()


def test_the_usage_errors_word_for_word(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--staged", "clean.txt") == (
        2, "", "keysentry: error: --staged scans the index: give no files with it\n",
    )  # fmt: skip
    assert run(capsys, "--format", "yaml", "--", "needle.txt") == (
        2, "", f"keysentry: error: unknown format 'yaml' (choose from {', '.join(FORMATS)})\n",
    )  # fmt: skip
    assert run(capsys, "--config") == (
        2, "", f"keysentry: error: --config needs a value\n{USAGE}\n",
    )  # fmt: skip
    assert run(capsys, "--bogus") == (
        2,
        "",
        f"keysentry: error: no such option: --bogus\n{USAGE}\n",
    )
    (tree / "-v").write_text("x\n")
    assert run(capsys, "-v", "--", "clean.txt") == (
        2, "", "keysentry: error: '-v' is both an option and a file here: put -- before the "
        "files to scan (in .pre-commit-config.yaml, end the hook's args with --)\n",
    )  # fmt: skip


def _hook(cwd: Path, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-I", "-m", "keysentry.hook", *args], cwd=cwd, input=stdin,
        capture_output=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("before", [[], ["--"]])
def test_standard_input_is_dash_before_double_dash_only(tmp_path: Path, before: list[str]) -> None:
    """``-`` is standard input as an argument, and the file named ``-`` after ``--``."""
    key = make_key()
    if before:
        (tmp_path / "-").write_text("nothing here\n")
    proc = _hook(tmp_path, "--format", "json", *before, "-", stdin=f"K={key}\n".encode())
    report = json.loads(proc.stdout)
    if before:
        assert proc.returncode == 0 and report["findings"] == []
    else:
        assert proc.returncode == 1, proc.stderr
        assert [f["fingerprint"] for f in report["findings"]] == [fingerprint_of(key)]


def test_staged_reads_the_repository_s_configuration(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, {"README.md": "hello\n"}, "first")
    (repo / ".keysentry.toml").write_text('exclude = ["fixtures/"]\n')
    (repo / "fixtures").mkdir()
    (repo / "fixtures" / "k.txt").write_text(f"K={make_key()}\n")
    git(repo, "add", ".")
    proc = _hook(repo, "--staged")
    assert proc.returncode == 0, proc.stderr
    assert b".keysentry.toml\n  1 excluded by configuration" in proc.stderr
    proc = _hook(repo, "--staged", "--format", "json")
    configs = json.loads(proc.stdout)["stats"]["configs"]
    assert list(configs) == ["."] and configs["."].endswith(".keysentry.toml")


def test_a_reader_that_went_away_is_incomplete_not_a_traceback(tree: Path) -> None:
    """Standard output closed before the report is written (a pager quit): exit 3, the
    code keysentry chose, not Python's 120 from its own flush at exit."""
    proc = subprocess.Popen(
        [sys.executable, "-I", "-m", "keysentry.hook", "--format", "json", "--", "secret.txt"],
        cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    try:
        code = proc.wait(timeout=300)
        err = proc.stderr.read()
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stderr.close()
    assert code == 3, err
    assert b"Traceback" not in err and b"Exception ignored" not in err

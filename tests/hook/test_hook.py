"""keysentry-hook: the commit hooks' entry point, run as git and pre-commit run it.

The hook's latency is its start-up, so besides what it reports these tests check
what it imports (``python -X importtime`` lists every module loaded): a module the
job does not need appearing here is the regression the benchmark would only show
as a slower figure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import git
from keysentry.models import redact

# Never needed by a hook run: the full CLI and its parser, the SIMD prefilter (small
# jobs use bytes.find), validation and HTTP, the history machinery, other reporters,
# the archive walkers (no archive staged), GitPython.
NEVER = (
    "click",
    "argparse",
    "hyperscan",
    "requests",
    "urllib3",
    "jinja2",
    "git",
    "rich",
    # The hook is a face of its own: it shares keysentry.invocation with the command line
    # and never reaches into it.
    "keysentry.cli",
    "keysentry.fleet",
    "keysentry.validate",
    "keysentry.sources.history",
    "keysentry.filters.baseline",
    "keysentry.report.sarif",
    "keysentry.report.csv_report",
    "keysentry.report.junit",
    "keysentry.report.github",
    "keysentry.decoders.zip_members",
    "keysentry.decoders.tar_members",
    "keysentry.decoders.streams",
    # keysentry fix's parsers: the fix stage loads one only for a file of its kind with a key.
    "libcst",
    "tree_sitter",
    "nbformat",
    "dotenv",
)


def hook(cwd: Path, *args: str) -> tuple[int, str, str, set[str]]:
    """(exit code, stdout, stderr without the import lines, modules imported)."""
    proc = subprocess.run(
        [sys.executable, "-I", "-X", "importtime", "-m", "keysentry.hook", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "KEYSENTRY_NO_HYPERSCAN"},
        check=False,
        timeout=300,
    )
    modules, other = set(), []
    for line in proc.stderr.splitlines():
        if line.startswith("import time:"):
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                modules.add(name)
        else:
            other.append(line)
    return proc.returncode, proc.stdout, "\n".join(other), modules


def absent(modules: set[str], *extra: str) -> list[str]:
    """The modules of NEVER (and ``extra``), or their submodules, that were imported."""
    banned = (*NEVER, *extra)
    return sorted(m for m in modules if any(m == b or m.startswith(b + ".") for b in banned))


@pytest.fixture
def staged_repo(repo: Path) -> Path:
    (repo / "README.md").write_text("# project\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "initial")
    (repo / "README.md").write_text("# project\n\nmore text\n")
    (repo / "app.py").write_text("print('hello')\n" * 20)
    git(repo, "add", "README.md", "app.py")
    return repo


def test_staged_clean_change_imports_only_what_it_needs(staged_repo: Path) -> None:
    code, out, err, modules = hook(staged_repo, "--staged")
    assert code == 0, err
    assert "keysentry staged: scanned 2 input(s)" in err and "0 finding(s)" in err
    assert out == ""
    # The screen answered (tests/hook/test_screen.py checks it answers as the pipeline would).
    assert "keysentry.detect.screen" in modules and "keysentry.pipeline" not in modules
    assert (
        absent(
            modules,
            "json",
            "pathspec",
            "keysentry.sources",
            "keysentry.decoders.registry",
            "keysentry.fix",
        )
        == []
    )


def test_named_files_clean_imports_only_what_it_needs(staged_repo: Path) -> None:
    code, _out, err, modules = hook(staged_repo, "README.md", "app.py")
    assert code == 0, err
    assert "keysentry scan: scanned 2 input(s)" in err
    assert "keysentry.detect.screen" in modules and "keysentry.pipeline" not in modules
    assert (
        absent(
            modules,
            "json",
            "pathspec",
            "keysentry.sources",
            "keysentry.detect.scanner",
            "keysentry.fix",
        )
        == []
    )


def test_a_staged_key_fails_the_hook_redacted(staged_repo: Path, key: str) -> None:
    (staged_repo / "app.env").write_text(f"OPENROUTER_API_KEY={key}\n")
    git(staged_repo, "add", "app.env")
    code, out, err, modules = hook(staged_repo, "--staged")
    assert code == 1, err
    assert "app.env:1:20" in out and redact(key) in out
    assert "fixable by `keysentry fix`: untrack the env file" in out
    assert key not in out + err
    assert absent(modules, "json", "pathspec") == []
    # the same through the named-files path the pre-commit framework uses
    code, out, err, modules = hook(staged_repo, "app.env", "README.md")
    assert code == 1 and "app.env:1:20" in out and key not in out + err
    assert absent(modules, "json", "pathspec") == []


def test_a_key_in_python_loads_its_grammar_and_no_other_parser(staged_repo: Path, key: str) -> None:
    """The fix stage says what `keysentry fix` would do with tree-sitter's Python grammar
    (milliseconds to load), not libcst (a quarter of a second), and loads no other."""
    (staged_repo / "app.py").write_text(f'OPENROUTER_API_KEY = "{key}"\n')
    git(staged_repo, "add", "app.py")
    code, out, err, modules = hook(staged_repo, "--staged")
    assert code == 1, err
    assert 'fixable by `keysentry fix`: os.environ["OPENROUTER_API_KEY"]' in out
    assert any(m.startswith("tree_sitter_python") for m in modules)
    assert (
        "keysentry.rewrite.python_quick" in modules and "keysentry.rewrite.yamlfiles" not in modules
    )
    allowed = ("tree_sitter", "tree_sitter_python")
    assert [m for m in absent(modules, "pathspec") if m.split(".")[0] not in allowed] == []
    assert not [
        m for m in modules if m.startswith("tree_sitter_") and m.split(".")[0] not in allowed
    ]
    assert "keysentry.rewrite.python" not in modules


def test_json_format_loads_json_and_only_its_reporter(staged_repo: Path, key: str) -> None:
    (staged_repo / "app.env").write_text(f"OPENROUTER_API_KEY={key}\n")
    code, out, err, modules = hook(staged_repo, "--format", "json", "app.env")
    assert code == 1, err
    report = json.loads(out)
    assert report["findings"][0]["redacted"] == redact(key) and key not in out
    assert "json" in modules and "keysentry.report.json_report" in modules
    assert absent(modules) == []


def test_excludes_in_the_repository_config_load_pathspec(staged_repo: Path) -> None:
    (staged_repo / ".keysentry.toml").write_text('exclude = ["fixtures/"]\n')
    code, _out, err, modules = hook(staged_repo, "README.md")
    assert code == 0, err
    assert "pathspec" in modules
    # pathspec 1.x imports hyperscan itself (its own fastest backend): with excludes
    # configured, that cost is pathspec's, and the only thing beyond a plain run.
    assert [m for m in absent(modules, "json") if not m.startswith("hyperscan")] == []


def test_the_repository_config_applies(staged_repo: Path, key: str) -> None:
    (staged_repo / "app.env").write_text(f"OPENROUTER_API_KEY={key}  # project-ok\n")
    assert hook(staged_repo, "app.env")[0] == 1
    (staged_repo / ".keysentry.toml").write_text('allow_markers = ["project-ok"]\n')
    code, _out, err, _modules = hook(staged_repo, "app.env")
    assert code == 0 and "allowed inline" in err.lower().replace("_", " "), err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "name the files to scan, or scan the index with --staged"),
        (("--staged", "a.py"), "--staged scans the index: give no files with it"),
        (("--bogus", "a.py"), "no such option: --bogus"),
        (("--format", "yaml", "a.py"), "unknown format 'yaml'"),
        (("--config",), "--config needs a value"),
        (("missing.py",), "path does not exist: missing.py"),
    ],
)
def test_usage_errors_exit_2_without_a_traceback(
    staged_repo: Path, args: tuple[str, ...], message: str
) -> None:
    code, out, err, _modules = hook(staged_repo, *args)
    assert code == 2 and message in err, err
    assert "Traceback" not in err and out == ""


def test_a_broken_config_exits_2(staged_repo: Path) -> None:
    (staged_repo / ".keysentry.toml").write_text("exclude = [\n")
    code, _out, err, _modules = hook(staged_repo, "--staged")
    assert code == 2 and "not valid TOML" in err and "Traceback" not in err


def test_staged_outside_a_repository_exits_2(tmp_path: Path) -> None:
    code, _out, err, _modules = hook(tmp_path, "--staged")
    assert code == 2 and "Traceback" not in err, err


def test_help(tmp_path: Path) -> None:
    code, out, _err, modules = hook(tmp_path, "--help")
    assert code == 0 and "keysentry-hook --staged" in out
    assert "keysentry.pipeline" not in modules


def test_large_job_still_uses_hyperscan(staged_repo: Path) -> None:
    pytest.importorskip("hyperscan")
    (staged_repo / "big.txt").write_text("x" * 400_000 + "\n")  # beyond the screen's LIMIT
    code, _out, err, modules = hook(staged_repo, "big.txt")
    assert code == 0, err
    assert "hyperscan" in modules


# -- file names that look like options ----------------------------------------------------------

DASH_NAMES = ("-", "-v", "--quiet", "--", "--staged", "-h")


def test_after_double_dash_every_argument_is_a_file(
    staged_repo: Path, keys: Callable[[int], list[str]]
) -> None:
    """The pre-commit framework appends file names after the manifest's `--`: `-` is the
    file named `-` (standard input is not read), `-v` and `--` are files, not options."""
    secrets = dict(zip(DASH_NAMES, keys(len(DASH_NAMES)), strict=True))
    for name, key in secrets.items():
        (staged_repo / name).write_text(f"OPENROUTER_API_KEY={key}\n")
    stdin_key = keys(1)[0]
    proc = subprocess.run(
        [sys.executable, "-m", "keysentry.hook", "--format", "json", "--", *DASH_NAMES],
        cwd=staged_repo, input=f"{stdin_key}\n", capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    found = {loc["path"]: f["redacted"] for f in report["findings"] for loc in f["locations"]}
    assert found == {("./-" if name == "-" else name): redact(key) for name, key in secrets.items()}
    assert redact(stdin_key) not in proc.stdout + proc.stderr
    # clean files with those names: exit 0, each scanned (through the screen)
    for name in DASH_NAMES:
        (staged_repo / name).write_text("nothing here\n")
    code, _out, err, modules = hook(staged_repo, "--", *DASH_NAMES)
    assert code == 0 and f"scanned {len(DASH_NAMES)} input(s)" in err, err
    assert "keysentry.pipeline" not in modules


@pytest.mark.parametrize("name", ["-v", "--quiet", "-", "--staged"])
def test_an_option_that_is_also_a_file_is_refused_not_guessed(
    staged_repo: Path, key: str, name: str
) -> None:
    """Without `--` (a user's `args:` replace the manifest's), `-v` could be the option or
    the file being committed: a guess would skip the file, so the hook exits 2."""
    (staged_repo / name).write_text(f"OPENROUTER_API_KEY={key}\n")
    code, out, err, _modules = hook(staged_repo, "README.md", name)
    assert code == 2 and "is both an option and a file" in err and "--" in err, err
    assert key not in out + err


def test_scan_takes_names_after_double_dash_as_paths(staged_repo: Path, keys) -> None:
    names = [n for n in DASH_NAMES if n != "-"]  # `scan -` reads standard input, documented
    secrets = dict(zip(names, keys(len(names)), strict=True))
    for name, key in secrets.items():
        (staged_repo / name).write_text(f"OPENROUTER_API_KEY={key}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "keysentry", "scan", "--format", "json", "--", *names],
        cwd=staged_repo, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    found = {loc["path"] for f in report["findings"] for loc in f["locations"]}
    assert found == set(names)

"""Mutation testing of the security-critical modules with mutmut.

    python tools/mutate.py                 # every target below
    python tools/mutate.py redaction network
    python tools/mutate.py --list          # the targets, their code and their tests

Each target names the functions that carry a security property and the test files that are
meant to pin it down. mutmut mutates those functions one small change at a time (a ``<`` for
a ``<=``, a dropped argument, a string changed) and runs the mapped tests against each mutant;
a mutant that no test notices "survives" and is printed with its diff. Every run happens in a
throw-away copy of the repository, so the working tree is never touched.

Needs ``pip install -e '.[mutation]'`` (mutmut 3, Linux or macOS: it forks). Exit status: 0 when
no target has a survivor that is not listed in ``EQUIVALENT``, 1 otherwise, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Target:
    files: tuple[str, ...]
    """Source files to mutate, relative to the repository root."""
    functions: tuple[str, ...]
    """fnmatch patterns over mutmut's mangled names (``x_name`` for a function,
    ``xǁClassǁmethod`` for a method): the functions whose mutants count."""
    tests: tuple[str, ...]
    """The targeted test files (or node ids) that must kill them."""


TARGETS: dict[str, Target] = {
    "redaction": Target(
        files=("src/keysentry/models.py",),
        functions=("x_redact", "x_scrub_secrets", "x_fingerprint_of"),
        tests=("tests/report/test_redaction_units.py",),
    ),
    "untrusted": Target(
        files=("src/keysentry/untrusted.py",),
        functions=("x_*",),
        tests=(
            "tests/report/test_untrusted_units.py",
            "tests/report/test_untrusted_fields.py",
            "tests/report/test_odd_names.py",
            "tests/report/test_redaction_units.py",
        ),
    ),
    "snippets": Target(
        files=("src/keysentry/detect/scanner.py",),
        functions=("xǁScannerǁ_snippet", "xǁScannerǁ_secret_spans", "x__masked", "x__printable"),
        tests=(
            "tests/detect/test_snippets.py",
            "tests/detect/test_engine.py",
            "tests/report/test_report_formats.py",
        ),
    ),
    "network": Target(
        files=("src/keysentry/validate/http.py",),
        functions=("x_*", "xǁ*"),
        tests=("tests/validate/test_http_safety.py",),
    ),
    "probe": Target(
        files=("src/keysentry/validate/probe.py",),
        functions=("x_*", "xǁ*"),
        tests=("tests/validate/test_validate_probe.py", "tests/validate/test_validate_batch.py"),
    ),
    "scanner-windows": Target(
        files=("src/keysentry/detect/scanner.py",),
        functions=(
            "xǁScannerǁ_scan_windows",
            "xǁScannerǁ_scan_window",
            "xǁScannerǁ_decode",
            "xǁ_Windowǁline_col",
            "x__chunks",
            "x__chain_chunks",
        ),
        tests=("tests/detect/test_engine.py", "tests/sources/test_scan_files.py"),
    ),
    "pipeline": Target(
        files=("src/keysentry/pipeline.py",),
        functions=("x_finish",),
        tests=(
            "tests/cli/test_cli.py",
            "tests/filters/test_baseline.py",
            "tests/validate/test_validate_cli.py",
            "tests/report/test_report_contract.py",
        ),
    ),
    "ci-ranges": Target(
        files=("src/keysentry/cli/ci_ranges.py",),
        functions=("x_*", "xǁ*"),
        tests=("tests/cli/test_ci_range.py", "tests/sources/test_git_ranges.py"),
    ),
    "gitio": Target(
        files=("src/keysentry/git/run.py",),
        functions=("x_*", "xǁ*"),
        tests=("tests/sources/test_git_hostile.py", "tests/sources/test_git_history.py"),
    ),
    # keysentry fix: one target per module (a target mutates the functions of its first
    # file), each with the tests of the command that exercise it on real repositories.
    "fix-flow": Target(
        files=("src/keysentry/fix/flow.py",),
        functions=("x_*", "xǁ*"),
        tests=(
            "tests/fix/test_fix_flow.py",
            "tests/fix/test_fix_cli.py",
            "tests/fix/test_fix_envfile.py",
            "tests/fix/test_fix_plan.py",
        ),
    ),
    "fix-plan": Target(
        files=("src/keysentry/rewrite/plan.py",),
        functions=("x_*", "xǁ*"),
        tests=(
            "tests/fix/test_fix_plan.py",
            "tests/fix/test_fix_python.py",
            "tests/fix/test_fix_configs.py",
            "tests/fix/test_fix_cli.py",
            "tests/fix/test_fix_files.py",
        ),
    ),
    "fix-edits": Target(
        files=("src/keysentry/rewrite/edits.py",),
        functions=("x_*", "xǁ*"),
        tests=(
            "tests/fix/test_fix_plan.py",
            "tests/fix/test_fix_reports.py",
            "tests/fix/test_fix_python.py",
            "tests/fix/test_fix_javascript.py",
        ),
    ),
    "fix-sites": Target(
        files=("src/keysentry/rewrite/sites.py",),
        functions=("x_*", "xǁ*"),
        tests=(
            "tests/fix/test_fix_plan.py",
            "tests/fix/test_fix_python.py",
            "tests/fix/test_fix_languages.py",
            "tests/fix/test_fix_cli.py",
        ),
    ),
    "fix-names": Target(
        files=("src/keysentry/rewrite/names.py",),
        functions=("x_*", "xǁ*"),
        tests=(
            "tests/fix/test_fix_names.py",
            "tests/fix/test_fix_files.py",
            "tests/fix/test_fix_languages.py",
        ),
    ),
    "fix-envfile": Target(
        files=("src/keysentry/rewrite/envfile.py",),
        functions=("x_*", "xǁ*"),
        tests=(
            "tests/fix/test_fix_envfile.py",
            "tests/fix/test_fix_cli.py",
            "tests/fix/test_fix_files.py",
            "tests/fix/test_fix_flow.py",
        ),
    ),
    "fix-annotate": Target(
        files=("src/keysentry/rewrite/annotate.py",),
        functions=("x_*", "xǁ*"),
        tests=(
            "tests/fix/test_fix_reports.py",
            "tests/fix/test_fix_envfile.py",
            "tests/fix/test_fix_plan.py",
        ),
    ),
    "fix-python": Target(
        files=("src/keysentry/rewrite/python.py",),
        functions=("x_*", "xǁ*"),
        tests=(
            "tests/fix/test_fix_python.py",
            "tests/fix/test_fix_names.py",
            "tests/fix/test_fix_properties.py",
            "tests/fix/test_fix_programs.py",
        ),
    ),
    "fix-python-quick": Target(
        files=("src/keysentry/rewrite/python_quick.py",),
        functions=("x_*", "xǁ*"),
        tests=(
            "tests/fix/test_fix_python.py",
            "tests/fix/test_fix_names.py",
            "tests/fix/test_fix_properties.py",
            "tests/fix/test_fix_programs.py",
        ),
    ),
    "fix-pystrings": Target(
        files=("src/keysentry/rewrite/pystrings.py",),
        functions=("x_*", "xǁ*"),
        tests=(
            "tests/fix/test_fix_python.py",
            "tests/fix/test_fix_names.py",
            "tests/fix/test_fix_properties.py",
        ),
    ),
    "fix-notebook": Target(
        files=("src/keysentry/rewrite/notebook.py",),
        functions=("x_*", "xǁ*"),
        tests=(
            "tests/fix/test_fix_configs.py",
            "tests/fix/test_fix_files.py",
            "tests/fix/test_fix_plan.py",
        ),
    ),
    "fix-javascript": Target(
        files=("src/keysentry/rewrite/javascript.py",),
        functions=("x_*", "xǁ*"),
        tests=(
            "tests/fix/test_fix_javascript.py",
            "tests/fix/test_fix_names.py",
            "tests/fix/test_fix_files.py",
            "tests/fix/test_fix_programs.py",
        ),
    ),
    "fix-languages": Target(
        files=("src/keysentry/rewrite/languages.py",),
        functions=("x_*", "xǁ*"),
        tests=(
            "tests/fix/test_fix_languages.py",
            "tests/fix/test_fix_names.py",
            "tests/fix/test_fix_programs.py",
        ),
    ),
    "fix-yaml": Target(
        files=("src/keysentry/rewrite/yamlfiles.py",),
        functions=("x_*", "xǁ*"),
        tests=("tests/fix/test_fix_configs.py", "tests/fix/test_fix_files.py"),
    ),
    "fix-dockerfile": Target(
        files=("src/keysentry/rewrite/dockerfile.py",),
        functions=("x_*", "xǁ*"),
        tests=(
            "tests/fix/test_fix_configs.py",
            "tests/fix/test_fix_files.py",
            "tests/fix/test_fix_plan.py",
        ),
    ),
}

EQUIVALENT: dict[str, str] = {
    # mutant name -> why no test can tell it from the original. Keep this list short and each
    # reason concrete; a mutant that a test could catch belongs in a test, not here.
    "keysentry.models.x_fingerprint_of__mutmut_4": '"utf-8" -> "UTF-8": the same codec',
    "keysentry.validate.http.x_make_session__mutmut_23": (
        'hostname or "" -> or "XXXX": a URL without a host is no loopback host either way'
    ),
}

_STATUS = re.compile(r"^\s+(?P<name>\S+): (?P<status>[a-z ]+)$")
_COPY = ("src", "tests", "rules", "pyproject.toml", "README.md")


# mutmut traces every call while it maps tests to functions, which makes Hypothesis' input
# generation look slow; fixed examples also make a verdict repeatable. Appended to the copy's
# conftest only.
_HYPOTHESIS_PROFILE = """

from hypothesis import HealthCheck as _HealthCheck
from hypothesis import settings as _settings

_settings.register_profile(
    "mutation", suppress_health_check=list(_HealthCheck), deadline=None, derandomize=True
)
_settings.load_profile("mutation")
"""


def _config(target: Target) -> str:
    def toml_list(items: tuple[str, ...] | list[str]) -> str:
        return "[" + ", ".join(f'"{i}"' for i in items) + "]"

    return (
        "\n[tool.mutmut]\n"
        'source_paths = ["src"]\n'
        f"only_mutate = {toml_list(target.files)}\n"
        f"pytest_add_cli_args_test_selection = {toml_list(target.tests)}\n"
        # One process per mutant already; xdist inside it would only fight for the cores.
        'pytest_add_cli_args = ["-p", "no:xdist", "-p", "no:cacheprovider", "-q"]\n'
        'also_copy = ["rules/", "README.md"]\n'
        "use_git_change_detection = false\n"
    )


def _mangled(mutant: str) -> str:
    """``keysentry.models.x_redact__mutmut_3`` -> ``x_redact``."""
    return mutant.rpartition(".")[2].rpartition("__mutmut_")[0]


def run_target(name: str, target: Target, jobs: int, show: bool) -> tuple[int, int, list[str]]:
    """(mutants tried, killed, survivors) for one target."""
    with tempfile.TemporaryDirectory(prefix=f"keysentry-mutate-{name}-") as tmp:
        work = Path(tmp)
        for item in _COPY:
            src = ROOT / item
            if src.is_dir():
                shutil.copytree(
                    src, work / item, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
                )
            elif src.is_file():
                shutil.copy2(src, work / item)
        with (work / "pyproject.toml").open("a", encoding="utf-8") as fh:
            fh.write(_config(target))
        with (work / "tests" / "conftest.py").open("a", encoding="utf-8") as fh:
            fh.write(_HYPOTHESIS_PROFILE)
        module = target.files[0].removeprefix("src/").removesuffix(".py").replace("/", ".")
        globs = [f"{module}.{pattern}__mutmut_*" for pattern in target.functions]
        mutmut = [sys.executable, "-c", "from mutmut.__main__ import cli; cli()"]
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        proc = subprocess.run(
            [*mutmut, "run", "--max-children", str(jobs), *globs],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
        )
        if proc.returncode not in (0, 1) or "Failed to run clean test" in proc.stdout:
            sys.stdout.write(proc.stdout[-4000:] + proc.stderr[-4000:])
            raise SystemExit(f"mutmut failed for target {name!r} (exit {proc.returncode})")
        listing = subprocess.run(
            [*mutmut, "results", "--all", "true"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        tried = killed = 0
        survivors: list[str] = []
        mine = [
            m
            for m in map(_STATUS.match, listing.splitlines())
            if m and any(fnmatch.fnmatch(_mangled(m["name"]), p) for p in target.functions)
        ]
        if any(m["status"] == "not checked" for m in mine):
            # mutmut stopped before trying them (its clean run of the tests failed, or it was
            # interrupted): that is no verdict on the tests, so say so instead of counting.
            # Mutants of the module's other functions are not this target's and stay unchecked.
            sys.stdout.write(proc.stdout[-3000:] + proc.stderr[-3000:])
            raise SystemExit(f"mutmut did not try every mutant of target {name!r}")
        for m in mine:
            tried += 1
            if m["status"] == "killed":
                killed += 1
            elif m["status"] in ("survived", "no tests", "suspicious", "timeout"):
                if m["status"] == "timeout":
                    killed += 1  # an endless loop is caught: the test run did not pass
                    continue
                if m["name"] not in EQUIVALENT:
                    survivors.append(f"{m['name']} ({m['status']})")
            else:
                survivors.append(f"{m['name']} ({m['status']})")
        if show:
            for entry in survivors:
                diff = subprocess.run(
                    [*mutmut, "show", entry.split()[0]],
                    cwd=work,
                    env=env,
                    capture_output=True,
                    text=True,
                ).stdout
                print(diff)
        return tried, killed, survivors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", help=f"any of: {', '.join(TARGETS)} (default all)")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="parallel mutants (default 2)")
    parser.add_argument("--show", action="store_true", help="print each survivor's diff")
    args = parser.parse_args(argv)
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s): {', '.join(unknown)}")
    if args.list:
        for name, target in TARGETS.items():
            print(f"{name}: {', '.join(target.files)} [{', '.join(target.functions)}]")
            print(f"    tests: {', '.join(target.tests)}")
        return 0
    failed = False
    for name in args.targets or list(TARGETS):
        started = time.monotonic()
        tried, killed, survivors = run_target(name, TARGETS[name], args.jobs, args.show)
        took = time.monotonic() - started
        print(f"{name}: {tried} mutants, {killed} killed, {len(survivors)} survived ({took:.0f} s)")
        for entry in survivors:
            print(f"    survived: {entry}")
        failed = failed or bool(survivors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Mutation testing of the security-critical modules with mutmut.

    python tools/mutate.py --jobs 1 TARGET...     # those targets (all, without names)
    python tools/mutate.py --list                 # the targets, their code and their tests
    python tools/mutate.py --since main --jobs 1  # only the functions changed since main
    python tools/mutate.py --only "x__git" screen # only these functions of a target
    python tools/mutate.py --table --jobs 1 TARGET...  # and rewrite their rows of docs/mutation.md

Each target names the functions that carry a security property and the test files that are
meant to pin it down. mutmut mutates those functions one small change at a time (a ``<`` for
a ``<=``, a dropped argument, a string changed) and runs the mapped tests against each mutant;
a mutant that no test notices "survives" and is printed (with its diff under ``--show``).
Every run happens in a throw-away copy of the repository, so the working tree is never touched.

Tests that run keysentry in a child process (``python -I -m keysentry...``, the commit hook)
see the mutants too: the copy gets a virtual environment of its own whose ``keysentry`` is
mutmut's mutated copy (the dependencies come from the environment running this tool), and
a small stand-in for mutmut's trampoline beside it, which picks the mutant that
``MUTANT_UNDER_TEST`` names in the child, tells mutmut which functions a child ran while it
maps tests to functions, and imports nothing but :mod:`os` (so the hook's import checks
still hold). See ``_SUBPROCESS_TRAMPOLINE``.

``--since REV`` maps the lines changed since REV (the working tree against the commit where
HEAD's history meets REV) to the functions that hold them, and mutates only those of them
that belong to a target: the check to run before submitting a change.

Needs ``pip install -e '.[mutation]'`` (mutmut 3.8, Linux or macOS: it forks). Exit status:
0 when no target has a survivor that is not listed in ``EQUIVALENT``, 1 otherwise, 2 on a
usage error.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import os
import re
import shutil
import site
import subprocess
import sys
import tempfile
import time
import venv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "docs" / "mutation.md"


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
        tests=(
            "tests/validate/test_validate_probe.py",
            "tests/validate/test_probe_answers.py",
            "tests/validate/test_validate_batch.py",
        ),
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
        tests=(
            "tests/detect/test_engine.py",
            "tests/sources/test_scan_files.py",
            "tests/detect/test_scan_windows.py",
            "tests/detect/test_scan_decoding.py",
        ),
    ),
    "pipeline": Target(
        files=("src/keysentry/pipeline.py",),
        # What turns gathered hits into the result that says "clean" or "a key". (The
        # @paused entry points, scan_paths, scan_staged, run_history and run_ci, are
        # decorated: mutmut leaves decorated functions alone.)
        functions=(
            "x_finish",
            "x_finish_scopes",
            "x_merge_findings",
            "x_merge_results",
            "x__scan_one",
            "x__collect",
            "x_make_scanner",
            "x_scan_excludes",
            "xǁScanRequestǁall_scopes",
        ),
        tests=(
            "tests/test_pipeline.py",
            "tests/test_config.py",
            "tests/sources/test_scan_counts.py",
            "tests/cli/test_cli.py",
            "tests/filters/test_baseline.py",
            "tests/validate/test_validate_cli.py",
            "tests/report/test_report_contract.py",
        ),
    ),
    "ci-ranges": Target(
        files=("src/keysentry/cli/ci_ranges.py",),
        functions=("x_*", "xǁ*"),
        tests=(
            "tests/cli/test_ci_range_reasons.py",
            "tests/cli/test_ci_range.py",
            "tests/sources/test_git_ranges.py",
        ),
    ),
    "gitio": Target(
        files=("src/keysentry/git/run.py",),
        functions=("x_*", "xǁ*"),
        tests=(
            "tests/git/test_git_run.py",
            "tests/sources/test_git_hostile.py",
            "tests/sources/test_git_history.py",
            "tests/hook/test_git_hook_env.py",
        ),
    ),
    "fleet-state": Target(
        files=("src/keysentry/fleet/state.py",),
        functions=("x_*",),
        tests=(
            "tests/fleet/test_fleet_state.py",
            "tests/fleet/test_fleet_salt.py",
            "tests/fleet/test_audit_resume_state.py",
        ),
    ),
    "purge-verify": Target(
        files=("src/keysentry/purge/verify.py",),
        functions=("x_*", "xǁ*"),
        tests=(
            "tests/purge/test_purge_verify.py",
            "tests/purge/test_purge_search.py",
            "tests/purge/test_purge_names.py::test_the_check_reads_what_the_scanner_does_not",
            "tests/purge/test_purge_names.py::test_a_leftover_only_the_literal_search_sees",
        ),
    ),
    "screen": Target(
        files=("src/keysentry/detect/screen.py",),
        functions=("x_*", "xǁ*"),
        tests=("tests/hook/test_screen.py",),
    ),
    "hook": Target(
        files=("src/keysentry/hook.py",),
        functions=("x_*",),
        tests=(
            "tests/hook/test_hook.py",
            "tests/hook/test_hook_options.py",
            "tests/hook/test_git_hook_env.py",
            "tests/console/test_stdin_interrupt.py",
        ),
    ),
    "git-command": Target(
        files=("src/keysentry/git/command.py",),
        functions=("x_*",),
        tests=(
            "tests/git/test_command_hardening.py",
            "tests/git/test_command_env.py",
            "tests/sources/test_git_hostile.py",
            "tests/hook/test_git_hook_env.py",
        ),
    ),
    "magic": Target(
        files=("src/keysentry/decoders/magic.py",),
        functions=("x_is_container", "x_detect", "x_tar_header_checks_out", "x_is_pdf"),
        tests=("tests/decoders/test_decoders_archives.py", "tests/hook/test_screen.py"),
    ),
    # keysentry fix: one target per module (a target mutates the functions of its first
    # file), each with the tests of the command that exercise it on real repositories.
    "fix-flow": Target(
        files=("src/keysentry/fix/flow.py",),
        functions=("x_*", "xǁ*"),
        tests=(
            "tests/fix/test_fix_flow.py",
            "tests/fix/test_fix_left.py",
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
            "tests/sources/test_git_hostile.py::test_a_fifo_gitignore_is_said_not_waited_on",
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
    "keysentry.decoders.magic.x_tar_header_checks_out__mutmut_43": (
        "head[:148] -> head[:149] in the signed sum: byte 148 is the checksum field's first,"
        " a digit, space or NUL by then (checked above), never over 127"
    ),
    # hook
    "keysentry.hook.x__run__mutmut_1": (
        "staged = quiet = None: both are only tested for truth, and None is false"
    ),
    "keysentry.hook.x__run__mutmut_44": (
        "verbose = 1 for each -v: the summary asks only verbose > 0"
    ),
    "keysentry.hook.x__run__mutmut_46": ("verbose += 2: the summary asks only verbose > 0"),
    "keysentry.hook.x__scan__mutmut_22": ("show_secrets=None: only tested for truth"),
    "keysentry.hook.x__scan__mutmut_23": ("include_placeholders=None: only tested for truth"),
    "keysentry.hook.x__scan__mutmut_24": ("validate=None: only tested for truth"),
    "keysentry.hook.x__scan__mutmut_25": (
        'fail_on=None: exit_code asks only fail_on == "live"; anything else is "any"'
    ),
    "keysentry.hook.x__scan__mutmut_26": (
        "no_cache=None: only tested for truth, and the cache serves validation, which the "
        "hook never does"
    ),
    "keysentry.hook.x__scan__mutmut_50": ('fail_on="XXanyXX": as for x__scan__mutmut_25'),
    "keysentry.hook.x__scan__mutmut_51": ('fail_on="ANY": as for x__scan__mutmut_25'),
    "keysentry.hook.x__scan__mutmut_52": (
        "no_cache=True: the cache serves validation, which the hook never does"
    ),
    "keysentry.hook.x__scan__mutmut_81": (
        'stdin = "": scan_paths reads stdin only for the target "-", which this branch does '
        "not have"
    ),
    # git-command
    "keysentry.git.command.x_git_env__mutmut_17": (
        "LANG dropped: LC_ALL=C overrides LANG in every category"
    ),
    "keysentry.git.command.x_git_env__mutmut_20": (
        "PAGER dropped: git reads PAGER only when GIT_PAGER is unset, and git_env sets it"
    ),
    "keysentry.git.command.x_git_env__mutmut_25": (
        "SSH_ASKPASS dropped: git asks GIT_ASKPASS (set) first, and ssh never runs "
        "(GIT_SSH_COMMAND=false)"
    ),
    "keysentry.git.command.x_git_env__mutmut_28": (
        'LANG="XXCXX": no such locale, so the C locale, and LC_ALL=C overrides it anyway'
    ),
    "keysentry.git.command.x_git_env__mutmut_29": ('LANG="c": as for x_git_env__mutmut_28'),
    "keysentry.git.command.x_git_env__mutmut_30": (
        'LC_ALL="XXCXX": no such locale: setlocale falls back to C'
    ),
    "keysentry.git.command.x_git_env__mutmut_31": (
        'LC_ALL="c": no such locale name (it is "C"): setlocale falls back to C'
    ),
    "keysentry.git.command.x_git_env__mutmut_32": (
        'GIT_PAGER="XXcatXX": no such program: git says it cannot run it and writes to the '
        "terminal itself, as cat would"
    ),
    "keysentry.git.command.x_git_env__mutmut_33": ('GIT_PAGER="CAT": as for x_git_env__mutmut_32'),
    "keysentry.git.command.x_git_env__mutmut_34": (
        'PAGER="XXcatXX": git reads PAGER only when GIT_PAGER is unset'
    ),
    "keysentry.git.command.x_git_env__mutmut_35": ('PAGER="CAT": as for x_git_env__mutmut_34'),
    "keysentry.git.command.x_git_env__mutmut_36": (
        'GIT_TERMINAL_PROMPT="XX0XX": git refuses a variable that is not a boolean ("bad '
        'boolean"): it fails without prompting'
    ),
    "keysentry.git.command.x_git_env__mutmut_38": (
        'GIT_NO_LAZY_FETCH="XX1XX": git refuses a variable that is not a boolean: it fails '
        "without fetching"
    ),
    "keysentry.git.command.x_git_env__mutmut_39": (
        'GIT_ASKPASS="XXfalseXX": no such program: the question fails as with false'
    ),
    "keysentry.git.command.x_git_env__mutmut_40": (
        'GIT_ASKPASS="FALSE": as for x_git_env__mutmut_39'
    ),
    "keysentry.git.command.x_git_env__mutmut_41": (
        'SSH_ASKPASS="XXfalseXX": git asks GIT_ASKPASS first; ssh never runs'
    ),
    "keysentry.git.command.x_git_env__mutmut_42": (
        'SSH_ASKPASS="FALSE": as for x_git_env__mutmut_41'
    ),
    "keysentry.git.command.x_git_env__mutmut_43": (
        'GIT_SSH_COMMAND="XXfalseXX": no such program: the connection fails as with false'
    ),
    "keysentry.git.command.x_git_env__mutmut_44": (
        'GIT_SSH_COMMAND="FALSE": as for x_git_env__mutmut_43'
    ),
    "keysentry.git.command.x_git_env__mutmut_45": (
        'GIT_NO_REPLACE_OBJECTS="XX1XX": git only asks whether the variable is set'
    ),
    "keysentry.git.command.x__dot_git__mutmut_4": (
        'join(".git") without the directory: hook_env asks only about the current directory, '
        "where the two name the same file"
    ),
    "keysentry.git.command.x__dot_git__mutmut_19": (
        "split without a limit: the first line is the same"
    ),
    "keysentry.git.command.x__dot_git__mutmut_20": (
        "rsplit: differs only for a .git file of several lines, which git rejects (it takes "
        "all of it as the path)"
    ),
    "keysentry.git.command.x__dot_git__mutmut_21": (
        "read(None): the first line is the same (a .git file is one line)"
    ),
    "keysentry.git.command.x__dot_git__mutmut_22": ("read(4097): as for x__dot_git__mutmut_21"),
    "keysentry.git.command.x__dot_git__mutmut_23": (
        'split(b"XX\\nXX"): as for x__dot_git__mutmut_20'
    ),
    "keysentry.git.command.x__dot_git__mutmut_24": ("split limit 2: the first line is the same"),
    "keysentry.git.command.x__dot_git__mutmut_32": (
        "a relative gitdir joined without the directory: hook_env asks only about the current "
        "directory, against which it resolves the same"
    ),
    # magic
    "keysentry.decoders.magic.x_detect__mutmut_35": (
        "len(head) >= 2: a head of two bytes has no stream after the zlib header, and "
        "_inflates asks for 32 bytes of output"
    ),
    "keysentry.decoders.magic.x_detect__mutmut_36": (
        "len(head) > 3: a head of three bytes inflates into less than the 32 bytes _inflates "
        "asks for"
    ),
    "keysentry.decoders.magic.x_is_pdf__mutmut_2": "find(..., None, 1024): None starts at 0",
    "keysentry.decoders.magic.x_is_pdf__mutmut_7": (
        "rfind: the first or the last occurrence, the question is only whether there is one"
    ),
    # fix-flow
    "keysentry.fix.flow.x_run_fix__mutmut_9": (
        "fix_info=None: the command is fix, which is not in FIX_INFO_COMMANDS, so None "
        "decides False"
    ),
    "keysentry.fix.flow.x_run_fix__mutmut_11": "fix_info dropped (None): as for run_fix__mutmut_9",
    "keysentry.fix.flow.x__replace__mutmut_27": (
        "missing_ok=None: the temporary file exists until os.replace, the last step, renames "
        "it; only a file that is there is unlinked"
    ),
    "keysentry.fix.flow.x__replace__mutmut_29": "missing_ok=False: as for _replace__mutmut_27",
    "keysentry.fix.flow.x__lines__mutmut_8": "'UTF-8': the same codec",
    "keysentry.fix.flow.x_staged_targets__mutmut_9": (
        "git diff in the current directory, not at its root: the same repository, and "
        "--name-only names paths from the root wherever it runs (diff.relative is off)"
    ),
    "keysentry.fix.flow.x__shown_path__mutmut_2": (
        "os.path.relpath raises ValueError only on Windows (paths on two drives)"
    ),
    "keysentry.fix.flow.x_run_fix__mutmut_54": (
        "read(None): the planner leaves a file past MAX_BYTES by hand whatever was read past "
        "that; reading it all only costs memory"
    ),
    "keysentry.fix.flow.x_run_fix__mutmut_56": (
        "read(MAX_BYTES + 2): as for run_fix__mutmut_54, one byte more of a file past the cap"
    ),
    # pipeline
    "keysentry.pipeline.xǁScanRequestǁall_scopes__mutmut_10": (
        "the root of standard input from its name: the walk yields <stdin> before it reads "
        "the root, which only exclude patterns use"
    ),
    "keysentry.pipeline.xǁScanRequestǁall_scopes__mutmut_13": (
        "as for all_scopes__mutmut_10: no target is named XX-XX in the tests, and the root "
        "of standard input is never read"
    ),
    "keysentry.pipeline.x__scan_one__mutmut_45": (
        "size < chunk_size: a file of exactly chunk_size bytes is read as one window either "
        "way (scan_whole or scan_file), and counted the same"
    ),
    "keysentry.pipeline.x__scan_one__mutmut_68": "cast(None, ...): cast does nothing at run time",
    "keysentry.pipeline.x__scan_one__mutmut_93": (
        "-2 for an unreadable input: _collect only asks whether it is below 0"
    ),
    "keysentry.pipeline.x_finish_scopes__mutmut_50": (
        "merge_findings of one scope's findings: build_findings already made one finding per "
        "(rule, key), sorted as merge_findings sorts, and the allowlist and baseline drop "
        "whole findings, so the order holds"
    ),
    # ci-ranges
    "keysentry.cli.ci_ranges.x__rev__mutmut_4": (
        "check=None: run_git raises only for a true check, as for False"
    ),
    "keysentry.cli.ci_ranges.x__rev__mutmut_13": (
        "--QUIET: rev-parse --verify prints the same id and exit code; only its stderr, which run_git captures and drops, says 'Needed a single revision'"
    ),
    "keysentry.cli.ci_ranges.x__rev__mutmut_15": (
        "--END-OF-OPTIONS: the revision always ends in ^{commit}, which no rev-parse option does (checked with --short, --since=x, -q, --all), so it is never taken as one"
    ),
    "keysentry.cli.ci_ranges.x__rev__mutmut_21": (
        "decode without 'replace': rev-parse prints a hex id or nothing, plain ASCII, so no error handler is called"
    ),
    "keysentry.cli.ci_ranges.x__rev__mutmut_23": ("'ASCII': the same codec"),
    "keysentry.cli.ci_ranges.x__rev__mutmut_24": (
        "error handler 'XXreplaceXX': never looked up, as for x__rev__mutmut_21"
    ),
    "keysentry.cli.ci_ranges.x__rev__mutmut_25": (
        "error handler 'REPLACE': as for x__rev__mutmut_24"
    ),
    "keysentry.cli.ci_ranges.x__rev__mutmut_28": (
        "'and out' -> 'or out': rev-parse --verify --quiet prints nothing on stdout when it fails"
    ),
    "keysentry.cli.ci_ranges.x_github_ranges__mutmut_3": (
        "GITHUB_EVENT_NAME default None: not an event with a range either, and `event or '(unknown)'` names it the same"
    ),
    "keysentry.cli.ci_ranges.x_github_ranges__mutmut_5": (
        "default dropped: as for x_github_ranges__mutmut_3"
    ),
    "keysentry.cli.ci_ranges.x_gitlab_ranges__mutmut_3": (
        "CI_COMMIT_SHA default None: only tested for truth, as the empty default"
    ),
    "keysentry.cli.ci_ranges.x_gitlab_ranges__mutmut_5": (
        "default dropped: as for x_gitlab_ranges__mutmut_3"
    ),
    "keysentry.cli.ci_ranges.x_gitlab_ranges__mutmut_16": (
        "CI_MERGE_REQUEST_DIFF_BASE_SHA default None: only tested for truth"
    ),
    "keysentry.cli.ci_ranges.x_gitlab_ranges__mutmut_18": (
        "default dropped: as for x_gitlab_ranges__mutmut_16"
    ),
    "keysentry.cli.ci_ranges.x_gitlab_ranges__mutmut_69": (
        "CI_COMMIT_BEFORE_SHA default None: _zero takes None as it takes the empty string"
    ),
    "keysentry.cli.ci_ranges.x_gitlab_ranges__mutmut_71": (
        "default dropped: as for x_gitlab_ranges__mutmut_69"
    ),
    "keysentry.cli.ci_ranges.x_gitlab_ranges__mutmut_74": (
        "CI_COMMIT_BEFORE_SHA default 'XXXX': not all zeros, and names no commit (short of a ref called XXXX), so it falls through as the empty default does"
    ),
    "keysentry.cli.ci_ranges.x_gitlab_ranges__mutmut_93": (
        "CI_COMMIT_BRANCH default None: only tested for truth"
    ),
    "keysentry.cli.ci_ranges.x_gitlab_ranges__mutmut_95": (
        "default dropped: as for x_gitlab_ranges__mutmut_93"
    ),
    "keysentry.cli.ci_ranges.x_gitlab_ranges__mutmut_100": (
        "CI_DEFAULT_BRANCH default None: only tested for truth"
    ),
    "keysentry.cli.ci_ranges.x_gitlab_ranges__mutmut_102": (
        "default dropped: as for x_gitlab_ranges__mutmut_100"
    ),
    "keysentry.cli.ci_ranges.x_pre_receive_ranges__mutmut_4": (
        "rsplit: git writes three fields, the last a ref name, which holds no whitespace (git check-ref-format), so both splits agree"
    ),
    "keysentry.cli.ci_ranges.x_pre_receive_ranges__mutmut_5": (
        "maxsplit=3: as for x_pre_receive_ranges__mutmut_4"
    ),
    "keysentry.cli.ci_ranges.x__new_commits__mutmut_18": (
        "check=None: run_git raises only for a true check, as for False"
    ),
    "keysentry.cli.ci_ranges.x__new_commits__mutmut_21": (
        "check dropped (True): cat-file -t of an object rev-list has just walked never fails"
    ),
    "keysentry.cli.ci_ranges.x__new_commits__mutmut_26": (
        "check=True: as for x__new_commits__mutmut_21"
    ),
    "keysentry.cli.ci_ranges.x__new_commits__mutmut_76": ("'ASCII': the same codec"),
    "keysentry.cli.ci_ranges.x__event_payload__mutmut_11": ("'UTF-8': the same codec"),
    # screen
    "keysentry.detect.screen.x_screen_files__mutmut_7": (
        'name == "XX-XX": the hook passes "-" on only when no file of that name exists (it '
        "refuses an option that is also a file; after -- it passes ./-), so lstat fails and "
        "the screen hands over as before"
    ),
    "keysentry.detect.screen.x_screen_files__mutmut_32": (
        "read(LIMIT + size + 1): reads at most LIMIT bytes more of a file that takes the total "
        "past LIMIT, which is handed over either way; only the count asked of read() differs"
    ),
    "keysentry.detect.screen.x_screen_files__mutmut_33": (
        "read(LIMIT - size + 2): one byte more of a file that takes the total past LIMIT "
        "either way: as for x_screen_files__mutmut_32"
    ),
    "keysentry.detect.screen.x_screen_staged__mutmut_3": (
        'repository_root("XX.XX"): a path in the current directory has its root too, unless '
        "a directory XX.XX with a repository of its own is there"
    ),
    "keysentry.detect.screen.x_screen_staged__mutmut_15": (
        "--no-renames dropped: diff-index finds renames only when asked (-M), whatever "
        "diff.renames says (checked; the hardening sets it false as well)"
    ),
    "keysentry.detect.screen.x_screen_staged__mutmut_16": (
        "--no-textconv dropped: the raw output shows no content, so no textconv runs "
        "(checked with a textconv attribute and a marker script)"
    ),
    "keysentry.detect.screen.x_screen_staged__mutmut_17": (
        "--no-ext-diff dropped: an external diff runs only for a patch, never for the raw "
        "output (checked with diff.external set; the hardening empties it as well)"
    ),
    "keysentry.detect.screen.x_screen_staged__mutmut_42": "zip strict=None: None is false, as False is",
    "keysentry.detect.screen.x_screen_staged__mutmut_45": "zip strict dropped: False is the default",
    "keysentry.detect.screen.x_screen_staged__mutmut_52": (
        "continue -> break on an empty meta: only the field after the last NUL is empty, and "
        "zip stops before it (no path follows it)"
    ),
    "keysentry.detect.screen.x_screen_staged__mutmut_54": (
        "split(None): the raw output's meta fields are apart by single spaces, and hold no "
        "other whitespace"
    ),
    "keysentry.detect.screen.x_screen_staged__mutmut_55": (
        'lstrip(None): only parts[0], the old mode, keeps its ":", and it is never read'
    ),
    "keysentry.detect.screen.x_screen_staged__mutmut_56": (
        'rstrip(b":"): as for x_screen_staged__mutmut_55 (the meta ends with a status letter)'
    ),
    "keysentry.detect.screen.x_screen_staged__mutmut_57": (
        'lstrip(b"XX:XX"): strips the ":" as before; a mode digit follows it'
    ),
    "keysentry.detect.screen.x_screen_staged__mutmut_63": (
        "status [:2]: only C and R (and M under -B) carry a score, and diff-index reports "
        "them only when asked (-C, -M, -B)"
    ),
    "keysentry.detect.screen.x_screen_staged__mutmut_78": (
        '"C" -> "XXCXX": diff-index reports a copy only when asked (-C), which it never is'
    ),
    "keysentry.detect.screen.x_screen_staged__mutmut_79": (
        '"C" -> "c": as for x_screen_staged__mutmut_78'
    ),
    "keysentry.detect.screen.x_screen_staged__mutmut_82": 'oids[...] = "": only the keys are read',
    "keysentry.detect.screen.x__read_blobs__mutmut_19": (
        "assert ... or ...: both pipes exist (stdin and stdout are PIPE), so both forms hold"
    ),
    "keysentry.detect.screen.x__git__mutmut_3": (
        "stdin=None: diff-index --cached reads no standard input; given the hook's, it never "
        "reads it (only /proc/PID/fd/0 of the running git would show which it got)"
    ),
    "keysentry.detect.screen.x__git__mutmut_9": "stdin dropped: as for x__git__mutmut_3",
    "keysentry.detect.screen.x__git__mutmut_7": "check=None: run() checks the exit code only for a true check",
    "keysentry.detect.screen.x__git__mutmut_13": "check dropped: False is the default",
    "keysentry.detect.screen.x__git__mutmut_18": (
        "check=True: raises CalledProcessError (a SubprocessError: None) exactly when the "
        "exit code is not 0, which returns None as well"
    ),
    # snippets
    "keysentry.detect.scanner.xǁScannerǁ_snippet__mutmut_20": (
        "rfind from the file's start, not the reach: only the cost; a line break past the "
        "reach moves line_lo back, where lo > line_lo says '…' as the byte before the reach "
        "did, and spans are searched from lo - SNIPPET_REACH either way"
    ),
    "keysentry.detect.scanner.xǁScannerǁ_snippet__mutmut_31": (
        "find to the file's end, not the reach: only the cost; a line break past the reach "
        "moves line_hi on, where hi < line_hi says '…' as the byte at the reach did, and "
        "spans are searched to hi + SNIPPET_REACH either way"
    ),
    "keysentry.detect.scanner.xǁScannerǁ_snippet__mutmut_34": (
        "find without an end: as for _snippet__mutmut_31"
    ),
    "keysentry.detect.scanner.xǁScannerǁ_snippet__mutmut_37": (
        "line_hi <= 0: find from end (a match's end, above 0) returns -1 or at least end, never 0"
    ),
    "keysentry.detect.scanner.xǁScannerǁ_snippet__mutmut_38": (
        "line_hi < 1: as for _snippet__mutmut_37"
    ),
    "keysentry.detect.scanner.xǁScannerǁ_snippet__mutmut_41": (
        "line_hi >= end: at line_hi == end, stepping back puts the edge inside the match, "
        "which the edge then shows whole, and the CRLF at end - 1 still ends the line"
    ),
    "keysentry.detect.scanner.xǁScannerǁ_snippet__mutmut_82": (
        "s_lo <= lo: at lo == s_lo, lo = s_lo changes nothing"
    ),
    "keysentry.detect.scanner.xǁScannerǁ_snippet__mutmut_86": (
        "hi <= s_hi: at hi == s_hi, hi = s_hi changes nothing"
    ),
    "keysentry.detect.scanner.xǁScannerǁ_snippet__mutmut_97": (
        "lo <= stop: lo = stop + 1 lands inside the span starting at stop, which is shown "
        "whole from its start"
    ),
    "keysentry.detect.scanner.xǁScannerǁ_snippet__mutmut_109": (
        "hi >= stop: hi = stop - 1 lands inside the span ending at stop, which is shown whole "
        "to its end"
    ),
    "keysentry.detect.scanner.xǁScannerǁ_secret_spans__mutmut_8": (
        "classify=None: classify only adds the placeholder model's reason; the spans are the same"
    ),
    "keysentry.detect.scanner.xǁScannerǁ_secret_spans__mutmut_10": (
        "classify dropped: as for _secret_spans__mutmut_8"
    ),
    "keysentry.detect.scanner.xǁScannerǁ_secret_spans__mutmut_11": (
        "classify=True: as for _secret_spans__mutmut_8"
    ),
    "keysentry.detect.scanner.xǁScannerǁ_secret_spans__mutmut_19": (
        "finditer to the data's end: runs past the bound start after the snippet (skipped) or "
        "go on from a run cut there, whose first three characters are all a snippet shows of "
        "it"
    ),
    "keysentry.detect.scanner.x__masked__mutmut_9": ('"ascii" -> "ASCII": the same codec'),
    "keysentry.detect.scanner.x__masked__mutmut_17": ('"utf-8" -> "UTF-8": the same codec'),
    "keysentry.detect.scanner.x__printable__mutmut_7": ('"utf-8" -> "UTF-8": the same codec'),
    # scanner-windows
    "keysentry.detect.scanner.xǁ_Windowǁline_col__mutmut_3": (
        "offset <= last: a hit at the last one's offset is recounted from the window's start, "
        "and the mark holds exactly that count: only the cost"
    ),
    "keysentry.detect.scanner.xǁ_Windowǁline_col__mutmut_11": (
        "rfind from the window's start: a newline before the mark is the one its line_start "
        "follows, so the column is recounted from the same line start: only the cost"
    ),
    "keysentry.detect.scanner.xǁ_Windowǁline_col__mutmut_35": (
        "and -> or: every hit's column is recounted from its line's start (or the window's "
        "first whole character), which is what the mark adds up to: only the cost; data[last] "
        "is never past the window (no hit or view starts at its end)"
    ),
    "keysentry.detect.scanner.xǁ_Windowǁline_col__mutmut_37": (
        "data[last:last + 2]: empty exactly when data[last:last + 1] is"
    ),
    "keysentry.detect.scanner.xǁScannerǁ_scan_windows__mutmut_1": (
        "eocd = None: the result is only tested for truth, and None is false"
    ),
    "keysentry.detect.scanner.xǁScannerǁ_scan_windows__mutmut_3": (
        "tail = None: only tested for truth, on the first window, and None is false"
    ),
    "keysentry.detect.scanner.xǁScannerǁ_scan_windows__mutmut_22": (
        'tail + chunk always: on the first window tail is b"", and b"" + chunk == chunk'
    ),
    "keysentry.detect.scanner.xǁScannerǁ_scan_windows__mutmut_36": (
        "overlap / 2: the same number for an even overlap; for an odd one every bound is "
        "half a byte lower, and an integer offset is below b - 0.5 exactly when it is below b"
    ),
    "keysentry.detect.scanner.xǁScannerǁ_scan_window__mutmut_7": (
        "match(data, None): the engine then searches the same needles again: only the cost"
    ),
    "keysentry.detect.scanner.xǁScannerǁ_scan_window__mutmut_10": (
        "hits dropped: as for _scan_window__mutmut_7"
    ),
    "keysentry.detect.scanner.xǁScannerǁ_decode__mutmut_59": (
        "line_col(view_origin(1)): a decoded container's first two bytes come from one "
        "base64 group, or from neighbouring characters of one line (UTF-16, escapes); the "
        "decoders that join lines yield key-shaped text, never a container"
    ),
    "keysentry.detect.scanner.xǁScannerǁ_decode__mutmut_87": (
        "match(view.data, None): the engine then searches the same needles again: only the cost"
    ),
    "keysentry.detect.scanner.xǁScannerǁ_decode__mutmut_89": (
        "sub_hits dropped: as for _decode__mutmut_87"
    ),
    "keysentry.detect.scanner.x__chunks__mutmut_8": (
        "max(..., 2): only for a window at most a byte longer than the 1 KiB head (it is 8 MiB), "
        "which then reads 2 bytes after the head instead of 1; the windows after it are read "
        "whole, and the overlap makes what is found independent of where windows are cut"
    ),
    # probe
    "keysentry.validate.probe.xǁProbePathǁ__init____mutmut_2": (
        "_legacy = False -> None: `current` only tests its truth, and None is false too"
    ),
    "keysentry.validate.probe.x__exchange__mutmut_39": (
        "notice.daemon = True -> None: the timer is cancelled in the finally before _exchange "
        "returns, so it never outlives the probe and never holds the process at exit"
    ),
    "keysentry.validate.probe.x__exchange__mutmut_40": (
        "notice.daemon = True -> False: as for x__exchange__mutmut_39"
    ),
    "keysentry.validate.probe.x__json_or_none__mutmut_5": '"utf-8" -> "UTF-8": the same codec',
    "keysentry.validate.probe.x__read_body__mutmut_4": (
        "chunk_size=65536 -> None: the size only splits the reads; every byte is counted and "
        "kept either way"
    ),
    "keysentry.validate.probe.x__read_body__mutmut_5": (
        "chunk_size=65536 -> 65537: as for x__read_body__mutmut_4"
    ),
    "keysentry.validate.probe.x__exchange__mutmut_45": (
        "allow_redirects=None: requests follows redirects only when it is true"
    ),
    # untrusted
    "keysentry.untrusted.x__display__mutmut_18": (
        "cast(None, ...): typing.cast returns its value unchecked"
    ),
    "keysentry.untrusted.x_redacted__mutmut_21": (
        "cast(None, ...): typing.cast returns its value unchecked"
    ),
    "keysentry.untrusted.x__text_of__mutmut_9": (
        "sorted by text, not length, longest first -> last first: two literals that match at "
        "one place are prefix and whole, and the whole sorts after its prefix too"
    ),
    "keysentry.untrusted.x__text_of__mutmut_12": (
        "sorted() without key: as for x__text_of__mutmut_9"
    ),
    "keysentry.untrusted.x__text_of__mutmut_16": (
        "out = None: the memo of a pure function is skipped, the same text is computed again"
    ),
    "keysentry.untrusted.x__text_of__mutmut_17": ("done.get(None): as for x__text_of__mutmut_16"),
    "keysentry.untrusted.x__escape_char__mutmut_15": (
        "code > 0xFFFF -> >= 0xFFFF: U+FFFF is not in _UNSAFE, so it never reaches _escape_char"
    ),
    "keysentry.untrusted.x__escape_char__mutmut_16": (
        "code > 0xFFFF -> > 0x10000: no character from U+FFFC to U+110BC is in _UNSAFE"
    ),
    "keysentry.untrusted.x_unescape_bytes__mutmut_2": (
        "pos = 0 -> None: text[None:i] and text[None:] slice from 0 as well"
    ),
    "keysentry.untrusted.x_unescape_bytes__mutmut_12": '"utf-8" -> "UTF-8": the same codec',
    "keysentry.untrusted.x_unescape_bytes__mutmut_48": '"utf-8" -> "UTF-8": the same codec',
    "keysentry.untrusted.x_unescape_bytes__mutmut_63": '"utf-8" -> "UTF-8": the same codec',
    "keysentry.untrusted.x__display__mutmut_16": (
        "sort by len -> by text, longest first -> last first: two literals that match at one "
        "place are prefix and whole, and the whole sorts after its prefix too"
    ),
    "keysentry.untrusted.x__display__mutmut_19": (
        "sorted(key=len) -> sorted(): as for x__display__mutmut_16"
    ),
    "keysentry.untrusted.x__display__mutmut_23": (
        "done.get(value) -> None: the memo of a pure function is skipped, the same text is "
        "computed again"
    ),
    "keysentry.untrusted.x__display__mutmut_24": (
        "done.get(value) -> get(None): as for x__display__mutmut_23"
    ),
    "keysentry.untrusted.x__display__mutmut_41": (
        "cast(ScanResult, ...) -> cast(None, ...): typing.cast returns its value unchecked"
    ),
    "keysentry.untrusted.x__walk__mutmut_1": (
        "kind = None: the exact-type fast paths are skipped; the isinstance tests after "
        "them give str and the atoms (no fields) the same answers"
    ),
    "keysentry.untrusted.x__walk__mutmut_16": (
        "zip strict=True -> None: items is built from value, one per element"
    ),
    "keysentry.untrusted.x__walk__mutmut_19": (
        "zip strict=True dropped: items is built from value, one per element"
    ),
    "keysentry.untrusted.x__walk__mutmut_20": (
        "zip strict=True -> False: items is built from value, one per element"
    ),
    "keysentry.untrusted.x__walk__mutmut_39": (
        "zip strict=True -> None: pairs is built from value, one per item"
    ),
    "keysentry.untrusted.x__walk__mutmut_42": (
        "zip strict=True dropped: pairs is built from value, one per item"
    ),
    "keysentry.untrusted.x__walk__mutmut_43": (
        "zip strict=True -> False: pairs is built from value, one per item"
    ),
    "keysentry.untrusted.x__field_names__mutmut_1": (
        "names = None: the memo of a pure function of the class is skipped, the same names "
        "are computed again"
    ),
    "keysentry.untrusted.x__field_names__mutmut_2": (
        "_FIELDS.get(cls) -> get(None): as for x__field_names__mutmut_1"
    ),
    # purge-verify
    "keysentry.purge.verify.x_core__mutmut_13": ('"utf-8" -> "UTF-8": the same codec'),
    "keysentry.purge.verify.x__stable_base64__mutmut_3": (
        "range(3) -> range(4): the 4th alignment (3 bytes before data) gives the 1st one's "
        "characters again, 4 later: the same needles, searched once"
    ),
    "keysentry.purge.verify.x__stable_base64__mutmut_10": (
        "bytes(2) -> bytes(3) after data: the characters kept (before last) are made of "
        "data's bits and those before it only"
    ),
    "keysentry.purge.verify.x__stable_base64__mutmut_16": (
        "-(-9 * lead // 6): 0, 2, 3 for lead 0, 1, 2, as -(-8 * lead // 6)"
    ),
    "keysentry.purge.verify.x__stable_base64__mutmut_17": (
        "-(-8 * lead // 7): 0, 2, 3 for lead 0, 1, 2, as -(-8 * lead // 6)"
    ),
    "keysentry.purge.verify.x_pieces__mutmut_9": (
        "width = max(2, ...): every form encodes each byte of the core in at least one byte, "
        "so past the len(core) < 2 * PIECE return width is at least PIECE"
    ),
    "keysentry.purge.verify.x_pieces__mutmut_18": (
        "step = max(2, ...): as for x_pieces__mutmut_9, step is at least STEP"
    ),
    "keysentry.purge.verify.xǁFinderǁ__init____mutmut_4": (
        "_copy = None (never copy): LiteralSearch.scan copies a memoryview itself on its "
        "find() path, and hyperscan reads views"
    ),
    "keysentry.purge.verify.xǁFinderǁ__init____mutmut_5": (
        "_copy = backend == hyperscan: copies for hyperscan (the same bytes searched), none "
        "for find() (as for xǁFinderǁ__init____mutmut_4)"
    ),
    "keysentry.purge.verify.xǁFinderǁ__init____mutmut_6": (
        '"XXhyperscanXX": _copy always true: a copy of the same bytes is searched'
    ),
    "keysentry.purge.verify.xǁFinderǁ__init____mutmut_7": (
        '"HYPERSCAN": _copy always true: a copy of the same bytes is searched'
    ),
    "keysentry.purge.verify.xǁFinderǁ__init____mutmut_9": (
        "overlap one byte longer: the tail searched again is still a run of the stream's own "
        "bytes, and what it finds again was noted already"
    ),
    "keysentry.purge.verify.xǁFinderǁscan__mutmut_1": (
        "_copy or not bytes: every memoryview copied: the same bytes searched"
    ),
    "keysentry.purge.verify.xǁFinderǁscan__mutmut_2": (
        "copies bytes instead of views: bytes(bytes) is the same, and LiteralSearch.scan "
        "copies views itself on its find() path"
    ),
    "keysentry.purge.verify.xǁFinderǁnote__mutmut_8": (
        "< -> <=: a find of the same form at the same place makes an equal Left again"
    ),
    "keysentry.purge.verify.xǁFinderǁhide__mutmut_7": ('"utf-8" -> "UTF-8": the same codec'),
    "keysentry.purge.verify.xǁFinderǁhide__mutmut_16": (
        "end <= pos -> end < pos: a span that ends where the last one did adds nothing, out "
        "already ends with the marker"
    ),
    "keysentry.purge.verify.xǁFinderǁhide__mutmut_28": (
        "out += marker -> out = marker: that branch is reached only while out is empty (a "
        "span at the start: after any span out ends with the marker)"
    ),
    "keysentry.purge.verify.xǁFinderǁhide__mutmut_41": ('"utf-8" -> "UTF-8": the same codec'),
    "keysentry.purge.verify.xǁFinderǁstream__mutmut_4": (
        "read(CHUNK) -> read(None): FileIO and ObjectStream both read all that is left: the "
        "same bytes searched in one piece"
    ),
    "keysentry.purge.verify.xǁFinderǁstream__mutmut_16": (
        "overlap or True: overlap is never 0 (needles have at least 8 bytes)"
    ),
    "keysentry.purge.verify.xǁFinderǁstream__mutmut_17": (
        "data[+overlap:]: the tail keeps all but the first overlap bytes, more than needed: "
        "what it finds again was noted already"
    ),
    "keysentry.purge.verify.xǁFinderǁstream__mutmut_18": (
        'b"" -> b"XXXX" when overlap is 0: it never is (needles have at least 8 bytes)'
    ),
    "keysentry.purge.verify.x__objects__mutmut_28": (
        "cast(BinaryIO, ...) -> cast(None, ...): typing.cast returns its value"
    ),
    "keysentry.purge.verify.x__refs__mutmut_13": (
        "lstrip(None): every name for-each-ref lists starts with refs/: only the newline "
        "before it is stripped"
    ),
    "keysentry.purge.verify.x__refs__mutmut_15": (
        'lstrip(b"XX\\nXX"): every listed name starts with refs/: only the newline before it '
        "is stripped"
    ),
    "keysentry.purge.verify.x__refs__mutmut_24": (
        "len(out) - 2: out has 2 fields per ref and the last newline, an odd count: the same "
        "indexes"
    ),
    "keysentry.purge.verify.x__refs__mutmut_37": ("len(out) - 2: as for x__refs__mutmut_24"),
    "keysentry.purge.verify.x__refs__mutmut_41": (
        "zip strict=None: names and targets come in pairs"
    ),
    "keysentry.purge.verify.x__refs__mutmut_44": (
        "zip strict dropped: names and targets come in pairs"
    ),
    "keysentry.purge.verify.x__refs__mutmut_45": (
        "zip strict=False: names and targets come in pairs"
    ),
    "keysentry.purge.verify.x__refs__mutmut_59": ('"utf-8" -> "UTF-8": the same codec'),
    "keysentry.purge.verify.x__files__mutmut_14": (
        "rel or True: _walk yields only entries below the root, whose relative path is never empty"
    ),
    "keysentry.purge.verify.x__walk__mutmut_15": (
        "follow_symlinks=None: DirEntry.stat takes it as a truth value, false"
    ),
    "keysentry.purge.verify.x__walk__mutmut_22": (
        "mode = 0 -> 1 for an entry that cannot be examined: no file type bits either, so "
        "neither a link, a regular file nor a directory"
    ),
    "keysentry.purge.verify.x__file__mutmut_16": (
        "buffering=0 dropped: a buffered reader of a regular file returns the same bytes, "
        "CHUNK at a time"
    ),
    # gitio
    "keysentry.git.run.x_run_git__mutmut_12": (
        "subprocess.run(check=None): only tested for truth, like False"
    ),
    "keysentry.git.run.x_run_git__mutmut_20": (
        "subprocess.run without check=False: False is its default"
    ),
    "keysentry.git.run.x_run_git_program__mutmut_10": (
        "subprocess.run(check=None): only tested for truth, like False"
    ),
    "keysentry.git.run.x_run_git_program__mutmut_19": (
        "subprocess.run without check=False: False is its default"
    ),
    "keysentry.git.run.x_work_tree_root__mutmut_12": (
        "run_git(check=None): only tested for truth, like False"
    ),
    "keysentry.git.run.x_discover__mutmut_33": (
        "run_git(check=None): only tested for truth, like False"
    ),
    "keysentry.git.run.x_read_config__mutmut_4": (
        "run_git(check=None): only tested for truth, like False"
    ),
    "keysentry.git.run.x_git_failure__mutmut_7": ('"utf-8" -> "UTF-8": the same codec'),
    "keysentry.git.run.x__linked_git_dirs__mutmut_14": ('"utf-8" -> "UTF-8": the same codec'),
    "keysentry.git.run.x__linked_git_dirs__mutmut_52": ('"utf-8" -> "UTF-8": the same codec'),
    "keysentry.git.run.x_discover__mutmut_47": ('"utf-8" -> "UTF-8": the same codec'),
    "keysentry.git.run.x_read_config__mutmut_41": ('"utf-8" -> "UTF-8": the same codec'),
    "keysentry.git.run.xǁGitStreamǁstderr_text__mutmut_6": ('"utf-8" -> "UTF-8": the same codec'),
    "keysentry.git.run.x__linked_git_dirs__mutmut_9": (
        "the .git file read whole, not its first 4096 bytes: git drops only CR and LF at the end, so what more there is lengthens a name past PATH_MAX, which neither git nor the check can open"
    ),
    "keysentry.git.run.x__linked_git_dirs__mutmut_11": ("the .git file read whole: as mutmut_9"),
    "keysentry.git.run.x__linked_git_dirs__mutmut_12": (
        "4097 bytes of the .git file, not 4096: as mutmut_9"
    ),
    "keysentry.git.run.x__linked_git_dirs__mutmut_30": ("commondir read whole: as mutmut_9"),
    "keysentry.git.run.x__linked_git_dirs__mutmut_32": ("commondir read whole: as mutmut_9"),
    "keysentry.git.run.x__linked_git_dirs__mutmut_39": ("4097 bytes of commondir: as mutmut_9"),
    "keysentry.git.run.x_read_config__mutmut_23": (
        'git_failure(cwd=None) for git config: the directory is named only for "not a git repository" and another owner, and git config says neither (outside a repository it reads the global files)'
    ),
    "keysentry.git.run.x_filter_overrides__mutmut_7": (
        "the pattern in capitals: git lowercases the section and key of --get-regexp's pattern, as it does the keys it matches"
    ),
    "keysentry.git.run.x_work_tree_root__mutmut_30": (
        "an empty --show-toplevel taken as a work tree: git >= 2.31 (needed for --path-format) exits 128 where there is no work tree, never 0 with nothing"
    ),
    "keysentry.git.run.x_discover__mutmut_51": (
        "'or' -> 'and' in the sanity check: rev-parse prints its facts only on exit 0 or 1 (it dies before printing on every fatal error), so no other exit comes with five lines"
    ),
    "keysentry.git.run.x_discover__mutmut_55": (
        "len(lines) <= 5: rev-parse ends each of its at least five facts with a newline, so the split has six items or more on exit 0 or 1"
    ),
    "keysentry.git.run.x_discover__mutmut_56": ("len(lines) < 6: as mutmut_55"),
    "keysentry.git.run.x_discover__mutmut_81": (
        "'and rest and rest[0]' -> 'and rest or rest[0]': rest always holds the empty item after the last newline, and on exit 1 (unborn HEAD) --verify -q prints nothing, so rest[0] is ''"
    ),
    "keysentry.git.run.x_discover__mutmut_82": (
        "'rc == 0 and ...' -> 'rc == 0 or ...': on exit 1 rest[0] is '' (as mutmut_81), so HEAD is None either way"
    ),
    "keysentry.git.run.x__enlarge__mutmut_7": (
        "getattr(None, ...) gives the default 1031, which is F_SETPIPE_SZ on Linux"
    ),
    "keysentry.git.run.x__enlarge__mutmut_9": (
        "getattr default None: fcntl has F_SETPIPE_SZ on Linux (Python >= 3.10), so the default is not used"
    ),
    "keysentry.git.run.x__enlarge__mutmut_12": ("getattr without a default: as mutmut_9"),
    "keysentry.git.run.x__enlarge__mutmut_13": (
        "a misspelt name gives the default 1031, which is F_SETPIPE_SZ on Linux"
    ),
    "keysentry.git.run.x__enlarge__mutmut_14": (
        "a lowercase name gives the default 1031, which is F_SETPIPE_SZ on Linux"
    ),
    "keysentry.git.run.x__enlarge__mutmut_15": (
        "default 1032: fcntl has F_SETPIPE_SZ on Linux, so the default is not used"
    ),
    # fix-dockerfile
    "keysentry.rewrite.dockerfile.x_locate__mutmut_94": (
        "'named is not None or True': the grammar requires the name field of an"
        " arg_instruction and of an env_pair, so named is never None"
    ),
    "keysentry.rewrite.dockerfile.x_locate__mutmut_109": (
        "line_end <= 0: find starts at the instruction's end, past byte 0, so it is -1 or"
        " more than 0"
    ),
    "keysentry.rewrite.dockerfile.x_locate__mutmut_110": ("line_end < 1: as mutmut_109"),
    # fix-notebook
    "keysentry.rewrite.notebook.x_locate__mutmut_15": '"utf-8" -> "UTF-8": the same codec',
    "keysentry.rewrite.notebook.x__rewrite__mutmut_8": '"utf-8" -> "UTF-8": the same codec',
    "keysentry.rewrite.notebook.x_verify__mutmut_8": '"utf-8" -> "UTF-8": the same codec',
    "keysentry.rewrite.notebook.x__attachments__mutmut_3": (
        "leaks = None: only tested by `not leaks`, and None is false as False"
    ),
    "keysentry.rewrite.notebook.x__attachments__mutmut_9": (
        "validate=False dropped: False is b64decode's default"
    ),
    # fix-yaml
    "keysentry.rewrite.yamlfiles.x_locate__mutmut_52": (
        "what = 'XXXX' without a kind: line: it is compared only with Secret, ConfigMap and SealedSecret, which '' is not either"
    ),
    "keysentry.rewrite.yamlfiles.x__pair_key__mutmut_4": (
        "a scalar's parent is its flow_node, never None"
    ),
    "keysentry.rewrite.yamlfiles.x__pair_key__mutmut_6": (
        "'or' -> 'and': a flow_node's parent is at least the document, never None, and only block_mapping_pair and flow_pair have a key field, so another parent gives key None and the same None"
    ),
    "keysentry.rewrite.yamlfiles.x__pair_key__mutmut_23": (
        "strict decoding: a byte that is not UTF-8 anywhere but in a comment is an error to tree-sitter-yaml, and ts.parse refuses the file, so a key's or a name's bytes always decode"
    ),
    "keysentry.rewrite.yamlfiles.x__pair_key__mutmut_26": ('"utf-8" -> "UTF-8": the same codec'),
    "keysentry.rewrite.yamlfiles.x__pair_key__mutmut_27": (
        "error handler 'XXreplaceXX': never looked up, a byte that is not UTF-8 anywhere but in a comment is an error to tree-sitter-yaml, and ts.parse refuses the file, so a key's or a name's bytes always decode"
    ),
    "keysentry.rewrite.yamlfiles.x__pair_key__mutmut_28": (
        "error handler 'REPLACE': as x__pair_key__mutmut_27"
    ),
    "keysentry.rewrite.yamlfiles.x__inline__mutmut_14": (
        "a longer slice for the name: it is taken only when the text before the key holds an '=', and what comes before the first '=' is the same"
    ),
    "keysentry.rewrite.yamlfiles.x__inline__mutmut_17": (
        "in_flow = None: only tested for truth, and None is false"
    ),
    "keysentry.rewrite.yamlfiles.x__single_quoted__mutmut_8": (
        "rfind from 0: a newline before the scalar is before node.start_byte, which max() then takes"
    ),
    "keysentry.rewrite.yamlfiles.x__single_quoted__mutmut_29": (
        "'' -> XX'XX: still one quote, and only quotes are counted"
    ),
    "keysentry.rewrite.yamlfiles.x__kubernetes__mutmut_24": (
        "a scalar's parent is its flow_node, never None"
    ),
    "keysentry.rewrite.yamlfiles.x__kubernetes__mutmut_28": (
        "a flow_node's parent's parent is at least the stream, never None"
    ),
    "keysentry.rewrite.yamlfiles.x__kubernetes__mutmut_39": (
        "'or' -> 'and' over pair and mapping: neither is ever None (as mutmut_24, _28)"
    ),
    "keysentry.rewrite.yamlfiles.x__kubernetes__mutmut_82": (
        "strict decoding: a byte that is not UTF-8 anywhere but in a comment is an error to tree-sitter-yaml, and ts.parse refuses the file, so a key's or a name's bytes always decode"
    ),
    "keysentry.rewrite.yamlfiles.x__kubernetes__mutmut_85": ('"utf-8" -> "UTF-8": the same codec'),
    "keysentry.rewrite.yamlfiles.x__kubernetes__mutmut_86": (
        "error handler 'XXreplaceXX': never looked up, a byte that is not UTF-8 anywhere but in a comment is an error to tree-sitter-yaml, and ts.parse refuses the file, so a key's or a name's bytes always decode"
    ),
    "keysentry.rewrite.yamlfiles.x__kubernetes__mutmut_87": (
        "error handler 'REPLACE': as x__kubernetes__mutmut_86"
    ),
    # fix-envfile
    "keysentry.rewrite.envfile.x_env_file_sites__mutmut_28": (
        "rfind from None: the same as from 0"
    ),
    "keysentry.rewrite.envfile.x_env_file_sites__mutmut_35": (
        "rfind from 1: differs only when the file starts with a newline, which then begins the head, and the export pattern's \\s* and constant_name's strip() drop it"
    ),
    "keysentry.rewrite.envfile.x_env_file_sites__mutmut_43": ('"utf-8" -> "UTF-8": the same codec'),
    "keysentry.rewrite.envfile.x_append_env__mutmut_35": (
        "read(None) after seek(-1, SEEK_END): one byte is left, the same byte"
    ),
    "keysentry.rewrite.envfile.x_append_env__mutmut_36": ("read(2): as x_append_env__mutmut_35"),
    "keysentry.rewrite.envfile.x_is_ignored__mutmut_9": (
        "check=None: run_git raises only for a true check, as for False"
    ),
    "keysentry.rewrite.envfile.x_ensure_ignored__mutmut_29": ("421 is 0o644"),
    "keysentry.rewrite.envfile.x__why__mutmut_10": (
        "os.open's OSError always carries its strerror, so the 'or' never runs"
    ),
    "keysentry.rewrite.envfile.x_is_tracked__mutmut_4": (
        "check=None: run_git raises only for a true check, as for False"
    ),
    "keysentry.rewrite.envfile.x_is_tracked__mutmut_7": (
        "check dropped (run_git's default True): as x_is_tracked__mutmut_14"
    ),
    "keysentry.rewrite.envfile.x_is_tracked__mutmut_14": (
        "check=True: ls-files of one literal pathspec in the work tree exits 0 whether or not it matches"
    ),
    "keysentry.rewrite.envfile.x_in_head__mutmut_4": (
        "check=None: run_git raises only for a true check, as for False"
    ),
    "keysentry.rewrite.envfile.x_is_ignored__mutmut_15": (
        "'XX-qXX' for -q: git takes it as one more path to check (not ignored) and prints "
        "the ignored ones on stdout, which run_git captures and nothing reads; the exit code "
        "still says whether the env file is ignored"
    ),
    # fix-python
    "keysentry.rewrite.python.x__imports_os__mutmut_1": (
        "found = None: the answer is only tested for truth (has_os), and None is false"
    ),
    "keysentry.rewrite.python.x__import_position__mutmut_24": "rfind(start=None): the same as 0",
    "keysentry.rewrite.python.x__import_position__mutmut_44": (
        "line_end < 0 -> <= 0: find from the end of a statement is -1 or past byte 0"
    ),
    "keysentry.rewrite.python.x__import_position__mutmut_45": (
        "line_end < 0 -> < 1: as for x__import_position__mutmut_44"
    ),
    # fix-python-quick
    "keysentry.rewrite.python_quick.x__imports_os__mutmut_1": (
        "found = None: the answer is only tested for truth (has_os), and None is false"
    ),
    "keysentry.rewrite.python_quick.x_locate__mutmut_76": (
        "find + 1 -> find + 2 in the newline test: the byte added follows the first newline,"
        " so no \\r\\n can start there (and with no newline one byte holds none)"
    ),
    "keysentry.rewrite.python_quick.x__literal_name__mutmut_14": '"utf-8" -> "UTF-8": the same codec',
    "keysentry.rewrite.python_quick.x__literal_name__mutmut_29": (
        "- len(quote) -> + len(quote): the body keeps its closing quote, which constant_name"
        ' strips (text.strip("\'\\"")) before it matches'
    ),
    "keysentry.rewrite.python_quick.x__literal_name__mutmut_36": '"utf-8" -> "UTF-8": the same codec',
    "keysentry.rewrite.python_quick.x__suggest__mutmut_48": (
        "arg = child for a keyword argument too: first (a child of the argument list) is never"
        " the value, and when it is this keyword argument _literal_name(first) is None anyway"
    ),
    "keysentry.rewrite.python_quick.x__literal__mutmut_9": '"utf-8" -> "UTF-8": the same codec',
    "keysentry.rewrite.python_quick.x__suggest__mutmut_62": (
        "and -> or: an argument list has no name field, so name is None exactly when parent is"
        " not a keyword argument"
    ),
    "keysentry.rewrite.python_quick.x__target_name__mutmut_11": (
        "and -> or: only an attribute node has an attribute field, so both are true together"
    ),
    "keysentry.rewrite.python_quick.x__import_position__mutmut_37": (
        "rfind(start=None): the same as 0"
    ),
    "keysentry.rewrite.python_quick.x__import_position__mutmut_57": (
        "line_end < 0 -> <= 0: find from the end of a statement is -1 or past byte 0"
    ),
    "keysentry.rewrite.python_quick.x__import_position__mutmut_58": (
        "line_end < 0 -> < 1: as for x__import_position__mutmut_57"
    ),
    "keysentry.rewrite.python_quick.x__import_position__mutmut_64": (
        "rfind(start=None): the same as 0"
    ),
    # fix-edits
    "keysentry.rewrite.edits.xǁLinesǁposition__mutmut_15": '"utf-8" -> "UTF-8": the same codec',
    "keysentry.rewrite.edits.xǁLinesǁtext_edit__mutmut_11": '"utf-8" -> "UTF-8": the same codec',
    # fix-names
    "keysentry.rewrite.names.x_constant_name__mutmut_13": (
        "rsplit(sep) -> rsplit(sep, 1) with [-1]: the last piece is what follows the last"
        " separator however many splits are made"
    ),
    "keysentry.rewrite.names.x_constant_name__mutmut_15": (
        "rsplit(sep, 2)[-1]: as x_constant_name__mutmut_13"
    ),
    # fix-plan
    "keysentry.rewrite.plan.x_plan__mutmut_52": (
        "Plan(names=None): no caller reads Plan.names (the flow and the reports take each"
        " outcome's variable)"
    ),
    "keysentry.rewrite.plan.x__file__mutmut_16": (
        "verify called when None: every rewriter whose sites can be fixable sets verify"
        " (registry.by_hand's never are; an env file's are never applied)"
    ),
    "keysentry.rewrite.plan.x__file__mutmut_38": (
        'new == data -> new = "": never reached: every fixable site\'s edit replaces the'
        " key's bytes, and a rewrite that still holds a moved key was refused just above"
    ),
    # fix-sites
    "keysentry.rewrite.sites.x_occurrences__mutmut_9": (
        "head_len = None: each key is its own head, so each place is found from its own key"
        " (more passes over the data); a place two heads find twice is dropped as an overlap"
        " of the first, which is the same tuple"
    ),
    "keysentry.rewrite.sites.x_occurrences__mutmut_15": (
        "heads of 8 bytes, not 7: any head no longer than the shortest key is a prefix of"
        " every key, so the same places are found (built-in keys share only 7: one more pass)"
    ),
    # fix-languages
    "keysentry.rewrite.languages.x_locate__mutmut_67": (
        'kind == "go" or True: the Go import finisher adds nothing unless a site needs "go:os",'
        " which only Go's Language has"
    ),
    "keysentry.rewrite.languages.x__site__mutmut_38": (
        "_go_const for every grammar: only Go and PHP have a const_declaration node, and a PHP "
        "one is in lang.forbidden, which returns first; elsewhere the walk ends at the root "
        "(None)"
    ),
    "keysentry.rewrite.languages.x__site__mutmut_101": (
        "lang.needs dropped where a literal interpolates: only C#, Ruby and PowerShell "
        "interpolate, and their needs is empty"
    ),
    "keysentry.rewrite.languages.x__go_const__mutmut_7": (
        '"source_file" -> "XXsource_fileXX": source_file is a Go tree\'s root, whose parent is '
        "None, so the walk ends with None either way"
    ),
    "keysentry.rewrite.languages.x__go_const__mutmut_8": (
        '"source_file" -> "SOURCE_FILE": as for x__go_const__mutmut_7'
    ),
    "keysentry.rewrite.languages.x__go_const__mutmut_21": (
        "specs or True: a const_declaration around a string literal holds a const_spec"
    ),
    "keysentry.rewrite.languages.x__go_import__mutmut_37": (
        'line_end >= 0 -> > 0: the newline is found after an import list\'s "(", so it is -1 or '
        "past byte 0"
    ),
    "keysentry.rewrite.languages.x__go_import__mutmut_38": (
        "line_end >= 0 -> >= 1: as for x__go_import__mutmut_37"
    ),
    "keysentry.rewrite.languages.x__go_import__mutmut_73": (
        "line_end < 0 -> <= 0: the newline is found after the end of an import or package "
        "clause, so it is -1 or past byte 0"
    ),
    "keysentry.rewrite.languages.x__go_import__mutmut_74": (
        "line_end < 0 -> < 1: as for x__go_import__mutmut_73"
    ),
    "keysentry.rewrite.languages.x__go_import__mutmut_81": (
        "line_end >= 0 -> > 0: as for x__go_import__mutmut_73"
    ),
    "keysentry.rewrite.languages.x__go_import__mutmut_82": (
        "line_end >= 0 -> >= 1: as for x__go_import__mutmut_73"
    ),
    "keysentry.rewrite.languages.x__rust_site__mutmut_43": (
        "owned = None for False: owned is only read as true or false"
    ),
    "keysentry.rewrite.languages.x__shell_site__mutmut_9": (
        "redirect is not None or True: a heredoc_body's parent is always its heredoc_redirect"
    ),
    "keysentry.rewrite.languages.x__shell_site__mutmut_13": (
        'split(b"\\n") without maxsplit: only the first piece is read'
    ),
    "keysentry.rewrite.languages.x__shell_site__mutmut_17": (
        'split(b"\\n", 2): only the first piece is read'
    ),
    "keysentry.rewrite.languages.x__shell_site__mutmut_20": (
        'b"XXXX" when redirect is None: never (as for x__shell_site__mutmut_9)'
    ),
}

_STATUS = re.compile(r"^\s+(?P<name>\S+): (?P<status>[a-z ]+)$")
_COPY = ("src", "tests", "tools", "rules", "pyproject.toml", "README.md")
_HITS = "KEYSENTRY_MUTATION_HITS"
_LAUNCH = (
    "import sys; sys.path[:] = [p for p in sys.path if not p.endswith('mutants/src')]; "
    "from mutmut.__main__ import cli; cli()"
)


# mutmut traces every call while it maps tests to functions, which makes Hypothesis' input
# generation look slow; fixed examples also make a verdict repeatable. Appended to the copy's
# conftest only, with the hook that hands mutmut what the tests' child processes ran.
_CONFTEST = """

from hypothesis import HealthCheck as _HealthCheck
from hypothesis import settings as _settings

_settings.register_profile(
    "mutation", suppress_health_check=list(_HealthCheck), deadline=None, derandomize=True
)
_settings.load_profile("mutation")

import os as _mutation_os

import pytest as _mutation_pytest


@_mutation_pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item, nextitem):
    # The functions this test's child processes ran (tools/mutate.py's trampoline for them
    # wrote their names), handed to mutmut while it maps tests to functions: its own
    # teardown hook, which runs after this one, files them under this test.
    hits = _mutation_os.environ.get("KEYSENTRY_MUTATION_HITS", "")
    if not hits or not _mutation_os.path.exists(hits):
        return
    with open(hits, encoding="utf-8") as fh:
        names = set(fh.read().split())
    _mutation_os.unlink(hits)
    if _mutation_os.environ.get("MUTANT_UNDER_TEST") == "stats":
        from mutmut.state import state

        state()._stats.update(names)
"""

# Written beside mutmut's mutated copy of keysentry (mutants/src/mutmut/...). mutmut's own
# process imported the real module before that directory was on its path; the Python
# processes the tests start find this one first. Measured: with the real one a hook run
# imports typing, inspect, dataclasses, json and pathlib (mutmut's own needs), and the
# tests that check what the hook imports fail before any mutant is tried.
_SUBPROCESS_TRAMPOLINE = '''"""mutmut's trampoline, for the Python processes keysentry's tests start.

Written by tools/mutate.py. It does what mutmut.mutation.trampoline does, in a child
process: run the mutant MUTANT_UNDER_TEST names, or the original; while mutmut maps tests
to functions ("stats"), append each function run to the file KEYSENTRY_MUTATION_HITS
names, which the copy's conftest hands to mutmut after each test. It imports only os and
sys. A module run with ``python -m`` (the commit hook) is ``__main__`` to itself: it is
known by the name it was run as.
"""

import os
import sys


def _module_of(func):
    module = func.__module__
    if module == "__main__":
        spec = getattr(sys.modules.get("__main__"), "__spec__", None)
        module = getattr(spec, "name", None) or module
    return module

MutantDict = dict
_GENERATOR = 0x20


def wrap_in_trampoline(mutants_dict, is_classmethod=False):
    def decorate(func):
        def chosen(args):
            orig = mutants_dict["_mutmut_orig"]
            call_args = args[1:] if is_classmethod else args
            if is_classmethod:
                orig = getattr(args[0], orig.__name__)
            active = os.environ.get("MUTANT_UNDER_TEST", "")
            if active == "fail":
                raise RuntimeError("mutmut: this run is meant to fail")
            if active == "stats":
                hits = os.environ.get("KEYSENTRY_MUTATION_HITS")
                if hits:
                    name = orig.__name__.partition("__mutmut_")[0]
                    with open(hits, "a", encoding="utf-8") as fh:
                        fh.write(_module_of(orig) + "." + name + "\\n")
                return orig, call_args
            module, _, name = active.rpartition(".")
            mutant = mutants_dict.get(name) if module == _module_of(func) else None
            if mutant is None:
                return orig, call_args
            if is_classmethod:
                mutant = getattr(args[0], mutant.__name__)
            return mutant, call_args

        if func.__code__.co_flags & _GENERATOR:

            def trampoline(*args, **kwargs):
                run, call_args = chosen(args)
                return (yield from run(*call_args, **kwargs))

        else:

            def trampoline(*args, **kwargs):
                run, call_args = chosen(args)
                return run(*call_args, **kwargs)

        for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(trampoline, attr, getattr(func, attr))
        trampoline.__dict__.update(func.__dict__)
        trampoline.__wrapped__ = func
        return trampoline

    return decorate
'''


@dataclass(frozen=True)
class Measured:
    """One target's run."""

    mutants: int
    killed: int
    equivalent: tuple[str, ...]
    """Mutants that survived and are listed in EQUIVALENT."""
    survivors: tuple[str, ...]
    """``name (status)`` of every other mutant no test caught."""
    seconds: float = 0.0

    @property
    def share(self) -> float:
        """Non-equivalent survivors, in percent of the non-equivalent mutants."""
        judged = self.mutants - len(self.equivalent)
        return 100.0 * len(self.survivors) / judged if judged else 0.0


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
        'also_copy = ["rules/", "tools/", "README.md"]\n'
        "use_git_change_detection = false\n"
    )


def _mangled(mutant: str) -> str:
    """``keysentry.models.x_redact__mutmut_3`` -> ``x_redact``."""
    return mutant.rpartition(".")[2].rpartition("__mutmut_")[0]


def _module(path: str) -> str:
    return path.removeprefix("src/").removesuffix(".py").replace("/", ".")


def _copy(work: Path, target: Target) -> None:
    """The repository's files a test run needs, laid out as an installed keysentry has
    them, with mutmut's configuration and the copy's conftest additions."""
    for item in _COPY:
        src = ROOT / item
        if src.is_dir():
            shutil.copytree(src, work / item, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif src.is_file():
            shutil.copy2(src, work / item)
    # An installed keysentry has its rule files as keysentry.builtin_rules (pyproject.toml's
    # package-dir); the copy's environment has no editable install to map them.
    shutil.copytree(work / "rules", work / "src" / "keysentry" / "builtin_rules")
    shim = work / "src" / "mutmut" / "mutation"
    shim.mkdir(parents=True)
    (shim.parent / "__init__.py").write_text("")
    (shim / "__init__.py").write_text("")
    (shim / "trampoline.py").write_text(_SUBPROCESS_TRAMPOLINE)
    with (work / "pyproject.toml").open("a", encoding="utf-8") as fh:
        fh.write(_config(target))
    with (work / "tests" / "conftest.py").open("a", encoding="utf-8") as fh:
        fh.write(_CONFTEST)


def _environment(work: Path) -> Path:
    """A virtual environment whose ``keysentry`` is mutmut's mutated copy: every Python the
    tests start (``sys.executable -I -m keysentry``) runs the mutant too. Its other packages
    are this interpreter's, as plain path entries: their .pth files, the editable install of
    the original keysentry among them, are not run."""
    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(env_dir)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run(
        [python, "-I", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    here = [*site.getsitepackages()]
    if site.ENABLE_USER_SITE:
        here.append(site.getusersitepackages())
    paths = [str(work / "mutants" / "src"), *(p for p in here if os.path.isdir(p))]
    Path(purelib, "keysentry_mutation.pth").write_text("\n".join(paths) + "\n")
    # The console scripts an installation has (tests run `keysentry` and `keysentry-hook`).
    scripts = re.search(r"^\[project\.scripts\]\n((?:\w[\w-]* = \"[\w.]+:\w+\"\n)+)",
                        (ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.M)  # fmt: skip
    for line in scripts[1].splitlines() if scripts else []:
        name, _, spec = line.partition(" = ")
        module, _, func = spec.strip('"').partition(":")
        script = python.parent / name
        script.write_text(
            f"#!{python}\nimport sys\nfrom {module} import {func}\nsys.exit({func}())\n"
        )
        script.chmod(0o755)
    return python


def run_target(
    name: str, target: Target, jobs: int, show: bool, only: tuple[str, ...] | None = None
) -> Measured:
    """Run one target in a throw-away copy; ``only``: these mangled names, not every
    function of the target."""
    patterns = only if only is not None else target.functions
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"keysentry-mutate-{name}-") as tmp:
        work = Path(tmp)
        _copy(work, target)
        python = _environment(work)
        globs = [f"{_module(f)}.{p}__mutmut_*" for f in target.files for p in patterns]
        # The environment's path starts at mutants/src once it exists, where the children's
        # trampoline stands in for mutmut's package: mutmut itself is imported without it.
        mutmut = [str(python), "-c", _LAUNCH]
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", _HITS: str(work / "hits")}
        env.pop("VIRTUAL_ENV", None)
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
        results = subprocess.run(
            [*mutmut, "results", "--all", "true"], cwd=work, env=env, capture_output=True, text=True
        )
        if results.returncode != 0:
            sys.stdout.write(results.stdout[-2000:] + results.stderr[-4000:])
            raise SystemExit(f"mutmut results failed for target {name!r}")
        listing = results.stdout
        modules = {_module(f) for f in target.files}
        mine = [
            m
            for m in map(_STATUS.match, listing.splitlines())
            if m
            and m["name"].rpartition(".")[0] in modules
            and any(fnmatch.fnmatch(_mangled(m["name"]), p) for p in patterns)
        ]
        if not mine or any(m["status"] == "not checked" for m in mine):
            # mutmut stopped before trying them (its clean run of the tests failed, or it was
            # interrupted): that is no verdict on the tests, so say so instead of counting.
            # Mutants of the module's other functions are not this target's and stay unchecked.
            sys.stdout.write(proc.stdout[-3000:] + proc.stderr[-3000:])
            raise SystemExit(f"mutmut did not try every mutant of target {name!r}")
        killed = 0
        equivalent: list[str] = []
        survivors: list[str] = []
        for m in mine:
            # timeout: an endless loop is caught, the test run did not pass
            if m["status"] in ("killed", "timeout"):
                killed += 1
                if m["name"] in EQUIVALENT:
                    # A test tells it apart after all: its entry's reason is wrong.
                    print(f"    listed as equivalent but killed: {m['name']}")
            elif m["status"] in ("survived", "no tests", "suspicious") and m["name"] in EQUIVALENT:
                equivalent.append(m["name"])
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
        return Measured(
            len(mine), killed, tuple(equivalent), tuple(survivors), time.monotonic() - started
        )


# --since: the functions a change touched.

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


def changed_lines(rev: str, root: Path, paths: list[str]) -> dict[str, set[int]]:
    """The working tree's lines changed since ``rev`` (since where HEAD's history meets it,
    so that what landed on ``rev`` meanwhile is not counted), per file; where lines were
    only deleted, the lines either side of the gap."""
    base = subprocess.run(
        ["git", "merge-base", rev, "HEAD"], cwd=root, capture_output=True, text=True, timeout=60
    )
    if base.returncode != 0:
        raise SystemExit(f"git merge-base {rev} HEAD failed: {base.stderr.strip()}")
    proc = subprocess.run(
        ["git", "-c", "core.quotePath=false", "diff", "-U0", "--no-color", "--no-ext-diff",
         "--no-renames", "--src-prefix=a/", "--dst-prefix=b/", base.stdout.strip(), "--",
         *paths],
        cwd=root, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"git diff {rev} failed: {proc.stderr.strip()}")
    files: dict[str, set[int]] = {}
    current: set[int] | None = None
    for line in proc.stdout.splitlines():
        if line.startswith("+++ "):
            name = line[4:]
            current = None if name == "/dev/null" else files.setdefault(name[2:], set())
        elif current is not None and (hunk := _HUNK.match(line)):
            start, count = int(hunk[1]), int(hunk[2] if hunk[2] is not None else 1)
            current.update(range(start, start + count) if count else (start, start + 1))
    return files


def functions_at(source: str, lines: set[int]) -> tuple[set[str], set[int]]:
    """mutmut's names for the functions and methods that hold any of ``lines`` (a nested
    function counts as the one around it, as mutmut mutates it), and the lines outside
    any function (mutmut mutates none of those)."""
    found: set[str] = set()
    inside: set[int] = set()

    def visit(node: ast.stmt, name: str) -> None:
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        span = set(range(first, (node.end_lineno or node.lineno) + 1))
        inside.update(span)
        if lines & span:
            found.add(name)

    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            visit(node, f"x_{node.name}")
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    visit(item, f"xǁ{node.name}ǁ{item.name}")
    return found, lines - inside


def since_plan(
    rev: str, root: Path = ROOT, targets: dict[str, Target] | None = None
) -> tuple[dict[str, tuple[str, ...]], dict[str, list[int]]]:
    """({target: the functions of it a change since ``rev`` touched}, {file: changed lines
    outside any function}) over the targets' files."""
    targets = TARGETS if targets is None else targets
    files = sorted({f for t in targets.values() for f in t.files})
    touched: dict[str, set[str]] = {}
    outside: dict[str, list[int]] = {}
    for name, lines in changed_lines(rev, root, files).items():
        path = root / name
        if not path.is_file():
            continue  # deleted: nothing left to mutate
        touched[name], rest = functions_at(path.read_text(encoding="utf-8"), lines)
        if rest:
            outside[name] = sorted(rest)
    plan: dict[str, tuple[str, ...]] = {}
    for tname, target in targets.items():
        hit = sorted(
            fn
            for f in target.files
            for fn in touched.get(f, ())
            if any(fnmatch.fnmatch(fn, p) for p in target.functions)
        )
        if hit:
            plan[tname] = tuple(dict.fromkeys(hit))
    return plan, outside


# docs/mutation.md: one row per target, regenerated by --table.

COLUMNS = (
    "target",
    "code",
    "mutants",
    "killed",
    "equivalent",
    "survivors",
    "non-equivalent survivors",
    "measured",
)
_TABLE_INTRO = """\
# Mutation strength

How much of the code that decides "clean" or "a key", what git runs and what the commit
hook answers the tests pin down: `tools/mutate.py` mutates each target's functions with
mutmut, one small change at a time, and runs the target's tests against every mutant. A
survivor is a change no test noticed. The goal (issue 20): at most 5% of a target's mutants
survive without being listed as equivalent (`EQUIVALENT` in `tools/mutate.py`, each with
the reason no test can tell it from the original). Tests that run keysentry in a child
process (the commit hook) see the mutants too.

Regenerate: `python tools/mutate.py --table --jobs 1 [TARGET...]` measures the named
targets (every target without names) and rewrites their rows; the other rows stay as they
were measured, on the date and commit they name. A target never measured says so.
"""
_NOT_MEASURED = ("not measured", "-", "-", "-", "-", "-")


def _code_cell(target: Target) -> str:
    functions = ", ".join(f"`{p}`" for p in target.functions)
    return f"{', '.join(f'`{f}`' for f in target.files)}: {functions}"


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def parse_table(text: str) -> tuple[dict[str, list[str]], dict[str, str]]:
    """The rows of a table this tool wrote, by target, and each target's survivors line."""
    rows: dict[str, list[str]] = {}
    survivors: dict[str, str] = {}
    section = ""
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif line.startswith("| ") and not line.startswith("| target |"):
            cells = _cells(line)
            if len(cells) == len(COLUMNS):
                rows[cells[0]] = cells
        elif section == "Survivors" and line.startswith("- `"):
            name, _, rest = line[3:].partition("`: ")
            survivors[name] = rest
    return rows, survivors


def render_table(
    rows: dict[str, list[str]],
    survivors: dict[str, str],
    targets: dict[str, Target] | None = None,
    equivalent: dict[str, str] | None = None,
) -> str:
    """docs/mutation.md: every target in order, its code as it is declared now."""
    targets = TARGETS if targets is None else targets
    equivalent = EQUIVALENT if equivalent is None else equivalent
    lines = [_TABLE_INTRO, "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for name, target in targets.items():
        measured = rows.get(name, [name, "", *_NOT_MEASURED])[2:]
        lines.append("| " + " | ".join([name, _code_cell(target), *measured]) + " |")
    lines += ["", "## Survivors", ""]
    listed = [f"- `{name}`: {survivors[name]}" for name in targets if survivors.get(name)]
    lines += listed or ["None."]
    lines += ["", "## Equivalent mutants", ""]
    lines += [f"- `{name}`: {why}" for name, why in sorted(equivalent.items())] or ["None."]
    return "\n".join(lines) + "\n"


def measured_row(name: str, target: Target, measured: Measured, when: str) -> list[str]:
    return [
        name,
        _code_cell(target),
        str(measured.mutants),
        str(measured.killed),
        str(len(measured.equivalent)),
        str(len(measured.survivors)),
        f"{measured.share:.1f}%",
        when,
    ]


def _measured_on() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
        ).stdout.strip()

    commit = git("rev-parse", "--short=12", "HEAD")
    dirty = git("status", "--porcelain", "--", "src", "tests", "tools", "rules")
    return f"{date.today().isoformat()} at {commit}" + (
        " with uncommitted changes" if dirty else ""
    )


def update_table(results: dict[str, Measured], when: str, path: Path = TABLE) -> None:
    """Rewrite the rows of the targets measured (``when``: the date and commit the copy
    was made from), keeping the others."""
    rows, survivors = parse_table(path.read_text(encoding="utf-8") if path.exists() else "")
    for name, measured in results.items():
        rows[name] = measured_row(name, TARGETS[name], measured, when)
        survivors[name] = ", ".join(f"`{s}`" for s in measured.survivors)
    path.write_text(render_table(rows, survivors), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("targets", nargs="*", help=f"any of: {', '.join(TARGETS)} (default all)")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="parallel mutants (default 2)")
    parser.add_argument("--show", action="store_true", help="print each survivor's diff")
    parser.add_argument(
        "--since",
        metavar="REV",
        help="mutate only the targets' functions changed since REV (its merge base with HEAD)",
    )
    parser.add_argument(
        "--only",
        metavar="PATTERN",
        action="append",
        help="mutate only these of the targets' functions (fnmatch over mangled names, "
        "e.g. 'x__git' or 'xǁFinderǁ*'; repeatable): to check new tests against one function",
    )
    parser.add_argument(
        "--table", action="store_true", help=f"rewrite these targets' rows of {TABLE.name}"
    )
    args = parser.parse_args(argv)
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s): {', '.join(unknown)}")
    if (args.since or args.only) and args.table:
        parser.error("--table records whole targets; --since and --only mutate only part of them")
    if args.since and args.only:
        parser.error("--since and --only both choose functions: give one")
    if args.list:
        for name, target in TARGETS.items():
            print(f"{name}: {', '.join(target.files)} [{', '.join(target.functions)}]")
            print(f"    tests: {', '.join(target.tests)}")
        return 0
    names = args.targets or list(TARGETS)
    only: dict[str, tuple[str, ...] | None] = dict.fromkeys(names)
    if args.only:
        only = {name: tuple(args.only) for name in names}
    if args.since:
        plan, outside = since_plan(args.since)
        for path, lines in outside.items():
            print(f"{path}: lines {_ranges(lines)} changed outside any function: not mutated")
        only = {name: plan[name] for name in names if name in plan}
        if not only:
            print(f"no target's functions changed since {args.since}")
            return 0
        for name, functions in only.items():
            print(f"{name}: {', '.join(functions)}")
    failed = False
    results: dict[str, Measured] = {}
    when = _measured_on()  # each copy is made from the working tree as it is now
    for name, functions in only.items():
        measured = run_target(name, TARGETS[name], args.jobs, args.show, functions)
        results[name] = measured
        print(
            f"{name}: {measured.mutants} mutants, {measured.killed} killed, "
            f"{len(measured.equivalent)} equivalent, {len(measured.survivors)} survived "
            f"({measured.share:.1f}%, {measured.seconds:.0f} s)"
        )
        for entry in measured.survivors:
            print(f"    survived: {entry}")
        failed = failed or bool(measured.survivors)
    if args.table:
        update_table(results, when)
        print(f"wrote {TABLE.relative_to(ROOT)}")
    return 1 if failed else 0


def _ranges(lines: list[int]) -> str:
    """``[3, 4, 5, 9]`` -> ``3-5, 9``."""
    spans: list[list[int]] = []
    for n in lines:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in spans)


if __name__ == "__main__":
    sys.exit(main())

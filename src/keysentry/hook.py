"""``keysentry-hook``: the commit hook's entry point, with a narrow, fixed interface.

    keysentry-hook [OPTIONS] [--] FILE...  scan these files (the pre-commit framework's hook)
    keysentry-hook --staged [OPTIONS]      scan what is staged (the plain git hook)

OPTIONS: --config FILE, --format FORMAT, -q/--quiet, -v/--verbose. Exit codes and
output are those of ``keysentry scan`` and ``keysentry staged`` (0 nothing found, 1
findings, 2 usage or configuration error, 3 incomplete: an input could not be read),
secrets always redacted.

Everything after ``--`` is a file, whatever it looks like (``-v``, ``--quiet``, ``--``,
and ``-``, which is then the file named ``-``, not standard input): the pre-commit
framework appends the names of the files being committed, and .pre-commit-hooks.yaml
ends the hook's arguments with ``--``. Before ``--``, an argument that reads as an option
but also names an existing file is refused (exit 2) rather than guessed: a user's
``args:`` replace the manifest's, ``--`` included.

A hook runs on every commit, so its start-up is what users feel: this module parses
its few options by hand, then asks the screen (keysentry.detect.screen: the scanner's own
prefilter, run before the scanner is loaded) whether the inputs could hold anything.
Most commits cannot, and the screen then prints what the pipeline would have printed.
Everything else reaches the scan through the same functions as the full CLI
(invocation.build_request, pipeline.scan_paths / scan_staged, invocation.emit),
without click, argparse or hyperscan (keysentry.detect.literals loads it only for a large
job). Each stage imports what it needs when the job needs it: tests/hook/test_hook.py and
tests/hook/test_screen.py check which modules a hook run has loaded, and that the screen's
answers are the pipeline's.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from keysentry.errors import ExitCode, KeysentryError, UsageError

USAGE = """\
usage: keysentry-hook [OPTIONS] [--] FILE...  scan these files (pre-commit framework)
       keysentry-hook --staged [OPTIONS]      scan what is staged (plain git hook)

options:
  --config FILE    configuration file (default: the repository's .keysentry.toml,
                   else pyproject.toml)
  --format FORMAT  text (default), json, jsonl, sarif, github, csv or junit
  -q, --quiet      no summary on stderr
  -v, --verbose    list every skipped input
  -h, --help       show this help

Every argument after -- is a file, even one named like an option or `-`.
Exit codes: 0 nothing found, 1 findings, 2 usage or configuration error,
3 the scan could not complete (an input could not be read). The full CLI is
`keysentry`.
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return _run(args)
    except KeysentryError as exc:
        from keysentry.models import scrub_secrets

        _say(f"keysentry: error: {scrub_secrets(str(exc))}")
        return int(exc.exit_code)
    except KeyboardInterrupt:
        _say("keysentry: interrupted")
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        from keysentry.console import stdout

        stdout.drop()
        return int(ExitCode.INCOMPLETE)
    except Exception as exc:  # never a traceback, never a secret in the message
        from keysentry.models import scrub_secrets

        _say(
            f"keysentry: internal error: {type(exc).__name__}: {scrub_secrets(str(exc))[:500]}\n"
            "Please report this at the project's issue tracker."
        )
        return int(ExitCode.INCOMPLETE)


def _run(args: list[str]) -> int:
    staged = quiet = False
    verbose = 0
    fmt: str | None = None
    config: str | None = None
    files: list[str] = []
    while args:
        arg = args.pop(0)
        if arg == "--":
            # Files, whatever their names: "-" is the file of that name, not stdin.
            files.extend(_LITERAL_STDIN if name == "-" else name for name in args)
            break
        _refuse_ambiguous(arg)
        if arg in ("-h", "--help"):
            sys.stdout.write(USAGE)
            return int(ExitCode.CLEAN)
        if arg == "--staged":
            staged = True
        elif arg in ("-q", "--quiet"):
            quiet = True
        elif arg in ("-v", "--verbose"):
            verbose += 1
        elif arg in ("--config", "--format") or arg.startswith(("--config=", "--format=")):
            name, eq, value = arg.partition("=")
            if not eq:
                if not args:
                    raise UsageError(f"{name} needs a value\n{USAGE}")
                value = args.pop(0)
            if name == "--config":
                config = value
            elif fmt is not None or ":" in value:
                # A hook's report is what the commit's terminal shows: one, on stdout.
                raise UsageError(
                    "keysentry-hook writes one report, to standard output: give --format "
                    "once, without a file (`keysentry scan` writes several from one scan)"
                )
            else:
                fmt = value
        elif arg.startswith("-") and arg != "-":
            raise UsageError(f"no such option: {arg}\n{USAGE}")
        else:
            files.append(arg)
    if staged and files:
        raise UsageError("--staged scans the index: give no files with it")
    if not staged and not files:
        raise UsageError(f"name the files to scan, or scan the index with --staged\n{USAGE}")
    return _scan(
        files, staged=staged, fmt=fmt or "text", config=config, quiet=quiet, verbose=verbose
    )


_LITERAL_STDIN = "./-"
"""The file named ``-`` (``-`` alone means standard input to the pipeline)."""


def _refuse_ambiguous(arg: str) -> None:
    """An option-like argument before ``--`` that is also a file: the pre-commit framework
    appends file names, and one named ``-v`` must not silently turn into an option."""
    if arg.startswith("-") and os.path.lexists(arg):
        raise UsageError(
            f"{arg!r} is both an option and a file here: put -- before the files to scan "
            "(in .pre-commit-config.yaml, end the hook's args with --)"
        )


def _scan(
    files: list[str], *, staged: bool, fmt: str, config: str | None, quiet: bool, verbose: int
) -> int:
    if fmt == "text" and config is None and _screened_clean(files, staged=staged, quiet=quiet):
        return int(ExitCode.CLEAN)
    # The boundary to the pipeline: imported only once the arguments are known to be good.
    from pathlib import Path

    from keysentry.invocation import ScanOptions, build_request, emit, fail_closed
    from keysentry.report.plan import FORMATS, ReportSpec

    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    opts = ScanOptions(
        reports=(ReportSpec(fmt, None),),
        config_path=Path(config) if config is not None else None,
        rules=(),
        show_secrets=False,
        include_placeholders=False,
        validate=False,
        fail_on="any",
        no_cache=False,
        baseline=None,
        quiet=quiet,
        verbose=verbose,
    )
    if staged:
        from keysentry.pipeline import scan_staged

        request = build_request(opts, "staged", (".",))
        result = scan_staged(request, Path("."))
    else:
        from keysentry.pipeline import scan_paths

        targets = tuple(files)
        request = build_request(opts, "scan", targets)
        stdin = None
        if "-" in targets:
            from keysentry.console import stdin as standard_input

            stdin = standard_input.binary()
        result = scan_paths(request, stdin)
    # An input that could not be read is never "clean" (exit 3): the commit stops.
    return fail_closed(result, emit(result, opts))


def _screened_clean(files: list[str], *, staged: bool, quiet: bool) -> bool:
    """The screen (keysentry.detect.screen) found nothing any rule or decoder could use, so the
    pipeline's answer is known: print its summary, as the pipeline would, and say so.
    False: the pipeline runs, from the start."""
    import time

    from keysentry.console import wording
    from keysentry.detect import screen

    started = time.monotonic()
    screened = screen.screen_staged() if staged else screen.screen_files(files)
    if screened is None:
        return False
    if not quiet:
        lines = [
            wording.scanned_line(
                "staged" if staged else "scan",
                screened.inputs,
                screened.size,
                time.monotonic() - started,
            ),
            f"  configuration: {wording.DEFAULTS_NAME}",
            *(f"  {note}" for note in screened.notes),
            "  0 finding(s)",
        ]
        _say("\n".join(lines))
    return True


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


if __name__ == "__main__":  # python -I -m keysentry.hook: what `keysentry install-hook` writes
    raise SystemExit(main())

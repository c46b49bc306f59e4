"""``keysentry fix``: move the keys found out of the code, into environment variables."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from keysentry.errors import ExitCode, UsageError
from keysentry.invocation import ScanOptions, build_request
from keysentry.report.plan import ReportSpec
from keysentry.untrusted import shown

if TYPE_CHECKING:
    from keysentry.fix.flow import FixReport

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def register(group: click.Group) -> None:
    group.add_command(fix)


@click.command()
@click.argument("paths", nargs=-1)
@click.option("--staged", is_flag=True, help="Fix the files that are staged (in the work tree).")
@click.option("--diff", is_flag=True, help="Print a unified diff and change nothing.")
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where the keys are kept (default: .env at the repository's root).",
)
@click.option("--name", metavar="NAME", help="The environment variable's name (default: the "
              "name the code gives the key, else OPENROUTER_API_KEY).")  # fmt: skip
@click.option("--no-keep", is_flag=True, help="Do not keep the keys anywhere (for keys that "
              "are already revoked): nothing with a key is written.")  # fmt: skip
@click.option("--exclude", multiple=True, metavar="PATTERN",
              help="Skip paths matching this gitignore-style pattern (repeatable).")  # fmt: skip
@click.option("--config", "config_path", type=click.Path(path_type=Path),
              help="Configuration file (default: the repository's).")  # fmt: skip
@click.option("--show-secrets", is_flag=True, help="Show the keys in the diff and messages.")
@click.option("--quiet", "-q", is_flag=True, help="Only the list of what is left to do.")
def fix(
    paths: tuple[str, ...],
    staged: bool,
    diff: bool,
    env_file: Path | None,
    name: str | None,
    no_keep: bool,
    exclude: tuple[str, ...],
    config_path: Path | None,
    show_secrets: bool,
    quiet: bool,
) -> int:
    """Move each key found in the code into an environment variable.

    The literal becomes the language's read of the variable (os.environ["NAME"],
    process.env.NAME, ...); the key is appended to the env file (created 0600, ignored
    and untracked). Exit codes: 0 nothing to change, 1 files changed (with --diff: would
    change), 2 usage error, 3 something could not be fixed (listed)."""
    from keysentry.fix.flow import FixOptions, run_fix, staged_targets

    if name is not None and not _NAME.fullmatch(name):
        raise UsageError(f"--name {name!r} is not a valid environment variable name")
    opts = ScanOptions(
        reports=(ReportSpec("text", None),), config_path=config_path, rules=(), show_secrets=False,
        include_placeholders=False, validate=False, fail_on="any", no_cache=False,
        baseline=None, quiet=True, verbose=0,
    )  # fmt: skip
    # fix never reads standard input: `-` is the file of that name (pre-commit passes
    # the names of the files being committed, after `--`).
    targets = tuple("./-" if p == "-" else p for p in paths) or (".",)
    options = FixOptions(
        staged=staged, diff=diff, env_file=env_file, name=name, keep=not no_keep,
        show_secrets=show_secrets,
    )  # fmt: skip
    if staged:
        targets = staged_targets(paths)
        if not targets:
            sys.stderr.write("keysentry fix: nothing is staged\n")
            return int(ExitCode.CLEAN)
    request = build_request(opts, "fix", targets, extra_excludes=exclude)
    report = run_fix(request, options)
    if diff and report.diff:
        sys.stdout.write(report.diff)
        sys.stdout.flush()
    sys.stderr.write(render(report, quiet=quiet))
    sys.stderr.flush()
    if report.by_hand:
        return int(ExitCode.INCOMPLETE)
    return int(ExitCode.FINDINGS if report.changed else ExitCode.CLEAN)


def render(report: FixReport, *, quiet: bool = False) -> str:
    """What was done (or would be, with --diff), what is left to do by hand, and what the
    fix does not make safe. Every path is shown escaped and with keys redacted."""
    lines: list[str] = []
    dry = report.dry_run
    verb = "would fix" if dry else "fixed"
    fixed = 0
    advice: dict[str, None] = {}
    for fp in report.plan.files:
        if not fp.changes:
            continue  # an ignored env file keeps its keys: nothing to do there
        for o in fp.outcomes:
            if o.info.fixable:
                fixed += 1
                if o.info.advice:
                    advice[f"{shown(fp.target.path)}: {o.info.advice}"] = None
                if not quiet:
                    pos = o.position
                    lines.append(f"{shown(fp.target.path)}:{pos.line}:{pos.column}: {verb}: "
                                 f"{o.info.how}")  # fmt: skip
    for item in report.by_hand:
        lines.append(
            f"{shown(item.path)}:{item.line}:{item.column}: change by hand: {item.redacted}: "
            f"{item.reason}"
        )
    env = shown(_relative(report.env_file)) if report.env_file is not None else ".env"
    if report.env_added:
        state = "created, mode 0600" if report.env_created else "appended"
        lines.append(f"{env}: {', '.join(report.env_added)} ({state})")
    elif report.would_add and dry:
        lines.append(f"{env}: would add {', '.join(report.would_add)}")
    elif report.would_add:
        lines.append(
            f"--no-keep: no key was written anywhere; set {', '.join(report.would_add)} "
            "yourself (with a new key) before the program runs"
        )
    for path in report.ignored:
        lines.append(f".gitignore: {shown(path)} added")
    for path in report.untracked:
        lines.append(f"{shown(path)}: untracked (git rm --cached); the file is kept")
    for text in advice:
        lines.append(f"next: {text}")
    for redacted, where in report.committed.items():
        lines.append(
            f"warning: {redacted} is already committed ({', '.join(map(shown, where))} in HEAD"
            "; if that was pushed, it is public): moving it out of the code does not make it "
            "safe. Check it (keysentry scan --validate), disable it (keysentry revoke), then "
            "remove it from history (keysentry purge)."
        )
    issues = report.scan.stats.issues
    if issues:
        lines.append(f"not fully scanned: {len(issues)} input(s) (keysentry scan -v lists them)")
    summary = f"keysentry fix: {fixed} location(s) {'to fix' if dry else 'fixed'}"
    if report.by_hand:
        summary += f", {len(report.by_hand)} to change by hand"
    if not fixed and not report.by_hand and not report.changed:
        summary = "keysentry fix: nothing to change"
    lines.append(summary)
    return "\n".join(lines) + "\n"


def _relative(path: Path) -> str:
    import os

    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)

"""The click group: parses, calls one pipeline function, renders, picks the exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from keysentry import __version__
from keysentry.cli.common import collect_options, scan_options
from keysentry.console import stdin
from keysentry.errors import ExitCode, KeysentryError
from keysentry.invocation import build_request, emit, fail_closed
from keysentry.untrusted import shown

COMMAND_MODULES = {
    "audit": "audit",
    "baseline": "baseline",
    "check-key": "keys",
    "ci": "integrations",
    "fix": "fix",
    "history": "git",
    "install-hook": "integrations",
    "keys": "keys",
    "purge": "purge",
    "revoke": "keys",
    "staged": "git",
}
"""Command -> the module of ``keysentry.cli`` whose ``register`` adds it."""


class LazyGroup(click.Group):
    """Imports a command's module when that command is asked for: a run pays for its own
    command, not for all of them (``keysentry audit`` resuming an unchanged fleet takes a
    fraction of a second, a third of it was importing the other commands)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMAND_MODULES})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            _register(self, COMMAND_MODULES[cmd_name])
        return self.commands.get(cmd_name)


def _register(group: click.Group, module: str) -> None:
    # Plain import statements, not importlib: what each command imports stays visible to
    # import-linter and to ``python -X importtime``.
    if module == "audit":
        from keysentry.cli import audit

        audit.register(group)
    elif module == "baseline":
        from keysentry.cli import baseline

        baseline.register(group)
    elif module == "fix":
        from keysentry.cli import fix

        fix.register(group)
    elif module == "git":
        from keysentry.cli import git

        git.register(group)
    elif module == "integrations":
        from keysentry.cli import integrations

        integrations.register(group)
    elif module == "keys":
        from keysentry.cli import keys

        keys.register(group)
    elif module == "purge":
        from keysentry.cli import purge

        purge.register(group)
    else:
        raise ValueError(f"no command module {module!r}")


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, _param, value: _print_version(ctx) if value else None,
    help="Show the version and the digest of the built-in rules, and exit.",
)
def cli() -> None:
    """Find leaked OpenRouter API keys, check whether they are live, and clean up.

    Exit codes: 0 nothing found, 1 findings, 2 usage or configuration error,
    3 the scan or operation could not complete."""


def _print_version(ctx: click.Context) -> None:
    """``keysentry 0.1.0 (built-in rules sha256:...)``: the digest says which rules run,
    whatever the version says (an edited install, a development checkout)."""
    from keysentry.detect.rules import builtin_rules_digest

    click.echo(f"keysentry {__version__} (built-in rules sha256:{builtin_rules_digest()})")
    ctx.exit(0)


@cli.command()
@click.argument("paths", nargs=-1)
@click.option(
    "--exclude",
    multiple=True,
    metavar="PATTERN",
    help="Skip paths matching this gitignore-style pattern (repeatable).",
)
@scan_options
def scan(paths: tuple[str, ...], exclude: tuple[str, ...], **kwargs: Any) -> int:
    """Scan files and directories (default: the current directory); '-' reads stdin.

    Symbolic links are not followed and .git directories are skipped (use
    `keysentry history` for the repository's history)."""
    from keysentry.pipeline import scan_paths

    opts = collect_options(kwargs)
    targets = paths or (".",)
    request = build_request(opts, "scan", targets, extra_excludes=exclude)
    result = scan_paths(request, stdin.binary() if "-" in targets else None)
    return fail_closed(result, emit(result, opts))


def _message(exc: BaseException) -> str:
    """An error's text, safe for the terminal: it may quote a name or a line from the
    scanned repository (keys redacted, control characters escaped; lines kept)."""
    return "\n".join(shown(line) for line in str(exc).split("\n"))


COMPLETE_VAR = "_KEYSENTRY_COMPLETE"
"""Set by a shell's completion script (click's shell completion, e.g. ``bash_source``)."""


def _invoke(args: list[str]) -> Any:
    """What ``cli.main(standalone_mode=False)`` does, without its handling of a closed
    standard output: click turns EPIPE into ``sys.exit(1)``, and 1 means "findings"."""
    instruction = os.environ.get(COMPLETE_VAR)
    if instruction:
        from click.shell_completion import shell_complete

        return shell_complete(cli, {}, "keysentry", COMPLETE_VAR, instruction)
    try:
        with cli.make_context("keysentry", args) as ctx:
            return cli.invoke(ctx)
    except click.exceptions.Exit as exc:  # --help, --version
        return exc.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    try:
        rv = _invoke(list(sys.argv[1:] if argv is None else argv))
    except click.exceptions.Abort as exc:
        # click turns Ctrl-C into Abort; a declined prompt is an Abort too.
        ctrl_c = isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt)
        click.echo(f"keysentry: {'interrupted' if ctrl_c else 'aborted'}", err=True)
        return ExitCode.INTERRUPTED
    except click.ClickException as exc:
        # click uses exit 1 for its own errors; 1 means "findings" here.
        exc.show()
        return ExitCode.USAGE
    except KeysentryError as exc:
        click.echo(f"keysentry: error: {_message(exc)}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("keysentry: interrupted", err=True)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:  # the reader of standard output went away (`| head`)
        from keysentry.console import stdout

        stdout.drop()
        return ExitCode.INCOMPLETE
    except Exception as exc:  # never a traceback, never a secret in the message
        click.echo(
            f"keysentry: internal error: {type(exc).__name__}: {_message(exc)[:500]}\n"
            "Please report this at the project's issue tracker.",
            err=True,
        )
        return ExitCode.INCOMPLETE
    return int(rv) if isinstance(rv, int) else ExitCode.CLEAN


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

"""Commands that fit keysentry into other tools: ``install-hook`` and ``ci``.

``ci`` scans the range :func:`keysentry.cli.ci_ranges.choose_ranges` picks from the
environment (and GitHub's event payload), and states the plain-language reason it
gives in the summary and in every report (``ScanResult.scope``).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import click

from keysentry.cli.ci_ranges import NoRange, choose_ranges, ci_job
from keysentry.cli.common import collect_options, scan_options
from keysentry.console import stdin
from keysentry.errors import UsageError
from keysentry.git import run as gitio
from keysentry.invocation import build_request, emit

HOOK_MARKER = "# keysentry-hook v1"


def register(group: click.Group) -> None:
    group.add_command(install_hook)
    group.add_command(ci)


# -- install-hook ---------------------------------------------------------------------------

_HOOK_SCRIPT = """\
#!/bin/sh
{marker}: written by `keysentry install-hook{flag}`.
# {purpose}
# Re-run the command to update this file; delete it to remove the hook.
# Skip it once with `git {verb} --no-verify`.
#
# git runs this in the repository's work tree, whose files are not to be trusted: Python
# runs isolated (-I), so that no module there (a committed keysentry/ or keysentry.py),
# nor PYTHONPATH, can stand in for keysentry's own; and only absolute PATH entries are
# searched (a relative entry, such as . or an empty one, would name the work tree).
KEYSENTRY_PYTHON={python}
if [ -x "$KEYSENTRY_PYTHON" ]; then
    exec "$KEYSENTRY_PYTHON" -I -m {module} {command}
fi
# The interpreter above is gone (a rebuilt virtual environment): the one of the {script}
# found on PATH, named by the first line of that script.
IFS=:
set -f
for dir in $PATH; do
    case $dir in
    /*)
        if [ -f "$dir/{script}" ] && [ -x "$dir/{script}" ]; then
            read -r shebang < "$dir/{script}" || shebang=
            python=${{shebang#'#!'}}
            case $shebang in
            '#!/'*)
                if [ -x "$python" ]; then
                    unset IFS
                    exec "$python" -I -m {module} {command}
                fi ;;
            esac
        fi ;;
    esac
done
unset IFS
echo "keysentry hook: keysentry is not installed here, so nothing was scanned. Install it" >&2
echo "as its README says (pip install from a clone or from its git URL), then run" >&2
echo "keysentry install-hook again; or remove this hook: $0" >&2
exit 1
"""


def hook_script(pre_push: bool, python: str) -> str:
    return _HOOK_SCRIPT.format(
        marker=HOOK_MARKER,
        flag=" --pre-push" if pre_push else "",
        purpose=(
            "Scans the commits being pushed for leaked OpenRouter API keys."
            if pre_push
            else "Scans what is being committed (the staged content) for leaked OpenRouter keys."
        ),
        verb="push" if pre_push else "commit",
        python=shlex.quote(python),
        # The pre-commit hook runs on every commit: it goes through keysentry-hook, which
        # starts without the full CLI (click) and scans the index like `keysentry staged`.
        module="keysentry" if pre_push else "keysentry.hook",
        script="keysentry" if pre_push else "keysentry-hook",
        command='ci --pre-push "$1"' if pre_push else "--staged",
    )


def check_isolated(python: str) -> None:
    """The hook runs ``python -I``: refuse to write one that could not import keysentry so
    (installed in the user's site-packages or found through PYTHONPATH, which -I ignores),
    rather than a hook that fails on every commit."""
    import keysentry

    expected = os.path.dirname(os.path.realpath(keysentry.__file__))
    probe = "import os, keysentry; print(os.path.dirname(os.path.realpath(keysentry.__file__)))"
    try:
        proc = subprocess.run(
            [python, "-I", "-c", probe], cwd=os.sep, capture_output=True,
            stdin=subprocess.DEVNULL, text=True, timeout=60, check=False,
        )  # fmt: skip
        found = proc.stdout.strip() if proc.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        found = None
    if found != expected:
        raise UsageError(
            f"the hook runs Python isolated ({python} -I), so that no module in the repository "
            f"can stand in for keysentry, and that Python does not find this keysentry "
            f"({expected}) without the user site-packages or PYTHONPATH. Install keysentry "
            "in a virtual environment (python3 -m venv, or pipx) and run its "
            "`keysentry install-hook`, or use the pre-commit framework"
        )


def hooks_dir(cwd: Path) -> Path:
    """Where git runs this repository's hooks from, honouring ``core.hooksPath``."""
    top = gitio.run_git(["rev-parse", "--show-toplevel"], cwd, check=False)
    common = gitio.run_git(["rev-parse", "--git-common-dir"], cwd, check=False)
    if common.returncode != 0:
        raise UsageError(f"not inside a git repository: {cwd}")
    bare = gitio.run_git(["rev-parse", "--is-bare-repository"], cwd, check=False)
    if bare.stdout.strip() == b"true":
        raise UsageError(
            f"{cwd} is in a bare repository: nothing is committed or pushed from it, so its "
            "pre-commit and pre-push hooks never run. Install the hook in a clone; on a "
            "server, run `keysentry ci` in CI, or `keysentry ci --pre-receive` from the "
            "repository's pre-receive hook (see the README)"
        )
    root = Path(os.fsdecode(top.stdout.rstrip(b"\n"))) if top.returncode == 0 else None
    # gitio pins core.hooksPath on its own command line; read the configured value instead.
    proc = gitio.run_git(["config", "--show-origin", "--get-all", "core.hooksPath"], cwd,
                         check=False)  # fmt: skip
    configured = [
        line.split("\t", 1)[1]
        for line in proc.stdout.decode("utf-8", "replace").splitlines()
        if "\t" in line and not line.startswith("command line:")
    ]
    if configured:
        hooks = Path(os.path.expanduser(configured[-1]))
        return hooks if hooks.is_absolute() or root is None else root / hooks
    return (cwd / os.fsdecode(common.stdout.rstrip(b"\n"))).resolve() / "hooks"


@click.command("install-hook")
@click.option("--pre-push", is_flag=True,
              help="Install the pre-push hook (scans the commits being pushed) instead of "
                   "the pre-commit hook (scans the staged content).")  # fmt: skip
@click.option(
    "--force",
    is_flag=True,
    help="Replace a hook keysentry did not write (it is kept as HOOK.keysentry-backup).",
)
def install_hook(pre_push: bool, force: bool) -> int:
    """Install a plain git hook for users without the pre-commit framework.

    With the framework, use the `keysentry` and `keysentry-pre-push` hooks from
    .pre-commit-hooks.yaml instead."""
    directory = hooks_dir(Path.cwd())
    hook = directory / ("pre-push" if pre_push else "pre-commit")
    backup = None
    foreign = False
    if hook.exists() or hook.is_symlink():
        try:
            foreign = HOOK_MARKER not in hook.read_text(encoding="utf-8", errors="replace")
        except OSError:
            foreign = True
        if foreign and not force:
            raise UsageError(
                f"{hook} exists and was not written by keysentry; not replacing "
                "it. Call keysentry from it yourself, use the pre-commit "
                "framework, or pass --force (the old hook is kept as a backup)"
            )
    check_isolated(sys.executable)
    if foreign:
        backup = hook.with_name(hook.name + ".keysentry-backup")
        os.replace(hook, backup)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        hook.write_text(hook_script(pre_push, sys.executable), encoding="utf-8")
        hook.chmod(0o755)
    except OSError as exc:
        raise UsageError(f"cannot write {hook}: {exc.strerror or exc}") from None
    what = "the commits being pushed" if pre_push else "the staged content of every commit"
    click.echo(f"keysentry: installed {hook}: it scans {what}.", err=True)
    if backup is not None:
        click.echo(f"keysentry: the previous hook is kept as {backup}", err=True)
    return 0


# -- ci -------------------------------------------------------------------------------------


@click.command("ci")
@click.option(
    "--range",
    "range_",
    metavar="BASE..HEAD",
    help="Scan these commits (needed outside GitHub Actions and GitLab CI).",
)
@click.option(
    "--pre-push",
    "pre_push",
    metavar="REMOTE",
    help="Read the refs being pushed from stdin, as git's pre-push hook gets them.",
)
@click.option(
    "--pre-receive",
    is_flag=True,
    help="Read the refs being pushed from stdin, as a server's pre-receive hook gets them.",
)
@click.option(
    "--full-fallback",
    is_flag=True,
    help="When no range can be determined, audit the whole history instead of failing.",
)
@scan_options
def ci(
    range_: str | None, pre_push: str | None, pre_receive: bool, full_fallback: bool, **kwargs: Any
) -> int:
    """Scan the commits a CI job or a push is about: only new leaks fail it.

    \b
    The range is chosen, and stated, in this order:
      --range BASE..HEAD
      --pre-push REMOTE (git's pre-push hook) or pre-commit's PRE_COMMIT_FROM_REF/TO_REF
      --pre-receive (a server's pre-receive hook): each updated ref's new commits
      GitHub Actions: pull_request base..head; push before..after; a new branch:
        the commits not on the default branch
      GitLab CI: the merge-request diff base..head; push before..sha; a new
        branch: the commits not on the default branch
    Without any of them it fails (exit 2), unless --full-fallback asks for a
    whole-history audit. Needs the history in the clone (fetch-depth: 0)."""
    from keysentry.pipeline import run_ci

    opts = collect_options(kwargs)
    repo = Path.cwd()
    if pre_push is not None and pre_receive:
        raise UsageError("--pre-push and --pre-receive exclude each other")
    reads = pre_push is not None or pre_receive
    lines = stdin.read_text().splitlines() if reads else []
    try:
        ranges = choose_ranges(os.environ, repo, range_, pre_push, lines, pre_receive)
    except NoRange as exc:
        if not full_fallback:
            raise
        note = f"{exc.reason}: auditing the whole history, as --full-fallback asks"
        request = build_request(opts, "ci", (str(repo),))
        return emit(run_ci(request, repo, [(None, note)], ci_job(os.environ)), opts)
    # In a CI job the commits came from the server; a push hook's are not there yet.
    published = "" if any(r.before_push for r in ranges) else ci_job(os.environ)
    request = build_request(opts, "ci", (str(repo),))
    incoming = [r.head for r in ranges if r.incoming]
    result = run_ci(request, repo, [(r.spec, r.why) for r in ranges], published, incoming)
    return emit(result, opts)

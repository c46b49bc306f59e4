"""CLI commands that talk to the OpenRouter API: check-key, keys list/audit/rotate, revoke.

Keys are read from stdin or the environment only, never from argv (argv lands in shell
history and in the process list). The base URL comes from ``OPENROUTER_BASE_URL`` or the
public default, never from a repository's config file: these commands send the user's own
keys, and a cloned repository must not be able to redirect them. ``requests`` and the
validate package are imported inside the commands so importing this module stays cheap.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from keysentry.console import stdin
from keysentry.errors import ApiError, ExitCode, UsageError
from keysentry.models import fingerprint_of

if TYPE_CHECKING:
    from keysentry.validate.management import ApiKeyRecord, ManagementClient

MANAGEMENT_KEY_ENV = "OPENROUTER_MANAGEMENT_KEY"
_KEY = re.compile(r"sk-or-v\d+-[0-9a-f]{64}")
_HANDLER_NAME = "keysentry-cli-keys"
# Kept in step with keysentry.validate.audit.AUDIT_FLAGS (a test checks), which is not
# imported here so that building the click options stays cheap.
_AUDIT_FLAG_NAMES = (
    "leaked",
    "management-key",
    "no-limit",
    "no-expiry",
    "never-used",
    "unused-this-month",
    "disabled-not-deleted",
)

_verbose_option = click.option(
    "--verbose", "-v", count=True, help="Log progress to stderr (-vv for every request)."
)


def register(group: click.Group) -> None:
    """Add ``check-key``, ``keys`` (list, audit, rotate) and ``revoke`` to the main group."""
    group.add_command(check_key)
    group.add_command(keys_group)
    group.add_command(revoke)


# -- check-key ---------------------------------------------------------------------------


@click.command("check-key")
@click.argument("argv_keys", nargs=-1, metavar="")
@click.option(
    "--env",
    "env_name",
    metavar="NAME",
    help="Read the key(s) from this environment variable (one per line) instead of stdin.",
)
@click.option(
    "--format",
    "format_",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="Wait at most this long for one answer.",
)
@click.option(
    "--budget",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="Give up on every key not settled after this long in total.",
)
@click.option("--quiet", "-q", is_flag=True, help="Do not say what a slow check waits for.")
@_verbose_option
def check_key(
    argv_keys: tuple[str, ...],
    env_name: str | None,
    format_: str,
    timeout: float,
    budget: float,
    quiet: bool,
    verbose: int,
) -> int:
    """Check whether OpenRouter keys are live (GET /key; costs no credits).

    Keys are read from stdin, one per line, or from the variable named by --env; never
    from the command line. Output is redacted. The cache is not used: every key is probed.

    A key gets at most 4 attempts of at most --timeout seconds each, with short pauses
    between them (or the wait the server asks for), and the whole command ends within
    --budget seconds: an unreachable or hanging API makes the key "unknown" (exit 3), and
    a line on stderr says what is awaited whenever an answer takes more than a second or two.

    Exit codes: 0 no key is live; 1 at least one key is live; 2 usage error (no key, or a
    line that is not a key); 3 at least one key could not be checked and none is live.
    """
    from keysentry.validate import ValidationSettings, validate_secrets
    from keysentry.validate.render import check_json, check_text

    _configure_logging(verbose)
    if argv_keys:
        # Caught here rather than left to click, whose error message would echo the key.
        raise UsageError(
            "check-key takes no arguments: keys on the command line end up in shell history "
            "and the process list. Pipe them on stdin, or use --env NAME."
        )
    if env_name is not None:
        if env_name not in os.environ:
            raise UsageError(f"environment variable {env_name} is not set")
        lines, source = os.environ[env_name].splitlines(), f"${env_name}"
    else:
        lines, source = _stdin_lines(), "stdin"
    secrets = _read_keys(lines, source)
    section = {"timeout": timeout, "budget": budget}
    settings = ValidationSettings.from_config(section, os.environ, no_cache=True)
    results = validate_secrets(secrets, settings, on_wait=None if quiet else _say_waiting)
    rows = [(s, results[fingerprint_of(s)]) for s in secrets]
    if format_ == "json":
        click.echo(check_json(rows))
    else:
        click.echo(check_text(rows), nl=False)
    statuses = {v.status for _, v in rows}
    if "live" in statuses:
        return int(ExitCode.FINDINGS)
    return int(ExitCode.INCOMPLETE if "unknown" in statuses else ExitCode.CLEAN)


def _say_waiting(text: str) -> None:
    click.echo(f"keysentry: {text}", err=True)


def _read_keys(lines: Iterable[str], source: str) -> list[str]:
    """Distinct keys in input order; blank lines and # comments are skipped."""
    found: dict[str, None] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not _KEY.fullmatch(line):
            # Name the line, never echo it: it may be a mistyped key.
            raise UsageError(
                f"{source} line {number} is not an OpenRouter key "
                "(expected sk-or-v1- followed by 64 lowercase hex characters)"
            )
        found[line] = None
    if not found:
        raise UsageError(f"no key on {source}: give one key per line")
    return list(found)


# -- keys list / audit -------------------------------------------------------------------


@click.group("keys")
def keys_group() -> None:
    """Inspect the account's keys with a management key.

    The management key is read from OPENROUTER_MANAGEMENT_KEY (create one at
    https://openrouter.ai/settings/management-keys)."""


@keys_group.command("list")
@click.option(
    "--include-disabled",
    is_flag=True,
    help="Also list disabled keys (by default only enabled keys are listed).",
)
@click.option("--workspace", metavar="ID", help="List this workspace (default: the default one).")
@click.option(
    "--format",
    "format_",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
)
@_verbose_option
def list_keys(include_disabled: bool, workspace: str | None, format_: str, verbose: int) -> int:
    """List the account's enabled keys (follows pages of 100); --include-disabled adds the
    disabled ones. Deleted keys are gone and never listed.

    Exit codes: 0 listed; 2 usage error (no management key); 3 the API call failed (also for
    a key that is invalid or not a management key)."""
    from keysentry.validate.render import keys_json, keys_table

    _configure_logging(verbose)
    with _management_client() as client:
        records = client.list_keys(include_disabled=include_disabled, workspace_id=workspace)
    if format_ == "json":
        click.echo(keys_json(records))
    else:
        click.echo(keys_table(records), nl=False)
        click.echo(f"{len(records)} key(s)", err=True)
    return int(ExitCode.CLEAN)


@keys_group.command("audit")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="A keysentry JSON or JSONL report ('-' reads stdin): mark the account keys it "
    "found leaked.",
)
@click.option("--workspace", metavar="ID", help="Audit this workspace (default: the default one).")
@click.option(
    "--fail-on",
    multiple=True,
    type=click.Choice([*_AUDIT_FLAG_NAMES, "any"]),
    default=("leaked",),
    show_default=True,
    help="Exit 1 when a key has this flag (repeatable; 'any' for every flag).",
)
@click.option(
    "--format",
    "format_",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
)
@_verbose_option
def audit_keys(
    report_path: str | None,
    workspace: str | None,
    fail_on: tuple[str, ...],
    format_: str,
    verbose: int,
) -> int:
    """Flag risky keys: leaked (and still enabled), management, no credit limit, no expiry,
    never used or unused this month, disabled but not deleted.

    With --report, a report's fingerprints are matched to the keys' hash (a redacted report
    is enough). Exit codes: 0 no key has a --fail-on flag; 1 at least one key has one (by
    default: a leaked key that is still enabled, so the gate clears once it is revoked);
    2 usage error; 3 the API call failed."""
    from keysentry.findings.read import read_report
    from keysentry.validate.audit import audit_keys as run_audit
    from keysentry.validate.audit import leak_report
    from keysentry.validate.render import audit_json, audit_summary, audit_table

    _configure_logging(verbose)
    report = leak_report(read_report(report_path)) if report_path is not None else None
    leaked = report.fingerprints if report is not None else frozenset()
    with _management_client() as client:
        own_hash = fingerprint_of(client_key())
        records = {r.hash: r for r in client.list_keys(workspace_id=workspace)}
        # Leaked keys in other workspaces and management keys are not in the list: look
        # them up one by one (a leaked management key is the worst case of all).
        for key_hash in sorted((leaked | {own_hash}) - records.keys()):
            record = client.get_key(key_hash)
            if record is not None:
                records[key_hash] = record
    management = {own_hash} | (report.management if report is not None else set())
    audited = run_audit(records.values(), leaked=leaked, management=frozenset(management))
    missing = sorted(leaked - records.keys())
    if format_ == "json":
        click.echo(audit_json(audited, missing))
    else:
        click.echo(audit_table(audited), nl=False)
        click.echo(audit_summary(audited, missing, report_path is not None), nl=False, err=True)
    gate = set(_AUDIT_FLAG_NAMES) if "any" in fail_on else set(fail_on)
    failed = any(gate.intersection(a.flags) for a in audited)
    return int(ExitCode.FINDINGS if failed else ExitCode.CLEAN)


# -- revoke ------------------------------------------------------------------------------


@click.command("revoke")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Revoke the keys in this keysentry JSON or JSONL report (a redacted report is "
    "enough; '-' reads stdin).",
)
@click.option("--delete", is_flag=True, help="Delete the keys instead of disabling them.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Only show what would be done.")
@_verbose_option
def revoke(report_path: str | None, delete: bool, yes: bool, dry_run: bool, verbose: int) -> int:
    """Disable (default) or delete leaked keys in your account.

    The keys come from --report FILE (a JSON or JSONL report; '-' for stdin) or from stdin:
    raw keys or 64-hex fingerprints, one per line. Needs OPENROUTER_MANAGEMENT_KEY. Shows the plan, then asks for confirmation
    unless --yes (required when the keys come from stdin); --dry-run only shows the plan.
    Disabling can be undone on the OpenRouter dashboard; deleting cannot.

    Exit codes: 0 done, nothing to do, or declined; 2 usage error; 3 an API call failed.
    """
    from keysentry.findings.read import read_report
    from keysentry.validate.audit import leak_report, parse_hash_lines
    from keysentry.validate.render import revoke_plan

    _configure_logging(verbose)
    if (report_path is None or report_path == "-") and not (yes or dry_run):
        raise UsageError(
            "input read from stdin leaves no way to confirm: pass --yes (or --dry-run)"
        )
    if report_path is not None:
        hashes = leak_report(read_report(report_path)).fingerprints
    else:
        hashes = parse_hash_lines(_stdin_lines(), source="stdin")
    if not hashes:
        click.echo("Nothing to revoke: no keys given.", err=True)
        return int(ExitCode.CLEAN)
    verb = "delete" if delete else "disable"
    with _management_client() as client:
        own_hash = fingerprint_of(client_key())
        # The management key itself goes last: revoking it ends this session's access.
        ordered = sorted(hashes, key=lambda h: (h == own_hash, h))
        planned, skipped = _plan(client, ordered, delete)
        click.echo(revoke_plan(verb, planned, skipped, own_hash), nl=False)
        if not planned or dry_run:
            return int(ExitCode.CLEAN)
        if not yes and not _confirm(f"{verb.capitalize()} {len(planned)} key(s)?"):
            click.echo("Nothing changed.", err=True)
            return int(ExitCode.CLEAN)
        failures = _execute(client, planned, delete)
        # Every key named is now known to be not live (or soon checked again): a cached
        # "live" must not outlast it. The skipped ones too (already disabled or gone).
        _forget_cached(hashes)
    if failures:
        raise ApiError(f"{failures} of {len(planned)} key(s) could not be {verb}d (see above)")
    return int(ExitCode.CLEAN)


def _plan(
    client: ManagementClient, hashes: Sequence[str], delete: bool
) -> tuple[list[ApiKeyRecord], list[tuple[str, str]]]:
    planned: list[ApiKeyRecord] = []
    skipped: list[tuple[str, str]] = []
    for key_hash in hashes:
        record = client.get_key(key_hash)
        if record is None:
            skipped.append((key_hash, "not in this account or already deleted"))
        elif record.disabled and not delete:
            skipped.append((key_hash, "already disabled"))
        else:
            planned.append(record)
    return planned, skipped


def _execute(client: ManagementClient, planned: Sequence[ApiKeyRecord], delete: bool) -> int:
    from keysentry.validate.render import api_text, quoted

    failures = 0
    for r in planned:
        try:
            done = client.delete_key(r.hash) if delete else client.disable_key(r.hash) is not None
        except ApiError as exc:
            failures += 1
            click.echo(f"  {'failed':<9} {api_text(r.hash[:16])}  {api_text(str(exc))}", err=True)
            continue
        status = ("deleted" if delete else "disabled") if done else "already gone"
        click.echo(f"  {status:<9} {api_text(r.hash[:16])}  {quoted(r.name)}")
    return failures


def _confirm(question: str) -> bool:
    try:
        return click.confirm(question, default=False, err=True)
    except click.Abort:
        # EOF on stdin (CI) lands here; Ctrl-C is reported the same way by click.
        raise UsageError("no answer to the confirmation prompt; pass --yes to proceed") from None


# -- keys rotate (S11) -------------------------------------------------------------------


@keys_group.command("rotate")
@click.argument("key_hash", metavar="HASH")
@click.option("--name", help="Name of the new key (default: the old name plus today's date).")
@click.option(
    "--old",
    "old_action",
    type=click.Choice(["delete", "disable", "keep"]),
    default="delete",
    show_default=True,
    help="What to do with the old key once the new one answers live.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the new key to FILE (created with mode 600) instead of stdout.",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@_verbose_option
def rotate_key(
    key_hash: str,
    name: str | None,
    old_action: str,
    output: Path | None,
    yes: bool,
    verbose: int,
) -> int:
    """Replace the key with fingerprint HASH: create a new key with the same credit limit,
    check that it answers live, then delete (or disable, or keep) the old one.

    The new key is printed once, on stdout (or written to --output); it cannot be
    retrieved later. Exit codes: 0 rotated; 2 usage error (unknown HASH, no management key);
    3 an API call failed (the old key is left untouched unless the new one is live)."""
    from datetime import datetime, timezone

    from keysentry.validate import ValidationSettings, validate_secrets
    from keysentry.validate.render import api_text, money, quoted

    _configure_logging(verbose)
    key_hash = key_hash.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", key_hash):
        raise UsageError("HASH must be a key fingerprint: 64 hexadecimal characters")
    if output is not None and output.exists():
        raise UsageError(f"{output} exists; refusing to overwrite it with a key")
    with _management_client() as client:
        old = client.get_key(key_hash)
        if old is None:
            raise UsageError(f"no key {key_hash[:16]} in this account (or it was deleted)")
        today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        new_name = name or f"{old.name} (rotated {today})"
        click.echo(
            f"Create {quoted(new_name)} (limit {money(old.limit, none='unlimited')}), then "
            f"{old_action} {api_text(old.hash[:16])} {quoted(old.name)}.",
            err=True,
        )
        if not yes and not _confirm("Rotate?"):
            click.echo("Nothing changed.", err=True)
            return int(ExitCode.CLEAN)
        created = client.create_key(new_name, limit=old.limit, limit_reset=old.limit_reset)
        _deliver(created.secret, output)
        settings = ValidationSettings.from_config({}, os.environ, no_cache=True)
        check = validate_secrets([created.secret], settings)[created.record.hash]
        if check.status != "live":
            raise ApiError(
                f"the new key {api_text(created.record.hash[:16])} does not answer live "
                f"({check.status}: {check.reason}); the old key was left as it is"
            )
        if old_action == "delete":
            client.delete_key(old.hash)
        elif old_action == "disable":
            client.disable_key(old.hash)
        if old_action != "keep":
            _forget_cached([old.hash])
    done = {"delete": "deleted", "disable": "disabled", "keep": "kept"}[old_action]
    click.echo(f"New key {api_text(created.record.hash[:16])} is live; old key {done}.", err=True)
    return int(ExitCode.CLEAN)


def _deliver(secret: str, output: Path | None) -> None:
    """Hand the new key to the user: the one place keysentry prints a key on purpose."""
    if output is None:
        click.echo(secret)
        return
    try:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secret + "\n")
    except OSError as exc:
        # The key exists now: it must not be lost, so fall back to stdout.
        click.echo(f"cannot write {output}: {exc.strerror}; the new key follows", err=True)
        click.echo(secret)


# -- shared helpers ----------------------------------------------------------------------


def client_key() -> str:
    """The management key from the environment (checked by :func:`_management_client`)."""
    return os.environ.get(MANAGEMENT_KEY_ENV, "").strip()


def _management_client() -> ManagementClient:
    from keysentry.validate.management import ManagementClient
    from keysentry.validate.settings import ValidationSettings

    key = client_key()
    if not key:
        raise UsageError(
            f"{MANAGEMENT_KEY_ENV} is not set. These commands need a management key "
            "(create one at https://openrouter.ai/settings/management-keys) in that variable."
        )
    if not _KEY.fullmatch(key):
        raise UsageError(
            f"{MANAGEMENT_KEY_ENV} does not hold an OpenRouter key "
            "(expected sk-or-v1- followed by 64 lowercase hex characters)"
        )
    settings = ValidationSettings.from_config({}, os.environ)
    return ManagementClient(
        key,
        base_url=settings.base_url,
        timeout=settings.timeout,
        retries=settings.retries,
        rate_limit=settings.rate_limit,
    )


def _forget_cached(hashes: Iterable[str]) -> None:
    """Drop changed keys from the validation cache, so that the next ``scan --validate``
    asks the API instead of repeating a stale "live". These commands read no configuration,
    so this is the default cache directory; a ``cache_dir`` set in a configuration file is
    not seen (README: Validation)."""
    from keysentry.validate.cache import forget_keys

    dropped = forget_keys(hashes)
    logging.getLogger(__name__).info("dropped %d entr(ies) from the validation cache", dropped)


def _stdin_lines() -> list[str]:
    if sys.stdin is not None and sys.stdin.isatty():
        click.echo("Reading keys from stdin, one per line; end with Ctrl-D.", err=True)
    return stdin.read_text().splitlines()


def _configure_logging(verbose: int) -> None:
    """Send keysentry's log records to stderr at -v (INFO) or -vv (DEBUG)."""
    logger = logging.getLogger("keysentry")
    handler = next((h for h in logger.handlers if h.get_name() == _HANDLER_NAME), None)
    if verbose <= 0:
        if handler is not None:
            logger.removeHandler(handler)
        return
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name(_HANDLER_NAME)
        handler.setFormatter(logging.Formatter("keysentry: %(levelname)s: %(message)s"))
        logger.addHandler(handler)
    level = logging.DEBUG if verbose > 1 else logging.INFO
    handler.setLevel(level)
    if logger.getEffectiveLevel() > level:
        logger.setLevel(level)

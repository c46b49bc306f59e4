"""Commands that fit keysentry into other tools: ``baseline``, ``install-hook`` and ``ci``.

For ``ci`` each detector reads the environment (and GitHub's event payload) and
returns :class:`CommitRange` values with a plain-language reason, which ``ci``
states in the summary and in every report's notes.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from keysentry import gitio
from keysentry.cli_common import (
    ScanOptions,
    baseline_path,
    build_request,
    collect_options,
    emit,
    scan_options,
)
from keysentry.config import load_config
from keysentry.errors import UsageError
from keysentry.models import Finding, ScanResult, ScanStats

if TYPE_CHECKING:
    from keysentry.filters.baseline import BaselineEntry

HOOK_MARKER = "# keysentry-hook v1"
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")


def register(group: click.Group) -> None:
    group.add_command(baseline_group)
    group.add_command(install_hook)
    group.add_command(ci)


# -- baseline -------------------------------------------------------------------------------


def _baseline_options(func: Any) -> Any:
    options = [
        click.argument("paths", nargs=-1),
        click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False, path_type=Path),
                     help="Baseline file (default: the configured one, else "
                          ".keysentry-baseline.json)."),
        click.option("--from-report", type=click.Path(dir_okay=False, allow_dash=True),
                     help="Take the findings from a keysentry JSON report (any command, e.g. "
                          "`keysentry history --format json`; '-' reads stdin) instead of "
                          "scanning PATHS."),
        click.option("--exclude", multiple=True, metavar="PATTERN",
                     help="Skip paths matching this gitignore-style pattern (repeatable)."),
        click.option("--config", "config_path", type=click.Path(path_type=Path),
                     help="Configuration file."),
        click.option("--rules", multiple=True, type=click.Path(path_type=Path),
                     help="Extra rule file (repeatable)."),
        click.option("--include-placeholders", is_flag=True,
                     help="Also baseline placeholder-shaped keys."),
        click.option("--quiet", "-q", is_flag=True, help="No summary on stderr."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


@click.group("baseline")
def baseline_group() -> None:
    """Accept the findings that exist today, so that scans report only new ones.

    Entries are a rule id and the key's SHA-256 fingerprint (no line, no commit), so
    they survive rebases, squashes and moved lines. Scans use a baseline with
    `--baseline FILE` or `baseline = "..."` in the configuration."""


@baseline_group.command("create")
@_baseline_options
@click.option("--reason", default="", help="Why these findings are accepted (stored per entry).")
@click.option("--force", is_flag=True, help="Overwrite an existing baseline file.")
def baseline_create(reason: str, force: bool, **kwargs: Any) -> int:
    """Write a new baseline with every current finding."""
    from keysentry.filters import baseline as bl

    path, found = _baseline_inputs(kwargs)
    if path.exists() and not force:
        raise UsageError(
            f"{path} exists: `keysentry baseline update` adds to it and keeps its "
            "reasons; --force replaces it"
        )
    entries, _ = bl.updated([], found, reason)
    bl.save_baseline(path, entries)
    _say(
        kwargs,
        f"keysentry baseline: wrote {path} with {len(entries)} entr"
        f"{'y' if len(entries) == 1 else 'ies'}",
    )
    return 0


@baseline_group.command("update")
@_baseline_options
@click.option("--reason", default="", help="Reason stored on the entries added now.")
def baseline_update(reason: str, **kwargs: Any) -> int:
    """Add the current findings to the baseline; existing entries and reasons are kept."""
    from keysentry.filters import baseline as bl

    path, found = _baseline_inputs(kwargs)
    existing = bl.load_baseline(path).entries if path.exists() else ()
    entries, added = bl.updated(existing, found, reason)
    bl.save_baseline(path, entries)
    _say(kwargs, f"keysentry baseline: {path}: {added} added, {len(existing)} kept")
    return 0


@baseline_group.command("prune")
@_baseline_options
def baseline_prune(**kwargs: Any) -> int:
    """Remove the entries whose key is no longer found.

    Prune against the same source the baseline was made from: a baseline of the
    whole history pruned against a directory scan would lose its history entries."""
    from keysentry.filters import baseline as bl

    path, found = _baseline_inputs(kwargs)
    existing = bl.load_baseline(path).entries
    kept = bl.pruned(existing, found)
    bl.save_baseline(path, kept)
    _say(
        kwargs, f"keysentry baseline: {path}: {len(existing) - len(kept)} removed, {len(kept)} kept"
    )
    return 0


def _baseline_inputs(kwargs: dict[str, Any]) -> tuple[Path, list[BaselineEntry]]:
    """The baseline file to write and the entries for the findings found now."""
    from keysentry.filters.baseline import DEFAULT_PATH, entries_for

    opts = ScanOptions(
        format="json", output=None, config_path=kwargs["config_path"],
        rules=tuple(kwargs["rules"]), show_secrets=False,
        include_placeholders=kwargs["include_placeholders"], validate=False, fail_on="any",
        no_cache=False, baseline=kwargs["baseline_file"], quiet=True, verbose=0,
    )  # fmt: skip
    path = baseline_path(opts, load_config(opts.config_path, Path.cwd())) or DEFAULT_PATH
    if kwargs["from_report"]:
        if kwargs["paths"]:
            raise UsageError("give either PATHS or --from-report, not both")
        return path, _report_entries(kwargs["from_report"])
    from keysentry.pipeline import scan_paths

    # The scan must see every finding, including those the current baseline suppresses.
    request = build_request(
        opts, "baseline", kwargs["paths"] or (".",), use_baseline=False,
        extra_excludes=kwargs["exclude"],
    )  # fmt: skip
    result = scan_paths(request)
    return path, entries_for(result.findings)


def _report_entries(source: str) -> list[BaselineEntry]:
    from keysentry.filters.baseline import BaselineEntry

    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        doc = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read the report {source}: {exc}") from None
    findings = doc.get("findings") if isinstance(doc, dict) else None
    if (
        not isinstance(doc, dict)
        or doc.get("schema_version") != 1
        or not isinstance(findings, list)
    ):
        raise UsageError(f"{source} is not a keysentry JSON report (--format json)")
    entries = []
    for number, f in enumerate(findings, 1):
        rule_id = f.get("rule_id") if isinstance(f, dict) else None
        fingerprint = f.get("fingerprint") if isinstance(f, dict) else None
        if (
            not isinstance(rule_id, str)
            or not isinstance(fingerprint, str)
            or not (_FINGERPRINT.fullmatch(fingerprint))
        ):
            raise UsageError(f"{source}: finding {number} has no rule_id or fingerprint")
        locations = f.get("locations") or [{}]
        first = locations[0] if isinstance(locations[0], dict) else {}
        where = (
            f"{first['display_path']}:{first.get('line', '')}" if "display_path" in first else ""
        )
        entries.append(BaselineEntry(rule_id, fingerprint, "", where))
    return entries


def _say(kwargs: Mapping[str, Any], message: str) -> None:
    if not kwargs.get("quiet"):
        click.echo(message, err=True)


# -- install-hook ---------------------------------------------------------------------------

_HOOK_SCRIPT = """\
#!/bin/sh
{marker}: written by `keysentry install-hook{flag}`.
# {purpose}
# Re-run the command to update this file; delete it to remove the hook.
# Skip it once with `git {verb} --no-verify`.
KEYSENTRY_PYTHON={python}
if [ -x "$KEYSENTRY_PYTHON" ]; then
    exec "$KEYSENTRY_PYTHON" -m keysentry {command}
fi
if command -v keysentry >/dev/null 2>&1; then
    exec keysentry {command}
fi
echo "keysentry hook: keysentry is not installed (pip install keysentry), so nothing was" >&2
echo "scanned. Install it, or remove this hook: $0" >&2
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
        command='ci --pre-push "$1"' if pre_push else "staged",
    )


def hooks_dir(cwd: Path) -> Path:
    """Where git runs this repository's hooks from, honouring ``core.hooksPath``."""
    top = gitio.run_git(["rev-parse", "--show-toplevel"], cwd, check=False)
    common = gitio.run_git(["rev-parse", "--git-common-dir"], cwd, check=False)
    if common.returncode != 0:
        raise UsageError(f"not inside a git repository: {cwd}")
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
    if hook.exists() or hook.is_symlink():
        try:
            ours = HOOK_MARKER in hook.read_text(encoding="utf-8", errors="replace")
        except OSError:
            ours = False
        if not ours:
            if not force:
                raise UsageError(
                    f"{hook} exists and was not written by keysentry; not replacing "
                    "it. Call keysentry from it yourself, use the pre-commit "
                    "framework, or pass --force (the old hook is kept as a backup)"
                )
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

FETCH_HINT = (
    "fetch the whole history first (GitHub: actions/checkout with `fetch-depth: 0`; "
    'GitLab: `GIT_DEPTH: "0"`)'
)


class NoRange(UsageError):
    """Nothing in the environment says which commits to scan (``--full-fallback`` applies)."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"{reason}: pass --range BASE..HEAD, or --full-fallback to audit the whole history"
        )
        self.reason = reason


@dataclass(frozen=True, slots=True)
class CommitRange:
    """The commits to scan: reachable from ``head`` and not from ``base``."""

    head: str
    base: str | None
    """None: every commit reachable from ``head`` (a history pushed for the first time)."""
    why: str
    """How the range was chosen, in plain words."""

    @property
    def spec(self) -> str:
        return f"{self.base}..{self.head}" if self.base else self.head


def _zero(sha: str | None) -> bool:
    return not sha or set(sha) == {"0"}


def _rev(repo: Path, rev: str) -> str | None:
    """The commit id ``rev`` names in ``repo``, or None when it is not there."""
    proc = gitio.run_git(["rev-parse", "--verify", "--quiet", "--end-of-options",
                          f"{rev}^{{commit}}"], repo, check=False)  # fmt: skip
    out = proc.stdout.decode("ascii", "replace").strip()
    return out if proc.returncode == 0 and out else None


def _need(repo: Path, rev: str, what: str) -> str:
    if _rev(repo, rev) is None:
        raise UsageError(f"{what} {rev} is not in this clone: {FETCH_HINT}")
    return rev


def _default_branch_ref(repo: Path, branch: str) -> str:
    for ref in (f"refs/remotes/origin/{branch}", f"refs/heads/{branch}"):
        if _rev(repo, ref) is not None:
            return ref
    raise UsageError(
        f"the default branch {branch!r} is not in this clone, so the commits new on this "
        f"branch cannot be told apart: {FETCH_HINT}, and fetch the default branch "
        f"(git fetch origin +refs/heads/{branch}:refs/remotes/origin/{branch})"
    )


def github_ranges(env: Mapping[str, str], repo: Path) -> list[CommitRange]:
    """pull_request: base..head; push: before..after, or a new branch against the default."""
    event = env.get("GITHUB_EVENT_NAME", "")
    payload = _event_payload(env.get("GITHUB_EVENT_PATH"))
    if event in ("pull_request", "pull_request_target"):
        pr = _get(payload, "pull_request")
        base = str(_get(payload, "pull_request", "base", "sha"))
        head = str(_get(payload, "pull_request", "head", "sha"))
        why = (f"GitHub {event} #{pr.get('number', '?')}: the pull request's commits "
               f"({base[:12]}..{head[:12]})")  # fmt: skip
        return [CommitRange(_need(repo, head, "head"), _need(repo, base, "base"), why)]
    if event == "merge_group":
        base = str(_get(payload, "merge_group", "base_sha"))
        head = str(_get(payload, "merge_group", "head_sha"))
        why = f"GitHub merge queue: {base[:12]}..{head[:12]}"
        return [CommitRange(_need(repo, head, "head"), _need(repo, base, "base"), why)]
    if event != "push":
        raise NoRange(f"the GitHub Actions event {event or '(unknown)'!r} has no commit range")
    before, after = str(payload.get("before") or ""), str(payload.get("after") or "")
    ref = str(payload.get("ref") or "")
    if payload.get("deleted") or _zero(after):
        return []
    _need(repo, after, "pushed commit")
    if not _zero(before) and _rev(repo, before) is not None:
        return [CommitRange(after, before, f"GitHub push to {ref}: {before[:12]}..{after[:12]}")]
    default = str(_get(payload, "repository", "default_branch"))
    if ref == f"refs/heads/{default}":
        if _zero(before):
            why = f"GitHub push creating the default branch {default}: all its commits"
            return [CommitRange(after, None, why)]
        raise UsageError(f"the commit before this push ({before[:12]}) is not in this clone "
                         f"(a force-push?): {FETCH_HINT}, or pass --range")  # fmt: skip
    base = _default_branch_ref(repo, default)
    reason = "a new branch" if _zero(before) else f"a force-push ({before[:12]} is gone)"
    why = f"GitHub push of {ref} ({reason}): the commits not on {default} ({base}..{after[:12]})"
    return [CommitRange(after, base, why)]


def gitlab_ranges(env: Mapping[str, str], repo: Path) -> list[CommitRange]:
    """Merge requests: the diff base..head; pushes: before..sha, or a new branch vs default."""
    sha = env.get("CI_COMMIT_SHA", "")
    if not sha:
        raise UsageError("GitLab CI without CI_COMMIT_SHA: pass --range BASE..HEAD")
    diff_base = env.get("CI_MERGE_REQUEST_DIFF_BASE_SHA", "")
    if diff_base:
        # In merged-results pipelines CI_COMMIT_SHA is a merge with the target branch.
        head = env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA") or sha
        why = (f"GitLab merge request !{env.get('CI_MERGE_REQUEST_IID', '?')}: the commits "
               f"since the merge-request diff base ({diff_base[:12]}..{head[:12]})")  # fmt: skip
        return [CommitRange(_need(repo, head, "head"), _need(repo, diff_base, "diff base"), why)]
    _need(repo, sha, "commit")
    before = env.get("CI_COMMIT_BEFORE_SHA", "")
    if not _zero(before) and _rev(repo, before) is not None:
        return [CommitRange(sha, before, f"GitLab push: {before[:12]}..{sha[:12]}")]
    branch, default = env.get("CI_COMMIT_BRANCH", ""), env.get("CI_DEFAULT_BRANCH", "")
    if branch and default and branch != default:
        base = _default_branch_ref(repo, default)
        why = (f"GitLab pipeline for branch {branch} without a previous push: the commits not "
               f"on {default} ({base}..{sha[:12]})")  # fmt: skip
        return [CommitRange(sha, base, why)]
    source = env.get("CI_PIPELINE_SOURCE", "unknown")
    raise NoRange(f"this GitLab pipeline ({source}) has no commit range")


def pre_commit_ranges(env: Mapping[str, str], repo: Path) -> list[CommitRange] | None:
    """The pre-commit framework's pre-push stage: PRE_COMMIT_FROM_REF / PRE_COMMIT_TO_REF."""
    start, end = env.get("PRE_COMMIT_FROM_REF"), env.get("PRE_COMMIT_TO_REF")
    if start and end:
        why = f"pre-commit: {start[:12]}..{end[:12]}"
        if env.get("PRE_COMMIT_LOCAL_BRANCH"):
            why = f"push of {env['PRE_COMMIT_LOCAL_BRANCH']}: the commits not on the remote"
            why += f" ({start[:12]}..{end[:12]})"
        return [CommitRange(_need(repo, end, "to-ref"), _need(repo, start, "from-ref"), why)]
    local = env.get("PRE_COMMIT_LOCAL_BRANCH")
    if local and env.get("PRE_COMMIT_REMOTE_BRANCH"):
        # pre-commit passes no refs when the push carries a root commit: all of it is new.
        why = f"push of {local} to {env['PRE_COMMIT_REMOTE_BRANCH']}: a new history, all commits"
        return [CommitRange(_need(repo, local, "local branch"), None, why)]
    return None


def pre_push_ranges(lines: Sequence[str], remote: str, repo: Path) -> list[CommitRange]:
    """git's pre-push protocol: ``<local ref> <local sha> <remote ref> <remote sha>`` lines."""
    out = []
    for line in lines:
        parts = line.split()
        if len(parts) != 4 or _zero(parts[1]):  # malformed, or a deletion
            continue
        local_ref, local_sha, remote_ref, remote_sha = parts
        if not _zero(remote_sha) and _rev(repo, remote_sha) is not None:
            why = (
                f"push of {local_ref} to {remote} {remote_ref}: {remote_sha[:12]}..{local_sha[:12]}"
            )
            out.append(CommitRange(local_sha, remote_sha, why))
            continue
        new = gitio.run_git(["rev-list", "--topo-order", "--reverse", local_sha, "--not",
                             f"--remotes={remote}"], repo).stdout.split()  # fmt: skip
        if not new:
            continue  # every commit is already on the remote
        first = new[0].decode("ascii")
        parent = _rev(repo, f"{first}^")
        what = "a new branch" if _zero(remote_sha) else "a force-push"
        why = f"push of {local_ref} to {remote} {remote_ref} ({what}): {len(new)} new commit(s)"
        out.append(CommitRange(local_sha, parent, why))
    return out


def choose_ranges(
    env: Mapping[str, str],
    repo: Path,
    explicit: str | None,
    pre_push: str | None,
    stdin_lines: Sequence[str] = (),
) -> list[CommitRange]:
    """The ranges to scan (empty: nothing new). Raises NoRange when nothing says which."""
    if explicit:
        base, sep, head = explicit.partition("..")
        if not sep or not base or not head or head.startswith("."):
            raise UsageError(f"--range must be BASE..HEAD, not {explicit!r}")
        return [
            CommitRange(
                _need(repo, head, "HEAD of --range"),
                _need(repo, base, "BASE of --range"),
                f"--range {explicit}",
            )
        ]
    if pre_push is not None:
        return pre_push_ranges(stdin_lines, pre_push, repo)
    found = pre_commit_ranges(env, repo)
    if found is not None:
        return found
    if env.get("GITHUB_ACTIONS") == "true":
        return github_ranges(env, repo)
    if env.get("GITLAB_CI") == "true":
        return gitlab_ranges(env, repo)
    raise NoRange("no commit range: not in GitHub Actions, GitLab CI or a pre-push hook")


def _event_payload(path: str | None) -> dict[str, Any]:
    if not path:
        raise UsageError("GITHUB_EVENT_PATH is not set: pass --range BASE..HEAD")
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read the GitHub event payload {path}: {exc}") from None
    if not isinstance(payload, dict):
        raise UsageError(f"the GitHub event payload {path} is not a JSON object")
    return payload


def _get(obj: Mapping[str, Any], *keys: str) -> Any:
    value: Any = obj
    for key in keys:
        if not isinstance(value, Mapping) or key not in value:
            raise UsageError(f"the GitHub event payload has no {'.'.join(keys)}")
        value = value[key]
    return value


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
    "--full-fallback",
    is_flag=True,
    help="When no range can be determined, audit the whole history instead of failing.",
)
@scan_options
def ci(range_: str | None, pre_push: str | None, full_fallback: bool, **kwargs: Any) -> int:
    """Scan the commits a CI job or a push is about: only new leaks fail it.

    \b
    The range is chosen, and stated, in this order:
      --range BASE..HEAD
      --pre-push REMOTE (git's pre-push hook) or pre-commit's PRE_COMMIT_FROM_REF/TO_REF
      GitHub Actions: pull_request base..head; push before..after; a new branch:
        the commits not on the default branch
      GitLab CI: the merge-request diff base..head; push before..sha; a new
        branch: the commits not on the default branch
    Without any of them it fails (exit 2), unless --full-fallback asks for a
    whole-history audit. Needs the history in the clone (fetch-depth: 0)."""
    opts = collect_options(kwargs)
    repo = Path.cwd()
    lines = sys.stdin.read().splitlines() if pre_push is not None else []
    try:
        ranges = choose_ranges(os.environ, repo, range_, pre_push, lines)
    except NoRange as exc:
        if not full_fallback:
            raise
        note = f"{exc.reason}: auditing the whole history, as --full-fallback asks"
        return emit(_scan_history(opts, repo, None, note), opts)
    if ranges:
        result = _merge([_scan_history(opts, repo, r, r.why) for r in ranges])
    else:
        note = "nothing to scan: no new commits (a deletion, or already on the remote)"
        result = ScanResult("ci", (), (), ScanStats(notes=(note,)))
    return emit(result, opts)


def _scan_history(
    opts: ScanOptions, repo: Path, commits: CommitRange | None, note: str
) -> ScanResult:
    from keysentry.sources.history import HistoryOptions, scan_history

    request = build_request(opts, "ci", (str(repo),))
    result = scan_history(request, repo, HistoryOptions(range=commits.spec if commits else None))
    notes = (f"commit range chosen: {note}", *result.stats.notes)
    return replace(result, stats=replace(result.stats, notes=notes))


def _merge(results: Sequence[ScanResult]) -> ScanResult:
    """One result for several ranges (a push of several branches)."""
    if len(results) == 1:
        return results[0]
    from collections import Counter

    groups: dict[tuple[str, str], Finding] = {}
    for result in results:
        for f in result.findings:
            key = (f.rule_id, f.fingerprint)
            if key in groups:
                old = groups[key]
                merged = tuple(dict.fromkeys((*old.locations, *f.locations)))
                f = replace(old, locations=merged)
            groups[key] = f
    counters: Counter[str] = Counter()
    for result in results:
        counters.update(result.stats.counters)
    counters["findings"] = len(groups)
    stats = ScanStats(
        counters=dict(sorted(counters.items())),
        issues=tuple(i for r in results for i in r.stats.issues),
        duration_s=round(sum(r.stats.duration_s for r in results), 3),
        notes=tuple(n for r in results for n in r.stats.notes),
    )
    first = results[0]
    return ScanResult(
        first.command,
        tuple(t for r in results for t in r.targets),
        tuple(groups.values()),
        stats,
        show_secrets=first.show_secrets,
    )

"""Which commits a CI job or a push is about: GitHub Actions, GitLab CI, git's pre-push
and pre-receive hooks and the pre-commit framework's pre-push stage.

Each detector reads the environment (and GitHub's event payload) and returns
:class:`CommitRange` values with a plain-language reason, which ``keysentry ci``
states in the summary and in every report's notes. Pure functions over the
environment; git is asked only through :mod:`keysentry.git.run`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from keysentry.console.progress import CI_VARIABLES
from keysentry.errors import UsageError
from keysentry.git import run as gitio

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
    before_push: bool = False
    """The commits are about to be pushed (a pre-push hook), not on a server yet."""
    incoming: bool = False
    """The commits are being received (a pre-receive hook): published once accepted."""

    @property
    def spec(self) -> str:
        return f"{self.base}..{self.head}" if self.base else self.head


_RANGE_NOTATION = re.compile(r"\.\.|\^!$|\^-[0-9]*$")


def check_range_notation(spec: str) -> None:
    """A ``--range`` must exclude something: ``BASE..HEAD``, ``A...B``, ``REV^!`` or
    ``REV^-N`` (git's range notations, less ``REV^@``, which excludes nothing). A single
    revision would scan everything it reaches, which is no "what it introduced"."""
    if _RANGE_NOTATION.search(spec) is None:
        raise UsageError(
            f"--range {spec!r} names commits, not a range: it would scan every commit "
            f"they reach. Give BASE..HEAD (what {spec} alone introduced: {spec}^!), "
            "--since REV, or no --range for the whole history"
        )


def ci_job(env: Mapping[str, str]) -> str:
    """``"a CI job (GITHUB_ACTIONS is set)"`` when the environment says this runs in CI,
    else empty. A CI job's checkout came from the server: what it holds was pushed."""
    for name in CI_VARIABLES:
        if env.get(name):
            return f"a CI job ({name} is set)"
    return ""


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
    if event not in ("pull_request", "pull_request_target", "merge_group", "push"):
        # Decided before the payload is read: --full-fallback needs no event file.
        raise NoRange(f"the GitHub Actions event {event or '(unknown)'!r} has no commit range")
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
    if payload.get("deleted"):
        return []
    # A push without "after" is no deletion (that has "deleted", or an all-zero "after"):
    # read as one, it would pass the job with nothing scanned.
    after = _get(payload, "after")
    if not isinstance(after, str) or not after:  # null, empty, a number: no commit, no deletion
        raise UsageError(f"the GitHub event payload's after is not a commit id: {after!r}")
    before = str(payload.get("before") or "")
    ref = str(payload.get("ref") or "(unknown ref)")
    if _zero(after):
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
        head, base = _need(repo, end, "to-ref"), _need(repo, start, "from-ref")
        return [CommitRange(head, base, why, before_push=True)]
    local = env.get("PRE_COMMIT_LOCAL_BRANCH")
    if local and env.get("PRE_COMMIT_REMOTE_BRANCH"):
        # pre-commit passes no refs when the push carries a root commit: all of it is new.
        why = f"push of {local} to {env['PRE_COMMIT_REMOTE_BRANCH']}: a new history, all commits"
        return [CommitRange(_need(repo, local, "local branch"), None, why, before_push=True)]
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
            out.append(CommitRange(local_sha, remote_sha, why, before_push=True))
            continue
        what = "a new branch" if _zero(remote_sha) else "a force-push"
        why = f"push of {local_ref} to {remote} {remote_ref} ({what})"
        out += _new_commits(repo, local_sha, f"--remotes={remote}", why)
    return out


def pre_receive_ranges(lines: Sequence[str], repo: Path) -> list[CommitRange]:
    """git's pre-receive protocol: ``<old sha> <new sha> <ref>`` lines, read in the
    receiving repository while the pushed objects are in quarantine (gitcmd.hook_env)."""
    out = []
    for line in lines:
        parts = line.split(maxsplit=2)
        if len(parts) != 3 or _zero(parts[1]):  # malformed, or a deletion
            continue
        old, new, ref = parts
        if not _zero(old) and _rev(repo, old) is not None:
            why = f"push to {ref}: {old[:12]}..{new[:12]}"
            out.append(CommitRange(new, old, why, before_push=True, incoming=True))
            continue
        what = "a new ref" if _zero(old) else "a forced update"
        # The refs are not updated before the hook accepts: --all is what was there.
        out += [
            replace(r, incoming=True)
            for r in _new_commits(repo, new, "--all", f"push to {ref} ({what})")
        ]
    return out


def _new_commits(repo: Path, head: str, known: str, why: str) -> list[CommitRange]:
    """The commits of ``head`` that ``known`` (a rev-list option naming refs) lacks."""
    new = gitio.run_git(["rev-list", "--topo-order", "--reverse", head, "--not", known],
                        repo).stdout.split()  # fmt: skip
    if not new:
        # Every commit is already there; an annotated tag pushed on its own is still new
        # (its message, tagger and name): the range from its commit holds just the tag.
        kind = gitio.run_git(["cat-file", "-t", head], repo, check=False).stdout.strip()
        if kind == b"tag" and (peeled := _rev(repo, head)) is not None:
            return [CommitRange(head, peeled, f"{why}: an annotated tag on a known commit",
                                before_push=True)]  # fmt: skip
        if kind in (b"tag", b"tree", b"blob"):
            # A ref to a blob or a tree (or a tag of one) has no commit to range from: what
            # it points to is published whole, so all of it is read.
            what = "a tag of a tree or a blob" if kind == b"tag" else f"a {kind.decode()}"
            return [CommitRange(head, None, f"{why}: {what}, read whole", before_push=True)]
        return []
    parent = _rev(repo, f"{new[0].decode('ascii')}^")
    return [CommitRange(head, parent, f"{why}: {len(new)} new commit(s)", before_push=True)]


def choose_ranges(
    env: Mapping[str, str],
    repo: Path,
    explicit: str | None,
    pre_push: str | None,
    stdin_lines: Sequence[str] = (),
    pre_receive: bool = False,
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
    if pre_receive:
        return pre_receive_ranges(stdin_lines, repo)
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

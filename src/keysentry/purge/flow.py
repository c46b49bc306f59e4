"""``keysentry purge``: audit, refuse while a key is live, rewrite a mirror, verify.

The audit is handed in by the CLI (``keysentry history``'s pipeline function). After the
rewrite the result is checked twice: by the same audit (it decodes archives and
encodings), and by a literal search that does not use the scanner at all
(:mod:`keysentry.purge.verify`): every object, ref name and file of the result, for each
key raw and encoded. "Verified" only when neither finds anything. Raw keys live only
in memory and in git-filter-repo's standard input (:mod:`keysentry.purge.filter_repo`);
everything this module returns is redacted.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from keysentry.errors import ExitCode, UsageError
from keysentry.git.run import RepoInfo, discover
from keysentry.models import Finding, Location, ScanResult, scrub_secrets
from keysentry.purge import filter_repo
from keysentry.purge import verify as purge_verify
from keysentry.untrusted import shown
from keysentry.validate import ValidationSettings, validate_findings

DEFAULT_REPLACEMENT = "OPENROUTER_KEY_REMOVED"
_BLOBS = ("blob", "note")
REWRITTEN = ("commit-message", "tag-message", "tree-entry", "ref-name", "identity",
             "commit-header", "tag-header")  # fmt: skip
"""Sources the rewrite reaches besides blobs: messages and names (headers git-filter-repo
cannot express are dropped). What it misses there, the verification lists."""
LOCAL_ONLY = frozenset({"reflog-only", "unreachable"})
"""Exposures a mirror clone does not copy: only the reflog, or nothing, reaches them."""

Audit = Callable[[Path], ScanResult]


class PurgeRefused(UsageError):
    """Purging now would be unsafe or cannot be done as asked; nothing was written."""


@dataclass(frozen=True, slots=True)
class PurgeRequest:
    repo: Path
    into: Path | None
    """The new mirror; None with ``in_place``."""
    in_place: bool = False
    replacement: str = DEFAULT_REPLACEMENT
    remove_files: bool = False
    allow_live: bool = False
    allow_unverified: bool = False
    only: frozenset[str] | None = None
    """Fingerprints to purge (from ``--report``); None for every key the audit finds."""


@dataclass(frozen=True, slots=True)
class PurgedKey:
    redacted: str
    fingerprint: str
    status: str
    """The probe's verdict: live, invalid or unknown."""
    locations: int
    unreplaceable: tuple[str, ...]
    """Where it sits in a binary file, an archive or an encoding: not replaceable in place."""


@dataclass(frozen=True, slots=True)
class Leftover:
    redacted: str
    fingerprint: str
    places: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PurgeOutcome:
    repo: str
    target: str
    in_place: bool
    replacement: str
    keys: tuple[PurgedKey, ...]
    commits: int = 0
    commits_rewritten: int = 0
    refs_updated: tuple[str, ...] = ()
    refs_renamed: tuple[str, ...] = ()
    """``old -> new`` for each ref whose name held a key (the old name redacted)."""
    commit_map: str = ""
    removed_paths: tuple[str, ...] = ()
    still_present: tuple[Leftover, ...] = ()
    not_carried: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    timings: Mapping[str, float] = field(default_factory=dict)

    unverified: int = 0
    """Objects (or files) of the result the checks could not read: the verdict is
    incomplete."""
    searched: Mapping[str, int] = field(default_factory=dict)
    """What the literal search read: objects, refs, files, and the forms of each key."""

    @property
    def exit_code(self) -> ExitCode:
        if self.still_present:
            return ExitCode.FINDINGS
        return ExitCode.INCOMPLETE if self.unverified else ExitCode.CLEAN


def run_purge(request: PurgeRequest, audit: Audit, validation: ValidationSettings) -> PurgeOutcome:
    """Audit ``request.repo``, check the keys, rewrite, verify. Raises PurgeRefused (exit 2)
    before anything is written when it is not safe or not possible."""
    info = discover(request.repo)
    _check_target(request, info)
    timings: dict[str, float] = {}
    started = time.monotonic()
    before = audit(request.repo)
    selected, warnings = _select(before.findings, request.only)
    timings["audit"] = time.monotonic() - started
    if not selected:
        return PurgeOutcome(
            str(request.repo), "", request.in_place, request.replacement, (),
            warnings=(*warnings, "no key to purge: nothing was written"),
            timings=timings,
        )  # fmt: skip
    started = time.monotonic()
    checked = validate_findings(selected, validation)
    timings["probe"] = time.monotonic() - started
    warnings += _check_liveness(checked, request)

    blobs = {loc.blob for f in checked for loc in f.locations if loc.source in _BLOBS}
    binary = filter_repo.binary_blobs(info, sorted(b for b in blobs if b))
    hide = _hider(checked)
    keys = tuple(_describe(f, binary, hide) for f in checked)
    removed: tuple[str, ...] = ()
    if request.remove_files:
        removed, skipped = _removable(checked, binary)
        warnings += skipped
    started = time.monotonic()
    target = _prepare(request, info)
    timings["clone"] = time.monotonic() - started
    started = time.monotonic()
    try:
        done = filter_repo.rewrite(
            discover(target),
            [f.secret for f in checked],
            request.replacement,
            remove_paths=removed,
            in_place=request.in_place,
        )
    except BaseException:
        if not request.in_place:
            shutil.rmtree(target, ignore_errors=True)
        raise
    timings["rewrite"] = time.monotonic() - started
    started = time.monotonic()
    after = audit(target)
    literal, searched = purge_verify.search(discover(target), [f.secret for f in checked])
    timings["verify"] = time.monotonic() - started
    warnings += _unreadable(_corrupt(before), "REPO (keys in them were not found)")
    unverified = _corrupt(after) + len(searched.unreadable)
    warnings += _unreadable(_corrupt(after), f"{target}: the check is incomplete")
    warnings += [f"could not read {what}: the check is incomplete" for what in searched.unreadable]
    return PurgeOutcome(
        repo=str(request.repo),
        target=str(target),
        in_place=request.in_place,
        replacement=request.replacement,
        keys=keys,
        commits=done.commits,
        commits_rewritten=done.commits_rewritten,
        refs_updated=tuple(hide(r) for r in done.refs_updated),
        refs_renamed=tuple(hide(f"{old} -> {new}") for old, new in done.refs_renamed),
        commit_map=str(done.commit_map),
        removed_paths=tuple(hide(p) for p in removed),
        still_present=_leftovers(checked, after, literal, hide),
        not_carried=() if request.in_place else _not_carried(checked, hide),
        warnings=tuple(hide(w) for w in warnings),
        timings=timings,
        unverified=unverified,
        searched={
            "objects": searched.objects,
            "refs": searched.refs,
            "files": searched.files,
            "forms": searched.forms,
        },
    )


def _leftovers(
    checked: Sequence[Finding],
    after: ScanResult,
    literal: Sequence[purge_verify.Left],
    hide: Callable[[str], str],
) -> tuple[Leftover, ...]:
    """Every purged key still in the result: what the audit found there, and what the
    literal search found (place, and the form unless raw)."""
    places: dict[str, set[str]] = {}
    wanted = {f.fingerprint for f in checked}
    located: set[str] = set()
    for f in after.findings:
        if f.fingerprint in wanted:
            places.setdefault(f.fingerprint, set()).update(_place(loc) for loc in f.locations)
            located.update(loc.blob for loc in f.locations if loc.blob)
    by_secret = {f.secret: f.fingerprint for f in checked}
    for left in literal:
        if left.oid and left.oid in located:
            continue  # the audit named the object already, with its path
        shown_form = "" if left.form == "raw" else f" [{left.form}]"
        places.setdefault(by_secret[left.secret], set()).add(left.place + shown_form)
    return tuple(
        Leftover(f.redacted, f.fingerprint, tuple(sorted(hide(p) for p in places[f.fingerprint])))
        for f in checked
        if f.fingerprint in places
    )


def _hider(checked: Sequence[Finding]) -> Callable[[str], str]:
    """Text from the repository made safe to return: each purged key replaced by its
    redacted form (any rule's), anything key-shaped redacted, controls escaped."""
    pairs = sorted(((f.secret, f.redacted) for f in checked), key=lambda p: -len(p[0]))

    def hide(text: str) -> str:
        for secret, redacted in pairs:
            text = text.replace(secret, redacted)
        return shown(text)

    return hide


def _corrupt(result: ScanResult) -> int:
    return sum(1 for issue in result.stats.issues if issue.kind == "corrupt-object")


def _unreadable(count: int, what: str) -> list[str]:
    return [f"{count} object(s) could not be read in {what}"] if count else []


def check_replacement(marker: str) -> str:
    """The marker goes into files, messages, names and headers: one line; and no ``==>``,
    so that it also stays valid in an expression file of git-filter-repo's own
    ``--replace-text`` (a purge finished by hand). In a file name, ``/`` becomes ``_``."""
    if not marker or any(c in marker for c in "\r\n\0") or "==>" in marker:
        raise UsageError("--replacement must be one non-empty line without '==>'")
    if scrub_secrets(marker) != marker:
        raise UsageError("--replacement must not look like a key")
    return marker


def _check_target(request: PurgeRequest, info: RepoInfo) -> None:
    if request.in_place:
        if request.into is not None:
            raise UsageError("give either --into DIR or --in-place, not both")
        if filter_repo.worktree_count(info) > 1:
            raise PurgeRefused(
                "--in-place is refused in a repository with several worktrees (their "
                "checkouts would point at the old commits); purge into a new mirror with --into"
            )
        dirty = filter_repo.dirty_paths(info)
        if dirty:
            shown = ", ".join(dirty[:5]) + (" ..." if len(dirty) > 5 else "")
            raise PurgeRefused(
                f"--in-place needs a clean work tree ({len(dirty)} changed or untracked "
                f"path(s): {shown}); commit or stash them, or purge into a new mirror with "
                "--into DIR"
            )
        return
    if request.into is None:
        raise UsageError("give --into DIR (a new directory for the rewritten mirror)")
    if request.into.exists() or request.into.is_symlink():
        raise UsageError(f"--into {request.into} exists; give a new directory")
    inside = (info.git_dir, info.common_dir, *([info.work_tree] if info.work_tree else []))
    where = request.into.resolve()
    if any(where == d or d in where.parents for d in inside):
        raise UsageError(
            f"--into {request.into} is inside the repository; give a new "
            "directory outside it (REPO is never modified)"
        )
    if not request.into.parent.is_dir():
        raise UsageError(f"--into {request.into}: its parent directory does not exist")


def _select(
    findings: Sequence[Finding], only: frozenset[str] | None
) -> tuple[tuple[Finding, ...], list[str]]:
    real = tuple(f for f in findings if not f.placeholder and f.secret)
    if only is None:
        return real, []
    chosen = tuple(f for f in real if f.fingerprint in only)
    warnings = []
    missing = only - {f.fingerprint for f in chosen}
    if missing:
        warnings.append(
            f"{len(missing)} key(s) of the report were not found in the repository "
            f"(fingerprints {', '.join(sorted(m[:16] for m in missing))})"
        )
    if len(real) > len(chosen):
        warnings.append(
            f"{len(real) - len(chosen)} other key(s) found here are not in the report and "
            "were left as they are"
        )
    return chosen, warnings


def _check_liveness(checked: Sequence[Finding], request: PurgeRequest) -> list[str]:
    live = [f for f in checked if f.validation is not None and f.validation.status == "live"]
    unknown = [f for f in checked if f.validation is None or f.validation.status == "unknown"]
    warnings = []
    if live:
        names = ", ".join(f.redacted + (" (cached)" if _cached(f) else "") for f in live)
        if not request.allow_live:
            raise PurgeRefused(
                f"{len(live)} key(s) are still live: {names}. Rewriting history does not "
                "un-leak a key; revoking it does. Revoke first (`keysentry history REPO "
                "--format json -o leaks.json`, then `keysentry revoke --report leaks.json`), "
                "then purge. --allow-live purges anyway"
                + ("; --no-cache checks cached verdicts again" if any(map(_cached, live)) else "")
            )
        warnings.append(f"purging {len(live)} key(s) that are still live ({names}): revoke them")
    if unknown:
        names = ", ".join(f"{f.redacted} ({f.validation.reason if f.validation else 'not checked'})" for f in unknown)  # fmt: skip
        if not request.allow_unverified:
            raise PurgeRefused(
                f"{len(unknown)} key(s) could not be checked: {names}. Purge only after "
                "revoking; if you know they are revoked, pass --allow-unverified"
            )
        warnings.append(f"{len(unknown)} key(s) not verified as revoked: {names}")
    return warnings


def _cached(finding: Finding) -> bool:
    return finding.validation is not None and finding.validation.cached


def _describe(finding: Finding, binary: set[str], hide: Callable[[str], str]) -> PurgedKey:
    stuck = sorted(
        {hide(_place(loc)) for loc in finding.locations if not _replaceable(loc, binary)}
    )
    return PurgedKey(
        finding.redacted,
        finding.fingerprint,
        finding.validation.status if finding.validation else "unknown",
        len(finding.locations),
        tuple(stuck),
    )


def _replaceable(loc: Location, binary: set[str]) -> bool:
    """Whether the rewrite's literal replacement reaches this occurrence."""
    if loc.decoders or loc.members:
        return False  # compressed, archived or encoded: the key's bytes are not there
    if loc.source in _BLOBS:
        return loc.blob not in binary
    return loc.source in REWRITTEN


def _place(loc: Location) -> str:
    return loc.display_path


def _removable(checked: Sequence[Finding], binary: set[str]) -> tuple[tuple[str, ...], list[str]]:
    """The paths to drop from every commit: files holding a key that cannot be replaced."""
    paths: set[str] = set()
    skipped: set[str] = set()
    for finding in checked:
        for loc in finding.locations:
            if _replaceable(loc, binary) or loc.source not in ("blob", "staged"):
                continue
            if loc.source != "blob" or any(c in loc.path for c in "\r\n") or "==>" in loc.path:
                skipped.add(f"{loc.display_path} cannot be removed by path; it stays")
                continue
            paths.add(loc.path)
    return tuple(sorted(paths)), sorted(skipped)


def _prepare(request: PurgeRequest, info: RepoInfo) -> Path:
    if request.in_place:
        return info.cwd
    assert request.into is not None
    try:
        filter_repo.mirror_clone(info, request.into)
    except BaseException:
        shutil.rmtree(request.into, ignore_errors=True)
        raise
    return request.into


def _not_carried(checked: Sequence[Finding], hide: Callable[[str], str]) -> tuple[str, ...]:
    local = sorted(
        {
            hide(f"{f.redacted} at {loc.display_path} ({loc.exposure})")
            for f in checked
            for loc in f.locations
            if loc.exposure in LOCAL_ONLY
        }
    )
    return tuple(local)

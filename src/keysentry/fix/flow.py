"""``keysentry fix`` as a function: scan, plan, then write (or only show the diff).

The scan is the pipeline's own (the same rules, configuration, excludes and
allowlists as ``keysentry scan``); the planner decides every change before anything is
written; files are replaced atomically, the env file is appended to. No key reaches
the diff or any message unless ``--show-secrets``.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from keysentry.errors import KeysentryError, UsageError
from keysentry.git import run as gitio
from keysentry.models import Location, ScanResult, redact, scrub_secrets
from keysentry.pipeline import ScanRequest, scan_paths
from keysentry.rewrite import envfile
from keysentry.rewrite.annotate import DECODED, MEMBER, NOT_WHOLE
from keysentry.rewrite.plan import MAX_BYTES, Plan, Target, plan


class FixWriteError(KeysentryError):
    """A rewritten file could not be written."""


@dataclass(frozen=True, slots=True)
class FixOptions:
    staged: bool = False
    diff: bool = False
    env_file: Path | None = None
    name: str | None = None
    keep: bool = True
    show_secrets: bool = False


@dataclass(frozen=True, slots=True)
class ByHand:
    """A location the fix leaves alone, and why."""

    path: str
    line: int
    column: int
    reason: str
    redacted: str


@dataclass(slots=True)
class FixReport:
    scan: ScanResult
    plan: Plan
    env_file: Path | None
    by_hand: list[ByHand] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    env_added: list[str] = field(default_factory=list)
    env_created: bool = False
    ignored: list[str] = field(default_factory=list)
    untracked: list[str] = field(default_factory=list)
    committed: dict[str, list[str]] = field(default_factory=dict)
    """Redacted key -> the files whose committed version (HEAD) holds it."""
    diff: str = ""
    would_add: list[str] = field(default_factory=list)
    """Variables the env file would get (``--diff``) or should get (``--no-keep``)."""
    dry_run: bool = False
    """``--diff``: nothing was written."""

    @property
    def changed(self) -> bool:
        return bool(self.written or self.untracked or self.ignored or self.env_added) or (
            bool(self.diff) or any(fp.changes for fp in self.plan.files)
        )


def run_fix(request: ScanRequest, options: FixOptions) -> FixReport:
    """``request`` names the files to fix (for ``--staged``: :func:`staged_targets`)."""
    if options.keep and options.env_file is not None and not options.env_file.parent.is_dir():
        raise UsageError(
            f"cannot keep the keys in {options.env_file}: "
            f"the directory {options.env_file.parent} does not exist"
        )
    result = scan_paths(replace(request, fix_info=False))
    report = FixReport(result, Plan([], {}), None)
    files: dict[str, tuple[Location, list[str]]] = {}
    for finding in result.findings:
        if finding.placeholder:
            continue
        for loc in finding.locations:
            if loc.source != "file" or loc.members or loc.decoders:
                why = MEMBER if loc.members else DECODED.format(decoders=" > ".join(loc.decoders))
                report.by_hand.append(_by_hand(loc, why, finding.redacted))
                continue
            entry = files.setdefault(loc.path, (loc, []))
            if finding.secret not in entry[1]:
                entry[1].append(finding.secret)
    root = _root(request.targets)
    env_path = options.env_file or (root / ".env" if root is not None else Path(".env"))
    report.env_file = env_path
    to_plan = []
    for path, (loc, secrets) in files.items():
        try:
            with open(path, "rb") as fh:
                data = fh.read(MAX_BYTES + 1)
        except OSError as exc:
            report.by_hand.append(
                _by_hand(loc, f"cannot read it again ({exc.strerror or exc})", redact(secrets[0]))
            )
            continue
        to_plan.append(Target(path, data, tuple(secrets), Path(path), loc.git_status))
    existing = envfile.read_env(env_path) if options.keep else {}
    shown_env = _shown_path(env_path)
    report.plan = plan(to_plan, forced=options.name, existing_env=existing, env_file=shown_env)
    _unplanned(report, result, files)
    for fp in report.plan.files:
        for o in fp.outcomes:
            if not o.info.fixable:
                pos = o.position
                report.by_hand.append(
                    ByHand(fp.target.path, pos.line, pos.column, o.info.how, redact(o.secret))
                )
    entries = report.plan.env_entries()
    report.would_add = [n for n, v in entries.items() if existing.get(n) != v]
    if options.diff:
        report.dry_run = True
        report.diff = render_diff(report.plan, show_secrets=options.show_secrets)
        return report
    _write(report, root, env_path, entries, options)
    return report


def _by_hand(loc: Location, reason: str, redacted: str) -> ByHand:
    return ByHand(loc.path, loc.line, loc.column, reason, redacted)


def _unplanned(report: FixReport, result: ScanResult, files: Mapping[str, object]) -> None:
    """Locations in planned files whose key is not written whole there (split across
    literals, escaped): the planner found no occurrence to rewrite."""
    seen = {
        (fp.target.path, o.position.line, o.position.column)
        for fp in report.plan.files
        for o in fp.outcomes
    }
    moved: dict[str, set[str]] = {}
    for fp in report.plan.files:
        moved.setdefault(fp.target.path, set()).update(
            o.secret for o in fp.outcomes if o.info.fixable
        )
    for finding in result.findings:
        if finding.placeholder:
            continue  # never planned: an example is not a key to move
        for loc in finding.locations:
            planned = loc.source == "file" and not loc.members and not loc.decoders
            if not planned or loc.path not in files or (loc.path, loc.line, loc.column) in seen:
                continue
            # Part of a longer key that moves (two rules, one match inside the other's).
            if any(finding.secret in m for m in moved.get(loc.path, ())):
                continue
            report.by_hand.append(_by_hand(loc, NOT_WHOLE, finding.redacted))


def _write(
    report: FixReport,
    root: Path | None,
    env_path: Path,
    entries: dict[str, str],
    options: FixOptions,
) -> None:
    # The key is kept (and hidden from git) before any code stops holding it: if that
    # fails, nothing has been rewritten and the key is not lost.
    if options.keep and entries:
        report.env_created = not env_path.exists()
        report.env_added = envfile.append_env(env_path, entries)
        report.would_add = []
    if root is not None:
        env_files = [fp.target.fs_path for fp in report.plan.files if fp.kind == "env"]
        keeper = [env_path] if options.keep and (entries or env_path.exists()) else []
        for path in [*keeper, *(p for p in env_files if p is not None)]:
            if envfile.ensure_ignored(root, path):
                report.ignored.append(_shown_path(path))
            if envfile.untrack(root, path):
                report.untracked.append(_shown_path(path))
    for fp in report.plan.files:
        if fp.new_data is not None and fp.target.fs_path is not None:
            _replace(fp.target.fs_path, fp.new_data)
            report.written.append(fp.target.path)
    if root is None:
        return
    for fp in report.plan.files:
        if fp.new_data is None or fp.target.fs_path is None or fp.target.git_status != "tracked":
            continue
        rel = os.path.relpath(fp.target.fs_path, root).replace(os.sep, "/")
        moved = {o.secret for o in fp.outcomes if o.info.fixable}
        for secret in envfile.in_head(root, rel, sorted(moved)):
            report.committed.setdefault(redact(secret), []).append(fp.target.path)


def _replace(path: Path, data: bytes) -> None:
    """Write ``data`` over ``path`` atomically, keeping its mode."""
    try:
        mode = os.stat(path).st_mode & 0o7777
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".keysentry-fix-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise FixWriteError(f"cannot write {path}: {exc.strerror or exc}") from None


def render_diff(p: Plan, *, show_secrets: bool) -> str:
    """A unified diff of every file the fix would rewrite; the removed lines' keys are
    redacted unless ``show_secrets``."""
    out: list[str] = []
    for fp in p.files:
        if fp.new_data is not None:
            out.extend(_file_diff(fp.target, fp.new_data, show_secrets))
    return "".join(out)


def _file_diff(target: Target, new_data: bytes, show_secrets: bool) -> list[str]:
    old = target.data.decode("utf-8", "surrogateescape").splitlines(keepends=True)
    new = new_data.decode("utf-8", "surrogateescape").splitlines(keepends=True)
    name = target.path[2:] if target.path.startswith("./") else target.path
    lines = difflib.unified_diff(old, new, f"a/{name}", f"b/{name}")
    out = []
    for line in lines:
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        out.append(line if show_secrets else scrub_secrets(line))
    # Names and lines come from the scanned tree: control characters are escaped (tabs
    # kept, so the diff still applies), as everywhere keysentry shows them.
    from keysentry.untrusted import escape

    return ["\n".join("\t".join(map(escape, x.split("\t"))) for x in line.split("\n"))
            for line in out]  # fmt: skip


def staged_targets(paths: Sequence[str]) -> tuple[str, ...]:
    """The staged files (added, copied, modified, renamed, type-changed), as paths from
    the current directory; limited to those under ``paths`` when given (``.`` is the
    current directory, as for a scan)."""
    root = gitio.work_tree_root(Path.cwd())
    if root is None:
        raise UsageError("--staged needs a git work tree")
    out = gitio.run_git(
        ["diff", "--cached", "--name-only", "-z", "--diff-filter=ACMRT", "--"], root
    ).stdout
    found = [os.path.relpath(root / os.fsdecode(p)) for p in out.split(b"\0") if p]
    if paths:
        wanted = [os.path.abspath(p) for p in paths]
        found = [
            f for f in found
            if any(os.path.abspath(f) == w or os.path.abspath(f).startswith(w + os.sep)
                   for w in wanted)
        ]  # fmt: skip
    return tuple(found)


def _root(targets: Sequence[str]) -> Path | None:
    first = Path(targets[0]) if targets else Path(".")
    return gitio.work_tree_root(first.absolute())


def _shown_path(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)

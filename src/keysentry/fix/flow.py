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
from keysentry.models import Finding, Location, ScanResult, redact, scrub_secrets
from keysentry.pipeline import ScanRequest, scan_paths
from keysentry.rewrite import envfile
from keysentry.rewrite.annotate import NOT_WHOLE, left_alone
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
    env_file: Path
    by_hand: list[ByHand] = field(default_factory=list)
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
        return bool(self.untracked or self.ignored or self.env_added) or (
            bool(self.diff) or any(fp.changes for fp in self.plan.files)
        )


def run_fix(request: ScanRequest, options: FixOptions) -> FixReport:
    """``request`` names the files to fix, at least one (for ``--staged``:
    :func:`staged_targets`); the first says which repository the env file belongs to."""
    if options.keep and options.env_file is not None and not options.env_file.parent.is_dir():
        raise UsageError(
            f"cannot keep the keys in {options.env_file}: "
            f"the directory {options.env_file.parent} does not exist"
        )
    # The reports' fix stage is not wanted: it would plan every file a second time.
    result = scan_paths(replace(request, fix_info=False))
    by_hand: list[ByHand] = []
    spots: dict[str, list[tuple[Location, Finding]]] = {}
    for finding in result.findings:
        if finding.placeholder:
            continue  # never planned: an example is not a key to move
        for loc in finding.locations:
            alone = left_alone(loc)
            if alone is not None:
                by_hand.append(_by_hand(loc, alone.how, finding.redacted))
            else:
                spots.setdefault(loc.path, []).append((loc, finding))
    root = gitio.work_tree_root(Path(request.targets[0]).absolute())
    env_path = options.env_file or (root / ".env" if root is not None else Path(".env"))
    to_plan = []
    for path, here in spots.items():
        try:
            with open(path, "rb") as fh:
                data = fh.read(MAX_BYTES + 1)
        except OSError as exc:
            why = f"cannot read it again ({exc.strerror or exc})"
            by_hand.extend(_by_hand(loc, why, finding.redacted) for loc, finding in here)
            continue
        secrets = tuple(dict.fromkeys(finding.secret for _loc, finding in here))
        to_plan.append(Target(path, data, secrets, Path(path), here[0][0].git_status))
    existing = envfile.read_env(env_path) if options.keep else {}
    done = plan(to_plan, forced=options.name, existing_env=existing, env_file=_shown_path(env_path))
    report = FixReport(result, done, env_path, by_hand)
    report.by_hand.extend(_unplanned(done, spots))
    for fp in done.files:
        for o in fp.outcomes:
            if not o.info.fixable:
                pos = o.position
                report.by_hand.append(
                    ByHand(fp.target.path, pos.line, pos.column, o.info.how, redact(o.secret))
                )
    report.by_hand.sort(key=lambda b: (b.path, b.line, b.column))
    entries = done.env_entries()
    if options.diff or not options.keep:
        report.would_add = [n for n, v in entries.items() if existing.get(n) != v]
    if options.diff:
        report.dry_run = True
        report.diff = render_diff(done, show_secrets=options.show_secrets)
        return report
    _write(report, root, env_path, entries, options)
    return report


def _by_hand(loc: Location, reason: str, redacted: str) -> ByHand:
    return ByHand(loc.path, loc.line, loc.column, reason, redacted)


def _unplanned(done: Plan, spots: Mapping[str, list[tuple[Location, Finding]]]) -> list[ByHand]:
    """Locations in planned files whose key is not written whole there (split across
    literals, escaped): the planner found no occurrence to rewrite."""
    out = []
    for fp in done.files:
        path = fp.target.path
        seen = {(o.position.line, o.position.column) for o in fp.outcomes}
        moved = [o.secret for o in fp.outcomes if o.info.fixable]
        for loc, finding in spots[path]:
            # Part of a longer key that moves (two rules, one match inside the other's).
            if (loc.line, loc.column) in seen or any(finding.secret in m for m in moved):
                continue
            out.append(_by_hand(loc, NOT_WHOLE, finding.redacted))
    return out


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
    if root is not None:
        env_files = [fp.target.fs_path for fp in report.plan.files if fp.kind == "env"]
        keeper = [env_path] if options.keep and (entries or env_path.exists()) else []
        for path in [*keeper, *(p for p in env_files if p is not None)]:
            if envfile.ensure_ignored(root, path):
                report.ignored.append(_shown_path(path))
            if envfile.untrack(root, path):
                report.untracked.append(_shown_path(path))
    rewritten = [(fp, fp.new_data) for fp in report.plan.files if fp.new_data is not None]
    for fp, data in rewritten:
        _replace(Path(fp.target.path), data)
    if root is None:
        return
    # Whatever git's view of the file now (tracked, or untracked since the commit), the
    # commit a push would publish is what says whether the key is already out.
    for fp, _data in rewritten:
        rel = os.path.relpath(fp.target.path, root).replace(os.sep, "/")
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
    # Names and lines come from the scanned tree. A name is quoted as git quotes it (so a
    # newline in it cannot start a line of the diff, and git apply still reads it); in a
    # line, control characters are escaped as everywhere keysentry shows them, but for
    # tabs and the CR of a CRLF ending, which the diff needs to apply.
    from keysentry.untrusted import escape

    name = target.path[2:] if target.path.startswith("./") else target.path
    old, new = _lines(target.data), _lines(new_data)
    lines = difflib.unified_diff(old, new, _quoted(f"a/{name}"), _quoted(f"b/{name}"))
    out = []
    for line in lines:
        body, end = (
            (line[:-2], "\r\n") if line.endswith("\r\n") else (line.removesuffix("\n"), "\n")
        )
        text = "\t".join(map(escape, body.split("\t"))) + end
        if not line.endswith("\n"):
            text += "\\ No newline at end of file\n"
        out.append(text if show_secrets else scrub_secrets(text))
    return out


def _lines(data: bytes) -> list[str]:
    """The lines as git and patch count them: each ends at a line feed, never at a form
    feed, a lone CR or the other breaks ``str.splitlines`` knows."""
    parts = data.decode("utf-8", "surrogateescape").split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


_C_ESCAPES = {7: "a", 8: "b", 9: "t", 10: "n", 11: "v", 12: "f", 13: "r", 34: '"', 92: "\\"}


def _quoted(name: str) -> str:
    """``name`` as git writes it in a diff header (core.quotePath): in double quotes, with
    C escapes and octal bytes, when it holds a control character, a quote, a backslash or
    a byte past ASCII."""
    raw = os.fsencode(name)
    if all(32 <= b < 127 and b not in _C_ESCAPES for b in raw):
        return name
    body = "".join(
        "\\" + _C_ESCAPES[b] if b in _C_ESCAPES else chr(b) if 32 <= b < 127 else f"\\{b:03o}"
        for b in raw
    )
    return f'"{body}"'


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


def _shown_path(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)

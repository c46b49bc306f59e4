"""The planner: for each file with keys, its rewriter's sites; one variable name per key
across all files; the rewritten bytes, checked to parse and to hold none of the keys it
moved. Nothing is written here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from keysentry.models import FixInfo, Position
from keysentry.rewrite.edits import Lines, OverlapError, text_edits
from keysentry.rewrite.kinds import classify
from keysentry.rewrite.names import allocate
from keysentry.rewrite.registry import QUICK, REWRITERS
from keysentry.rewrite.sites import FileContext, FileSites, Site, Unfixable, occurrences

MAX_BYTES = 4 * 2**20
"""Files larger than this are not parsed or rewritten (generated or vendored code, dumps):
their keys are listed to change by hand. Callers read at most one byte more."""


@dataclass(frozen=True, slots=True)
class Target:
    """A file that holds keys, as read."""

    path: str
    """As shown (relative to where keysentry runs, or to the repository for staged files)."""
    data: bytes = field(repr=False)
    secrets: tuple[str, ...] = field(repr=False)
    fs_path: Path | None = None
    git_status: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """One occurrence of a key in a file, and what the fix does with it."""

    secret: str = field(repr=False)
    position: Position
    info: FixInfo


@dataclass(slots=True)
class FilePlan:
    target: Target
    kind: str
    outcomes: list[Outcome]
    new_data: bytes | None = field(default=None, repr=False)
    """The rewritten file (None: nothing to write)."""
    untrack: bool = False
    ignore: bool = False

    @property
    def changes(self) -> bool:
        return self.new_data is not None or self.untrack or self.ignore


@dataclass(slots=True)
class Plan:
    files: list[FilePlan]
    names: dict[str, str] = field(repr=False)
    """secret -> variable name."""

    def env_entries(self) -> dict[str, str]:
        """name -> key, for every key a rewritten file now reads from the environment."""
        out = {}
        for fp in self.files:
            if fp.new_data is None:  # an env file's too: it is never rewritten
                continue
            for o in fp.outcomes:
                if o.info.fixable:
                    out[o.info.variable] = o.secret
        return out


def plan(
    targets: Sequence[Target],
    *,
    forced: str | None = None,
    existing_env: Mapping[str, str] | None = None,
    env_file: str = ".env",
    quick: bool = False,
) -> Plan:
    """``quick``: the reports' plan (:data:`keysentry.rewrite.registry.QUICK`)."""
    rewriters = QUICK if quick else REWRITERS
    located: list[tuple[Target, str, FileSites]] = []
    for target in targets:
        kind = classify(target.path, target.data)
        ctx = FileContext(target.path, target.fs_path, target.git_status)
        try:
            if len(target.data) > MAX_BYTES:
                raise Unfixable(f"larger than {MAX_BYTES // 2**20} MiB: keysentry fix does "
                                "not rewrite it")  # fmt: skip
            sites = rewriters[kind](target.data, target.secrets, ctx)
        except Unfixable as exc:
            sites = FileSites(_by_hand(target, str(exc)))
        located.append((target, kind, sites))
    suggestions = [(s.secret, s.suggest) for _, _, fs in located for s in fs.sites]
    names = allocate(suggestions, forced=forced, existing=existing_env)
    return Plan([_file(t, k, fs, names, env_file) for t, k, fs in located], names)


def _by_hand(target: Target, reason: str) -> list[Site]:
    return [Site(s, a, reason=reason) for s, a, _b in occurrences(target.data, target.secrets)]


def _file(
    target: Target, kind: str, fs: FileSites, names: dict[str, str], env_file: str
) -> FilePlan:
    data = target.data
    fixable = [s for s in fs.sites if s.fixable]
    new: bytes | None = None
    if fixable and kind != "env":
        try:
            new = fs.apply(data, names)
        except (OverlapError, Unfixable) as exc:
            problem: str | None = f"the fix could not be planned ({exc})"
        else:
            problem = fs.verify(new) if fs.verify is not None else None
            by_hand = {s.secret for s in fs.sites if not s.fixable}
            if problem is None and any(
                s.secret.encode() in new for s in fixable if s.secret not in by_hand
            ):
                problem = "the rewritten file would still hold the key"
        if problem is not None:
            fs = FileSites(_by_hand(target, problem))
            fixable, new = [], None
        elif new == data:
            new = None
    lines = Lines(data)
    wide = list(fs.finish(frozenset(n for s in fixable for n in s.needs))) if (
        fixable and fs.finish is not None and fs.rewrite is None
    ) else []  # fmt: skip
    outcomes = []
    for site in fs.sites:
        if site.render is not None:
            name = names[site.secret]  # allocate named the key of every site planned
            edits = list(site.render(name)) + wide
            wide = []
            info = FixInfo(
                fixable=True,
                how=site.reason.replace("{name}", name),
                kind=kind,
                variable=name,
                # a rewrite's (a notebook's) sites render none and get no file-wide ones
                edits=text_edits(data, edits),
                advice=_fill(site.advice, name, env_file),
            )
        else:
            info = FixInfo(fixable=False, how=site.reason, kind=kind)
        outcomes.append(Outcome(site.secret, lines.position(site.start), info))
    return FilePlan(target, kind, outcomes, new, untrack=fs.untrack, ignore=fs.ignore)


def _fill(text: str, name: str, env_file: str) -> str:
    if "{secret}" in text:
        from keysentry.rewrite.yamlfiles import secret_name

        text = text.replace("{secret}", secret_name(name))
    return text.replace("{env_file}", env_file).replace("{name}", name)

"""`keysentry history`: every object in a repository, or the ones a range introduced.

The full audit reads the whole object store once (see objectstore): every unique
object, whether a ref, a reflog entry, a stash or nothing at all reaches it, names
included (tree entries, identities, headers: see objects), and every ref's name. A
range (``--range BASE..HEAD``, ``--since REV``) reads only the objects reachable from
the range's tips and not from its base: what the range introduced. Either way,
provenance is looked up afterwards, only for what was found (see attach).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from keysentry.console import progress
from keysentry.detect.scanner import Scanner
from keysentry.errors import UsageError
from keysentry.git import run as gitio
from keysentry.git.run import RepoInfo
from keysentry.models import Issue
from keysentry.sources import objectstore
from keysentry.sources.attach import attach_locations
from keysentry.sources.gathered import Gathered
from keysentry.sources.objects import ObjectHits, ObjectScanner


@dataclass(frozen=True, slots=True)
class HistoryOptions:
    range: str | None = None
    """``BASE..HEAD`` (any revision range git accepts): only what it introduced."""
    since: str | None = None
    """Shorthand for ``REV..HEAD``."""
    messages: bool = True
    """Scan commit and annotated-tag messages too."""
    published_by: str = ""
    """Why this checkout came from a server, so that HEAD and its branches and tags count
    as pushed (``"a CI job (CI is set)"``); empty when nothing says so."""
    incoming: tuple[str, ...] = ()
    """The new tips of a push being received (a pre-receive hook): what they reach counts
    as pushed, though no ref names it yet."""


def collect_history(
    scanner: Scanner,
    target: Path,
    options: HistoryOptions,
    *,
    include_placeholders: bool = False,
    show_progress: bool = False,
) -> Gathered:
    """Scan a repository's history (or a range of it) and locate what was found."""
    repo = gitio.discover(target)
    objects = ObjectScanner(scanner, messages=options.messages)
    gathered = Gathered()
    partial = gitio.is_partial_clone(repo)
    revs = resolve_range(repo, options)
    with progress.bar(show_progress, "keysentry history") as bar:
        if revs is None:
            harvest = objectstore.read_all(repo, objects, bar, partial=partial)
            harvest.found += ref_names(repo, objects, harvest.counters)
        else:
            harvest = _scan_range(repo, revs, partial, objects, bar)
    gathered.counters.update(harvest.counters)
    gathered.issues.extend(harvest.issues)
    if options.messages:
        gathered.counters["messages"] = gathered.counters["commits"] + gathered.counters["tags"]
    _describe(repo, revs, options, partial, gathered)
    attach_locations(
        repo,
        harvest.found,
        gathered,
        revs,
        objects,
        include_placeholders=include_placeholders,
        partial=partial,
        published=bool(options.published_by),
        incoming=options.incoming,
    )
    return gathered


# -- ranges --------------------------------------------------------------------


def resolve_range(repo: RepoInfo, options: HistoryOptions) -> list[str] | None:
    """The range as object ids (``tip``, ``^base``), or None for the whole history."""
    if options.range is not None and options.since is not None:
        raise UsageError("give either --range or --since, not both")
    spec = options.range if options.range is not None else options.since
    if spec is None:
        return None
    if options.since is not None:
        if repo.head is None:
            raise UsageError("--since needs a commit at HEAD; this repository has none yet")
        spec = f"{options.since}..HEAD"
    if not spec or spec.startswith("-"):
        raise UsageError(f"not a revision range: {spec!r}")
    proc = gitio.run_git(["rev-parse", "--end-of-options", spec, "--"], repo.cwd, check=False)
    revs = [
        line
        for line in proc.stdout.decode("ascii", "replace").splitlines()
        if line not in ("--end-of-options", "--")
    ]
    if proc.returncode != 0 or not revs:
        raise UsageError(
            f"cannot resolve the range {spec!r} in {repo.cwd}: "
            f"{proc.stderr.decode('utf-8', 'replace').strip()[:300] or 'no such revision'}"
        )
    return revs


def _scan_range(
    repo: RepoInfo,
    revs: Sequence[str],
    partial: bool,
    objects: ObjectScanner,
    bar: progress.Progress,
) -> objectstore.Harvest:
    # --missing=print keeps a partial clone from fetching what it lacks: the missing
    # objects are listed (prefixed with "?") and counted instead.
    missing_opt = ["--missing=print"] if partial else []
    # Trees are read too: their entries' names are content.
    listing = ["rev-list", "--objects", "--no-object-names", *missing_opt, *revs, "--"]
    missing: list[str] = []
    with gitio.GitStream(listing, repo.cwd) as lister:
        feed = _object_ids(lister, missing)
        harvest = objectstore.read_listed(repo, feed, objects, bar, partial=partial)
        lister.finish()
    harvest.issues.extend(
        Issue("missing-object", oid, "not in this partial clone: not scanned") for oid in missing
    )
    harvest.counters["missing_objects"] += len(missing)
    return harvest


def _object_ids(lister: gitio.GitStream, missing: list[str]) -> Iterator[bytes]:
    """rev-list's object ids, as cat-file input; the missing ones are set aside."""
    tail = b""
    while chunk := lister.stdout.read(2**20):
        lines = (tail + chunk).split(b"\n")
        tail = lines.pop()
        kept = []
        for line in lines:
            if line.startswith(b"?"):
                missing.append(line[1:].decode("ascii", "replace"))
            elif line:
                kept.append(line)
        if kept:
            yield b"\n".join(kept) + b"\n"
    if tail:
        yield tail + b"\n"


def ref_names(repo: RepoInfo, objects: ObjectScanner, counters: Counter[str]) -> list[ObjectHits]:
    """Hits in the names of the refs (branches, tags, remote-tracking refs, any other):
    a name is pushed and fetched with the ref. One literal search over all of them
    first; the scanner reads only the names it marked."""
    out = gitio.run_git(["for-each-ref", "--format=%(objectname) %(refname)%00"], repo.cwd)
    records = [r.lstrip(b"\n") for r in out.stdout.split(b"\0")]
    records = [r for r in records if r]
    counters["ref_names"] += len(records)
    if not objects.mentions(b"\n".join(records)):
        return []
    found = []
    for record in records:
        oid, _, name = record.partition(b" ")
        if objects.mentions(name):
            tally = objects.scan_name(name, oid.decode())
            if tally.hits or tally.issues:
                part = name.decode("utf-8", "surrogateescape")
                found.append(ObjectHits(oid.decode(), "ref-name", tally, part))
    return found


# -- notes ---------------------------------------------------------------------


def _describe(
    repo: RepoInfo,
    revs: Sequence[str] | None,
    options: HistoryOptions,
    partial: bool,
    gathered: Gathered,
) -> None:
    """Plain-language facts for the summary: what was read and what could not be."""
    c = gathered.counters
    if revs is None:
        what = (
            "every object in the repository (all refs, reflogs, stashes and unreachable "
            "objects: contents, file names, identities and headers) and every ref's name"
        )
    else:
        spec = options.range if options.range is not None else f"{options.since}..HEAD"
        what = (
            f"only what {spec} introduced ({c['commits']} commit(s)); keys that "
            "already existed before it are not reported"
        )
    gathered.notes.append(f"history: {what}")
    if not options.messages:
        gathered.notes.append("commit and tag messages were not scanned (--no-messages)")
    if repo.bare:
        gathered.notes.append(
            "bare repository (a server's copy): its branches and tags are what it publishes, "
            "so every key they reach counts as published (pushed); in_head means in HEAD's "
            "tree. Keys only in its reflog or in unreachable objects were pushed once and "
            "dropped later: whoever fetched meanwhile has them"
        )
    if options.incoming:
        gathered.notes.append(
            "a push being received: its new commits count as published (pushed), as they "
            "are once the push is accepted"
        )
    if not repo.bare and options.published_by:
        gathered.notes.append(
            f"{options.published_by}: this checkout came from the server, so what HEAD and "
            "its branches and tags reach counts as published (pushed)"
        )
    if repo.shallow:
        boundary = _shallow_boundary(repo)
        shown = ", ".join(b[:12] for b in boundary[:5]) + (" ..." if len(boundary) > 5 else "")
        gathered.notes.append(
            f"shallow clone: history stops at {len(boundary)} boundary commit(s) ({shown}); "
            "older objects are not here and were not scanned, and a key first seen at the "
            "boundary may be older than the commit shown"
        )
    if partial:
        if revs is None:
            c["missing_objects"] += _count_missing(repo)
        n = c["missing_objects"]
        gathered.notes.append(
            f"partial clone: {n} object(s) are not in this clone and were not scanned "
            "(nothing was fetched); scan a full clone to cover them"
        )
        if revs is None and n:
            gathered.issues.append(
                Issue(
                    "missing-object",
                    str(repo.common_dir),
                    f"{n} object(s) of this partial clone not present",
                )
            )


def _shallow_boundary(repo: RepoInfo) -> list[str]:
    try:
        return (repo.common_dir / "shallow").read_text("ascii").split()
    except OSError:
        return []


def _count_missing(repo: RepoInfo) -> int:
    """Objects the refs and reflogs need that this partial clone does not have."""
    args = ["rev-list", "--objects", "--no-object-names", "--all", "--reflog", "--missing=print"]
    count = 0
    with gitio.GitStream(args, repo.cwd) as proc:
        tail = b""
        while chunk := proc.stdout.read(2**20):
            lines = (tail + chunk).split(b"\n")
            tail = lines.pop()
            count += sum(1 for line in lines if line.startswith(b"?"))
        proc.finish()
    return count + (1 if tail.startswith(b"?") else 0)

"""Found objects -> located inputs for the collector: path, commit, exposure, HEAD.

One location per key and path: a key that sat in ``config.py`` through fifty
edits is one location, with the commit that first put it there (and the line in
that version), still-in-HEAD if any version in HEAD has it, and the most exposed
class among the versions. The same key in several paths is one finding with a
location per path.

In a range, a key that the changed file already had before the change (or, with
rename detection, before the move) is not new: it is dropped. Objects whose hits
cannot become findings (placeholders, inline allows) cost no provenance at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from keysentry.errors import GitError
from keysentry.findings import InputContext
from keysentry.gitio import RepoInfo
from keysentry.models import Exposure, Finding, Issue
from keysentry.scanner import Hit, Tally
from keysentry.sources import provenance
from keysentry.sources.gathered import Gathered
from keysentry.sources.objects import ObjectHits, ObjectScanner

UNATTACHED = "<no path: blob in no commit>"
"""Path shown for a blob no commit contains (added to the index and dropped, say)."""


def attach_locations(
    repo: RepoInfo,
    found: Sequence[ObjectHits],
    gathered: Gathered,
    revs: Sequence[str] | None,
    objects: ObjectScanner,
    *,
    include_placeholders: bool = False,
    partial: bool = False,
    published: bool = False,
) -> None:
    """``published``: the checkout came from a server (a CI job): see provenance.read_refs."""
    if not found:
        return
    if not any(_needs_provenance(h, include_placeholders) for h in found):
        _without_provenance(found, gathered)
        return
    try:
        _attach(repo, found, gathered, revs, objects, partial, published)
    except GitError as exc:  # the findings stand; only where they came from is unknown
        gathered.issues.append(Issue("provenance", str(repo.cwd), str(exc)))
        _without_provenance(found, gathered)


def _without_provenance(found: Sequence[ObjectHits], gathered: Gathered) -> None:
    for h in found:
        gathered.add(h.tally, InputContext(f"{h.kind} {h.oid}", _source(h), blob=h.oid))


@dataclass(slots=True)
class _Place:
    """The earliest version of one key at one path, and what the other versions add."""

    hit: Hit
    ctx: InputContext
    commit: str
    """Looked up once for all places, at the end."""
    when: tuple[int, int]
    in_head: bool
    exposure: Exposure


def _attach(
    repo: RepoInfo,
    found: Sequence[ObjectHits],
    gathered: Gathered,
    revs: Sequence[str] | None,
    objects: ObjectScanner,
    partial: bool,
    published: bool,
) -> None:
    blobs = {h.oid: h for h in found if h.kind == "blob"}
    messages = [h for h in found if h.kind != "blob"]
    renames = revs is not None and not partial  # detection reads blobs: fine for a range
    events = (
        provenance.locate(repo, list(blobs), revs, partial=partial, renames=renames)
        if blobs
        else {}
    )
    lost = [oid for oid in blobs if oid not in events]
    if lost and revs is None:
        events.update(provenance.locate_unreachable(repo, lost))
    index = provenance.index_paths(repo, [o for o in lost if o not in events])
    old = _old_secrets(repo, events, objects) if revs is not None else {}
    refs = provenance.read_refs(repo, published=published)
    if refs.fetched_head:
        gathered.notes.append(
            "HEAD is detached and there is no local branch: a checkout of a fetched commit "
            "(as CI jobs make), so what HEAD reaches counts as pushed"
        )
    notes = provenance.note_targets(repo, refs, (e for evs in events.values() for e in evs))
    commits = {e.commit for evs in events.values() for e in evs}
    commits.update(h.oid for h in messages if h.kind == "commit")
    classes = provenance.classify(repo, refs, commits)
    head = provenance.head_blobs(repo, {e.path for evs in events.values() for e in evs})

    places: dict[tuple[object, ...], _Place] = {}
    for oid, hits in blobs.items():
        _issues_once(gathered, hits.tally, oid, events.get(oid))
        by_path = provenance.first_by_path(events.get(oid, ()))
        if not by_path:
            # In no commit: staged and not committed yet, or dropped from the index.
            for path in index.get(oid, []):
                ctx = InputContext(path, "staged", blob=oid, in_head=False)
                gathered.add(Tally(hits=hits.tally.hits), ctx)
            if oid not in index:
                ctx = InputContext(
                    UNATTACHED, "blob", blob=oid, exposure="unreachable", in_head=False
                )
                gathered.add(Tally(hits=hits.tally.hits), ctx)
            continue
        for path, event in by_path.items():
            in_head = head.get(path) == oid
            path_classes = [classes[e.commit] for e in events[oid] if e.path == path]
            exposure = provenance.exposure_of(path_classes, in_head)
            ctx = InputContext(path, "blob", blob=oid, exposure=exposure, in_head=in_head)
            note_ref = notes.get((event.commit, path))
            if note_ref is not None:
                ctx = replace(ctx, path=provenance.note_path(note_ref, path), source="note")
            for hit in hits.tally.hits:
                if hit.secret in old.get(oid, ()):
                    gathered.counters["not_new_in_range"] += 1
                    continue
                _merge(places, hit, ctx, (event.time, -event.order), event.commit)

    infos = provenance.object_infos(
        repo, {p.commit for p in places.values()} | {h.oid for h in messages}
    )
    for place in places.values():
        ctx = replace(
            place.ctx,
            commit=infos.get(place.commit),
            in_head=place.in_head,
            exposure=place.exposure,
        )
        gathered.add(Tally(hits=[place.hit]), ctx)
    for h in messages:
        if h.kind == "commit":
            ctx = InputContext(
                "<commit message>",
                "commit-message",
                blob=h.oid,
                commit=infos.get(h.oid),
                exposure=classes.get(h.oid, "unreachable"),
            )
        else:
            names = refs.tag_objects.get(h.oid, [])
            shown = names[0].removeprefix("refs/tags/") if names else h.oid[:12]
            ctx = InputContext(
                f"<tag {shown} message>",
                "tag-message",
                blob=h.oid,
                commit=infos.get(h.oid),
                exposure="tag" if names else "unreachable",
            )
        _issues_once(gathered, h.tally, h.oid, None, ctx.path)
        gathered.add(Tally(hits=h.tally.hits), ctx)


EXPOSURE_NOTE = "exposure of the keys found: "
_PLAIN: dict[str, str] = {
    "pushed": "published (pushed to a server): anyone who can read it has the key",
    "head": "in the current tree, not pushed as far as this clone knows",
    "branch": "in local history only, not pushed as far as this clone knows",
    "tag": "reachable from tags only (published if the tags were pushed)",
    "stash": "in stashes only",
    "reflog-only": "only in the reflog: no branch or tag has them",
    "unreachable": "in unreachable objects only (they stay until git gc prunes them)",
}


def exposure_note(findings: Iterable[Finding]) -> str:
    """Plain words for the summary: how many of the keys reported are exposed how far
    (each key counted once, at its most exposed place). Made from the findings that
    are left after the allowlist and the baseline: suppressed keys are not described."""
    best: dict[str, int] = {}
    for f in findings:
        ranks = [provenance.RANK.index(loc.exposure) for loc in f.locations if loc.exposure]
        if ranks and not f.placeholder:
            best[f.fingerprint] = min(ranks)
    if not best:
        return ""
    counts = Counter(provenance.RANK[rank] for rank in best.values())
    parts = [f"{counts[e]} {_PLAIN[e]}" for e in provenance.RANK if counts[e]]
    advice = (
        "revoke the published key(s) first with `keysentry revoke`, then rotate the rest"
        if counts["pushed"]
        else "rotate every key found, and remove them from history before it is pushed"
    )
    return EXPOSURE_NOTE + "; ".join(parts) + f" ({advice})"


def _merge(
    places: dict[tuple[object, ...], _Place],
    hit: Hit,
    ctx: InputContext,
    when: tuple[int, int],
    commit: str,
) -> None:
    key = (hit.rule.id, hit.secret, ctx.path, hit.members, hit.decoders)
    exposure: Exposure = ctx.exposure or "unreachable"
    place = places.get(key)
    if place is None:
        places[key] = _Place(hit, ctx, commit, when, bool(ctx.in_head), exposure)
        return
    if when < place.when:
        place.hit, place.ctx, place.commit, place.when = hit, ctx, commit, when
    place.in_head = place.in_head or bool(ctx.in_head)
    place.exposure = provenance.exposure_of([place.exposure, exposure], False)


def _old_secrets(
    repo: RepoInfo, events: dict[str, list[provenance.Event]], objects: ObjectScanner
) -> dict[str, set[str]]:
    """For each blob, the keys its pre-images (the versions it replaced) already held."""
    before: dict[str, set[str]] = {}
    for oid, evs in events.items():
        for event in evs:
            if event.source.strip("0"):
                before.setdefault(event.source, set()).add(oid)
    old: dict[str, set[str]] = {}
    for source, hits in provenance.scan_objects(repo, before, objects).items():
        for oid in before[source]:
            old.setdefault(oid, set()).update(hit.secret for hit in hits)
    return old


def _needs_provenance(h: ObjectHits, include_placeholders: bool) -> bool:
    return any(
        hit.allowed_by is None and (hit.placeholder is None or include_placeholders)
        for hit in h.tally.hits
    )


def _source(h: ObjectHits) -> str:
    return {"blob": "blob", "commit": "commit-message", "tag": "tag-message"}[h.kind]


def _issues_once(
    gathered: Gathered,
    tally: Tally,
    oid: str,
    events: list[provenance.Event] | None,
    shown: str | None = None,
) -> None:
    """Issues and counters of one object, once. The scanner named issues by object id;
    they get the path (and the object) instead."""
    if shown is None:
        shown = events[0].path if events else UNATTACHED
    label = f"{shown} ({oid[:12]})"
    issues = [
        Issue(i.kind, label + i.path[len(oid) :], i.detail) if i.path.startswith(oid) else i
        for i in tally.issues
    ]
    gathered.add(Tally(issues=issues, counters=tally.counters), InputContext(shown))

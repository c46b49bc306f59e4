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

from keysentry.detect.scanner import Hit, Tally
from keysentry.errors import GitError
from keysentry.findings.build import InputContext
from keysentry.git.run import RepoInfo
from keysentry.models import Exposure, Finding, Issue
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
    incoming: Sequence[str] = (),
) -> None:
    """``published``: the checkout came from a server (a CI job): see provenance.read_refs."""
    if not found:
        return
    if not any(_needs_provenance(h, include_placeholders) for h in found):
        _without_provenance(found, gathered)
        return
    try:
        _attach(repo, found, gathered, revs, objects, partial, published, incoming)
    except GitError as exc:  # the findings stand; only where they came from is unknown
        gathered.issues.append(Issue("provenance", str(repo.cwd), str(exc)))
        _without_provenance(found, gathered)


def _without_provenance(found: Sequence[ObjectHits], gathered: Gathered) -> None:
    for h in found:
        where = f"{h.kind} {h.oid}" + (f" {h.part}" if h.part else "")
        gathered.add(h.tally, InputContext(where, _source(h), blob=h.oid))


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
    incoming: Sequence[str],
) -> None:
    blobs = {h.oid: h for h in found if h.kind == "blob"}
    # The same entry is in every version of its tree: one representative of each.
    entries = list(
        {(h.part, h.target): h for h in reversed(found) if h.kind == "tree-entry"}.values()
    )
    refnames = [h for h in found if h.kind == "ref-name"]
    parts = [h for h in found if h.kind not in ("blob", "tree-entry", "ref-name")]
    renames = revs is not None and not partial  # detection reads blobs: fine for a range
    wanted = {*blobs, *(h.target for h in entries)}
    trees = bool(entries)
    events = (
        provenance.locate(repo, wanted, revs, partial=partial, renames=renames, trees=trees)
        if wanted
        else {}
    )
    named = {id(h): _named(h, events) for h in entries}
    if revs is None:
        # Not in any commit a ref or reflog reaches: look in the unreachable ones. (An
        # entry's object may be elsewhere under another name: the entry is still lost.)
        lost = [o for o in blobs if o not in events]
        lost += [h.target for h in entries if not named[id(h)]]
        if lost:
            more = provenance.locate_unreachable(repo, lost, trees=trees)
            for oid, evs in more.items():
                events.setdefault(oid, []).extend(evs)
            named = {id(h): _named(h, events) for h in entries}
    refs = provenance.read_refs(repo, published=published, incoming=incoming)
    # Under a ref that names a tree or a blob directly: in the whole history, and in a
    # range that is such a ref (a push of a tag of a blob), read whole.
    homeless = [o for o in blobs if o not in events]
    homeless += [h.target for h in entries if not named[id(h)]]
    direct = provenance.under_refs(repo, refs, homeless)
    index = provenance.index_paths(repo, [o for o in blobs if o not in events and o not in direct])
    old = _old_secrets(repo, events, objects) if revs is not None else {}
    if refs.fetched_head:
        gathered.notes.append(
            "HEAD is detached and there is no local branch: a checkout of a fetched commit "
            "(as CI jobs make), so what HEAD reaches counts as pushed"
        )
    notes = provenance.note_targets(repo, refs, (e for evs in events.values() for e in evs))
    commits = {e.commit for evs in events.values() for e in evs}
    commits.update(h.oid for h in parts if _object_of(h) == "commit")
    classes = provenance.classify(repo, refs, commits)
    head = provenance.head_blobs(
        repo, {e.path for evs in events.values() for e in evs}, trees=trees
    )

    places: dict[tuple[object, ...], _Place] = {}
    for oid, hits in blobs.items():
        _issues_once(gathered, hits.tally, oid, events.get(oid))
        by_path = provenance.first_by_path(events.get(oid, ()))
        if not by_path:
            # In no commit: under a ref that names a tree or the blob itself; staged and
            # not committed yet; or dropped from the index.
            for under in direct.get(oid, []):
                ctx = InputContext(under.shown, "blob", blob=oid, exposure=under.exposure)
                gathered.add(Tally(hits=hits.tally.hits), ctx)
            for path in index.get(oid, []):
                ctx = InputContext(path, "staged", blob=oid, in_head=False)
                gathered.add(Tally(hits=hits.tally.hits), ctx)
            if oid not in index and oid not in direct:
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

    for h in entries:
        _entry(h, named[id(h)], direct, classes, head, revs is not None, places, gathered)

    infos = provenance.object_infos(
        repo, {p.commit for p in places.values()} | {h.oid for h in parts}
    )
    for place in places.values():
        ctx = replace(
            place.ctx,
            commit=infos.get(place.commit),
            in_head=place.in_head,
            exposure=place.exposure,
        )
        gathered.add(Tally(hits=[place.hit]), ctx)
    # The tips of a push being received (pre-receive) are pushed before any ref names them:
    # a tag object among them is published once the push is accepted.
    pushed_tips = set(refs.by_class["pushed"])
    for h in parts:
        if _object_of(h) == "commit":
            where = _COMMIT_PART[h.kind].format(part=h.part)
            ctx = InputContext(
                where,
                _source(h),
                blob=h.oid,
                commit=infos.get(h.oid),
                exposure=classes.get(h.oid, "unreachable"),
            )
        else:
            names = refs.tag_objects.get(h.oid, [])
            shown = names[0].removeprefix("refs/tags/") if names else h.oid[:12]
            tag_classes = [refs.exposure_of_ref(n) for n in names]
            if h.oid in pushed_tips:
                tag_classes.append("pushed")
            ctx = InputContext(
                _TAG_PART[h.kind].format(tag=shown, part=h.part),
                _source(h),
                blob=h.oid,
                commit=infos.get(h.oid),
                exposure=provenance.exposure_of(tag_classes, False),
            )
        _issues_once(gathered, h.tally, h.oid, None, ctx.path)
        gathered.add(Tally(hits=h.tally.hits), ctx)
    for h in refnames:
        ctx = InputContext(
            f"<ref {h.part}>", "ref-name", blob=h.oid, exposure=refs.exposure_of_ref(h.part)
        )
        _issues_once(gathered, h.tally, h.oid, None, ctx.path)
        gathered.add(Tally(hits=h.tally.hits), ctx)


_COMMIT_PART = {
    "commit": "<commit message>",
    "identity": "<commit {part}>",
    "commit-header": "<commit header {part}>",
}
"""How a part of a commit is shown (``<commit author>``); the commit is the location's."""
_TAG_PART = {
    "tag": "<tag {tag} message>",
    "identity": "<tag {tag} {part}>",
    "tag-header": "<tag {tag} header {part}>",
}


def _object_of(h: ObjectHits) -> str:
    """Whether a message, identity or header hit is in a commit or in a tag."""
    if h.kind == "identity":
        return "tag" if h.part == "tagger" else "commit"
    return "commit" if h.kind in ("commit", "commit-header") else "tag"


def _named(h: ObjectHits, events: dict[str, list[provenance.Event]]) -> list[provenance.Event]:
    """The events that put the entry's object at a path ending in the entry's name."""
    return [e for e in events.get(h.target, ()) if e.path.rpartition("/")[2] == h.part]


def _entry(
    h: ObjectHits,
    named: list[provenance.Event],
    direct: dict[str, list[provenance.RefPlace]],
    classes: dict[str, Exposure],
    head: dict[str, str],
    in_range: bool,
    places: dict[tuple[object, ...], _Place],
    gathered: Gathered,
) -> None:
    """A key in a tree entry's name: located at the entry's full path, in every commit
    that has the entry (each a separate tree object holding the same name)."""
    _issues_once(gathered, h.tally, h.oid, named or None, named[0].path if named else None)
    if not named:
        ours = [p for p in direct.get(h.target, []) if p.inside.rpartition("/")[2] == h.part]
        if in_range:
            # The range has a new tree with this entry, but no commit of it put the
            # entry there: it was there before the range.
            gathered.counters["not_new_in_range"] += len(h.tally.hits)
            return
        for place in ours:
            ctx = InputContext(place.shown, "tree-entry", blob=h.oid, exposure=place.exposure)
            gathered.add(Tally(hits=_in_path(h, place.shown)), ctx)
        if not ours:
            ctx = InputContext(
                f"<no path: tree {h.oid[:12]} in no commit>/{h.part}",
                "tree-entry",
                blob=h.oid,
                exposure="unreachable",
                in_head=False,
            )
            gathered.add(Tally(hits=h.tally.hits), ctx)
        return
    for path, event in provenance.first_by_path(named).items():
        in_head = path in head
        path_classes = [classes[e.commit] for e in named if e.path == path]
        exposure = provenance.exposure_of(path_classes, in_head)
        ctx = InputContext(path, "tree-entry", blob=h.oid, exposure=exposure, in_head=in_head)
        for hit in _in_path(h, path):
            if in_range and any(_was_there(e, hit.secret) for e in named if e.path == path):
                gathered.counters["not_new_in_range"] += 1
                continue
            _merge(places, hit, ctx, (event.time, -event.order), event.commit)


def _in_path(h: ObjectHits, path: str) -> list[Hit]:
    """The entry's hits with columns counted in its full path (the name is its end)."""
    shift = len(path) - len(h.part)
    return [replace(hit, column=hit.column + shift) for hit in h.tally.hits]


def _was_there(event: provenance.Event, secret: str) -> bool:
    """Whether the path already had this name before the event: changed in place, or
    renamed from a path that holds the same key."""
    if event.old_path:
        return secret in event.old_path
    return bool(event.source.strip("0"))


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
    """The location's ``source``: what kind of thing the key was read from."""
    return {"blob": "blob", "commit": "commit-message", "tag": "tag-message"}.get(h.kind, h.kind)


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

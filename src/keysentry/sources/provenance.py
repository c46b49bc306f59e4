"""Where a found object came from, and how exposed it is.

Runs only for the objects that hold findings, so a clean repository pays nothing:
- a blob's path(s) and the commit that introduced it first, from one
  ``git log --find-object`` over every ref and reflog entry (merge commits diffed
  against each parent, so content that exists only in a merge resolution is found);
  blobs still unaccounted for are looked up in the commits ``git fsck`` calls
  unreachable, then under the refs that name a tree or a blob directly. A tree
  entry whose name holds a key is located the same way, by the object it names;
- the exposure class of each location, from which refs reach the commits involved;
- whether the blob is still at that path in HEAD's tree.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from keysentry.detect.scanner import Hit
from keysentry.git import run as gitio
from keysentry.git.run import RepoInfo
from keysentry.models import EXPOSURE_RANK, CommitInfo, Exposure
from keysentry.sources.objects import ObjectScanner

FIND_CHUNK = 500
"""--find-object arguments per git log run (keeps the command line short)."""

RANK: tuple[Exposure, ...] = EXPOSURE_RANK
"""Most exposed first: a location gets the first class that applies to it."""


@dataclass(frozen=True, slots=True)
class Event:
    """A commit whose tree has the blob at ``path`` while a parent's does not."""

    commit: str
    time: int
    """Committer time (epoch seconds)."""
    order: int
    """Position in ``git log --topo-order`` output: larger is older along its line."""
    path: str
    source: str = ""
    """The blob this one replaced at the path (or, renamed, at its old path); zeros
    when the path is new."""
    old_path: str = ""
    """Renamed or copied (with rename detection): the path it came from."""


def locate(
    repo: RepoInfo,
    oids: Collection[str],
    revs: Sequence[str] | None = None,
    *,
    partial: bool = False,
    renames: bool = False,
    trees: bool = False,
) -> dict[str, list[Event]]:
    """Events for each blob (or tree, or submodule commit), over ``revs`` (default:
    every ref and every reflog entry).

    ``--find-object`` lets git drop the other paths, but in a partial clone it wants
    the content of every blob it compares (and would fetch it): there, the whole raw
    log is read instead and filtered here. ``renames`` turns on rename detection, so
    that a moved file's event names the blob it was moved from. ``trees``: some of
    ``oids`` are trees, whose changes only ``-t`` lists (``--find-object`` implies it)."""
    events: dict[str, list[Event]] = {}
    tips = list(revs) if revs is not None else ["--all", "--reflog"]
    log = [*_LOG, "-M"] if renames else [*_LOG, "--no-renames"]
    if trees:
        log.append("-t")
    if partial:
        _read_log(repo, [*log, *tips], set(oids), events)
        return events
    ordered = sorted(oids)
    for i in range(0, len(ordered), FIND_CHUNK):
        chunk = ordered[i : i + FIND_CHUNK]
        finds = [f"--find-object={oid}" for oid in chunk]
        _read_log(repo, [*log, *finds, *tips], set(chunk), events)
    return events


def locate_unreachable(
    repo: RepoInfo, oids: Collection[str], *, trees: bool = False
) -> dict[str, list[Event]]:
    """Events for blobs (and, with ``trees``, trees) in commits that no ref or reflog
    entry reaches (dangling)."""
    commits = unreachable_commits(repo)
    events: dict[str, list[Event]] = {}
    if commits:
        stdin = "".join(c + "\n" for c in commits).encode()
        args = [*_LOG, "--no-renames", "--no-walk", "--stdin", *(["-t"] if trees else [])]
        _read_log(repo, args, set(oids), events, stdin)
    return events


def unreachable_commits(repo: RepoInfo) -> list[str]:
    """Commits that exist but that no ref, reflog entry or the index reaches."""
    proc = gitio.run_git(
        ["fsck", "--unreachable", "--connectivity-only", "--no-progress"], repo.cwd, check=False
    )
    # fsck exits non-zero for problems elsewhere (a missing object in a partial
    # clone); the unreachable commits it listed are still right.
    commits = []
    for line in proc.stdout.decode("ascii", "replace").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "unreachable" and parts[1] == "commit":
            commits.append(parts[2])
    return commits


# Raw diffs, each merge against every parent, children before parents.
_LOG = ("log", "-z", "--format=%x01%H %ct", "--raw", "--no-abbrev", "--no-textconv",
        "--no-ext-diff", "-m", "--topo-order")  # fmt: skip


def _read_log(
    repo: RepoInfo,
    args: Sequence[str],
    wanted: set[str],
    events: dict[str, list[Event]],
    stdin: bytes | None = None,
) -> None:
    """Stream ``git log`` output; keep the entries that add a wanted blob.

    Read field by field (``-z``: every field ends in NUL): a path may hold any byte
    but NUL, so only the position of a field says whether it is a path."""
    order = sum(len(v) for v in events.values())
    commit, time = "", 0
    pending: list[tuple[str, str]] = []  # (blob, pre-image) per path field still to come
    paths_left = 0  # path fields of the current entry (two for a rename or copy)
    old_path = ""
    with gitio.GitStream(args, repo.cwd, input=None if stdin is None else [stdin]) as proc:
        tail = b""
        while chunk := proc.stdout.read(2**20):
            fields = (tail + chunk).split(b"\0")
            tail = fields.pop()
            for field in fields:
                if paths_left:
                    paths_left -= 1
                    if not pending:
                        continue
                    path = field.decode("utf-8", "surrogateescape")
                    if paths_left:  # a rename's or copy's first path: where it came from
                        old_path = path
                    else:  # the last path is the new one
                        blob, source = pending.pop()
                        event = Event(commit, time, order, path, source, old_path)
                        events.setdefault(blob, []).append(event)
                    continue
                field = field.lstrip(b"\n")
                if field.startswith(b"\x01"):
                    commit, _, stamp = field[1:].decode("ascii", "replace").partition(" ")
                    time = int(stamp) if stamp.isdigit() else 0
                    order += 1
                elif field.startswith(b":"):
                    parts = field[1:].decode("ascii", "replace").split(" ")
                    if len(parts) < 5:
                        continue
                    status = parts[4][:1]
                    paths_left = 2 if status in ("R", "C") else 1
                    old_path = ""
                    if status != "D" and parts[3] in wanted:
                        pending.append((parts[3], parts[2]))
        proc.finish()


def first_by_path(events: Iterable[Event]) -> dict[str, Event]:
    """For each path, the earliest introduction: oldest committer time, then the one
    git lists last in topological order (an ancestor of the others on its line)."""
    chosen: dict[str, Event] = {}
    for event in events:
        best = chosen.get(event.path)
        if best is None or (event.time, -event.order) < (best.time, -best.order):
            chosen[event.path] = event
    return chosen


# -- exposure ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Refs:
    """The repository's refs, by exposure class."""

    by_class: dict[str, list[str]]
    """pushed / branch / tag / stash -> the object ids the refs point at."""
    tag_objects: dict[str, list[str]]
    """Annotated tag object id -> the ref names pointing at it."""
    notes: dict[str, str] = field(default_factory=dict)
    """Notes ref name (``refs/notes/commits``) -> the commit it points at."""
    fetched_head: bool = False
    """HEAD is detached and there is no local branch: a checkout of a fetched commit,
    as CI jobs make, so HEAD counts as pushed."""
    direct: dict[str, list[str]] = field(default_factory=dict)
    """A tree or blob that a ref names itself (``git tag t <blob>``, or through an
    annotated tag) -> those refs: it is published with them, though no commit has it."""
    everything: bool = False
    """Every branch and tag counts as pushed (a bare repository, a CI job's checkout)."""

    def exposure_of_ref(self, name: str) -> Exposure:
        """What a ref's name (and what it alone reaches) is exposed as: its kind."""
        exposure = _ref_class(name)
        if self.everything and exposure in ("branch", "tag"):
            return "pushed"
        return exposure  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class RefPlace:
    """A blob or tree found under a ref that names a tree or blob directly."""

    shown: str
    """``<refs/x>:dir/file``: the ref, then the path inside its tree."""
    exposure: Exposure
    inside: str = ""
    """The path inside the ref's tree (empty for the ref's own object)."""


# Refs a server keeps for its pull or merge requests and pipelines; a clone has them
# only by fetching them, as CI runners and mirrors do.
_REVIEW_REFS = ("refs/pull/", "refs/merge-requests/", "refs/pipelines/")


def read_refs(repo: RepoInfo, *, published: bool = False, incoming: Sequence[str] = ()) -> Refs:
    """``published``: this checkout came from a server (a CI job), so its branches,
    tags and HEAD count as pushed. In a bare repository they always do: a bare
    repository is a server's copy, and its refs are what it publishes. ``incoming``: the
    new tips of a push this repository is receiving (a pre-receive hook): no ref names
    them yet, and what they reach is published once the push is accepted."""
    out = gitio.run_git(
        ["for-each-ref", "--format=%(objectname) %(objecttype) %(*objectname) %(*objecttype) "
         "%(refname)"], repo.cwd
    ).stdout  # fmt: skip
    everything = published or repo.bare
    by_class: dict[str, list[str]] = {"pushed": [], "branch": [], "tag": [], "stash": []}
    tag_objects: dict[str, list[str]] = {}
    notes: dict[str, str] = {}
    direct: dict[str, list[str]] = {}
    branches = 0
    for line in out.decode("utf-8", "surrogateescape").splitlines():
        oid, kind, peeled, peeled_kind, name = line.split(" ", 4)
        branches += name.startswith("refs/heads/")
        if kind == "tag":
            tag_objects.setdefault(oid, []).append(name)
        if kind in ("tree", "blob"):
            direct.setdefault(oid, []).append(name)
        elif peeled_kind in ("tree", "blob"):
            direct.setdefault(peeled, []).append(name)
        if kind in ("commit", "tag"):  # a ref may point at a tree or a blob: no history
            exposure = _ref_class(name)
            if everything and exposure in ("branch", "tag"):
                exposure = "pushed"
            by_class[exposure].append(oid)
            if name.startswith("refs/notes/") and kind == "commit":
                notes[name] = oid
    fetched = False
    if repo.head is not None:
        fetched = not everything and not branches and _detached(repo)
        # A detached HEAD is local work too, unless nothing but a fetch can explain it.
        by_class["pushed" if everything or fetched else "branch"].append(repo.head)
    by_class["pushed"].extend(incoming)
    return Refs(by_class, tag_objects, notes, fetched, direct, everything)


def _detached(repo: RepoInfo) -> bool:
    proc = gitio.run_git(["symbolic-ref", "-q", "HEAD"], repo.cwd, check=False)
    return proc.returncode != 0


def _ref_class(name: str) -> str:
    if name.startswith("refs/remotes/") or name.startswith(_REVIEW_REFS):
        return "pushed"
    if name.startswith("refs/tags/"):
        return "tag"
    if name == "refs/stash":
        return "stash"
    # Local branches, and every other local ref (notes, ...).
    return "branch"


def note_targets(repo: RepoInfo, refs: Refs, events: Iterable[Event]) -> dict[tuple[str, str], str]:
    """(notes commit, path) -> the notes ref, for the events that are notes.

    Git stores the note on commit X as a blob at path X (or ``ab/cdef...`` once the
    notes tree fans out) in the history of a ``refs/notes/*`` ref; that path is the
    annotated object's id, not a file."""
    width = 64 if repo.object_format == "sha256" else 40
    candidates = [e for e in events if _is_note_path(e.path, width)]
    if not candidates or not refs.notes:
        return {}
    wanted = {e.commit for e in candidates}
    owner: dict[str, str] = {}
    for name, tip in sorted(refs.notes.items()):
        if wanted <= owner.keys():
            break
        for commit in _reachable(repo, [tip], wanted - owner.keys()):
            owner[commit] = name
    return {(e.commit, e.path): owner[e.commit] for e in candidates if e.commit in owner}


def _is_note_path(path: str, width: int) -> bool:
    flat = path.replace("/", "")
    return len(flat) == width and all(c in "0123456789abcdef" for c in flat)


def note_path(ref: str, path: str) -> str:
    """How a note is shown: ``<refs/notes/commits note on 1a2b...>``."""
    return f"<{ref} note on {path.replace('/', '')}>"


def classify(repo: RepoInfo, refs: Refs, commits: Collection[str]) -> dict[str, Exposure]:
    """The exposure class of each commit: the most exposed kind of ref that reaches it."""
    remaining = set(commits)
    result: dict[str, Exposure] = {}
    tips: dict[Exposure, list[str]] = {
        "pushed": refs.by_class["pushed"],
        "branch": refs.by_class["branch"],
        "tag": refs.by_class["tag"],
        "stash": [*refs.by_class["stash"], *_reflog(repo, "refs/stash", refs)],
    }
    for exposure, starts in tips.items():
        if remaining and starts:
            for commit in _reachable(repo, starts, remaining):
                result[commit] = exposure
            remaining -= result.keys()
    if remaining:
        for commit in _reachable(repo, ["--reflog"], remaining):
            result[commit] = "reflog-only"
        remaining -= result.keys()
    for commit in remaining:
        result[commit] = "unreachable"
    return result


def _reflog(repo: RepoInfo, ref: str, refs: Refs) -> list[str]:
    if not refs.by_class["stash"]:
        return []
    out = gitio.run_git(["log", "-g", "--format=%H", ref, "--"], repo.cwd, check=False).stdout
    return out.decode("ascii", "replace").split()


def _reachable(repo: RepoInfo, starts: Sequence[str], wanted: set[str]) -> set[str]:
    """Which of ``wanted`` the history of ``starts`` contains (one rev-list walk)."""
    found: set[str] = set()
    options = [s for s in starts if s.startswith("--")]
    stdin = "".join(s + "\n" for s in starts if not s.startswith("--")).encode()
    with gitio.GitStream(["rev-list", *options, "--stdin"], repo.cwd, input=[stdin]) as proc:
        tail = b""
        while chunk := proc.stdout.read(2**20):
            lines = (tail + chunk).split(b"\n")
            tail = lines.pop()
            for line in lines:
                oid = line.decode("ascii")
                if oid in wanted:
                    found.add(oid)
            if len(found) == len(wanted):
                break  # no need to walk the rest of history
        else:
            proc.finish()
    return found


def exposure_of(classes: Iterable[Exposure], in_head: bool) -> Exposure:
    candidates = set(classes)
    if in_head:
        candidates.add("head")
    for exposure in RANK:
        if exposure in candidates:
            return exposure
    return "unreachable"


def head_blobs(repo: RepoInfo, paths: Collection[str], *, trees: bool = False) -> dict[str, str]:
    """path -> blob id in HEAD's tree, for the given paths that are there (with
    ``trees``, directories too: their tree ids)."""
    if repo.head is None or not paths:
        return {}
    listing = ["ls-tree", "-r", "-z", "--full-tree", *(["-t"] if trees else []), repo.head]
    out = gitio.run_git(listing, repo.cwd).stdout
    wanted = set(paths)
    found: dict[str, str] = {}
    for entry in out.split(b"\0"):
        meta, _, raw_path = entry.partition(b"\t")
        path = raw_path.decode("utf-8", "surrogateescape")
        if path in wanted:
            found[path] = meta.split(b" ")[2].decode("ascii")
    return found


def under_refs(repo: RepoInfo, refs: Refs, oids: Collection[str]) -> dict[str, list[RefPlace]]:
    """For blobs and trees no commit has: the refs that name them, or a tree holding
    them, directly. One ``rev-list --objects`` over those refs' trees and blobs."""
    wanted = set(oids)
    if not wanted or not refs.direct:
        return {}
    found: dict[str, list[RefPlace]] = {}
    # rev-list names an object by the first path it meets it at: each ref's own object
    # is walked alone, so that every ref gets its own paths.
    for start in sorted(refs.direct):
        args = ["rev-list", "--objects", "--no-walk", "--stdin"]
        out = gitio.run_git(args, repo.cwd, input=(start + "\n").encode()).stdout
        for line in out.split(b"\n"):
            oid, _, raw = line.partition(b" ")
            if oid.decode("ascii", "replace") not in wanted:
                continue
            inside = raw.decode("utf-8", "surrogateescape")
            for name in refs.direct[start]:
                shown = f"<{name}>" + (f":{inside}" if inside else "")
                place = RefPlace(shown, refs.exposure_of_ref(name), inside)
                found.setdefault(oid.decode(), []).append(place)
    return found


def index_paths(repo: RepoInfo, oids: Collection[str]) -> dict[str, list[str]]:
    """blob -> the paths the index (the staging area) has it at, for the given blobs."""
    if not oids or repo.work_tree is None:
        return {}
    wanted = set(oids)
    out = gitio.run_git(["ls-files", "--stage", "-z"], repo.cwd).stdout
    found: dict[str, list[str]] = {}
    for record in out.split(b"\0"):
        meta, _, raw_path = record.partition(b"\t")
        parts = meta.split(b" ")
        if len(parts) == 3 and parts[1].decode() in wanted:
            found.setdefault(parts[1].decode(), []).append(
                raw_path.decode("utf-8", "surrogateescape")
            )
    return found


# -- reading objects -------------------------------------------------------------


def scan_objects(
    repo: RepoInfo, oids: Collection[str], objects: ObjectScanner
) -> dict[str, list[Hit]]:
    """Hits in the given blobs (read with one ``cat-file --batch``); missing ones skipped."""
    from keysentry.sources.catfile import BatchReader, Block, LargeObject

    found: dict[str, list[Hit]] = {}
    if not oids:
        return found
    lines = ["".join(oid + "\n" for oid in oids).encode()]
    with gitio.GitStream(["cat-file", "--batch"], repo.cwd, input=lines) as proc:
        for item in BatchReader(proc.stdout):
            results = []
            if isinstance(item, Block):
                try:
                    for oid, kind, start, end in item.objects:
                        data = bytes(item.data[start:end])
                        results += objects.scan_object(oid.decode(), kind, data)
                finally:
                    item.release()
            elif isinstance(item, LargeObject):
                results = objects.scan_large(item)
            for hits in results:
                if hits.kind == "blob":
                    found[hits.oid] = hits.tally.hits
        proc.finish()
    return found


# -- commit and tag details ------------------------------------------------------


def object_infos(repo: RepoInfo, oids: Collection[str]) -> dict[str, CommitInfo]:
    """Author (or tagger), date and subject of commits and annotated tags."""
    from keysentry.sources.catfile import BatchReader, Block, LargeObject

    infos: dict[str, CommitInfo] = {}
    if not oids:
        return infos
    lines = ["".join(oid + "\n" for oid in oids).encode()]
    with gitio.GitStream(["cat-file", "--batch"], repo.cwd, input=lines) as proc:
        for item in BatchReader(proc.stdout):
            if isinstance(item, Block):
                try:
                    for oid, _kind, start, end in item.objects:
                        infos[oid.decode()] = parse_info(oid.decode(), bytes(item.data[start:end]))
                finally:
                    item.release()
            elif isinstance(item, LargeObject):
                infos[item.oid.decode()] = parse_info(item.oid.decode(), item.stream.peek(65536))
        proc.finish()
    return infos


def parse_info(oid: str, content: bytes) -> CommitInfo:
    header, _, message = content.partition(b"\n\n")
    who, when = "", ""
    for line in header.split(b"\n"):
        if line.startswith((b"author ", b"tagger ")):
            who, when = _identity(line.split(b" ", 1)[1].decode("utf-8", "replace"))
            break
    summary = message.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    return CommitInfo(id=oid, author=who, date=when, summary=summary[:200])


def _identity(text: str) -> tuple[str, str]:
    """``Name <email> 1704067200 +0100`` -> (``Name <email>``, ISO-8601 date)."""
    name, _, stamp = text.rpartition("> ")
    parts = stamp.split()
    try:
        seconds = int(parts[0])
        offset = parts[1] if len(parts) > 1 else "+0000"
        sign = -1 if offset.startswith("-") else 1
        tz = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
        date = datetime.fromtimestamp(seconds, tz).isoformat()
    except (ValueError, IndexError, OverflowError, OSError):
        date = ""
    return (name + ">" if name else text), date

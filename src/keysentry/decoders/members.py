"""What a container walk hands out: members, the shared budget, and the guard on content.

Every decompressed byte is charged to the input's :class:`Budget`; problems met while a
member's content streams are collected by the walk's :class:`Session` and reported as
:class:`~keysentry.models.Issue` items when the next item is asked for. A reader may stop
reading a member's content at any point: the walk still goes on to the next member.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from keysentry.decoders.views import Limits
from keysentry.models import Issue

CHUNK = 2**20
"""Largest piece of member content handed out at once."""


@dataclass(slots=True)
class Budget:
    """Decompressed bytes spent on one top-level input, shared by every nested level."""

    limits: Limits
    used: int = 0
    exceeded: bool = False
    reported: bool = False

    def take(self, size: int) -> int:
        """Charge up to ``size`` bytes; returns how many fit under the cap."""
        grant = max(0, min(size, self.limits.max_decoded_bytes - self.used))
        self.used += grant
        if grant < size:
            self.exceeded = True
        return grant


@dataclass(frozen=True, slots=True)
class Member:
    """One file inside a container."""

    name: str
    """Path inside the container; for a compressed stream, the stored or derived name."""
    chunks: Callable[[], Iterator[bytes]] = field(repr=False)
    """Streams the content in pieces of at most ``CHUNK`` bytes. Call it, and read what
    it gives, before taking the next item from
    :func:`~keysentry.decoders.archives.iter_members`."""
    size: int | None = None
    units: tuple[str, ...] | None = field(default=None, repr=False)
    """For a document's text, one line per unit: the name of each line (``paragraph 3``),
    which locates a key in place of the line number."""


@dataclass(frozen=True, slots=True)
class Link:
    """A link member: it has no content of its own to scan. A hard link's content is its
    target member's, read where that member is; a symbolic link's target is only a name,
    never followed."""

    name: str
    target: str = ""


class Corrupt(Exception):
    """Content that cannot be decoded; the message is the Issue's detail."""


class Bomb(Exception):
    """A stream whose compression ratio says it is a decompression bomb; the message is
    the Issue's detail."""


class Session:
    """What one :func:`~keysentry.decoders.archives.iter_members` call shares with its
    members' chunk streams: problems met while a member streams are reported when the
    next item is asked for."""

    __slots__ = ("budget", "failed", "issues", "serial")

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.issues: list[Issue] = []
        self.serial = 0
        self.failed = False

    def problem(self, kind: str, path: str, detail: str) -> None:
        self.issues.append(Issue(kind, path, detail))
        self.failed = self.failed or kind == "decode-error"

    def capped(self, path: str) -> None:
        if not self.budget.reported:
            self.budget.reported = True
            cap = self.budget.limits.max_decoded_bytes
            self.problem(
                "size-cap",
                path,
                f"decompressed content passed the cap of {cap} bytes for this input; "
                "the rest was not unpacked or scanned",
            )

    def drain(self) -> Iterator[Issue]:
        while self.issues:
            yield self.issues.pop(0)


def _guarded(
    pieces: Iterator[bytes], session: Session, path: str, metered: bool
) -> Iterator[bytes]:
    try:
        for piece in pieces:
            if metered:
                grant = session.budget.take(len(piece))
                if grant:
                    yield piece if grant == len(piece) else piece[:grant]
                if grant < len(piece):
                    session.capped(path)
                    return
            elif piece:
                yield piece
    except Corrupt as exc:
        session.problem("decode-error", path, str(exc))
    except Bomb as exc:
        session.problem("ratio-cap", path, str(exc))
    except Exception as exc:  # hostile bytes fail library code in any way: never a crash
        session.problem("decode-error", path, f"unreadable ({type(exc).__name__}: {exc})")


def member(
    session: Session,
    name: str,
    size: int | None,
    produce: Callable[[], Iterator[bytes]],
    *,
    metered: bool,
    replayable: bool,
    units: tuple[str, ...] | None = None,
) -> Member:
    """A :class:`Member` whose content, from ``produce``, is guarded: charged to the budget
    when ``metered``, errors turned into issues, readable only before the walk moves on
    (and only once unless ``replayable``)."""
    serial = session.serial
    opened = False

    def chunks() -> Iterator[bytes]:
        nonlocal opened
        if session.serial != serial or (opened and not replayable):
            raise RuntimeError(f"{name}: read a member's chunks once, before the next member")
        opened = True
        return _guarded(produce(), session, name, metered)

    return Member(name, chunks, size, units)

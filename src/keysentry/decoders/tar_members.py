"""The members of a tar archive, read in order: seeking forward over what is not read
when the source can seek, reading through it when it is a stream.

Links are handed out as :class:`Link` items, never followed; directories and devices are
skipped. A damaged header, which tarfile takes silently for the end, is reported.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Generator, Iterator
from functools import partial
from typing import TYPE_CHECKING, BinaryIO

from keysentry.decoders.members import CHUNK, Corrupt, Link, Member, Session, member
from keysentry.decoders.views import Limits
from keysentry.models import Issue

if TYPE_CHECKING:
    from typing_extensions import Self


# Header problems that mean "the archive ended", not "the archive is damaged".
_TAR_ENDS: tuple[type[Exception], ...] = tuple(
    getattr(tarfile, n) for n in ("EOFHeaderError", "EmptyHeaderError") if hasattr(tarfile, n)
)


def _tracing_tarinfo(trouble: list[str]) -> type[tarfile.TarInfo]:
    """A TarInfo that records a damaged header: tarfile treats one after the first member
    as the end of the archive and says nothing."""

    class Traced(tarfile.TarInfo):
        @classmethod
        def fromtarfile(cls, tarfile_: tarfile.TarFile) -> Self:
            try:
                return super().fromtarfile(tarfile_)
            except _TAR_ENDS:
                raise
            except tarfile.HeaderError as exc:
                trouble.append(str(exc))
                raise

    return Traced


def _tar_content(archive: tarfile.TarFile, info: tarfile.TarInfo) -> Iterator[bytes]:
    content = archive.extractfile(info)
    if content is None:
        return
    while True:
        try:
            data = content.read(CHUNK)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise Corrupt(f"truncated tar member ({exc})") from None
        if not data:
            return
        yield data


def tar_members(
    source: bytes | BinaryIO, limits: Limits, session: Session
) -> Iterator[Member | Link | Issue]:
    """The members of the tar archive in ``source``, and the problems met."""
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    trouble: list[str] = []
    try:
        # Members are read in order. A file or buffer is opened so that tarfile seeks over
        # what is not read (the rest of a member past max_member_bytes); a stream ("r|")
        # is read through, every byte of it charged to the budget where it is decompressed.
        traced = _tracing_tarinfo(trouble)
        if stream.seekable():
            archive = tarfile.open(fileobj=stream, mode="r:", tarinfo=traced)  # noqa: SIM115
        else:
            archive = tarfile.open(fileobj=stream, mode="r|", tarinfo=traced)  # noqa: SIM115
    except Exception as exc:  # hostile bytes fail tarfile in any way
        yield Issue("decode-error", "", f"not a readable tar ({type(exc).__name__}: {exc})")
        return
    with archive:  # closes tarfile's own state, never the caller's stream
        ended = yield from _tar_walk(archive, limits, session)
    if ended and trouble:
        detail = (
            f"a damaged tar header ({trouble[0]}) ended the archive early; the rest was not read"
        )
        yield Issue("decode-error", "", detail)


def _tar_walk(
    archive: tarfile.TarFile, limits: Limits, session: Session
) -> Generator[Member | Link | Issue, None, bool]:
    """Yields the members; returns True when tarfile saw the end (or a header it took for
    the end), False when it stopped early and said why."""
    count = 0
    while True:
        try:
            info = archive.next()
        except Exception as exc:  # hostile bytes fail tarfile in any way
            detail = f"tar unreadable after {count} members ({exc}); the rest was not read"
            yield Issue("decode-error", "", detail)
            return False
        if info is None:
            return True
        count += 1
        if count > limits.max_members:
            detail = f"more than {limits.max_members} members; the rest was not read"
            yield Issue("archive-cap", "", detail)
            return False
        name = info.name  # undecodable bytes kept as surrogates: names are shown escaped
        if info.issym() or info.islnk():
            yield Link(name, info.linkname)
        elif info.isreg():
            produce = partial(_tar_content, archive, info)
            yield member(session, name, info.size, produce, metered=False, replayable=False)
            if session.failed:
                return False  # a stream cannot skip past damage

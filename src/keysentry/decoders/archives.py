"""Archives and compressed streams, recognised by content and read as streams.

Every decompressor is fed bounded pieces and asked for at most ``CHUNK`` bytes at a
time, and every decompressed byte is charged to the input's :class:`Budget`, so a
bomb costs one chunk of memory and at most the budget of work; the ratio guard in
:mod:`~keysentry.decoders.decompress` stops one long before. Nothing is ever
written to disk; member names (``../x`` included) are only names.

This module is the entry: detection and :func:`iter_members`. The readers live in
:mod:`~keysentry.decoders.zip_members`, :mod:`~keysentry.decoders.tar_members` and
:mod:`~keysentry.decoders.streams`, and are imported only when a container of their
kind is opened: zipfile, tarfile, bz2 and lzma then cost nothing to a scan (a
pre-commit run, say) that meets no archive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, BinaryIO

from keysentry.decoders.magic import HEAD_SIZE, detect
from keysentry.decoders.members import CHUNK, Budget, Link, Member, Session
from keysentry.decoders.reading import read_at
from keysentry.decoders.views import Limits
from keysentry.decoders.zip_eocd import zip_by_tail
from keysentry.models import Issue

if TYPE_CHECKING:
    from keysentry.decoders.magic import ArchiveKind

__all__ = [
    "CHUNK",
    "HEAD_SIZE",
    "Budget",
    "Link",
    "Member",
    "detect",
    "detect_data",
    "iter_members",
]


def detect_data(source: bytes | BinaryIO) -> ArchiveKind | None:
    """Like :func:`detect`, and also finds a zip behind a prefix (a self-extracting
    archive, a zipapp with a shebang) by its end-of-central-directory record."""
    head = source[:HEAD_SIZE] if isinstance(source, bytes) else read_at(source, 0, HEAD_SIZE)
    return detect(head) or ("zip" if zip_by_tail(source) else None)


def _walker(
    kind: str, source: bytes | BinaryIO, outer_name: str, limits: Limits, session: Session
) -> Callable[[], Iterator[Member | Link | Issue]] | None:
    """The reader for ``kind``, its module imported only now."""
    if kind == "zip":
        from keysentry.decoders.zip_members import zip_members

        return lambda: zip_members(source, limits, session)
    if kind == "tar":
        from keysentry.decoders.tar_members import tar_members

        return lambda: tar_members(source, limits, session)
    if kind == "pdf" and not isinstance(source, bytes):
        from keysentry.decoders.pdf import pdf_members

        return lambda: pdf_members(source, limits, session)
    if kind in ("docx", "xlsx", "pptx", "odf") and not isinstance(source, bytes):
        from keysentry.decoders.office import document_members

        return lambda: document_members(kind, source, limits, session)
    if kind == "mail" and not isinstance(source, bytes):
        from keysentry.decoders.mail import mail_members

        return lambda: mail_members(source, limits, session)
    if kind == "rtf" and not isinstance(source, bytes):
        from keysentry.decoders.rtf import rtf_members

        return lambda: rtf_members(source, limits, session)
    if kind in ("gzip", "bzip2", "xz", "zlib", "deflate"):
        from keysentry.decoders.streams import stream_member

        return lambda: stream_member(kind, source, outer_name, session)
    return None


def iter_members(
    kind: str, source: bytes | BinaryIO, outer_name: str, limits: Limits, budget: Budget
) -> Iterator[Member | Link | Issue]:
    """The members of a container of ``kind`` (from :func:`detect`), in order.

    Problems come as :class:`Issue` items among the members, each with ``path`` the
    member name, or ``""`` for the container as a whole: ``size-cap`` (the budget ran
    out; nothing more is read at any level), ``ratio-cap`` (a decompression bomb: that
    stream is stopped), ``archive-cap`` (over ``max_members``),
    ``decode-error`` (corrupt or truncated: what was read before is kept),
    and ``encrypted``. Links come as :class:`Link` items (no content to scan);
    directories and devices are skipped silently.
    ``source`` may be a non-seekable stream; a zip is then buffered, up to
    ``max_buffered_bytes``. ``outer_name`` names single compressed streams. A reader
    may stop reading a member's content anywhere (the scanner stops at
    ``max_member_bytes``): the walk still goes on to the next member.
    """
    session = Session(budget)
    if budget.exceeded:
        return
    walk = _walker(kind, source, outer_name, limits, session)
    if walk is None:
        yield Issue("decode-error", "", f"unknown container kind {kind!r}")
        return
    try:
        for item in walk():
            yield from session.drain()
            if budget.exceeded:
                break
            yield item
            session.serial += 1
            yield from session.drain()
            if budget.exceeded:
                break
    except Exception as exc:  # hostile bytes fail library code in any way: never a crash
        session.problem("decode-error", "", f"{kind} unreadable ({type(exc).__name__}: {exc})")
    yield from session.drain()

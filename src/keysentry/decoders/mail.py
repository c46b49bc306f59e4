"""The decoded parts of a mail (``.eml``) or of each mail in an mbox.

A mail's raw bytes are scanned as they are; what they hide is in its encoded parts: a
quoted-printable body wraps long lines with soft breaks (``=`` at the end of a line,
anywhere in a key) and writes ``=`` as ``=3D``, and an attachment or an HTML body is
often base64. The standard library's :mod:`email` package parses the message (MIME
structure, ``multipart/*`` nesting, attached ``message/rfc822`` mails) and undoes the
transfer encodings; each encoded part becomes a member named by its section number
(as IMAP numbers them) and its file name or type: ``part 2 (.env)``,
``part 1.2 (text/html)``. In an mbox each mail is ``message N`` first.

Bounded: a mail is parsed from memory up to ``max_buffered_bytes`` (a larger one in an
mbox is reported and skipped, the next ones are read), at most ``max_members`` parts
per mail and mails per mbox are read, nesting is followed :data:`MAX_NESTING` deep, and
every decoded byte is charged to the input's budget.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING, BinaryIO

from keysentry.decoders.members import Member, Session, member
from keysentry.decoders.reading import READ
from keysentry.decoders.views import Limits
from keysentry.models import Issue

if TYPE_CHECKING:
    from email.message import Message

MAX_NESTING = 16
_ENCODED = frozenset(("base64", "quoted-printable", "x-uuencode", "uuencode", "x-uue", "uue"))
_SEPARATOR = re.compile(rb"\r?\n\r?\n(?=From )")
"""An mbox separator line follows a blank line (writers escape a body's ``From ``)."""


def _messages(source: BinaryIO, limit: int, mbox: bool) -> Iterator[tuple[bytes | None, int]]:
    """Each mail of an mbox, or the one mail of a file, read in pieces; None for one
    larger than ``limit`` bytes, with its size."""
    if not mbox:
        data = source.read(limit + 1)
        size = len(data) if len(data) <= limit else source.seek(0, 2)
        yield (data if len(data) <= limit else None), size
        return
    buffer = b""
    dropped = 0  # bytes of the current mail no longer held (it is too large)
    while True:
        piece = source.read(READ * 16)
        buffer += piece
        while True:
            found = _SEPARATOR.search(buffer, 1)
            if found is None:
                break
            body, buffer = buffer[: found.start()], buffer[found.end() :]
            size = dropped + len(body)
            yield (None if size > limit else body), size
            dropped = 0
        if not piece:
            size = dropped + len(buffer)
            if buffer.strip() or dropped:
                yield (None if size > limit else buffer), size
            return
        if dropped + len(buffer) > limit:
            # Too large to parse: keep only enough to find the next separator.
            dropped += len(buffer) - 16
            buffer = buffer[-16:]


def _name(number: str, part: Message) -> str:
    filename = part.get_filename()
    if isinstance(filename, str) and filename and len(filename) <= 200:
        label = filename.replace("\n", " ").replace("\r", " ")
    else:
        label = part.get_content_type()
    return f"part {number} ({label})"


def _leaves(part: Message, number: str, depth: int) -> Iterator[tuple[str, Message]]:
    payload = part.get_payload()
    if not isinstance(payload, list):
        yield number or "1", part
        return
    if depth >= MAX_NESTING:
        return
    for index, sub in enumerate(payload, 1):
        yield from _leaves(sub, f"{number}.{index}" if number else str(index), depth + 1)


def _parts(raw: bytes, prefix: str, limits: Limits, session: Session) -> Iterator[Member | Issue]:
    from email import message_from_bytes

    try:
        message = message_from_bytes(raw)
        leaves = list(_leaves(message, "", 0))
    except Exception as exc:  # hostile bytes fail library code in any way: never a crash
        yield Issue("decode-error", prefix, f"mail unreadable ({type(exc).__name__})")
        return
    for count, (number, part) in enumerate(leaves):
        if count >= limits.max_members:
            yield Issue(
                "archive-cap", prefix, f"only the first {limits.max_members} parts were read"
            )
            return
        encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
        if encoding not in _ENCODED:
            continue  # the raw bytes hold it as it is: scanned there
        try:
            data = part.get_payload(decode=True)
        except Exception as exc:  # a damaged part: reported, the others are read
            name = _name(number, part)
            yield Issue(
                "decode-error", f"{prefix}{name}", f"part unreadable ({type(exc).__name__})"
            )
            continue
        if isinstance(data, bytes) and data:
            produce = partial(iter, (data,))
            name = prefix + _name(number, part)
            yield member(session, name, len(data), produce, metered=True, replayable=False)


def mail_members(source: BinaryIO, limits: Limits, session: Session) -> Iterator[Member | Issue]:
    """The encoded parts of the mail or mbox in ``source``, decoded."""
    source.seek(0)
    mbox = source.read(5) == b"From "
    source.seek(0)
    for index, (raw, size) in enumerate(_messages(source, limits.max_buffered_bytes, mbox), 1):
        prefix = f"message {index}!" if mbox else ""
        if index > limits.max_members:
            yield Issue("archive-cap", "", f"only the first {limits.max_members} mails were read")
            return
        if raw is None:
            yield Issue(
                "size-cap",
                prefix.rstrip("!"),
                f"mail of {size} bytes is larger than {limits.max_buffered_bytes}: "
                "scanned as raw bytes only",
            )
            continue
        yield from _parts(raw, prefix, limits, session)

"""What a buffer is, from its first bytes: an archive, a compressed stream, a PDF.

Content kinds are recognised by their magic bytes, never by a file name. This module
imports only :mod:`re`: the commit hook's screen (:mod:`keysentry.screen`) asks it, as
the scanner does, whether an input is a container before any decoder is loaded.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # typing itself is not imported: the hook's screen uses this module
if TYPE_CHECKING:
    from typing import Literal

    ArchiveKind = Literal["zip", "tar", "gzip", "bzip2", "xz"]
HEAD_SIZE = 512
"""Bytes :func:`detect` needs to see (tar's magic is at 257)."""
EOCD_MAGIC = b"PK\x05\x06"
"""The signature of a zip's end-of-central-directory record (a zip behind a prefix, such
as a self-extractor or a zipapp, is found by it)."""
PDF_MAGIC = b"%PDF-"
"""A PDF's header, in its first bytes."""
_BZIP2 = re.compile(rb"BZh[1-9](?:1AY&SY|\x17rE8P\x90)")  # a first block, or an empty stream


def detect(head: bytes) -> ArchiveKind | None:
    """The container kind from the first bytes (give at least ``HEAD_SIZE``)."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08PK\x03\x04")):
        return "zip"
    if head.startswith(b"\x1f\x8b\x08"):
        return "gzip"
    if _BZIP2.match(head):
        return "bzip2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head[257:262] == b"ustar" and tar_header_checks_out(head):
        return "tar"
    return None


def tar_header_checks_out(head: bytes) -> bool:
    """The first 512 bytes are a tar header: its checksum field (octal, at 148) equals the
    sum of the header's bytes with that field read as spaces. ``ustar`` at 257 alone is
    not enough: a text file can hold it there (a tar library's source, say), and it would
    then be reported as a tar that could not be read."""
    if len(head) < 512:
        return False
    field = head[148:156]
    digits = field.strip(b" \x00")
    if not digits or len(digits) > 7 or digits.strip(b"01234567"):
        return False
    stored = int(digits, 8)
    unsigned = sum(head[:148]) + 8 * 0x20 + sum(head[156:512])
    if stored == unsigned:
        return True
    # Some old tar programs summed the bytes as signed chars.
    signed = unsigned - 256 * sum(1 for b in (*head[:148], *head[156:512]) if b > 127)
    return stored == signed


def is_pdf(head: bytes) -> bool:
    return PDF_MAGIC in head[:1024]


def is_container(head: bytes) -> bool:
    """An archive, a compressed stream or a PDF: the scanner unpacks it."""
    return detect(head) is not None or is_pdf(head)

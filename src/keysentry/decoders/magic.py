"""What a buffer is, from its first bytes: an archive, a compressed stream, a PDF, a
mail, an RTF document.

Content kinds are recognised by their magic bytes or their first lines, never by a file
name. This module imports only :mod:`re` and :mod:`zlib` (both built in): the commit
hook's screen (:mod:`keysentry.detect.screen`) asks it, as the scanner does, whether an input
is a container before any decoder is loaded.
"""

from __future__ import annotations

import re
import zlib

TYPE_CHECKING = False  # typing itself is not imported: the hook's screen uses this module
if TYPE_CHECKING:
    from typing import Literal

    ArchiveKind = Literal["zip", "tar", "gzip", "bzip2", "xz", "zlib", "deflate"]
    InnerKind = Literal["pdf", "mail", "rtf"]
HEAD_SIZE = 1024
"""Bytes :func:`detect` and :func:`inner_kind` need to see (tar's magic is at 257; a
PDF reader accepts a header anywhere in the first 1024 bytes)."""
EOCD_MAGIC = b"PK\x05\x06"
"""The signature of a zip's end-of-central-directory record (a zip behind a prefix, such
as a self-extractor or a zipapp, is found by it)."""
PDF_MAGIC = b"%PDF-"
"""A PDF's header, in its first 1024 bytes."""
RTF_MAGIC = b"{\\rtf"
_BZIP2 = re.compile(rb"BZh[1-9](?:1AY&SY|\x17rE8P\x90)")  # a first block, or an empty stream
_ZLIB_FIRST = frozenset(b"\x01\x5e\x9c\xda")
"""The second byte of a zlib header with a 32 KiB window and each compression level."""
_TEXT_BYTES = bytes(range(0x20, 0x7F)) + b"\t\n\r"
_TRIAL = 1024
"""Compressed bytes a headerless deflate stream is tried on."""
_MIN_TRIAL_OUTPUT = 32

# A mail: an optional mbox separator line, then header fields (continuation lines
# allowed) from the first byte on; among them a field only mail has and one more.
_HEADER = re.compile(rb"([A-Za-z][A-Za-z0-9-]{0,62}):[^\r\n]*\r?\n(?:[ \t][^\r\n]*\r?\n)*")
_MBOX_FROM = re.compile(rb"From [^\r\n]{1,200}\r?\n")
_MAIL_ONLY = frozenset(
    (b"from", b"mime-version", b"received", b"return-path", b"delivered-to", b"message-id")
)
_MAIL_FIELDS = _MAIL_ONLY | frozenset(
    (b"to", b"cc", b"subject", b"date", b"reply-to", b"content-type", b"sender", b"x-mailer",
     b"dkim-signature", b"content-transfer-encoding", b"user-agent", b"in-reply-to")
)  # fmt: skip


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
    if len(head) > 2 and head[0] == 0x78 and head[1] in _ZLIB_FIRST and _inflates(head, 15):
        return "zlib"
    if _binary(head) and _inflates(head, -15):
        return "deflate"
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


_SAMPLE = 128


def _binary(head: bytes) -> bool:
    """More than a tenth of the first bytes are not text: what compressed data looks like
    (its bytes are nearly random); text has none or few."""
    sample = head[:_SAMPLE]
    return len(sample) >= 16 and len(sample.translate(None, _TEXT_BYTES)) * 10 > len(sample)


_last_trial: list[tuple[bytes, int, bool]] = []
"""The last trial's answer: an input's head is asked about by the screen of inputs that
hold nothing and then again by the scanner."""


def _inflates(head: bytes, wbits: int) -> bool:
    """The head decompresses without error into text: a stream with no magic of its own
    (raw deflate) or a weak one (zlib's two bytes) is taken for one only then."""
    head = head[:_TRIAL]
    if _last_trial and _last_trial[0][1] == wbits and _last_trial[0][0] == head:
        return _last_trial[0][2]
    answer = _trial(head, wbits)
    _last_trial[:] = [(head, wbits, answer)]
    return answer


def _trial(head: bytes, wbits: int) -> bool:
    try:
        d = zlib.decompressobj(wbits)
        out = d.decompress(head, 4 * _TRIAL)
    except zlib.error:
        return False
    if len(out) < _MIN_TRIAL_OUTPUT or (wbits < 0 and d.eof and len(d.unused_data) > 8):
        return False  # too little to tell, or a "stream" that ends long before the bytes
    return bool(out) and not _binary(out[:256]) and b"\x00" not in out[:256]


def is_headless_deflate(head: bytes) -> bool:
    """What :func:`detect` calls ``deflate``: a stream with no magic bytes to search for."""
    return _binary(head) and _inflates(head, -15)


def _spellings(name: bytes) -> tuple[bytes, ...]:
    text = name.decode()
    forms = {text.title(), text.lower(), text.upper(), text.title().replace("-Id", "-ID")}
    forms.add(text.title().replace("Mime-", "MIME-"))
    return tuple(sorted(f.encode() + b":" for f in forms))


MAIL_NEEDLES: tuple[bytes, ...] = tuple(n for name in sorted(_MAIL_ONLY) for n in _spellings(name))
"""The header fields only a mail has, as written: a mail holds one in its first bytes
(for a literal search over many inputs, such as a repository's objects)."""


def is_pdf(head: bytes) -> bool:
    return head.find(PDF_MAGIC, 0, 1024) >= 0


def is_rtf(head: bytes) -> bool:
    return head.startswith(RTF_MAGIC)


def is_mail(head: bytes) -> bool:
    """A mail or an mbox: header fields from the first line on (after an mbox ``From``
    line), at least two of them mail's, one of which only mail has."""
    pos = 0
    if head.startswith(b"From "):
        found = _MBOX_FROM.match(head)
        if found is None:
            return False
        pos = found.end()
    names: set[bytes] = set()
    while len(names) < 64:
        found = _HEADER.match(head, pos)
        if found is None:
            break
        names.add(found.group(1).lower())
        pos = found.end()
    if len(names) < 2 or not names & _MAIL_ONLY or len(names & _MAIL_FIELDS) < 2:
        return False
    # The fields end at a blank line, or the head ends inside them.
    return head.startswith((b"\n", b"\r\n"), pos) or b"\n" not in head[pos:]


def inner_kind(head: bytes) -> InnerKind | None:
    """A document whose bytes are scanned as they are and also decoded: its text, its
    parts."""
    if is_pdf(head):
        return "pdf"
    if is_rtf(head):
        return "rtf"
    if is_mail(head):
        return "mail"
    return None


# The parts of Office Open XML and OpenDocument files that hold what a reader reads: the
# body, headers, footers, notes and comments of a document; a workbook's shared strings,
# cells and comments; a presentation's slides, notes and comments.
_PARTS = (
    ("docx", re.compile(r"word/(?:document|header\d*|footer\d*|footnotes|endnotes|comments)\.xml")),
    (
        "xlsx",
        re.compile(
            r"xl/(?:sharedStrings|worksheets/sheet\d+|comments\d*|comments/comment\d+)\.xml"
        ),
    ),
    ("pptx", re.compile(r"ppt/(?:slides/slide|notesSlides/notesSlide|comments/comment)\d+\.xml")),
    ("odf", re.compile(r"(?:content|styles)\.xml")),
)


def document_part(name: str) -> str | None:
    """The document kind whose text part a zip member of this name is, if any (``docx``,
    ``xlsx``, ``pptx``, ``odf``): documents are zips, known by their members' names."""
    if not name.endswith(".xml"):
        return None
    for kind, pattern in _PARTS:
        if pattern.fullmatch(name):
            return kind
    return None


# Every kind recognised by its first bytes, in one match: most inputs fail it at once.
_AT_START = re.compile(
    rb"PK\x03\x04|PK\x05\x06|PK\x07\x08|\x1f\x8b\x08|BZh[1-9]|\xfd7zXZ\x00|x[\x01\x5e\x9c\xda]"
    rb"|\{\\rtf|From |[A-Za-z][A-Za-z0-9-]{0,62}:"
)


def is_container(head: bytes) -> bool:
    """An archive, a compressed stream, a PDF, a mail or an RTF document: the scanner
    unpacks or decodes it. The same answer as ``detect(head) or inner_kind(head)``, the
    common case (text that is none of them) in a few microseconds: this runs on every
    input."""
    if _AT_START.match(head) and (detect(head) is not None or inner_kind(head) is not None):
        return True
    return (
        (head[257:262] == b"ustar" and tar_header_checks_out(head))
        or is_pdf(head)
        or is_headless_deflate(head)
    )

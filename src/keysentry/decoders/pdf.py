"""PDF: the text of each page, and the other streams decoded (object streams, embedded
files, forms), so a key in an exported runbook or slide deck is found at its page.

Page text needs the fonts (a page without them shows its strings as they are written:
when extraction gives nothing, the operands of the text-showing operators are read raw): an export from a browser, LibreOffice or Google Slides shows
glyph ids that only the font's ToUnicode map turns back into characters, and kerned
text (``[(sk-or-v1-3f)-20(9a...)]TJ``) comes in pieces. pypdf, a maintained pure-Python
reader, does both and decodes every standard filter (FlateDecode, ASCIIHexDecode,
ASCII85Decode, LZW, run-length) with its own output caps (75 MB per stream), so it is
used rather than a reader of our own. It is imported only when a PDF is met: the import
costs about 0.2 to 0.5 s (measured with ``python -X importtime``: 545 ms on a loaded
2-core machine), which a scan without PDFs never pays; extracting a one-page export
takes a few milliseconds. What it reads is bounded here: files up to
``max_member_bytes``, at most ``max_members`` pages and streams, and every decoded byte
is charged to the input's budget.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, BinaryIO

from keysentry.decoders.members import Member, Session, member
from keysentry.decoders.views import Limits
from keysentry.models import Issue

if TYPE_CHECKING:
    from pypdf import PdfReader


_SKIPPED_TYPES = {"/XRef", "/XObject", "/Metadata", "/FontDescriptor"}
_SKIPPED_SUBTYPES = {"/Image", "/Type1C", "/CIDFontType0C", "/OpenType"}


def _open(source: BinaryIO) -> PdfReader:
    import pypdf  # only now: the import is the costly part (see the module docstring)

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)  # its repairs are not our errors
    return pypdf.PdfReader(source, strict=False)


def _content_ids(page: Any) -> set[int]:
    contents = page.get("/Contents")
    refs = contents if isinstance(contents, list) else [contents]
    return {ref.idnum for ref in refs if hasattr(ref, "idnum")}


def _text(value: str) -> Iterator[bytes]:
    yield value.encode("utf-8", "surrogatepass")


def _pages(
    reader: PdfReader, limits: Limits, session: Session, shown: set[int]
) -> Iterator[Member | Issue]:
    for index, page in enumerate(reader.pages):
        name = f"page {index + 1}"
        if index >= limits.max_members:
            yield Issue("archive-cap", "", f"only the first {limits.max_members} pages were read")
            return
        try:
            shown |= _content_ids(page)
            text = page.extract_text() or _shown_strings(page)
        except Exception as exc:  # hostile content fails library code in any way
            yield Issue("decode-error", name, f"page text unreadable ({type(exc).__name__})")
            continue
        if text:
            produce = partial(_text, text)
            yield member(session, name, None, produce, metered=True, replayable=False)


_SHOW = frozenset((b"Tj", b"TJ", b"'", b'"'))
_MOVE = frozenset((b"Td", b"TD", b"T*", b"Tm", b"ET", b"'", b'"'))


def _raw(value: Any) -> str:
    raw = getattr(value, "original_bytes", value)
    if isinstance(raw, bytes):
        return raw.decode("latin-1")
    return raw if isinstance(raw, str) else ""


def _shown_strings(page: Any) -> str:
    """The strings of a page's text-showing operators as they are written, a line per
    text move: what a page shows when it has no font to map its codes through (a
    generator that leaves the font resources out; pypdf then extracts nothing)."""
    contents = page.get_contents()
    if contents is None:
        return ""
    lines: list[str] = []
    line: list[str] = []
    for operands, operator in contents.operations:
        if operator in _MOVE and line:
            lines.append("".join(line))
            line = []
        if operator not in _SHOW or not operands:
            continue
        shown = operands[-1]
        for value in shown if operator == b"TJ" and isinstance(shown, list) else [shown]:
            line.append(_raw(value))
    lines.append("".join(line))
    return "\n".join(lines).strip()


def _object_ids(reader: PdfReader) -> list[int]:
    ids: set[int] = set()
    for table in getattr(reader, "xref", {}).values():
        ids.update(table)
    ids.update(getattr(reader, "xref_objStm", {}))
    return sorted(ids)


def _streams(
    reader: PdfReader, limits: Limits, session: Session, shown: set[int]
) -> Iterator[Member | Issue]:
    from pypdf.generic import StreamObject

    count = 0
    for idnum in _object_ids(reader):
        if idnum in shown:
            continue  # a page's content: its text was read with its fonts
        name = f"object {idnum}"
        try:
            obj = reader.get_object(idnum)
            if not isinstance(obj, StreamObject):
                continue
            if obj.get("/Type") in _SKIPPED_TYPES or obj.get("/Subtype") in _SKIPPED_SUBTYPES:
                continue  # images, fonts and cross-reference tables hold no text
            if "/Length1" in obj or "/Length2" in obj:
                continue  # an embedded font program
            data = obj.get_data()
        except Exception as exc:  # hostile content fails library code in any way
            yield Issue("decode-error", name, f"stream unreadable ({type(exc).__name__})")
            continue
        count += 1
        if count > limits.max_members:
            yield Issue("archive-cap", "", f"only the first {limits.max_members} streams were read")
            return
        if data:
            produce = partial(iter, (data,))
            yield member(session, name, len(data), produce, metered=True, replayable=False)


def pdf_members(source: BinaryIO, limits: Limits, session: Session) -> Iterator[Member | Issue]:
    """Each page's text as member ``page N``, then every other decoded stream that may hold
    text as ``object N`` (object streams, embedded files, form XObjects' neighbours)."""
    size = source.seek(0, io.SEEK_END)
    if size > limits.max_member_bytes:
        yield Issue(
            "size-cap",
            "",
            f"PDF larger than {limits.max_member_bytes} bytes: scanned as raw bytes only",
        )
        return
    source.seek(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reader = _open(io.BytesIO(source.read()))
        if reader.is_encrypted:
            try:
                opened = bool(reader.decrypt(""))
            except Exception:  # an unknown security handler is as locked as a password
                opened = False
            if not opened:
                yield Issue("encrypted", "", "encrypted PDF: its streams were not decoded")
                return
        shown: set[int] = set()
        yield from _pages(reader, limits, session, shown)
        yield from _streams(reader, limits, session, shown)

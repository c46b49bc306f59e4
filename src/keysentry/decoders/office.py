"""The text of an Office Open XML or OpenDocument part as a reader sees it, one unit (a
paragraph, a shared string, a cell, a comment) per line.

Word, Excel and PowerPoint cut one word into several runs (spell-check marks, formatting,
revisions), so a key typed or pasted into a document is often in pieces across XML
elements that no pattern sees whole in the raw bytes. Joining each paragraph's runs
gives it back. The part is read by the standard library's XML parser with defusedxml's
protections (no document type declaration, no entity, no external reference: a part
that has one is refused, as Office never writes one), in one pass that keeps only the
unit being read in memory. What it costs is bounded by the part's size (the scanner
buffers parts up to ``max_buffered_bytes``), the decoded text is charged to the input's
budget, and at most :data:`MAX_UNITS` units are read.

A unit is named for where a reader finds it: ``paragraph 12`` (Word, PowerPoint and
OpenDocument paragraphs and headings, counted in document order from 1), ``string 4``
(a workbook's shared strings), ``cell B7`` (a worksheet's inline text),
``comment 2``. Deleted revision text and field codes are not what a reader sees and are
left out here; the raw bytes, scanned as they are, still hold them.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from functools import partial
from types import MappingProxyType
from typing import TYPE_CHECKING, BinaryIO

from keysentry.decoders.members import Member, Session, member
from keysentry.decoders.views import Limits
from keysentry.models import Issue

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

MAX_UNITS = 1_000_000
"""Units read from one part (a workbook's shared strings may be many)."""
MAX_SPACES = 8
"""Spaces an OpenDocument ``<text:s text:c="N"/>`` gives at most: spaces never join a
key, and a large count must not make a small part a large text."""

_TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


class _Part:
    """What one kind of part calls a unit, and how its text is read."""

    units: Mapping[str, str] = MappingProxyType({})
    """Local name of a unit element -> the word that names it."""

    def is_unit(self, elem: Element) -> bool:
        return _local(elem.tag) in self.units

    def name(self, elem: Element, number: int) -> str:
        return f"{self.units[_local(elem.tag)]} {number}"

    def text(self, elem: Element, out: list[str]) -> None:
        raise NotImplementedError


class _OpenXml(_Part):
    """Word and PowerPoint (``w:p``/``a:p`` paragraphs of ``w:t``/``a:t`` runs), and a
    workbook's shared strings, cells and comments."""

    def __init__(self, units: dict[str, str], text: frozenset[str], skip: frozenset[str]):
        self.units = units
        self._text = text
        self._skip = skip

    def name(self, elem: Element, number: int) -> str:
        word = self.units[_local(elem.tag)]
        ref = elem.get("r") if word == "cell" else elem.get("ref") if word == "comment" else None
        return f"{word} {ref}" if ref and len(ref) <= 16 and ref.isalnum() else f"{word} {number}"

    def text(self, elem: Element, out: list[str]) -> None:
        for child in elem:
            local = _local(child.tag)
            if local in self.units or local in self._skip:
                continue  # a nested unit (a text box's paragraph) is read on its own
            if local in self._text:
                out.append(child.text or "")
            elif local == "tab":
                out.append("\t")
            elif local in ("br", "cr"):
                out.append(" ")
            else:
                self.text(child, out)


class _OpenDocument(_Part):
    """OpenDocument paragraphs and headings: mixed content in the text namespace."""

    units: Mapping[str, str] = MappingProxyType({"p": "paragraph", "h": "paragraph"})

    def is_unit(self, elem: Element) -> bool:
        return _namespace(elem.tag) == _TEXT_NS and _local(elem.tag) in self.units

    def text(self, elem: Element, out: list[str]) -> None:
        out.append(elem.text or "")
        for child in elem:
            if _namespace(child.tag) == _TEXT_NS and not self.is_unit(child):
                local = _local(child.tag)
                if local == "s":
                    count = child.get(f"{{{_TEXT_NS}}}c") or "1"
                    out.append(" " * min(int(count) if count.isdigit() else 1, MAX_SPACES))
                elif local == "tab":
                    out.append("\t")
                elif local == "line-break":
                    out.append(" ")
                else:
                    self.text(child, out)
            # Other namespaces (frames, annotations' authors and dates) are not the
            # paragraph's text; a nested paragraph is a unit of its own.
            out.append(child.tail or "")


_WORD_TEXT = frozenset({"t"})
_NOT_SEEN = frozenset({"rPh"})
"""Text elements a reader does not see in place: a phonetic guide's (its ``t`` is above
the characters, not among them). Deleted text and field codes are other elements
(``delText``, ``instrText``), never read."""
_PARTS: dict[str, _Part] = {
    "docx": _OpenXml({"p": "paragraph"}, _WORD_TEXT, _NOT_SEEN),
    "pptx": _OpenXml({"p": "paragraph", "cm": "comment"}, frozenset({"t", "text"}), _NOT_SEEN),
    "xlsx": _OpenXml({"si": "string", "c": "cell", "comment": "comment"}, _WORD_TEXT, _NOT_SEEN),
    "odf": _OpenDocument(),
}
KINDS = tuple(_PARTS)
"""The part kinds :func:`document_members` reads (see :func:`magic.document_part`)."""


def _units(kind: str, source: BinaryIO, issues: list[Issue]) -> Iterator[tuple[str, str]]:
    """(unit name, text) of every unit with text, in the order their ends are read."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, iterparse

    part = _PARTS[kind]
    stack: list[Element] = []
    open_units: list[tuple[Element, int]] = []
    number = 0
    try:
        for event, elem in iterparse(source, events=("start", "end"), forbid_dtd=True):
            if event == "start":
                stack.append(elem)
                if part.is_unit(elem):
                    number += 1
                    open_units.append((elem, number))
                continue
            stack.pop()
            if open_units and open_units[-1][0] is elem:
                _, at = open_units.pop()
                pieces: list[str] = []
                part.text(elem, pieces)
                text = "".join(pieces).replace("\r", " ").replace("\n", " ")
                if text.strip():
                    yield part.name(elem, at), text
            if not open_units and stack:
                del stack[-1][:]  # read and done: only the unit being read stays in memory
    except DefusedXmlException as exc:
        issues.append(Issue("decode-error", "", f"XML refused ({type(exc).__name__})"))
    except (ParseError, ValueError, LookupError) as exc:  # LookupError: an unknown encoding
        issues.append(Issue("decode-error", "", f"XML unreadable ({type(exc).__name__}: {exc})"))


def document_members(
    kind: str, source: BinaryIO, limits: Limits, session: Session
) -> Iterator[Member | Issue]:
    """The text of the part in ``source`` as one member, one unit per line, each line
    named (``paragraph 12``); an Office part of ``kind`` (docx, xlsx, pptx, odf)."""
    del limits  # the part's size is bounded by the caller; the text by the budget
    source.seek(0)
    issues: list[Issue] = []
    names: list[str] = []
    lines: list[str] = []
    for name, text in _units(kind, io.BytesIO(source.read()), issues):
        if len(names) >= MAX_UNITS:
            issues.append(Issue("archive-cap", "", f"only the first {MAX_UNITS} units were read"))
            break
        names.append(name)
        lines.append(text)
    if lines:
        data = "\n".join(lines).encode("utf-8", "surrogatepass")
        produce = partial(iter, (data,))
        yield member(
            session, "text", len(data), produce, metered=True, replayable=False,
            units=tuple(names),
        )  # fmt: skip
    yield from issues

"""Byte edits of a file, and their positions as reports count them."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from keysentry.models import Position, TextEdit


@dataclass(frozen=True, slots=True)
class ByteEdit:
    """Replace ``data[start:end]`` by ``text``."""

    start: int
    end: int
    text: bytes


class OverlapError(ValueError):
    """Two edits touch the same bytes: the rewriter planned them wrong."""


def apply_edits(data: bytes, edits: Iterable[ByteEdit]) -> bytes:
    ordered = sorted(set(edits), key=lambda e: (e.start, e.end))
    out = []
    pos = 0
    for edit in ordered:
        if edit.start < pos:
            raise OverlapError(f"edits overlap at byte {edit.start}")
        out.append(data[pos : edit.start])
        out.append(edit.text)
        pos = edit.end
    out.append(data[pos:])
    return b"".join(out)


class Lines:
    """Byte offset -> (line, column) for one file's bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.starts = [0]
        find = data.find
        at = find(b"\n")
        while at >= 0:
            self.starts.append(at + 1)
            at = find(b"\n", at + 1)

    def position(self, offset: int) -> Position:
        index = bisect.bisect_right(self.starts, offset) - 1
        start = self.starts[index]
        head = self.data[start:offset].decode("utf-8", "surrogateescape")
        return Position(index + 1, len(head) + 1, offset - start + 1)

    def text_edit(self, edit: ByteEdit) -> TextEdit:
        text = edit.text.decode("utf-8", "surrogateescape").replace("\r\n", "\n")
        return TextEdit(self.position(edit.start), self.position(edit.end), tuple(text.split("\n")))


def text_edits(data: bytes, edits: Sequence[ByteEdit]) -> tuple[TextEdit, ...]:
    """In the order given: the location's own replacement first, then the file-wide
    edits it needs (an import), so a report can point at the first."""
    lines = Lines(data)
    return tuple(lines.text_edit(e) for e in edits)

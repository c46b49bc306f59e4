"""Decoded views of bytes, the limits on decoding, and offset maps back to the parent.

A view's ``origin`` turns an offset in the decoded bytes into an offset in the
bytes it was decoded from, so a key found after any chain of decodings is
reported at its line and column in the file a person opens.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on the work and memory one top-level input may cost."""

    max_depth: int = 4
    """Archive nesting depth."""
    max_decoded_bytes: int = 4 * 2**30
    """Decompressed bytes per top-level input, across every nested level: the bound on the
    work one input may cost. Bytes decompressed only to get past a capped member count."""
    max_members: int = 10_000
    """Members per archive."""
    max_member_bytes: int = 2**30
    """Content scanned per archive member: the rest of a larger member is skipped (and
    reported), and the walk goes on to the next member. A member that is itself an
    archive is not cut (its own members are), nor is the one member of a compressed
    stream (``app.log`` of ``app.log.gz``): nothing follows it to hide, and the budget
    bounds it."""
    max_buffered_bytes: int = 64 * 2**20
    """A nested zip (which needs random access) larger than this is not buffered in memory
    for unpacking; it is scanned as raw bytes."""
    max_compression_ratio: int = 200
    """A decompressing stream whose output passes this many times its input, once it has
    given ``ratio_grace_bytes``, is a bomb: it is stopped and reported. 0: no check."""
    ratio_grace_bytes: int = 256 * 2**20
    """Output a stream may give before its compression ratio is checked: a bomb and a file
    of zeros look the same, so a zero-filled file (a disk image) smaller than this is not
    taken for a bomb, while a bomb costs this much work at most, not the whole budget."""
    max_encoded_run: int = 16 * 2**20
    """Longest base64/hex/UTF-16/escaped run decoded at once."""
    max_encoding_depth: int = 3
    """Encodings of encodings (base64 of base64 ...) followed by the scanner."""


class OffsetMap:
    """An ``origin`` that also knows where copied bytes are and where a span ends."""

    __slots__ = ()

    def __call__(self, offset: int) -> int:
        raise NotImplementedError

    def end(self, offset: int) -> int:
        """The parent offset just past the source of ``data[offset - 1]``."""
        return self(offset)

    def verbatim(self, start: int, end: int) -> bool:
        """True when ``data[start:end]`` is a plain copy of one contiguous parent span."""
        return False


class SegmentMap(OffsetMap):
    """A piecewise map: in segment ``i`` every ``g_in`` decoded bytes come from ``g_out``
    parent bytes, and each decoded byte maps to the start of its group's source.

    A copied run is ``(1, 1)``; ``%2D`` is ``(1, 3)``; an ASCII run of UTF-16 is ``(1, 2)``;
    ``\\u00e9`` (two UTF-8 bytes from six source bytes) is ``(2, 6)``.
    """

    __slots__ = ("_d", "_g_in", "_g_out", "_p", "_size")

    def __init__(
        self,
        d_starts: array[int],
        p_starts: array[int],
        g_in: array[int],
        g_out: array[int],
        size: int,
    ) -> None:
        self._d = d_starts
        self._p = p_starts
        self._g_in = g_in
        self._g_out = g_out
        self._size = size

    def _segment(self, offset: int) -> int:
        return max(bisect_right(self._d, offset) - 1, 0)

    def __call__(self, offset: int) -> int:
        offset = min(max(offset, 0), self._size)
        if not self._d:
            return offset
        i = self._segment(offset)
        return self._p[i] + (offset - self._d[i]) // self._g_in[i] * self._g_out[i]

    def end(self, offset: int) -> int:
        offset = min(max(offset, 0), self._size)
        if offset == 0 or not self._d:
            return self(offset)
        i = self._segment(offset - 1)
        group = (offset - 1 - self._d[i]) // self._g_in[i]
        return self._p[i] + (group + 1) * self._g_out[i]

    def verbatim(self, start: int, end: int) -> bool:
        if not self._d or start >= end:
            return False
        i = self._segment(start)
        seg_end = self._d[i + 1] if i + 1 < len(self._d) else self._size
        return self._g_in[i] == self._g_out[i] == 1 and end <= seg_end


class SegmentMapBuilder:
    """Collects segments in decoded order; merges neighbours that continue each other."""

    __slots__ = ("_d", "_g_in", "_g_out", "_p", "size")

    def __init__(self) -> None:
        self._d: array[int] = array("q")
        self._p: array[int] = array("q")
        self._g_in: array[int] = array("q")
        self._g_out: array[int] = array("q")
        self.size = 0

    def add(self, length: int, parent: int, g_in: int, g_out: int) -> None:
        """``length`` decoded bytes (a multiple of ``g_in``) from ``parent`` onwards."""
        if length <= 0:
            return
        if self._d and self._g_in[-1] == g_in and self._g_out[-1] == g_out:
            last_len = self.size - self._d[-1]
            if self._p[-1] + last_len // g_in * g_out == parent:
                self.size += length
                return
        self._d.append(self.size)
        self._p.append(parent)
        self._g_in.append(g_in)
        self._g_out.append(g_out)
        self.size += length

    def build(self) -> SegmentMap:
        return SegmentMap(self._d, self._p, self._g_in, self._g_out, self.size)


class JoinedMap(OffsetMap):
    """The map of a view that joins pieces of its parent (split literals, wrapped lines,
    a key with invisible characters in it), keeping the parent's bytes so that a subclass
    can show a key's pieces (``excerpt``)."""

    __slots__ = ("_data", "_map")

    def __init__(self, data: bytes, builder: SegmentMapBuilder) -> None:
        self._data = data
        self._map = builder.build()

    def __call__(self, offset: int) -> int:
        return self._map(offset)

    def end(self, offset: int) -> int:
        return self._map.end(offset)

    def verbatim(self, start: int, end: int) -> bool:
        return self._map.verbatim(start, end)


class RunMap(OffsetMap):
    """Groups of a fixed-rate code (base64: 3 bytes from 4 chars, hex: 1 from 2) read
    from a run that may be wrapped over several lines.

    ``lines`` are the parent spans of the run's pieces; ``first`` is the index, in the
    run with its line breaks removed, of the first character decoded.
    """

    __slots__ = ("_compact", "_first", "_g_in", "_g_out", "_raw", "_size", "_total")

    def __init__(
        self, lines: Sequence[tuple[int, int]], first: int, g_in: int, g_out: int, size: int
    ) -> None:
        self._raw: array[int] = array("q", [lo for lo, _ in lines])
        self._compact: array[int] = array("q", accumulate((hi - lo for lo, hi in lines), initial=0))
        total = self._compact.pop() if self._compact else 0
        self._total = total
        self._first = first
        self._g_in = g_in
        self._g_out = g_out
        self._size = size

    def _raw_of(self, compact: int) -> int:
        compact = min(max(compact, 0), self._total)
        i = max(bisect_right(self._compact, compact) - 1, 0)
        return self._raw[i] + compact - self._compact[i]

    def __call__(self, offset: int) -> int:
        offset = min(max(offset, 0), self._size)
        return self._raw_of(self._first + offset // self._g_in * self._g_out)

    def end(self, offset: int) -> int:
        offset = min(max(offset, 0), self._size)
        if offset == 0:
            return self(0)
        groups = -(-offset // self._g_in)
        last = min(self._first + groups * self._g_out, self._total) - 1
        return self._raw_of(last) + 1

    def raw_to_compact(self, raw: int) -> int | None:
        """Index in the line-break-free run of parent offset ``raw``, if it is in the run."""
        i = bisect_right(self._raw, raw) - 1
        if i < 0:
            return None
        width = (self._compact[i + 1] if i + 1 < len(self._compact) else self._total) - (
            self._compact[i]
        )
        if raw - self._raw[i] >= width:
            return None
        return self._compact[i] + raw - self._raw[i]


@dataclass(frozen=True, slots=True)
class Derived:
    """Bytes decoded from a parent, and how to find their source in the parent."""

    data: bytes = field(repr=False)
    """The decoded bytes (may hold a secret: kept out of repr)."""
    step: str
    """The decoding step: base64, base64url, hex, utf-16le, utf-16be, escape, json-string,
    percent."""
    origin: Callable[[int], int] = field(repr=False)
    """Offset in ``data`` -> offset in the parent (base64: the start of the 4-character
    group; hex: the pair; UTF-16: the code unit; escapes: the escape sequence itself)."""
    excerpt: Callable[[int, int], str] | None = field(default=None, repr=False, compare=False)
    """The redacted snippet of a key at ``data[start:end]`` when the decoded line would not
    show where it came from (a key joined from pieces); None: the decoded line."""

    def parent_span(self, start: int, end: int) -> tuple[int, int]:
        """The parent bytes that ``data[start:end]`` was decoded from."""
        if isinstance(self.origin, OffsetMap):
            return self.origin(start), self.origin.end(end)
        return self.origin(start), self.origin(end)

    def verbatim(self, start: int, end: int) -> bool:
        """True when ``data[start:end]`` is a plain copy of the parent: whatever is there,
        the parent's own scan saw already."""
        return isinstance(self.origin, OffsetMap) and self.origin.verbatim(start, end)


@dataclass(frozen=True, slots=True)
class TextDecoder:
    """A decoder the scanner runs where one of its trigger needles was found.

    ``decode(data, offsets, limits)`` gets the start offsets of its triggers in ``data``
    and returns the decoded views around them. It never raises on any input and costs
    nothing where no trigger occurs, because it is not called there.
    """

    name: str
    triggers: tuple[bytes, ...]
    decode: Callable[[bytes, Sequence[int], Limits], list[Derived]] = field(repr=False)

"""Bytes of one input -> located hits, through every decoder.

The scanner owns the walk over views: raw bytes in bounded windows, archive and
compression members found by content, and text decodings (base64, hex, UTF-16,
escapes) triggered by literal needles found in the same single prefilter pass.
Line and column are computed only for hits.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import BinaryIO, Protocol, cast

from keysentry.decoders import TEXT_DECODERS, Limits, TextDecoder
from keysentry.decoders.archives import Budget, Member, detect, iter_members
from keysentry.engine import Candidate, Engine
from keysentry.models import Issue, redact
from keysentry.rules import Rule

CHUNK = 8 * 2**20
"""Inputs are read and scanned in windows of this many bytes (bounded memory)."""
OVERLAP = 16 * 2**10
"""Each window repeats this much of the previous one, so a key across a boundary is seen whole."""
SNIPPET_CONTEXT = 60
_SINGLE_STREAMS = frozenset({"gzip", "bzip2", "xz"})
MAX_MARKER_LINE = 2**20


class ByteSource(Protocol):
    """What the scanner reads from: a file, a pipe, or a stream of archive member bytes."""

    def read(self, size: int = -1, /) -> bytes: ...

    def seekable(self) -> bool: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...


@dataclass(frozen=True, slots=True)
class Hit:
    """A candidate key with where and how it was found."""

    rule: Rule
    secret: str = field(repr=False)
    placeholder: str | None
    line: int
    column: int
    members: tuple[str, ...]
    decoders: tuple[str, ...]
    snippet: str = field(repr=False)
    allowed_by: str | None = None
    """The inline allow marker on the key's line, if any."""


@dataclass(slots=True)
class Tally:
    """What one scan saw: hits, issues and counters. Mutable while scanning."""

    hits: list[Hit] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    counters: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class _Frame:
    """Where the hits of a window are reported: the container path and decoding chain."""

    path: str
    members: tuple[str, ...]
    chain: tuple[str, ...]
    depth: int
    budget: Budget

    def into(self, member: str, kind: str) -> _Frame:
        return _Frame(
            self.path, (*self.members, member), (*self.chain, kind), self.depth + 1, self.budget
        )


@dataclass(slots=True)
class _Window:
    """A slice of a member's raw bytes with the position of its first byte."""

    data: bytes
    line_base: int
    """Newlines before the window's first byte."""
    col_base: int
    """Bytes between the last newline before the window and its first byte."""
    accept_lo: int
    accept_hi: int
    _mark: tuple[int, int, int, int] = (0, 0, 0, 1)
    """(offset, newlines before it, its line's start, its column) of the last hit located:
    hits come mostly in order, so each is located from the previous one, not from the
    window's start (100,000 keys in a file: linear, not quadratic)."""

    def line_col(self, offset: int) -> tuple[int, int]:
        data = self.data
        last, lines, line_start, column = self._mark
        if offset < last:  # a decoded view's hit behind the last one: start over
            last, lines, line_start, column = 0, 0, 0, 1
        nl = data.rfind(b"\n", last, offset)
        if nl >= 0:
            lines += data.count(b"\n", last, offset)
            line_start = nl + 1
            column = len(data[line_start:offset].decode("utf-8", "replace")) + 1
        elif data[last : last + 1] and data[last] & 0xC0 == 0x80:
            # Resuming inside a UTF-8 sequence would count its bytes apart: decode the line.
            column = len(data[line_start:offset].decode("utf-8", "replace")) + 1
        else:
            column += len(data[last:offset].decode("utf-8", "replace"))
        self._mark = (offset, lines, line_start, column)
        if line_start == 0:
            column += self.col_base
        return self.line_base + lines + 1, column


class Scanner:
    def __init__(
        self,
        rules: Sequence[Rule],
        *,
        limits: Limits | None = None,
        markers: Sequence[str] = (),
        chunk_size: int = CHUNK,
        overlap: int = OVERLAP,
    ) -> None:
        self.limits = limits or Limits()
        self.markers = tuple(m.encode("utf-8") for m in markers if m)
        self.chunk_size = chunk_size
        self.overlap = overlap
        triggers = [t for d in TEXT_DECODERS for t in d.triggers]
        self.engine = Engine(rules, triggers)
        self._decoders: dict[int, list[TextDecoder]] = {}
        for decoder in TEXT_DECODERS:
            for trigger in decoder.triggers:
                self._decoders.setdefault(self.engine.needle_index[trigger], []).append(decoder)

    # -- entry points -------------------------------------------------------

    def scan_bytes(self, data: bytes, path: str) -> Tally:
        tally = Tally()
        self._scan_content(io.BytesIO(data), self._root(path), tally)
        return tally

    def scan_whole(self, data: bytes, path: str) -> Tally | None:
        """Scan an input held whole in memory; None when it holds nothing at all.

        The common case costs one prefilter pass and no allocation."""
        if self._holds_nothing(data):
            return None
        return self.scan_bytes(data, path)

    def _holds_nothing(self, data: bytes) -> bool:
        """Not a container and no needle at all: nothing any rule or decoder could use."""
        return detect(data[:512]) is None and not self.engine.hits(data)

    def scan_file(self, fileobj: ByteSource, path: str) -> Tally:
        """Scan an open, seekable file without reading it into memory at once."""
        tally = Tally()
        self._scan_content(fileobj, self._root(path), tally)
        return tally

    def _root(self, path: str) -> _Frame:
        return _Frame(path, (), (), 0, Budget(self.limits))

    # -- containers ---------------------------------------------------------

    def _scan_content(self, fileobj: ByteSource, frame: _Frame, tally: Tally) -> None:
        head = fileobj.read(512)
        kind = detect(head)
        if kind is not None and frame.depth >= self.limits.max_depth:
            tally.issues.append(
                Issue(
                    "depth-cap",
                    _display(frame),
                    f"{kind} nested deeper than "
                    f"{self.limits.max_depth}: scanned as raw bytes, not unpacked",
                )
            )
            kind = None
        if kind is None:
            self._scan_windows(_chunks(head, fileobj, self.chunk_size), frame, tally)
            return
        tally.counters["archives"] += 1
        fileobj.seek(0) if fileobj.seekable() else None
        source = cast(BinaryIO, fileobj if fileobj.seekable() else _Rewound(head, fileobj))
        failed = False
        members = 0
        outer = frame.members[-1] if frame.members else frame.path
        for item in iter_members(kind, source, outer, self.limits, frame.budget):
            if isinstance(item, Issue):
                tally.issues.append(Issue(item.kind, _display(frame, item.path), item.detail))
                failed = failed or item.kind == "decode-error"
                continue
            members += 1
            self._scan_member(
                item, frame.into(item.name, kind), tally, stream=kind in _SINGLE_STREAMS
            )
        tally.counters["members"] += members
        if (failed or not members) and fileobj.seekable():
            # What could not be unpacked (or only looked like an archive: a few magic
            # bytes are easily written by chance) is still scanned as bytes.
            fileobj.seek(0)
            self._scan_windows(_chunks(b"", fileobj, self.chunk_size), frame, tally)

    def _scan_member(self, member: Member, frame: _Frame, tally: Tally, *, stream: bool) -> None:
        chunks = member.chunks()
        if member.size is not None and member.size <= self.chunk_size:
            # Most members are small and hold nothing: one buffer, one prefilter pass,
            # none of the stream machinery below.
            data = b"".join(chunks)
            if self._holds_nothing(data):
                tally.counters["bytes"] += len(data)
                return
            chunks = iter((data,))
        reader = _IterReader(chunks)
        head = reader.peek(512)
        kind = detect(head)
        if stream and kind is not None:
            # release.tar.gz!release/pkg.whl, not release.tar.gz!release.tar!release/pkg.whl:
            # a compressed stream holding an archive adds a decoder, not a path level.
            frame = replace(frame, members=frame.members[:-1])
        if kind == "zip":
            # zip needs random access: buffer the member when it is small enough.
            data = reader.read(self.limits.max_member_bytes + 1)
            if len(data) > self.limits.max_member_bytes:
                tally.issues.append(
                    Issue(
                        "size-cap",
                        _display(frame),
                        "nested zip larger than "
                        f"{self.limits.max_member_bytes} bytes: scanned as raw bytes",
                    )
                )
                self._scan_windows(_chain_chunks(data, reader, self.chunk_size), frame, tally)
                return
            self._scan_content(io.BytesIO(data), frame, tally)
            return
        self._scan_content(reader, frame, tally)

    # -- raw windows and text decoders ---------------------------------------

    def _scan_windows(self, chunks: Iterator[bytes], frame: _Frame, tally: Tally) -> None:
        tail = b""
        line_base = col_base = 0
        accept_lo = 0
        chunk = next(chunks, None)
        while chunk is not None:
            following = next(chunks, None)
            last = following is None
            data = tail + chunk if tail else chunk
            tally.counters["bytes"] += len(chunk)
            accept_hi = len(data) if last else max(len(data) - self.overlap // 2, accept_lo)
            window = _Window(data, line_base, col_base, accept_lo, accept_hi)
            self._scan_window(window, frame, tally, final=last)
            if last:
                break
            keep = min(self.overlap, len(data))
            consumed = data[: len(data) - keep]
            line_base += consumed.count(b"\n")
            nl = consumed.rfind(b"\n")
            col_base = len(consumed) - nl - 1 if nl >= 0 else col_base + len(consumed)
            tail = data[len(data) - keep :]
            accept_lo = accept_hi - (len(data) - keep)
            chunk = following

    def _scan_window(self, window: _Window, frame: _Frame, tally: Tally, *, final: bool) -> None:
        data = window.data
        hits = self.engine.hits(data)
        if not hits:
            return
        for cand in self.engine.match(data, hits, final=final):
            if window.accept_lo <= cand.start < window.accept_hi:
                self._record(tally, frame, window, cand.start, data, cand, ())
        self._decode(data, hits, window, frame, tally, lambda o: o, (), 0)

    def _decode(
        self,
        data: bytes,
        hits: Sequence[tuple[int, int]],
        window: _Window,
        frame: _Frame,
        tally: Tally,
        origin: Callable[[int], int],
        steps: tuple[str, ...],
        level: int,
    ) -> None:
        if level >= self.limits.max_encoding_depth:
            return
        offsets: dict[TextDecoder, list[int]] = {}
        for needle, offset in hits:
            for decoder in self._decoders.get(needle, ()):
                offsets.setdefault(decoder, []).append(offset)
        for decoder, where in offsets.items():
            try:
                views = decoder.decode(data, where, self.limits)
            except Exception as exc:  # a decoder bug must not end the scan; it is reported
                tally.issues.append(
                    Issue("decode-error", _display(frame), f"{decoder.name}: {type(exc).__name__}")
                )
                continue
            for view in views:
                tally.counters["decoded_views"] += 1
                view_origin = _compose(origin, view.origin)
                if not window.accept_lo <= view_origin(0) < window.accept_hi:
                    continue
                sub_hits = self.engine.hits(view.data)
                if not sub_hits:
                    continue
                chain = (*steps, view.step)
                for cand in self.engine.match(view.data, sub_hits):
                    self._record(
                        tally, frame, window, view_origin(cand.start), view.data, cand, chain
                    )
                self._decode(
                    view.data, sub_hits, window, frame, tally, view_origin, chain, level + 1
                )

    def _record(
        self,
        tally: Tally,
        frame: _Frame,
        window: _Window,
        raw_offset: int,
        view: bytes,
        cand: Candidate,
        steps: tuple[str, ...],
    ) -> None:
        line, column = window.line_col(raw_offset)
        tally.hits.append(
            Hit(
                rule=cand.rule,
                secret=cand.secret,
                placeholder=cand.placeholder,
                line=line,
                column=column,
                members=frame.members,
                decoders=(*frame.chain, *steps),
                snippet=self._snippet(view, cand.start, cand.end),
                allowed_by=self._marker(window.data, raw_offset),
            )
        )

    def _marker(self, data: bytes, offset: int) -> str | None:
        if not self.markers:
            return None
        start = data.rfind(b"\n", max(0, offset - MAX_MARKER_LINE), offset) + 1
        start = max(start, offset - MAX_MARKER_LINE)
        end = data.find(b"\n", offset)
        end = len(data) if end < 0 else min(end, offset + MAX_MARKER_LINE)
        line = data[start:end]
        for marker in self.markers:
            if marker in line:
                return marker.decode("utf-8")
        return None

    def _snippet(self, data: bytes, start: int, end: int) -> str:
        """The key's line around it, with every key-shaped string on it redacted."""
        # Searched back only as far as the snippet reaches: a long line costs each key the
        # same, not the length of the line before it.
        lo = max(
            data.rfind(b"\n", max(0, start - SNIPPET_CONTEXT), start) + 1, start - SNIPPET_CONTEXT
        )
        hi = data.find(b"\n", end)
        hi = min(len(data) if hi < 0 else hi, end + SNIPPET_CONTEXT)
        piece = data[lo:hi]
        parts: list[str] = []
        pos = 0
        for cand in self.engine.match(piece, classify=False):
            if cand.start < pos:
                continue
            parts.append(_printable(piece[pos : cand.start]))
            parts.append(redact(cand.secret))
            pos = cand.end
        parts.append(_printable(piece[pos:]))
        text = "".join(parts).strip()
        if lo > 0 and data[lo - 1 : lo] != b"\n":
            text = "…" + text
        return text


def _compose(outer: Callable[[int], int], inner: Callable[[int], int]) -> Callable[[int], int]:
    return lambda offset: outer(inner(offset))


def _printable(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    return "".join(ch if ch.isprintable() or ch == "\t" else "·" for ch in text).replace("\r", "")


def _display(frame: _Frame, member: str | None = None) -> str:
    parts = [frame.path, *frame.members]
    if member:
        parts.append(member)
    return "!".join(parts)


def _chunks(head: bytes, fileobj: ByteSource, size: int) -> Iterator[bytes]:
    if head:
        rest = fileobj.read(max(size - len(head), 1))
        yield head + rest
    while True:
        block = fileobj.read(size)
        if not block:
            return
        yield block


def _chain_chunks(first: bytes, stream: ByteSource, size: int) -> Iterator[bytes]:
    for start in range(0, len(first), size):
        yield first[start : start + size]
    yield from _chunks(b"", stream, size)


class _IterReader(io.RawIOBase):
    """A read-only, non-seekable file over an iterator of chunks (with peek)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def peek(self, size: int) -> bytes:
        while len(self._buffer) < size:
            block = next(self._chunks, b"")
            if not block:
                break
            self._buffer += block
        return self._buffer[:size]

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            data = self._buffer + b"".join(self._chunks)
            self._buffer = b""
            return data
        self.peek(size)
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Rewound(_IterReader):
    """A non-seekable stream with its already-read head put back in front."""

    def __init__(self, head: bytes, rest: ByteSource) -> None:
        super().__init__(iter(lambda: rest.read(CHUNK), b""))
        self._buffer = head

"""Bytes of one input -> located hits, through every decoder.

The scanner owns the walk over views: raw bytes in bounded windows, archive and
compression members found by content, and text decodings (base64, hex, UTF-16,
escapes) triggered by literal needles found in the same single prefilter pass.
Line and column are computed only for hits.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import BinaryIO, Protocol, cast

from keysentry.decoders.archives import Budget, Link, Member, iter_members
from keysentry.decoders.magic import (
    EOCD_MAGIC,
    HEAD_SIZE,
    detect,
    document_part,
    inner_kind,
    is_container,
)
from keysentry.decoders.registry import TEXT_DECODERS
from keysentry.decoders.views import Limits, TextDecoder
from keysentry.decoders.zip_eocd import zip_by_tail
from keysentry.detect.engine import Candidate, Engine
from keysentry.detect.rules import Rule
from keysentry.models import Issue, redact

CHUNK = 8 * 2**20
"""Inputs are read and scanned in windows of this many bytes (bounded memory)."""
OVERLAP = 16 * 2**10
"""Each window repeats this much of the previous one, so a key across a boundary is seen whole."""
SNIPPET_CONTEXT = 60
SNIPPET_REACH = 600
"""How far past a snippet's edges keys are looked for, so that one the edge cuts is
known whole (more than a rule's match can span: engine.LOOKBEHIND + engine.WINDOW)."""
_KEY_SHAPED = re.compile(rb"sk-or-v[0-9]+-[0-9a-fA-F]*|[0-9a-fA-F]{32,}")
"""Runs no snippet shows, reported or not: a key's prefix with any digits after it (an
over-long run, a cut head), and a run of hex digits long enough to be a key's body."""
KEY_SHAPED_RULES = frozenset({"openrouter-api-key", "openrouter-api-key-unknown-version"})
"""Built-in rules each of whose matches is a ``sk-or-v<N>-<hex digits>`` run, which
:data:`_KEY_SHAPED` finds whole by itself: a snippet need not ask the engine for them
(tests/detect/test_snippets.py checks the claim on generated matches of each)."""


def _covered_by_key_shape(rule: Rule) -> bool:
    return rule.id in KEY_SHAPED_RULES and rule.origin.startswith("<builtin>/")


_WORD = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_SINGLE_STREAMS = frozenset({"gzip", "bzip2", "xz", "zlib", "deflate"})
_WEAK_MAGIC = frozenset({"zlib", "deflate"})
_NOT_ACROSS_UNITS = frozenset({"line-wrap"})
"""Decoders that join lines: a document's text has one unit (a paragraph) per line, and
two paragraphs are never one key."""
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
    units: tuple[str, ...] | None = None
    """The name of each line of the content (``paragraph 3``), reported as one more
    member in place of the line number: a document's text, one unit per line."""

    def into(self, member: str, kind: str, units: tuple[str, ...] | None = None) -> _Frame:
        # A document's text has no name of its own: its units name where a key is.
        members = self.members if units is not None else (*self.members, member)
        return _Frame(self.path, members, (*self.chain, kind), self.depth + 1, self.budget, units)


@dataclass(slots=True)
class _Window:
    """A slice of a member's raw bytes with the position of its first byte."""

    data: bytes
    line_base: int
    """Newlines before the window's first byte."""
    col_base: int
    """Characters between the last newline before the window and its first byte (a
    character cut by the window's start counts there, not in the window)."""
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
            # Resuming inside a UTF-8 sequence would count its bytes apart: decode the line
            # (from its start, or from the window's first whole character: col_base holds
            # the character the window's start cut).
            start = line_start or _first_whole(data)
            column = len(data[start:offset].decode("utf-8", "replace")) + 1
        else:
            column += len(data[last:offset].decode("utf-8", "replace"))
        self._mark = (offset, lines, line_start, column)
        if line_start == 0:
            column += self.col_base
        return self.line_base + lines + 1, column


_CONTINUATION = bytes(range(0x80, 0xC0))


def _chars(segment: bytes) -> int:
    """The characters that start in UTF-8 ``segment`` (its decoded length when it is whole
    and valid): a continuation byte belongs to the character before it. Counted without
    decoding, which is slow on binary data."""
    return len(segment.translate(None, _CONTINUATION))


def _first_whole(data: bytes) -> int:
    """Where the first character that starts in ``data`` begins (past the continuation
    bytes of one that started before it)."""
    start = 0
    while start < min(len(data), 3) and data[start] & 0xC0 == 0x80:
        start += 1
    return start


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
        # A zip behind a prefix (zipapp, self-extractor, polyglot) is found by its end
        # record in the same literal pass: a file without one pays nothing for it.
        self.engine = Engine(rules, [*triggers, EOCD_MAGIC])
        # What a snippet's redaction must ask the engine for: every rule match that the
        # key-shaped pattern does not already cover (a custom rule's; usually none).
        others = [r for r in rules if not _covered_by_key_shape(r)]
        self._span_engine = Engine(others) if others else None
        self._eocd = self.engine.needle_index[EOCD_MAGIC]
        self._decoders: dict[int, list[TextDecoder]] = {}
        for decoder in TEXT_DECODERS:
            for trigger in decoder.triggers:
                self._decoders.setdefault(self.engine.needle_index[trigger], []).append(decoder)

    # -- entry points -------------------------------------------------------

    def scan_bytes(self, data: bytes, path: str) -> Tally:
        return self.scan_file(io.BytesIO(data), path)

    def scan_whole(self, data: bytes, path: str) -> Tally | None:
        """Scan an input held whole in memory; None when it holds nothing at all.

        The common case costs one prefilter pass and no allocation."""
        if self._holds_nothing(data):
            return None
        return self.scan_bytes(data, path)

    def _holds_nothing(self, data: bytes) -> bool:
        """Not a container and no needle at all: nothing any rule or decoder could use."""
        return not is_container(data[:HEAD_SIZE]) and not self.engine.hits(data)

    def scan_file(self, fileobj: ByteSource, path: str) -> Tally:
        """Scan an open, seekable file without reading it into memory at once."""
        tally = Tally()
        budget = Budget(self.limits)
        self._scan_content(fileobj, _Frame(path, (), (), 0, budget), tally)
        if budget.used:
            tally.counters["decoded_bytes"] += budget.used
        return tally

    # -- containers ---------------------------------------------------------

    def _scan_content(
        self, fileobj: ByteSource, frame: _Frame, tally: Tally, cap: int | None = None
    ) -> None:
        head = fileobj.read(HEAD_SIZE)
        kind = detect(head)
        weak: str | None = None
        if kind in _WEAK_MAGIC and fileobj.seekable():
            # Taken for a stream by a trial, not by magic bytes: its raw bytes are
            # scanned too, as a document's are, in case it is something else.
            weak, kind = kind, None
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
            tail_zip = self._scan_windows(
                self._leaf_chunks(head, fileobj, frame, tally, cap), frame, tally
            )
            inner = weak or inner_kind(head) or self._document_part(frame)
            if frame.depth < self.limits.max_depth and fileobj.seekable():
                # A document's raw bytes were scanned above; its text (a PDF's pages and
                # streams, a mail's decoded parts, an RTF's or an Office part's paragraphs)
                # adds decoded views.
                if inner:
                    self._scan_inner(inner, cast(BinaryIO, fileobj), frame, tally)
                elif tail_zip and zip_by_tail(cast(BinaryIO, fileobj)):
                    self._scan_inner("zip", cast(BinaryIO, fileobj), frame, tally)
            elif inner:
                deep = fileobj.seekable()
                hit, why = ("depth-cap", "nested too deep") if deep else ("size-cap", "too large")
                what = _INNER_NAMES.get(inner, inner)
                tally.issues.append(
                    Issue(hit, _display(frame), f"{what} {why}: scanned as raw bytes only")
                )
            return
        tally.counters["archives"] += 1
        fileobj.seek(0) if fileobj.seekable() else None
        source = cast(BinaryIO, fileobj if fileobj.seekable() else _Rewound(head, fileobj))
        members, failed = self._walk_members(kind, source, frame, tally)
        if (failed or not members) and fileobj.seekable():
            # What could not be unpacked (or only looked like an archive: a few magic
            # bytes are easily written by chance) is still scanned as bytes.
            fileobj.seek(0)
            self._scan_windows(self._leaf_chunks(b"", fileobj, frame, tally, cap), frame, tally)

    @staticmethod
    def _document_part(frame: _Frame) -> str | None:
        """The kind of an Office or OpenDocument part holding text, by its name in the
        zip it came from (``word/document.xml``, ``content.xml``)."""
        if frame.units is None and frame.chain and frame.chain[-1] == "zip":
            return document_part(frame.members[-1])
        return None

    def _scan_inner(self, kind: str, fileobj: BinaryIO, frame: _Frame, tally: Tally) -> None:
        """The members of a container whose outer bytes were scanned as they are: a zip
        behind a prefix, a PDF's pages and streams, a mail's decoded parts, the text of an
        RTF document or of an Office part."""
        tally.counters["archives"] += 1
        fileobj.seek(0)
        self._walk_members(kind, fileobj, frame, tally)

    def _walk_members(
        self, kind: str, source: BinaryIO, frame: _Frame, tally: Tally
    ) -> tuple[int, bool]:
        """Scan every member; how many there were, and whether the walk met damage."""
        failed = False
        members = 0
        outer = frame.members[-1] if frame.members else frame.path
        inside = len(tally.issues)  # where the issues met inside the last member begin
        for item in iter_members(kind, source, outer, self.limits, frame.budget):
            if isinstance(item, Issue):
                if item.kind in ("ratio-cap", "size-cap"):
                    # The last member's stream was cut: the "truncated" errors its own
                    # readers met are that cut, not damage, and the cap says so already.
                    tally.issues[inside:] = [
                        i for i in tally.issues[inside:] if i.kind != "decode-error"
                    ]
                tally.issues.append(Issue(item.kind, _display(frame, item.path), item.detail))
                failed = failed or item.kind == "decode-error"
                continue
            if isinstance(item, Link):
                # No content of its own: a hard link's is its target member's, scanned there.
                tally.counters["archive_links"] += 1
                continue
            members += 1
            inside = len(tally.issues)
            self._scan_member(
                item, frame.into(item.name, kind, item.units), tally, stream=kind in _SINGLE_STREAMS
            )
        tally.counters["members"] += members
        return members, failed

    def _scan_member(self, member: Member, frame: _Frame, tally: Tally, *, stream: bool) -> None:
        # A member's content is scanned up to max_member_bytes, so that one huge member
        # cannot hide the ones after it (the walk skips the rest). An archive member is not
        # cut (its members are), nor a compressed stream's one member: it hides nothing.
        cap = None if stream else self.limits.max_member_bytes
        chunks = member.chunks()
        whole = self.chunk_size if cap is None else min(self.chunk_size, cap)
        if self._document_part(frame):
            # An Office part is parsed from memory (its raw bytes are scanned first).
            whole = max(whole, min(self.limits.max_buffered_bytes, cap or whole))
        if member.size is not None and member.size <= whole:
            # Most members are small and hold nothing: one buffer, one prefilter pass,
            # none of the stream machinery below.
            data = b"".join(chunks)
            if self._holds_nothing(data) and not self._document_part(frame):
                tally.counters["bytes"] += len(data)
                return
            if detect(data[:HEAD_SIZE]) is None:
                # Seekable, so that a zip behind a prefix can be read by its tail.
                self._scan_content(io.BytesIO(data), frame, tally)
                return
            chunks = iter((data,))
        reader = _IterReader(chunks)
        head = reader.peek(HEAD_SIZE)
        kind = detect(head)
        if stream and kind is not None:
            # release.tar.gz!release/pkg.whl, not release.tar.gz!release.tar!release/pkg.whl:
            # a compressed stream holding an archive adds a decoder, not a path level.
            frame = replace(frame, members=frame.members[:-1])
        if kind == "zip":
            # zip needs random access: buffer the member when it is small enough.
            data = reader.read(self.limits.max_buffered_bytes + 1)
            if len(data) > self.limits.max_buffered_bytes:
                tally.issues.append(
                    Issue(
                        "size-cap",
                        _display(frame),
                        "nested zip larger than "
                        f"{self.limits.max_buffered_bytes} bytes: scanned as raw bytes",
                    )
                )
                chunks = self._leaf_chunks(b"", _Rewound(data, reader), frame, tally, cap)
                self._scan_windows(chunks, frame, tally)
                return
            self._scan_content(io.BytesIO(data), frame, tally)
            return
        self._scan_content(reader, frame, tally, cap)

    # -- raw windows and text decoders ---------------------------------------

    def _leaf_chunks(
        self, head: bytes, fileobj: ByteSource, frame: _Frame, tally: Tally, cap: int | None
    ) -> Iterator[bytes]:
        """Content in windows, up to ``cap`` bytes: read no further, so that what the walk
        skips after it is never decompressed for nothing."""
        if cap is None:
            yield from _chunks(head, fileobj, self.chunk_size)
            return
        left = cap
        while True:
            # One byte past the cap says whether anything follows it.
            want = min(self.chunk_size, left + 1) - len(head)
            block = head + fileobj.read(want) if want > 0 else head
            head = b""
            if len(block) > left:
                if left:
                    yield block[:left]
                detail = (
                    f"member larger than max_member_bytes ({cap}): its first {cap} bytes "
                    "were scanned and the rest skipped; the members after it were read"
                )
                tally.issues.append(Issue("size-cap", _display(frame), detail))
                return
            if not block:
                return
            left -= len(block)
            yield block

    def _scan_windows(self, chunks: Iterator[bytes], frame: _Frame, tally: Tally) -> bool:
        """Scan the windows; True when one held a zip end-of-central-directory record."""
        eocd = False
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
            eocd = self._scan_window(window, frame, tally, final=last) or eocd
            if last:
                break
            keep = min(self.overlap, len(data))
            consumed = data[: len(data) - keep]
            line_base += consumed.count(b"\n")
            nl = consumed.rfind(b"\n")
            col_base = _chars(consumed[nl + 1 :]) if nl >= 0 else col_base + _chars(consumed)
            tail = data[len(data) - keep :]
            accept_lo = accept_hi - (len(data) - keep)
            chunk = following
        return eocd

    def _scan_window(self, window: _Window, frame: _Frame, tally: Tally, *, final: bool) -> bool:
        data = window.data
        hits = self.engine.hits(data)
        if not hits:
            return False
        for cand in self.engine.match(data, hits, final=final):
            if window.accept_lo <= cand.start < window.accept_hi:
                self._record(tally, frame, window, cand.start, data, cand, ())
        self._decode(data, hits, window, frame, tally, lambda o: o, (), 0)
        return any(needle == self._eocd for needle, _ in hits)

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
        # A container decoded at the deepest level is still handed to _scan_content, which
        # reports it past the depth cap (and scans its bytes raw); only inside that capped
        # scan are decoded containers no longer followed.
        deeper = frame.depth <= self.limits.max_depth
        offsets: dict[TextDecoder, list[int]] = {}
        for needle, offset in hits:
            for decoder in self._decoders.get(needle, ()):
                offsets.setdefault(decoder, []).append(offset)
        for decoder, where in offsets.items():
            if frame.units is not None and decoder.name in _NOT_ACROSS_UNITS:
                continue
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
                chain = (*steps, view.step)
                if deeper and is_container(view.data[:HEAD_SIZE]):
                    # Decoded text that is an archive, a compressed stream or a document (a
                    # Helm release: base64 of base64 of gzip) is unpacked as a member named
                    # after the line it was decoded from.
                    line, _column = window.line_col(view_origin(0))
                    members = (*frame.members, f"line {line}")
                    inner = _Frame(
                        frame.path, members, (*frame.chain, *chain), frame.depth + 1, frame.budget
                    )
                    self._scan_content(io.BytesIO(view.data), inner, tally)
                    continue
                sub_hits = self.engine.hits(view.data)
                if not sub_hits:
                    continue
                for cand in self.engine.match(view.data, sub_hits):
                    if view.verbatim(cand.start, cand.end):
                        continue  # a plain copy of the parent: its own scan saw it
                    excerpt = view.excerpt(cand.start, cand.end) if view.excerpt else None
                    self._record(
                        tally,
                        frame,
                        window,
                        view_origin(cand.start),
                        view.data,
                        cand,
                        chain,
                        excerpt,
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
        excerpt: str | None = None,
    ) -> None:
        line, column = window.line_col(raw_offset)
        members = frame.members
        if frame.units is not None and 0 < line <= len(frame.units):
            members, line = (*members, frame.units[line - 1]), 1
        tally.hits.append(
            Hit(
                rule=cand.rule,
                secret=cand.secret,
                placeholder=cand.placeholder,
                line=line,
                column=column,
                members=members,
                decoders=(*frame.chain, *steps),
                snippet=excerpt or self._snippet(view, cand.start, cand.end),
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
        """The key's line around it, every key-shaped run on it redacted, before any of
        it becomes a string: the key's neighbours too, whether a rule reports them or
        not, and whether the snippet's edge cuts them or not."""
        # Searched only as far as the snippet and its redaction reach: a long line costs
        # each key the same, not the length of the line around it.
        reach_lo = max(0, start - SNIPPET_CONTEXT - SNIPPET_REACH)
        reach_hi = min(len(data), end + SNIPPET_CONTEXT + SNIPPET_REACH)
        line_lo = data.rfind(b"\n", reach_lo, start) + 1 or reach_lo
        line_hi = data.find(b"\n", end, reach_hi)
        if line_hi < 0:
            line_hi = reach_hi
        elif line_hi > end and data[line_hi - 1] == 0x0D:
            line_hi -= 1  # a CRLF line break; a lone CR within a line is shown as a dot
        lo = max(line_lo, start - SNIPPET_CONTEXT)
        hi = min(line_hi, end + SNIPPET_CONTEXT)
        spans = self._secret_spans(data, max(line_lo, lo - SNIPPET_REACH),
                                   min(line_hi, hi + SNIPPET_REACH), start, end)  # fmt: skip
        # A key that the edge would cut is shown whole, redacted (it is short then).
        for s_lo, s_hi in spans:
            if s_lo < lo < s_hi:
                lo = s_lo
            if s_lo < hi < s_hi:
                hi = s_hi
        # An edge that still cuts a word shows none of it: it may be part of a secret
        # that no pattern knows in pieces.
        if lo > line_lo and data[lo - 1] in _WORD:
            stop = next(s_lo for s_lo, _ in spans if s_lo >= lo)
            while lo < stop and data[lo] in _WORD:
                lo += 1
        if hi < line_hi and data[hi] in _WORD:
            stop = max(s_hi for _, s_hi in spans if s_hi <= hi)
            while hi > stop and data[hi - 1] in _WORD:
                hi -= 1
        parts: list[str] = []
        pos = lo
        for s_lo, s_hi in spans:
            if s_hi <= lo or s_lo >= hi:
                continue
            parts.append(_printable(data[pos:s_lo]))
            parts.append(_masked(data[s_lo:s_hi]))
            pos = s_hi
        parts.append(_printable(data[pos:hi]))
        text = "".join(parts).strip()
        # Cut where the snippet stops short of its line, or where the line goes on past
        # the reach (a long run at the edge can carry the snippet that far).
        if lo > line_lo or (line_lo > 0 and data[line_lo - 1] != 0x0A):
            text = "…" + text
        if hi < line_hi or not _line_ends_at(data, line_hi):
            text += "…"
        return text

    def _secret_spans(
        self, data: bytes, lo: int, hi: int, start: int, end: int
    ) -> list[tuple[int, int]]:
        """Disjoint, sorted spans of ``data[lo:hi]`` to redact: the key at ``start:end``,
        every rule match (placeholders and other versions included) and every
        key-shaped run (over-long, cut, or a bare body of hex digits)."""
        found = [(start, end)]
        if self._span_engine is not None:
            found += [
                (c.start + lo, c.end + lo)
                for c in self._span_engine.match(data[lo:hi], classify=False)
            ]
        found += [m.span() for m in _KEY_SHAPED.finditer(data, lo, hi)]
        merged: list[tuple[int, int]] = []
        for s_lo, s_hi in sorted(found):
            if merged and s_lo < merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], s_hi))
            else:
                merged.append((s_lo, s_hi))
        return merged


_INNER_NAMES = {"pdf": "PDF", "mail": "mail", "rtf": "RTF document", "deflate": "deflate stream"}


def _masked(run: bytes) -> str:
    """A run to redact, as the report shows it: a key as ``sk-or-v1-abc...def``;
    anything else (a rule's match, a bare or cut run of digits) by its first three
    characters only, since no part of it is known not to be secret."""
    if _KEY_SHAPED.fullmatch(run) and run.startswith(b"sk-"):
        return redact(run.decode("ascii"))
    return run[:3].decode("utf-8", "backslashreplace") + "..."


def _line_ends_at(data: bytes, offset: int) -> bool:
    return offset == len(data) or data.startswith((b"\n", b"\r\n"), offset)


def _compose(outer: Callable[[int], int], inner: Callable[[int], int]) -> Callable[[int], int]:
    return lambda offset: outer(inner(offset))


def _printable(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    return "".join(ch if ch.isprintable() or ch == "\t" else "·" for ch in text)


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
        # Small reads: what is read ahead of the archive reader is decompressed (and
        # charged to the budget) whether or not the walk ever needs it.
        super().__init__(iter(lambda: rest.read(2**20), b""))
        self._buffer = head

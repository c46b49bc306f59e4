"""Keys split across string literals in source code, joined back.

``"sk-or" + "-v1-..."`` (JavaScript, TypeScript, Java, C#, Go, Rust), ``"sk-or" "-v1-..."``
(Python and C implicit concatenation, also across lines), ``concat!("sk-or", "-v1-...")``,
shell words made of adjacent quotes (``"sk-or"'-v1-'"..."``) and backslash line
continuations inside and between literals. A chain stops at anything that is not a
literal (a variable, a call): what it would yield at run time is unknown, so the
pieces on either side are not joined. The joined view maps every character back to
the literal it came from, so the key is located where its first literal starts, and
the snippet shows the pieces with the key in them redacted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from keysentry.decoders.views import (
    Derived,
    JoinedMap,
    Limits,
    SegmentMapBuilder,
    TextDecoder,
)
from keysentry.models import scrub_secrets

# The first literal holds at least "sk"; a key cut right after its first character is
# found by its second literal instead ('"s"' is far too common a trigger): that one
# starts with "k-or-", and the "s" is looked for before it.
TRIGGERS: tuple[bytes, ...] = (
    b'"sk-', b"'sk-", b"`sk-", b'"sk"', b"'sk'", b"`sk`", b'"k-or-', b"'k-or-", b"`k-or-",
)  # fmt: skip
_REST = b"k-or-"

MAX_PIECES = 256
"""Literals followed in one chain."""
MAX_PIECE = 1024
"""A longer literal ends the chain (a key's piece is at most 73 characters)."""
MAX_JOINED = 4096
"""Characters of one joined view."""
_PREFIX_SHOWN = len("sk-or-v1-") + 3
_SUFFIX_SHOWN = 3

_QUOTES = b"\"'`"
# What may stand between two literals of one expression: blanks and line breaks,
# backslash-newline, comments, and at most one operator (+, PHP/Perl ., Lua .., VB &).
_GAP = rb"(?:[ \t\r\n]|\\\r?\n|//[^\n]*\n|#[^\n{]*\n|/\*(?:[^*]|\*(?!/)){0,200}\*/)*"
_JOIN = re.compile(_GAP + rb"(?:(\+|\.\.?|&)" + _GAP + rb")?")
_LIST_JOIN = re.compile(_GAP + rb"(,)" + _GAP)  # between the arguments of concat!(...)
_STRING_PREFIX = re.compile(rb"(?:[rRbBuUfF]{1,2}|@\$?|\$@?)?(?=[\"'`])")
_RUST_OWNED = re.compile(rb"\.(?:to_string|to_owned|into)\(\)")
_CONCAT_MACRO = re.compile(rb"concat!\s*\(\s*$")
_STRING_FROM = re.compile(rb"String::from\s*\(\s*$")


@dataclass(frozen=True, slots=True)
class _Piece:
    start: int
    """Offset of the opening quote."""
    end: int
    """Offset just past the closing quote."""
    spans: tuple[tuple[int, int], ...]
    """The content, without backslash-newline continuations."""


def _literal(data: bytes, quote_at: int) -> _Piece | None:
    """The literal that opens at ``quote_at``, if it closes on the same logical line."""
    quote = data[quote_at]
    spans: list[tuple[int, int]] = []
    start = pos = quote_at + 1
    limit = min(len(data), quote_at + 1 + MAX_PIECE)
    while pos < limit:
        ch = data[pos]
        if ch == quote:
            spans.append((start, pos))
            return _Piece(quote_at, pos + 1, tuple(s for s in spans if s[1] > s[0]))
        if ch == 0x5C and quote != 0x60:  # backslash
            if data.startswith(b"\n", pos + 1) or data.startswith(b"\r\n", pos + 1):
                spans.append((start, pos))
                start = pos = pos + (2 if data[pos + 1] == 0x0A else 3)
                continue
            pos += 2  # an escape stays as written: its characters end a key
            continue
        if ch == 0x0A:
            return None
        pos += 1
    return None


def _next_literal(data: bytes, pos: int, in_macro: bool) -> int | None:
    """Where the next literal's opening quote is, if one follows ``pos`` as a
    concatenation operand; None when the chain ends there."""
    found = (_LIST_JOIN if in_macro else _JOIN).match(data, pos, min(len(data), pos + 512))
    if found is None:
        return None
    prefix = _STRING_PREFIX.match(data, found.end())
    if prefix is None:
        return None
    # With only blanks between them, two literals are implicitly concatenated (Python, C,
    # a shell word); a space between two shell words is read the same way.
    return prefix.end()


def _chain(data: bytes, quote_at: int) -> list[_Piece]:
    before = data[max(0, quote_at - 64) : quote_at]
    in_macro = _CONCAT_MACRO.search(before) is not None
    wrapped = _STRING_FROM.search(before) is not None
    pieces: list[_Piece] = []
    pos = quote_at
    while len(pieces) < MAX_PIECES:
        piece = _literal(data, pos)
        if piece is None:
            break
        pieces.append(piece)
        after = piece.end
        owned = _RUST_OWNED.match(data, after)
        if owned:
            after = owned.end()
        elif wrapped and len(pieces) == 1 and data[after : after + 1] == b")":
            after += 1
        following = _next_literal(data, after, in_macro)
        if following is None:
            break
        pos = following
    return pieces


class _Joined(JoinedMap):
    """The map of a joined view, which also renders the pieces of a key in it."""

    __slots__ = ("_pieces",)

    def __init__(self, data: bytes, pieces: list[_Piece], builder: SegmentMapBuilder) -> None:
        super().__init__(data, builder)
        self._pieces = pieces

    def excerpt(self, start: int, end: int) -> str:
        """The pieces holding ``view[start:end]``, with that key's body hidden but for its
        first and last characters, and every other key-shaped string redacted."""
        hidden = {self._map(i) for i in range(start + _PREFIX_SHOWN, end - _SUFFIX_SHOWN)}
        lo = self._map(start)
        hi = self._map.end(end)
        first = next((p for p in self._pieces if p.end > lo), self._pieces[0])
        last = next((p for p in reversed(self._pieces) if p.start < hi), self._pieces[-1])
        out: list[str] = []
        for pos in range(first.start, last.end):
            if pos in hidden:
                if not out or out[-1] != "...":
                    out.append("...")
                continue
            ch = chr(self._data[pos])
            out.append(ch if ch.isprintable() or ch in "\r\n" else " ")
        text = re.sub(r"\s+", " ", re.sub(r"\\\r?\n", " ", "".join(out)))
        return scrub_secrets(text[:400])


def _join(data: bytes, pieces: list[_Piece]) -> Derived | None:
    builder = SegmentMapBuilder()
    parts: list[bytes] = []
    for piece in pieces:
        for lo, hi in piece.spans:
            hi = min(hi, lo + MAX_JOINED - builder.size)
            if hi <= lo:
                break
            parts.append(data[lo:hi])
            builder.add(hi - lo, lo, 1, 1)
    if not parts:
        return None
    origin = _Joined(data, pieces, builder)
    return Derived(b"".join(parts), "concat", origin, excerpt=origin.excerpt)


_WORD_BYTES = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_$")


def _first_s(data: bytes, quote_at: int) -> tuple[_Piece | None, int] | None:
    """For a literal that starts with "k-or-", the literal "s" it continues, if one comes
    right before it in the same expression: (a shell word's bare ``s``, or None, and where
    the chain starts)."""
    if quote_at >= 2 and data[quote_at - 1] == 0x73 and data[quote_at - 2] not in _WORD_BYTES:
        # A shell word: s'k-or-v1-...' (a bare s and a quoted rest, nothing between).
        return _Piece(quote_at - 1, quote_at, ((quote_at - 1, quote_at),)), quote_at
    lo = max(0, quote_at - 512)
    for quote in _QUOTES:
        at = data.rfind(bytes((quote, 0x73, quote)), lo, quote_at)
        if at < 0:
            continue
        in_macro = _CONCAT_MACRO.search(data[max(0, at - 64) : at]) is not None
        if _next_literal(data, at + 3, in_macro) == quote_at:
            return None, at
    return None


def decode_concat(data: bytes, offsets: Sequence[int], limits: Limits) -> list[Derived]:
    """Join the chains of string literals that start at the triggers (two or more, or
    one continued over a line break)."""
    del limits  # every chain is bounded by MAX_PIECES, MAX_PIECE and MAX_JOINED
    out: list[Derived] = []
    covered = -1
    for offset in sorted(set(offsets)):
        if offset < covered or not 0 <= offset < len(data) or data[offset] not in _QUOTES:
            continue
        bare: _Piece | None = None
        if data.startswith(_REST, offset + 1):
            first = _first_s(data, offset)
            if first is None or first[1] < covered:
                continue
            bare, start = first
            pieces = _chain(data, start)
            if bare is not None:
                pieces.insert(0, bare)
        else:
            pieces = _chain(data, offset)
        if sum(len(p.spans) for p in pieces) < 2:
            continue  # one literal in one piece: the raw scan sees it as it is
        covered = pieces[-1].end
        view = _join(data, pieces)
        if view is not None:
            out.append(view)
    return out


CONCAT = TextDecoder("concat", TRIGGERS, decode_concat)

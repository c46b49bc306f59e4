"""Keys cut by what a reader does not see: invisible characters inside a key, and a line
break where a terminal, a mail body or an editor wrapped it at a fixed column.

Chat tools and web pages insert zero-width spaces, joiners and soft hyphens into long
words, and copying the key copies them too. A terminal paste, a quoted-printable body
(``=`` before the break) or a hard-wrapped note puts the rest of a key at the start of
the next line. Both views join the pieces back, each character mapped to where it was,
so the key is located where it starts, and the snippet shows the pieces, redacted.

A join never invents a key: invisible characters are removed only between the
characters of one word, and a line is joined to the next only when the first ends in a
key-shaped run and the next starts with the rest of it, at a fixed column (the lines in
between exactly as long as the first, the last not longer, and holding at least
:data:`MIN_LAST` of the key's characters). Whether the joined run is
exactly one key (64 hex digits, not more) is the rule's to decide.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from keysentry.decoders.encoded import PREFIX
from keysentry.decoders.views import (
    Derived,
    JoinedMap,
    Limits,
    SegmentMapBuilder,
    TextDecoder,
)
from keysentry.models import scrub_secrets

INVISIBLE: dict[str, str] = {
    "\u200b": "zero-width space",
    "\u200c": "zero-width non-joiner",
    "\u200d": "zero-width joiner",
    "\u2060": "word joiner",
    "\u00ad": "soft hyphen",
    "\ufeff": "byte order mark (zero-width no-break space)",
}
"""The characters removed from inside a word, by what they are."""

_KEY_CHARS = "sk-orv0123456789abcdef"
INVISIBLE_TRIGGERS: tuple[bytes, ...] = tuple(
    trigger
    for ch in INVISIBLE
    for trigger in (
        # The soft hyphen is two bytes: alone, random binary data holds it every 64 KiB.
        [(ch + c).encode() for c in dict.fromkeys(_KEY_CHARS)]
        if len(ch.encode()) < 3
        else [ch.encode()]
    )
)
"""The invisible characters (the soft hyphen with a key character after it, as inside a
key): ASCII source never holds one, and where text does (a byte order mark, a soft
hyphen in prose) the decoder looks no further than its word."""

_INVISIBLE_BYTES = b"|".join(re.escape(ch.encode()) for ch in INVISIBLE)
_WORD_OR_INVISIBLE = re.compile(rb"(?:[0-9A-Za-z_-]|" + _INVISIBLE_BYTES + rb")+")
_INVISIBLE = re.compile(rb"(?:" + _INVISIBLE_BYTES + rb")+")
_WORD_BYTES = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-")
_WORD_CHARS = frozenset(bytes((b,)) for b in _WORD_BYTES)
_REACH = 640
"""Bytes around a trigger searched for its word (a key with an invisible character
between every two of its characters is 73 + 72 * 3 bytes)."""

_PREFIX_SHOWN = len(PREFIX) + 3
_SUFFIX_SHOWN = 3


class Pieces(JoinedMap):
    """The map of a joined view, which also renders the pieces of a key in it."""

    __slots__ = ()

    def excerpt(self, start: int, end: int) -> str:
        """The source of ``view[start:end]``: its first and last characters, the rest
        hidden, and what was taken out between the pieces shown (``⏎`` for a line
        break, ``·`` for an invisible character)."""
        hidden = {self._map(i) for i in range(start + _PREFIX_SHOWN, end - _SUFFIX_SHOWN)}
        lo, hi = self._map(start), self._map.end(end)
        out: list[str] = []
        run = bytearray()
        for pos in range(lo, hi):
            if pos in hidden:
                if run:
                    out.append(_shown(bytes(run)))
                    run.clear()
                if not out or out[-1] != "...":
                    out.append("...")
            else:
                run.append(self._data[pos])
        out.append(_shown(bytes(run)))
        return scrub_secrets("".join(out)[:400])


def _shown(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").replace("\r\n", "\n")
    return "".join(
        "⏎" if ch == "\n" else ch if ch.isprintable() and ch not in INVISIBLE else "·"
        for ch in text
    )


def _joined(data: bytes, spans: list[tuple[int, int]], step: str) -> Derived:
    builder = SegmentMapBuilder()
    for lo, hi in spans:
        builder.add(hi - lo, lo, 1, 1)
    origin = Pieces(data, builder)
    view = b"".join(data[lo:hi] for lo, hi in spans)
    return Derived(view, step, origin, excerpt=origin.excerpt)


# -- invisible characters ---------------------------------------------------------


def decode_invisible(data: bytes, offsets: Sequence[int], limits: Limits) -> list[Derived]:
    """The words around the triggers with the invisible characters inside them removed."""
    del limits  # every view is one word, bounded by _REACH
    out: list[Derived] = []
    done_until = -1
    for offset in sorted(set(offsets)):
        if offset < done_until or not 0 <= offset < len(data):
            continue
        after = _INVISIBLE.match(data, offset)
        if (
            after is None
            or not offset
            or data[offset - 1] not in _WORD_BYTES
            or data[after.end() : after.end() + 1] not in _WORD_CHARS
        ):
            continue  # not between two characters of a word
        lo = max(0, offset - _REACH)
        word = next(
            (w for w in _WORD_OR_INVISIBLE.finditer(data, lo, offset + _REACH) if w.end() > offset),
            None,
        )
        if word is None or word.start() > offset:
            continue
        done_until = word.end()
        spans: list[tuple[int, int]] = []
        pos = word.start()
        for gap in _INVISIBLE.finditer(data, word.start(), word.end()):
            if gap.start() > pos:
                spans.append((pos, gap.start()))
            pos = gap.end()
        if word.end() > pos:
            spans.append((pos, word.end()))
        if len(spans) >= 2:  # something was taken out between two pieces of the word
            out.append(_joined(data, spans, "invisible"))
    return out


INVISIBLE_DECODER = TextDecoder("invisible", INVISIBLE_TRIGGERS, decode_invisible)


# -- a key wrapped at a fixed column ---------------------------------------------

_HEAD = PREFIX.decode()
WRAP_TRIGGERS: tuple[bytes, ...] = (
    b"sk-or-v",  # the break is after it (the rules' own keyword)
    *(b"\n" + _HEAD[i:].encode() for i in range(1, 7)),  # the break is before it
)
_KEY_RUN = re.compile(rb"[0-9A-Za-z-]*")
_MIN_WIDTH = 16
"""A shorter first line is not a wrapped one."""
MIN_LAST = 8
"""Characters of the key on its last line at least: a 63-digit run at a line's end and a
line that starts with ``0 `` would otherwise make a key that was never there."""
_MAX_LINES = 40


def _line_start(data: bytes, pos: int) -> int:
    return data.rfind(b"\n", 0, pos) + 1


def _break_after(data: bytes, pos: int) -> tuple[int, int, bool] | None:
    """At ``pos``, a line break (optionally after a quoted-printable ``=``): (where the
    line's content ends, where the next line starts, soft break?)."""
    soft = data.startswith(b"=", pos)
    at = pos + 1 if soft else pos
    if data.startswith(b"\r\n", at):
        return pos, at + 2, soft
    if data.startswith(b"\n", at):
        return pos, at + 1, soft
    return None


def _wrapped(data: bytes, start: int) -> list[tuple[int, int]] | None:
    """The pieces of a key-shaped run that starts at ``start`` and is wrapped over
    lines at a fixed column; None when it is not."""
    line_start = _line_start(data, start)
    indent = data[line_start:start]
    indent = indent[: len(indent) - len(indent.lstrip(b" \t"))]
    run_end = _KEY_RUN.match(data, start, start + 128)
    end = run_end.end() if run_end else start
    found = _break_after(data, end)
    if found is None:
        return None
    width = found[0] - line_start
    if width < _MIN_WIDTH:
        return None
    pieces = [(start, end)]
    length = end - start
    nxt = found[1]
    soft = found[2]
    for _ in range(_MAX_LINES):
        # The next line starts at its first column, or under the first line's indent.
        lo = nxt + len(indent) if indent and data.startswith(indent, nxt) else nxt
        run = _KEY_RUN.match(data, lo, lo + 128)
        hi = run.end() if run else lo
        if hi == lo:
            return None
        pieces.append((lo, hi))
        length += hi - lo
        found = _break_after(data, hi)
        line_width = hi - nxt
        if found is None or length >= len(PREFIX) + 64:
            # The last piece: no longer than the first line, the word ends here, and it
            # is not so short that it may be a word of its own (a number, a short hash).
            if line_width > width or (hi < len(data) and data[hi] in _WORD_END):
                return None
            return pieces if hi - lo >= MIN_LAST else None
        slack = 3 if soft else 0  # a quoted-printable line is cut short before an escape
        if not width - slack <= found[0] - nxt <= width:
            return None
        nxt, soft = found[1], found[2]
    return None


_WORD_END = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")


def decode_wrapped_key(data: bytes, offsets: Sequence[int], limits: Limits) -> list[Derived]:
    """Keys wrapped over lines at the triggers, joined."""
    del limits  # every view is one key's lines, bounded by _MAX_LINES
    out: list[Derived] = []
    done_until = -1
    for offset in sorted(set(offsets)):
        if offset < done_until or not 0 <= offset < len(data):
            continue
        if data[offset] == 0x0A:  # the key starts at the end of the line before
            end = offset - 1 if offset and data[offset - 1] == 0x0D else offset
            end = end - 1 if end and data[end - 1] == 0x3D else end  # a soft break's "="
            size = next(
                (n for n in range(6, 0, -1) if data.endswith(_HEAD[:n].encode(), 0, end)), 0
            )
            if not size:
                continue
            start = end - size
        else:
            start = offset
        if start > 0 and data[start - 1] in _WORD_END:
            continue  # the run began earlier: longer than a key
        pieces = _wrapped(data, start)
        if pieces is None:
            continue
        done_until = pieces[-1][1]
        out.append(_joined(data, pieces, "line-wrap"))
    return out


WRAPPED_KEY = TextDecoder("line-wrap", WRAP_TRIGGERS, decode_wrapped_key)

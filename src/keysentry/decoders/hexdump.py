"""Hex with separators (``73:6b:2d``, ``73 6b 2d``, ``0x73, 0X6B``, C arrays) and hex dump
layouts (``xxd``, ``hexdump -C``, ``od -A x -t x1z``), where a key runs across lines; and
dumps of 16-bit little-endian words (``od -t x2``, ``od -x``, plain ``hexdump``), where
each word shows its two bytes swapped (``6b73`` is ``sk``).

The triggers are three-byte pieces of the key's prefix (``sk-``, ``or-``, ``v1-``) in
each notation and both letter cases: a line break or a dump's column gap cuts at most
one of them. Around a trigger the bytes are read back, for a dump without its offset
and text columns, so the view is the bytes themselves, each mapped to its two digits.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from keysentry.decoders.views import Derived, Limits, SegmentMapBuilder, TextDecoder

_PIECES = (b"sk-", b"or-", b"v1-")


def _notations(piece: bytes) -> Iterator[bytes]:
    for case in (str.lower, str.upper):
        h = [case(f"{b:02x}").encode() for b in piece]
        yield b" ".join(h)  # hexdump -C, od, spaced lists
        yield b":".join(h)  # de:ad:be:ef
        for x0 in (b"0x", b"0X"):
            yield b", ".join(x0 + x for x in h)  # C arrays, byte lists
            yield b",".join(x0 + x for x in h)
        yield h[0] + h[1] + b" " + h[2]  # xxd: two-byte groups, both alignments
        yield h[0] + b" " + h[1] + h[2]


TRIGGERS: tuple[bytes, ...] = tuple(dict.fromkeys(n for p in _PIECES for n in _notations(p)))

BEFORE = 512
"""Source characters read before a trigger (a key's prefix is before its body)."""
AFTER = 4096
"""Source characters read after a trigger: a key in the widest notation (``0x73, ``)."""
_WANT = 160
"""Dump bytes read from the trigger's line on (a key is 73)."""
_MAX_LINES = 64

_TOKEN = rb"(?<![0-9A-Za-z])(?:0[xX])?[0-9a-fA-F]{2}(?![0-9A-Za-z])"
_SEP = rb"(?:[ \t]*[,:][ \t]*(?:\r?\n[ \t]*)?|[ \t]+(?:\r?\n[ \t]*)?|[ \t]*\r?\n[ \t]*)"
_RUN = re.compile(_TOKEN + rb"(?:" + _SEP + _TOKEN + rb")*")
_BYTE = re.compile(rb"(?:0[xX])?([0-9a-fA-F]{2})")
_DUMP_LINE = re.compile(
    rb"[ \t]*([0-9a-fA-F]{4,16}):?[ \t]+((?:[0-9a-fA-F]{2}){1,8}(?:  ?(?:[0-9a-fA-F]{2}){1,8})*)"
)
_PAIR = re.compile(rb"[0-9a-fA-F]{2}")


def _line_bounds(data: bytes, pos: int) -> tuple[int, int]:
    lo = data.rfind(b"\n", 0, pos) + 1
    hi = data.find(b"\n", pos)
    return lo, len(data) if hi < 0 else hi


def _dump_line(data: bytes, lo: int, hi: int) -> tuple[int, int, int] | None:
    """(offset, start, end of the hex columns) of a dump line."""
    found = _DUMP_LINE.match(data, lo, hi)
    if found is None:
        return None
    return int(found.group(1), 16), found.start(2), found.end(2)


def _dump_region(data: bytes, pos: int) -> list[tuple[int, int, int]] | None:
    """The dump lines around ``pos``: two above, and down to ``_WANT`` bytes below."""
    lo, hi = _line_bounds(data, pos)
    here = _dump_line(data, lo, hi)
    if here is None:
        return None
    lines = [here]
    top = lo
    for _ in range(2):
        if top == 0:
            break
        above = _line_bounds(data, top - 1)
        line = _dump_line(data, *above)
        if line is None or line[0] >= lines[0][0]:
            break
        lines.insert(0, line)
        top = above[0]
    end = hi
    while len(lines) < _MAX_LINES and lines[-1][0] - here[0] < _WANT and end < len(data):
        below = _line_bounds(data, end + 1)
        line = _dump_line(data, *below)
        if line is None or line[0] <= lines[-1][0]:
            break
        lines.append(line)
        end = below[1]
    return lines if len(lines) >= 2 else None


def _dump_view(data: bytes, lines: list[tuple[int, int, int]]) -> Derived | None:
    builder = SegmentMapBuilder()
    out = bytearray()
    for i, (offset, lo, hi) in enumerate(lines):
        following = i + 1 < len(lines)
        width = lines[i + 1][0] - offset if following else offset - lines[i - 1][0]
        # Beyond the line's width is the text column, where it happens to look like hex.
        for pair in list(_PAIR.finditer(data, lo, hi))[: max(width, 0)]:
            out.append(int(pair.group(), 16))
            builder.add(1, pair.start(), 1, 2)
    if not out:
        return None
    return Derived(bytes(out), "hexdump", builder.build())


def _list_view(data: bytes, pos: int) -> tuple[Derived, int] | None:
    lo = max(0, pos - BEFORE)
    for run in _RUN.finditer(data, lo, min(len(data), pos + AFTER)):
        if run.end() <= pos:
            continue
        if run.start() > pos:
            return None
        builder = SegmentMapBuilder()
        out = bytearray()
        for token in _BYTE.finditer(data, run.start(), run.end()):
            out.append(int(token.group(1), 16))
            builder.add(1, token.start(1), 1, 2)
        return Derived(bytes(out), "hex-bytes", builder.build()), run.end()
    return None


def decode_hexdump(data: bytes, offsets: Sequence[int], limits: Limits) -> list[Derived]:
    """The bytes of the hex dumps and separated hex around the triggers."""
    del limits  # every view is bounded by BEFORE, AFTER and _MAX_LINES
    out: list[Derived] = []
    done_until = -1
    for offset in sorted(set(offsets)):
        if offset < done_until or not 0 <= offset < len(data):
            continue
        lines = _dump_region(data, offset)
        if lines is not None:
            view = _dump_view(data, lines)
            done_until = lines[-1][2]
        else:
            found = _list_view(data, offset)
            view, done_until = found if found else (None, offset + 1)
        if view is not None:
            out.append(view)
    return out


HEXDUMP = TextDecoder("hexdump", TRIGGERS, decode_hexdump)


# -- 16-bit words, little-endian: od -t x2 --------------------------------------


def _word_triggers() -> tuple[bytes, ...]:
    """The prefix's first four whole words at both byte alignments, as two pairs, in both
    cases: a dump's line break between two words cuts at most one of the pairs."""
    prefix = b"sk-or-v1-"
    out: list[bytes] = []
    for shift in (0, 1):
        body = prefix[shift:]
        words = [body[i : i + 2][::-1].hex() for i in range(0, len(body) - 1, 2)]
        for i in (0, 2):
            pair = f"{words[i]} {words[i + 1]}"
            out += [pair.encode(), pair.upper().encode()]
    return tuple(dict.fromkeys(out))


WORD_TRIGGERS = _word_triggers()
_WORD_LINE = re.compile(rb"[ \t]*[0-9a-fA-F]{6,16}:?((?:[ \t]+[0-9a-fA-F]{4})+)[ \t]*(?=\r?\n|$)")
_WORD = re.compile(rb"[0-9a-fA-F]{4}")


def _word_lines(data: bytes, pos: int) -> list[tuple[int, int]]:
    """The word columns of the dump lines around ``pos``: two above, and on until
    ``_WANT`` bytes below."""
    lo, hi = _line_bounds(data, pos)
    here = _WORD_LINE.match(data, lo, hi)
    if here is None:
        return []
    lines = [here.span(1)]
    top = lo
    for _ in range(2):
        if top == 0:
            break
        above = _line_bounds(data, top - 1)
        found = _WORD_LINE.match(data, *above)
        if found is None:
            break
        lines.insert(0, found.span(1))
        top = above[0]
    end = hi
    for _ in range(_WANT // 4):
        if end >= len(data):
            break
        below = _line_bounds(data, end + 1)
        found = _WORD_LINE.match(data, *below)
        if found is None:
            break
        lines.append(found.span(1))
        end = below[1]
    return lines


def decode_words(data: bytes, offsets: Sequence[int], limits: Limits) -> list[Derived]:
    """The bytes of the 16-bit word dumps around the triggers, each word's two bytes put
    back in order (both mapped to the word)."""
    del limits  # every view is bounded by the lines _word_lines takes
    out: list[Derived] = []
    done_until = -1
    for offset in sorted(set(offsets)):
        if offset < done_until or not 0 <= offset < len(data):
            continue
        lines = _word_lines(data, offset)
        if not lines:
            continue
        done_until = lines[-1][1]
        builder = SegmentMapBuilder()
        view = bytearray()
        for lo, hi in lines:
            for word in _WORD.finditer(data, lo, hi):
                view += bytes.fromhex(word.group().decode())[::-1]
                builder.add(2, word.start(), 2, 4)
        out.append(Derived(bytes(view), "hex-words", builder.build()))
    return out


HEX_WORDS = TextDecoder("hex-words", WORD_TRIGGERS, decode_words)

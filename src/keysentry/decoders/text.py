"""UTF-16 text, and keys written with escape sequences (``\\u002d``, ``\\x73``, ``%2D``).

Both produce UTF-8 views with an exact map back to the source bytes: every
decoded byte maps to the code unit or escape sequence it came from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

from keysentry.decoders.encoded import PREFIX
from keysentry.decoders.views import Derived, Limits, SegmentMapBuilder, TextDecoder

# -- UTF-16 -----------------------------------------------------------------

_LE_TRIGGER = PREFIX.decode().encode("utf-16-le")
_BE_TRIGGER = PREFIX.decode().encode("utf-16-be")
_BOMS = {b"\xff\xfe": "le", b"\xfe\xff": "be"}

# What counts as text: printable characters and layout controls, and a well-formed
# surrogate pair. NUL, the other C0/C1 controls and a lone surrogate end a run, which
# is what stops it at the binary around a string (a PE resource, a registry hive).
_TEXT = re.compile("[^\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff]*")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
# Characters by UTF-8 length, to map decoded bytes back to code units run by run.
_WIDTHS = re.compile(
    "([\x00-\x7f]+)|([\x80-\u07ff]+)|([\u0800-\uffff]+)|([\U00010000-\U0010ffff]+)"
)


def _text_bytes(text: str, chars: int) -> int:
    """UTF-16 bytes of the first ``chars`` characters (astral ones take two units)."""
    return 2 * (chars + len(_ASTRAL.findall(text, 0, chars)))


def _run_edge(data: bytes, unit: int, order: str, limit: int, forward: bool) -> int:
    """Where the run of text code units that starts (or ends) at ``unit`` ends (starts).

    The bytes are decoded in C and the run is one character-class match; the slice
    grows only while the run fills it, so a short string costs a short slice.
    """
    span = 4096
    while True:
        if forward:
            lo, hi = unit, min(len(data), unit + span, unit + limit)
            hi -= (hi - lo) % 2
        else:
            lo, hi = max(0, unit - span, unit - limit), unit
            lo += (hi - lo) % 2
        text = data[lo:hi].decode(f"utf-16-{order}", "surrogatepass")
        if not forward:
            text = text[::-1]
        found = _TEXT.match(text)
        size = found.end() if found else 0
        whole = hi - lo >= limit - 1 or (hi >= len(data) - 1 if forward else lo <= 1)
        # A surrogate pair cut by the slice's edge stops the match one character early.
        if size + 1 < len(text) or whole:
            return unit + _text_bytes(text, size) * (1 if forward else -1)
        span *= 8


def _utf16_view(data: bytes, lo: int, hi: int, order: str) -> Derived | None:
    try:
        text = data[lo:hi].decode(f"utf-16-{order}", "surrogatepass")
        encoded = text.encode("utf-8", "surrogatepass")
    except UnicodeError:
        return None
    builder = SegmentMapBuilder()
    parent = lo
    for found in _WIDTHS.finditer(text):
        width = found.lastindex or 1
        chars = found.end() - found.start()
        units = 2 if width == 4 else 1
        builder.add(chars * width, parent, width, 2 * units)
        parent += chars * 2 * units
    return Derived(encoded, f"utf-16{order}", builder.build())


def _utf16_units(data: bytes, offset: int) -> Iterator[int]:
    """Where the 's' of a UTF-16 trigger is, at or near ``offset``."""
    if data.startswith(_LE_TRIGGER, offset):
        yield offset
    elif data.startswith(_BE_TRIGGER, offset):
        yield offset + 1
    else:
        reach = len(_LE_TRIGGER)
        lo = max(0, offset - reach)
        for trigger, shift in ((_LE_TRIGGER, 0), (_BE_TRIGGER, 1)):
            found = data.find(trigger, lo, offset + 2 * reach)
            if found >= 0:
                yield found + shift


def decode_utf16(data: bytes, offsets: Sequence[int], limits: Limits) -> list[Derived]:
    """UTF-8 views of the UTF-16 text around the triggers: the whole input when it starts
    with a byte order mark, else the run of text code units around each trigger."""
    limit = max(limits.max_encoded_run, 64)
    bom = _BOMS.get(data[:2])
    out: list[Derived] = []
    spans: list[tuple[int, int]] = []
    for offset in sorted(set(offsets)):
        spans = [span for span in spans if span[1] > offset - 2 * len(_LE_TRIGGER)]
        for s in list(_utf16_units(data, offset)):
            if any(lo <= s < hi for lo, hi in spans):
                continue
            if bom is not None and len(data) - 2 <= limit and (s - (bom == "be")) % 2 == 0:
                span, order = (2, len(data) - len(data) % 2), bom
            else:
                # ASCII reads the same in both orders one byte apart, and any byte pair
                # is some character, so the text cannot tell. Alignment can: files and
                # the strings in binaries start their code units at even offsets.
                order = "le" if s % 2 == 0 else "be"
                unit = s if order == "le" else s - 1
                lo = _run_edge(data, unit, order, limit // 2, forward=False)
                span = (lo, _run_edge(data, unit, order, limit // 2, forward=True))
            view = _utf16_view(data, span[0], span[1], order)
            spans.append(span)
            if view is not None and view.data:
                out.append(view)
    return out


UTF16 = TextDecoder("utf-16", (_LE_TRIGGER, _BE_TRIGGER), decode_utf16)
"""Triggers: ``sk-or-v1-`` in UTF-16LE and in UTF-16BE."""


# -- UTF-32 -----------------------------------------------------------------

# Without its last three zero bytes: a literal that ends in them makes hyperscan's
# compiled search take 11 MB more memory (measured), and the rest says as much.
_LE32_TRIGGER = PREFIX.decode().encode("utf-32-le").rstrip(b"\x00")
_BE32_TRIGGER = PREFIX.decode().encode("utf-32-be")
_BOMS32 = {b"\xff\xfe\x00\x00": "le", b"\x00\x00\xfe\xff": "be"}
_TEXT32 = re.compile("[^\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffd]*")
_SPAN32 = 4 * 1024
"""Bytes read on each side of a trigger when the whole input is not UTF-32 text."""


def _utf32_view(data: bytes, lo: int, hi: int, order: str, unit: int) -> Derived | None:
    """The run of text code units around ``unit`` in ``data[lo:hi]``, as UTF-8. Every
    code unit is 4 bytes, so an invalid one (replaced by U+FFFD, which ends a run) keeps
    every offset in place."""
    text = data[lo:hi].decode(f"utf-32-{order}", "replace")
    at = (unit - lo) // 4
    before = _TEXT32.match(text[:at][::-1])
    after = _TEXT32.match(text, at)
    first = at - (before.end() if before else 0)
    last = after.end() if after else at
    run = text[first:last]
    if not run:
        return None
    builder = SegmentMapBuilder()
    parent = lo + 4 * first
    for found in _WIDTHS.finditer(run):
        width = found.lastindex or 1
        chars = found.end() - found.start()
        builder.add(chars * width, parent, width, 4)
        parent += chars * 4
    return Derived(run.encode("utf-8"), f"utf-32{order}", builder.build())


def decode_utf32(data: bytes, offsets: Sequence[int], limits: Limits) -> list[Derived]:
    """UTF-8 views of the UTF-32 text around the triggers (either byte order, with or
    without a byte order mark: the trigger's own bytes say the order)."""
    out: list[Derived] = []
    done: list[tuple[int, int]] = []
    bom = _BOMS32.get(data[:4])
    for offset in sorted(set(offsets)):
        # The big-endian trigger also matches little-endian text 3 bytes early (an ASCII
        # character's zero bytes): the one at a code unit boundary is the text. (The
        # other way round, the little-endian match falls inside the view already made.)
        if data.startswith(_LE32_TRIGGER, offset):
            order = "le"
        elif data.startswith(_BE32_TRIGGER, offset) and not (
            (offset + 3) % 4 == 0 and data.startswith(_LE32_TRIGGER, offset + 3)
        ):
            order = "be"
        else:
            continue
        if any(lo <= offset < hi for lo, hi in done):
            continue
        if bom == order and offset % 4 == 0 and len(data) - 4 <= limits.max_encoded_run:
            lo, hi = 4, len(data) - len(data) % 4
        else:
            lo = max(offset % 4, offset - _SPAN32)
            hi = min(len(data), offset + 2 * _SPAN32)
            hi -= (hi - lo) % 4
        view = _utf32_view(data, lo, hi, order, offset)
        if view is not None:
            done.append(view.parent_span(0, len(view.data)))
            out.append(view)
    return out


UTF32 = TextDecoder("utf-32", (_LE32_TRIGGER, _BE32_TRIGGER), decode_utf32)
"""Triggers: ``sk-or-v1-`` in UTF-32LE and in UTF-32BE."""


# -- escape sequences -------------------------------------------------------

# The key's only non-alphanumeric character is the hyphen, so an encoder that escapes
# "special" characters touches the hyphens and nothing else; one that escapes
# everything escapes the key's first character, 's'. Escaped hyphens and escaped 's'
# are therefore both necessary and rare in ordinary text. Every notation is listed in
# both hex cases where it has letters. A double escape (``\\u002d`` in a JSON string
# holding JSON) contains the single one.
ESCAPE_TRIGGERS: tuple[bytes, ...] = (
    b"\\u002d", b"\\u002D", b"\\x2d", b"\\x2D", b"\\055", b"\\u{2d}", b"\\u{2D}",
    b"\\U0000002d", b"\\U0000002D",
    b"\\u0073", b"\\x73", b"\\163", b"\\u{73}", b"\\U00000073",
)  # fmt: skip
# RFC 3986 leaves '-' unreserved, so only over-eager encoders write %2D; a fully
# encoded key starts with %73. %25 is a double-encoded '%'.
PERCENT_TRIGGERS: tuple[bytes, ...] = (b"%2d", b"%2D", b"%73", b"%252d", b"%252D", b"%2573")

_BEFORE = 512
_AFTER = 1024
_MARGIN = 72
"""Plain bytes kept on each side of escapes, and the longest plain gap inside a view.
One less than a key (73 bytes): a key found in a view always contains an escape, so a
key that was plain to begin with is reported once, by the raw scan, never again here."""
_KEY_SPAN = 1024
"""Views longer than the limit are cut with this much overlap (a key in \\U escapes is
730 bytes)."""

_BACKSLASH = re.compile(
    rb"\\(?:"
    rb"u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})"  # 1, 2: surrogate pair
    rb"|u\{([0-9a-fA-F]{1,6})\}"  # 3
    rb"|u([0-9a-fA-F]{4})"  # 4
    rb"|U([0-9a-fA-F]{8})"  # 5
    rb"|x([0-9a-fA-F]{2})"  # 6
    rb"|([0-7]{3})"  # 7
    rb"|([\\\"'/nrtbf])"  # 8
    rb")"
)
_PERCENT = re.compile(rb"%([0-9a-fA-F]{2})")
_SIMPLE = {
    ord("\\"): b"\\", ord('"'): b'"', ord("'"): b"'", ord("/"): b"/",
    ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("f"): b"\f",
}  # fmt: skip


def _code_point(value: int) -> bytes | None:
    if 0xD800 <= value <= 0xDFFF or value > 0x10FFFF:
        return None  # a lone surrogate is no character: leave the escape as written
    return chr(value).encode("utf-8")


def _unescape_backslash(found: re.Match[bytes]) -> bytes | None:
    high, low, braced, u4, u8, x2, octal, simple = found.groups()
    if high is not None and low is not None:
        pair = 0x10000 + ((int(high, 16) - 0xD800) << 10) + (int(low, 16) - 0xDC00)
        return _code_point(pair)
    for group in (braced, u4, u8):
        if group is not None:
            return _code_point(int(group, 16))
    if x2 is not None:
        return bytes((int(x2, 16),))
    if octal is not None:
        value = int(octal, 8)
        return bytes((value,)) if value < 256 else None
    return _SIMPLE.get(simple[0]) if simple else None


def _unescape_percent(found: re.Match[bytes]) -> bytes | None:
    return bytes((int(found.group(1), 16),))


def _windows(offsets: Sequence[int], size: int) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for offset in sorted(set(offsets)):
        if not 0 <= offset < size:
            continue
        lo, hi = max(0, offset - _BEFORE), min(size, offset + _AFTER)
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


_Unescape = Callable[[re.Match[bytes]], bytes | None]


def _clusters(
    data: bytes, lo: int, hi: int, pattern: re.Pattern[bytes], unescape: _Unescape
) -> Iterator[tuple[int, int]]:
    """Spans of escapes no more than a margin apart, with a margin of plain text around."""
    start = end = -1
    for found in pattern.finditer(data, lo, hi):
        if unescape(found) is None:
            continue  # kept as written: plain text, as far as the margins go
        s, e = found.span()
        if start >= 0 and s - end > _MARGIN:
            yield max(lo, start - _MARGIN), min(hi, end + _MARGIN)
            start = -1
        if start < 0:
            start = s
        end = e
    if start >= 0:
        yield max(lo, start - _MARGIN), min(hi, end + _MARGIN)


def _pieces(lo: int, hi: int, limit: int) -> Iterator[tuple[int, int]]:
    """``[lo, hi)`` in pieces of at most ``limit`` that overlap by more than a key."""
    while True:
        yield lo, min(hi, lo + limit)
        if lo + limit >= hi:
            return
        lo += limit - _KEY_SPAN


def _unescape_span(
    data: bytes, lo: int, hi: int, pattern: re.Pattern[bytes], unescape: _Unescape, step: str
) -> Derived | None:
    builder = SegmentMapBuilder()
    parts: list[bytes] = []
    pos = lo
    decoded = 0
    quoting = False
    for found in pattern.finditer(data, lo, hi):
        s, e = found.span()
        value = unescape(found)
        if value is None:
            continue
        if s > pos:
            parts.append(data[pos:s])
            builder.add(s - pos, pos, 1, 1)
        parts.append(value)
        builder.add(len(value), s, len(value), e - s)
        decoded += 1
        quoting = quoting or data[s : s + 2] in (b'\\"', b"\\\\")
        pos = e
    if not decoded:
        return None
    if hi > pos:
        parts.append(data[pos:hi])
        builder.add(hi - pos, pos, 1, 1)
    # Escaped quotes and backslashes are a string inside a string (JSON in JSON).
    step = "json-string" if quoting and step == "escape" else step
    return Derived(b"".join(parts), step, builder.build())


def _decode_escapes(
    data: bytes,
    offsets: Sequence[int],
    limits: Limits,
    pattern: re.Pattern[bytes],
    unescape: _Unescape,
    step: str,
) -> list[Derived]:
    limit = max(limits.max_encoded_run, 2 * _KEY_SPAN)
    out: list[Derived] = []
    for lo, hi in _windows(offsets, len(data)):
        for cluster in _clusters(data, lo, hi, pattern, unescape):
            for start, stop in _pieces(*cluster, limit):
                view = _unescape_span(data, start, stop, pattern, unescape, step)
                if view is not None:
                    out.append(view)
    return out


def decode_escapes(data: bytes, offsets: Sequence[int], limits: Limits) -> list[Derived]:
    """Undo one level of backslash escapes (``\\uXXXX`` with surrogate pairs, ``\\u{X}``,
    ``\\UXXXXXXXX``, ``\\xXX``, octal, and ``\\" \\\\ \\/ \\n`` ...) near the triggers."""
    return _decode_escapes(data, offsets, limits, _BACKSLASH, _unescape_backslash, "escape")


def decode_percent(data: bytes, offsets: Sequence[int], limits: Limits) -> list[Derived]:
    """Undo one level of percent-encoding near the triggers."""
    return _decode_escapes(data, offsets, limits, _PERCENT, _unescape_percent, "percent")


ESCAPE = TextDecoder("escape", ESCAPE_TRIGGERS, decode_escapes)
PERCENT = TextDecoder("percent", PERCENT_TRIGGERS, decode_percent)

"""Base64 (standard and URL-safe) and hex runs that hide a key.

Both are found the same way: a literal trigger is the encoding of the key's
prefix, the enclosing run of alphabet characters is taken (following the line
wrapping of ``base64`` output, PEM-like bodies and ``xxd -p``), the trigger fixes
where the encoding's groups start, and the run is decoded in one C call.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial

from keysentry.decoders.views import Derived, Limits, RunMap, TextDecoder

PREFIX = b"sk-or-v1-"
"""What every key starts with (the prefix alone is not a key)."""

_STD_TO_URL = bytes.maketrans(b"+/", b"-_")
_URL_TO_STD = bytes.maketrans(b"-_", b"+/")
_MIN_LINE = 16
"""Shorter lines are not taken for wrapped output (real wrappers use 60 to 76)."""
_MAX_INDENT = 64
_KEY_LEN = 6
"""Triggers are looked up by their first bytes; every trigger is at least this long."""
_REACH = 32
"""How far from a reported offset a trigger is looked for (longer than any trigger)."""


def _stable_base64(raw: bytes) -> list[tuple[bytes, int]]:
    """The base64 characters that depend on ``raw`` alone, at each of its 3 byte
    alignments, with the position of the first of them within its 4-character group."""
    out = []
    for lead in range(3):
        encoded = base64.b64encode(bytes(lead) + raw + bytes(2))
        first = -(-8 * lead // 6)  # first character whose 6 bits all come from raw
        last = 8 * (lead + len(raw)) // 6
        out.append((encoded[first:last], first % 4))
    return out


def _split_for_wrapping(needle: bytes, phase: int, quantum: int) -> list[tuple[bytes, int]]:
    """Two overlapping halves of a needle: if a line break falls anywhere inside the
    needle, one half still lies whole on one line. Each half comes with its phase."""
    size = len(needle)
    head = (size + 1) // 2
    tail_start = head - 1  # the halves share a byte, so every split leaves one whole
    return [(needle[:head], phase % quantum), (needle[tail_start:], (phase + tail_start) % quantum)]


def _base64_needles(depth: int) -> list[tuple[bytes, int]]:
    """The stable encodings of the prefix, of those encodings, and so on ``depth`` deep:
    base64 of base64 hides the first encoding's characters, not the prefix."""
    found: dict[tuple[bytes, int], None] = {}
    level: list[bytes] = [PREFIX]
    for _ in range(depth):
        following: list[bytes] = []
        for raw in level:
            for needle, phase in _stable_base64(raw):
                for variant in (needle, needle.translate(_STD_TO_URL)):
                    if (variant, phase) not in found:
                        found[variant, phase] = None
                        following.append(variant)
        level = following
    return list(found)


def _hex_needles() -> list[tuple[bytes, int]]:
    core = PREFIX[:-1].hex().encode()
    return [(core, 0), (core.upper(), 0)]


@dataclass(frozen=True, slots=True, eq=False)
class _Code:
    """A fixed-rate text encoding of bytes, and the triggers that reveal a key in it."""

    name: str
    alphabet: bytes
    """A regular-expression character class."""
    quantum: int
    """Characters per group."""
    group_bytes: int
    """Bytes per group."""
    halves: tuple[tuple[bytes, int], ...]
    """Trigger needles with their phase: the needle's first character's index in a group."""
    by_head: dict[bytes, tuple[tuple[bytes, int], ...]]
    """The halves by their first ``_KEY_LEN`` bytes: one dict lookup per offset."""
    unwrap: Callable[[bytes], bytes | None]
    step_of: Callable[[bytes], str]

    @property
    def triggers(self) -> tuple[bytes, ...]:
        return tuple(dict.fromkeys(h for h, _ in self.halves))


def _halves(needles: Sequence[tuple[bytes, int]], quantum: int) -> tuple[tuple[bytes, int], ...]:
    out: dict[tuple[bytes, int], None] = {}
    for needle, phase in needles:
        for half in _split_for_wrapping(needle, phase, quantum):
            out[half] = None
    return tuple(out)


def _by_head(halves: tuple[tuple[bytes, int], ...]) -> dict[bytes, tuple[tuple[bytes, int], ...]]:
    table: dict[bytes, list[tuple[bytes, int]]] = {}
    for half in halves:
        table.setdefault(half[0][:_KEY_LEN], []).append(half)
    return {head: tuple(group) for head, group in table.items()}


def _unbase64(body: bytes) -> bytes | None:
    body = body.translate(_URL_TO_STD)
    rest = len(body) % 4
    if rest == 1:  # a lone character carries no whole byte
        body = body[:-1]
    elif rest:
        body += b"=" * (4 - rest)  # padding is often dropped (URLs, JWTs)
    try:
        return binascii.a2b_base64(body)
    except (binascii.Error, ValueError):
        return None


def _base64_step(body: bytes) -> str:
    urlsafe = b"-" in body or b"_" in body
    return "base64url" if urlsafe and b"+" not in body and b"/" not in body else "base64"


def _unhex(body: bytes) -> bytes | None:
    try:
        return binascii.unhexlify(body[: len(body) - len(body) % 2])
    except (binascii.Error, ValueError):
        return None


ENCODING_DEPTH = Limits().max_encoding_depth

_HEX_HALVES = _halves(_hex_needles(), 2)


def _base64_code(depth: int) -> _Code:
    halves = _halves(_base64_needles(depth), 4)
    return _Code(
        name="base64",
        alphabet=rb"[A-Za-z0-9+/_-]",
        quantum=4,
        group_bytes=3,
        halves=halves,
        by_head=_by_head(halves),
        unwrap=_unbase64,
        step_of=_base64_step,
    )


_BASE64 = _base64_code(ENCODING_DEPTH)
_HEX = _Code(
    name="hex",
    alphabet=rb"[0-9A-Fa-f]",
    quantum=2,
    group_bytes=1,
    halves=_HEX_HALVES,
    by_head=_by_head(_HEX_HALVES),
    unwrap=_unhex,
    step_of=lambda _body: "hex",
)


# -- finding the run --------------------------------------------------------


@lru_cache(maxsize=8)
def _chars(alphabet: bytes) -> re.Pattern[bytes]:
    return re.compile(alphabet + b"*")


def _right_edge(data: bytes, pos: int, chars: re.Pattern[bytes], limit: int) -> int:
    found = chars.match(data, pos, min(len(data), pos + limit))
    return found.end() if found else pos


def _left_edge(data: bytes, pos: int, chars: re.Pattern[bytes], limit: int) -> int:
    # re cannot match backwards: match on a reversed slice, widening it only while the
    # run fills the whole slice, so a short run costs a short slice.
    floor = max(0, pos - limit)
    span = 256
    while True:
        lo = max(floor, pos - span)
        found = chars.match(data[lo:pos][::-1])
        size = found.end() if found else 0
        if size < pos - lo or lo == floor:
            return pos - size
        span *= 8


def _indent_start(data: bytes, pos: int) -> int:
    i = pos
    while i > 0 and pos - i < _MAX_INDENT and data[i - 1] in b" \t":
        i -= 1
    return i


def _starts_line(data: bytes, pos: int) -> bool:
    i = _indent_start(data, pos)
    return i == 0 or data[i - 1] == 0x0A


def _previous_line_end(data: bytes, pos: int) -> int | None:
    """Where the content of the line before ``pos`` ends, if ``pos`` starts its line."""
    i = _indent_start(data, pos)
    if i == 0 or data[i - 1] != 0x0A:
        return None
    end = i - 1
    return end - 1 if end > 0 and data[end - 1] == 0x0D else end


def _next_line_start(data: bytes, pos: int) -> int | None:
    """Where the content of the next line starts, if a line break is at ``pos``."""
    if data.startswith(b"\n", pos):
        i = pos + 1
    elif data.startswith(b"\r\n", pos):
        i = pos + 2
    else:
        return None
    j = i
    while j < len(data) and j - i < _MAX_INDENT and data[j] in b" \t":
        j += 1
    return j


def _ends_line(data: bytes, pos: int) -> bool:
    return pos == len(data) or data[pos] in b"\r\n="


@lru_cache(maxsize=64)
def _lines_below(alphabet: bytes, width: int, joint: bytes) -> re.Pattern[bytes]:
    """Whole lines of ``width`` after a line: each is ``joint`` (line break and indent),
    then ``width`` characters, then another line break."""
    return re.compile(rb"(?:%s%s{%d}(?=\r?\n))*" % (re.escape(joint), alphabet, width))


@lru_cache(maxsize=64)
def _lines_above(alphabet: bytes, width: int, joint: bytes) -> re.Pattern[bytes]:
    """The same lines above a line, matched over the reversed bytes before it."""
    back = re.escape(joint[::-1])
    return re.compile(rb"(?:%s%s{%d}(?=%s|\Z))*" % (back, alphabet, width, back))


def gather_run(
    data: bytes, pos: int, alphabet: bytes, quantum: int, limit: int
) -> list[tuple[int, int]]:
    """The pieces (one per line) of the run of ``alphabet`` characters around ``pos``.

    A run continues over a line break only as wrapping tools write it: every line but
    the last is exactly as long as the others, a whole number of groups, and holds
    nothing else; the last line is not longer. Regular stretches of lines are taken by
    one regular expression each way, so a long wrapped block costs no Python loop per line.
    """
    chars = _chars(alphabet)
    first = (_left_edge(data, pos, chars, limit), _right_edge(data, pos, chars, limit))
    above: list[tuple[int, int]] = []
    below: list[tuple[int, int]] = []
    total = first[1] - first[0]
    width: int | None = None
    top = first[0]
    while total < limit:
        end = _previous_line_end(data, top)
        if end is None:
            break
        start = _left_edge(data, end, chars, limit)
        size = end - start
        if size < _MIN_LINE or size % quantum or size < first[1] - first[0]:
            break
        if width is not None and size != width:
            break
        width = size
        joint = data[end:top]
        above.append((start, end))
        total += size
        top = start
        step = len(joint) + width
        back = data[max(0, top - (limit - total) // width * step - len(joint)) : top][::-1]
        found = _lines_above(alphabet, width, joint).match(back)
        count = found.end() // step if found else 0
        above.extend((top - k * step, top - k * step + width) for k in range(1, count + 1))
        total += count * width
        top -= count * step
    last = first
    while total < limit:
        size = last[1] - last[0]
        if width is None:
            if size < _MIN_LINE or size % quantum or not _starts_line(data, last[0]):
                break
            width = size
        elif size != width:
            break
        following = _next_line_start(data, last[1])
        if following is None:
            break
        joint = data[last[1] : following]
        step = len(joint) + width
        found = _lines_below(alphabet, width, joint).match(
            data, last[1], min(len(data), last[1] + (limit - total) // width * step)
        )
        count = (found.end() - last[1]) // step if found else 0
        if count:
            base = last[1]
            below.extend((base + k * step - width, base + k * step) for k in range(1, count + 1))
            total += count * width
            last = below[-1]
            continue
        end = _right_edge(data, following, chars, limit)
        if end == following or end - following > width or not _ends_line(data, end):
            break
        last = (following, end)
        below.append(last)
        total += end - following
        if end - following < width:
            break
    return [*reversed(above), first, *below]


# -- decoding ---------------------------------------------------------------


def _trigger_hits(data: bytes, pos: int, code: _Code) -> Iterator[tuple[int, int]]:
    """(offset, phase) of the triggers at ``pos``; near it when ``pos`` is not a start."""
    candidates = code.by_head.get(data[pos : pos + _KEY_LEN], ())
    here = [(pos, phase) for half, phase in candidates if data.startswith(half, pos)]
    if here:
        yield from here
        return
    for half, phase in code.halves:
        found = data.find(half, max(0, pos - _REACH), pos + _REACH)
        if found >= 0:
            yield found, phase


@dataclass(frozen=True, slots=True)
class _Done:
    """A decoded window of a run, to skip the other triggers inside it."""

    lo: int
    hi: int
    runmap: RunMap
    window: tuple[int, int]
    alignment: int


def _covered(done: list[_Done], pos: int, phase: int, quantum: int) -> bool:
    for item in done:
        if item.lo <= pos < item.hi:
            compact = item.runmap.raw_to_compact(pos)
            if (
                compact is not None
                and item.window[0] <= compact < item.window[1]
                and (compact - phase) % quantum == item.alignment
            ):
                return True
    return False


def _decode_runs(data: bytes, offsets: Sequence[int], limits: Limits, code: _Code) -> list[Derived]:
    out: list[Derived] = []
    done: list[_Done] = []
    limit = max(limits.max_encoded_run, 64)
    q = code.quantum
    for offset in sorted(set(offsets)):
        if not 0 <= offset < len(data):
            continue
        # Offsets ascend: a run that ended before this one cannot hold a later trigger,
        # so the list stays short however many runs a buffer has.
        done = [item for item in done if item.hi > offset - _REACH]
        for pos, phase in list(_trigger_hits(data, offset, code)):
            if _covered(done, pos, phase, q):
                continue
            lines = gather_run(data, pos, code.alphabet, q, limit)
            at = 0  # index of pos in the run without line breaks
            for lo, hi in lines:
                if lo <= pos < hi:
                    at += pos - lo
                    break
                at += hi - lo
            total = sum(hi - lo for lo, hi in lines)
            alignment = (at - phase) % q
            start = max(0, min(at - limit // 2, total - limit)) if total > limit else 0
            start += (alignment - start) % q  # where the trigger says groups start
            stop = min(total, start + limit)
            body = b"".join([data[lo:hi] for lo, hi in lines])[start:stop]
            decoded = code.unwrap(body)
            if not decoded:
                continue
            runmap = RunMap(lines, start, code.group_bytes, q, len(decoded))
            out.append(Derived(decoded, code.step_of(body), runmap))
            done.append(_Done(lines[0][0], lines[-1][1], runmap, (start, stop), alignment % q))
    return out


def decode_base64(data: bytes, offsets: Sequence[int], limits: Limits) -> list[Derived]:
    """Decode the base64 (standard or URL-safe, wrapped or not) runs at the triggers."""
    return _decode_runs(data, offsets, limits, _BASE64)


def decode_hex(data: bytes, offsets: Sequence[int], limits: Limits) -> list[Derived]:
    """Decode the hex runs (either case, wrapped or not) at the triggers."""
    return _decode_runs(data, offsets, limits, _HEX)


@lru_cache(maxsize=8)
def base64_decoder(depth: int) -> TextDecoder:
    """The base64 decoder whose triggers reveal up to ``depth`` nested encodings.

    Triggers: both overlapping halves of every stable base64 encoding of the prefix at
    its 3 byte alignments (standard and URL-safe, which turn out to be the same), and
    of those encodings again, ``depth`` levels deep: 6, 24, 78 needles for 1, 2, 3.
    """
    code = _BASE64 if depth == ENCODING_DEPTH else _base64_code(max(1, depth))
    return TextDecoder("base64", code.triggers, partial(_decode_runs, code=code))


BASE64 = base64_decoder(ENCODING_DEPTH)
HEX = TextDecoder("hex", _HEX.triggers, decode_hex)
"""Triggers: both overlapping halves of the hex of ``sk-or-v1``, lower and upper case."""

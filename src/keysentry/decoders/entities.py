"""HTML and XML character references: ``&#115;``, ``&#x2D;``, named ones, mixed with text.

A page or an XML export that escapes "special" characters escapes the key's hyphens
(``sk&#45;or&#45;v1&#45;...``); one that escapes everything escapes its first letter.
The triggers are those two characters as numeric references, in every common spelling;
the view undoes every reference near them, named ones included (``&amp;#45;`` is a
double-escaped hyphen: the next level decodes it again).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html.entities import html5

from keysentry.decoders.text import _decode_escapes
from keysentry.decoders.views import Derived, Limits, TextDecoder

_HYPHEN = ("45", "045", "0045", "x2d", "x2D", "X2d", "X2D", "x02d", "x002d", "x002D")
_S = ("115", "0115", "x73", "X73", "x073", "x0073")
TRIGGERS: tuple[bytes, ...] = tuple(
    f"{amp}#{code};".encode() for amp in ("&", "&amp;") for code in (*_HYPHEN, *_S)
)

_REFERENCE = re.compile(rb"&(?:#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6})|([A-Za-z][A-Za-z0-9]{1,31}));")


def _code_point(value: int) -> bytes | None:
    if 0xD800 <= value <= 0xDFFF or value > 0x10FFFF or value == 0:
        return None  # not a character: the reference stays as written
    return chr(value).encode("utf-8")


def _unescape(found: re.Match[bytes]) -> bytes | None:
    decimal, hexadecimal, name = found.groups()
    if decimal is not None:
        return _code_point(int(decimal))
    if hexadecimal is not None:
        return _code_point(int(hexadecimal, 16))
    value = html5.get(name.decode("ascii") + ";")
    return value.encode("utf-8") if value is not None else None


def decode_entities(data: bytes, offsets: Sequence[int], limits: Limits) -> list[Derived]:
    """Undo one level of character references near the triggers."""
    return _decode_escapes(data, offsets, limits, _REFERENCE, _unescape, "html-entity")


ENTITIES = TextDecoder("html-entity", TRIGGERS, decode_entities)

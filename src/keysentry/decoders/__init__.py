"""Decoders: pure functions from bytes to decoded views and archive members.

Text decoders run only where the scanner's single literal search found one of their
trigger needles, so bytes without a trigger cost them nothing. Archives and
compressed streams are recognised by their content, never by a file name.
"""

from __future__ import annotations

from keysentry.decoders.concat import CONCAT
from keysentry.decoders.encoded import HEX, base64_decoder
from keysentry.decoders.entities import ENTITIES
from keysentry.decoders.hexdump import HEXDUMP
from keysentry.decoders.text import ESCAPE, PERCENT, UTF16
from keysentry.decoders.views import Derived, Limits, OffsetMap, TextDecoder
from keysentry.decoders.wrapped import wrapped_decoder


def text_decoders(max_encoding_depth: int = Limits().max_encoding_depth) -> tuple[TextDecoder, ...]:
    """Every text decoder, with base64 triggers for ``max_encoding_depth`` nested
    encodings (each level triples base64's needles: 6, 24, 78)."""
    base64 = base64_decoder(max_encoding_depth)
    wrapped = wrapped_decoder(max_encoding_depth)
    return (base64, HEX, UTF16, ESCAPE, PERCENT, CONCAT, ENTITIES, wrapped, HEXDUMP)


TEXT_DECODERS: tuple[TextDecoder, ...] = text_decoders()
"""Every text decoder, each with its literal trigger needles, for the default depth."""

TRIGGERS: dict[str, tuple[bytes, ...]] = {d.name: d.triggers for d in TEXT_DECODERS}
"""Decoder name -> its trigger needles."""

__all__ = [
    "TEXT_DECODERS",
    "TRIGGERS",
    "Derived",
    "Limits",
    "OffsetMap",
    "TextDecoder",
    "text_decoders",
]

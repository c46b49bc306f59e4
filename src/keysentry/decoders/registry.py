"""Every text decoder with its trigger needles: what the scanner searches for.

Text decoders run only where the scanner's single literal search found one of their
trigger needles, so bytes without a trigger cost them nothing. Importing this module
imports every decoder: the scanner does so once it is built; the commit hook's screen
(:mod:`keysentry.screen`) does not, it searches for the same needles from a table.
"""

from __future__ import annotations

from keysentry.decoders.concat import CONCAT
from keysentry.decoders.encoded import HEX, base64_decoder
from keysentry.decoders.entities import ENTITIES
from keysentry.decoders.hexdump import HEXDUMP
from keysentry.decoders.text import ESCAPE, PERCENT, UTF16
from keysentry.decoders.views import Limits, TextDecoder
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

"""Decoders: pure functions from bytes to decoded views and archive members.

Text decoders run only where the scanner's single literal search found one of their
trigger needles, so bytes without a trigger cost them nothing. Archives and
compressed streams are recognised by their content, never by a file name.
"""

from __future__ import annotations

from keysentry.decoders.encoded import BASE64, HEX
from keysentry.decoders.text import ESCAPE, PERCENT, UTF16
from keysentry.decoders.views import Derived, Limits, OffsetMap, TextDecoder

TEXT_DECODERS: tuple[TextDecoder, ...] = (BASE64, HEX, UTF16, ESCAPE, PERCENT)
"""Every text decoder, each with its literal trigger needles."""

TRIGGERS: dict[str, tuple[bytes, ...]] = {d.name: d.triggers for d in TEXT_DECODERS}
"""Decoder name -> its trigger needles."""

__all__ = ["TEXT_DECODERS", "TRIGGERS", "Derived", "Limits", "OffsetMap", "TextDecoder"]

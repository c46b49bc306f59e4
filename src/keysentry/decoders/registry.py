"""Every text decoder with its trigger needles: what the scanner searches for.

Text decoders run only where the scanner's single literal search found one of their
trigger needles, so bytes without a trigger cost them nothing, not even their import:
:data:`TEXT_DECODERS` takes each decoder's triggers from the generated table
(:mod:`keysentry.decoders.triggers`) and imports the decoder's module the first time one
of them is found. :func:`text_decoders` builds them all, imported, for any depth;
tests/hook/test_screen.py checks the table against it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from keysentry.decoders.triggers import DECODER_TRIGGERS
from keysentry.decoders.views import Derived, Limits, TextDecoder

DEFAULT_DEPTH = Limits().max_encoding_depth

NAMES = (
    "base64", "hex", "utf-16", "utf-32", "escape", "percent", "concat", "html-entity",
    "escaped-newlines", "hexdump", "hex-words", "invisible", "line-wrap",
    "base64-container",
)  # fmt: skip
"""Every text decoder, in the order they run where several triggers meet."""


def _load(name: str, depth: int) -> TextDecoder:
    # Plain import statements, not importlib: what is imported stays visible to
    # import-linter and to ``python -X importtime`` (which the tests read).
    if name in ("base64", "hex"):
        from keysentry.decoders import encoded

        return encoded.base64_decoder(depth) if name == "base64" else encoded.HEX
    if name in ("utf-16", "utf-32", "escape", "percent"):
        from keysentry.decoders import text

        return {
            "utf-16": text.UTF16, "utf-32": text.UTF32, "escape": text.ESCAPE,
            "percent": text.PERCENT,
        }[name]  # fmt: skip
    if name == "concat":
        from keysentry.decoders.concat import CONCAT

        return CONCAT
    if name == "html-entity":
        from keysentry.decoders.entities import ENTITIES

        return ENTITIES
    if name == "escaped-newlines":
        from keysentry.decoders.wrapped import wrapped_decoder

        return wrapped_decoder(depth)
    if name in ("hexdump", "hex-words"):
        from keysentry.decoders.hexdump import HEX_WORDS, HEXDUMP

        return HEXDUMP if name == "hexdump" else HEX_WORDS
    if name in ("invisible", "line-wrap"):
        from keysentry.decoders.joins import INVISIBLE_DECODER, WRAPPED_KEY

        return INVISIBLE_DECODER if name == "invisible" else WRAPPED_KEY
    if name == "base64-container":
        from keysentry.decoders.blobs import BASE64_CONTAINERS

        return BASE64_CONTAINERS
    raise ValueError(f"no text decoder named {name!r}")


def text_decoders(max_encoding_depth: int = DEFAULT_DEPTH) -> tuple[TextDecoder, ...]:
    """Every text decoder, imported, with base64 triggers for ``max_encoding_depth``
    nested encodings (each level triples base64's needles: 6, 24, 78)."""
    return tuple(_load(name, max_encoding_depth) for name in NAMES)


class _Deferred:
    """A decoder's function, its module imported on the first call."""

    __slots__ = ("_function", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._function: Callable[[bytes, Sequence[int], Limits], list[Derived]] | None = None

    def __call__(self, data: bytes, offsets: Sequence[int], limits: Limits) -> list[Derived]:
        if self._function is None:
            self._function = _load(self.name, DEFAULT_DEPTH).decode
        return self._function(data, offsets, limits)

    def __reduce__(self) -> tuple[type[_Deferred], tuple[str]]:
        return (_Deferred, (self.name,))


def _deferred(name: str) -> TextDecoder:
    triggers = DECODER_TRIGGERS.get(name)
    if triggers is None:  # a decoder newer than the table: correct, only not deferred
        return _load(name, DEFAULT_DEPTH)
    return TextDecoder(name, triggers, _Deferred(name))


TEXT_DECODERS: tuple[TextDecoder, ...] = tuple(_deferred(name) for name in NAMES)
"""Every text decoder for the default depth, each imported when first triggered."""

TRIGGERS: dict[str, tuple[bytes, ...]] = {d.name: d.triggers for d in TEXT_DECODERS}
"""Decoder name -> its trigger needles."""

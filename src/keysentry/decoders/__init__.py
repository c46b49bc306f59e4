"""Decoders: pure functions from bytes to decoded views and archive members.

Text decoders (:mod:`keysentry.decoders.registry`) run only where the scanner's single
literal search found one of their trigger needles, so bytes without a trigger cost them
nothing. Archives and compressed streams are recognised by their content, never by a
file name (:mod:`keysentry.decoders.magic`).

This package module imports nothing: each user imports the decoders it needs, so that
recognising a container's magic bytes does not load every decoder.
"""

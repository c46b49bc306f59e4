"""Find every occurrence of a set of literal byte strings in one pass.

This is the prefilter of the hot path: the rules' keywords and the decoders'
trigger needles are searched together, and nothing else runs on bytes that hold
none of them. Hyperscan does it in one SIMD pass (and releases the GIL, so
threads scan in parallel); without it, one ``bytes.find`` loop per needle.

Hyperscan is imported, and its database compiled, only once a search has seen more
than :data:`SMALL_JOB` bytes: that costs about 30 ms, more than ``bytes.find`` takes
over the few kilobytes a pre-commit hook usually scans.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

_DISABLE_ENV = "KEYSENTRY_NO_HYPERSCAN"
SMALL_JOB = 64 * 2**10
"""Bytes a search scans with ``bytes.find`` before it loads hyperscan."""


def _load_hyperscan() -> Any:
    if os.environ.get(_DISABLE_ENV):
        return None
    try:
        import hyperscan
    except ImportError:  # not available on this platform: the find() path serves
        return None
    return hyperscan


def _hex_escaped(needle: bytes) -> bytes:
    # Every byte as \xHH: the pattern reaches hyperscan as a C string, so a raw NUL
    # byte (UTF-16 needles have them) would cut it short.
    return b"".join(b"\\x%02x" % byte for byte in needle)


class LiteralSearch:
    """All (needle index, start offset) pairs of the needles in a buffer."""

    def __init__(self, needles: Sequence[bytes]) -> None:
        if not needles or any(not n for n in needles):
            raise ValueError("needles must be non-empty byte strings")
        self.needles = tuple(needles)
        self._lengths = tuple(len(n) for n in self.needles)
        self._hs: Any = None
        self._loaded = False
        self._small = 0
        """Bytes scanned with find() while the job looked small."""
        self._local = threading.local()

    @property
    def backend(self) -> str:
        """What searches beyond the first :data:`SMALL_JOB` bytes."""
        return "hyperscan" if self._load() is not None else "find"

    def _load(self) -> Any:
        if not self._loaded:
            self._hs = _load_hyperscan()
            self._loaded = True
        return self._hs

    def _hyperscan_for(self, size: int) -> Any:
        """Hyperscan, unless the job so far (this input included) is small."""
        if not self._loaded:
            self._small += size
            if self._small <= SMALL_JOB:
                return None
        return self._load()

    def _database(self) -> Any:
        # One database (with its scratch space) per thread: scratch is not shareable.
        db = getattr(self._local, "db", None)
        if db is None:
            hs = self._load()
            db = hs.Database(mode=hs.HS_MODE_BLOCK)
            db.compile(
                expressions=[_hex_escaped(n) for n in self.needles],
                ids=list(range(len(self.needles))),
                elements=len(self.needles),
                flags=[0] * len(self.needles),
            )
            self._local.db = db
        return db

    def scan(self, data: bytes) -> list[tuple[int, int]]:
        """Every occurrence, sorted by offset; overlapping occurrences included."""
        if not data:
            return []
        hs = self._hyperscan_for(len(data))
        if hs is None:
            return self._scan_find(bytes(data) if isinstance(data, memoryview) else data)
        found: list[tuple[int, int]] = []
        lengths = self._lengths

        def on_match(ident: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            found.append((ident, end - lengths[ident]))

        self._database().scan(data, match_event_handler=on_match)
        found.sort(key=lambda hit: hit[1])
        return found

    def _scan_find(self, data: bytes) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        for ident, needle in enumerate(self.needles):
            pos = data.find(needle)
            while pos != -1:
                found.append((ident, pos))
                pos = data.find(needle, pos + 1)
        found.sort(key=lambda hit: hit[1])
        return found

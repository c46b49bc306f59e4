"""Git objects -> hits, a whole block of objects at a time.

One literal search runs over a block read from ``git cat-file --batch`` (headers,
trees and all): the rules' keywords, the decoders' triggers, and the magic bytes of
archives and compressed streams. The full scanner then runs only on the blobs and
messages where that search found something. An object with none of these needles
cannot give a hit, because the scanner itself looks nowhere else: its decoders start
from the same needles, and archives are recognised by the same magic bytes.
"""

from __future__ import annotations

import bisect
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from operator import itemgetter
from typing import BinaryIO, cast

from keysentry.decoders.magic import (
    HEAD_SIZE,
    MAIL_NEEDLES,
    PDF_MAGIC,
    RTF_MAGIC,
    detect,
    inner_kind,
    is_headless_deflate,
)
from keysentry.literals import LiteralSearch
from keysentry.scanner import Scanner, Tally
from keysentry.sources.catfile import Block, LargeObject, ObjectEntry

MAGIC_AT_START = (
    b"\x1f\x8b\x08", b"BZh", b"\xfd7zXZ\x00", b"x\x01", b"x^", b"x\x9c", b"x\xda", RTF_MAGIC,
    b"From ",
)  # fmt: skip
MAGIC_IN_HEAD = (PDF_MAGIC, *MAIL_NEEDLES)
"""A PDF's header may be anywhere in the first 1024 bytes, and a mail's fields too."""
MAGIC_ANYWHERE = (b"PK\x03\x04", b"PK\x05\x06")
"""A zip may follow a prefix (self-extracting archives, zipapps with a shebang)."""
TAR_MAGIC = b"ustar"
TAR_MAGIC_AT = 257

BLOB, TREE, COMMIT, TAG = b"blob", b"tree", b"commit", b"tag"


@dataclass(frozen=True, slots=True)
class ObjectHits:
    """What the scanner found in one object (hits, or issues, or both)."""

    oid: str
    kind: str
    """blob, commit or tag."""
    tally: Tally
    """Hits in a commit's or tag's message have line numbers within the message."""


class ObjectScanner:
    """Scans blocks of objects; safe to call from several threads at once."""

    def __init__(self, scanner: Scanner, *, messages: bool = True) -> None:
        self.scanner = scanner
        self.messages = messages
        keywords = scanner.engine.search.needles
        self._first_magic = len(keywords)
        self._needles = (*keywords, *MAGIC_AT_START, *MAGIC_IN_HEAD, *MAGIC_ANYWHERE, TAR_MAGIC)
        self._search = LiteralSearch(self._needles)
        self._copy = self._search.backend != "hyperscan"  # the find() fallback needs bytes

    def scan_block(self, block: Block) -> tuple[list[ObjectHits], Counter[str]]:
        """Hits in a block, and what it held: counts and bytes per object type."""
        objects = block.objects
        totals = _totals(objects)
        data = block.data
        found = self._search.scan(bytes(data) if self._copy else data)  # type: ignore[arg-type]
        chosen: dict[int, None] = {}
        for i, (_oid, kind, start, end) in enumerate(objects):
            # A raw deflate stream has no magic bytes to search for: a blob is tried
            # (magic.detect's test) when its first bytes are not text.
            if kind == BLOB and is_headless_deflate(
                bytes(data[start : min(end, start + HEAD_SIZE)])
            ):
                chosen[i] = None
        if not found and not chosen:
            return [], totals
        starts = [entry[2] for entry in objects]
        for needle, offset in found:
            i = bisect.bisect_right(starts, offset) - 1
            if i < 0 or i in chosen:
                continue
            _oid, kind, start, end = objects[i]
            if offset >= end or not self._relevant(needle, offset - start, kind):
                continue
            chosen[i] = None
        results = []
        for i in chosen:
            oid, kind, start, end = objects[i]
            hits = self.scan_object(oid.decode(), kind, bytes(data[start:end]))
            if hits is not None:
                results.append(hits)
        return results, totals

    def _relevant(self, needle: int, at: int, kind: bytes) -> bool:
        if kind == TREE or (kind != BLOB and not self.messages):
            return False
        if needle < self._first_magic:
            return True
        if kind != BLOB:
            return False  # archives only matter in blobs
        magic = self._needles[needle]
        if magic in MAGIC_AT_START:
            return at == 0
        if magic in MAGIC_IN_HEAD:
            return at < HEAD_SIZE
        if magic == TAR_MAGIC:
            return at == TAR_MAGIC_AT
        return True

    def scan_object(self, oid: str, kind: bytes, content: bytes) -> ObjectHits | None:
        """Scan one object's content in full: a blob's bytes, a commit's or tag's message."""
        if kind == BLOB:
            return _result(oid, "blob", self.scanner.scan_bytes(content, oid))
        if kind in (COMMIT, TAG) and self.messages:
            _header, sep, message = content.partition(b"\n\n")
            if not sep:
                return None
            return _result(oid, kind.decode(), self.scanner.scan_bytes(message, oid))
        return None

    def scan_large(self, obj: LargeObject) -> ObjectHits | None:
        """An object too large to buffer: scanned from the stream in bounded memory."""
        oid = obj.oid.decode()
        stream = cast(BinaryIO, obj.stream)
        if obj.type == BLOB:
            head = obj.stream.peek(HEAD_SIZE)
            if detect(head) is None and inner_kind(head) is None:
                return _result(oid, "blob", self.scanner.scan_file(stream, oid))
            # Archives and documents (a PDF, a mail, an RTF) need random access: spool to
            # a temporary file, not to memory.
            with tempfile.TemporaryFile() as spool:
                shutil.copyfileobj(stream, spool, 2**20)
                spool.seek(0)
                return _result(oid, "blob", self.scanner.scan_file(spool, oid))
        if obj.type in (COMMIT, TAG) and self.messages:
            # A message this large is an attack or an accident; scan the whole object
            # rather than buffer it, at the price of line numbers counted from its top.
            return _result(oid, obj.type.decode(), self.scanner.scan_file(stream, oid))
        return None


def _totals(objects: list[ObjectEntry]) -> Counter[str]:
    """Objects per type, and blob bytes (counted in C where it matters: per object)."""
    kinds = Counter(map(itemgetter(1), objects))
    totals = Counter({kind.decode(): n for kind, n in kinds.items()})
    if kinds[BLOB]:
        totals["blob_bytes"] = sum(e - s for _o, k, s, e in objects if k == BLOB)
    return totals


def _result(oid: str, kind: str, tally: Tally) -> ObjectHits | None:
    if not tally.hits and not tally.issues:
        return None
    tally.counters.pop("bytes", None)  # bytes are counted once per object, by the caller
    return ObjectHits(oid, kind, tally)

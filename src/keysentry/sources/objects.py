"""Git objects -> hits, a whole block of objects at a time.

One literal search runs over a block read from ``git cat-file --batch`` (headers,
trees and all): the rules' keywords, the decoders' triggers, and the magic bytes of
archives and compressed streams. The full scanner then runs only on the parts of the
objects where that search found something: a blob, a commit's or tag's message, one
of its headers (an identity, ``encoding``, ``mergetag``, any other), or the name of a
tree entry (see names). An object with none of these needles cannot give a hit,
because the scanner itself looks nowhere else: its decoders start from the same
needles, and archives are recognised by the same magic bytes.
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
from keysentry.detect.literals import LiteralSearch
from keysentry.detect.scanner import Scanner, Tally
from keysentry.sources.catfile import Block, LargeObject, ObjectEntry
from keysentry.sources.names import IDENTITIES, Field, headers, tree_entries

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
HEADER_PEEK = 2**20
"""Of a commit or tag too large to buffer, the headers are read from this much of it."""

BLOB, TREE, COMMIT, TAG = b"blob", b"tree", b"commit", b"tag"


@dataclass(frozen=True, slots=True)
class ObjectHits:
    """What the scanner found in one part of one object (hits, or issues, or both)."""

    oid: str
    kind: str
    """blob; commit or tag (its message); or a name: tree-entry, ref-name, identity,
    commit-header, tag-header."""
    tally: Tally
    """Hits in a message or a name have line and column numbers within it."""
    part: str = ""
    """identity, commit-header, tag-header: the header's name (``author``, ``encoding``);
    tree-entry: the entry's name; ref-name: the ref's name (``surrogateescape`` text)."""
    target: str = ""
    """tree-entry: the object the entry names (its blob, tree or submodule commit)."""


class ObjectScanner:
    """Scans blocks of objects; safe to call from several threads at once."""

    def __init__(self, scanner: Scanner, *, messages: bool = True) -> None:
        self.scanner = scanner
        self.messages = messages
        keywords = scanner.engine.search.needles
        self._first_magic = len(keywords)
        self._needles = (*keywords, *MAGIC_AT_START, *MAGIC_IN_HEAD, *MAGIC_ANYWHERE, TAR_MAGIC)
        self._search = LiteralSearch(self._needles)
        self._words = LiteralSearch(keywords)
        self._copy = self._search.backend != "hyperscan"  # the find() fallback needs bytes
        self._names: dict[bytes, Tally] = {}
        """A name's scan, kept: the same file name is in every version of its tree."""

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
            results += self.scan_object(oid.decode(), kind, bytes(data[start:end]))
        return results, totals

    def _relevant(self, needle: int, at: int, kind: bytes) -> bool:
        if needle < self._first_magic:
            return True  # in a blob, a message, a header or a name
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

    def scan_object(self, oid: str, kind: bytes, content: bytes) -> list[ObjectHits]:
        """Scan one object in full: a blob's bytes; a commit's or tag's headers and
        message; a tree's entry names. Only the parts holding a needle are scanned."""
        if kind == BLOB:
            return _listed(_result(oid, "blob", self.scanner.scan_bytes(content, oid)))
        if kind == TREE:
            return self._tree(oid, content)
        if kind in (COMMIT, TAG):
            fields, message = headers(content)
            at = [offset for _needle, offset in self._words.scan(content)]
            out = self._headers(oid, kind, content, fields, at)
            if self.messages and message < len(content) and any(o >= message for o in at):
                tally = self.scanner.scan_bytes(content[message:], oid)
                out += _listed(_result(oid, kind.decode(), tally))
            return out
        return []

    def _headers(
        self, oid: str, kind: bytes, content: bytes, fields: list[Field], at: list[int]
    ) -> list[ObjectHits]:
        out: list[ObjectHits] = []
        other = "commit-header" if kind == COMMIT else "tag-header"
        for field in fields:
            if any(field.start <= o < field.end for o in at):
                tally = self.scanner.scan_bytes(content[field.start : field.end], oid)
                source = "identity" if field.name in IDENTITIES else other
                name = field.name.decode("utf-8", "surrogateescape")
                out += _listed(_result(oid, source, tally, name))
        return out

    def _tree(self, oid: str, content: bytes) -> list[ObjectHits]:
        at = sorted(offset for _needle, offset in self._words.scan(content))
        if not at:
            return []
        out: list[ObjectHits] = []
        for entry in tree_entries(content, len(oid) // 2):
            if entry.start > at[-1]:
                break
            i = bisect.bisect_left(at, entry.start)
            if i == len(at) or at[i] >= entry.end:
                continue
            tally = self.scan_name(entry.name, oid)
            name = entry.name.decode("utf-8", "surrogateescape")
            out += _listed(_result(oid, "tree-entry", tally, name, entry.target.hex()))
        return out

    def mentions(self, data: bytes) -> bool:
        """Whether ``data`` holds a needle: nothing else can hold a hit."""
        return bool(self._words.scan(data))

    def scan_name(self, name: bytes, label: str) -> Tally:
        """A name's hits (a tree entry's, a ref's); each distinct name is scanned once."""
        kept = self._names.get(name)
        if kept is None:
            kept = self._names[name] = self.scanner.scan_bytes(name, label)
            kept.counters.pop("bytes", None)
        return Tally(list(kept.hits), list(kept.issues), Counter(kept.counters))

    def scan_large(self, obj: LargeObject) -> list[ObjectHits]:
        """An object too large to buffer: scanned from the stream in bounded memory."""
        oid = obj.oid.decode()
        stream = cast(BinaryIO, obj.stream)
        if obj.type == BLOB:
            head = obj.stream.peek(HEAD_SIZE)
            if detect(head) is None and inner_kind(head) is None:
                return _listed(_result(oid, "blob", self.scanner.scan_file(stream, oid)))
            # Archives and documents (a PDF, a mail, an RTF) need random access: spool to
            # a temporary file, not to memory.
            with tempfile.TemporaryFile() as spool:
                shutil.copyfileobj(stream, spool, 2**20)
                spool.seek(0)
                return _listed(_result(oid, "blob", self.scanner.scan_file(spool, oid)))
        if obj.type == TREE:
            # A tree is names and ids: tens of bytes per entry, so even a directory of a
            # million files is a few tens of megabytes.
            return self._tree(oid, obj.stream.read())
        if obj.type in (COMMIT, TAG):
            head = obj.stream.peek(HEADER_PEEK)
            fields, message = headers(head)
            if message == len(head) and not head.endswith(b"\n\n"):
                # Headers over HEADER_PEEK are an attack or an accident: the whole object
                # is scanned from the stream (line numbers count from its top).
                tally = self.scanner.scan_file(stream, oid)
                return _listed(_result(oid, obj.type.decode(), tally))
            at = [offset for _needle, offset in self._words.scan(head[:message])]
            out = self._headers(oid, obj.type, head, fields, at)
            if self.messages:
                obj.stream.read(message)  # a large message: scanned from the stream
                tally = self.scanner.scan_file(stream, oid)
                out += _listed(_result(oid, obj.type.decode(), tally))
            return out
        return []


def _totals(objects: list[ObjectEntry]) -> Counter[str]:
    """Objects per type, and blob bytes (counted in C where it matters: per object)."""
    kinds = Counter(map(itemgetter(1), objects))
    totals = Counter({kind.decode(): n for kind, n in kinds.items()})
    if kinds[BLOB]:
        totals["blob_bytes"] = sum(e - s for _o, k, s, e in objects if k == BLOB)
    return totals


def _result(
    oid: str, kind: str, tally: Tally, part: str = "", target: str = ""
) -> ObjectHits | None:
    if not tally.hits and not tally.issues:
        return None
    tally.counters.pop("bytes", None)  # bytes are counted once per object, by the caller
    return ObjectHits(oid, kind, tally, part, target)


def _listed(hits: ObjectHits | None) -> list[ObjectHits]:
    return [] if hits is None else [hits]

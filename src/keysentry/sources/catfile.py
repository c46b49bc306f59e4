"""Parse ``git cat-file --batch`` output as a stream of large blocks.

The hot path of a history scan reads every object of a repository once. Doing
per-object work in Python would cost more than git's own inflating, so the
output is read into big recycled buffers and handed on a whole block at a time:
the consumer runs one literal search over the block and looks at single objects
only where it found something. Objects larger than a block are not buffered but
handed over as a stream that reads straight from the pipe (bounded memory).
"""

from __future__ import annotations

import io
import queue
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from keysentry.errors import GitError

BLOCK_SIZE = 4 * 2**20
LARGE = 2 * 2**20
"""Objects above this size are streamed, not buffered (BLOCK_SIZE must exceed it)."""
SHORT_READ = 2**16
"""A read from the pipe shorter than this means git is writing in small pieces."""
POOL = 4
"""Buffers in circulation: one being filled, the rest being scanned or waiting."""

_HEADER = re.compile(rb"([0-9a-f]{40,64}) ([a-z]+) ([0-9]+)\n")
_ANSWER = re.compile(rb"(\S+) (missing|ambiguous|excluded)")

ObjectEntry = tuple[bytes, bytes, int, int]
"""(oid, type, start, end): the object's content is ``block.data[start:end]``."""


@dataclass(slots=True)
class Block:
    """Consecutive small objects, in one buffer. Call :meth:`release` when done with it."""

    data: memoryview
    objects: list[ObjectEntry]
    _pool: queue.SimpleQueue[bytearray] | None = field(default=None, repr=False)
    _buffer: bytearray | None = field(default=None, repr=False)

    def release(self) -> None:
        if self._pool is not None and self._buffer is not None:
            self.data.release()
            self._pool.put(self._buffer)
            self._pool = self._buffer = None


@dataclass(slots=True)
class LargeObject:
    """An object too large to buffer; ``stream`` must be read (or drained) before the next."""

    oid: bytes
    type: bytes
    size: int
    stream: ObjectStream


@dataclass(frozen=True, slots=True)
class Missing:
    """An object asked for by name that the repository does not have."""

    oid: bytes
    reason: bytes


Item = Block | LargeObject | Missing


class ObjectStream(io.RawIOBase):
    """Exactly ``size`` bytes of one object: what was buffered, then straight from the pipe."""

    def __init__(self, prefix: bytes, size: int, raw: IO[bytes]) -> None:
        self._prefix = prefix
        self._remaining = size - len(prefix)
        self._raw = raw

    def readable(self) -> bool:
        return True

    def peek(self, size: int) -> bytes:
        """The next ``size`` bytes (fewer at the end), without consuming them."""
        if len(self._prefix) < size and self._remaining > 0:
            more = _read_exactly(self._raw, min(size - len(self._prefix), self._remaining))
            self._remaining -= len(more)
            self._prefix += more
        return self._prefix[:size]

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            data, self._prefix = self._prefix + _read_exactly(self._raw, self._remaining), b""
            self._remaining = 0
            return data
        if self._prefix:
            data, self._prefix = self._prefix[:size], self._prefix[size:]
            return data
        if self._remaining <= 0:
            return b""
        data = self._raw.read(min(size, self._remaining))
        if not data:
            raise GitError("git cat-file stopped in the middle of an object")
        self._remaining -= len(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def drain(self) -> None:
        """Skip whatever the consumer did not read, and the object's trailing newline."""
        self._prefix = b""
        while self._remaining > 0:
            self._remaining -= len(_read_exactly(self._raw, min(self._remaining, BLOCK_SIZE)))
        if _read_exactly(self._raw, 1) != b"\n":
            raise GitError("git cat-file output is malformed (no newline after an object)")


def _read_exactly(raw: IO[bytes], size: int) -> bytes:
    parts: list[bytes] = []
    while size > 0:
        chunk = raw.read(size)
        if not chunk:
            raise GitError("git cat-file stopped in the middle of an object")
        parts.append(chunk)
        size -= len(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)


class BatchReader:
    """Splits ``cat-file --batch`` output into :class:`Block`, :class:`LargeObject` and
    :class:`Missing` items. Memory is bounded by ``POOL`` buffers of ``block_size``:
    when every buffer is in use, reading waits for a consumer to release one."""

    def __init__(
        self,
        raw: IO[bytes],
        *,
        block_size: int = BLOCK_SIZE,
        large: int = LARGE,
        settle: float = 0.0,
    ) -> None:
        if block_size <= large + 4096:
            raise ValueError("block_size must exceed the large-object threshold")
        self._raw = raw
        self._settle = settle
        self._block_size = block_size
        self._large = large
        self._pool: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        self._allocated = 0

    def __iter__(self) -> Iterator[Item]:
        raw = self._raw
        settle = self._settle
        carry = b""
        eof = False
        while True:
            buf = self._buffer()
            view = memoryview(buf)
            filled = len(carry)
            view[:filled] = carry
            carry = b""
            while not eof and filled < len(buf):
                n = raw.readinto(view[filled:])  # type: ignore[attr-defined]
                if not n:
                    eof = True
                    break
                filled += n
                if settle and n < SHORT_READ:
                    # git writes every object header on its own: reading each one as it
                    # comes costs a wake-up per write on both sides. Letting the pipe
                    # fill up a little first costs neither (git does not block on it).
                    time.sleep(settle)
            view.release()
            objects, pos, large, missing = self._parse(buf, filled)
            if objects:
                yield Block(memoryview(buf)[:pos], objects, self._pool, buf)
            else:
                self._pool.put(buf)
            yield from missing
            if large is not None:
                oid, kind, size, start = large
                prefix = bytes(buf[start:filled])
                stream = ObjectStream(prefix, size, raw)
                yield LargeObject(oid, kind, size, stream)
                stream.drain()
                continue
            if pos < filled:
                if eof and not objects and not missing:
                    raise GitError("git cat-file output ended in the middle of an object")
                carry = bytes(buf[pos:filled])
            elif eof:
                return

    def _buffer(self) -> bytearray:
        """A free buffer; a new one only while fewer than POOL exist (a small output,
        such as a pre-commit hook's few blobs, never pays for more than one)."""
        if self._allocated < POOL:
            try:
                return self._pool.get_nowait()
            except queue.Empty:
                self._allocated += 1
                return bytearray(self._block_size)
        return self._pool.get()

    def _parse(
        self, buf: bytearray, filled: int
    ) -> tuple[list[ObjectEntry], int, tuple[bytes, bytes, int, int] | None, list[Missing]]:
        """Complete objects from the start of ``buf``; where parsing stopped; a large
        object starting there, if any; and the 'missing' answers met on the way."""
        objects: list[ObjectEntry] = []
        missing: list[Missing] = []
        append = objects.append
        match = _HEADER.match
        pos = 0
        while True:
            m = match(buf, pos, filled)
            if m is None:
                nl = buf.find(b"\n", pos, filled)
                if nl < 0:
                    return objects, pos, None, missing  # the header is not all here yet
                answer = _ANSWER.fullmatch(buf, pos, nl)
                if answer is None:
                    raise GitError(f"unexpected git cat-file output: {bytes(buf[pos:nl])[:200]!r}")
                if objects:  # keep the order: this block first, then the answer
                    return objects, pos, None, missing
                missing.append(Missing(answer[1], answer[2]))
                pos = nl + 1
                continue
            start = m.end()
            size = int(m[3])
            end = start + size
            if end < filled:  # the content and its newline are here
                append((m[1], m[2], start, end))
                pos = end + 1
                continue
            if size > self._large and not objects:
                return objects, pos, (m[1], m[2], size, start), missing
            return objects, pos, None, missing

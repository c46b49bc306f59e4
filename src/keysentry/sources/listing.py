"""The object listing: every object id, in pack order, with sizes.

``git cat-file --batch-all-objects --batch-check --unordered`` lists every unique
object without inflating anything. The ids (trees included: their entries' names are
content) go to a temporary file, not to memory. The first reader starts on the
listing while it is still being written; when it is complete, it is cut where
half of the content has been listed (or where the first reader already is, if
that is further) and the second reader takes the rest.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Iterator

from keysentry.git import run as gitio
from keysentry.git.run import RepoInfo
from keysentry.models import Issue

CHUNK = 2**16
"""The listing is read from git in pieces this big; parts are cut between pieces."""
FEED = 2**16
"""Ids handed to a reader at once. Small, so that how far the first reader has been
fed (a cut can come no earlier) stays close to how far git has read."""

_LISTED = re.compile(rb"^(blob|tree|commit|tag) ([0-9]+) ([0-9a-f]+)$", re.MULTILINE)
_UNREADABLE = re.compile(rb"^([0-9a-f]+) missing$", re.MULTILINE)


class Listing:
    """A growing file of object ids (one per line), shared by the readers."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._fd = self._file.fileno()
        self._cond = threading.Condition()
        self.written = 0
        """Bytes of ids written so far (always whole lines)."""
        self.content = 0
        """Content bytes of the objects listed so far."""
        self.checkpoints: list[tuple[int, int]] = [(0, 0)]
        """(offset, content listed before it) after each piece."""
        self.objects = 0
        """Objects listed."""
        self.blob_content = 0
        """Bytes of the blobs listed: the total a progress bar counts towards."""
        self.unreadable: list[Issue] = []
        self.done = False
        self.first_end: int | None = None
        """Where the first part ends; None while the listing is being written."""
        self._fed = 0

    def close(self) -> None:
        self._file.close()

    def fill(self, repo: RepoInfo, parts: int, parallel_min: int) -> None:
        """List the repository's objects; then decide where the first part ends."""
        args = [
            "cat-file", "--batch-all-objects", "--unordered",
            "--batch-check=%(objecttype) %(objectsize) %(objectname)",
        ]  # fmt: skip
        unreadable: list[str] = []
        try:
            with gitio.GitStream(args, repo.cwd) as proc:
                tail = b""
                while chunk := proc.stdout.read(CHUNK):
                    data = tail + chunk
                    cut = data.rfind(b"\n") + 1
                    lines, tail = data[:cut], data[cut:]
                    unreadable.extend(oid.decode() for oid in _UNREADABLE.findall(lines))
                    found = _LISTED.findall(lines)
                    if found:
                        self.objects += len(found)
                        self.blob_content += sum(
                            int(size) for kind, size, _oid in found if kind == b"blob"
                        )
                        ids = b"\n".join(oid for _kind, _size, oid in found) + b"\n"
                        self._append(ids, sum(int(size) for _kind, size, _oid in found))
                proc.finish()
                said = " ".join(proc.stderr_text().split())[:300] if unreadable else ""
        finally:
            self._finish(parts if self.content >= parallel_min else 1)
        self.unreadable = [
            Issue("corrupt-object", oid, f"git cannot read it: {said}") for oid in unreadable
        ]

    def _append(self, ids: bytes, content: int) -> None:
        os.pwrite(self._fd, ids, self.written)
        with self._cond:
            self.written += len(ids)
            self.content += content
            self.checkpoints.append((self.written, self.content))
            self._cond.notify_all()

    def _finish(self, parts: int) -> None:
        with self._cond:
            self.done = True
            end = self.written
            if parts > 1:
                goal = self.content // parts
                end = next(off for off, size in self.checkpoints if size >= goal)
            self.first_end = max(end, self._fed)
            self._cond.notify_all()

    def first(self) -> Iterator[bytes]:
        """The first part, handed out while the listing grows."""
        pos = 0
        while True:
            with self._cond:
                while not self.done and pos >= self.written:
                    self._cond.wait()
                end = self.written if self.first_end is None else self.first_end
                if pos >= end:
                    return
                data = os.pread(self._fd, min(FEED, end - pos), pos)
                if pos + len(data) < end:  # hand out whole lines: the cut may come here
                    data = data[: data.rfind(b"\n") + 1]
                pos += len(data)
                self._fed = pos
            yield data

    def rest(self) -> Iterator[bytes]:
        """What the first part left, once the listing is complete."""
        with self._cond:
            while not self.done:
                self._cond.wait()
            pos = self.first_end or 0
            end = self.written
        while pos < end:
            data = os.pread(self._fd, min(FEED, end - pos), pos)
            if not data:
                return
            pos += len(data)
            yield data

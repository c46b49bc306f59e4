"""Purge's check, independent of the scanner: a literal search for each purged key.

After the rewrite, every object of the result (``git cat-file --batch-all-objects
--batch``: contents, trees with their names, commit and tag headers), every ref name
and symbolic ref target, and every file under the git directory (names and contents;
``packed-refs``, ``config``, reflogs, whatever else is there) is searched for each key,
raw and in every form of :data:`FORMS`. None of this asks the scanner, its rules or its
decoders: a place the scanner does not read (a name it was never taught about, a file
git keeps beside the objects) cannot hide a key from this check.

Loose object files and pack files are not read as files: they are compressed, and
their objects are what ``cat-file`` reads.

What is searched for is the key's *core* (:func:`core`): for an OpenRouter key the 64
hex digits after ``sk-or-v1-``, which alone are the secret, so an edited prefix or a
key cut in front of its core is still found.
"""

from __future__ import annotations

import base64
import bisect
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, cast

from keysentry.detect.literals import LiteralSearch
from keysentry.git import run as gitio
from keysentry.git.run import RepoInfo
from keysentry.sources.catfile import BatchReader, Block, LargeObject

CHUNK = 4 * 2**20
CORE_MIN = 32
"""A key whose part after its last ``-`` is shorter than this is searched for whole."""
PIECE = 12
"""Each needle is also searched in overlapping pieces, each the encoding of this many
bytes of the key's core (for an OpenRouter key, 48 bits: no false match in any real
repository), one every :data:`STEP` bytes: so a key cut anywhere into parts (a line
wrapped by ``base64`` or ``xxd -p``, a string concatenated) is found as long as one part
holds PIECE + STEP - 1 bytes of it."""
STEP = 4


def core(secret: str) -> bytes:
    """The part of a key that is secret: after the last ``-`` when that part is long."""
    _prefix, _sep, tail = secret.rpartition("-")
    return (tail if len(tail) >= CORE_MIN else secret).encode("utf-8", "surrogateescape")


def _stable_base64(data: bytes, encode: Callable[[bytes], bytes]) -> list[bytes]:
    """The base64 characters that depend on ``data`` alone, at each of the 3 alignments
    ``data`` can have in a longer encoded text."""
    out = []
    for lead in range(3):
        encoded = encode(bytes(lead) + data + bytes(2))
        first = -(-8 * lead // 6)  # the first character made of ``data``'s bits only
        last = 8 * (lead + len(data)) // 6
        out.append(encoded[first:last])
    return out


def _each(*templates: str) -> Callable[[bytes], list[bytes]]:
    return lambda c: ["".join(t.format(b=b) for b in c).encode() for t in templates]


def _joined(template: str, sep: str) -> Callable[[bytes], list[bytes]]:
    return lambda c: [sep.join(template.format(b=b) for b in c).encode()]


def _base64(c: bytes) -> list[bytes]:
    return [*_stable_base64(c, base64.b64encode), *_stable_base64(c, base64.urlsafe_b64encode)]


def _grouped(c: bytes) -> list[bytes]:
    """``xxd``'s layout: two bytes per group, the key starting at either byte of one."""
    digits = c.hex()
    return [
        " ".join(digits[max(0, i) : i + 4] for i in range(-2 * lead, len(digits), 4)).encode()
        for lead in (0, 1)
    ]


@dataclass(frozen=True, slots=True)
class Form:
    name: str
    encode: Callable[[bytes], list[bytes]]
    """The key's core -> its encodings (several when its alignment or letter case
    changes them)."""


FORMS: tuple[Form, ...] = (
    Form("raw", lambda c: [c]),
    Form("base64", _base64),
    Form("base64 of base64", lambda c: [n for inner in _base64(c) for n in _base64(inner)]),
    Form("hex", lambda c: [c.hex().encode(), c.hex().upper().encode()]),
    Form("UTF-16", lambda c: [c.decode("latin-1").encode(f"utf-16-{o}") for o in ("le", "be")]),
    Form("%xx", _each("%{b:02x}", "%{b:02X}")),
    Form("%25xx", _each("%25{b:02x}", "%25{b:02X}")),
    Form("\\u00xx", _each("\\u{b:04x}", "\\u{b:04X}")),
    Form("\\u{xx}", _each("\\u{{{b:x}}}", "\\u{{{b:X}}}")),
    Form("\\U000000xx", _each("\\U{b:08x}", "\\U{b:08X}")),
    Form("\\xhh", _each("\\x{b:02x}", "\\x{b:02X}")),
    Form("\\ooo", _each("\\{b:03o}")),
    Form("&#ddd;", _each("&#{b};")),
    Form("&#xhh;", _each("&#x{b:x};", "&#x{b:X};", "&#X{b:x};", "&#X{b:X};")),
    Form("&amp;#ddd;", _each("&amp;#{b};")),
    Form("hex dump", _joined("{b:02x}", " ")),
    Form("hex dump with colons", _joined("{b:02x}", ":")),
    Form("xxd groups", _grouped),
    Form("C byte array", _joined("0x{b:02x}", ", ")),
)
"""Every form searched for: raw, and each encoding the scanner decodes (base64 in both
alphabets at its 3 alignments, and twice; hex; UTF-16 in both byte orders; percent,
backslash and HTML escapes, in both letter cases; hex dumps). tests/purge/test_purge_verify.py
has examples of each that only its entry finds."""

_RANK = {form.name: i for i, form in enumerate(FORMS)}


@dataclass(frozen=True, slots=True)
class Needle:
    data: bytes
    secret: str
    form: str


def pieces(encoded: bytes, core_size: int) -> list[bytes]:
    """``encoded`` (of a core of ``core_size`` bytes) whole, and in overlapping pieces of
    :data:`PIECE` core bytes each, :data:`STEP` apart."""
    if core_size < 2 * PIECE:
        return [encoded]
    width = max(1, round(len(encoded) * PIECE / core_size))
    step = max(1, round(len(encoded) * STEP / core_size))
    starts = [*range(0, len(encoded) - width + 1, step), len(encoded) - width]
    return [encoded, *dict.fromkeys(encoded[i : i + width] for i in starts)]


def needles(secrets: Iterable[str], forms: Sequence[Form] = FORMS) -> list[Needle]:
    """Each secret's needles, each once (forms that coincide for a key are searched once)."""
    seen: dict[bytes, Needle] = {}
    for secret in secrets:
        c = core(secret)
        for form in forms:
            for encoded in form.encode(c):
                for data in pieces(encoded, len(c)):
                    if len(data) >= 8 and data not in seen:
                        seen[data] = Needle(data, secret, form.name)
    return list(seen.values())


@dataclass(frozen=True, slots=True)
class Left:
    """A purged key found by the literal search (``place`` holds no key)."""

    secret: str
    place: str
    form: str
    oid: str = ""
    """For an object: its id."""


@dataclass(slots=True)
class Searched:
    """What the search read: the report says so next to its verdict."""

    objects: int = 0
    refs: int = 0
    files: int = 0
    forms: int = len(FORMS)
    unreadable: list[str] = field(default_factory=list)
    """Files that could not be read: the check is incomplete."""


class Finder:
    """One literal search for every needle; places are reported with any needle hidden."""

    def __init__(self, found: Sequence[Needle]) -> None:
        self.needles = found
        self._search = LiteralSearch([n.data for n in found])
        self._copy = self._search.backend != "hyperscan"  # the find() fallback needs bytes
        self.overlap = max(len(n.data) for n in found) - 1
        self.left: dict[tuple[str, str], Left] = {}
        self.unreadable: list[str] = []

    def scan(self, data: bytes | memoryview) -> list[tuple[Needle, int]]:
        if self._copy and not isinstance(data, bytes):
            data = bytes(data)
        found = self._search.scan(data)  # type: ignore[arg-type]  # hyperscan reads views
        return [(self.needles[i], offset) for i, offset in found]

    def note(self, needle: Needle, place: str, oid: str = "") -> None:
        """Record a find; of several forms found at one place, the first of FORMS."""
        shown = self.hide(place)
        known = self.left.get((needle.secret, shown))
        if known is None or _RANK[needle.form] < _RANK[known.form]:
            self.left[needle.secret, shown] = Left(needle.secret, shown, needle.form, oid)

    def hide(self, text: str) -> str:
        """``text`` with every stretch any needle covers (pieces overlap: their union)
        replaced by ``<purged key>``."""
        raw = text.encode("utf-8", "surrogateescape")
        spans = sorted((at, at + len(needle.data)) for needle, at in self.scan(raw))
        out, pos = bytearray(), 0
        for start, end in spans:
            if end <= pos:
                continue
            if start > pos:
                out += raw[pos:start] + b"<purged key>"
            elif not out.endswith(b"<purged key>"):
                out += b"<purged key>"
            pos = end
        out += raw[pos:]
        return bytes(out).decode("utf-8", "surrogateescape")

    def stream(self, read: Callable[[int], bytes], place: str, oid: str = "") -> None:
        """Search a stream in chunks that overlap by a needle's length."""
        tail = b""
        while chunk := read(CHUNK):
            data = tail + chunk
            for needle, _offset in self.scan(data):
                self.note(needle, place, oid)
            tail = data[-self.overlap :] if self.overlap else b""


def search(repo: RepoInfo, secrets: Sequence[str]) -> tuple[list[Left], Searched]:
    """Every place the keys are still in, in ``repo`` (objects, refs, files)."""
    searched = Searched()
    if not secrets:
        return [], searched
    finder = Finder(needles(secrets))
    searched.objects = _objects(repo, finder)
    searched.refs = _refs(repo, finder)
    searched.files = _files(repo, finder)
    searched.unreadable = finder.unreadable
    return list(finder.left.values()), searched


def _objects(repo: RepoInfo, finder: Finder) -> int:
    args = ["cat-file", "--batch-all-objects", "--unordered", "--batch"]
    count = 0
    with gitio.GitStream(args, repo.cwd) as proc:
        for item in BatchReader(proc.stdout):
            if isinstance(item, Block):
                try:
                    count += len(item.objects)
                    _block(item, finder)
                finally:
                    item.release()
            elif isinstance(item, LargeObject):
                count += 1
                place = f"object {item.oid.decode()} ({item.type.decode()})"
                stream = cast(BinaryIO, item.stream)
                finder.stream(stream.read, place, item.oid.decode())
        proc.finish()
    return count


def _block(block: Block, finder: Finder) -> None:
    found = finder.scan(block.data)
    if not found:
        return
    starts = [entry[2] for entry in block.objects]
    for needle, offset in found:
        i = bisect.bisect_right(starts, offset) - 1
        if i < 0:
            continue
        oid, kind, _start, end = block.objects[i]
        if offset + len(needle.data) <= end:
            finder.note(needle, f"object {oid.decode()} ({kind.decode()})", oid.decode())


def _refs(repo: RepoInfo, finder: Finder) -> int:
    """Every ref's name and, for a symbolic ref, the name it points at."""
    out = gitio.run_git(
        ["for-each-ref", "--format=%(refname)%00%(symref)%00"], repo.cwd
    ).stdout.split(b"\0")
    names = [out[i].lstrip(b"\n") for i in range(0, len(out) - 1, 2)]
    targets = [out[i + 1] for i in range(0, len(out) - 1, 2)]
    for name, target in zip(names, targets, strict=True):
        for needle, _offset in finder.scan(name + b"\n" + target):
            finder.note(needle, f"ref {name.decode('utf-8', 'surrogateescape')}")
    return len(names)


_LOOSE = re.compile(r"objects/[0-9a-f]{2}/[0-9a-f]{38,62}")
_PACK = re.compile(r"objects/pack/[^/]+\.pack")


def _files(repo: RepoInfo, finder: Finder) -> int:
    """Every file under the git directory: its name, and its content unless it is an
    object or a pack (compressed: ``cat-file`` read what they hold)."""
    count = 0
    roots = dict.fromkeys([repo.common_dir, repo.git_dir])
    for root in roots:
        for path, rel, mode in _walk(root, finder):
            count += 1
            place = f"file {rel}" if rel else f"{root}"
            for needle, _offset in finder.scan(os.fsencode(rel)):
                finder.note(needle, f"the name of {place}")
            if stat.S_ISLNK(mode):
                for needle, _offset in finder.scan(os.fsencode(os.readlink(path))):
                    finder.note(needle, f"the target of the link {place}")
            elif stat.S_ISREG(mode) and not (_LOOSE.fullmatch(rel) or _PACK.fullmatch(rel)):
                _file(path, place, finder)
    return count


def _walk(root: Path, finder: Finder) -> Iterator[tuple[Path, str, int]]:
    """Every entry below ``root`` (symbolic links not followed, nothing but regular
    files opened): its path, its path relative to ``root``, its mode (0 when it cannot
    be known: listed as unreadable)."""
    pending = [root]
    while pending:
        directory = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError as exc:
            finder.unreadable.append(finder.hide(f"directory {directory}: {exc.strerror or exc}"))
            continue
        for entry in entries:
            path = Path(entry.path)
            rel = path.relative_to(root).as_posix()
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except FileNotFoundError:
                continue  # gone meanwhile
            except OSError as exc:
                # Listed in a directory that cannot be searched: its name is all there is.
                finder.unreadable.append(finder.hide(f"file {rel}: {exc.strerror or exc}"))
                mode = 0
            yield path, rel, mode
            if stat.S_ISDIR(mode):
                pending.append(path)


def _file(path: Path, place: str, finder: Finder) -> None:
    try:
        # O_NOFOLLOW and O_NONBLOCK: a file swapped for a link or a FIFO meanwhile is
        # neither followed nor waited on.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        finder.unreadable.append(f"{finder.hide(place)}: {exc.strerror or exc}")
        return
    with os.fdopen(fd, "rb", buffering=0) as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return
        finder.stream(fh.read, place)

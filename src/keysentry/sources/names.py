"""Names are content: where, inside a tree, commit or tag object, a name or header sits.

A key can be committed without being in any file: as a file or directory name (a tree
entry), in an author's or committer's name or e-mail (an identity), or in a commit's or
tag's other headers (``encoding``, ``mergetag``, a tag's ``tag`` name, a header git does
not know). These functions cut objects into those fields, so that the scanner reads each
field on its own and a hit says which field it is in. Pure functions of bytes.

Every header is read, the signature headers (``gpgsig``, ``gpgsig-sha256``) too: git
never checks what they hold when it writes an object, and reading them costs nothing
more (only objects the literal search marked are cut at all).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

IDENTITIES = frozenset({b"author", b"committer", b"tagger"})
"""Headers that name a person: ``Name <email> time zone``."""


@dataclass(frozen=True, slots=True)
class Field:
    """One named part of an object: its bytes are ``content[start:end]``."""

    name: bytes
    """A header's name (``author``, ``encoding``, ``x-anything``), or a tree entry's
    own name."""
    start: int
    end: int
    target: bytes = b""
    """Tree entries: the id (raw bytes) of the object the entry names."""


def tree_entries(content: bytes, oid_size: int) -> Iterator[Field]:
    """A tree's entries (``<mode> <name>\\0<raw id>``): the span of each name.

    Stops at the first malformed entry: git would not read the rest either, and the
    tree's bytes were still searched whole."""
    pos, size = 0, len(content)
    while pos < size:
        space = content.find(b" ", pos, pos + 8)
        nul = content.find(b"\0", space + 1) if space > 0 else -1
        if nul < 0 or nul + 1 + oid_size > size:
            return
        yield Field(content[space + 1 : nul], space + 1, nul, content[nul + 1 : nul + 1 + oid_size])
        pos = nul + 1 + oid_size


def headers(content: bytes) -> tuple[list[Field], int]:
    """The header fields of a commit or tag, and where its message starts (the length
    of ``content`` when there is none). A field spans its whole line (name included:
    an unknown header's name is the repository's text too) and its continuation lines
    (each starts with a space: ``mergetag``, ``gpgsig``)."""
    end = content.find(b"\n\n")
    header_end = len(content) if end < 0 else end
    message = len(content) if end < 0 else end + 2
    fields: list[Field] = []
    pos = 0
    while pos < header_end:
        nl = content.find(b"\n", pos, header_end)
        line_end = header_end if nl < 0 else nl
        if content.startswith(b" ", pos) and fields:
            last = fields[-1]
            fields[-1] = Field(last.name, last.start, line_end)
        else:
            name = content[pos:line_end].partition(b" ")[0]
            fields.append(Field(name, pos, line_end))
        pos = line_end + 1
    return fields, message

"""Names are content in a work tree and in the index too.

A file or directory whose name holds a key publishes the key with the commit that adds it,
whatever the file holds (``history`` reads the same names as tree entries). ``scan``,
``staged`` and the commit hook read each input's shown path as text of its own: a hit is a
location with ``source`` ``file-name``, line 1, its column counted in the shown path.

All the names of a scan are searched at once first (one literal search over them joined):
a tree without a needle in any name, which is every ordinary tree, costs one pass over its
names and no scanner call per file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from keysentry.detect.scanner import Scanner, Tally
from keysentry.findings.build import InputContext
from keysentry.models import GitStatus

SOURCE = "file-name"


def scan_names(
    scanner: Scanner, names: Iterable[tuple[str, GitStatus | None]]
) -> list[tuple[Tally, InputContext]]:
    """What the scanner finds in the shown paths (with their git status): a tally and
    where, per file or directory name that holds something."""
    listed = list(names)
    if not listed:
        return []
    joined = b"\n".join(os.fsencode(path) for path, _ in listed)
    if not scanner.engine.hits(joined):
        return []
    by_name: dict[str, tuple[Tally, InputContext]] = {}
    seen: set[tuple[str, int, str]] = set()
    for path, status in listed:
        data = os.fsencode(path)
        if not scanner.engine.hits(data):
            continue
        for hit in scanner.scan_bytes(data, path).hits:
            # A key in a directory's name is in the path of every file below it: it is
            # reported once, at the directory (the path up to the component holding it).
            end = path.find("/", hit.column - 1)
            name = path if end < 0 else path[:end]
            if (name, hit.column, hit.secret) in seen:
                continue
            seen.add((name, hit.column, hit.secret))
            if name not in by_name:
                by_name[name] = (Tally(), InputContext(name, SOURCE, status if end < 0 else None))
            by_name[name][0].hits.append(hit)  # its snippet: the path, keys redacted
    return list(by_name.values())

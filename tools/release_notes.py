"""Check that a release tag matches the version and the changelog; print the release notes.

    python tools/release_notes.py --tag v0.1.0 [--output FILE]

The version is written once, in ``src/keysentry/__init__.py``; a tag ``vX.Y.Z`` is released
only when that version is X.Y.Z and CHANGELOG.md has a ``## [X.Y.Z] - YYYY-MM-DD`` section,
whose text becomes the release notes. Exit 0 with the notes, 1 with what is wrong. Reads
the files as text (it runs before keysentry is installed).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_VERSION = re.compile(r'^__version__ = "([^"]+)"$', re.MULTILINE)
_HEADING = re.compile(r"^## \[([^\]]+)\](.*)$", re.MULTILINE)
_DATED = re.compile(r" - \d{4}-\d{2}-\d{2}$")


def version(root: Path = ROOT) -> str:
    found = _VERSION.search((root / "src" / "keysentry" / "__init__.py").read_text("utf-8"))
    if found is None:
        raise SystemExit("src/keysentry/__init__.py does not set __version__")
    return found.group(1)


def notes(changelog: str, wanted: str) -> str:
    """The body of the changelog's ``## [wanted] - date`` section."""
    headings = list(_HEADING.finditer(changelog))
    for i, heading in enumerate(headings):
        if heading.group(1) != wanted:
            continue
        if not _DATED.fullmatch(heading.group(2)):
            raise ValueError(f"CHANGELOG.md: the [{wanted}] heading has no date (' - YYYY-MM-DD')")
        end = headings[i + 1].start() if i + 1 < len(headings) else len(changelog)
        body = changelog[heading.end() : end].strip()
        if not body:
            raise ValueError(f"CHANGELOG.md: the [{wanted}] section is empty")
        return body + "\n"
    raise ValueError(
        f"CHANGELOG.md has no [{wanted}] section: move the Unreleased changes under it"
    )


def check(tag: str, root: Path = ROOT) -> str:
    current = version(root)
    if tag != f"v{current}":
        raise ValueError(f"tag {tag} does not name the version in __init__.py (v{current})")
    return notes((root / "CHANGELOG.md").read_text("utf-8"), current)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tag", required=True, help="the tag being released (vX.Y.Z)")
    parser.add_argument("--output", type=Path, help="write the notes here (default: stdout)")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        text = check(args.tag, args.root)
    except ValueError as exc:
        print(f"release_notes: {exc}", file=sys.stderr)
        return 1
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

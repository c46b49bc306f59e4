"""The program ``keysentry purge`` runs: git-filter-repo, as a library, with callbacks.

Started as ``python -I -m keysentry.purge.callbacks`` in the repository being
rewritten (:func:`keysentry.purge.filter_repo.rewrite`). ``-I`` keeps the interpreter from
looking for modules in the working directory (a ``git_filter_repo.py`` committed to the
repository would run instead of git-filter-repo) or in ``PYTHON*`` variables.

The plan (keys, marker, ref renames, paths to drop) arrives as JSON on standard input,
so the keys are never in a file, on a command line, or in the environment. Callbacks
replace each key by the marker in blobs (not in binary ones: git-filter-repo's own
``--replace-text`` rule, a NUL in the first 8 KiB), file and directory names, commit and
tag messages, author, committer and tagger names and e-mails, ref names, and the
``encoding`` header git could not re-encode from. Headers git-filter-repo cannot
express (``mergetag``, signatures, unknown ones) are dropped from every commit it
writes.

The plan names a pipe whose other end only the parent holds: when the parent dies,
the pipe reads end-of-file and this process ends at once, instead of rewriting on its
own with the keys in memory.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

BINARY_PROBE = 8192
"""git-filter-repo's own test: a NUL byte in a blob's first 8 KiB makes it binary, and its
``--replace-text`` leaves binary blobs alone; so do these callbacks (an edit would break
the file's format)."""
OPTIONS = (
    "--force", "--partial", "--quiet", "--replace-refs", "update-no-add",
    # The same commits before and after: a commit that only added a removed file stays,
    # empty, with its message.
    "--prune-empty", "never", "--prune-degenerate", "never",
)  # fmt: skip
NOT_INSTALLED = 3
"""Exit status when git-filter-repo cannot be imported (the parent says so plainly)."""


def replacer(keys: Sequence[bytes], marker: bytes) -> Callable[[bytes], bytes]:
    """bytes -> the same with every key replaced by ``marker`` (longest key first)."""
    ordered = sorted(set(keys), key=len, reverse=True)
    common = _common_prefix(ordered)
    quick = common if len(common) >= 4 else b""

    def replace(data: bytes) -> bytes:
        if not data or (quick and quick not in data):
            return data
        for key in ordered:
            if key in data:
                data = data.replace(key, marker)
        return data

    return replace


def _common_prefix(items: Sequence[bytes]) -> bytes:
    """What every item starts with: a blob without it holds no key (one fast search)."""
    if not items:
        return b""
    first, last = min(items), max(items)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]


def callbacks(plan: dict[str, Any]) -> dict[str, Callable[..., Any]]:
    """git-filter-repo's callbacks for a plan (see the module's docstring)."""
    keys = [k.encode() for k in plan["keys"]]
    replace = replacer(keys, plan["replacement"].encode())
    # The marker as each kind of name can hold it: a '/' would add a directory to a path,
    # a '<' or '>' would end an identity's name or e-mail early.
    path_replace = replacer(keys, plan["replacement"].replace("/", "_").encode())
    person_replace = replacer(keys, re.sub("[<>]", "_", plan["replacement"]).encode())
    ref_replace = replacer(keys, plan["ref_marker"].encode())
    renames = {bytes.fromhex(old): bytes.fromhex(new) for old, new in plan["refs"]}
    removed = {bytes.fromhex(path) for path in plan["remove"]}

    def blob(blob: Any, _metadata: Any) -> None:
        if b"\0" not in blob.data[:BINARY_PROBE]:
            blob.data = replace(blob.data)

    def filename(name: bytes) -> bytes | None:
        return None if name in removed else path_replace(name)

    def refname(ref: bytes) -> bytes:
        return renames.get(ref) or ref_replace(ref)

    def commit(commit: Any, _metadata: Any) -> None:
        if commit.encoding:  # an encoding git could not re-encode from is kept as it is
            commit.encoding = ref_replace(commit.encoding)

    return {
        "blob_callback": blob,
        "filename_callback": filename,
        "message_callback": replace,
        "name_callback": person_replace,
        "email_callback": person_replace,
        "refname_callback": refname,
        "commit_callback": commit,
    }


def _die_with_parent(fd: int) -> None:
    def watch() -> None:
        try:
            while os.read(fd, 4096):
                pass
        except OSError:
            pass
        os._exit(70)

    threading.Thread(target=watch, daemon=True).start()


def main() -> int:
    plan = json.loads(sys.stdin.buffer.read())
    _die_with_parent(plan["parent_fd"])
    try:
        import git_filter_repo
    except ImportError:
        print("git-filter-repo is not installed: `pip install git-filter-repo`", file=sys.stderr)
        return NOT_INSTALLED
    args = git_filter_repo.FilteringOptions.parse_args(list(OPTIONS))
    git_filter_repo.RepoFilter(args, **callbacks(plan)).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

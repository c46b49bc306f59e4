"""Where a target is and where its configuration lives: its real path, its repository
root, and the configuration file there.

:mod:`keysentry.config` reads and checks the file; this module only finds it, with
:mod:`os` alone, so that the commit hook's screen can tell whether a configuration
applies before it imports anything that could parse one.
"""

from __future__ import annotations

import os
import sys

from keysentry.regular import read_regular

DOTFILE = ".keysentry.toml"
PYPROJECT = "pyproject.toml"


def target_key(target: str) -> str:
    """The real path of ``target`` with its last component not resolved (a symbolic link
    named as a target stays a link): two names of one target have one key."""
    absolute = os.path.abspath(target)
    head, tail = os.path.split(absolute)
    return os.path.join(os.path.realpath(head), tail) if tail else absolute


def repository_root(path: str) -> str:
    """The directory whose configuration applies to ``path``.

    The top of the git work tree holding it, or a bare repository's directory; else the
    directory itself (for a file, the directory holding it). No git is run: a ``.git``
    entry (a directory, or the file of a worktree or submodule) marks a work tree, and
    ``HEAD`` + ``objects/`` + ``refs/`` mark a git directory, as git itself checks."""
    real = os.path.realpath(path)
    directory = real if os.path.isdir(real) else os.path.dirname(real)
    here = directory
    while True:
        if os.path.lexists(os.path.join(here, ".git")) or is_git_dir(here):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return directory
        here = parent


def is_git_dir(path: str) -> bool:
    return (
        os.path.isfile(os.path.join(path, "HEAD"))
        and os.path.isdir(os.path.join(path, "objects"))
        and os.path.isdir(os.path.join(path, "refs"))
    )


def may_hold_config(root: str) -> bool:
    """Whether a configuration file may apply in ``root``: False only when the built-in
    defaults surely do (no ``.keysentry.toml``, and no ``[tool.keysentry]`` table in
    ``pyproject.toml``). A pyproject.toml is parsed only when it mentions keysentry (a
    dependency list may, without configuring it), or holds an escape
    (:func:`pyproject_may_configure`); unreadable or invalid counts as may, so that the
    configuration's reader says what is wrong."""
    if os.path.lexists(os.path.join(root, DOTFILE)):
        return True
    pyproject = os.path.join(root, PYPROJECT)
    if not os.path.lexists(pyproject):
        return False
    try:
        data = read_regular(pyproject)
    except OSError:  # a FIFO or device too: the configuration's reader says what it is
        return True
    if not pyproject_may_configure(data):
        return False
    # Only now: it costs more than the rest of the screen's imports.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    try:
        tool = tomllib.loads(data.decode("utf-8")).get("tool")
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return True
    if tool is None:
        return False
    return not isinstance(tool, dict) or "keysentry" in tool


_ESCAPES = (b"\\u", b"\\U", b"\\x")
"""The TOML escapes that can spell a letter (``\\x``: TOML 1.1)."""


def pyproject_may_configure(data: bytes) -> bool:
    """Whether a pyproject.toml holding ``data`` could configure keysentry, decided without
    parsing it. A TOML key is a bare word, a literal string (its bytes as they are) or a
    basic string, where an escape can spell any letter (``[tool."k\\u0065ysentry"]``):
    without the bytes ``keysentry`` and without such an escape, no key of the file is
    ``keysentry``. The configuration's reader (keysentry.config) parses only a file this
    answers True for, so that the hook's screen and the pipeline agree on every
    pyproject.toml, a broken one included (one that cannot configure keysentry is not
    keysentry's to refuse)."""
    return b"keysentry" in data or any(escape in data for escape in _ESCAPES)

"""What to audit: local repositories, directories of repositories, and clone URLs.

A directory is walked for repositories (a ``.git`` entry, or the layout of a bare
repository) down to a bounded depth; symbolic links are never followed and a
repository found is not descended into. URLs are checked before anything runs:
only https, ssh (``ssh://`` or ``user@host:path``), git and file; option-like URLs
and git's ``transport::address`` forms (``ext::`` runs a command) are refused.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from keysentry.errors import UsageError

SCHEMES = ("https", "ssh", "git", "file")
_SCP_LIKE = re.compile(r"^[A-Za-z0-9._~-]+@[A-Za-z0-9.-]+:(?!//)[^\s]+$")
_URL_KEYS = ("sshUrl", "url", "http_url_to_repo", "ssh_url_to_repo", "clone_url")
"""Keys of the listings people pipe in: ``gh repo list --json url,sshUrl`` (sshUrl first:
it needs no token prompt), GitLab's project API, Gitea's."""


@dataclass(frozen=True, slots=True)
class Target:
    """One repository to audit."""

    name: str
    """Its identity in the store and the report: the absolute path, or the URL without
    any credentials in it."""
    url: str | None = None
    """The clone URL (credentials kept: git needs them); None for a local repository."""

    @property
    def path(self) -> Path:
        return Path(self.name)


def is_url(text: str) -> bool:
    return "://" in text or "::" in text or bool(_SCP_LIKE.match(text))


def check_url(url: str) -> None:
    """Refuse what git would turn into an option or a command, and unknown transports."""
    if url.startswith("-"):
        raise UsageError(f"refusing the option-like URL {url!r}")
    if "::" in url.split("://", 1)[0] or url.lower().startswith("ext:"):
        raise UsageError(f"refusing {url!r}: git's transport::address form (ext:: runs a command)")
    if _SCP_LIKE.match(url):
        return
    scheme = urlsplit(url).scheme.lower()
    if scheme not in SCHEMES:
        raise UsageError(
            f"refusing {url!r}: only {', '.join(SCHEMES)} URLs (and user@host:path) are cloned"
        )


def public_name(url: str) -> str:
    """The URL without a user's password or token (it may sit in ``https://user:tok@``)."""
    if _SCP_LIKE.match(url):
        return url
    parts = urlsplit(url)
    if parts.password is None and not (parts.username and parts.scheme == "https"):
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def read_repos_file(text: str) -> list[str]:
    """One target per line (``#`` starts a comment), or a JSON listing of repositories."""
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise UsageError(
                f"--repos-file: not valid JSON ({exc.msg} at line {exc.lineno})"
            ) from None
        items = data if isinstance(data, list) else [data]
        found = []
        for item in items:
            url = next((item[k] for k in _URL_KEYS if isinstance(item, dict) and item.get(k)), None)
            if not isinstance(url, str):
                raise UsageError(
                    "--repos-file: a JSON entry without a clone URL "
                    f"(expected one of {', '.join(_URL_KEYS)})"
                )
            found.append(url)
        return found
    lines = (line.split("#", 1)[0].strip() if not is_url(line.strip()) else line.strip()
             for line in text.splitlines())  # fmt: skip
    return [line for line in lines if line and not line.startswith("#")]


def is_repository(path: Path) -> bool:
    """A work tree (``.git`` directory or file) or a bare repository."""
    if (path / ".git").exists() or (path / ".git").is_symlink():
        return True
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def find_repositories(root: Path, max_depth: int) -> Iterator[Path]:
    """Repositories at or below ``root``, at most ``max_depth`` directories down, in
    name order; symbolic links are not followed."""
    if is_repository(root):
        yield root
        return
    if max_depth <= 0:
        return
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False) and entry.name != ".git":
            yield from find_repositories(Path(entry.path), max_depth - 1)


def expand(arguments: Iterable[str], max_depth: int) -> list[Target]:
    """The targets, each once, in the order given (directories expanded in place)."""
    seen: dict[str, Target] = {}
    for arg in arguments:
        if is_url(arg):
            check_url(arg)
            target = Target(public_name(arg), arg)
            seen.setdefault(target.name, target)
            continue
        path = Path(arg)
        # A path that is no repository and holds none is still a target: it is reported
        # as failed with its reason, and the others go on.
        found = list(find_repositories(path, max_depth)) if path.is_dir() else []
        if not found:
            found = [path]
        for repo in found:
            name = str(repo.resolve())
            seen.setdefault(name, Target(name))
    return list(seen.values())

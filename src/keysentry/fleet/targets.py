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
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from keysentry.errors import UsageError
from keysentry.models import scrub_secrets

SCHEMES = ("https", "ssh", "git", "file")
_SCP_LIKE = re.compile(r"^[A-Za-z0-9._~-]+@[A-Za-z0-9.-]+:(?!//)[^\s]+$")
_URL_KEYS = ("sshUrl", "url", "http_url_to_repo", "ssh_url_to_repo", "clone_url")
"""Keys of the listings people pipe in: ``gh repo list --json url,sshUrl`` (sshUrl first:
it needs no token prompt), GitLab's project API, Gitea's."""


@dataclass(frozen=True, slots=True)
class Target:
    """One repository to audit."""

    name: str
    """Its identity in the store, the report and the progress display: the absolute path,
    or the URL without credentials, query or fragment; with anything key-shaped in it
    redacted (see :func:`safe_name`)."""
    url: str | None = None
    """The clone URL without credentials (:func:`public_url`); None for a local
    repository. The credentials stay with the driver (:class:`Credentials`)."""
    local: str = ""
    """The local path when ``name`` is not it (a key in the path was redacted)."""

    @property
    def path(self) -> Path:
        return Path(self.local or self.name)


@dataclass(frozen=True, slots=True)
class Credentials:
    """The full clone URLs (with their user:password@, token@ or ?token=), by the URL
    without them. The driver holds them and hands them to its own worker processes in
    memory (never in a task spec, the store, a mirror's config or a process's argv);
    git gets each through its environment for the one command that needs it."""

    urls: dict[str, str] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return f"Credentials(<{len(self.urls)} URL(s)>)"

    def __bool__(self) -> bool:
        return bool(self.urls)

    def full(self, url: str) -> str:
        return self.urls.get(url, url)


def is_url(text: str) -> bool:
    return "://" in text or "::" in text or bool(_SCP_LIKE.match(text))


def check_url(url: str) -> None:
    """Refuse what git would turn into an option or a command, and unknown transports."""
    shown = public_name(url)
    if url.startswith("-"):
        raise UsageError(f"refusing the option-like URL {shown!r}")
    if "::" in url.split("://", 1)[0] or url.lower().startswith("ext:"):
        raise UsageError(
            f"refusing {shown!r}: git's transport::address form (ext:: runs a command)"
        )
    if _SCP_LIKE.match(url):
        return
    scheme = urlsplit(url).scheme.lower()
    if scheme not in SCHEMES:
        raise UsageError(
            f"refusing {shown!r}: only {', '.join(SCHEMES)} URLs (and user@host:path) are cloned"
        )


def public_url(url: str) -> str:
    """The URL without what may be a credential: a user's password or token
    (``https://user:tok@``, ``https://tok@``), the query (``?private_token=...``,
    ``?access_token=...``) and the fragment. ssh keeps its user (``git@``), which is
    no secret and which ssh needs."""
    if _SCP_LIKE.match(url):
        return url
    parts = urlsplit(url)
    keep_user = bool(parts.username) and parts.scheme.lower() != "https"
    bare = not (parts.query or parts.fragment or "#" in url or "?" in url)
    if bare and parts.password is None and (keep_user or not parts.username):
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    if parts.port:
        host += f":{parts.port}"
    if keep_user:
        host = f"{parts.username}@{host}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def public_name(url: str) -> str:
    """How a URL is named everywhere (store, report, progress, errors): without
    credentials (:func:`public_url`) and with anything key-shaped redacted."""
    return safe_name(public_url(url))


def safe_name(path: str) -> str:
    """A local repository's name: the path, with anything key-shaped in it redacted and,
    only then, a short digest of the real path added, so that two such paths stay two
    repositories (the digest of a path that holds a 256-bit key tells nothing of it)."""
    shown = scrub_secrets(path)
    if shown == path:
        return path
    import hashlib

    digest = hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return f"{shown} [{digest}]"


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
            if url.startswith("-"):
                raise UsageError(
                    f"--repos-file: refusing the option-like target {public_name(url)!r}"
                )
            found.append(url)
        return found
    found = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not is_url(line):
            line = line.split("#", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            raise UsageError(
                f"--repos-file line {number}: refusing the option-like target "
                f"{scrub_secrets(line)!r} (write a path that starts with '-' as ./{line})"
            )
        found.append(line)
    return found


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


def expand(arguments: Iterable[str], max_depth: int) -> tuple[list[Target], Credentials]:
    """The targets, each once, in the order given (directories expanded in place), and
    the credentials that were in their URLs (set apart: no target carries one)."""
    seen: dict[str, Target] = {}
    credentials = Credentials()
    for arg in arguments:
        if is_url(arg):
            check_url(arg)
            url = public_url(arg)
            target = Target(public_name(arg), url)
            if seen.setdefault(target.name, target) is target and url != arg:
                credentials.urls[url] = arg
            continue
        path = Path(arg)
        # A path that is no repository and holds none is still a target: it is reported
        # as failed with its reason, and the others go on.
        found = list(find_repositories(path, max_depth)) if path.is_dir() else []
        if not found:
            found = [path]
        for repo in found:
            real = str(repo.resolve())
            name = safe_name(real)
            seen.setdefault(name, Target(name, local="" if name == real else real))
    return list(seen.values()), credentials

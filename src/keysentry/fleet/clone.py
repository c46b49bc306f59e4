"""Mirror clones of URL targets, through GitPython, hardened like :mod:`keysentry.gitio`.

``git clone --mirror`` takes every ref, pull-request refs included (a fork's leak lives
there); the next run fetches into the same mirror instead of cloning again. The git
that GitPython runs gets gitio's ``-c`` hardening (no hooks, no filters, no credential
helper) and environment (no terminal prompt, askpass ``false``), plus ssh in batch mode:
a repository that needs credentials fails at once with git's reason instead of
waiting for a password nobody types. Only the transports of
:data:`keysentry.fleet.targets.SCHEMES` are allowed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from keysentry.errors import GitError
from keysentry.fleet.targets import SCHEMES, check_url, public_name
from keysentry.gitcmd import HARDENING, git_env
from keysentry.models import scrub_secrets

SSH = "ssh -o BatchMode=yes -o ConnectTimeout=30"
_ALLOW = tuple(f"protocol.{s}.allow=always" for s in SCHEMES)
# gitio's `-c` settings, except that ssh runs (in batch mode) and the allowed transports do.
_CONFIG = (
    *(v for v in HARDENING[1::2] if not v.startswith("core.sshCommand=")),
    *_ALLOW,
    f"core.sshCommand={SSH}",
)

Report = Callable[[str, int, int | None], None]
"""``(stage, done, total)`` of the clone or fetch, as git tells it."""


def mirror_path(clone_dir: Path, url: str) -> Path:
    """Where a URL's mirror lives: readable, and distinct for distinct URLs."""
    name = public_name(url)
    tail = re.sub(r"[^A-Za-z0-9._-]+", "_", name.split("://", 1)[-1]).strip("_.")[-80:]
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return clone_dir / f"{tail}-{digest}.git"


def clone_or_fetch(url: str, clone_dir: Path, report: Report | None = None) -> Path:
    """The mirror of ``url`` under ``clone_dir``, cloned the first time, fetched after."""
    import git  # GitPython: imported only by audits of URLs

    check_url(url)
    dest = mirror_path(clone_dir, url)
    progress = _progress(report)
    env = git_env({"GIT_SSH_COMMAND": SSH})
    try:
        if (dest / "HEAD").is_file():
            repo = _repo_class()(dest)
            with repo.git.custom_environment(**env):
                repo.remote("origin").fetch(prune=True, progress=progress)
        else:
            clone_dir.mkdir(parents=True, exist_ok=True)
            partial = dest.with_name(dest.name + ".partial")
            if partial.exists():
                import shutil

                shutil.rmtree(partial)
            _repo_class().clone_from(
                url, partial, progress=progress, env=env, multi_options=["--mirror"]
            )
            partial.rename(dest)
    except git.GitCommandError as exc:
        stderr = exc.stderr.strip() if isinstance(exc.stderr, str) else str(exc.stderr)
        lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
        reason = lines[-1] if lines else f"git exited with {exc.status}"
        reason = reason.removeprefix("stderr: ").strip("'")
        raise GitError(
            f"cannot clone or fetch {public_name(url)}: {scrub_secrets(reason)}"
        ) from None
    return dest


def _progress(report: Report | None) -> Any:
    import git

    class Progress(git.RemoteProgress):
        def update(
            self, op_code: int, cur_count: Any, max_count: Any = None, message: str = ""
        ) -> None:
            if report is None:
                return
            stage = "receiving" if op_code & self.RECEIVING else "fetching"
            if op_code & self.RESOLVING:
                stage = "resolving"
            report(stage, int(cur_count or 0), int(max_count) if max_count else None)

    return Progress()


_REPO_CLASS: Any = None


def _repo_class() -> Any:
    """A ``git.Repo`` whose every git command carries the hardening (built on first use:
    GitPython is imported only by audits of URLs)."""
    global _REPO_CLASS
    if _REPO_CLASS is None:
        import git

        class HardenedGit(git.Git):
            def __init__(self, working_dir: Any = None) -> None:
                super().__init__(working_dir)
                self.set_persistent_git_options(c=list(_CONFIG))

        class HardenedRepo(git.Repo):
            GitCommandWrapperType = HardenedGit

        _REPO_CLASS = HardenedRepo
    return _REPO_CLASS

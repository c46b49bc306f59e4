"""Building real repositories for the git-source tests, and reading what keysentry says.

Keys are built at run time by the callers (conftest's ``make_key``); identities and
dates are fixed by conftest's ``git()``.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

from conftest import GIT_ENV, git, make_key
from keysentry.cli import main
from keysentry.models import fingerprint_of


def write(repo: Path, files: dict[str, str | bytes | None]) -> None:
    """Write (or, for None, delete) files in the work tree."""
    for name, content in files.items():
        path = repo / name
        if content is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def commit(repo: Path, files: dict[str, str | bytes | None], message: str = "change") -> str:
    """Write the files, stage everything, commit; returns the new commit id."""
    write(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return head(repo)


def head(repo: Path, rev: str = "HEAD") -> str:
    return git(repo, "rev-parse", rev).strip()


def run(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    """``keysentry ARGS --format json`` in-process: the exit code and the report."""
    out = tmp_path / "report.json"
    out.unlink(missing_ok=True)
    code = main([*args, "--format", "json", "--output", str(out), "--quiet"])
    return code, json.loads(out.read_text()) if out.exists() else {}


def locations(report: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """Every location of the finding for ``key`` (empty if it was not found)."""
    fp = fingerprint_of(key)
    for finding in report.get("findings", []):
        if finding["fingerprint"] == fp:
            return list(finding["locations"])
    return []


def only(report: dict[str, Any], key: str) -> dict[str, Any]:
    """The single location of ``key``'s finding."""
    found = locations(report, key)
    assert len(found) == 1, found
    return found[0]


HOOKS = ("pre-commit", "post-checkout", "post-merge", "pre-push", "reference-transaction",
         "post-index-change", "fsmonitor-watchman", "pre-auto-gc", "post-rewrite")  # fmt: skip


def marker_script(path: Path, marker: Path) -> Path:
    """An executable at ``path`` that appends how it was called to ``marker`` and fails:
    proof that something ran what a repository or an environment named."""
    path.write_text(f'#!/bin/sh\necho "$0 $*" >> "{marker}"\nexit 1\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def hostile_repo(tmp_path: Path) -> tuple[Path, Path, str, str]:
    """A repository whose configuration and attributes run ``evil.sh`` everywhere."""
    marker = tmp_path / "marker"
    evil = tmp_path / "evil.sh"
    evil.write_text(f'#!/bin/sh\necho "$0 $*" >> "{marker}"\ncat\n')
    evil.chmod(evil.stat().st_mode | stat.S_IXUSR)
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for name in HOOKS:
        (hooks / name).write_text(evil.read_text())
        (hooks / name).chmod(0o755)
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    old, new = make_key(), make_key()
    base = commit(repo, {"README": "hello\n", "app.py": f"KEY = '{old}'\n"}, "base")
    commit(repo, {"app.py": f"KEY = '{new}'\n"}, "new key")
    settings = {
        "core.fsmonitor": str(evil),
        "core.hooksPath": str(hooks),
        "core.pager": str(evil),
        "pager.log": str(evil),
        "core.editor": str(evil),
        "sequence.editor": str(evil),
        "core.sshCommand": str(evil),
        "core.askPass": str(evil),
        "credential.helper": f"!{evil}",
        "core.alternateRefsCommand": str(evil),
        "diff.external": str(evil),
        "diff.evil.textconv": str(evil),
        "diff.evil.command": str(evil),
        "filter.evil.clean": str(evil),
        "filter.evil.smudge": str(evil),
        "filter.evil.process": str(evil),
        "filter.evil.required": "true",
        "gpg.program": str(evil),
        "log.showSignature": "true",
        "remote.origin.url": "ssh://git@example.invalid/x.git",
        "diff.renames": "copies",
        "color.ui": "always",
        "log.showRoot": "false",
    }
    for name, value in settings.items():
        git(repo, "config", name, value)
    write(repo, {".gitattributes": "* diff=evil filter=evil\n"})
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "attributes").write_text("* diff=evil filter=evil\n")
    # A "signed" commit: log.showSignature would hand it to gpg.program.
    tree = git(repo, "rev-parse", "HEAD^{tree}").strip()
    parent = git(repo, "rev-parse", "HEAD").strip()
    signed = (f"tree {tree}\nparent {parent}\nauthor A <a@x> 1704067200 +0000\n"
              "committer A <a@x> 1704067200 +0000\ngpgsig -----BEGIN PGP SIGNATURE-----\n"
              " iQEz\n -----END PGP SIGNATURE-----\n\nsigned\n")  # fmt: skip
    oid = git(repo, "hash-object", "-t", "commit", "-w", "--stdin", input=signed.encode()).strip()
    git(repo, "update-ref", "refs/heads/main", oid)
    # Work-tree changes for `staged --all-changes`: edited, staged, untracked.
    write(repo, {"README": "hello again\n", "staged.py": f"K = '{new}'\n", "new.txt": "x\n"})
    subprocess.run(["git", "-c", "filter.evil.clean=cat", "-c", "filter.evil.required=false",
                    "add", "staged.py"], cwd=repo, check=True, env={**os.environ, **GIT_ENV}, timeout=300)  # fmt: skip
    return repo, marker, base, new


def raw_commit(repo: Path, headers: str, message: str = "raw\n") -> str:
    """A commit object written as given (extra headers and all), on top of HEAD's tree."""
    tree = git(repo, "rev-parse", "HEAD^{tree}").strip()
    parent = git(repo, "rev-parse", "HEAD").strip()
    body = (
        f"tree {tree}\nparent {parent}\nauthor A <a@x.test> 1704067200 +0000\n"
        f"committer A <a@x.test> 1704067200 +0000\n{headers}\n{message}"
    )
    args = ("hash-object", "-t", "commit", "-w", "--literally", "--stdin")
    return git(repo, *args, input=body.encode()).strip()

"""Kind of file -> its rewriter. Each rewriter's module (and its parser) is imported
when a file of that kind holds a key, never before."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from keysentry.rewrite.kinds import NO_VARIABLES
from keysentry.rewrite.sites import FileContext, FileSites, Site, occurrences

Rewriter = Callable[[bytes, Sequence[str], FileContext], FileSites]


def _python(data: bytes, secrets: Sequence[str], ctx: FileContext) -> FileSites:
    from keysentry.rewrite import python

    return python.locate(data, secrets, ctx)


def _python_quick(data: bytes, secrets: Sequence[str], ctx: FileContext) -> FileSites:
    from keysentry.rewrite import python_quick

    return python_quick.locate(data, secrets, ctx)


def _notebook(data: bytes, secrets: Sequence[str], ctx: FileContext) -> FileSites:
    from keysentry.rewrite import notebook

    return notebook.locate(data, secrets, ctx)


def _script(grammar: str) -> Rewriter:
    def rewrite(data: bytes, secrets: Sequence[str], ctx: FileContext) -> FileSites:
        from keysentry.rewrite import javascript

        return javascript.locate(data, secrets, ctx, grammar)

    return rewrite


def _language(kind: str) -> Rewriter:
    def rewrite(data: bytes, secrets: Sequence[str], ctx: FileContext) -> FileSites:
        from keysentry.rewrite import languages

        return languages.locate(data, secrets, ctx, kind)

    return rewrite


def _yaml(kind: str) -> Rewriter:
    def rewrite(data: bytes, secrets: Sequence[str], ctx: FileContext) -> FileSites:
        from keysentry.rewrite import yamlfiles

        return yamlfiles.locate(data, secrets, ctx, kind)

    return rewrite


def _dockerfile(data: bytes, secrets: Sequence[str], ctx: FileContext) -> FileSites:
    from keysentry.rewrite import dockerfile

    return dockerfile.locate(data, secrets, ctx)


def _env(data: bytes, secrets: Sequence[str], ctx: FileContext) -> FileSites:
    """An env file keeps the key (that is its job); git must not have it."""
    from keysentry.rewrite.envfile import env_file_sites

    return env_file_sites(data, secrets, ctx)


def by_hand(reason: str) -> Rewriter:
    def rewrite(data: bytes, secrets: Sequence[str], ctx: FileContext) -> FileSites:
        sites = [
            Site(secret, start, reason=f"{reason}")
            for secret, start, _end in occurrences(data, secrets)
        ]
        return FileSites(sites)

    return rewrite


REWRITERS: dict[str, Rewriter] = {
    "python": _python,
    "notebook": _notebook,
    "javascript": _script("javascript"),
    "typescript": _script("typescript"),
    "tsx": _script("tsx"),
    **{kind: _language(kind) for kind in (
        "go", "java", "csharp", "ruby", "php", "rust", "shell", "powershell")},
    **{kind: _yaml(kind) for kind in ("compose", "github", "gitlab", "kubernetes")},
    "dockerfile": _dockerfile,
    "env": _env,
    **{kind: by_hand(reason) for kind, reason in NO_VARIABLES.items()},
    "other": by_hand("keysentry fix does not rewrite this kind of file"),
}  # fmt: skip
"""Every kind :func:`keysentry.rewrite.kinds.classify` can return (a test checks)."""

QUICK: dict[str, Rewriter] = {**REWRITERS, "python": _python_quick}
"""For the reports' fix stage, which the commit hook runs: Python located with
tree-sitter (milliseconds to load) rather than libcst (a quarter of a second), to the
same edits (tests/fix/test_fix_properties.py)."""

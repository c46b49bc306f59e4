"""The environment variable each key moves to."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

DEFAULT = "OPENROUTER_API_KEY"
_CONSTANT = re.compile(r"[A-Z][A-Z0-9_]*[A-Z0-9]")


def constant_name(text: str | None) -> str | None:
    """``text`` when it reads as an environment variable's name (``OPENROUTER_API_KEY``)."""
    if text is None:
        return None
    text = text.strip().lstrip("$")
    for sep in (".", ":", "->"):  # attributes, Ruby's :: and symbols, PHP's ->
        text = text.rsplit(sep, 1)[-1]
    text = text.strip("'\"")
    return text if _CONSTANT.fullmatch(text) else None


def allocate(
    suggestions: Sequence[tuple[str, str | None]],
    *,
    forced: str | None = None,
    existing: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """(secret, name the code gives) in file order -> secret -> variable name.

    The same key gets one name everywhere; two keys never share one; a name already in
    the env file with another value is never reused; a key already there keeps its name."""
    existing = existing or {}
    by_value = {v: k for k, v in existing.items()}
    first: dict[str, str | None] = {}
    for secret, suggest in suggestions:
        if secret not in first or (first[secret] is None and suggest):
            first[secret] = suggest
    names: dict[str, str] = {}
    taken = set(existing)
    for secret, suggest in first.items():
        if secret in by_value:
            names[secret] = by_value[secret]
            continue
        base = forced or suggest or DEFAULT
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        names[secret] = name
    return names

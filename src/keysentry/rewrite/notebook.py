"""Jupyter notebooks, with nbformat: each code cell is rewritten as Python (libcst, with
``import os`` at the top of the cell that needs it), and the key is removed from every
output and attachment. The notebook is written back by nbformat and validated."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from keysentry.rewrite import python
from keysentry.rewrite.sites import FileContext, FileSites, Site, Unfixable, occurrences

REMOVED = "[{name} removed by keysentry fix]"


def locate(data: bytes, secrets: Sequence[str], ctx: FileContext) -> FileSites:
    import nbformat

    found = occurrences(data, secrets)
    if not found:
        return FileSites([])
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=nbformat.NO_CONVERT)  # type: ignore[no-untyped-call]
    except Exception:  # nbformat raises several unrelated types for a bad file
        raise Unfixable("not a readable notebook (nbformat): fix it first") from None
    present = {s for s, _, _ in found}
    suggestions: dict[str, str | None] = {}
    for index, cell in enumerate(nb.cells, 1):
        source = _text(cell.get("source", ""))
        if not any(s in source for s in present):
            continue
        if cell.get("cell_type") != "code":
            raise Unfixable(f"cell {index} is not code ({cell.get('cell_type')}): "
                            "delete the key there by hand")  # fmt: skip
        try:
            cell_sites = python.locate(source.encode(), list(present))
        except Unfixable as exc:
            raise Unfixable(f"cell {index} {exc} (an IPython magic?)") from None
        for site in cell_sites.sites:
            if not site.fixable:
                raise Unfixable(f"cell {index}: {site.reason}")
            # Only cells that hold a key: another cell may be an IPython magic, which
            # libcst cannot parse and the rewrite leaves as it is.
            suggestions.setdefault(site.secret, site.suggest)

    def rewrite(data: bytes, names: Mapping[str, str]) -> bytes:
        return _rewrite(data, names)

    sites = [
        Site(secret, start, lambda name: [], 'os.environ["{name}"] in the code, removed '
             "from outputs and attachments", suggestions.get(secret))
        for secret, start, _end in found
    ]  # fmt: skip
    return FileSites(sites, verify=verify, rewrite=rewrite)


def _text(source: Any) -> str:
    return "".join(source) if isinstance(source, list) else str(source)


def _rewrite(data: bytes, names: Mapping[str, str]) -> bytes:
    import nbformat

    nb = nbformat.reads(data.decode("utf-8"), as_version=nbformat.NO_CONVERT)  # type: ignore[no-untyped-call]
    secrets = list(names)
    for cell in nb.cells:
        source = _text(cell.get("source", ""))
        if cell.get("cell_type") == "code" and any(s in source for s in secrets):
            sites = python.locate(source.encode(), secrets)
            cell.source = sites.apply(source.encode(), names).decode()
        if "outputs" in cell:
            cell.outputs = _scrub(cell.outputs, names)
        if "attachments" in cell:
            cell.attachments = _attachments(cell.attachments, names)
    text: str = nbformat.writes(nb)  # type: ignore[no-untyped-call]
    return (text + "\n" if data.endswith(b"\n") else text).encode()


def _scrub(value: Any, names: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for secret, name in names.items():
            value = value.replace(secret, REMOVED.format(name=name))
        return value
    if isinstance(value, list):
        return [_scrub(v, names) for v in value]
    if isinstance(value, dict):
        return type(value)((k, _scrub(v, names)) for k, v in value.items())
    return value


def _attachments(attachments: Any, names: Mapping[str, str]) -> Any:
    """Attachments whose decoded content holds a key are dropped."""
    kept = type(attachments)()
    for filename, bundle in attachments.items():
        leaks = False
        for payload in bundle.values():
            try:
                raw = base64.b64decode(_text(payload), validate=False)
            except ValueError:
                raw = b""
            if any(s.encode() in raw for s in names) or any(s in _text(payload) for s in names):
                leaks = True
        if not leaks:
            kept[filename] = bundle
    return kept


def verify(data: bytes) -> str | None:
    import nbformat

    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=nbformat.NO_CONVERT)  # type: ignore[no-untyped-call]
        nbformat.validate(nb)
    except Exception as exc:  # nbformat raises several unrelated types
        return f"the rewritten notebook is not valid ({type(exc).__name__})"
    return None

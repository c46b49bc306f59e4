"""JavaScript and TypeScript, with tree-sitter: the key's literal becomes
``process.env.NAME``; a template literal or a string with more text around the key
keeps the rest (``\\`Bearer ${process.env.NAME}\\```).

Front-end code cannot hide a key behind an environment variable (the bundler inlines
it, or the browser never sees ``process``): such files are listed to change by hand,
with the advice to call the API from a server-side proxy instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from keysentry.rewrite import treesitter as ts
from keysentry.rewrite.edits import ByteEdit
from keysentry.rewrite.sites import FileContext, FileSites, Site, occurrences

STRINGS = frozenset({"string", "template_string", "comment", "jsx_text"})
FRONT_END_DEPENDENCIES = (
    "react", "react-dom", "vue", "svelte", "@angular/core", "vite", "next", "nuxt",
    "@sveltejs/kit", "solid-js", "preact",
)  # fmt: skip
_PUBLIC = re.compile(rb"\b(?:import\.meta\.env|NEXT_PUBLIC_|VITE_|REACT_APP_|NUXT_PUBLIC_)")
PROXY_ADVICE = (
    "front-end code ships to the browser, where an environment variable cannot hide a key: "
    "call OpenRouter from a server-side proxy (an API route) that holds the key, and revoke "
    "this one"
)


def locate(data: bytes, secrets: Sequence[str], ctx: FileContext, grammar: str) -> FileSites:
    found = occurrences(data, secrets)
    if not found:
        return FileSites([])  # (nothing to rewrite, so nothing to verify)
    verify = ts.verifier(grammar)
    front_end = is_front_end(ctx, data)
    tree = ts.parse(grammar, data)
    sites = []
    for secret, start, end in found:
        node = ts.enclosing(tree.root_node, start, end, STRINGS)
        if front_end:
            sites.append(Site(secret, start, reason=PROXY_ADVICE))
        elif node is None or node.type in ("comment", "jsx_text"):
            sites.append(Site(secret, start, reason="not inside a string literal "
                              "(a comment?): delete it by hand"))  # fmt: skip
        else:
            sites.append(_site(data, secret, start, end, node))
    return FileSites(sites, verify=verify)


def _site(data: bytes, secret: str, start: int, end: int, node: ts.Node) -> Site:
    s, e = node.start_byte, node.end_byte
    suggest = ts.suggest(node)
    if node.type == "template_string":

        def in_template(name: str) -> list[ByteEdit]:
            return [ByteEdit(start, end, b"${process.env." + name.encode() + b"}")]

        return Site(secret, start, in_template, "${process.env.{name}} in the template",
                    suggest)  # fmt: skip
    parent = node.parent
    if (
        parent is not None
        and parent.type in ("pair", "property_signature")
        # an object's key is its "key"; an interface member's, its "name"
        and node in (parent.child_by_field_name("key"), parent.child_by_field_name("name"))
    ):
        return Site(secret, start, reason="an object key")
    if parent is not None and parent.type in ("import_statement", "export_statement"):
        return Site(secret, start, reason="a module name")
    before = data[s + 1 : start]
    after = data[end : e - 1]
    jsx = parent is not None and parent.type == "jsx_attribute"
    if not before and not after:

        def whole(name: str) -> list[ByteEdit]:
            expr = f"process.env.{name}"
            return [ByteEdit(s, e, (f"{{{expr}}}" if jsx else expr).encode())]

        return Site(secret, start, whole, "process.env.{name}", suggest)

    def template(name: str) -> list[ByteEdit]:
        body = _for_template(before) + b"${process.env." + name.encode() + b"}"
        literal = b"`" + body + _for_template(after) + b"`"
        return [ByteEdit(s, e, b"{" + literal + b"}" if jsx else literal)]

    return Site(secret, start, template, "a template literal with ${process.env.{name}}",
                suggest)  # fmt: skip


def _for_template(raw: bytes) -> bytes:
    """A quoted string's source text, as the text of a template literal."""
    return raw.replace(b"`", b"\\`").replace(b"${", b"\\${")


def is_front_end(ctx: FileContext, data: bytes) -> bool:
    """Clearly browser code: a public-env prefix (Vite, Next, CRA), or a file under
    ``src/``, ``app/``, ``pages/``, ``components/`` of a package that depends on a
    front-end framework (an ``api/`` route or a ``.server.`` module is server code)."""
    if _PUBLIC.search(data):
        return True
    parts = PurePosixPath(ctx.path.replace("\\", "/")).parts
    if "api" in parts or ".server." in parts[-1] or "server" in parts:
        return False
    if not ({"src", "app", "pages", "components", "public"} & set(parts[:-1])):
        return False
    manifest = _package_json(ctx.fs_path)
    if manifest is None:
        return False
    deps: set[str] = set()
    for section in ("dependencies", "devDependencies", "peerDependencies"):
        value = manifest.get(section)
        if isinstance(value, dict):
            deps.update(value)
    return any(dep in deps for dep in FRONT_END_DEPENDENCIES)


def _package_json(path: Path | None) -> dict[str, object] | None:
    if path is None:
        return None
    for directory in path.absolute().parents:
        candidate = directory / "package.json"
        if candidate.is_file():
            try:
                loaded = json.loads(candidate.read_bytes())
            except (OSError, ValueError):
                return None
            return loaded if isinstance(loaded, dict) else None
        if (directory / ".git").exists():
            return None
    return None

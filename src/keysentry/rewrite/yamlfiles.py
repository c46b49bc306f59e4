"""YAML that has a variable syntax: docker compose (``${NAME}``), GitHub Actions
workflows (``${{ secrets.NAME }}``), GitLab CI (``$NAME``) and Kubernetes manifests (a
``secretKeyRef``). tree-sitter's YAML grammar gives the exact scalar; only the key's
bytes change (a Kubernetes ``value:`` becomes a ``valueFrom:``), so comments, anchors,
quoting and layout stay as they were.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from keysentry.rewrite import treesitter as ts
from keysentry.rewrite.edits import ByteEdit
from keysentry.rewrite.names import constant_name
from keysentry.rewrite.sites import FileContext, FileSites, Site, occurrences

SCALARS = frozenset(
    {"plain_scalar", "double_quote_scalar", "single_quote_scalar", "block_scalar", "comment"}
)
ADVICE = {
    "github": "add {name} as an Actions secret of the repository (gh secret set {name}; "
    "the value is in {env_file})",
    "gitlab": "add {name} as a masked CI/CD variable in the project's settings "
    "(the value is in {env_file})",
    "compose": "docker compose reads ${{name}} from the environment or the .env file beside "
    "the compose file",
    "kubernetes": "create the Secret first: kubectl create secret generic {secret} "
    '--from-literal={name}="${{name}}" (the value is in {env_file})',
}
_KIND = re.compile(rb"(?m)^kind:[ \t]*[\"']?(\w+)")  # quoted or not, as YAML allows


def locate(data: bytes, secrets: Sequence[str], ctx: FileContext, kind: str) -> FileSites:
    found = occurrences(data, secrets)
    if not found:
        return FileSites([])  # nothing to rewrite, so nothing to verify
    tree = ts.parse("yaml", data)
    manifest = _KIND.search(data)
    sites = []
    for secret, start, end in found:
        node = ts.enclosing(tree.root_node, start, end, SCALARS)
        if node is None or node.type == "comment":
            sites.append(Site(secret, start, reason="not inside a YAML value (a comment?): "
                              "delete it by hand"))  # fmt: skip
        elif kind == "kubernetes":
            what = manifest.group(1).decode() if manifest else ""
            sites.append(_kubernetes(secret, start, end, node, what))
        else:
            sites.append(_inline(data, secret, start, end, node, kind))
    return FileSites(sites, verify=ts.verifier("yaml"))


def _pair_key(node: ts.Node) -> str | None:
    """The key of the mapping pair whose value is ``node``'s flow node."""
    flow = node.parent
    pair = flow.parent if flow is not None else None
    if pair is None or pair.type not in ("block_mapping_pair", "flow_pair"):
        return None
    key = pair.child_by_field_name("key")
    if key is None or key.start_byte >= node.start_byte:
        return None
    return ts.text(key).decode("utf-8", "replace")


def _inline(data: bytes, secret: str, start: int, end: int, node: ts.Node, kind: str) -> Site:
    value = ts.text(node)
    suggest = constant_name(_pair_key(node))
    if suggest is None and b"=" in value[: start - node.start_byte]:
        suggest = constant_name(value[: start - node.start_byte].split(b"=")[0].decode())
    in_flow = False
    ancestor = node.parent
    while ancestor is not None:
        if ancestor.type in ("flow_mapping", "flow_sequence"):
            in_flow = True
        ancestor = ancestor.parent
    follows = data[end : end + 1]
    braced = kind != "gitlab" or (follows.isalnum() or follows == b"_")
    template = {
        "github": "${{{{ secrets.{name} }}}}",
        "gitlab": "${{{name}}}" if braced else "${name}",
        "compose": "${{{name}}}",
    }[kind]
    if in_flow and node.type == "plain_scalar":
        # Braces end a plain scalar inside {...} or [...]: the value is quoted.
        if not _is_whole(node, start, end):
            return Site(secret, start, reason="inside a flow collection")
        s, e = node.start_byte, node.end_byte

        def quoted(name: str) -> list[ByteEdit]:
            return [ByteEdit(s, e, ('"' + template.format(name=name) + '"').encode())]

        return Site(secret, start, quoted, template.format(name="{name}"), suggest,
                    advice=ADVICE[kind])  # fmt: skip
    if kind == "gitlab" and _in_script(node) and _single_quoted(data, node, start):
        # A GitLab script is shell: inside its single quotes $NAME would stay as it is,
        # so the quote is closed around a double-quoted read of the variable.
        template = "'\"${{{name}}}\"'"

    def inside(name: str) -> list[ByteEdit]:
        return [ByteEdit(start, end, _for_scalar(node, template.format(name=name)).encode())]

    how = template.format(name="{name}")
    return Site(secret, start, inside, how, suggest, advice=ADVICE[kind])


def _is_whole(node: ts.Node, start: int, end: int) -> bool:
    """The key is the scalar's whole value (inside its quotes, if any)."""
    quoted = 1 if node.type in ("double_quote_scalar", "single_quote_scalar") else 0
    return node.start_byte + quoted == start and node.end_byte - quoted == end


_SCRIPTS = frozenset({b"script", b"before_script", b"after_script"})


def _in_script(node: ts.Node) -> bool:
    ancestor = node.parent
    while ancestor is not None:
        if ancestor.type == "block_mapping_pair":
            key = ancestor.child_by_field_name("key")
            if key is not None and ts.text(key).strip() in _SCRIPTS:
                return True
        ancestor = ancestor.parent
    return False


def _single_quoted(data: bytes, node: ts.Node, start: int) -> bool:
    """Whether the shell would read ``start`` inside single quotes (an odd number of
    them before it on its line of the script)."""
    line_start = max(data.rfind(b"\n", node.start_byte, start) + 1, node.start_byte)
    head = data[line_start:start]
    if node.type == "single_quote_scalar":  # YAML's quote, and each '' is one ' to the shell
        head = head.lstrip(b"'").replace(b"''", b"'")
    return head.count(b"'") % 2 == 1


def _for_scalar(node: ts.Node, text: str) -> str:
    """``text`` written for the scalar's style (escapes of a quoted scalar)."""
    if node.type == "double_quote_scalar":  # no template or name holds a backslash
        return text.replace('"', '\\"')
    if node.type == "single_quote_scalar":
        return text.replace("'", "''")
    return text


def _kubernetes(secret: str, start: int, end: int, node: ts.Node, manifest: str) -> Site:
    if manifest in ("Secret", "ConfigMap", "SealedSecret"):
        return Site(secret, start, reason=f"a {manifest} manifest holds the value itself: "
                    "keep it out of git (create it with kubectl, or use sealed or external "
                    "secrets) by hand")  # fmt: skip
    flow = node.parent
    pair = flow.parent if flow is not None else None
    mapping = pair.parent if pair is not None else None
    exact = _is_whole(node, start, end)
    if (
        not exact
        or pair is None
        or mapping is None
        or _pair_key(node) != "value"
        or pair.type != "block_mapping_pair"
    ):
        return Site(secret, start, reason="not the value of a container's env entry")  # fmt: skip
    env_name = None
    for sibling in mapping.named_children:
        key = sibling.child_by_field_name("key")
        val = sibling.child_by_field_name("value")
        if key is not None and val is not None and ts.text(key) == b"name":
            env_name = constant_name(ts.text(val).decode("utf-8", "replace").strip("'\""))
    s, e = pair.start_byte, node.end_byte

    def secret_ref(name: str) -> list[ByteEdit]:
        ref = f"valueFrom: {{secretKeyRef: {{name: {secret_name(name)}, key: {name}}}}}"
        return [ByteEdit(s, e, ref.encode())]

    return Site(secret, start, secret_ref, "valueFrom: secretKeyRef {name}", env_name,
                advice=ADVICE["kubernetes"])  # fmt: skip


def secret_name(variable: str) -> str:
    """The Kubernetes Secret a variable's key goes to (a DNS-1123 name)."""
    return variable.lower().replace("_", "-")

"""Dockerfiles, with tree-sitter: an ``ENV`` or ``ARG`` that holds a key is removed (a
value baked into an image, or a build argument, stays readable in the image's history);
the advice says how to pass the key at run time or as a build secret."""

from __future__ import annotations

from collections.abc import Sequence

from keysentry.rewrite import treesitter as ts
from keysentry.rewrite.edits import ByteEdit
from keysentry.rewrite.names import constant_name
from keysentry.rewrite.sites import FileContext, FileSites, Site, occurrences

ADVICE = (
    "pass {name} when the container runs (docker run -e {name}, or compose's environment:), "
    "or, if the build needs it, as a build secret: RUN --mount=type=secret,id={name},env={name} "
    "... with docker build --secret id={name},env={name}"
)


def locate(data: bytes, secrets: Sequence[str], ctx: FileContext) -> FileSites:
    found = occurrences(data, secrets)
    if not found:
        return FileSites([])  # nothing to rewrite, so nothing to verify
    # tree-sitter-dockerfile wants a newline after every instruction, docker does not: the
    # last line may lack one. A blank line more at the end changes nothing else.
    tree = ts.parse("dockerfile", data + b"\n")
    check = ts.verifier("dockerfile")

    def verify(new: bytes) -> str | None:
        return check(new + b"\n")

    sites = []
    for secret, start, end in found:
        node = ts.enclosing(tree.root_node, start, end, frozenset({"env_instruction",
                            "arg_instruction", "comment"}))  # fmt: skip
        if node is None or node.type == "comment":
            sites.append(Site(secret, start, reason="not in an ENV or ARG instruction"))  # fmt: skip
            continue
        pairs = [c for c in node.named_children if c.type == "env_pair"]
        named = node.child_by_field_name("name")
        if node.type == "env_instruction" and len(pairs) == 1:
            named = pairs[0].child_by_field_name("name")
        elif node.type == "env_instruction":
            sites.append(Site(secret, start, reason="an ENV that sets several variables: "
                              "remove this one by hand"))  # fmt: skip
            continue
        suggest = constant_name(ts.text(named).decode()) if named is not None else None
        s = node.start_byte
        line_end = data.find(b"\n", node.end_byte)
        e = len(data) if line_end < 0 else line_end + 1

        def remove(name: str, s: int = s, e: int = e) -> list[ByteEdit]:
            return [ByteEdit(s, e, b"")]

        how = f"remove the {node.type.split('_')[0].upper()} instruction"
        sites.append(Site(secret, start, remove, how, suggest, advice=ADVICE))
    return FileSites(sites, verify=verify)

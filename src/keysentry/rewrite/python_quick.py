"""Python for the reports' fix stage, with tree-sitter's Python grammar.

The commit hook reports whether ``keysentry fix`` can move each key, and libcst costs a
quarter of a second to import (its node classes), more than the hook's whole run; the
tree-sitter grammar loads in milliseconds. The decisions and the replacement text are
:mod:`.pystrings`', shared with the libcst rewrite (:mod:`.python`) that ``keysentry fix``
runs; ``tests/fix/test_fix_properties.py`` checks that both give the same edits."""

from __future__ import annotations

from collections.abc import Sequence

from keysentry.rewrite import treesitter as ts
from keysentry.rewrite.edits import ByteEdit
from keysentry.rewrite.names import constant_name
from keysentry.rewrite.pystrings import (
    IMPORT_OS,
    NOT_A_STRING,
    OS_TAKEN,
    Literal,
    site,
    split_quotes,
)
from keysentry.rewrite.sites import FileContext, FileSites, Site, Unfixable, occurrences

_STOP = frozenset({"expression_statement", "block", "module", "return_statement"})
_LEVELS = 6
"""As in :mod:`keysentry.rewrite.python`."""


def locate(data: bytes, secrets: Sequence[str], ctx: FileContext | None = None) -> FileSites:
    found = occurrences(data, secrets)
    if not found:
        return FileSites([])  # (nothing to rewrite, so nothing to verify)
    verify = ts.verifier("python")
    try:
        tree = ts.parse("python", data)
    except Unfixable:
        raise Unfixable("does not parse as Python: fix the syntax first") from None
    root = tree.root_node
    sites = []
    for secret, start, end in found:
        node = ts.enclosing(root, start, end, frozenset({"string", "comment"}))
        if node is None or node.type == "comment":
            sites.append(Site(secret, start, reason=NOT_A_STRING))
            continue
        sites.append(site(data, secret, start, end, _literal(node)))
    has_os = _imports_os(root)
    newline = b"\r\n" if b"\r\n" in data[: data.find(b"\n") + 1] else b"\n"

    def finish(needs: frozenset[str]) -> list[ByteEdit]:
        if IMPORT_OS not in needs or has_os:
            return []
        at = _import_position(data, root)
        return [ByteEdit(at, at, IMPORT_OS.encode() + newline)]

    return FileSites(sites, finish=finish, verify=verify)


def _literal(node: ts.Node) -> Literal:
    # split_quotes reads only the prefix and the quote: the whole literal's text will do.
    prefix, quote = split_quotes(ts.text(node).decode("utf-8", "replace"))
    parent = node.parent
    in_concat = parent is not None and parent.type == "concatenated_string"
    docstring = (
        parent is not None
        and parent.type == "expression_statement"
        and parent.named_child_count == 1
    )
    return Literal(node.start_byte, node.end_byte, prefix, quote, in_concat, docstring,
                   _suggest(node), _nested(node))  # fmt: skip


def _nested(node: ts.Node) -> bool:
    """As :func:`keysentry.rewrite.python._nested`: inside an f-string's replacement field."""
    ancestor = node.parent
    while ancestor is not None and ancestor.type not in _STOP:
        if ancestor.type == "interpolation":
            return True
        ancestor = ancestor.parent
    return False


def _suggest(node: ts.Node) -> str | None:
    """As :func:`keysentry.rewrite.python._suggest`: an assignment's target, a dict's key,
    ``os.environ["NAME"] = ...``, ``os.getenv("NAME", "...")``, a keyword argument."""
    child = node
    parent = node.parent
    levels = 0
    while levels < _LEVELS:
        if parent is None or parent.type in _STOP:
            return None
        # Parentheses are a node of tree-sitter's, not a level (libcst keeps them on the
        # expression): python.py counts the same levels.
        levels += parent.type != "parenthesized_expression"
        if parent.type == "assignment":
            return _target_name(parent.child_by_field_name("left"))
        if parent.type == "pair":
            value = parent.child_by_field_name("value")
            if value is not None and value.id == child.id:
                return _literal_name(parent.child_by_field_name("key"))
        if parent.type in ("keyword_argument", "argument_list"):
            arguments = parent if parent.type == "argument_list" else parent.parent
            arg = child if parent.type == "argument_list" else parent
            if arguments is not None:  # (it holds at least arg)
                first = arguments.named_children[0]
                if first.id != arg.id:
                    found = _literal_name(first)
                    if found:
                        return found
            name = parent.child_by_field_name("name")
            if parent.type == "keyword_argument" and name is not None:
                return constant_name(ts.text(name).decode())
            return None
        child, parent = parent, parent.parent
    return None


def _target_name(target: ts.Node | None) -> str | None:
    if target is None:
        return None
    if target.type == "identifier":
        return constant_name(ts.text(target).decode())
    attribute = target.child_by_field_name("attribute")
    if target.type == "attribute" and attribute is not None:
        return constant_name(ts.text(attribute).decode())
    if target.type == "subscript":
        index = target.child_by_field_name("subscript")
        return _literal_name(index)
    return None


def _literal_name(node: ts.Node | None) -> str | None:
    if node is None or node.type != "string":
        return None
    prefix, quote = split_quotes(ts.text(node).decode("utf-8", "replace"))
    if "b" in prefix.lower() or "f" in prefix.lower():
        return None  # as libcst's evaluated_value: no str for bytes, none for f-strings
    body = ts.text(node)[len(prefix) + len(quote) : len(ts.text(node)) - len(quote)]
    return constant_name(body.decode("utf-8", "replace"))


def _imports_os(root: ts.Node) -> bool:
    """As :func:`keysentry.rewrite.python._imports_os`: Unfixable when a top-level import
    binds ``os`` to anything but the os module."""
    found = False
    for stmt in root.named_children:
        if stmt.type not in ("import_statement", "import_from_statement"):
            continue
        from_import = stmt.type == "import_from_statement"
        for name in stmt.children_by_field_name("name"):
            if name.type == "aliased_import":
                alias, module = name.child_by_field_name("alias"), name.child_by_field_name("name")
                if alias is None or ts.text(alias) != b"os":
                    continue
                taken = from_import or module is None or ts.text(module) != b"os"
            elif name.type == "dotted_name" and ts.text(name.named_children[0]) == b"os":
                taken = from_import
            else:
                continue
            if taken:
                raise Unfixable(OS_TAKEN)
            found = True
    return found


def _import_position(data: bytes, root: ts.Node) -> int:
    """As :func:`keysentry.rewrite.python._import_position`."""
    after: int | None = None
    statements = [c for c in root.named_children if c.type != "comment"]
    for index, stmt in enumerate(statements):
        is_doc = (
            index == 0
            and stmt.type == "expression_statement"
            and stmt.named_child_count == 1
            and stmt.named_children[0].type in ("string", "concatenated_string")
        )
        if is_doc or stmt.type == "future_import_statement":
            after = stmt.end_byte
            continue
        if stmt.type in ("import_statement", "import_from_statement"):
            return data.rfind(b"\n", 0, stmt.start_byte) + 1
        break
    if after is not None:
        line_end = data.find(b"\n", after)
        return len(data) if line_end < 0 else line_end + 1
    if not statements:
        return len(data)
    return data.rfind(b"\n", 0, statements[0].start_byte) + 1

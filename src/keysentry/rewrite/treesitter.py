"""tree-sitter grammars: loading them when a file needs one, finding the literal that
holds a key, and checking that a file parses without error nodes before and after."""

from __future__ import annotations

import importlib
import re
import warnings
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from keysentry.rewrite.names import constant_name
from keysentry.rewrite.sites import Unfixable

if TYPE_CHECKING:
    from tree_sitter import Node as Node
    from tree_sitter import Parser as Parser
    from tree_sitter import Tree as Tree

GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "java": ("tree_sitter_java", "language"),
    "csharp": ("tree_sitter_c_sharp", "language"),
    "ruby": ("tree_sitter_ruby", "language"),
    "php": ("tree_sitter_php", "language_php"),
    "rust": ("tree_sitter_rust", "language"),
    "shell": ("tree_sitter_bash", "language"),
    "powershell": ("tree_sitter_powershell", "language"),
    "yaml": ("tree_sitter_yaml", "language"),
    "dockerfile": ("tree_sitter_dockerfile", "language"),
}
"""Grammar (kind of file) -> (the grammar's wheel, its function that gives the language)."""

COMMENTS = frozenset({"comment", "line_comment", "block_comment", "heredoc_comment"})


@cache
def parser(grammar: str) -> Parser:
    from tree_sitter import Language, Parser

    module_name, function = GRAMMARS[grammar]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise Unfixable(f"the {grammar} grammar ({module_name}) is not installed") from None
    with warnings.catch_warnings():
        # tree-sitter-dockerfile still hands over its language as an integer pointer.
        warnings.simplefilter("ignore", DeprecationWarning)
        language = Language(getattr(module, function)())
    return Parser(language)


def parse(grammar: str, data: bytes) -> Tree:
    """The tree of ``data``; a file that does not parse cleanly is not rewritten."""
    tree = parser(grammar).parse(data)
    problem = error_at(tree.root_node)
    if problem is not None:
        raise Unfixable(
            f"does not parse cleanly as {grammar} (line {problem}): fix the syntax first"
        )
    return tree


def error_at(root: Node) -> int | None:
    """The 1-based line of the first error or missing node, or None when there is none."""
    if not root.has_error:
        return None
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            return int(node.start_point[0]) + 1
        if node.has_error:
            stack.extend(reversed(node.children))
    return int(root.start_point[0]) + 1


def verifier(grammar: str) -> Callable[[bytes], str | None]:
    def verify(data: bytes) -> str | None:
        line = error_at(parser(grammar).parse(data).root_node)
        return None if line is None else f"the rewritten file would not parse (line {line})"

    return verify


def enclosing(root: Node, start: int, end: int, types: frozenset[str]) -> Node | None:
    """The innermost node of one of ``types`` around bytes ``start:end``."""
    node: Node | None = root.descendant_for_byte_range(start, end)
    while node is not None:
        if node.type in types:
            return node
        node = node.parent
    return None


def text(node: Node) -> bytes:
    return node.text or b""


_NAME_FIELDS = ("name", "left", "key", "pattern")
_STOP = frozenset(
    {"program", "source_file", "statement_block", "block", "class_body", "compilation_unit",
     "declaration_list", "body_statement", "function_definition", "method_declaration"}
)  # fmt: skip


def suggest(node: Node) -> str | None:
    """The name the code gives the value (``const OPENROUTER_API_KEY = "..."``,
    ``{OPENROUTER_API_KEY: "..."}``, ``define('OPENROUTER_API_KEY', '...')``)."""
    child = node
    parent = node.parent
    for _ in range(6):
        if parent is None or parent.type in _STOP:
            return None
        for field in _NAME_FIELDS:
            named = parent.child_by_field_name(field)
            if named is not None and named.end_byte <= child.start_byte:
                return constant_name(text(named).decode("utf-8", "replace"))
        if parent.type == "left_assignment_expression":
            return constant_name(text(parent).decode("utf-8", "replace"))
        if parent.type in ("arguments", "argument_list") and parent.named_child_count > 1:
            first = parent.named_children[0]
            if first.end_byte <= child.start_byte:
                return constant_name(text(first).decode("utf-8", "replace"))
        for sibling in parent.children:
            if sibling.type == "left_assignment_expression":
                return constant_name(text(sibling).decode("utf-8", "replace"))
        child, parent = parent, parent.parent
    return None


def delimiters(literal: bytes) -> tuple[int, int] | None:
    """(length of the opening delimiter, of the closing one) of a quoted literal:
    ``"..."``, ``'...'``, `` `...` ``, with a prefix (``@"``, ``$"``, ``r#"``). None for
    what is not one simple quoted literal (text blocks, heredocs): by hand."""
    m = _OPENING.match(literal)
    if m is None:
        return None
    quote, hashes = m.group(3), m.group(2)
    if literal[m.end() - 1 : m.end() + 2] == quote * 3:
        return None
    close = quote + hashes
    if len(literal) < m.end() + len(close) or not literal.endswith(close):
        return None
    return m.end(), len(close)


_OPENING = re.compile(rb"([A-Za-z@$]{0,3})(#*)([\"'`])")

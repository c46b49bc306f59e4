"""Python, with libcst: the key's literal becomes ``os.environ["NAME"]`` (what to write
for a literal is :mod:`.pystrings`', shared with the reports' tree-sitter locator).

libcst parses to a concrete syntax tree that keeps every byte, so the byte spans it
reports are exact: only the literal's bytes change, plus one ``import os`` line where
the module does not import it yet. A key in a larger literal keeps the rest (the
literal becomes an f-string), a key in an f-string becomes a replacement field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    import libcst as cst
    from libcst.metadata import CodeSpan

    Spans = Mapping[cst.CSTNode, CodeSpan]
    Parents = Mapping[cst.CSTNode, cst.CSTNode]


def locate(data: bytes, secrets: Sequence[str], ctx: FileContext | None = None) -> FileSites:
    import libcst as cst
    from libcst.metadata import ByteSpanPositionProvider, MetadataWrapper, ParentNodeProvider

    found = occurrences(data, secrets)
    try:
        module = cst.parse_module(data)
    except cst.ParserSyntaxError as exc:
        raise Unfixable(
            f"does not parse as Python (line {exc.raw_line}): fix the syntax first"
        ) from None
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    spans = wrapper.resolve(ByteSpanPositionProvider)
    parents = wrapper.resolve(ParentNodeProvider)
    strings = [
        (span.start, span.start + span.length, node)
        for node, span in spans.items()
        if isinstance(node, (cst.SimpleString, cst.FormattedStringText))
    ]
    sites = []
    for secret, start, end in found:
        holder = [(s, e, n) for s, e, n in strings if s <= start and end <= e]
        if not holder:
            sites.append(Site(secret, start, reason=NOT_A_STRING))
            continue
        # Literal tokens never overlap (a literal inside an f-string's replacement field
        # lies outside the f-string's text parts): one holder at most.
        _, _, node = holder[0]
        sites.append(site(data, secret, start, end, _literal(node, spans, parents)))
    has_os = _imports_os(module)
    newline = module.default_newline.encode()

    def finish(needs: frozenset[str]) -> list[ByteEdit]:
        if IMPORT_OS not in needs or has_os:
            return []
        at = _import_position(data, module, spans)
        return [ByteEdit(at, at, IMPORT_OS.encode() + newline)]

    return FileSites(sites, finish=finish, verify=verify)


def verify(data: bytes) -> str | None:
    import libcst as cst

    try:
        cst.parse_module(data)
    except cst.ParserSyntaxError as exc:
        return f"the rewritten file would not parse (line {exc.raw_line})"
    return None


def _literal(node: cst.CSTNode, spans: Spans, parents: Parents) -> Literal:
    import libcst as cst

    if isinstance(node, cst.FormattedStringText):
        node = parents[node]
        assert isinstance(node, cst.FormattedString)
        prefix, quote = split_quotes(node.start + node.end)
    else:
        assert isinstance(node, cst.SimpleString)
        prefix, quote = split_quotes(node.value)
    span = spans[node]
    parent = parents[node]
    return Literal(
        span.start,
        span.start + span.length,
        prefix,
        quote,
        in_concat=isinstance(parent, cst.ConcatenatedString),
        docstring=isinstance(parent, cst.Expr),
        suggest=_suggest(node, parents),
        nested=_nested(node, parents),
    )


def _nested(node: cst.CSTNode, parents: Parents) -> bool:
    """Whether ``node`` is inside a replacement field of an f-string."""
    import libcst as cst

    ancestor = parents.get(node)
    while ancestor is not None and not isinstance(ancestor, cst.BaseSmallStatement):
        if isinstance(ancestor, cst.FormattedStringExpression):
            return True
        ancestor = parents.get(ancestor)
    return False


_LEVELS = 6
"""How far up from the literal a name is looked for (a few levels of expression)."""


def _suggest(node: cst.CSTNode, parents: Parents) -> str | None:
    """The variable name the code gives the value: an assignment's target, a dict's key,
    ``os.environ["NAME"] = ...``, ``os.getenv("NAME", "...")``."""
    import libcst as cst

    child = node
    levels = 0
    while levels < _LEVELS:
        parent = parents.get(child)
        if parent is None:
            return None
        # A list's or tuple's element is a node of libcst's, not a level of the expression
        # (tree-sitter has none): python_quick counts the same levels.
        levels += not isinstance(parent, (cst.Element, cst.StarredElement))
        if isinstance(parent, (cst.Assign, cst.AnnAssign)):
            targets = (
                [t.target for t in parent.targets]
                if isinstance(parent, cst.Assign)
                else [parent.target]
            )
            return _target_name(targets[-1])
        if isinstance(parent, cst.DictElement) and parent.value is child:
            return _literal_name(parent.key)
        if isinstance(parent, cst.Arg):
            call = parents.get(parent)
            if isinstance(call, cst.Call) and call.args and call.args[0] is not parent:
                found = _literal_name(call.args[0].value)
                if found:
                    return found
            return constant_name(parent.keyword.value) if parent.keyword else None
        if isinstance(parent, (cst.SimpleStatementLine, cst.IndentedBlock, cst.Module)):
            return None
        child = parent
    return None


def _target_name(target: cst.BaseExpression) -> str | None:
    import libcst as cst

    if isinstance(target, cst.Name):
        return constant_name(target.value)
    if isinstance(target, cst.Attribute):
        return constant_name(target.attr.value)
    if isinstance(target, cst.Subscript) and len(target.slice) == 1:
        index = target.slice[0].slice
        if isinstance(index, cst.Index):
            return _literal_name(index.value)
    return None


def _literal_name(node: cst.BaseExpression | None) -> str | None:
    import libcst as cst

    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return constant_name(value) if isinstance(value, str) else None
    return None


def _imports_os(module: cst.Module) -> bool:
    """Whether a top-level import binds ``os`` to the os module (``import os``, ``import
    os.path``, ``import os as os``). One that binds the name to anything else (``import sys
    as os``, ``from m import os``) makes the file unfixable: ``os.environ`` would be that."""
    import libcst as cst

    found = False
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if not isinstance(small, (cst.Import, cst.ImportFrom)) or isinstance(
                small.names, cst.ImportStar
            ):
                continue
            for alias in small.names:
                if _bound(alias) != "os":
                    continue
                taken = alias.asname is not None and _dotted(alias.name) != "os"
                if isinstance(small, cst.ImportFrom) or taken:
                    raise Unfixable(OS_TAKEN)
                found = True
    return found


def _bound(alias: cst.ImportAlias) -> str:
    """The name an import binds: its ``as`` name, else its first part."""
    import libcst as cst

    if alias.asname is not None:  # an import's ``as`` target is a plain name
        return cst.ensure_type(alias.asname.name, cst.Name).value
    return _dotted(alias.name).partition(".")[0]


def _dotted(name: cst.Attribute | cst.Name) -> str:
    from libcst.helpers import get_full_name_for_node_or_raise

    return get_full_name_for_node_or_raise(name)


def _import_position(data: bytes, module: cst.Module, spans: Spans) -> int:
    """Where ``import os`` goes: before the first import, else after the docstring and
    ``from __future__`` imports, else after the module's leading comments."""
    import libcst as cst

    body = module.body
    after: int | None = None
    for index, stmt in enumerate(body):
        small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) else None
        is_doc = (
            index == 0
            and isinstance(small, cst.Expr)
            and isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString))
        )
        is_future = isinstance(small, cst.ImportFrom) and _is_future(small)
        if is_doc or is_future:
            span = spans[stmt]
            after = span.start + span.length
            continue
        if isinstance(small, (cst.Import, cst.ImportFrom)):
            start = spans[stmt].start
            return data.rfind(b"\n", 0, start) + 1
        break
    if after is not None:
        line_end = data.find(b"\n", after)
        return len(data) if line_end < 0 else line_end + 1
    header = cst.Module(body=[], header=module.header).code.encode()
    return len(header) if data.startswith(header) else 0


def _is_future(node: cst.ImportFrom) -> bool:
    import libcst as cst

    module = node.module
    return isinstance(module, cst.Name) and module.value == "__future__"

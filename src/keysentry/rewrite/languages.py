"""Go, Java, C#, Ruby, PHP, Rust, shell and PowerShell, with tree-sitter.

Each language says which nodes are its string literals, the expression that reads an
environment variable, and how a literal with more text around the key keeps the rest:
a replacement inside the literal where the language interpolates (a Ruby or shell
double-quoted string, a C# interpolated string, a PowerShell expandable string), else a
concatenation of the pieces. Places where a read of the environment is not allowed (a
Go ``const`` of several names, a C# or PHP constant, a Rust ``const``/``static``) are
listed to change by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from keysentry.rewrite import treesitter as ts
from keysentry.rewrite.edits import ByteEdit
from keysentry.rewrite.sites import FileContext, FileSites, Site, occurrences

_SAFE_PARENTS = frozenset(
    {"argument_list", "arguments", "argument", "variable_declarator", "assignment_expression",
     "assignment", "return_statement", "expression_list", "element_value_pair",
     "array_initializer", "initializer_expression", "pair", "array", "array_element_initializer",
     "let_declaration", "short_var_declaration", "var_spec", "keyed_element", "literal_element",
     "equals_value_clause", "hash_entry", "array_creation_expression", "command_elements"}
)  # fmt: skip
"""Where a concatenation needs no parentheses around it."""


@dataclass(frozen=True, slots=True)
class Language:
    grammar: str
    strings: frozenset[str]
    expression: str
    """The read of the variable, with ``{name}``."""
    concat: str = " + "
    interpolation: str | None = None
    """The read inside an interpolating literal, with ``{name}``."""
    interpolates: Callable[[ts.Node], bool] = lambda node: False
    """Whether this literal interpolates."""
    forbidden: dict[str, str] | None = None
    """Ancestor node type -> why a read of the environment cannot go there."""
    needs: frozenset[str] = frozenset()


def _double_quoted(node: ts.Node) -> bool:
    # (a function called per literal, not a closure built at import, so that a test sees it)
    return ts.text(node).startswith(b'"')


LANGUAGES = {
    "go": Language(
        "go", frozenset({"interpreted_string_literal", "raw_string_literal"}),
        'os.Getenv("{name}")', needs=frozenset({"go:os"}),
    ),
    "java": Language(
        "java", frozenset({"string_literal"}), 'System.getenv("{name}")',
        forbidden={"annotation_argument_list": "an annotation needs a constant",
                   "switch_label": "a case label needs a constant"},
    ),
    "csharp": Language(
        "csharp",
        frozenset({"string_literal", "verbatim_string_literal", "interpolated_string_expression"}),
        'System.Environment.GetEnvironmentVariable("{name}")',
        interpolation='{{System.Environment.GetEnvironmentVariable("{name}")}}',
        interpolates=lambda node: node.type == "interpolated_string_expression",
        forbidden={"attribute_argument": "an attribute needs a constant",
                   "parameter": "a default parameter value needs a constant",
                   "case_switch_label": "a case label needs a constant",
                   "constant_pattern": "a pattern (case, is) needs a constant"},
    ),
    "ruby": Language(
        "ruby", frozenset({"string"}), 'ENV.fetch("{name}")',
        interpolation='#{{ENV.fetch("{name}")}}', interpolates=_double_quoted,
    ),
    "php": Language(
        "php", frozenset({"string", "encapsed_string"}), "getenv('{name}')", concat=" . ",
        forbidden={"const_declaration": "a PHP constant needs a constant expression",
                   "property_declaration": "a property's default needs a constant expression",
                   "simple_parameter": "a default parameter value needs a constant expression"},
    ),
    "powershell": Language(
        "powershell", frozenset({"expandable_string_literal", "verbatim_string_characters"}),
        "$env:{name}", interpolation="${{env:{name}}}",
        interpolates=lambda node: node.type == "expandable_string_literal",
    ),
}  # fmt: skip

_COMMENT = "not inside a string literal (a comment?): delete it by hand"


def locate(data: bytes, secrets: Sequence[str], ctx: FileContext, kind: str) -> FileSites:
    if kind == "shell":
        return _shell(data, secrets)
    if kind == "rust":
        return _rust(data, secrets)
    lang = LANGUAGES[kind]
    found = occurrences(data, secrets)
    if not found:
        return FileSites([])  # (nothing to rewrite, so nothing to verify)
    verify = ts.verifier(lang.grammar)
    tree = ts.parse(lang.grammar, data)
    sites = []
    for secret, start, end in found:
        node = ts.enclosing(tree.root_node, start, end, lang.strings | ts.COMMENTS)
        if node is None or node.type in ts.COMMENTS:
            sites.append(Site(secret, start, reason=_COMMENT))
            continue
        sites.append(_site(lang, data, secret, start, end, node))
    finish = _go_import(data, tree) if kind == "go" else None
    return FileSites(sites, finish=finish, verify=verify)


def _forbidden(lang: Language, node: ts.Node) -> str | None:
    parent = node.parent
    while parent is not None:
        if lang.forbidden and parent.type in lang.forbidden:
            return lang.forbidden[parent.type]
        # (a PHP constant, class or global, is a const_declaration: in lang.forbidden)
        if lang.grammar == "csharp" and parent.type in (
            "field_declaration", "local_declaration_statement",
        ) and any(ts.text(c) == b"const" for c in parent.children):  # fmt: skip
            return "a constant cannot read the environment (make it a static readonly variable)"
        parent = parent.parent
    return None


def _site(lang: Language, data: bytes, secret: str, start: int, end: int, node: ts.Node) -> Site:
    s, e = node.start_byte, node.end_byte
    delims = ts.delimiters(ts.text(node))
    if delims is None:
        return Site(secret, start, reason="in a literal of a form keysentry does not "
                    "rewrite (heredoc, text block)")  # fmt: skip
    why = _forbidden(lang, node)
    if why:
        return Site(secret, start, reason=f"{why}")
    opening, closing = delims
    before = data[s + opening : start]
    after = data[end : e - closing]
    suggest = ts.suggest(node)
    expr = lang.expression
    edits: list[ByteEdit] = []
    extra = _go_const(node) if lang.grammar == "go" else None
    if extra is False:
        return Site(secret, start, reason="a Go constant cannot read the environment "
                    "(and this const block holds more): make it a var by hand")  # fmt: skip
    if isinstance(extra, ByteEdit):
        edits.append(extra)
    if not before and not after:

        def whole(name: str) -> list[ByteEdit]:
            return [*edits, ByteEdit(s, e, expr.format(name=name).encode())]

        return Site(secret, start, whole, expr, suggest, lang.needs)
    if lang.interpolation is not None and lang.interpolates(node):
        inner = lang.interpolation

        def inside(name: str) -> list[ByteEdit]:
            return [*edits, ByteEdit(start, end, inner.format(name=name).encode())]

        return Site(secret, start, inside, inner.replace("{{", "{").replace("}}", "}"),
                    suggest, lang.needs)  # fmt: skip
    head, tail = data[s : s + opening], data[e - closing : e]
    parens = node.parent is None or node.parent.type not in _SAFE_PARENTS

    def joined(name: str) -> list[ByteEdit]:
        pieces = [head + before + tail] if before else []
        pieces.append(expr.format(name=name).encode())
        if after:
            pieces.append(head + after + tail)
        out = lang.concat.encode().join(pieces)
        return [*edits, ByteEdit(s, e, b"(" + out + b")" if parens else out)]

    return Site(secret, start, joined, f"a concatenation with {expr}", suggest, lang.needs)


def _go_const(node: ts.Node) -> ByteEdit | bool | None:
    """A Go ``const X = "..."`` becomes ``var``: a constant cannot call os.Getenv. False
    when the declaration holds more than this one name (by hand)."""
    parent = node.parent
    while parent is not None and parent.type not in ("const_declaration", "source_file"):
        parent = parent.parent
    if parent is None or parent.type != "const_declaration":
        return None
    specs = [c for c in parent.named_children if c.type == "const_spec"]
    names = [n for n in specs[0].children_by_field_name("name")] if specs else []
    if len(specs) != 1 or len(names) != 1 or b"(" in ts.text(parent).split(b"=")[0]:
        return False
    keyword = parent.children[0]
    return ByteEdit(keyword.start_byte, keyword.end_byte, b"var")


def _go_import(data: bytes, tree: ts.Tree) -> Callable[[frozenset[str]], list[ByteEdit]]:
    root = tree.root_node

    def finish(needs: frozenset[str]) -> list[ByteEdit]:
        if "go:os" not in needs:
            return []
        imports = [c for c in root.named_children if c.type == "import_declaration"]
        for decl in imports:
            for spec in _import_specs(decl):
                path = spec.child_by_field_name("path")
                if path is not None and ts.text(path) == b'"os"' and spec.named_child_count == 1:
                    return []
        for decl in imports:
            lists = [c for c in decl.named_children if c.type == "import_spec_list"]
            if lists:
                opening = lists[0].children[0]
                line_end = data.find(b"\n", opening.end_byte)
                if line_end >= 0:
                    return [ByteEdit(line_end + 1, line_end + 1, b'\t"os"\n')]
        anchor = (
            imports[-1]
            if imports
            else next((c for c in root.named_children if c.type == "package_clause"), None)
        )
        if anchor is None:
            return []
        line_end = data.find(b"\n", anchor.end_byte)
        at = len(data) if line_end < 0 else line_end + 1
        prefix = b"" if line_end >= 0 else b"\n"
        return [ByteEdit(at, at, prefix + b'import "os"\n')]

    return finish


def _import_specs(decl: ts.Node) -> list[ts.Node]:
    out = []
    for child in decl.named_children:
        if child.type == "import_spec":
            out.append(child)
        elif child.type == "import_spec_list":
            out.extend(c for c in child.named_children if c.type == "import_spec")
    return out


# -- Rust: a String from the environment only where the type is known to accept it ------


def _rust(data: bytes, secrets: Sequence[str]) -> FileSites:
    found = occurrences(data, secrets)
    if not found:
        return FileSites([])  # (nothing to rewrite, so nothing to verify)
    verify = ts.verifier("rust")
    tree = ts.parse("rust", data)
    strings = frozenset({"string_literal", "raw_string_literal"})
    sites = []
    for secret, start, end in found:
        node = ts.enclosing(tree.root_node, start, end, strings | ts.COMMENTS)
        if node is None or node.type in ts.COMMENTS:
            sites.append(Site(secret, start, reason=_COMMENT))
            continue
        sites.append(_rust_site(data, secret, start, end, node))
    return FileSites(sites, verify=verify)


def _rust_site(data: bytes, secret: str, start: int, end: int, node: ts.Node) -> Site:
    delims = ts.delimiters(ts.text(node))
    if (
        delims is None
        or data[node.start_byte + delims[0] : start]
        or data[end : node.end_byte - delims[1]]
    ):
        return Site(secret, start, reason="part of a larger Rust literal: build the "
                    "string with format! and std::env::var by hand")  # fmt: skip
    ancestor = node.parent
    while ancestor is not None:
        if ancestor.type in ("const_item", "static_item"):
            return Site(secret, start, reason="a Rust const or static cannot read the "
                        "environment")  # fmt: skip
        ancestor = ancestor.parent
    parent = node.parent
    assert parent is not None
    owned = False
    if parent.type == "field_expression":
        owned = True
    elif parent.type == "let_declaration":
        kind = parent.child_by_field_name("type")
        owned = kind is not None and b"&" not in ts.text(kind)
    elif parent.type != "arguments":
        return Site(secret, start, reason="the type expected here is not known: read "
                    "std::env::var by hand")  # fmt: skip
    s, e = node.start_byte, node.end_byte
    amp = "" if owned else "&"

    def read(name: str) -> list[ByteEdit]:
        text = f'{amp}std::env::var("{name}").expect("{name} is not set")'
        return [ByteEdit(s, e, text.encode())]

    how = f'{amp}std::env::var("{{name}}").expect(...)'
    return Site(secret, start, read, how, ts.suggest(node))


# -- shell: "${NAME}" ---------------------------------------------------------------------

_SHELL = frozenset({"string", "raw_string", "word", "heredoc_body", "ansi_c_string"})


def _shell(data: bytes, secrets: Sequence[str]) -> FileSites:
    found = occurrences(data, secrets)
    if not found:
        return FileSites([])  # (nothing to rewrite, so nothing to verify)
    verify = ts.verifier("shell")
    tree = ts.parse("shell", data)
    sites = []
    for secret, start, end in found:
        node = ts.enclosing(tree.root_node, start, end, _SHELL | ts.COMMENTS)
        if node is None or node.type in ts.COMMENTS or node.type == "ansi_c_string":
            sites.append(Site(secret, start, reason=_COMMENT))
            continue
        sites.append(_shell_site(data, secret, start, end, node))
    return FileSites(sites, verify=verify)


def _shell_site(data: bytes, secret: str, start: int, end: int, node: ts.Node) -> Site:
    suggest = ts.suggest(node)
    if node.type == "heredoc_body":
        redirect = node.parent
        opener = ts.text(redirect).split(b"\n", 1)[0] if redirect is not None else b""
        if b"'" in opener or b'"' in opener or b"\\" in opener:
            return Site(secret, start, reason="in a quoted heredoc, which does not "
                        "expand variables")  # fmt: skip
    if node.type in ("string", "heredoc_body"):

        def inside(name: str) -> list[ByteEdit]:
            return [ByteEdit(start, end, b"${" + name.encode() + b"}")]

        return Site(secret, start, inside, "${{name}}", suggest)
    if node.type == "raw_string":
        s, e = node.start_byte, node.end_byte
        before, after = data[s + 1 : start], data[end : e - 1]

        def requoted(name: str) -> list[ByteEdit]:
            out = (b"'" + before + b"'" if before else b"") + b'"${' + name.encode() + b'}"'
            return [ByteEdit(s, e, out + (b"'" + after + b"'" if after else b""))]

        return Site(secret, start, requoted, '"${{name}}"', suggest)

    def quoted(name: str) -> list[ByteEdit]:
        return [ByteEdit(start, end, b'"${' + name.encode() + b'}"')]

    return Site(secret, start, quoted, '"${{name}}"', suggest)

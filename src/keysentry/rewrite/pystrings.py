"""What the Python rewrite does with a string literal that holds a key, whichever parser
found it: libcst for ``keysentry fix`` (:mod:`.python`), tree-sitter for the reports'
fix stage (:mod:`.python_quick`, which the commit hook can afford to import). Both give
a :class:`Literal`; :func:`site` decides, so the report and the fix agree (a Hypothesis
test checks it on random programs)."""

from __future__ import annotations

from dataclasses import dataclass

from keysentry.rewrite.edits import ByteEdit
from keysentry.rewrite.sites import Site

IMPORT_OS = "import os"
NOT_A_STRING = "not inside a string literal (a comment?): delete it by hand"
OS_TAKEN = (
    "the module imports something else as os (import ... as os, from ... import os), "
    "so os.environ would not be the environment: change it by hand"
)
NESTED = "part of a literal inside an f-string's replacement field: change it by hand"


@dataclass(frozen=True, slots=True)
class Literal:
    start: int
    """The literal's first byte (its prefix or opening quote)."""
    end: int
    prefix: str
    """``r``, ``b``, ``f``, ``rb``, ... as written."""
    quote: str
    """``"``, ``'``, ``\"\"\"`` or ``'''``."""
    in_concat: bool = False
    """One piece of an implicit concatenation (``"a" "b"``)."""
    docstring: bool = False
    """A statement of its own (a docstring)."""
    suggest: str | None = None
    nested: bool = False
    """Inside a replacement field of an f-string: before Python 3.12 no quote of that
    f-string may appear there, so the replacement reuses this literal's own quote."""

    @property
    def fstring(self) -> bool:
        return "f" in self.prefix.lower()


def site(data: bytes, secret: str, start: int, end: int, lit: Literal) -> Site:
    needs = frozenset({IMPORT_OS})
    s, e = lit.start, lit.end
    if "b" in lit.prefix.lower():
        return Site(secret, start, reason="a bytes literal: read os.environb by hand")
    if lit.docstring:
        return Site(secret, start, reason="in a docstring: delete it by hand")
    content_start = s + len(lit.prefix.encode()) + len(lit.quote)
    content_end = e - len(lit.quote)
    before = data[content_start:start]
    after = data[end:content_end]
    whole_literal = not before and not after and not lit.in_concat
    if lit.nested and (lit.fstring or not whole_literal):
        # Keeping the rest would need a third kind of quote inside the f-string.
        return Site(secret, start, reason=NESTED)
    if lit.fstring:
        inner = _other(lit.quote[:1])

        def in_fstring(name: str) -> list[ByteEdit]:
            return [ByteEdit(start, end, f"{{os.environ[{inner}{name}{inner}]}}".encode())]

        return Site(secret, start, in_fstring, "{os.environ[...]} in the f-string",
                    lit.suggest, needs)  # fmt: skip
    if whole_literal:
        quote = lit.quote[:1] if lit.nested else '"'

        def whole(name: str) -> list[ByteEdit]:
            return [ByteEdit(s, e, f"os.environ[{quote}{name}{quote}]".encode())]

        how = f"os.environ[{quote}{{name}}{quote}]"
        return Site(secret, start, whole, how, lit.suggest, needs)
    inner = _other(lit.quote[:1])
    # u"" cannot take an f; it means nothing since Python 3 anyway.
    prefix = lit.prefix.replace("u", "").replace("U", "")
    head = (prefix + "f" + lit.quote).encode() + _braces(before)
    tail = _braces(after) + lit.quote.encode()

    def partial(name: str) -> list[ByteEdit]:
        field = f"{{os.environ[{inner}{name}{inner}]}}".encode()
        return [ByteEdit(s, e, head + field + tail)]

    return Site(secret, start, partial, "an f-string with {os.environ[...]}",
                lit.suggest, needs)  # fmt: skip


def split_quotes(value: str) -> tuple[str, str]:
    """(prefix, quote) of a literal's source text."""
    prefix = value[: len(value) - len(value.lstrip("rRbBuUfF"))]
    quote = value[len(prefix) : len(prefix) + 3]
    if quote not in ('"""', "'''"):
        quote = quote[:1]
    return prefix, quote


def _other(quote: str) -> str:
    return "'" if quote == '"' else '"'


def _braces(text: bytes) -> bytes:
    return text.replace(b"{", b"{{").replace(b"}", b"}}")

"""Hypothesis: random Python and JavaScript programs with a key in a random literal
position still parse after the fix, keep every byte outside that literal (and the one
``import os`` line), and the new expression evaluates to the old literal's value."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import make_key
from keysentry.rewrite.plan import Target, plan
from keysentry.rewrite.treesitter import error_at, parser

KEY = make_key()
TEXT = st.text(alphabet="abcXYZ019 -_.:/", max_size=12)


@dataclass(frozen=True)
class Program:
    source: str
    start: int
    """The key literal's first character."""
    end: int


def _python_literal(draw, text: str) -> str:
    form = draw(st.sampled_from(['"{}"', "'{}'", '"""{}"""', "'''{}'''", 'r"{}"', "u'{}'"]))
    return form.format(text)


@st.composite
def python_programs(draw) -> Program:
    parts = ["x = 1\n"]
    statements = draw(st.integers(0, 5))
    key_at = draw(st.integers(0, statements))
    source = "".join(parts)
    start = end = -1
    for i in range(statements + 1):
        shape = draw(st.sampled_from(["assign", "call", "dict", "default", "class", "comment"]))
        if i == key_at:
            before, after = draw(TEXT), draw(TEXT)
            kind = draw(st.sampled_from(["plain", "fstring", "concat"]))
            if kind == "fstring":
                literal = 'f"' + before + "{x}" + KEY + after + '"'
                inner = (0, len(literal))
            elif kind == "concat":
                head = _python_literal(draw, before)
                literal = head + " " + '"' + KEY + after + '"'
                inner = (len(head) + 1, len(literal))
            else:
                literal = _python_literal(draw, before + KEY + after)
                inner = (0, len(literal))
        else:
            literal = _python_literal(draw, draw(TEXT))
            inner = None
        template = {
            "assign": "v{i} = {lit}\n",
            "call": "print(v0 if False else 0, {lit}, sep={sep})\n",
            "dict": "d{i} = {{'k': {lit}, 'n': 1}}\n",
            "default": "def f{i}(a={lit}):\n    return a\n",
            "class": "class C{i}:\n    attr = {lit}\n",
            "comment": "# note {i}\nv{i} = {lit}\n",
        }[shape]
        head = template.split("{lit}")[0].format(i=i, sep="''")
        if inner is not None:
            start = len(source) + len(head) + inner[0]
            end = len(source) + len(head) + inner[1]
        source += template.format(i=i, lit=literal, sep="''")
    return Program(source, start, end)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(python_programs())
def test_python_keeps_every_other_byte(program: Program) -> None:
    import libcst

    data = program.source.encode()
    (fp,) = plan([Target("gen.py", data, (KEY,))]).files
    assert all(o.info.fixable for o in fp.outcomes), [o.info.how for o in fp.outcomes]
    assert fp.new_data is not None
    new = fp.new_data.decode()
    libcst.parse_module(new)
    assert new.count("import os\n") == 1
    stripped = new.replace("import os\n", "", 1)
    head, tail = program.source[: program.start], program.source[program.end :]
    assert stripped.startswith(head) and stripped.endswith(tail)
    middle = stripped[len(head) : len(stripped) - len(tail)]
    assert KEY not in middle
    name = fp.outcomes[0].info.variable
    old_value = eval(program.source[program.start : program.end], {"x": 1})
    fake_os = type("os", (), {"environ": {name: KEY}})
    assert eval(middle, {"x": 1, "os": fake_os}) == old_value
    # The reports' plan (tree-sitter, what the hook runs) says exactly what fix does (libcst).
    (quick,) = plan([Target("gen.py", data, (KEY,))], quick=True).files
    assert quick.outcomes == fp.outcomes and quick.new_data == fp.new_data


@st.composite
def js_programs(draw) -> Program:
    source = "const x = 1;\nfunction call(...a) { return a; }\n"
    statements = draw(st.integers(0, 5))
    key_at = draw(st.integers(0, statements))
    start = end = -1
    for i in range(statements + 1):
        shape = draw(st.sampled_from(["const", "call", "object", "default", "comment"]))
        quote = draw(st.sampled_from(['"', "'", "`"]))
        if i == key_at:
            before, after = draw(TEXT), draw(TEXT)
            if quote == "`" and draw(st.booleans()):
                before += "${x}"
            literal = quote + before + KEY + after + quote
        else:
            literal = quote + draw(TEXT) + quote
        template = {
            "const": "const v{i} = {lit};\n",
            "call": "call(x, {lit});\n",
            "object": "const o{i} = {{ k: {lit}, n: 1 }};\n",
            "default": "function f{i}(a = {lit}) {{ return a; }}\n",
            "comment": "// note {i}\nlet w{i} = {lit};\n",
        }[shape]
        head = template.split("{lit}")[0].format(i=i)
        if i == key_at:
            start = len(source) + len(head)
            end = start + len(literal)
        source += template.format(i=i, lit=literal)
    return Program(source, start, end)


@pytest.mark.needs("node")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(js_programs())
def test_javascript_keeps_every_other_byte(program: Program) -> None:
    data = program.source.encode()
    (fp,) = plan([Target("gen.js", data, (KEY,))]).files
    assert all(o.info.fixable for o in fp.outcomes), [o.info.how for o in fp.outcomes]
    assert fp.new_data is not None
    new = fp.new_data.decode()
    assert error_at(parser("javascript").parse(fp.new_data).root_node) is None
    head, tail = program.source[: program.start], program.source[program.end :]
    assert new.startswith(head) and new.endswith(tail)
    middle = new[len(head) : len(new) - len(tail)]
    assert KEY not in middle and "process.env." in middle
    name = fp.outcomes[0].info.variable
    check = (
        "const x = 1;\n"
        f"const before = {program.source[program.start : program.end]};\n"
        f"const after = {middle};\n"
        "process.stdout.write(before === after ? 'same' : 'different');\n"
    )
    proc = subprocess.run(["node", "-e", check], capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ["PATH"], name: KEY}, check=False)  # fmt: skip
    assert proc.stdout == "same", proc.stderr

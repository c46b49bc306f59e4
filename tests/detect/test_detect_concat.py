"""Keys split across string literals, joined back, through `scan` and `history`."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from conftest import PREFIX
from formhelpers import found_in_both, nothing_in_both


def _body() -> str:
    return secrets.token_hex(32)


# name, template: {p} is the prefix, {a} {b} the halves of the body; the key starts at
# (line, column).
FORMS = [
    ("py-implicit.py", 'KEY = "{p}" "{a}{b}"\n', (1, 8)),
    ("py-plus.py", "KEY = '{p}{a}' + '{b}'\n", (1, 8)),
    ("py-paren.py", 'KEY = (\n    "sk-or"\n    "-v1-{a}"  # half\n    "{b}"\n)\n', (2, 6)),
    ("py-backslash.py", 'KEY = "{p}{a}" \\\n      "{b}"\n', (1, 8)),
    ("app.js", 'const k = "{p}" +\n  "{a}" +\n  "{b}";\n', (1, 12)),
    ("app.ts", "const k: string = `{p}{a}` + `{b}`;\n", (1, 20)),
    ("main.go", 'var key = "{p}{a}" +\n\t"{b}"\n', (1, 12)),
    ("Main.java", 'String k = "{p}" + "{a}" + "{b}";\n', (1, 13)),
    ("Program.cs", 'var k = @"{p}{a}"\n    + "{b}";\n', (1, 11)),
    ("main.rs", 'let k = concat!("sk-or", "-v1-{a}",\n    "{b}");\n', (1, 18)),
    ("lib.rs", 'let k = String::from("{p}") + "{a}{b}";\n', (1, 23)),
    ("owned.rs", 'let k = "{p}{a}".to_owned() + "{b}";\n', (1, 10)),
    ("env.sh", "K=\"sk-or\"'-v1-'\"{a}\"'{b}'\n", (1, 4)),
    ("cont.sh", 'K="{p}{a}\\\n{b}"\n', (1, 4)),
    ("c.c", 'const char *k = "{p}{a}"\n                "{b}";\n', (1, 18)),
    ("two.js", "k = 'sk' + '-or-v1-{a}' + '{b}';\n", (1, 6)),
]


@pytest.mark.parametrize(("name", "template", "where"), FORMS, ids=[f[0] for f in FORMS])
def test_split_key_is_joined(
    tmp_path: Path, name: str, template: str, where: tuple[int, int]
) -> None:
    body = _body()
    key = PREFIX + body
    content = template.format(p=PREFIX, a=body[:30], b=body[30:])
    (loc,) = found_in_both(tmp_path, name, content, key)
    assert (loc["line"], loc["column"]) == where
    assert loc["decoders"] == ["concat"]
    snippet = loc["snippet"]
    assert body[5:-5] not in snippet and body[30:40] not in snippet
    assert snippet.count('"') + snippet.count("'") + snippet.count("`") >= 2, snippet
    assert f"{body[:3]}..." in snippet and f"...{body[-3:]}" in snippet


def test_snippet_shows_the_pieces(tmp_path: Path) -> None:
    body = _body()
    content = f'KEY = "{PREFIX}" + "{body[:32]}" + "{body[32:]}"\n'
    (loc,) = found_in_both(tmp_path, "k.js", content, PREFIX + body)
    assert loc["snippet"] == f'"{PREFIX}" + "{body[:3]}..." + "...{body[-3:]}"'


NEGATIVES = [
    ("variable.py", 'K = "{p}{a}" + middle + "{b}"\n'),
    ("call.js", 'k = "{p}" + "{a}" + pad() + "{b}";\n'),
    ("template.js", "k = `{p}{a}${{x}}{b}`;\n"),
    ("long.py", 'K = "{p}{a}" "{b}" "0"\n'),
    ("long65.go", 'k := "{p}" + "{a}{b}" + "f"\n'),
    ("short63.java", 'String k = "{p}" + "{a}" + "{short}";\n'),
    ("list.py", 'KEYS = ["{p}{a}", "{b}"]\n'),
    ("dict.json", '{{"sk": "{p}{a}", "x": "{b}"}}\n'),
    ("args.rs", 'f("{p}{a}", "{b}");\n'),
    ("upper.py", 'K = "{p}" "{a}" "{upper}"\n'),
]


@pytest.mark.parametrize(("name", "template"), NEGATIVES, ids=[n[0] for n in NEGATIVES])
def test_near_misses_are_not_keys(tmp_path: Path, name: str, template: str) -> None:
    body = _body()
    content = template.format(
        p=PREFIX, a=body[:30], b=body[30:], short=body[30:-1], upper=body[30:].upper()
    )
    nothing_in_both(tmp_path, name, content)


def test_a_whole_key_in_one_literal_is_reported_once(tmp_path: Path) -> None:
    key = PREFIX + _body()
    (loc,) = found_in_both(tmp_path, "one.js", f'k = "{key}" + "\\n";\n', key)
    assert loc["decoders"] == []

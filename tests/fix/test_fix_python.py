"""keysentry fix on Python files of many shapes: each program is run before the fix and
after it (with the env file's variables), and must print the same; the rewritten file
holds no key, parses, gets at most one `import os` in the right place, and the reports'
plan (tree-sitter) says exactly what the fix did (libcst)."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import pytest

from conftest import git
from fixhelpers import fix, run_with_env
from keysentry.models import redact
from keysentry.rewrite.plan import Target, plan
from keysentry.rewrite.pystrings import OS_TAKEN

# Each case takes a second or two; a change that loops forever fails it in minutes, not ten.
pytestmark = pytest.mark.timeout(180)

PRINT = (
    "\nimport hashlib as _h\nprint([_h.sha256(str(v).encode()).hexdigest() for v in {values}])\n"
)

PROGRAMS = {
    # name: (source with {key}, the values printed)
    "nested-fstring-double": ("x = f\"{{'{key}'}}\"\n", "[x]"),
    "nested-fstring-single": ("x = f'{{\"{key}\"}}'\n", "[x]"),
    "nested-fstring-triple": ("x = f'''{{'{key}'}}'''\n", "[x]"),
    "nested-in-an-expression": ("x = f\"{{'Bearer ' + '{key}'}}\"\n", "[x]"),
    "fstring-text": ("who = 'me'\nx = f\"{{who}}: Bearer {key}\"\n", "[x]"),
    "fstring-single-quotes": ("who = 'me'\nx = f'{{who}} {key} end'\n", "[x]"),
    "fstring-triple": ('who = 1\nx = f"""{{who}}\n{key}\n"""\n', "[x]"),
    "partial-with-braces": ("x = '{{a}} Bearer {key} {{b}}'\n", "[x]"),
    "partial-u-prefix": ('x = u"Bearer {key}"\ny = U"{key}!"\n', "[x, y]"),
    "partial-raw": ('x = r"\\d Bearer {key}"\n', "[x]"),
    "partial-triple": ('x = """Bearer\n{key}\nend"""\n', "[x]"),
    "whole-triple-single": ("x = '''{key}'''\n", "[x]"),
    "concatenated": ('x = ("Bearer " "{key}")\ny = "{key}" "!"\n', "[x, y]"),
    "annotated": ('KEY: str = "{key}"\n', "[KEY]"),
    "chained-assignment": ('a = API_TOKEN = "{key}"\n', "[a, API_TOKEN]"),
    "subscript-target": ('d = {{}}\nd[0] = "{key}"\nd["ROUTER_KEY"] = "{key}"\n', "[d]"),
    "setdefault": ('d = {{}}\nd.setdefault("ROUTER_KEY", "{key}")\n', "[d]"),
    "call-positional": ('def f(*a): return a\nx = f(1, "{key}")\n', "[x]"),
    "keyword-lowercase": ('def f(**k): return k\nx = f(token="{key}")\n', "[x]"),
    "in-a-list": ('x = [1, ["{key}"]]\n', "[x]"),
    "default-argument": ('def f(k="{key}"):\n    return k\n', "[f()]"),
    "class-attribute": ('class C:\n    TOKEN = "{key}"\n', "[C.TOKEN]"),
    "return": ('def f():\n    return "{key}"\n', "[f()]"),
    "lambda": ('f = lambda: "{key}"\n', "[f()]"),
    "condition": ('x = 1\nif x and "{key}":\n    y = "{key}"\n', "[y]"),
    "deep-expression": ('x = str(len(str(len(str(["{key}"])))))\nKEY = [[[("{key}",)]]]\n',
                        "[x, KEY]"),
    "parenthesized": ('KEY = (((((((("{key}"))))))))\n', "[KEY]"),
    "six-levels": ('NAMED = [[[[[["{key}"]]]]]]\n', "[NAMED]"),
    "seven-levels": ('NAMED = [[[[[[["{key}"]]]]]]]\n', "[NAMED]"),
}  # fmt: skip


def _program(source: str, values: str, key: str) -> str:
    return source.format(key=key) + PRINT.format(values=values)


@pytest.mark.parametrize("case", sorted(PROGRAMS))
def test_the_program_prints_the_same(repo: Path, key: str, monkeypatch, capsys, case: str) -> None:
    source, values = PROGRAMS[case]
    text = _program(source, values, key)
    (repo / "prog.py").write_text(text)
    before = run_with_env(repo, [sys.executable, "-I", "prog.py"])
    assert before.returncode == 0, before.stderr
    code, out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert key not in out + err
    new = (repo / "prog.py").read_text()
    assert key not in new
    assert new.count("import os\n") == 1
    after = run_with_env(repo, [sys.executable, "-I", "prog.py"])
    assert (after.returncode, after.stdout) == (0, before.stdout), after.stderr
    data = text.encode()
    (full,) = plan([Target("prog.py", data, (key,))]).files
    (quick,) = plan([Target("prog.py", data, (key,))], quick=True).files
    assert quick.outcomes == full.outcomes and quick.new_data == full.new_data


E = "os.environ['OPENROUTER_API_KEY']"
WHOLE = 'os.environ["OPENROUTER_API_KEY"]'
IN_FSTRING = "{os.environ[...]} in the f-string"
PARTIAL = "an f-string with {os.environ[...]}"

REWRITTEN = {
    # name: (source with §, the line after the fix, what the fix says it did)
    "whole-single-quotes": ("x = '§'\n", f"x = {WHOLE}\n", WHOLE),
    "whole-triple-double": ('x = """§"""\n', f"x = {WHOLE}\n", WHOLE),
    "whole-triple-single": ("x = '''§'''\n", f"x = {WHOLE}\n", WHOLE),
    "whole-triple-in-an-fstring": ("x = f\"{'''§'''}\"\n", f'x = f"{{{E}}}"\n', E),
    "fstring": ('x = f"a §"\n', f'x = f"a {{{E}}}"\n', IN_FSTRING),
    "fstring-triple-double": ('x = f"""a §"""\n', f'x = f"""a {{{E}}}"""\n', IN_FSTRING),
    "partial": ('x = "Bearer §"\n', f'x = f"Bearer {{{E}}}"\n', PARTIAL),
    "partial-triple-double": ('x = """Bearer §"""\n', f'x = f"""Bearer {{{E}}}"""\n', PARTIAL),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(REWRITTEN))
def test_the_code_written(repo: Path, key: str, monkeypatch, capsys, case: str) -> None:
    source, expected, how = REWRITTEN[case]
    (repo / "prog.py").write_text(source.replace("§", key))
    code, out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert key not in out + err
    assert (repo / "prog.py").read_text() == "import os\n" + expected
    assert f": fixed: {how}\n" in err


BY_HAND = {
    # name: (source with {key}, the reason given)
    "bytes": ('x = b"{key}"\n', "a bytes literal: read os.environb by hand"),
    "raw-bytes": ('x = Rb"{key}"\n', "a bytes literal: read os.environb by hand"),
    "docstring": ('def f():\n    """{key}"""\n', "in a docstring: delete it by hand"),
    "comment": ("x = 1  # {key}\n", "not inside a string literal (a comment?): delete it by hand"),
    "nested-partial": ("x = f\"{{'Bearer {key}'}}\"\n",
                       "part of a literal inside an f-string's replacement field: change it by "
                       "hand"),
    "nested-fstring": ("y = 1\nx = f\"{{f'{{y}}{key}'}}\"\n",
                       "part of a literal inside an f-string's replacement field: change it by "
                       "hand"),
    # (Python 3.12 syntax: tree-sitter sees the comment inside the f-string)
    "comment-in-an-fstring-field": ('x = f"""{{1 # {key}\n}}"""\n',
                                    "not inside a string literal (a comment?): delete it by hand"),
    # (import os would go at the end of the docstring's line, the file's last)
    "docstring-and-code-on-the-last-line": ('"""Doc."""; KEY = "{key}"',
                                            "the rewritten file would not parse (line "),
    "match-pattern": ('x = 1\nmatch x:\n    case "{key}":\n        pass\n',
                      "the rewritten file would not parse (line "),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BY_HAND))
def test_left_by_hand(repo: Path, key: str, monkeypatch, capsys, case: str) -> None:
    source, reason = BY_HAND[case]
    text = source.format(key=key)
    (repo / "prog.py").write_text(text)
    code, out, err = fix(repo, monkeypatch, capsys)
    assert code == 3, err
    assert key not in out + err
    assert f": {reason}" in err
    assert (repo / "prog.py").read_text() == text
    assert not (repo / ".env").exists()
    (full,) = plan([Target("prog.py", text.encode(), (key,))]).files
    (quick,) = plan([Target("prog.py", text.encode(), (key,))], quick=True).files
    # (the two parsers may name different lines for a rewrite that would not parse)
    assert [(o.position, o.info.fixable, o.info.how[:40]) for o in quick.outcomes] == [
        (o.position, o.info.fixable, o.info.how[:40]) for o in full.outcomes
    ]
    assert quick.new_data == full.new_data is None


IMPORTS = {
    # name: (source with {key}, the source after the fix, with NAME for the variable)
    "after-the-docstring": ('"""Doc."""\nKEY = "{key}"\n',
                            '"""Doc."""\nimport os\nKEY = os.environ["KEY"]\n'),
    "after-a-concatenated-docstring": ('"Doc" "string"\nKEY = "{key}"\n',
                                       '"Doc" "string"\nimport os\nKEY = os.environ["KEY"]\n'),
    "after-future-imports": ('"""Doc."""\nfrom __future__ import annotations\n\nKEY = "{key}"\n',
                             '"""Doc."""\nfrom __future__ import annotations\nimport os\n\n'
                             'KEY = os.environ["KEY"]\n'),
    "before-the-first-import": ('"""Doc."""\n# c\nimport json\nKEY = "{key}"\n',
                                '"""Doc."""\n# c\nimport os\nimport json\n'
                                'KEY = os.environ["KEY"]\n'),
    "before-a-from-import": ('from json import dumps\nKEY = "{key}"\n',
                             'import os\nfrom json import dumps\nKEY = os.environ["KEY"]\n'),
    "after-the-header-comments": ('#!/usr/bin/env python3\n# -*- coding: utf-8 -*-\n\nKEY = "{key}"\n',
                                  '#!/usr/bin/env python3\n# -*- coding: utf-8 -*-\n\nimport os\n'
                                  'KEY = os.environ["KEY"]\n'),
    "a-string-later-is-no-docstring": ('x = 1\n"text"\nKEY = "{key}"\n',
                                       'import os\nx = 1\n"text"\nKEY = os.environ["KEY"]\n'),
    "first-line-decides-the-newline": ('KEY = "{key}"\nx = 1\r\n',
                                       'import os\nKEY = os.environ["KEY"]\nx = 1\r\n'),
    "os-imported-after-code": ('x = 1\nimport os\nKEY = "{key}"\n',
                               'x = 1\nimport os\nKEY = os.environ["KEY"]\n'),
    "os-imported-after-a-compound-statement": ('if True:\n    pass\nimport os\nKEY = "{key}"\n',
                                               'if True:\n    pass\nimport os\nKEY = os.environ["KEY"]\n'),
    "os-imported-as-os": ('import os as os\nKEY = "{key}"\n',
                          'import os as os\nKEY = os.environ["KEY"]\n'),
    "before-a-from-import-after-a-comment": ('"""Doc."""\n# c\nfrom json import dumps\nKEY = "{key}"\n',
                                             '"""Doc."""\n# c\nimport os\nfrom json import dumps\n'
                                             'KEY = os.environ["KEY"]\n'),
    "after-a-leading-blank-line": ('\nimport json\nKEY = "{key}"\n',
                                   '\nimport os\nimport json\nKEY = os.environ["KEY"]\n'),
    "after-a-leading-blank-line-no-imports": ('\nKEY = "{key}"\n', '\nimport os\nKEY = os.environ["KEY"]\n'),
    "crlf": ('"""Doc."""\r\nKEY = "{key}"\r\n', '"""Doc."""\r\nimport os\r\nKEY = os.environ["KEY"]\r\n'),
    "already-imported": ('import sys, os\nKEY = "{key}"\n', 'import sys, os\nKEY = os.environ["KEY"]\n'),
    "os-path-imports-os": ('import os.path\nKEY = "{key}"\n',
                           'import os.path\nKEY = os.environ["KEY"]\n'),
    "an-alias-is-not-os": ('import os as system\nKEY = "{key}"\n',
                           'import os\nimport os as system\nKEY = os.environ["KEY"]\n'),
    "os-path-alias-is-not-os": ('import os.path as osp\nKEY = "{key}"\n',
                                'import os\nimport os.path as osp\nKEY = os.environ["KEY"]\n'),
    "from-os-is-not-os": ('from os import sep\nKEY = "{key}"\n',
                          'import os\nfrom os import sep\nKEY = os.environ["KEY"]\n'),
    "from-m-import-os-as-another": ('from m import os as system\nKEY = "{key}"\n',
                                    'import os\nfrom m import os as system\nKEY = os.environ["KEY"]\n'),
    "a-star-import": ('from m import *\nKEY = "{key}"\n',
                      'import os\nfrom m import *\nKEY = os.environ["KEY"]\n'),
    "os-in-a-function-only": ('def f():\n    import os\n    return "{key}"\n',
                              'import os\ndef f():\n    import os\n'
                              '    return os.environ["OPENROUTER_API_KEY"]\n'),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(IMPORTS))
def test_import_os_goes_where_python_wants_it(
    repo: Path, key: str, monkeypatch, capsys, case: str
) -> None:
    source, expected = IMPORTS[case]
    (repo / "prog.py").write_bytes(source.format(key=key).encode())
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert (repo / "prog.py").read_bytes() == expected.encode()
    data = source.format(key=key).encode()
    (full,) = plan([Target("prog.py", data, (key,))]).files
    (quick,) = plan([Target("prog.py", data, (key,))], quick=True).files
    assert quick.outcomes == full.outcomes and quick.new_data == full.new_data


OS_TAKEN_BY = [
    "import sys as os\n",
    "import os.path as os\n",
    "import os, sys as os\n",
    "x = 1; import sys as os\n",
    "from m import os\n",
    "from . import os\n",
    "from m import (a, os)\n",
    "from m import x as os\n",
    "from m import os as os\n",
    "import os as system, sys as os\n",
]


@pytest.mark.parametrize("statement", OS_TAKEN_BY)
def test_a_module_that_imports_something_else_as_os_is_left(
    repo: Path, key: str, monkeypatch, capsys, statement: str
) -> None:
    """os.environ there would be that other thing's: the program would fail when run."""
    text = f'{statement}KEY = "{key}"\n'
    (repo / "prog.py").write_text(text)
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3, err
    assert f"prog.py:2:8: change by hand: {redact(key)}: {OS_TAKEN}\n" in err
    assert (repo / "prog.py").read_text() == text
    data = text.encode()
    (full,) = plan([Target("prog.py", data, (key,))]).files
    (quick,) = plan([Target("prog.py", data, (key,))], quick=True).files
    assert [o.info.how for o in full.outcomes] == [OS_TAKEN]
    assert quick.outcomes == full.outcomes and quick.new_data is None


def test_a_file_that_does_not_parse_is_left(repo: Path, key: str, monkeypatch, capsys) -> None:
    text = f'KEY = "{key}"\nif x\n'
    (repo / "prog.py").write_text(text)
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3
    assert "prog.py:1:8: change by hand: " in err
    assert "does not parse as Python (line 2): fix the syntax first" in err
    assert (repo / "prog.py").read_text() == text
    git(repo, "add", "-A")
    monkeypatch.chdir(repo)
    from keysentry.cli import main

    out = repo.parent / "r.txt"
    assert main(["staged", "--output", str(out), "--quiet"]) == 1
    assert "change by hand: does not parse as Python: fix the syntax first" in out.read_text()


SUGGESTED = {
    # source with §: the variable both plans choose
    'd = {}\nd[b"ROUTER_KEY"] = "§"\n': "OPENROUTER_API_KEY",
    'd = {}\nd[f"ROUTER_KEY"] = "§"\n': "OPENROUTER_API_KEY",
    'a = 1\nd = {}\nd[f"X{a}"] = "§"\n': "OPENROUTER_API_KEY",
    'd = {}\nd["A", "B"] = "§"\n': "OPENROUTER_API_KEY",
    'd = {}\nd[u"ROUTER_KEY"] = "§"\n': "ROUTER_KEY",
    'd = {}\nd[r"ROUTER_KEY"] = "§"\n': "ROUTER_KEY",
    'd = {}\nd["""ROUTER_KEY"""] = "§"\n': "ROUTER_KEY",
    'd = {}\nd[NAME] = "§"\n': "OPENROUTER_API_KEY",
    "x = {'ROUTER_KEY' 'X': '§'}\n": "OPENROUTER_API_KEY",
    'x = {"§": 1}\nROUTER_KEY = {"§": 1}\n': "ROUTER_KEY",
    'f(**{"ROUTER_KEY": "§"})\n': "ROUTER_KEY",
    'f("ROUTER_KEY", token="§")\n': "ROUTER_KEY",
    'f(ROUTER_KEY, "§")\n': "OPENROUTER_API_KEY",
    'f("§", "ROUTER_KEY")\n': "OPENROUTER_API_KEY",
    'f(x)(ROUTER_KEY="§")\n': "ROUTER_KEY",
    'os.environ.setdefault("ROUTER_KEY", "§")\n': "ROUTER_KEY",
    'a.b.ROUTER_KEY = "§"\n': "ROUTER_KEY",
    'f()[0] = "§"\n': "OPENROUTER_API_KEY",
    'x = ROUTER_KEY = y = "§"\n': "OPENROUTER_API_KEY",
    'x = y = ROUTER_KEY = "§"\n': "ROUTER_KEY",
    'ROUTER_KEY: "A" = "§"\n': "ROUTER_KEY",
    'print("§")\n': "OPENROUTER_API_KEY",
    'if x:\n    print(ROUTER_KEY="§")\n': "ROUTER_KEY",
    'def f():\n    return ("§")\n': "OPENROUTER_API_KEY",
    'NAMED = [[[[["§"]]]]]\n': "NAMED",
    'NAMED = not not not not not "§"\n': "NAMED",
    'NAMED = not not not not not not "§"\n': "OPENROUTER_API_KEY",
    'a, b = "§", 1\n': "OPENROUTER_API_KEY",
    'ROUTER_KEY = f"§ b"\n': "ROUTER_KEY",
    'ROUTER_KEY = "Bearer §"\n': "ROUTER_KEY",
}


@pytest.mark.parametrize("source", sorted(SUGGESTED))
def test_the_name_both_plans_choose(key: str, source: str) -> None:
    data = source.replace("§", key).encode()
    (full,) = plan([Target("a.py", data, (key,))]).files
    (quick,) = plan([Target("a.py", data, (key,))], quick=True).files
    assert {o.info.variable for o in full.outcomes} == {SUGGESTED[source]}
    assert quick.outcomes == full.outcomes and quick.new_data == full.new_data


@pytest.mark.parametrize("quick", [False, True])
def test_a_file_without_the_key_has_nothing_to_fix(key: str, quick: bool) -> None:
    """(a key the scanner found decoded, say): no site, nothing to write"""
    (fp,) = plan([Target("a.py", b"x = 1\n", (key,))], quick=quick).files
    assert (fp.outcomes, fp.new_data) == ([], None)


def test_a_key_in_a_comment_before_the_code(key: str) -> None:
    data = f'# {key}\nx = "{key}"\n'.encode()
    (full,) = plan([Target("a.py", data, (key,))]).files
    (quick,) = plan([Target("a.py", data, (key,))], quick=True).files
    assert [o.info.fixable for o in full.outcomes] == [False, True]
    assert quick.outcomes == full.outcomes and quick.new_data == full.new_data


@pytest.mark.parametrize("call", ['f("§")\n', 'f("§", x)\n', 'f(token="§")\n'])
def test_a_key_that_reads_as_a_name_is_not_its_own_name(call: str) -> None:
    """A rule of one's own may match upper-case keys: the key never names itself."""
    secret = "K" + secrets.token_hex(16).upper()
    data = call.replace("§", secret).encode()
    (full,) = plan([Target("a.py", data, (secret,))]).files
    (quick,) = plan([Target("a.py", data, (secret,))], quick=True).files
    assert {o.info.variable for o in full.outcomes} == {"OPENROUTER_API_KEY"}
    assert quick.outcomes == full.outcomes and quick.new_data == full.new_data


def test_the_reports_read_a_literal_that_is_not_utf8(key: str) -> None:
    """(libcst cannot read such a file; tree-sitter can, and the reports must not fail)"""
    data = f'd = {{"\xff": "{key}"}}\nx = "\xff {key}"\n'.encode("latin-1")
    (quick,) = plan([Target("a.py", data, (key,))], quick=True).files
    assert [o.info.fixable for o in quick.outcomes] == [True, True]

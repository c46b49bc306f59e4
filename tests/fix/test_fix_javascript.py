"""keysentry fix in JavaScript and TypeScript: the code written for each shape of literal,
what is left by hand, and which files are front-end code (left by hand with the advice of
a server-side proxy). Every case runs `keysentry fix` on a real repository."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import git
from fixhelpers import env_file, fix
from keysentry.rewrite.javascript import FRONT_END_DEPENDENCIES, PROXY_ADVICE
from keysentry.rewrite.plan import Target, plan
from keysentry.rewrite.treesitter import error_at, parser

# Each case takes a second or two; a change that loops forever fails it in minutes, not ten.
pytestmark = pytest.mark.timeout(180)

E = "process.env.OPENROUTER_API_KEY"
COMMENT = "not inside a string literal (a comment?): delete it by hand"

FIXED = {
    # name: (file, source with §, the source after the fix)
    "quotes": ("a.js", "const a = '§';\nconst b = \"§\";\n", f"const a = {E};\nconst b = {E};\n"),
    "template-whole": ("a.js", "const a = `§`;\n", f"const a = `${{{E}}}`;\n"),
    "template-part": ("a.mjs", "const a = `x ${1} §!`;\n", f"const a = `x ${{1}} ${{{E}}}!`;\n"),
    "partial-escapes": ("a.cjs", "const a = 'a`b ${c} §';\n",
                        f"const a = `a\\`b \\${{c}} ${{{E}}}`;\n"),
    "partial-after": ("a.js", 'const a = "§ tail`";\n', f"const a = `${{{E}}} tail\\``;\n"),
    "object-value": ("a.ts", 'const o = { "k": "§" };\n', f'const o = {{ "k": {E} }};\n'),
    "jsx-attribute": ("a.jsx", 'const x = <A k="§" h="Bearer §" />;\n',
                      f"const x = <A k={{{E}}} h={{`Bearer ${{{E}}}`}} />;\n"),
    "tsx": ("a.tsx", "const x = <A k='§' />;\n", f"const x = <A k={{{E}}} />;\n"),
    "typescript-types": ("a.ts", "const k: string = '§';\n", f"const k: string = {E};\n"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(FIXED))
def test_the_code_written(repo: Path, key: str, monkeypatch, capsys, case: str) -> None:
    name, source, expected = FIXED[case]
    (repo / name).write_text(source.replace("§", key))
    code, out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    new = (repo / name).read_text()
    assert new == expected
    grammar = {"a.ts": "typescript", "a.tsx": "tsx"}.get(name, "javascript")
    assert error_at(parser(grammar).parse(new.encode()).root_node) is None
    assert key not in out + err


BY_HAND = {
    "object-key": ("a.js", 'const o = { "§": 1 };\n', "an object key"),
    "interface-key": ("a.ts", 'interface A { "§": string }\n', "an object key"),
    "import": ("a.mjs", 'import x from "§";\n', "a module name"),
    "export": ("a.mjs", 'export { x } from "§";\n', "a module name"),
    "comment": ("a.js", "// §\nconst a = 1;\n", COMMENT),
    "jsx-text": ("a.jsx", "const x = <p>§</p>;\n", COMMENT),
    # a class member's name is no expression: process.env.X() {} would not parse
    "method-name": (
        "a.js",
        'class A { "§"() {} }\n',
        "the rewritten file would not parse (line 1)",
    ),
}


@pytest.mark.parametrize("case", sorted(BY_HAND))
def test_left_by_hand(repo: Path, key: str, monkeypatch, capsys, case: str) -> None:
    name, source, reason = BY_HAND[case]
    text = source.replace("§", key)
    (repo / name).write_text(text)
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3, err
    assert f": {reason}\n" in err
    assert (repo / name).read_text() == text


def test_what_the_fix_says_it_did(repo: Path, key: str, monkeypatch, capsys) -> None:
    (repo / "a.js").write_text(
        "const a = `x §`;\nconst b = 'y §';\nconst c = '§';\n".replace("§", key)
    )
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert "a.js:1:14: fixed: ${process.env.OPENROUTER_API_KEY} in the template\n" in err
    assert "a.js:2:14: fixed: a template literal with ${process.env.OPENROUTER_API_KEY}\n" in err
    assert "a.js:3:12: fixed: process.env.OPENROUTER_API_KEY\n" in err


@pytest.mark.parametrize(
    "source", ["const ROUTER_KEY = `§`;\n", "const ROUTER_KEY = `x ${1} §`;\n",
               "const ROUTER_KEY = 'Bearer §';\n", "const ROUTER_KEY = '§';\n"]
)  # fmt: skip
def test_the_name_the_code_gives_the_key(
    repo: Path, key: str, monkeypatch, capsys, source: str
) -> None:
    (repo / "a.js").write_text(source.replace("§", key))
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert "process.env.ROUTER_KEY" in (repo / "a.js").read_text()
    assert env_file(repo) == {"ROUTER_KEY": key}


def test_a_file_without_the_key_has_nothing_to_fix(key: str) -> None:
    """(a key the scanner found decoded, say): no site, nothing to write"""
    (fp,) = plan([Target("a.js", b"const a = 1;\n", (key,))]).files
    assert (fp.outcomes, fp.new_data) == ([], None)


def _web(repo: Path, manifest: object, path: str, text: str) -> None:
    (repo / "package.json").write_text(json.dumps(manifest))
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(text)


@pytest.mark.parametrize("prefix", ["import.meta.env.MODE", "NEXT_PUBLIC_URL", "VITE_URL",
                                    "REACT_APP_URL", "NUXT_PUBLIC_URL"])  # fmt: skip
def test_a_public_env_prefix_marks_front_end_code(
    repo: Path, key: str, monkeypatch, capsys, prefix: str
) -> None:
    text = f'const url = {prefix};\nconst k = "{key}";\n'
    (repo / "lib.js").write_text(text)
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3, err
    assert "lib.js:2:12: change by hand: " in err and PROXY_ADVICE in err
    assert (repo / "lib.js").read_text() == text


@pytest.mark.parametrize("dependency", FRONT_END_DEPENDENCIES)
@pytest.mark.parametrize("section", ["dependencies", "devDependencies", "peerDependencies"])
def test_a_front_end_framework_marks_its_source_folders(
    repo: Path, key: str, monkeypatch, capsys, dependency: str, section: str
) -> None:
    text = f'export const k = "{key}";\n'
    _web(repo, {"name": "web", section: {dependency: "1"}}, "src/key.js", text)
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3, err
    assert PROXY_ADVICE in err
    assert (repo / "src/key.js").read_text() == text


@pytest.mark.parametrize("folder", ["src", "app", "pages", "components", "public"])
def test_each_source_folder_of_a_web_app(
    repo: Path, key: str, monkeypatch, capsys, folder: str
) -> None:
    _web(
        repo,
        {"dependencies": {"react": "18"}},
        f"{folder}/deep/k.ts",
        f'export const k = "{key}";\n',
    )
    assert fix(repo, monkeypatch, capsys)[0] == 3


@pytest.mark.parametrize(
    "path",
    [
        "web/components/k.js",  # a source folder deeper than the top
        "src\\k.js",  # a Windows path: a file named so on POSIX is read as one too
    ],
)
def test_a_source_folder_anywhere_in_the_path(
    repo: Path, key: str, monkeypatch, capsys, path: str
) -> None:
    text = f'export const k = "{key}";\n'
    _web(repo, {"dependencies": {"react": "18"}}, path, text)
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3, err
    assert PROXY_ADVICE in err
    assert (repo / path).read_text() == text


@pytest.mark.parametrize(
    ("manifest", "path"),
    [
        ({"dependencies": {"react": "18"}}, "src/api/key.js"),  # an API route
        ({"dependencies": {"react": "18"}}, "src/db.server.js"),  # a server module
        ({"dependencies": {"react": "18"}}, "server/src/key.js"),
        ({"dependencies": {"react": "18"}}, "lib/key.js"),  # not a source folder of the app
        ({"dependencies": {"express": "4"}}, "src/key.js"),  # no front-end framework
        ({"dependencies": ["react"]}, "src/key.js"),  # not a map of dependencies
        (["react"], "src/key.js"),  # not a manifest
        ("{ not json", "src/key.js"),
        (None, "src/key.js"),  # no package.json at all (nor above the repository)
    ],
)
def test_server_code_is_fixed(
    tmp_path: Path, key: str, monkeypatch, capsys, manifest: object, path: str
) -> None:
    # a front-end manifest above the repository must not count
    (tmp_path / "package.json").write_text(json.dumps({"dependencies": {"react": "18"}}))
    repo = tmp_path / "work"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(f'export const k = "{key}";\n')
    if isinstance(manifest, str):
        (repo / "package.json").write_text(manifest)
    elif manifest is not None:
        (repo / "package.json").write_text(json.dumps(manifest))
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert (repo / path).read_text() == f"export const k = {E};\n"


def test_the_nearest_manifest_decides(repo: Path, key: str, monkeypatch, capsys) -> None:
    """A server package inside a repository whose top is a web app: its own manifest."""
    _web(repo, {"dependencies": {"react": "18"}}, "README.md", "# web\n")
    (repo / "backend").mkdir()
    (repo / "backend/package.json").write_text(json.dumps({"dependencies": {"express": "4"}}))
    (repo / "backend/src").mkdir()
    (repo / "backend/src/k.js").write_text(f'export const k = "{key}";\n')
    assert fix(repo, monkeypatch, capsys)[0] == 1

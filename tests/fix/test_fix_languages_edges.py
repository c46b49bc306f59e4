"""keysentry fix in Go, Rust and shell at the edges: a key in a comment before one in a
literal, the shape of a heredoc's opener, a Go file without a package clause or with a
const built by a call, a rewrite that would not parse, and the message each shell
rewrite prints. Each case runs `keysentry fix` on a real repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixhelpers import env_file, fix

pytestmark = pytest.mark.timeout(180)

V = 'os.Getenv("OPENROUTER_API_KEY")'
S = 'std::env::var("OPENROUTER_API_KEY").expect("OPENROUTER_API_KEY is not set")'
COMMENT = "not inside a string literal (a comment?): delete it by hand"

AFTER_A_COMMENT = {
    # name: (file, source with § (first in a comment), the source after the fix)
    "go": ("a.go", 'package main\n\nimport "os"\n\n// §\nvar k = "§"\n',
           f'package main\n\nimport "os"\n\n// §\nvar k = {V}\n'),
    "rust": ("a.rs", 'fn main() {\n    // §\n    call("§");\n}\n',
             f"fn main() {{\n    // §\n    call(&{S});\n}}\n"),
    "shell": ("a.sh", "# §\nK='§'\n", '# §\nK="${OPENROUTER_API_KEY}"\n'),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(AFTER_A_COMMENT))
def test_a_key_in_a_literal_after_one_in_a_comment_is_still_fixed(
    repo: Path, key: str, monkeypatch, capsys, case: str
) -> None:
    name, source, expected = AFTER_A_COMMENT[case]
    (repo / name).write_text(source.replace("§", key))
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3, err
    assert f": {COMMENT}\n" in err and ": fixed: " in err
    assert (repo / name).read_text() == expected.replace("§", key)
    assert env_file(repo) == {"OPENROUTER_API_KEY": key}


FIXED = {
    # name: (file, source with §, the source after the fix)
    "go-without-a-package-clause": ("a.go", 'var k = "§"\n', f"var k = {V}\n"),
    "go-const-from-a-call": ("a.go", 'package main\n\nimport "os"\n\nconst k = len("§")\n',
                             f'package main\n\nimport "os"\n\nvar k = len({V})\n'),
    # (the quote is in the heredoc's body, not in its opener)
    "shell-heredoc-body-with-a-quote": ("a.sh", "cat <<EOF\nit's §\nEOF\n",
                                        "cat <<EOF\nit's ${OPENROUTER_API_KEY}\nEOF\n"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(FIXED))
def test_the_code_written_at_the_edges(
    repo: Path, key: str, monkeypatch, capsys, case: str
) -> None:
    name, source, expected = FIXED[case]
    (repo / name).write_text(source.replace("§", key))
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert (repo / name).read_text() == expected
    assert env_file(repo) == {"OPENROUTER_API_KEY": key}


BY_HAND = {
    # name: (file, source with §, the reason given)
    "shell-quoted-heredoc-after-a-space": ("a.sh", "cat << 'EOF'\n§\nEOF\n",
                                           "in a quoted heredoc, which does not expand variables"),
    "rust-static-array": ("a.rs", 'static S: [&str; 1] = ["§"];\n',
                          "a Rust const or static cannot read the environment"),
    "go-import-path": ("a.go", 'package main\n\nimport "§"\n',
                       "the rewritten file would not parse (line 3)"),
    # (a literal pattern: the read of the environment is no pattern)
    "rust-let-pattern": ("a.rs", 'fn main() {\n    let "§" = x;\n}\n',
                         "the rewritten file would not parse (line 2)"),
    "shell-function-name": ("a.sh", "function §() { :; }\n",
                            "the rewritten file would not parse (line 1)"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BY_HAND))
def test_left_by_hand_at_the_edges(repo: Path, key: str, monkeypatch, capsys, case: str) -> None:
    name, source, reason = BY_HAND[case]
    text = source.replace("§", key)
    (repo / name).write_text(text)
    code, out, err = fix(repo, monkeypatch, capsys)
    assert code == 3, err
    assert (repo / name).read_text() == text
    assert reason in err
    assert key not in out + err


SHELL_HOW = {
    "double-quoted": ('K="x §"\n', "${OPENROUTER_API_KEY}"),
    "heredoc": ("cat <<EOF\n§\nEOF\n", "${OPENROUTER_API_KEY}"),
    "single-quoted": ("K='x §'\n", '"${OPENROUTER_API_KEY}"'),
    "word": ("K=§\n", '"${OPENROUTER_API_KEY}"'),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(SHELL_HOW))
def test_what_a_shell_rewrite_is_called(
    repo: Path, key: str, monkeypatch, capsys, case: str
) -> None:
    source, how = SHELL_HOW[case]
    (repo / "a.sh").write_text(source.replace("§", key))
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert f": fixed: {how}\n" in err

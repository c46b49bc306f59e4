"""keysentry fix in Go, Java, C#, Ruby, PHP, PowerShell, Rust and shell: the exact code it
writes for each shape of literal, the places where a read of the environment is not
allowed (left by hand, the file untouched there), and the import Go needs. Every case
runs `keysentry fix` on a real repository; every rewritten file parses (tree-sitter, no
error node)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixhelpers import env_file, fix
from keysentry.rewrite.kinds import classify
from keysentry.rewrite.plan import Target, plan
from keysentry.rewrite.treesitter import error_at, parser

# Each case takes a second or two; a change that loops forever fails it in minutes, not ten.
pytestmark = pytest.mark.timeout(180)

V = 'os.Getenv("OPENROUTER_API_KEY")'
J = 'System.getenv("OPENROUTER_API_KEY")'
C = 'System.Environment.GetEnvironmentVariable("OPENROUTER_API_KEY")'
R = 'ENV.fetch("OPENROUTER_API_KEY")'
P = "getenv('OPENROUTER_API_KEY')"
S = 'std::env::var("OPENROUTER_API_KEY").expect("OPENROUTER_API_KEY is not set")'
COMMENT = "not inside a string literal (a comment?): delete it by hand"

FIXED = {
    # name: (file, source with § for the key, the source after the fix)
    "go-var-no-import": ("a.go", 'package main\n\nvar k = "§"\n',
                         f'package main\nimport "os"\n\nvar k = {V}\n'),
    "go-no-newline-after-package": ("a.go", 'package main; var k = "§"',
                                    f'package main; var k = {V}\nimport "os"\n'),
    "go-import-block": ("a.go", 'package main\n\nimport (\n\t"fmt"\n)\n\nvar k = "§"\nvar _ = fmt.Sprint\n',
                        f'package main\n\nimport (\n\t"os"\n\t"fmt"\n)\n\nvar k = {V}\n'
                        "var _ = fmt.Sprint\n"),
    "go-one-import": ("a.go", 'package main\n\nimport "fmt"\n\nfunc f() { fmt.Println(`Bearer §`) }\n',
                      f'package main\n\nimport "fmt"\nimport "os"\n\n'
                      f"func f() {{ fmt.Println(`Bearer ` + {V}) }}\n"),
    "go-os-imported": ("a.go", 'package main\n\nimport "os"\n\nvar k = "Bearer §" + os.Args[0]\n',
                       f'package main\n\nimport "os"\n\nvar k = ("Bearer " + {V}) + os.Args[0]\n'),
    "go-os-in-a-block": ("a.go", 'package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\nvar k = "§!"\n',
                         f'package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\nvar k = {V} + "!"\n'),
    "go-os-aliased": ("a.go", 'package main\n\nimport o "os"\n\nvar k = "§"\nvar _ = o.Args\n',
                      f'package main\n\nimport o "os"\nimport "os"\n\nvar k = {V}\nvar _ = o.Args\n'),
    "go-const": ("a.go", 'package main\n\nimport "os"\n\nconst k = "§"\n',
                 f'package main\n\nimport "os"\n\nvar k = {V}\n'),
    "java-parenthesized": ("A.java", 'class A {\n  String h = ("Bearer §").trim();\n  String g = "§" + "x";\n}\n',
                           f'class A {{\n  String h = (("Bearer " + {J})).trim();\n'
                           f'  String g = {J} + "x";\n}}\n'),
    "java-argument": ("A.java", 'class A {\n  void f() { g("a §", "§ b"); }\n}\n',
                      f'class A {{\n  void f() {{ g("a " + {J}, {J} + " b"); }}\n}}\n'),
    "csharp-verbatim": ("a.cs", 'class A {\n  string V = @"§";\n  string W = @"Bearer §";\n'
                        '  static readonly string R = "§";\n}\n',
                        f'class A {{\n  string V = {C};\n  string W = @"Bearer " + {C};\n'
                        f"  static readonly string R = {C};\n}}\n"),
    "csharp-interpolated": ("a.cs", 'class A {\n  string W = $"{1} §";\n}\n',
                            f'class A {{\n  string W = $"{{1}} {{{C}}}";\n}}\n'),
    "ruby": ("a.rb", "H = 'Bearer §'\nI = \"§\"\nJ = \"#{1}§\"\n",
             f"H = 'Bearer ' + {R}\nI = {R}\nJ = \"#{{1}}#{{{R}}}\"\n"),
    "php": ("a.php", "<?php\n$h = \"Bearer §\";\n$w = '§' . 'x';\n$v = strtoupper('Bearer §');\n",
            f"<?php\n$h = \"Bearer \" . {P};\n$w = {P} . 'x';\n$v = strtoupper('Bearer ' . {P});\n"),
    "powershell": ("a.ps1", "$a = '§'\n$b = 'Bearer §'\n$c = \"§\"\n$d = \"x $a §\"\n",
                   "$a = $env:OPENROUTER_API_KEY\n$b = ('Bearer ' + $env:OPENROUTER_API_KEY)\n"
                   "$c = $env:OPENROUTER_API_KEY\n$d = \"x $a ${env:OPENROUTER_API_KEY}\"\n"),
    "rust": ("a.rs", 'fn main() {\n    let a: String = "§".to_string();\n    let b: &str = "§";\n'
             '    let c: String = "§";\n    let d = r#"§"#;\n    call("§");\n}\n',
             f"fn main() {{\n    let a: String = {S}.to_string();\n    let b: &str = &{S};\n"
             f"    let c: String = {S};\n    let d = &{S};\n    call(&{S});\n}}\n"),
    "shell": ("a.sh", "cat <<EOF\nBearer §\nEOF\necho '§'\necho 'Bearer §'\necho '§ end'\n"
              "echo \"x §\"\nK=§\ncurl -H X:§\n",
              'cat <<EOF\nBearer ${OPENROUTER_API_KEY}\nEOF\necho "${OPENROUTER_API_KEY}"\n'
              "echo 'Bearer '\"${OPENROUTER_API_KEY}\"\necho \"${OPENROUTER_API_KEY}\"' end'\n"
              'echo "x ${OPENROUTER_API_KEY}"\nK="${OPENROUTER_API_KEY}"\n'
              'curl -H X:"${OPENROUTER_API_KEY}"\n'),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(FIXED))
def test_the_code_written(repo: Path, monkeypatch, capsys, case: str, key: str) -> None:
    name, source, expected = FIXED[case]
    (repo / name).write_text(source.replace("§", key))
    code, out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    new = (repo / name).read_text()
    assert new == expected
    assert key not in out + err
    grammar = {"a.sh": "shell", "a.ps1": "powershell", "a.cs": "csharp"}.get(name) or classify(
        name, b""
    )
    assert error_at(parser(grammar).parse(new.encode()).root_node) is None
    assert env_file(repo) == {"OPENROUTER_API_KEY": key}
    for line in err.splitlines():
        if ": fixed: " in line:
            how = line.split(": fixed: ", 1)[1]
            assert "OPENROUTER_API_KEY" in how and "{{" not in how and "}}" not in how, how


INTERPOLATED = {
    "a.cs": ('class A {\n  string W = $"{1} §";\n}\n',
             '{System.Environment.GetEnvironmentVariable("OPENROUTER_API_KEY")}'),
    "a.rb": ('J = "#{1}§"\n', '#{ENV.fetch("OPENROUTER_API_KEY")}'),
    "a.ps1": ('$d = "x $a §"\n', "${env:OPENROUTER_API_KEY}"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(INTERPOLATED))
def test_what_an_interpolation_is_called(repo: Path, key: str, monkeypatch, capsys, name) -> None:
    source, how = INTERPOLATED[name]
    (repo / name).write_text(source.replace("§", key))
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert f": fixed: {how}\n" in err


BY_HAND = {
    # name: (file, source with §, the reasons given, in order)
    "go-const-block": ("a.go", 'package main\n\nconst (\n\ta = "§"\n\tb = 1\n)\n',
                       ["a Go constant cannot read the environment (and this const block holds "
                        "more): make it a var by hand"]),
    "go-const-two-names": ("a.go", 'package main\n\nconst a, b = "§", "x"\n',
                           ["a Go constant cannot read the environment (and this const block "
                            "holds more): make it a var by hand"]),
    "go-const-parenthesized": ("a.go", 'package main\n\nconst (\n\ta = "§"\n)\n',
                               ["a Go constant cannot read the environment (and this const "
                                "block holds more): make it a var by hand"]),
    "go-comment": ("a.go", "package main\n// §\n", [COMMENT]),
    "java": ("A.java", 'class A {\n  @Header("§")\n  void f(String s) {\n'
             '    switch (s) { case "§": break; }\n    String t = """\n      §\n      """;\n'
             "  }\n}\n",
             ["an annotation needs a constant", "a case label needs a constant",
              "in a literal of a form keysentry does not rewrite (heredoc, text block)"]),
    "java-comment": ("A.java", "class A {}\n/* § */\n", [COMMENT]),
    "csharp": ("a.cs", 'class A {\n  const string K1 = "§";\n'
               '  void F(string s = "§") { const string L = "§"; }\n'
               '  [Obsolete("§")] void G() {}\n  bool T(object o) => o is "§";\n'
               '  void U(string s) { switch (s) { case "§": break; } }\n}\n',
               ["a constant cannot read the environment (make it a static readonly variable)",
                "a default parameter value needs a constant",
                "a constant cannot read the environment (make it a static readonly variable)",
                "an attribute needs a constant", "a pattern (case, is) needs a constant",
                "a pattern (case, is) needs a constant"]),
    "php": ("a.php", "<?php\nconst KEY = '§';\n"
            "class C { const X = '§'; public $p = '§'; function f($a = '§') {} }\n",
            ["a PHP constant needs a constant expression",
             "a PHP constant needs a constant expression",
             "a property's default needs a constant expression",
             "a default parameter value needs a constant expression"]),
    "rust": ("a.rs", 'fn main() {\n    let e = vec!["§"];\n    let f = "Bearer §";\n}\n'
             'static S: &str = "§";\nconst T: &str = "§";\n// §\n',
             ["the type expected here is not known: read std::env::var by hand",
              "part of a larger Rust literal: build the string with format! and std::env::var "
              "by hand",
              "a Rust const or static cannot read the environment",
              "a Rust const or static cannot read the environment", COMMENT]),
    "shell": ("a.sh", "cat <<'EOF'\n§\nEOF\ncat <<\"EOF\"\n§\nEOF\ncat <<\\EOF\n§\nEOF\n"
              "echo $'§'\n# §\n",
              ["in a quoted heredoc, which does not expand variables"] * 3 + [COMMENT] * 2),
    "ruby-comment": ("a.rb", "# §\n", [COMMENT]),
    "powershell-comment": ("a.ps1", "$a = 1\n# §\n", [COMMENT]),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BY_HAND))
def test_left_by_hand(repo: Path, monkeypatch, capsys, case: str, key: str) -> None:
    name, source, reasons = BY_HAND[case]
    text = source.replace("§", key)
    (repo / name).write_text(text)
    code, out, err = fix(repo, monkeypatch, capsys)
    assert code == 3, err
    assert (repo / name).read_text() == text
    given = [line.split(": ", 3)[3] for line in err.splitlines() if ": change by hand: " in line]
    assert given == reasons
    assert key not in out + err
    assert not (repo / ".env").exists()


def test_a_file_that_does_not_parse_cleanly(repo: Path, key: str, monkeypatch, capsys) -> None:
    text = f'package main\n\nvar k = "{key}"\nfunc (\n'
    (repo / "a.go").write_text(text)
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3
    assert "a.go:3:10: change by hand: " in err
    assert "does not parse cleanly as go (line 4): fix the syntax first" in err
    assert (repo / "a.go").read_text() == text


@pytest.mark.parametrize("name", ["a.go", "A.java", "a.rs", "a.sh"])
def test_a_file_without_the_key_has_nothing_to_fix(key: str, name: str) -> None:
    """(a key the scanner found decoded, say): no site, nothing to write"""
    (fp,) = plan([Target(name, b"x\n", (key,))]).files
    assert (fp.outcomes, fp.new_data) == ([], None)


NAMED = {
    # name: (file, source with §): the code calls the key ROUTER_KEY, so does the env file
    "go-whole": ("a.go", 'package main\n\nvar ROUTER_KEY = "§"\n'),
    "go-concatenation": ("a.go", 'package main\n\nvar ROUTER_KEY = "Bearer §"\n'),
    "java-concatenation": ("A.java", 'class A {\n  String ROUTER_KEY = "Bearer §";\n}\n'),
    "csharp-interpolated": ("a.cs", 'class A {\n  string ROUTER_KEY = $"{1} §";\n}\n'),
    "ruby-interpolated": ("a.rb", 'ROUTER_KEY = "#{1}§"\n'),
    "php-concatenation": ("a.php", '<?php\n$ROUTER_KEY = "Bearer §";\n'),
    "rust": ("a.rs", 'fn main() {\n    let ROUTER_KEY: String = "§";\n}\n'),
    "shell-double-quoted": ("a.sh", 'ROUTER_KEY="x §"\n'),
    "shell-single-quoted": ("a.sh", "ROUTER_KEY='§'\n"),
    "shell-word": ("a.sh", "ROUTER_KEY=§\n"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(NAMED))
def test_the_name_the_code_gives_the_key(
    repo: Path, key: str, monkeypatch, capsys, case: str
) -> None:
    name, source = NAMED[case]
    (repo / name).write_text(source.replace("§", key))
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert env_file(repo) == {"ROUTER_KEY": key}
    assert "ROUTER_KEY" in (repo / name).read_text()


# -- the edges: a key in a comment before one in a literal, heredoc openers, a Go file
# without a package clause, a rewrite that would not parse, the shell rewrites' messages

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


EDGE_FIXED = {
    # name: (file, source with §, the source after the fix)
    "go-without-a-package-clause": ("a.go", 'var k = "§"\n', f"var k = {V}\n"),
    "go-const-from-a-call": ("a.go", 'package main\n\nimport "os"\n\nconst k = len("§")\n',
                             f'package main\n\nimport "os"\n\nvar k = len({V})\n'),
    # (the quote is in the heredoc's body, not in its opener)
    "shell-heredoc-body-with-a-quote": ("a.sh", "cat <<EOF\nit's §\nEOF\n",
                                        "cat <<EOF\nit's ${OPENROUTER_API_KEY}\nEOF\n"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(EDGE_FIXED))
def test_the_code_written_at_the_edges(
    repo: Path, key: str, monkeypatch, capsys, case: str
) -> None:
    name, source, expected = EDGE_FIXED[case]
    (repo / name).write_text(source.replace("§", key))
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert (repo / name).read_text() == expected
    assert env_file(repo) == {"OPENROUTER_API_KEY": key}


EDGE_BY_HAND = {
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


@pytest.mark.parametrize("case", sorted(EDGE_BY_HAND))
def test_left_by_hand_at_the_edges(repo: Path, key: str, monkeypatch, capsys, case: str) -> None:
    name, source, reason = EDGE_BY_HAND[case]
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

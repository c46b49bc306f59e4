"""keysentry fix on real files in real repositories, then the programs really run.

Each case is a file shaped the way projects write them (SDK clients, request headers,
f-strings and template literals, class attributes, default arguments, dict and object
literals). After the fix the program runs with the env file's variables and must see
the same key; every rewritten file parses; ``keysentry staged`` after ``git add -A`` is
clean; a second fix changes nothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import git
from fixhelpers import cli, env_file, fix, run_with_env, tree_text
from keysentry.models import fingerprint_of, redact
from keysentry.rewrite.treesitter import error_at, parser


def committed(repo: Path, files: dict[str, str]) -> None:
    (repo / "README.md").write_text("# demo\n")
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")


def assert_clean_afterwards(repo: Path, monkeypatch, capsys, key: str) -> None:
    """No key left in the tree; staged is clean; a second fix changes nothing."""
    assert key not in tree_text(repo)
    git(repo, "add", "-A")
    staged = cli(repo, "staged")
    assert staged.returncode == 0, staged.stdout + staged.stderr
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts}
    code, out, err = fix(repo, monkeypatch, capsys)
    assert (code, out) == (0, ""), err
    assert "nothing to change" in err
    after = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts}
    assert before == after


PYTHON = '''\
#!/usr/bin/env python3
"""An OpenRouter client, the way projects write one."""

from __future__ import annotations

import hashlib
import json

OPENROUTER_API_KEY = "{key}"  # pasted from the dashboard


class Client:
    api_key = '{key}'

    def __init__(self, key="{key}", base="https://openrouter.ai/api/v1"):
        self.headers = {{"Authorization": f"Bearer {key}", "X-Title": 'demo'}}
        self.url = f"{{base}}/chat/completions"


config = {{"api_key": "{key}", "retries": 3}}
bearer = "Bearer {key}"


def seen() -> list[str]:
    c = Client()
    return [OPENROUTER_API_KEY, Client.api_key, c.headers["Authorization"][7:],
            config["api_key"], bearer[7:]]


if __name__ == "__main__":
    print(json.dumps([hashlib.sha256(s.encode()).hexdigest() for s in seen()]))
'''


EDGES = """\
# header comment

\"\"\"Module docstring.\"\"\"
from __future__ import annotations

import os.path as osp, json
value = os.getenv("OPENROUTER_API_KEY", "{key}")
os.environ["ROUTER_KEY"] = '{key}'
table = {{"API_TOKEN": r"{key}", "{key}": 1}}
call(api_key=u"{key}", other="x")
pieces = ("Bearer " "{key}")
raw = b"{key}"
def f():
    \"\"\"{key}\"\"\"
    return f'{{osp}}:{key}'
# {key}
"""


@pytest.mark.parametrize("text", [PYTHON, EDGES, "x = 1\n", "KEY = '{key}'"])
def test_the_reports_python_plan_is_the_fix(key: str, text: str) -> None:
    """The fix stage of the reports (tree-sitter, cheap enough for the hook) and
    keysentry fix (libcst) decide the same thing and write the same bytes."""
    from keysentry.rewrite.plan import Target, plan

    data = text.format(key=key).encode()
    (full,) = plan([Target("a.py", data, (key,))]).files
    (quick,) = plan([Target("a.py", data, (key,))], quick=True).files
    assert quick.outcomes == full.outcomes
    assert quick.new_data == full.new_data


def test_python_program_still_sees_the_key(repo: Path, key: str, monkeypatch, capsys) -> None:
    import libcst

    committed(repo, {"app/client.py": PYTHON.format(key=key)})
    code, out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert key not in out + err and redact(key) in err  # the warning names it redacted
    source = (repo / "app/client.py").read_text()
    libcst.parse_module(source)
    assert source.count("import os\n") == 1
    assert (
        'OPENROUTER_API_KEY = os.environ["OPENROUTER_API_KEY"]  # pasted from the dashboard'
        in source
    )
    assert "f\"Bearer {os.environ['OPENROUTER_API_KEY']}\"" in source
    assert source.startswith('#!/usr/bin/env python3\n"""An OpenRouter client')
    assert env_file(repo) == {"OPENROUTER_API_KEY": key}
    assert (repo / ".env").stat().st_mode & 0o777 == 0o600
    assert "/.env" in (repo / ".gitignore").read_text().splitlines()
    assert "already committed" in err and "keysentry revoke" in err and "keysentry purge" in err
    proc = run_with_env(repo, ["python3", "-I", "app/client.py"])
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [fingerprint_of(key)] * 5
    assert_clean_afterwards(repo, monkeypatch, capsys, key)


NODE = """\
const crypto = require("crypto");

const OPENROUTER_API_KEY = "{key}";
const config = {{ apiKey: '{key}', model: "openai/gpt-4o" }};
const headers = {{ Authorization: "Bearer {key}", "Content-Type": "application/json" }};
const base = "https://openrouter.ai/api/v1";
const auth = `Bearer {key}`;
const url = `${{base}}/key?token={key}`;
function client(key = "{key}") {{
  return key;
}}

const seen = [OPENROUTER_API_KEY, config.apiKey, headers.Authorization.slice(7), auth.slice(7),
  url.split("token=")[1], client()];
console.log(JSON.stringify(seen.map((s) => crypto.createHash("sha256").update(s).digest("hex"))));
"""


@pytest.mark.needs("node")
def test_node_program_still_sees_the_key(repo: Path, key: str, monkeypatch, capsys) -> None:
    committed(repo, {"server/index.js": NODE.format(key=key)})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    source = (repo / "server/index.js").read_text()
    assert "const OPENROUTER_API_KEY = process.env.OPENROUTER_API_KEY;" in source
    assert "const auth = `Bearer ${process.env.OPENROUTER_API_KEY}`;" in source
    assert "Authorization: `Bearer ${process.env.OPENROUTER_API_KEY}`" in source
    check = subprocess.run(["node", "--check", "server/index.js"], cwd=repo, capture_output=True,
                           timeout=60, check=False)  # fmt: skip
    assert check.returncode == 0, check.stderr
    assert error_at(parser("javascript").parse(source.encode()).root_node) is None
    proc = run_with_env(repo, ["node", "server/index.js"])
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [fingerprint_of(key)] * 6
    assert_clean_afterwards(repo, monkeypatch, capsys, key)


SHELL = """\
#!/bin/bash
set -eu
OPENROUTER_API_KEY={key}
curl -s -H "Authorization: Bearer {key}" https://openrouter.ai/api/v1/key
curl -s -H 'Authorization: Bearer {key}' https://openrouter.ai/api/v1/credits
curl -s -H "Authorization: Bearer $OPENROUTER_API_KEY" https://openrouter.ai/api/v1/models
"""

FAKE_CURL = """\
#!/bin/sh
# records the arguments it was given, one per line
for a in "$@"; do printf '%s\\n' "$a"; done >> "$CURL_LOG"
"""


def test_shell_script_still_sends_the_key(repo: Path, key: str, monkeypatch, capsys) -> None:
    committed(repo, {"deploy.sh": SHELL.format(key=key)})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    script = (repo / "deploy.sh").read_text()
    assert 'OPENROUTER_API_KEY="${OPENROUTER_API_KEY}"' in script
    assert 'curl -s -H "Authorization: Bearer ${OPENROUTER_API_KEY}"' in script
    assert "-H 'Authorization: Bearer '\"${OPENROUTER_API_KEY}\"" in script
    assert subprocess.run(["bash", "-n", "deploy.sh"], cwd=repo, timeout=30).returncode == 0
    assert error_at(parser("shell").parse(script.encode()).root_node) is None
    bin_dir = repo.parent / "fakebin"
    bin_dir.mkdir()
    (bin_dir / "curl").write_text(FAKE_CURL)
    (bin_dir / "curl").chmod(0o755)
    log = repo.parent / "curl.log"
    import os

    proc = run_with_env(repo, ["bash", "deploy.sh"],
                        {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                         "CURL_LOG": str(log)})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert log.read_text().splitlines().count(f"Authorization: Bearer {key}") == 3
    assert_clean_afterwards(repo, monkeypatch, capsys, key)


JAVA = """\
import java.security.MessageDigest;

public class Main {{
    static final String OPENROUTER_API_KEY = "{key}";

    static String sha(String s) throws Exception {{
        StringBuilder out = new StringBuilder();
        for (byte b : MessageDigest.getInstance("SHA-256").digest(s.getBytes("UTF-8"))) {{
            out.append(String.format("%02x", b));
        }}
        return out.toString();
    }}

    public static void main(String[] args) throws Exception {{
        String header = "Bearer {key}";
        System.out.println(sha(OPENROUTER_API_KEY) + " " + sha(header.substring(7)));
    }}
}}
"""


@pytest.mark.needs("javac")
def test_java_program_still_sees_the_key(repo: Path, key: str, monkeypatch, capsys) -> None:
    committed(repo, {"Main.java": JAVA.format(key=key)})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    source = (repo / "Main.java").read_text()
    assert 'OPENROUTER_API_KEY = System.getenv("OPENROUTER_API_KEY");' in source
    assert 'String header = "Bearer " + System.getenv("OPENROUTER_API_KEY");' in source
    build = repo.parent / "classes"
    compiled = subprocess.run(["javac", "-d", str(build), "Main.java"], cwd=repo,
                              capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert compiled.returncode == 0, compiled.stderr
    proc = run_with_env(repo, ["java", "-cp", str(build), "Main"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [fingerprint_of(key)] * 2
    assert_clean_afterwards(repo, monkeypatch, capsys, key)


# Languages whose toolchain is not on this machine: the rewrite is checked with their
# tree-sitter grammar (no error node) and for the exact code it writes.
OTHER = [
    ("main.go", "go",
     'package main\n\nimport "fmt"\n\nconst apiKey = "{key}"\n\nfunc main() {{\n'
     '\tfmt.Println(apiKey, "Bearer {key}")\n}}\n',
     ['import "os"', 'var apiKey = os.Getenv("OPENROUTER_API_KEY")',
      'fmt.Println(apiKey, "Bearer " + os.Getenv("OPENROUTER_API_KEY"))']),
    ("Program.cs", "csharp",
     'class Program {{\n    static string Key = "{key}";\n'
     '    static string Header = $"Bearer {key}";\n}}\n',
     ['Key = System.Environment.GetEnvironmentVariable("OPENROUTER_API_KEY");',
      '$"Bearer {{System.Environment.GetEnvironmentVariable("OPENROUTER_API_KEY")}}"']),
    ("client.rb", "ruby",
     'OPENROUTER_API_KEY = "{key}"\nheaders = {{ "Authorization" => "Bearer {key}" }}\n',
     ['OPENROUTER_API_KEY = ENV.fetch("OPENROUTER_API_KEY")',
      '"Bearer #{{ENV.fetch("OPENROUTER_API_KEY")}}"']),
    ("client.php", "php",
     "<?php\n$apiKey = '{key}';\n$headers = ['Authorization: Bearer {key}'];\n",
     ["$apiKey = getenv('OPENROUTER_API_KEY');",
      "['Authorization: Bearer ' . getenv('OPENROUTER_API_KEY')]"]),
    ("src/main.rs", "rust",
     'fn main() {{\n    let key = "{key}";\n    call("{key}");\n}}\n',
     ['let key = &std::env::var("OPENROUTER_API_KEY").expect("OPENROUTER_API_KEY is not set");',
      'call(&std::env::var("OPENROUTER_API_KEY")']),
    ("deploy.ps1", "powershell",
     '$ApiKey = "{key}"\n$Headers = @{{ Authorization = "Bearer {key}" }}\n',
     ["$ApiKey = $env:OPENROUTER_API_KEY", '"Bearer ${{env:OPENROUTER_API_KEY}}"']),
    ("web/api.ts", "typescript",
     'import OpenAI from "openai";\nexport const client = new OpenAI({{ apiKey: "{key}" }});\n',
     ["new OpenAI({{ apiKey: process.env.OPENROUTER_API_KEY }})"]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "grammar", "text", "expected"), OTHER,
                         ids=[c[1] for c in OTHER])  # fmt: skip
def test_other_languages_parse_after_the_fix(
    repo: Path, key: str, monkeypatch, capsys, name: str, grammar: str, text: str, expected
) -> None:
    committed(repo, {name: text.format(key=key)})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    source = (repo / name).read_text()
    for line in expected:
        assert line.format() in source, source
    assert error_at(parser(grammar).parse(source.encode()).root_node) is None
    assert env_file(repo) == {"OPENROUTER_API_KEY": key}
    assert_clean_afterwards(repo, monkeypatch, capsys, key)


def test_rust_const_is_left_by_hand(repo: Path, key: str, monkeypatch, capsys) -> None:
    text = f'const KEY: &str = "{key}";\nfn main() {{}}\n'
    committed(repo, {"src/lib.rs": text})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3
    assert "src/lib.rs:1:20: change by hand" in err and "const or static" in err
    assert (repo / "src/lib.rs").read_text() == text

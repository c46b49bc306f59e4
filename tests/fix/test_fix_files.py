"""keysentry fix on the files that are not programs: YAML with a variable syntax,
Dockerfiles, notebooks, env files, and the formats it never guesses at."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import git, make_key
from fixhelpers import env_file, fix, run_with_env, tree_text
from gitrepo_helpers import commit
from keysentry.models import fingerprint_of
from keysentry.rewrite.kinds import NO_VARIABLES, classify
from keysentry.rewrite.registry import REWRITERS
from keysentry.rewrite.treesitter import error_at, parser

COMPOSE = """\
services:
  api:
    image: example/api:1
    environment:
      OPENROUTER_API_KEY: {key}   # the map form
      LOG_LEVEL: info
  worker:
    image: example/worker:1
    environment:
      - OPENROUTER_API_KEY={key}
      - "AUTH_HEADER=Bearer {key}"
"""


def test_compose_map_and_list(repo: Path, key: str, monkeypatch, capsys) -> None:
    commit(repo, {"docker-compose.yml": COMPOSE.format(key=key)})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    text = (repo / "docker-compose.yml").read_text()
    assert "OPENROUTER_API_KEY: ${OPENROUTER_API_KEY}   # the map form" in text
    assert "- OPENROUTER_API_KEY=${OPENROUTER_API_KEY}" in text
    assert '- "AUTH_HEADER=Bearer ${OPENROUTER_API_KEY}"' in text
    loaded = yaml.safe_load(text)
    assert loaded["services"]["api"]["environment"]["LOG_LEVEL"] == "info"
    assert error_at(parser("yaml").parse(text.encode()).root_node) is None
    assert "docker compose reads ${OPENROUTER_API_KEY}" in err
    assert env_file(repo) == {"OPENROUTER_API_KEY": key}


def test_github_workflow_uses_a_secret(repo: Path, key: str, monkeypatch, capsys) -> None:
    workflow = (
        "name: ci\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    env:\n"
        f"      OPENROUTER_API_KEY: {key}\n    steps:\n      - run: |\n"
        f'          curl -H "Authorization: Bearer {key}" https://openrouter.ai/api/v1/key\n'
    )
    commit(repo, {".github/workflows/ci.yml": workflow})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    text = (repo / ".github/workflows/ci.yml").read_text()
    loaded = yaml.safe_load(text)
    assert (
        loaded["jobs"]["test"]["env"]["OPENROUTER_API_KEY"] == "${{ secrets.OPENROUTER_API_KEY }}"
    )
    assert "Bearer ${{ secrets.OPENROUTER_API_KEY }}" in loaded["jobs"]["test"]["steps"][0]["run"]
    assert "gh secret set OPENROUTER_API_KEY" in err


def test_gitlab_ci_uses_a_variable(repo: Path, key: str, monkeypatch, capsys) -> None:
    text = (
        f'variables:\n  API_TOKEN: "{key}"\ntest:\n  script:\n'
        f"    - \"printf '%s\\\\n' 'Authorization: Bearer {key}'\"\n"
        f"    - printf '%s\\n' \"Bearer {key}\"\n"
    )
    commit(repo, {".gitlab-ci.yml": text})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    loaded = yaml.safe_load((repo / ".gitlab-ci.yml").read_text())
    assert loaded["variables"]["API_TOKEN"] == "$API_TOKEN"
    assert loaded["test"]["script"] == [
        "printf '%s\\n' 'Authorization: Bearer '\"${API_TOKEN}\"''",
        "printf '%s\\n' \"Bearer $API_TOKEN\"",
    ]
    # GitLab hands the variables to the shell, which expands them in the script lines.
    for line in loaded["test"]["script"]:
        proc = subprocess.run(["bash", "-c", line], env={"API_TOKEN": key}, capture_output=True,
                              text=True, timeout=30, check=False)  # fmt: skip
        assert proc.stdout.strip().endswith(f"Bearer {key}"), (line, proc.stdout)
    assert "masked CI/CD variable" in err
    assert env_file(repo) == {"API_TOKEN": key}  # the name the file gave the key


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    spec:
      containers:
        - name: api
          image: example/api:1
          env:
            - name: OPENROUTER_API_KEY
              value: "{key}"
            - name: LOG_LEVEL
              value: info
"""


def test_kubernetes_env_becomes_a_secret_key_ref(repo: Path, key: str, monkeypatch, capsys) -> None:
    commit(repo, {"k8s/deployment.yaml": DEPLOYMENT.format(key=key)})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    loaded = yaml.safe_load((repo / "k8s/deployment.yaml").read_text())
    env = loaded["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[0] == {
        "name": "OPENROUTER_API_KEY",
        "valueFrom": {"secretKeyRef": {"name": "openrouter-api-key", "key": "OPENROUTER_API_KEY"}},
    }
    assert env[1] == {"name": "LOG_LEVEL", "value": "info"}
    assert "kubectl create secret generic openrouter-api-key" in err and key not in err


def test_kubernetes_secret_manifest_is_by_hand(repo: Path, key: str, monkeypatch, capsys) -> None:
    text = f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  KEY: {key}\n"
    commit(repo, {"k8s/secret.yaml": text})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3 and "Secret manifest" in err
    assert (repo / "k8s/secret.yaml").read_text() == text


def test_dockerfile_env_and_arg_are_removed(repo: Path, key: str, monkeypatch, capsys) -> None:
    text = (
        f"FROM python:3.12-slim\nENV OPENROUTER_API_KEY={key}\nARG BUILD_TOKEN={key}\n"
        'COPY . /app\nCMD ["python", "/app/main.py"]\n'
    )
    commit(repo, {"Dockerfile": text})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    after = (repo / "Dockerfile").read_text()
    assert after == 'FROM python:3.12-slim\nCOPY . /app\nCMD ["python", "/app/main.py"]\n'
    assert "docker run -e OPENROUTER_API_KEY" in err and "--secret" in err
    assert error_at(parser("dockerfile").parse(after.encode()).root_node) is None


def _notebook(key: str) -> str:
    import nbformat

    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell(
        'import hashlib\n\nclient_key = "'
        + key
        + '"\nprint(hashlib.sha256(client_key.encode()).hexdigest())'
    )
    code.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=f"using {key}\n"),
        nbformat.v4.new_output(
            "execute_result", data={"text/plain": f"'{key}'"}, execution_count=1
        ),
    ]
    note = nbformat.v4.new_markdown_cell("The key file: ![k](attachment:key.txt)")
    note.attachments = {"key.txt": {"text/plain": base64.b64encode(key.encode()).decode()}}
    nb.cells = [code, note]
    return nbformat.writes(nb) + "\n"


def test_notebook_code_outputs_and_attachments(repo: Path, key: str, monkeypatch, capsys) -> None:
    import nbformat

    commit(repo, {"analysis.ipynb": _notebook(key)})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code in (1, 3), err
    raw = (repo / "analysis.ipynb").read_text()
    assert key not in raw and base64.b64encode(key.encode()).decode() not in raw
    nb = nbformat.reads(raw, as_version=4)
    nbformat.validate(nb)
    source = nb.cells[0].source
    assert 'client_key = os.environ["OPENROUTER_API_KEY"]' in source
    assert "[OPENROUTER_API_KEY removed by keysentry fix]" in nb.cells[0].outputs[0]["text"]
    assert "key.txt" not in nb.cells[1].get("attachments", {})
    script = repo / "cell.py"
    script.write_text(source + "\n")
    proc = run_with_env(repo, ["python3", "-I", "cell.py"])
    assert proc.stdout.strip() == fingerprint_of(key), proc.stderr


def test_tracked_env_file_is_untracked_and_kept(repo: Path, key: str, monkeypatch, capsys) -> None:
    commit(repo, {"README.md": "# demo\n", ".env": f"OPENROUTER_API_KEY={key}\nDEBUG=1\n"})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert (repo / ".env").read_text() == f"OPENROUTER_API_KEY={key}\nDEBUG=1\n"
    assert git(repo, "ls-files", ".env") == ""
    assert "/.env" in (repo / ".gitignore").read_text().splitlines()
    assert ".env: untracked (git rm --cached)" in err
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 0, err


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("config.json", '{{"openrouter": {{"api_key": "{key}"}}}}\n'),
        ("settings.ini", "[openrouter]\napi_key = {key}\n"),
        ("pyproject.toml", '[tool.app]\napi_key = "{key}"\n'),
        ("NOTES.md", "Use `{key}` for the demo.\n"),
        ("values.yaml", "openrouter:\n  apiKey: {key}\n"),
    ],
)
def test_formats_without_variables_are_listed_and_left_alone(
    repo: Path, key: str, monkeypatch, capsys, name: str, text: str
) -> None:
    commit(repo, {name: text.format(key=key)})
    code, out, err = fix(repo, monkeypatch, capsys)
    assert code == 3
    assert f"{name}:" in err and "change by hand" in err and key not in out + err
    assert (repo / name).read_text() == text.format(key=key)
    assert not (repo / ".env").exists()


def test_front_end_code_is_by_hand_with_proxy_advice(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    package = {"name": "web", "dependencies": {"react": "^18.0.0", "vite": "^5.0.0"}}
    text = (
        f'export const client = new OpenAI({{ apiKey: "{key}", dangerouslyAllowBrowser: true }});\n'
    )
    commit(repo, {"package.json": json.dumps(package), "src/openrouter.js": text})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3
    assert "server-side proxy" in err and "browser" in err
    assert (repo / "src/openrouter.js").read_text() == text


def test_a_file_that_does_not_parse_is_reported_not_rewritten(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    text = f'const key = "{key}";\nfunction (( {{\n'
    commit(repo, {"broken.js": text})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3 and "does not parse cleanly" in err
    assert (repo / "broken.js").read_text() == text
    assert key not in tree_text(repo).replace(text, "")


def test_every_kind_has_a_rewriter() -> None:
    kinds = {classify(name, data) for name, data in [
        ("a.py", b""), ("a.ipynb", b""), ("a.js", b""), ("a.ts", b""), ("a.tsx", b""),
        ("a.go", b""), ("A.java", b""), ("a.cs", b""), ("a.rb", b""), ("a.php", b""),
        ("a.rs", b""), ("a.sh", b""), ("a.ps1", b""), ("compose.yaml", b""),
        (".github/workflows/x.yml", b""), (".gitlab-ci.yml", b""),
        ("k.yaml", b"apiVersion: v1\nkind: Pod\n"), ("Dockerfile", b""), (".env", b""),
        ("a.json", b""), ("a.ini", b""), ("a.toml", b""), ("a.md", b""), ("a.txt", b""),
        ("a.yaml", b"x: 1\n"), ("a.bin", b""), ("script", b"#!/bin/sh\n"),
    ]}  # fmt: skip
    assert kinds == set(REWRITERS)
    assert set(NO_VARIABLES) <= set(REWRITERS)


def test_two_keys_two_names_one_key_one_name(repo: Path, monkeypatch, capsys) -> None:
    first, second = make_key(), make_key()
    commit(repo, {
        "a.py": f'OPENROUTER_API_KEY = "{first}"\nOTHER = "{second}"\n',
        "b.py": f'client_key = "{first}"\n',
        "c.js": f'const backup = "{second}";\n',
    })  # fmt: skip
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert env_file(repo) == {"OPENROUTER_API_KEY": first, "OTHER": second}
    assert 'client_key = os.environ["OPENROUTER_API_KEY"]' in (repo / "b.py").read_text()
    assert "const backup = process.env.OTHER;" in (repo / "c.js").read_text()

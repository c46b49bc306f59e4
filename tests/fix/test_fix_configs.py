"""keysentry fix in YAML with a variable syntax (compose, GitHub Actions, GitLab CI,
Kubernetes), Dockerfiles and notebooks: the exact bytes written for each shape, what is
left by hand and why. Every case runs `keysentry fix` on a real repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from fixhelpers import env_file, fix

# Each case takes a second or two; a change that loops forever fails it in minutes, not ten.
pytestmark = pytest.mark.timeout(180)

GH = "${{ secrets.OPENROUTER_API_KEY }}"

FIXED = {
    # name: (file, source with §, the source after the fix, the variable)
    "compose-flow": ("compose.yaml", "services:\n  a:\n    environment: {ROUTER: §}\n",
                     'services:\n  a:\n    environment: {ROUTER: "${ROUTER}"}\n', "ROUTER"),
    "gitlab-flow": (".gitlab-ci.yml", "variables: [§]\n",
                    'variables: ["$OPENROUTER_API_KEY"]\n', "OPENROUTER_API_KEY"),
    "compose-list-name": ("docker-compose.override.yml",
                          "services:\n  a:\n    environment:\n      - ROUTER_KEY=§\n",
                          "services:\n  a:\n    environment:\n      - ROUTER_KEY=${ROUTER_KEY}\n",
                          "ROUTER_KEY"),
    "compose-double-quoted": ("compose.yml", 'x:\n  TOKEN: "Bearer §"\n',
                              'x:\n  TOKEN: "Bearer ${TOKEN}"\n', "TOKEN"),
    "github-block": (".github/workflows/ci.yml", "on: push\nenv:\n  KEY: §\n",
                     "on: push\nenv:\n  KEY: ${{ secrets.KEY }}\n", "KEY"),
    "github-flow": (".github/workflows/ci.yaml", "on: push\nenv: {KEY: §}\n",
                    'on: push\nenv: {KEY: "${{ secrets.KEY }}"}\n', "KEY"),
    "github-flow-quoted": (".github/workflows/ci.yaml", "on: push\nenv: {KEY: '§'}\n",
                           "on: push\nenv: {KEY: '${{ secrets.KEY }}'}\n", "KEY"),
    "github-run": (".github/workflows/ci.yml", "on: push\njobs:\n  a:\n    steps:\n"
                   '      - run: echo "§"\n',
                   f'on: push\njobs:\n  a:\n    steps:\n      - run: echo "{GH}"\n',
                   "OPENROUTER_API_KEY"),
    "gitlab-braced": (".gitlab-ci.yml", "variables:\n  TOKEN: §_x\n",
                      "variables:\n  TOKEN: ${TOKEN}_x\n", "TOKEN"),
    "gitlab-bare": ("ci/.gitlab-ci.yml", "variables:\n  TOKEN: '§'\n",
                    "variables:\n  TOKEN: '$TOKEN'\n", "TOKEN"),
    "gitlab-script-plain": (".gitlab-ci.yml", "a:\n  before_script:\n    - curl -H 'X:§'\n",
                            "a:\n  before_script:\n    - curl -H 'X:'\"${OPENROUTER_API_KEY}\"''\n",
                            "OPENROUTER_API_KEY"),
    "gitlab-script-double": (".gitlab-ci.yml", "a:\n  after_script:\n    - \"curl -H 'X:§'\"\n",
                             "a:\n  after_script:\n"
                             "    - \"curl -H 'X:'\\\"${OPENROUTER_API_KEY}\\\"''\"\n",
                             "OPENROUTER_API_KEY"),
    "gitlab-script-single": (".gitlab-ci.yml", "a:\n  script:\n    - 'curl -H ''X:§'''\n",
                             "a:\n  script:\n    - 'curl -H ''X:''\"${OPENROUTER_API_KEY}\"'''''\n",
                             "OPENROUTER_API_KEY"),
    "gitlab-script-unquoted": (".gitlab-ci.yml", "a:\n  script:\n    - curl -H X:§ -H 'Y=z'\n",
                               "a:\n  script:\n    - curl -H X:$OPENROUTER_API_KEY -H 'Y=z'\n",
                               "OPENROUTER_API_KEY"),
    "gitlab-script-block": (".gitlab-ci.yml", "a:\n  script:\n    - |\n      echo 'a'\n"
                            "      curl -H 'X:§'\n",
                            "a:\n  script:\n    - |\n      echo 'a'\n"
                            "      curl -H 'X:'\"${OPENROUTER_API_KEY}\"''\n",
                            "OPENROUTER_API_KEY"),
    "kubernetes": ("k8s/pod.yaml", "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n"
                   "    - name: a\n      env:\n        - name: 'ROUTER'\n          value: §\n",
                   "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: a\n      env:\n"
                   "        - name: 'ROUTER'\n"
                   "          valueFrom: {secretKeyRef: {name: router, key: ROUTER}}\n",
                   "ROUTER"),
    "kubernetes-kind-first": ("pod.yml", "kind: Pod\napiVersion: v1\nspec:\n  containers:\n"
                              "    - env:\n        - value: \"§\"\n          name: ROUTER_KEY\n",
                              "kind: Pod\napiVersion: v1\nspec:\n  containers:\n    - env:\n"
                              "        - valueFrom: {secretKeyRef: {name: router-key, key: "
                              "ROUTER_KEY}}\n          name: ROUTER_KEY\n", "ROUTER_KEY"),
    # A shell line is read on its own: the quote of the line before does not count.
    "gitlab-script-block-after-apostrophe": (".gitlab-ci.yml", "a:\n  script:\n    - |\n"
                                             "      echo \"it's\"\n      curl -H 'X:§'\n",
                                             "a:\n  script:\n    - |\n      echo \"it's\"\n"
                                             "      curl -H 'X:'\"${OPENROUTER_API_KEY}\"''\n",
                                             "OPENROUTER_API_KEY"),
    # A line that starts with a quote, right after the indentation.
    "gitlab-top-script": (".gitlab-ci.yml", "script: |\n echo \"it's\"\n 'curl' -H 'X:§'\n",
                          "script: |\n echo \"it's\"\n"
                          " 'curl' -H 'X:'\"${OPENROUTER_API_KEY}\"''\n", "OPENROUTER_API_KEY"),
    # YAML's single quotes are not the shell's: the shell sees no quote here.
    "gitlab-script-single-unquoted": (".gitlab-ci.yml", "a:\n  script:\n    - 'curl -H X:§'\n",
                                      "a:\n  script:\n    - 'curl -H X:$OPENROUTER_API_KEY'\n",
                                      "OPENROUTER_API_KEY"),
    # Not a script: an apostrophe in a variable's value is no shell quote.
    "gitlab-variable-apostrophe": (".gitlab-ci.yml", "variables:\n  TOKEN: 'it''s §'\n",
                                   "variables:\n  TOKEN: 'it''s $TOKEN'\n", "TOKEN"),
    # The name is the mapping key's, not what the value has before an `=`.
    "compose-value-with-equals": ("compose.yaml", "x:\n  ROUTER: A=§\n",
                                  "x:\n  ROUTER: A=${ROUTER}\n", "ROUTER"),
    # An `=` after the key names nothing.
    "compose-list-key-first": ("compose.yaml", "x:\n  environment:\n    - §=x\n",
                               "x:\n  environment:\n    - ${OPENROUTER_API_KEY}=x\n",
                               "OPENROUTER_API_KEY"),
    "kubernetes-single-quoted": ("pod.yaml", "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n"
                                 "    - env:\n        - name: ROUTER\n          value: '§'\n",
                                 "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - env:\n"
                                 "        - name: ROUTER\n"
                                 "          valueFrom: {secretKeyRef: {name: router, key: ROUTER}}\n",
                                 "ROUTER"),
    # The shell's quote right after YAML's (an X first is no quote).
    "gitlab-quote-first": (".gitlab-ci.yml", "a:\n  script:\n    - 'X''Y §'\n",
                           "a:\n  script:\n    - 'X''Y ''\"${OPENROUTER_API_KEY}\"'''\n",
                           "OPENROUTER_API_KEY"),
    # Only the quotes go from the name, not an X at its end.
    "kubernetes-name-x": ("pod.yaml", "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n"
                          "    - env:\n        - name: 'ROUTER_X'\n          value: §\n",
                          "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - env:\n"
                          "        - name: 'ROUTER_X'\n"
                          "          valueFrom: {secretKeyRef: {name: router-x, key: ROUTER_X}}\n",
                          "ROUTER_X"),
    # The key is the mapping key: there is no name to take for it.
    "compose-key": ("compose.yaml", "services:\n  a:\n    labels:\n      §: x\n",
                    "services:\n  a:\n    labels:\n      ${OPENROUTER_API_KEY}: x\n",
                    "OPENROUTER_API_KEY"),
    # A kind that is not a word (a template) is no Secret or ConfigMap.
    "kubernetes-templated-kind": ("pod.yaml", "apiVersion: v1\nkind: ${KIND}\nspec:\n"
                                  "  containers:\n    - env:\n        - name: ROUTER\n"
                                  "          value: §\n",
                                  "apiVersion: v1\nkind: ${KIND}\nspec:\n  containers:\n"
                                  "    - env:\n        - name: ROUTER\n"
                                  "          valueFrom: {secretKeyRef: {name: router, key: ROUTER}}\n",
                                  "ROUTER"),
    "dockerfile-legacy-env": ("Dockerfile", "FROM a\nENV ROUTER §\nRUN x\n", "FROM a\nRUN x\n",
                              "ROUTER"),
    "dockerfile-arg": ("build/app.Dockerfile", "FROM a\nARG TOKEN=§\n", "FROM a\n", "TOKEN"),
    "dockerfile-dotted": ("Dockerfile.prod", "FROM a\nENV ROUTER=§\n", "FROM a\n", "ROUTER"),
    # Docker does not ask for a newline at the end; tree-sitter's grammar does.
    "dockerfile-last-line": ("Dockerfile", "FROM a\nENV ROUTER=§", "FROM a\n", "ROUTER"),
    "dockerfile-before-last-line": ("Dockerfile", "FROM a\nARG ROUTER=§\nRUN x",
                                    "FROM a\nRUN x", "ROUTER"),
}  # fmt: skip


# What the fixed line says for a case (its name filled in), and whether advice follows.
HOW = {
    "compose-flow": ("${ROUTER}", "next: compose.yaml: docker compose reads ${ROUTER} from"),
    "github-flow": ("${{ secrets.KEY }}", "next: .github/workflows/ci.yaml: add KEY as an"),
    "github-block": ("${{ secrets.KEY }}", "next: .github/workflows/ci.yml: add KEY as an"),
    "gitlab-bare": ("$TOKEN", "next: ci/.gitlab-ci.yml: add TOKEN as a masked"),
    "gitlab-braced": ("${TOKEN}", "next: .gitlab-ci.yml: add TOKEN as a masked"),
    "gitlab-script-single": ("'\"${OPENROUTER_API_KEY}\"'", "next: .gitlab-ci.yml: add"),
    "kubernetes": ("valueFrom: secretKeyRef ROUTER", "next: k8s/pod.yaml: create the Secret"),
}


@pytest.mark.parametrize("case", sorted(FIXED))
def test_the_bytes_written(repo: Path, key: str, monkeypatch, capsys, case: str) -> None:
    name, source, expected, variable = FIXED[case]
    (repo / name).parent.mkdir(parents=True, exist_ok=True)
    (repo / name).write_text(source.replace("§", key))
    code, out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert (repo / name).read_text() == expected
    assert env_file(repo) == {variable: key}
    assert key not in out + err
    if name.endswith((".yml", ".yaml")):
        yaml.safe_load(expected)
    if "Dockerfile" in name:
        word = "ARG" if "ARG" in source else "ENV"
        assert f"fixed: remove the {word} instruction\n" in err
    if case in HOW:
        how, advice = HOW[case]
        assert f": fixed: {how}\n" in err and f"\n{advice}" in err, err


def test_gitlab_script_lines_still_send_the_key(repo: Path, key: str, monkeypatch, capsys) -> None:
    """The shell GitLab runs each script line in sees the same words as before the fix."""
    cases = [c for c in sorted(FIXED) if c.startswith("gitlab-script")]
    lines = []
    for case in cases:
        _name, source, _expected, _v = FIXED[case]
        (repo / ".gitlab-ci.yml").write_text(source.replace("§", key))
        lines.append(yaml.safe_load(source.replace("§", key))["a"])
        assert fix(repo, monkeypatch, capsys)[0] == 1
        after = yaml.safe_load((repo / ".gitlab-ci.yml").read_text())["a"]
        (section,) = after
        before_lines, after_lines = lines[-1][section], after[section]
        words = []
        for line in ("\n".join(before_lines), "\n".join(after_lines)):
            proc = subprocess.run(["bash", "-c", line.replace("curl", "printf '%s|'")],
                                  env={"OPENROUTER_API_KEY": key}, capture_output=True,
                                  text=True, timeout=30, check=False)  # fmt: skip
            words.append(proc.stdout)
        assert words[0] == words[1] and key in words[0], (case, after_lines)
        (repo / ".env").unlink()


BY_HAND = {
    "yaml-comment": ("compose.yaml", "x: 1 # §\n",
                     "not inside a YAML value (a comment?): delete it by hand"),
    "github-flow-partial": (".github/workflows/a.yml", "env: {KEY: Bearer §}\n",
                            "inside a flow collection"),
    "kubernetes-partial": ("pod.yaml", "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n"
                           "    - env:\n        - name: A\n          value: Bearer §\n",
                           "not the value of a container's env entry"),
    "kubernetes-other-key": ("pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  token: §\n",
                             "not the value of a container's env entry"),
    "kubernetes-flow": ("pod.yaml", "apiVersion: v1\nkind: Pod\nx: [{name: A, value: §}]\n",
                        "not the value of a container's env entry"),
    "dockerfile-run": ("Dockerfile", "FROM a\nRUN curl -H 'X:§'\n",
                       "not in an ENV or ARG instruction"),
    "dockerfile-comment": ("Dockerfile", "FROM a\n# §\n", "not in an ENV or ARG instruction"),
    "dockerfile-two-pairs": ("Dockerfile", "FROM a\nENV A=1 B=§\n",
                             "an ENV that sets several variables: remove this one by hand"),
    # tree-sitter reads a quoted value over lines, and a line of it that starts with # as
    # a comment, inside the ENV: the comment is what holds the key.
    "dockerfile-comment-in-quotes": ("Dockerfile", 'FROM a\nENV X="a\n# §\n"\n',
                                     "not in an ENV or ARG instruction"),
    # Removing the ENV would leave a bare ONBUILD, which does not parse.
    "dockerfile-onbuild": ("Dockerfile", "FROM a\nONBUILD ENV ROUTER=§\n",
                           "the rewritten file would not parse (line 2)"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BY_HAND))
def test_left_by_hand(repo: Path, key: str, monkeypatch, capsys, case: str) -> None:
    name, source, reason = BY_HAND[case]
    text = source.replace("§", key)
    (repo / name).parent.mkdir(parents=True, exist_ok=True)
    (repo / name).write_text(text)
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3, err
    assert err.splitlines()[0].endswith(f": {reason}")
    assert (repo / name).read_text() == text


@pytest.mark.parametrize(
    "written", ["Secret", "ConfigMap", "SealedSecret", '"Secret"', "'ConfigMap'"]
)
def test_manifests_that_hold_values_are_left(
    repo: Path, key: str, monkeypatch, capsys, written: str
) -> None:
    kind = written.strip("'\"")
    text = f"apiVersion: v1\nkind: {written}\ndata:\n  - name: A\n    value: {key}\n"
    (repo / "m.yaml").write_text(text)
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3, err
    assert err.splitlines()[0].endswith(
        f": a {kind} manifest holds the value itself: keep it out of git (create it with "
        "kubectl, or use sealed or external secrets) by hand"
    ), err
    assert (repo / "m.yaml").read_text() == text


def test_advice_names_the_variable_and_the_env_file(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    (repo / "k.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - env:\n"
        f"        - name: ROUTER_KEY\n          value: {key}\n"
    )
    (repo / ".gitlab-ci.yml").write_text(f"variables:\n  ROUTER_KEY: {key}\n")
    (repo / "Dockerfile").write_text(f"FROM a\nENV ROUTER_KEY={key}\n")
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert (
        "next: k.yaml: create the Secret first: kubectl create secret generic router-key "
        '--from-literal=ROUTER_KEY="${ROUTER_KEY}" (the value is in .env)'
    ) in err
    assert (
        "next: .gitlab-ci.yml: add ROUTER_KEY as a masked CI/CD variable in the project's "
        "settings (the value is in .env)"
    ) in err
    assert (
        "next: Dockerfile: pass ROUTER_KEY when the container runs (docker run -e ROUTER_KEY" in err
    )
    assert "--mount=type=secret,id=ROUTER_KEY,env=ROUTER_KEY" in err


def test_a_dockerfile_key_left_by_hand_once_still_moves_from_its_arg(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    """A comment and a shared ENV are left by hand; the ARG after them is still removed."""
    (repo / "Dockerfile").write_text(f"FROM a\n# {key}\nENV A=1 B={key}\nARG ROUTER={key}\n")
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3, err
    assert (repo / "Dockerfile").read_text() == f"FROM a\n# {key}\nENV A=1 B={key}\n"
    assert "Dockerfile:2:3: change by hand" in err and "Dockerfile:3:11: change by hand" in err, err
    assert "Dockerfile:4:12: fixed: remove the ARG instruction\n" in err
    assert env_file(repo) == {"ROUTER": key}


@pytest.mark.parametrize("module", ["dockerfile", "notebook", "yamlfiles"])
def test_a_file_that_does_not_hold_the_key_whole_has_no_sites(key: str, module: str) -> None:
    """Through the command a planned file always holds the key, unless it changed between
    the scan and the fix's reading of it: the rewriter then finds nothing to do."""
    import importlib

    from keysentry.rewrite.sites import FileContext

    rewriter = importlib.import_module(f"keysentry.rewrite.{module}")
    ctx = FileContext("f", None, "untracked")
    kind = ("compose",) if module == "yamlfiles" else ()
    sites = rewriter.locate(f"FROM a\nENV A={key[:-1]}\n".encode(), [key], ctx, *kind)
    assert sites.sites == [] and sites.rewrite is None


def _notebook(cells: list[object]) -> str:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    return nbformat.writes(nb)


def test_notebook_cells_by_hand(repo: Path, key: str, monkeypatch, capsys) -> None:
    import nbformat

    cases = {
        "markdown.ipynb": ([nbformat.v4.new_markdown_cell(f"key: {key}")],
                           "cell 1 is not code (markdown): delete the key there by hand"),
        "magic.ipynb": ([nbformat.v4.new_code_cell("x = 1"),
                         nbformat.v4.new_code_cell(f"%env KEY={key}")],
                        "cell 2 does not parse as Python (line 1): fix the syntax first "
                        "(an IPython magic?)"),
        "comment.ipynb": ([nbformat.v4.new_code_cell(f"# {key}")],
                          "cell 1: not inside a string literal (a comment?): delete it by hand"),
    }  # fmt: skip
    for name, (cells, _reason) in cases.items():
        (repo / name).write_text(_notebook(cells))
    (repo / "broken.ipynb").write_text(f'{{"cells": ["{key}"\n')
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3, err
    for name, (_cells, reason) in cases.items():
        assert f"{name}:" in err and f": {reason}\n" in err
    assert ": not a readable notebook (nbformat): fix it first\n" in err


def test_notebook_two_cells_and_outputs_only(repo: Path, monkeypatch, capsys) -> None:
    import nbformat

    from conftest import make_key

    first, second = make_key(), make_key()
    code_cell = nbformat.v4.new_code_cell(f'ROUTER = "{first}"')
    other = nbformat.v4.new_code_cell('print("hi")')
    other.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{second}\n")]
    text = _notebook([code_cell, other])  # no newline at the end
    (repo / "n.ipynb").write_text(text)
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    raw = (repo / "n.ipynb").read_text()
    assert not raw.endswith("\n")
    nb = nbformat.reads(raw, as_version=4)
    assert nb.cells[0].source == 'import os\nROUTER = os.environ["ROUTER"]'
    assert nb.cells[1].source == 'print("hi")'
    assert nb.cells[1].outputs[0]["text"] == "[OPENROUTER_API_KEY removed by keysentry fix]\n"
    assert env_file(repo) == {"ROUTER": first, "OPENROUTER_API_KEY": second}
    assert (
        ': fixed: os.environ["ROUTER"] in the code, removed from outputs and attachments\n'
    ) in err


def test_a_notebook_attachment_holding_the_key_as_text_is_dropped(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    import nbformat

    cell = nbformat.v4.new_markdown_cell("![a](attachment:a.txt) ![b](attachment:b.txt)")
    cell.attachments = {"a.txt": {"text/plain": f"the key: {key}"}, "b.txt": {"text/plain": "x"}}
    code_cell = nbformat.v4.new_code_cell(f'KEY = "{key}"')
    (repo / "n.ipynb").write_text(_notebook([code_cell, cell]))
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    nb = nbformat.reads((repo / "n.ipynb").read_text(), as_version=4)
    assert set(nb.cells[1].attachments) == {"b.txt"}
    assert key not in (repo / "n.ipynb").read_text()


def test_a_notebook_with_a_magic_in_another_cell_is_fixed(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    """Only the cells that hold the key are read as Python: a magic elsewhere (which libcst
    cannot parse) is no reason to leave the key, and stays as it is."""
    import nbformat

    cells = [nbformat.v4.new_code_cell("%env LEVEL=1"), nbformat.v4.new_code_cell(f'KEY = "{key}"')]
    (repo / "n.ipynb").write_text(_notebook(cells) + "\n")
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    raw = (repo / "n.ipynb").read_text()
    assert raw.endswith("}\n")
    nb = nbformat.reads(raw, as_version=4)
    assert [c.source for c in nb.cells] == ["%env LEVEL=1", 'import os\nKEY = os.environ["KEY"]']
    assert env_file(repo) == {"KEY": key}


def test_a_notebook_that_nbformat_finds_invalid_is_left(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    """A notebook nbformat reads but does not validate (a field its schema does not know):
    written back it would still not validate, so it is left by hand."""
    import nbformat

    cell = nbformat.v4.new_code_cell(f'KEY = "{key}"')
    cell["colour"] = "red"
    text = _notebook([cell])
    (repo / "n.ipynb").write_text(text)
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3, err
    assert err.splitlines()[0].endswith(
        ": the rewritten notebook is not valid (NotebookValidationError)"
    ), err
    assert (repo / "n.ipynb").read_text() == text


def test_notebook_attachments_split_over_lines_are_read_whole(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    """Base64 wrapped at 76 characters (as encoders write it), a JSON attachment whose
    list of strings holds the key split in two, and one whose object holds it, are each
    dropped."""
    import base64

    import nbformat

    wrapped = base64.encodebytes(f"the key is {key}".encode()).decode()
    assert "\n" in wrapped.rstrip("\n")
    cell = nbformat.v4.new_markdown_cell("![a](attachment:a.txt) ![b](attachment:b.json)")
    cell.attachments = {
        "a.txt": {"text/plain": wrapped},
        "b.json": {"application/json": [key[:30], key[30:]]},
        "c.json": {"application/json": ["x", "y"]},
        "d.json": {"application/json": {"token": key}},
    }
    code_cell = nbformat.v4.new_code_cell(f'KEY = "{key}"')
    (repo / "n.ipynb").write_text(_notebook([code_cell, cell]))
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    nb = nbformat.reads((repo / "n.ipynb").read_text(), as_version=4)
    assert set(nb.cells[1].attachments) == {"c.json"}


def test_a_kubernetes_env_entry_without_a_name_takes_the_name_another_file_gives(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    (repo / "k8s").mkdir()
    (repo / "k8s/pod.yaml").write_text(
        f"apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - env:\n        - value: {key}\n"
    )
    (repo / "z.py").write_text(f'ROUTER = "{key}"\n')
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    pod = (repo / "k8s/pod.yaml").read_text()
    assert "valueFrom: {secretKeyRef: {name: router, key: ROUTER}}" in pod
    assert env_file(repo) == {"ROUTER": key}

"""The planner under keysentry fix and the reports: every occurrence of every key found,
edits applied without overlap, positions as reports count them, the size cap, and no
rewrite that would parse badly or still hold the key. Through `keysentry fix` and the
JSON report on real repositories."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from conftest import git, make_key
from fixhelpers import env_file, fix
from gitrepo_helpers import commit
from keysentry.cli import main
from keysentry.models import redact
from keysentry.rewrite.plan import MAX_BYTES
from scanhelpers import HEX_RULE

# Each case takes a second or two; a change that loops forever fails it in minutes, not ten.
pytestmark = pytest.mark.timeout(180)


def json_fixes(repo: Path, monkeypatch, *args: str) -> list[tuple[str, int, int, dict]]:
    """(path, line, column, fix) of every location of a `keysentry scan` JSON report."""
    monkeypatch.chdir(repo)
    out = repo.parent / "report.json"
    main(["scan", ".", *args, "--format", "json", "--output", str(out), "--quiet"])
    doc = json.loads(out.read_text())
    return sorted(
        (loc["path"], loc["line"], loc["column"], loc["fix"])
        for f in doc["findings"]
        for loc in f["locations"]
    )


def test_two_keys_back_to_back_are_both_moved(repo: Path, monkeypatch, capsys) -> None:
    first, second = make_key(), make_key()
    commit(repo, {"a.js": f"const both = `{first}{second}`;\n"})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert (repo / "a.js").read_text() == (
        "const both = `${process.env.OPENROUTER_API_KEY}${process.env.OPENROUTER_API_KEY_2}`;\n"
    )
    assert env_file(repo) == {"OPENROUTER_API_KEY": first, "OPENROUTER_API_KEY_2": second}


def test_one_instruction_holding_a_key_twice_is_removed_once(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    commit(repo, {"Dockerfile": f'FROM scratch\nENV TOKENS={key},{key}\nCMD ["x"]\n'})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert (repo / "Dockerfile").read_text() == 'FROM scratch\nCMD ["x"]\n'
    assert env_file(repo) == {"TOKENS": key}


def test_keys_of_two_lengths_in_one_file(repo: Path, monkeypatch, capsys) -> None:
    """A key of an unknown version (`sk-or-v12-...`) is a byte longer than a v1 key."""
    v1 = make_key()
    v12 = "sk-or-" + "v12-" + secrets.token_hex(32)
    commit(repo, {"a.py": f'FIRST = "{v12}"\nSECOND = "{v1}"\n'})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert (repo / "a.py").read_text() == (
        'import os\nFIRST = os.environ["FIRST"]\nSECOND = os.environ["SECOND"]\n'
    )
    assert env_file(repo) == {"FIRST": v12, "SECOND": v1}


RULE = """\
schema_version = 1

[[rules]]
id = "exco-token"
description = "Example Corp API token"
severity = "high"
keywords = ["exco_"]
regex = 'exco_[0-9a-f]{40}(?![0-9a-f])'
examples = ["TOKEN=exco_{hex40}"]
negatives = ["TOKEN=exco_{hex39}"]
"""


def test_keys_of_a_rule_of_ones_own_are_moved_in_file_order(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    token = "exco_" + secrets.token_hex(20)
    commit(repo, {
        ".keysentry.toml": 'rules = ["extra.toml"]\n',
        "extra.toml": RULE,
        "a.py": f'EXCO = "{token}"\nROUTER = "{key}"\nAGAIN = "{token}"\n',
    })  # fmt: skip
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert (repo / "a.py").read_text() == (
        'import os\nEXCO = os.environ["EXCO"]\nROUTER = os.environ["ROUTER"]\n'
        'AGAIN = os.environ["EXCO"]\n'
    )
    lines = [line.split(": fixed")[0] for line in err.splitlines() if ": fixed: " in line]
    assert lines == ["a.py:1:9", "a.py:2:11", "a.py:3:10"]
    assert env_file(repo) == {"EXCO": token, "ROUTER": key}


def test_the_same_key_in_code_and_in_a_comment(repo: Path, key: str, monkeypatch, capsys) -> None:
    """The comment is left by hand; the code is still moved (the rewritten file holds the
    key only where it is left by hand)."""
    commit(repo, {"a.py": f'# old: {key}\nKEY = "{key}"\n'})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3, err
    assert (repo / "a.py").read_text() == f'# old: {key}\nimport os\nKEY = os.environ["KEY"]\n'
    assert "a.py:1:8: change by hand: " in err and "a.py:2:8: fixed: " in err


def test_a_notebook_whose_metadata_holds_the_key_is_left(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["openrouter"] = {"key": key}
    nb.cells = [nbformat.v4.new_code_cell(f'KEY = "{key}"')]
    text = nbformat.writes(nb) + "\n"
    commit(repo, {"a.ipynb": text})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3, err
    assert f": change by hand: {redact(key)}: the rewritten file would still hold the key\n" in err
    assert (repo / "a.ipynb").read_text() == text and not (repo / ".env").exists()


@pytest.mark.parametrize(("size", "fixable"), [(MAX_BYTES, True), (MAX_BYTES + 1, False)])
def test_the_size_cap_is_exact(repo: Path, key: str, monkeypatch, capsys, size, fixable) -> None:
    head = f"OPENROUTER_API_KEY={key}\n"
    body = head + "#" * (size - len(head) - 1) + "\n"
    commit(repo, {".env": body})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == (1 if fixable else 3), err
    big = "larger than 4 MiB: keysentry fix does not rewrite it\n"
    assert (f".env:1:20: change by hand: {redact(key)}: {big}" in err) is not fixable
    assert (".env:1:20: change by hand: " in err) is not fixable
    # an env file is hidden from git at any size
    assert ".env: untracked (git rm --cached)" in err


def test_positions_in_reports_count_characters_and_crlf_lines(repo: Path, monkeypatch) -> None:
    key = make_key()
    commit(repo, {"a.py": f'"""Übersicht."""\r\nAPI = "é{key}ü"\r\n'.encode()})
    ((path, line, column, fix_info),) = json_fixes(repo, monkeypatch)
    assert (path, line, column) == ("a.py", 2, 9)
    assert fix_info["fixable"] and fix_info["variable"] == "API"
    literal, import_os = fix_info["edits"]
    assert literal == {
        "start": {"line": 2, "column": 7},
        "end": {"line": 2, "column": 7 + len(key) + 4},
        "text": "f\"é{os.environ['API']}ü\"",
    }
    assert import_os == {
        "start": {"line": 2, "column": 1}, "end": {"line": 2, "column": 1},
        "text": "import os\n",
    }  # fmt: skip


def test_reports_read_the_staged_version(repo: Path, monkeypatch) -> None:
    """`keysentry staged` plans on what is staged, not on the work tree's file."""
    key = make_key()
    (repo / "a.py").write_text(f'STAGED = "{key}"\n')
    git(repo, "add", "a.py")
    (repo / "a.py").write_text(f'# moved\n\n\nWORKTREE = "{key}"\n')
    monkeypatch.chdir(repo)
    out = repo.parent / "report.json"
    assert main(["staged", "--format", "json", "--output", str(out), "--quiet"]) == 1
    doc = json.loads(out.read_text())
    (loc,) = [loc for f in doc["findings"] for loc in f["locations"]]
    assert (loc["line"], loc["fix"]["variable"], loc["fix"]["fixable"]) == (1, "STAGED", True)


def test_a_match_inside_a_key_that_moves_moves_with_it(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    """Two rules, one matching inside the other's key: one edit, nothing left by hand."""
    commit(repo, {".keysentry.toml": 'rules = ["hex.toml"]\n', "hex.toml": HEX_RULE,
                     "a.py": f'secret = "{key}"\n'})  # fmt: skip
    fixes = json_fixes(repo, monkeypatch)
    assert [(line, col, f["fixable"]) for _p, line, col, f in fixes] == [
        (1, 11, True),
        (1, 20, True),
    ]
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert (repo / "a.py").read_text() == 'import os\nsecret = os.environ["OPENROUTER_API_KEY"]\n'
    assert env_file(repo) == {"OPENROUTER_API_KEY": key}


Z_RULE = """\
schema_version = 1

[[rules]]
id = "z-token"
description = "a token that starts with its own first letter again"
severity = "high"
keywords = ["zzzz"]
regex = 'zzzzzzz[0-9a-f]{40}(?![0-9a-f])'
placeholder_model = false
examples = ["zzzzzzz{hex40}"]
negatives = ["zzzzzzz{hex39}"]
"""


def test_a_key_one_byte_after_its_own_head(repo: Path, monkeypatch, capsys) -> None:
    token = "zzzzzzz" + secrets.token_hex(20)
    commit(repo, {".keysentry.toml": 'rules = ["z.toml"]\n', "z.toml": Z_RULE,
                     "a.js": f'const t = "z{token}";\n'})  # fmt: skip
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert (repo / "a.js").read_text() == "const t = `z${process.env.OPENROUTER_API_KEY}`;\n"


def test_the_import_edit_goes_with_the_first_location(repo: Path, monkeypatch) -> None:
    first, second = make_key(), make_key()
    commit(repo, {"a.py": f'ONE = "{first}"\nTWO = "{second}"\n'})
    fixes = json_fixes(repo, monkeypatch)
    assert [[e["text"] for e in f["edits"]] for _p, _l, _c, f in fixes] == [
        ['os.environ["ONE"]', "import os\n"],
        ['os.environ["TWO"]'],
    ]


def test_diff_of_an_env_file_to_hide(repo: Path, key: str, monkeypatch, capsys) -> None:
    commit(repo, {"README.md": "# x\n"})
    (repo / ".env").write_text(f"OPENROUTER_API_KEY={key}\n")
    code, out, err = fix(repo, monkeypatch, capsys, "--diff")
    assert (code, out) == (1, ""), err
    assert ".env:1:20: would fix: ignore the env file (.gitignore); the file is kept" in err
    assert not (repo / ".gitignore").exists()


def test_a_committed_env_file_alone_is_hidden_not_copied(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    commit(repo, {"deploy/app.env": f"ROUTER={key}\n"})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert not (repo / ".env").exists()
    assert (repo / ".gitignore").read_text() == "/deploy/app.env\n"
    assert (
        "deploy/app.env:1:8: fixed: untrack the env file (git rm --cached) and ignore it;"
        " the file is kept\n" in err
    )
    assert git(repo, "ls-files") == ""


def test_a_match_inside_a_key_left_by_hand_is_not_whole(repo: Path, key: str, monkeypatch) -> None:
    """The inner match of a key that plain text leaves by hand: not fixable, not written
    whole, and nothing moves for it."""
    commit(repo, {".keysentry.toml": 'rules = ["hex.toml"]\n', "hex.toml": HEX_RULE,
                     "notes.txt": f'secret = "{key}"\n'})  # fmt: skip
    fixes = json_fixes(repo, monkeypatch)
    assert [(line, col) for _p, line, col, _f in fixes] == [(1, 11), (1, 20)]
    assert fixes[0][3]["how"] == "plain text has no variable syntax"
    assert fixes[1][3] == {
        "fixable": False, "kind": "", "variable": None, "advice": None, "edits": [],
        "how": "the key is not written whole here (split across literals or escaped)",
    }  # fmt: skip


def test_a_key_at_the_first_byte_of_a_file(repo: Path, key: str, monkeypatch) -> None:
    commit(repo, {"notes.txt": f"{key}\n"})
    ((_path, line, col, fix_info),) = json_fixes(repo, monkeypatch)
    assert (line, col, fix_info["how"]) == (1, 1, "plain text has no variable syntax")


HEAD_RULE = """\
schema_version = 1

[[rules]]
id = "router-head"
description = "the first half of an OpenRouter key's hex"
severity = "high"
keywords = ["sk-or-v1-"]
regex = 'sk-or-v1-(?P<secret>[0-9a-f]{32})'
examples = ["sk-or-v1-{hex64}"]
negatives = ["sk-or-v1-{hex31}"]
"""


def test_a_match_that_ends_inside_a_key_moves_with_it_each_time(
    repo: Path, monkeypatch, capsys
) -> None:
    """A rule that matches the first half of each key: the whole keys move (the match
    inside each is the one that overlaps, wherever it ends), the second one too."""
    first, second = make_key(), make_key()
    commit(repo, {".keysentry.toml": 'rules = ["head.toml"]\n', "head.toml": HEAD_RULE,
                  "a.py": f'ONE = "{first}"\nTWO = "{second}"\n'})  # fmt: skip
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert (repo / "a.py").read_text() == (
        'import os\nONE = os.environ["ONE"]\nTWO = os.environ["TWO"]\n'
    )
    assert env_file(repo) == {"ONE": first, "TWO": second}


def test_overlapping_edits_name_the_byte() -> None:
    """A rewriter's bug, never the user's file: no command reaches it, so directly."""
    from keysentry.rewrite.edits import ByteEdit, OverlapError, apply_edits

    with pytest.raises(OverlapError, match=r"^edits overlap at byte 3$"):
        apply_edits(b"abcdef", [ByteEdit(1, 4, b"x"), ByteEdit(3, 5, b"y")])


def test_the_reports_say_what_each_location_gets(repo: Path, key: str, monkeypatch) -> None:
    """The kind and the text of the fix with the name filled in, by hand or fixable; the
    advice names the env file the reports assume (.env); a notebook, rewritten whole,
    has no edits to show."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f'ROUTER = "{key}"')]
    workflow = f"on: push\njobs:\n  a:\n    runs-on: x\n    env:\n      ROUTER: {key}\n"
    commit(repo, {"a.py": f'ROUTER = "{key}"\n', "notes.txt": f"{key}\n",
                  "a.ipynb": nbformat.writes(nb) + "\n",
                  ".github/workflows/ci.yml": workflow})  # fmt: skip
    fixes = {path: info for path, _l, _c, info in json_fixes(repo, monkeypatch)}
    assert {p: (f["fixable"], f["kind"]) for p, f in fixes.items()} == {
        "a.py": (True, "python"),
        "notes.txt": (False, "text"),
        "a.ipynb": (True, "notebook"),
        ".github/workflows/ci.yml": (True, "github"),
    }
    assert fixes["a.py"]["how"] == 'os.environ["ROUTER"]'
    assert fixes["a.ipynb"]["how"] == (
        'os.environ["ROUTER"] in the code, removed from outputs and attachments'
    )
    assert fixes["a.ipynb"]["edits"] == []
    assert fixes[".github/workflows/ci.yml"]["advice"] == (
        "add ROUTER as an Actions secret of the repository (gh secret set ROUTER; "
        "the value is in .env)"
    )


def test_a_key_an_env_file_holds_keeps_its_name(repo: Path, key: str, monkeypatch, capsys) -> None:
    outside = repo.parent / "keys.env"
    outside.write_text(f"ROUTER={key}\n")
    commit(repo, {"a.py": f'API = "{key}"\n'})
    code, _out, err = fix(repo, monkeypatch, capsys, "--env-file", str(outside))
    assert code == 1, err
    assert (repo / "a.py").read_text() == 'import os\nAPI = os.environ["ROUTER"]\n'


def test_edits_a_rewriter_got_wrong_leave_the_file_by_hand(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    """Overlapping edits are the rewriter's bug: the file is left, and the user told why."""
    from keysentry.rewrite import registry
    from keysentry.rewrite.edits import ByteEdit
    from keysentry.rewrite.sites import FileSites, Site

    def overlapping(data: bytes, secrets, ctx) -> FileSites:
        start = data.index(key.encode())
        end = start + len(key)
        return FileSites([
            Site(key, start, lambda name: [ByteEdit(start, end, name.encode())], "x"),
            Site(key, start, lambda name: [ByteEdit(start + 1, end, b"y")], "y"),
        ])  # fmt: skip

    monkeypatch.setitem(registry.REWRITERS, "python", overlapping)
    text = f'API = "{key}"\n'
    commit(repo, {"a.py": text})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3, err
    assert (
        f"a.py:1:8: change by hand: {redact(key)}: the fix could not be planned"
        f" (edits overlap at byte 8)\n" in err
    )
    assert (repo / "a.py").read_text() == text and not (repo / ".env").exists()

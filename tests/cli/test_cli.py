"""CLI behaviour through main([...]): exit codes, config, formats, redaction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import make_key
from keysentry.cli import main
from scanhelpers import run_json


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    return root


def test_clean_tree_exits_0(tree: Path, tmp_path: Path) -> None:
    (tree / "a.txt").write_text("nothing here\n")
    code, report = run_json(tmp_path, "scan", str(tree))
    assert code == 0 and report["findings"] == []
    assert report["schema_version"] == 1
    assert report["stats"]["counters"]["files"] == 1


def test_missing_path_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "path does not exist" in err and "Traceback" not in err


def test_bad_option_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--format", "yaml"]) == 2
    assert main(["no-such-command"]) == 2


def test_text_output_is_redacted_unless_show_secrets(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = make_key()
    (tree / ".env").write_text(f"OPENROUTER_API_KEY={key}\n")
    assert main(["scan", str(tree)]) == 1
    out, err = capsys.readouterr()
    assert key not in out + err
    assert key[:12] + "..." + key[-3:] in out
    assert "1 finding(s)" in err
    assert main(["scan", str(tree), "--show-secrets"]) == 1
    out, _ = capsys.readouterr()
    assert key in out


def test_show_secrets_in_json(tree: Path, tmp_path: Path) -> None:
    key = make_key()
    (tree / "a").write_text(key)
    _, report = run_json(tmp_path, "scan", str(tree))
    assert "secret" not in report["findings"][0]
    _, report = run_json(tmp_path, "scan", str(tree), "--show-secrets")
    assert report["findings"][0]["secret"] == key


def test_jsonl(tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = make_key(), make_key()
    (tree / "a").write_text(f"{a}\n{b}\n")
    assert main(["scan", str(tree), "--format", "jsonl", "-q"]) == 1
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["type"] for x in lines] == ["finding", "finding", "summary"]
    assert a not in json.dumps(lines)


def test_exclude_patterns(tree: Path, tmp_path: Path) -> None:
    (tree / "node_modules" / "x").mkdir(parents=True)
    (tree / "node_modules" / "x" / "k.js").write_text(make_key())
    (tree / "b.min.js").write_text(make_key())
    (tree / "keep.js").write_text(make_key())
    _, report = run_json(
        tmp_path, "scan", str(tree), "--exclude", "node_modules/", "--exclude", "*.min.js"
    )
    paths = [loc["path"] for f in report["findings"] for loc in f["locations"]]
    assert len(paths) == 1 and paths[0].endswith("keep.js")


def test_config_file_allowlist_markers_and_unknown_key(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import hashlib

    a, b, c = make_key(), make_key(), make_key()
    (tree / "a.py").write_text(
        f"A = '{a}'  # reviewed-ok\nB = '{b}'  # gitleaks:allow\nC = '{c}'\n"
    )
    config = tmp_path / "ks.toml"
    config.write_text(
        'allow_markers = ["reviewed-ok"]\n'
        "[[allowlist]]\n"
        f'fingerprint = "{hashlib.sha256(c.encode()).hexdigest()}"\n'
        'reason = "revoked long ago"\n'
    )
    code, report = run_json(tmp_path, "scan", str(tree), "--config", str(config))
    assert code == 1
    assert [f["fingerprint"] for f in report["findings"]] == [
        hashlib.sha256(b.encode()).hexdigest()
    ]
    counters = report["stats"]["counters"]
    assert counters["allowed_inline"] == 1 and counters["allowlisted"] == 1
    config.write_text('exclude = ["x"]\ncolour = "red"\n')
    assert main(["scan", str(tree), "--config", str(config)]) == 2
    assert "unknown key 'colour'" in capsys.readouterr().err


def test_default_markers_cover_other_scanners(tree: Path, tmp_path: Path) -> None:
    markers = [
        "keysentry:allow",
        "gitleaks:allow",
        "betterleaks:allow",
        "pragma: allowlist secret",
        "trufflehog:ignore",
        "kingfisher:ignore",
    ]
    (tree / "a.py").write_text("".join(f"k = '{make_key()}'  # {m}\n" for m in markers))
    code, report = run_json(tmp_path, "scan", str(tree))
    assert code == 0 and report["stats"]["counters"]["allowed_inline"] == len(markers)


def test_pyproject_tool_table(tree: Path, tmp_path: Path) -> None:
    (tree / "skip.txt").write_text(make_key())
    (tree / "pyproject.toml").write_text('[tool.keysentry]\nexclude = ["skip.txt"]\n')
    code, _ = run_json(tmp_path, "scan", str(tree))
    assert code == 0
    (tree / ".keysentry.toml").write_text("exclude = []\n")  # the dotfile wins
    code, _ = run_json(tmp_path, "scan", str(tree))
    assert code == 1


def test_malformed_rule_file_exits_2(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[rules]]\nid = "my-rule"\ndescription = "d"\nseverity = "high"\n'
        'keywords = ["x"]\nregex = "x("\n'
    )
    assert main(["scan", str(tree), "--rules", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err and "my-rule" in err and "does not compile" in err


def test_extra_rule_file_finds_its_secret(tree: Path, tmp_path: Path) -> None:
    rules = tmp_path / "r.toml"
    rules.write_text(
        '[[rules]]\nid = "exco-token"\ndescription = "d"\nseverity = "low"\n'
        "keywords = [\"exco_\"]\nregex = 'exco_[0-9a-f]{40}'\n"
    )
    import secrets

    (tree / "a").write_text("t = exco_" + secrets.token_hex(20))
    code, report = run_json(tmp_path, "scan", str(tree), "--rules", str(rules))
    assert code == 1 and report["findings"][0]["rule_id"] == "exco-token"


def test_fail_on_live_needs_validate(tree: Path) -> None:
    assert main(["scan", str(tree), "--fail-on", "live"]) == 2


def test_git_status_per_location(repo: Path, tmp_path: Path) -> None:
    from conftest import git

    keys = [make_key() for _ in range(3)]
    (repo / ".gitignore").write_text("secret.env\n")
    (repo / "tracked.py").write_text(f"K='{keys[0]}'\n")
    git(repo, "add", ".gitignore", "tracked.py")
    git(repo, "commit", "-qm", "init")
    (repo / "new.py").write_text(f"K='{keys[1]}'\n")
    (repo / "secret.env").write_text(f"K={keys[2]}\n")
    _, report = run_json(tmp_path, "scan", str(repo))
    status = {
        f["locations"][0]["path"].rsplit("/", 1)[-1]: f["locations"][0]["git_status"]
        for f in report["findings"]
    }
    assert status == {"tracked.py": "tracked", "new.py": "untracked", "secret.env": "ignored"}


def test_python_dash_m(tree: Path) -> None:
    import subprocess
    import sys

    (tree / "a").write_text(make_key())
    proc = subprocess.run(
        [sys.executable, "-m", "keysentry", "scan", str(tree), "-q"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 1 and "openrouter-api-key" in proc.stdout

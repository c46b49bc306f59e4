"""The built wheel carries the rules and works from a fresh virtual environment."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import conftest
from conftest import make_key

ROOT = conftest.ROOT


def test_every_subpackage_is_listed_in_pyproject() -> None:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        "keysentry" + "".join("." + p for p in d.relative_to(ROOT / "src" / "keysentry").parts)
        for d in (ROOT / "src" / "keysentry").rglob("*")
        if d.is_dir() and (d / "__init__.py").exists()
    } | {"keysentry"}
    assert found | {"keysentry.builtin_rules"} == listed


@pytest.mark.slow
def test_wheel_installs_outside_the_repo_and_scans(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=900,
    )
    wheel = next(dist.glob("keysentry-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "keysentry/builtin_rules/openrouter.toml" in names
    assert "keysentry/report/templates/report.html.j2" in names
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=900)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", str(wheel)],
        check=True,
        capture_output=True,
        timeout=900,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    key = make_key()
    (work / "config.env").write_text(f"OPENROUTER_API_KEY={key}\n")
    proc = subprocess.run(
        [str(venv / "bin" / "keysentry"), "scan", "."],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert proc.returncode == 1, proc.stderr
    assert "config.env:1:20" in proc.stdout
    assert key not in proc.stdout + proc.stderr
    html = subprocess.run(
        [str(venv / "bin" / "keysentry"), "scan", ".", "--format", "html", "-q"],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert html.returncode == 1, html.stderr
    assert "config.env:1:20" in html.stdout and key not in html.stdout


def test_the_version_is_written_once_and_printed_with_the_rules_digest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``keysentry --version`` names the installed version (pyproject.toml reads it from
    keysentry/__init__.py: there is no second copy to forget) and the digest of the rule
    files the package ships."""
    import hashlib
    import re
    from importlib import metadata

    import keysentry
    from keysentry.cli import main
    from keysentry.detect.rules import BUILTIN_RULE_FILES

    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and project["dynamic"] == ["version"]
    assert metadata.version("keysentry") == keysentry.__version__
    sha = hashlib.sha256()
    for name in BUILTIN_RULE_FILES:
        sha.update(name.encode() + b"\0" + (ROOT / "rules" / name).read_bytes() + b"\0")
    assert sorted(p.name for p in (ROOT / "rules").glob("*.toml")) == sorted(BUILTIN_RULE_FILES)
    assert main(["--version"]) == 0
    out = capsys.readouterr().out
    assert out == f"keysentry {keysentry.__version__} (built-in rules sha256:{sha.hexdigest()})\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+", keysentry.__version__)

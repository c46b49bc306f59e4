"""Ready to release: the tag check and release notes, the release workflow's shape, and the
README's examples pinned to the version.

The workflow itself runs on GitHub only; what can run here does (tools/release_notes.py,
as the workflow's first step calls it), and the rest is read as the YAML GitHub reads.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import conftest
import keysentry

ROOT = conftest.ROOT
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
VERSION = keysentry.__version__


def _project(tmp_path: Path, changelog: str, version: str = "1.2.3") -> Path:
    (tmp_path / "src" / "keysentry").mkdir(parents=True)
    (tmp_path / "src" / "keysentry" / "__init__.py").write_text(f'__version__ = "{version}"\n')
    (tmp_path / "CHANGELOG.md").write_text(changelog)
    return tmp_path


def _notes(root: Path, tag: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", str(ROOT / "tools" / "release_notes.py"), "--tag", tag,
         "--root", str(root)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


CHANGELOG = """# Changelog

## [Unreleased]

## [1.2.3] - 2027-01-15

### Fixed
- Something.

## [1.2.2] - 2026-12-01

- Older.
"""


def test_a_tag_of_the_version_with_a_dated_section_gives_its_notes(tmp_path: Path) -> None:
    proc = _notes(_project(tmp_path, CHANGELOG), "v1.2.3")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "### Fixed\n- Something.\n"


@pytest.mark.parametrize(
    ("changelog", "tag", "problem"),
    [
        (CHANGELOG, "v1.2.4", "does not name the version in __init__.py (v1.2.3)"),
        (CHANGELOG, "1.2.3", "does not name the version"),
        (CHANGELOG.replace("[1.2.3] - 2027-01-15", "[1.2.3]"), "v1.2.3", "has no date"),
        (CHANGELOG.replace("## [1.2.3] - 2027-01-15", "## [Later]"), "v1.2.3", "no [1.2.3]"),
        (CHANGELOG.replace("### Fixed\n- Something.\n", ""), "v1.2.3", "section is empty"),
    ],
)
def test_a_tag_that_does_not_match_is_refused(
    tmp_path: Path, changelog: str, tag: str, problem: str
) -> None:
    proc = _notes(_project(tmp_path, changelog), tag)
    assert proc.returncode == 1 and proc.stdout == ""
    assert problem in proc.stderr, proc.stderr


def test_this_repository_has_a_changelog_with_an_unreleased_section() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in text
    assert re.search(r"^## \[Unreleased\]\n\n\S", text, re.MULTILINE)


def _workflow() -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    return data


def test_the_release_runs_on_version_tags_with_the_least_permissions() -> None:
    flow = _workflow()
    assert flow[True] == {"push": {"tags": ["v*"]}}  # YAML reads the key `on` as True
    assert flow["permissions"] == {"contents": "read"}
    jobs = flow["jobs"]
    assert jobs["pypi"]["needs"] == "build" and jobs["github-release"]["needs"] == "pypi"
    # Trusted publishing: an id-token for the upload job alone, in its own environment.
    assert jobs["pypi"]["permissions"] == {"id-token": "write"}
    assert jobs["pypi"]["environment"] == "pypi"
    assert jobs["github-release"]["permissions"] == {"contents": "write"}
    assert "permissions" not in jobs["build"]
    uses = [step.get("uses", "") for job in jobs.values() for step in job["steps"]]
    assert "pypa/gh-action-pypi-publish@release/v1" in uses
    assert not any("password" in step.get("with", {}) for step in jobs["pypi"]["steps"])


def test_the_release_steps_take_inputs_from_the_environment_and_run_python_isolated() -> None:
    runs = [
        step["run"]
        for job in _workflow()["jobs"].values()
        for step in job["steps"]
        if "run" in step
    ]
    assert runs
    for script in runs:
        assert "${{" not in script, script  # expressions go through env:, never into a script
        for line in script.splitlines():
            if re.search(r"\bpython3?\b", line):
                assert re.search(r"\bpython3? -I\b", line), line
    build = "\n".join(runs)
    assert "tools/release_notes.py --tag" in build
    assert "twine check --strict" in build


def test_the_readme_pins_the_examples_to_this_version() -> None:
    """pre-commit, the Action and the GitLab template are shown at the released tag, and
    `pre-commit autoupdate` is how to move on."""
    readme = (ROOT / "README.md").read_text()
    tag = f"v{VERSION}"
    revs = re.findall(r"^\s*rev: (\S+)", readme, re.MULTILINE)
    actions = re.findall(r"uses: OWNER/keysentry@(\S+)", readme)
    specs = re.findall(r"keysentry@([^\"\s]+)\"", readme)
    remotes = re.findall(r"OWNER/keysentry/([^/\s]+)/ci/", readme)
    assert revs and actions and specs and remotes
    assert set(revs) == set(actions) == set(specs) == set(remotes) == {tag}
    assert "pre-commit autoupdate" in readme

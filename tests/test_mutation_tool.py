"""tools/mutate.py: the table in docs/mutation.md, and --since's choice of functions.

The mutation runs themselves are too slow for the suite (minutes per target); what the
tool decides before and after them is checked here: which functions a change touched,
on a real repository, and that the table it writes is well formed and names every target.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

import conftest
from conftest import git
from gitrepo_helpers import commit


@pytest.fixture(scope="module")
def mutate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutate", conftest.ROOT / "tools" / "mutate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutate"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_table_is_well_formed_and_names_every_target(mutate: ModuleType) -> None:
    text = (conftest.ROOT / "docs" / "mutation.md").read_text(encoding="utf-8")
    assert "python tools/mutate.py --table" in text  # how to regenerate it
    rows, _survivors = mutate.parse_table(text)
    assert list(rows) == list(mutate.TARGETS)
    for name, cells in rows.items():
        assert len(cells) == len(mutate.COLUMNS)
        assert cells[1] == mutate._code_cell(mutate.TARGETS[name])
        if cells[2] == "not measured":
            assert cells[3:] == ["-"] * 5
            continue
        mutants, killed, equivalent, survivors = map(int, cells[2:6])
        assert mutants == killed + equivalent + survivors, name
        share = 100 * survivors / (mutants - equivalent) if mutants > equivalent else 0.0
        assert cells[6] == f"{share:.1f}%"
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\d at [0-9a-f]{12}( with uncommitted changes)?", cells[7]
        )
    # What the tool writes is what it reads: rewriting the table changes nothing (the list
    # of equivalent mutants below it is EQUIVALENT as of the last run).
    rewritten = mutate.render_table(*mutate.parse_table(text))
    assert rewritten.split("## Equivalent")[0] == text.split("## Equivalent")[0]


def test_a_new_target_shows_as_not_measured(mutate: ModuleType) -> None:
    targets = {"one": mutate.Target(files=("src/a.py",), functions=("x_*",), tests=("t.py",))}
    measured = mutate.Measured(mutants=20, killed=17, equivalent=("a.x_f__mutmut_1",),
                               survivors=("a.x_f__mutmut_2 (survived)",) * 2)  # fmt: skip
    row = mutate.measured_row("one", targets["one"], measured, "2025-01-02 at " + "0" * 12)
    assert row[2:7] == ["20", "17", "1", "2", "10.5%"]
    two = {**targets, "two": mutate.Target(files=("src/b.py",), functions=("x_g",), tests=())}
    text = mutate.render_table({"one": row}, {"one": "`a.x_f__mutmut_2 (survived)`"}, two, {})
    rows, survivors = mutate.parse_table(text)
    assert rows["one"] == row
    assert rows["two"][2:] == ["not measured", "-", "-", "-", "-", "-"]
    assert survivors == {"one": "`a.x_f__mutmut_2 (survived)`"}


MODULE = '''\
"""A module."""

LIMIT = 10


def first(x):
    return x + 1


def second(x):
    def inner(y):
        return y * 2

    return inner(x)


class Box:
    size = 3

    @property
    def area(self):
        assert self.size >= 0
        return self.size * self.size

    def grow(self, n):
        self.size += n
        return self.size
'''


def test_since_picks_the_functions_a_change_touched(mutate: ModuleType, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "src" / "pkg").mkdir(parents=True)
    module = repo / "src" / "pkg" / "mod.py"
    module.write_text(MODULE)
    (repo / "src" / "pkg" / "other.py").write_text("def untouched():\n    return 1\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    targets = {
        "functions": mutate.Target(files=("src/pkg/mod.py",), functions=("x_*",), tests=()),
        "methods": mutate.Target(files=("src/pkg/mod.py",), functions=("xǁ*",), tests=()),
        "first only": mutate.Target(files=("src/pkg/mod.py",), functions=("x_first",), tests=()),
        "other file": mutate.Target(files=("src/pkg/other.py",), functions=("x_*",), tests=()),
    }
    assert mutate.since_plan("HEAD", repo, targets) == ({}, {})
    edited = (
        MODULE.replace("LIMIT = 10", "LIMIT = 11")  # outside any function
        .replace("y * 2", "y * 3")  # a nested function: mutmut mutates the one around it
        .replace("        assert self.size >= 0\n", "")  # a deletion only
    )
    module.write_text(edited)  # uncommitted: the working tree against REV
    plan, outside = mutate.since_plan("HEAD", repo, targets)
    assert plan == {"functions": ("x_second",), "methods": ("xǁBoxǁarea",)}
    assert outside == {"src/pkg/mod.py": [3]}
    git(repo, "commit", "-q", "-am", "edit")
    assert mutate.since_plan("HEAD~1", repo, targets)[0] == plan
    # a decorator's line belongs to the function below it
    module.write_text(edited.replace("    @property\n", "    @staticmethod\n"))
    assert mutate.since_plan("HEAD", repo, targets)[0] == {"methods": ("xǁBoxǁarea",)}
    # what landed on REV since this branch left it is not this change's
    git(repo, "checkout", "-q", "--", ".")
    git(repo, "checkout", "-q", "-b", "topic", "HEAD~1")
    git(repo, "checkout", "-q", "main")
    commit(repo, {"src/pkg/other.py": "def untouched():\n    return 2\n"}, "on main")
    git(repo, "checkout", "-q", "topic")
    assert mutate.since_plan("main", repo, targets)[0] == {}
    with pytest.raises(SystemExit, match="git merge-base no-such-rev HEAD failed"):
        mutate.since_plan("no-such-rev", repo, targets)


@pytest.mark.parametrize(
    "argv",
    [
        ["--only", "x_redact", "--table", "redaction"],
        ["--since", "HEAD", "--table", "redaction"],
        ["--since", "HEAD", "--only", "x_redact", "redaction"],
        ["no-such-target"],
    ],
)
def test_usage_errors_exit_2_before_any_run(
    mutate: ModuleType, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # --table rewrites whole rows: a row measured over part of a target's functions would
    # claim a share it never measured.
    with pytest.raises(SystemExit) as raised:
        mutate.main(argv)
    assert raised.value.code == 2
    assert "error:" in capsys.readouterr().err

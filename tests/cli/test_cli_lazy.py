"""Commands are imported when asked for (keysentry.cli.app.LazyGroup): the table that
says which module registers which command is complete, and a resume of an unchanged
audit imports neither the other commands nor the worker pool's machinery."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click

from conftest import git, make_key
from gitrepo_helpers import commit
from keysentry.cli.app import COMMAND_MODULES, cli


def test_every_command_module_is_in_the_table() -> None:
    import keysentry.cli

    cli_dir = Path(keysentry.cli.__file__).parent
    registering = {
        p.stem for p in cli_dir.glob("*.py") if "\ndef register(" in p.read_text(encoding="utf-8")
    }
    assert registering == set(COMMAND_MODULES.values())
    for module in registering:
        group = click.Group("g")
        __import__(f"keysentry.cli.{module}", fromlist=["register"]).register(group)
        expected = {name for name, owner in COMMAND_MODULES.items() if owner == module}
        assert set(group.commands) == expected, module


def test_help_lists_every_command() -> None:
    ctx = click.Context(cli)
    listed = cli.list_commands(ctx)
    assert set(COMMAND_MODULES) | {"scan"} == set(listed)
    assert all(cli.get_command(ctx, name) is not None for name in listed)
    assert cli.get_command(ctx, "no-such-command") is None


def test_a_resume_imports_only_what_it_needs(tmp_path: Path) -> None:
    repo = tmp_path / "fleet" / "r"
    repo.mkdir(parents=True)
    git(repo, "init", "-q")
    commit(repo, {"k.env": f"K={make_key()}\n"})
    broken = tmp_path / "fleet" / "broken"
    broken.mkdir()
    (broken / ".git").write_text("gitdir: /nonexistent\n")
    args = ["audit", str(tmp_path / "fleet"), "--db", str(tmp_path / "db"), "-q", "-o",
            str(tmp_path / "out.txt")]  # fmt: skip
    program = (
        "import json, sys\n"
        "from keysentry.cli import main\n"
        f"code = main({args!r})\n"
        "print(json.dumps([code, sorted(sys.modules)]))\n"
    )
    runs = [
        json.loads(subprocess.run([sys.executable, "-c", program], capture_output=True,
                                  check=True, text=True, timeout=300).stdout)
        for _ in range(2)
    ]  # fmt: skip
    (first_code, first), (code, loaded) = runs
    assert first_code == code == 1
    assert "concurrent.futures.process" in first  # the first run did start workers
    never = {
        "multiprocessing",
        "concurrent.futures.process",
        "keysentry.pipeline",
        "keysentry.cli.keys",
        "keysentry.cli.baseline",
        "keysentry.cli.integrations",
        "keysentry.cli.purge",
        "keysentry.cli.git",
        "distributed",
    }
    assert never.isdisjoint(loaded), never & set(loaded)

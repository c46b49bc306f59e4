"""The variable each key moves to: the name the code gives it (in every shape the
languages write one), else OPENROUTER_API_KEY; one name per key, never one name for two
keys. Each case runs `keysentry fix` on a real repository and reads the env file."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import make_key
from fixhelpers import env_file, fix

# Each case takes a second or two; a change that loops forever fails it in minutes, not ten.
pytestmark = pytest.mark.timeout(180)

NAMED = [
    # (file, text with {key}, the variable, the rewritten text's line)
    ("a.php", "<?php\ndefine('ROUTER_KEY', '{key}');\n", "ROUTER_KEY",
     "define('ROUTER_KEY', getenv('ROUTER_KEY'));"),
    ("a.php", '<?php\ndefine("ROUTER_KEY", "{key}");\n', "ROUTER_KEY",
     'define("ROUTER_KEY", getenv(\'ROUTER_KEY\'));'),
    ("a.php", "<?php\n$OPENROUTER_TOKEN = '{key}';\n", "OPENROUTER_TOKEN",
     "$OPENROUTER_TOKEN = getenv('OPENROUTER_TOKEN');"),
    ("a.php", "<?php\n$this->API_SECRET = '{key}';\n", "API_SECRET",
     "$this->API_SECRET = getenv('API_SECRET');"),
    ("a.js", 'const key = process.env.ROUTER_TOKEN || "{key}";\n', "ROUTER_TOKEN",
     "const key = process.env.ROUTER_TOKEN || process.env.ROUTER_TOKEN;"),
    ("a.ts", 'app.config.MY_KEY = "{key}";\n', "MY_KEY", "app.config.MY_KEY = process.env.MY_KEY;"),
    ("a.rb", 'Config::API_SECRET = "{key}"\n', "API_SECRET",
     'Config::API_SECRET = ENV.fetch("API_SECRET")'),
    ("a.rb", 'h = {{ :ROUTER_KEY => "{key}" }}\n', "ROUTER_KEY",
     'h = { :ROUTER_KEY => ENV.fetch("ROUTER_KEY") }'),
    ("a.rb", 'h = {{ ROUTER_KEY: "{key}" }}\n', "ROUTER_KEY",
     'h = { ROUTER_KEY: ENV.fetch("ROUTER_KEY") }'),
    ("a.py", 'settings.API_TOKEN = "{key}"\n', "API_TOKEN",
     'settings.API_TOKEN = os.environ["API_TOKEN"]'),
    ("a.py", 'os.environ["ROUTER_KEY"] = "{key}"\n', "ROUTER_KEY",
     'os.environ["ROUTER_KEY"] = os.environ["ROUTER_KEY"]'),
    ("a.py", 'value = os.getenv("ROUTER_KEY", "{key}")\n', "ROUTER_KEY",
     'value = os.getenv("ROUTER_KEY", os.environ["ROUTER_KEY"])'),
    ("a.py", 'conf = {{"API_TOKEN": "{key}"}}\n', "API_TOKEN",
     'conf = {"API_TOKEN": os.environ["API_TOKEN"]}'),
    ("a.py", 'client = Client(ROUTER_KEY="{key}")\n', "ROUTER_KEY",
     'client = Client(ROUTER_KEY=os.environ["ROUTER_KEY"])'),
    ("a.py", 'A1 = "{key}"\n', "A1", 'A1 = os.environ["A1"]'),
    ("a.py", 'X2_Y = "{key}"\n', "X2_Y", 'X2_Y = os.environ["X2_Y"]'),
    ("a.py", 'NAMED = [[[[["{key}"]]]]]\n', "NAMED", 'NAMED = [[[[[os.environ["NAMED"]]]]]]'),
    ("a.py", 'NAMED = (((((((("{key}"))))))))\n', "NAMED",
     'NAMED = ((((((((os.environ["NAMED"]))))))))'),
    # too far from the name (six levels of expression), or not a constant's name: the default
    ("a.py", 'NAMED = [[[[[["{key}"]]]]]]\n', "OPENROUTER_API_KEY",
     'NAMED = [[[[[[os.environ["OPENROUTER_API_KEY"]]]]]]]'),
    ("a.py", 'key = "{key}"\n', "OPENROUTER_API_KEY", 'key = os.environ["OPENROUTER_API_KEY"]'),
    ("a.py", 'X = "{key}"\n', "OPENROUTER_API_KEY", 'X = os.environ["OPENROUTER_API_KEY"]'),
    ("a.py", 'KEY_ = "{key}"\n', "OPENROUTER_API_KEY", 'KEY_ = os.environ["OPENROUTER_API_KEY"]'),
    ("a.py", '_KEY = "{key}"\n', "OPENROUTER_API_KEY", '_KEY = os.environ["OPENROUTER_API_KEY"]'),
    ("a.py", 'Api_KEY = "{key}"\n', "OPENROUTER_API_KEY",
     'Api_KEY = os.environ["OPENROUTER_API_KEY"]'),
    ("a.py", 'client = Client(api_key="{key}")\n', "OPENROUTER_API_KEY",
     'client = Client(api_key=os.environ["OPENROUTER_API_KEY"])'),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "variable", "line"), NAMED,
                         ids=[f"{n}:{v}:{i}" for i, (n, _t, v, _l) in enumerate(NAMED)])  # fmt: skip
def test_the_name_the_code_gives(
    repo: Path, key: str, monkeypatch, capsys, name: str, text: str, variable: str, line: str
) -> None:
    (repo / name).write_text(text.format(key=key))
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert env_file(repo) == {variable: key}
    assert line in (repo / name).read_text().splitlines()


def test_a_later_name_beats_no_name(repo: Path, key: str, monkeypatch, capsys) -> None:
    """The key is first met where the code names nothing, then under a name: that name."""
    (repo / "a.py").write_text(f'print("{key}")\nROUTER_KEY = "{key}"\n')
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert env_file(repo) == {"ROUTER_KEY": key}
    assert (repo / "a.py").read_text() == (
        'import os\nprint(os.environ["ROUTER_KEY"])\nROUTER_KEY = os.environ["ROUTER_KEY"]\n'
    )


def test_the_first_name_stays(repo: Path, key: str, monkeypatch, capsys) -> None:
    (repo / "a.py").write_text(f'FIRST = "{key}"\nSECOND = "{key}"\n')
    assert fix(repo, monkeypatch, capsys)[0] == 1
    assert env_file(repo) == {"FIRST": key}


def test_three_keys_one_name_get_numbered(repo: Path, monkeypatch, capsys) -> None:
    keys = [make_key() for _ in range(3)]
    (repo / "a.py").write_text("".join(f'KEY = "{k}"\n' for k in keys))
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert env_file(repo) == {"KEY": keys[0], "KEY_2": keys[1], "KEY_3": keys[2]}


def test_forced_name_for_two_keys(repo: Path, monkeypatch, capsys) -> None:
    first, second = make_key(), make_key()
    (repo / "a.py").write_text(f'A = "{first}"\nB = "{second}"\n')
    code, _out, err = fix(repo, monkeypatch, capsys, "--name", "ROUTER")
    assert code == 1, err
    assert env_file(repo) == {"ROUTER": first, "ROUTER_2": second}


def test_a_name_in_the_env_file_for_another_key_is_skipped_even_when_forced(
    repo: Path, monkeypatch, capsys
) -> None:
    old, new = make_key(), make_key()
    (repo / ".env").write_text(f"ROUTER={old}\n")
    (repo / "a.py").write_text(f'A = "{new}"\n')
    code, _out, err = fix(repo, monkeypatch, capsys, "--name", "ROUTER")
    assert code == 1, err
    assert env_file(repo) == {"ROUTER": old, "ROUTER_2": new}
    assert 'A = os.environ["ROUTER_2"]' in (repo / "a.py").read_text()


def test_a_name_the_env_file_gives_a_value_that_is_no_key_is_skipped(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    """The env file is read for the names it holds, whatever their values: one that holds
    no key (nothing the scan finds) is still taken."""
    (repo / ".env").write_text("OPENROUTER_API_KEY=changeme\n")
    (repo / "a.py").write_text(f'key = "{key}"\n')
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert env_file(repo) == {"OPENROUTER_API_KEY": "changeme", "OPENROUTER_API_KEY_2": key}
    assert 'key = os.environ["OPENROUTER_API_KEY_2"]' in (repo / "a.py").read_text()


def test_a_key_an_env_file_outside_the_scan_holds_keeps_its_name(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    outside = repo.parent / "keys.env"
    outside.write_text(f"ROUTER={key}\n")
    (repo / "a.py").write_text(f'KEY = "{key}"\n')
    code, _out, err = fix(repo, monkeypatch, capsys, "--env-file", str(outside))
    assert code == 1, err
    assert (repo / "a.py").read_text() == 'import os\nKEY = os.environ["ROUTER"]\n'

"""keysentry fix as a command: exit codes, --diff, --staged, --name, --no-keep, the env
file, and what it tells the user (never a key)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import git, make_key
from fixhelpers import cli, env_file, fix, tree_text
from gitrepo_helpers import commit
from keysentry.models import redact


def test_nothing_to_change_exits_0(repo: Path, monkeypatch, capsys) -> None:
    commit(repo, {"app.py": "print('hello')\n"})
    code, out, err = fix(repo, monkeypatch, capsys)
    assert (code, out) == (0, "") and "nothing to change" in err
    assert not (repo / ".env").exists() and not (repo / ".gitignore").exists()


def test_diff_changes_nothing_and_hides_the_key(repo: Path, key: str, monkeypatch, capsys) -> None:
    text = f'KEY = "{key}"\n'
    commit(repo, {"app.py": text})
    code, out, err = fix(repo, monkeypatch, capsys, "--diff")
    assert code == 1, err
    assert (repo / "app.py").read_text() == text
    assert not (repo / ".env").exists() and not (repo / ".gitignore").exists()
    assert key not in out + err
    assert f'-KEY = "{redact(key)}"' in out and '+KEY = os.environ["KEY"]' in out
    assert out.startswith("--- a/app.py\n+++ b/app.py\n")
    assert ".env: would add KEY" in err
    code, out, _err = fix(repo, monkeypatch, capsys, "--diff", "--show-secrets")
    assert code == 1 and f'-KEY = "{key}"' in out


def test_the_diff_applies_with_git_apply(repo: Path, key: str, monkeypatch, capsys) -> None:
    text = f'import os\n\nKEY = "{key}"\nprint(KEY)\n'
    commit(repo, {"app.py": text})
    _code, out, _err = fix(repo, monkeypatch, capsys, "--diff", "--show-secrets")
    git(repo, "apply", input=out.encode())
    assert (repo / "app.py").read_text() == 'import os\n\nKEY = os.environ["KEY"]\nprint(KEY)\n'


def test_env_file_is_appended_never_duplicated(repo: Path, key: str, monkeypatch, capsys) -> None:
    (repo / ".env").write_text("# local settings\nDEBUG=1\n")
    (repo / ".env").chmod(0o644)
    commit(repo, {".gitignore": ".env\n", "a.py": f'KEY = "{key}"\n'})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert (repo / ".env").read_text() == f"# local settings\nDEBUG=1\nKEY={key}\n"
    assert (repo / ".gitignore").read_text() == ".env\n"  # already ignored: unchanged
    (repo / "b.py").write_text(f'KEY = "{key}"\n')
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert (repo / ".env").read_text().count(key) == 1
    assert 'KEY = os.environ["KEY"]' in (repo / "b.py").read_text()


def test_a_name_taken_with_another_value_is_not_reused(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    other = make_key()
    (repo / ".env").write_text(f"OPENROUTER_API_KEY={other}\n")
    commit(repo, {".gitignore": "/.env\n", "a.py": f'client = Client("{key}")\n'})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert env_file(repo) == {"OPENROUTER_API_KEY": other, "OPENROUTER_API_KEY_2": key}
    assert 'Client(os.environ["OPENROUTER_API_KEY_2"])' in (repo / "a.py").read_text()


def test_new_env_file_is_0600_ignored_and_untracked(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    commit(repo, {"a.py": f'KEY = "{key}"\n'})
    monkeypatch.setattr(os, "umask", os.umask)  # the umask of the test run applies
    old = os.umask(0o022)
    try:
        code, _out, err = fix(repo, monkeypatch, capsys)
    finally:
        os.umask(old)
    assert code == 1, err
    assert (repo / ".env").stat().st_mode & 0o777 == 0o600
    assert (repo / ".gitignore").read_text() == "/.env\n"
    git(repo, "add", "-A")
    assert ".env" not in git(repo, "diff", "--cached", "--name-only").split()
    proc = cli(repo, "staged")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_env_file_option(repo: Path, key: str, monkeypatch, capsys) -> None:
    commit(repo, {"a.py": f'KEY = "{key}"\n'})
    code, _out, err = fix(repo, monkeypatch, capsys, "--env-file", "config/local.env")
    assert code == 2 and "config" in err  # the directory does not exist: nothing is changed
    assert (repo / "a.py").read_text() == f'KEY = "{key}"\n'
    (repo / "config").mkdir()
    code, _out, err = fix(repo, monkeypatch, capsys, "--env-file", "config/local.env")
    assert code == 1, err
    assert (repo / "config/local.env").read_text() == f"KEY={key}\n"
    assert "/config/local.env" in (repo / ".gitignore").read_text().splitlines()


def test_no_keep_writes_no_key_anywhere(repo: Path, key: str, monkeypatch, capsys) -> None:
    commit(repo, {"a.py": f'KEY = "{key}"\n', "b.js": f"const k = '{key}';\n"})
    code, out, err = fix(repo, monkeypatch, capsys, "--no-keep")
    assert code == 1, err
    assert not (repo / ".env").exists()
    assert key not in tree_text(repo) and key not in out + err
    assert "--no-keep: no key was written anywhere" in err


def test_name_option_and_bad_names(repo: Path, key: str, monkeypatch, capsys) -> None:
    commit(repo, {"a.py": f'OPENROUTER_API_KEY = "{key}"\n'})
    code, _out, err = fix(repo, monkeypatch, capsys, "--name", "1bad")
    assert code == 2 and "not a valid environment variable name" in err
    code, _out, err = fix(repo, monkeypatch, capsys, "--name", "MY_ROUTER_KEY")
    assert code == 1, err
    assert 'OPENROUTER_API_KEY = os.environ["MY_ROUTER_KEY"]' in (repo / "a.py").read_text()
    assert env_file(repo) == {"MY_ROUTER_KEY": key}


def test_a_dash_is_a_file_and_missing_paths_are_usage_errors(
    repo: Path, monkeypatch, capsys
) -> None:
    """fix never reads standard input: `-` (which pre-commit passes after `--` for a file
    of that name) is the file named `-`."""
    assert fix(repo, monkeypatch, capsys, "-")[0] == 2  # no such file here
    assert fix(repo, monkeypatch, capsys, "no-such-file.py")[0] == 2
    key = make_key()
    (repo / "-").write_text(f"OPENROUTER_API_KEY={key}\n")
    code, _out, err = fix(repo, monkeypatch, capsys, "--", "-")
    assert code == 3, err  # no variable syntax to rewrite: listed, to change by hand
    assert "./-" in err and key not in err


def test_staged_fixes_only_staged_files(repo: Path, monkeypatch, capsys) -> None:
    first, second = make_key(), make_key()
    commit(repo, {"README.md": "# demo\n"})
    (repo / "staged.py").write_text(f'KEY = "{first}"\n')
    (repo / "unstaged.py").write_text(f'KEY = "{second}"\n')
    git(repo, "add", "staged.py")
    code, _out, err = fix(repo, monkeypatch, capsys, "--staged")
    assert code == 1, err
    assert first not in (repo / "staged.py").read_text()
    assert (repo / "unstaged.py").read_text() == f'KEY = "{second}"\n'
    assert git(repo, "diff", "--name-only").split() == ["staged.py"]  # changes left unstaged
    git(repo, "add", "staged.py")
    git(repo, "commit", "-q", "-m", "x")
    code, _out, err = fix(repo, monkeypatch, capsys, "--staged")
    assert (code, err) == (0, "keysentry fix: nothing is staged\n")


def test_messages_never_hold_a_key(repo: Path, key: str, monkeypatch, capsys) -> None:
    commit(repo, {
        f"odd-{key[:20]}.py": f'KEY = "{key}"\n',
        "notes.md": f"{key}\n",
        "broken.py": f'KEY = "{key}"\ndef (:\n',
    })  # fmt: skip
    for args in ((), ("--diff",), ("--no-keep",)):
        code, out, err = fix(repo, monkeypatch, capsys, *args)
        assert code == 3, err
        assert key not in out + err and key[:20] not in out + err
    assert "broken.py:1:8: change by hand" in err and "does not parse as Python" in err


def test_a_committed_key_points_to_revoke_and_purge(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    commit(repo, {"a.py": f'KEY = "{key}"\n'})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1
    assert f"warning: {redact(key)} is already committed (a.py in HEAD" in err
    (repo / "fresh.py").write_text(f'OTHER = "{make_key()}"\n')
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1 and "already committed" not in err  # never committed: no warning


@pytest.mark.parametrize("mode", [0o644, 0o755])
def test_rewritten_files_keep_their_mode(repo: Path, key: str, monkeypatch, capsys, mode) -> None:
    commit(repo, {"run.py": f'KEY = "{key}"\n'})
    (repo / "run.py").chmod(mode)
    assert fix(repo, monkeypatch, capsys)[0] == 1
    assert (repo / "run.py").stat().st_mode & 0o777 == mode
    assert not list(repo.glob(".keysentry-fix-*"))


def test_a_file_past_the_size_cap_is_listed_not_parsed(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    from keysentry.rewrite.plan import MAX_BYTES

    text = f'KEY = "{key}"\n' + "# padding\n" * (MAX_BYTES // 10 + 1)
    commit(repo, {"big.py": text})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3 and "big.py:1:8: change by hand" in err and "larger than 4 MiB" in err
    assert (repo / "big.py").read_text() == text


def test_many_keys_in_one_file_each_listed_once(repo: Path, monkeypatch, capsys) -> None:
    many = [make_key() for _ in range(300)]
    commit(repo, {"keys.txt": "".join(f"{k}\n" for k in many)})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3
    assert err.count(": change by hand: ") == 300
    assert all(f"keys.txt:{i}:1:" in err for i in (1, 150, 300))


@pytest.mark.parametrize("link", [".env", ".gitignore"])
def test_links_planted_by_the_repository_are_not_followed(
    repo: Path, key: str, monkeypatch, capsys, link: str
) -> None:
    outside = repo.parent / "profile"
    outside.write_text("# the user's own file\n")
    commit(repo, {"a.py": f'KEY = "{key}"\n'})
    (repo / link).symlink_to(outside)
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3 and key not in err
    assert f"{repo / link}: it is a symbolic link, which keysentry fix does not follow\n" in err
    assert outside.read_text() == "# the user's own file\n"
    # the key was not kept, so the code still holds it: nothing is lost
    assert (repo / "a.py").read_text() == f'KEY = "{key}"\n'


def test_encoded_and_archived_keys_are_listed_by_hand(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    import base64
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app/.env", f"OPENROUTER_API_KEY={key}\n")
    other = make_key()
    commit(repo, {"secret.txt": base64.b64encode(f"key={other}\n".encode()).decode() + "\n"})
    (repo / "bundle.zip").write_bytes(buffer.getvalue())
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3
    assert "bundle.zip:1:20: change by hand" in err and "inside an archive member" in err
    assert f"secret.txt:1:5: change by hand: {redact(other)}: encoded (base64)\n" in err
    assert f"bundle.zip:1:20: change by hand: {redact(key)}: inside an archive member\n" in err
    assert key not in err and other not in err

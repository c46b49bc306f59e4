"""keysentry fix's flow through the command: which files it takes (--staged and paths),
where the env file goes, the diff it prints, what it writes and in which order, and the
exit codes. Every case runs `keysentry fix` on a real repository (or a plain folder)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from conftest import git, make_key
from fixhelpers import env_file, fix
from gitrepo_helpers import commit
from keysentry.models import redact

# Each case takes a second or two; a change that loops forever fails it in minutes, not ten.
pytestmark = pytest.mark.timeout(180)


def test_from_a_subdirectory_the_env_file_is_at_the_repository_root(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    commit(repo, {"pkg/a.py": f'KEY = "{key}"\n'})
    code, _out, err = fix(repo / "pkg", monkeypatch, capsys)
    assert code == 1, err
    assert not (repo / "pkg/.env").exists()
    assert env_file(repo) == {"KEY": key}
    assert (repo / ".gitignore").read_text() == "/.env\n"
    assert "../.env: KEY (created, mode 0600)" in err
    assert "../.gitignore" not in err and ".gitignore: ../.env added" in err


def test_the_first_path_names_the_repository(
    tmp_path: Path, repo: Path, key: str, monkeypatch, capsys
) -> None:
    """Run from outside the repository: the env file goes to the repository the path is in."""
    commit(repo, {"a.py": f'KEY = "{key}"\n'})
    code, _out, err = fix(tmp_path, monkeypatch, capsys, "repo/a.py")
    assert code == 1, err
    assert env_file(repo) == {"KEY": key}
    assert not (tmp_path / ".env").exists()
    assert "repo/.env: KEY (created, mode 0600)" in err
    assert f"warning: {redact(key)} is already committed (repo/a.py in HEAD" in err


def test_outside_git_the_env_file_is_in_the_current_directory(
    tmp_path: Path, key: str, monkeypatch, capsys
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src/a.py").write_text(f'KEY = "{key}"\n')
    code, _out, err = fix(tmp_path, monkeypatch, capsys, "src")
    assert code == 1, err
    assert (tmp_path / ".env").read_text() == f"KEY={key}\n"
    assert not (tmp_path / "src/.env").exists()
    assert ".gitignore" not in err and "untracked" not in err


def test_no_keep_with_a_missing_env_directory_is_no_error(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    commit(repo, {"a.py": f'KEY = "{key}"\n'})
    code, _out, err = fix(repo, monkeypatch, capsys, "--no-keep", "--env-file", "none/x.env")
    assert code == 1, err
    assert (repo / "a.py").read_text() == 'import os\nKEY = os.environ["KEY"]\n'
    assert not (repo / "none").exists()


def test_an_existing_env_file_is_ignored_even_when_nothing_is_moved(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    commit(repo, {"config.json": f'{{"key": "{key}"}}\n'})
    (repo / ".env").write_text("DEBUG=1\n")
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3, err
    assert (repo / ".gitignore").read_text() == "/.env\n"
    assert (repo / ".env").read_text() == "DEBUG=1\n"
    assert "config.json:1:10: change by hand: " in err


def test_no_env_file_is_made_when_nothing_is_moved(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    commit(repo, {"config.json": f'{{"key": "{key}"}}\n'})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3, err
    assert not (repo / ".env").exists() and not (repo / ".gitignore").exists()
    assert err.endswith("keysentry fix: 0 location(s) fixed, 1 to change by hand\n")


def test_diff_of_several_files_lists_only_the_changed_ones(repo: Path, monkeypatch, capsys) -> None:
    first, second = make_key(), make_key()
    commit(repo, {
        "a.py": f'AK = "{first}"\n',
        "b.json": f'{{"k": "{second}"}}\n',
        "c.js": f"const c = '{second}';\n",
    })  # fmt: skip
    code, out, err = fix(repo, monkeypatch, capsys, "--diff")
    assert code == 3, err  # b.json is left by hand
    assert out == (
        "--- a/a.py\n+++ b/a.py\n@@ -1 +1,2 @@\n"
        f'-AK = "{redact(first)}"\n+import os\n+AK = os.environ["AK"]\n'
        "--- a/c.js\n+++ b/c.js\n@@ -1 +1 @@\n"
        f"-const c = '{redact(second)}';\n+const c = process.env.OPENROUTER_API_KEY;\n"
    )
    assert "a.py:1:7: would fix: " in err and "c.js:1:12: would fix: " in err
    assert "b.json:1:8: change by hand: " in err
    assert ".env: would add AK, OPENROUTER_API_KEY" in err
    assert err.endswith("keysentry fix: 2 location(s) to fix, 1 to change by hand\n")
    assert not (repo / ".env").exists()


def test_diff_of_a_file_given_as_dot_slash(repo: Path, key: str, monkeypatch, capsys) -> None:
    commit(repo, {"a.py": f'AK = "{key}"'})  # no newline at the end
    code, out, _err = fix(repo, monkeypatch, capsys, "--diff", "--show-secrets", "./a.py")
    assert code == 1
    assert out.startswith("--- a/a.py\n+++ b/a.py\n")
    assert f'-AK = "{key}"\n\\ No newline at end of file\n' in out
    assert out.endswith('+AK = os.environ["AK"]\n\\ No newline at end of file\n')
    git(repo, "apply", input=out.encode())
    assert (repo / "a.py").read_text() == 'import os\nAK = os.environ["AK"]'


def test_the_diff_escapes_control_characters_of_the_tree(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    name = "odd\x1b[31mname.py"
    commit(repo, {name: f'AK = "{key}"\t# \x07bell\n'})
    code, out, err = fix(repo, monkeypatch, capsys, "--diff")
    assert code == 1, err
    assert "\x1b" not in out and "\x07" not in out
    assert '--- "a/odd\\033[31mname.py"\n+++ "b/odd\\033[31mname.py"\n' in out  # as git quotes
    assert '+AK = os.environ["AK"]\t# \\x07bell\n' in out  # the tab is kept


def test_the_diff_applies_whatever_the_names_and_line_ends(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    """git apply takes the diff and makes what fix writes: a name with a control character
    (each C escape git uses, and octal for the rest), a quote, a backslash or a byte past
    ASCII is quoted as git quotes it (a newline never starts a line of the diff); a space
    alone is not; CRLF lines keep their CR."""
    names = ["new\nline.sh", 'q"uote.sh', "back\\slash.sh", "tab\there too.sh", "caf\u00e9.sh",
             "plain.sh", "sp ace.sh", "bell\a.sh", "bs\b.sh", "vt\v.sh", "ff\f.sh", "cr\r.sh",
             "soh\x01.sh", "del\x7f.sh"]  # fmt: skip
    body = f"# a\ncurl -H 'Authorization: Bearer {key}' x\n"
    commit(repo, {n: body for n in names} | {"crlf.py": f'X = 1\r\nKEY = "{key}"\r\n'})
    before = {p.name: p.read_bytes() for p in repo.iterdir() if p.is_file()}
    code, out, err = fix(repo, monkeypatch, capsys, "--diff")
    assert code == 1, err
    assert key not in out
    headers = [line for line in out.split("\n") if line.startswith("--- ")]
    assert sorted(headers) == sorted([
        '--- "a/new\\nline.sh"', '--- "a/q\\"uote.sh"', '--- "a/back\\\\slash.sh"',
        '--- "a/tab\\there too.sh"', '--- "a/caf\\303\\251.sh"', "--- a/plain.sh", "--- a/crlf.py",
        "--- a/sp ace.sh", '--- "a/bell\\a.sh"', '--- "a/bs\\b.sh"', '--- "a/vt\\v.sh"',
        '--- "a/ff\\f.sh"', '--- "a/cr\\r.sh"', '--- "a/soh\\001.sh"', '--- "a/del\\177.sh"',
    ])  # fmt: skip
    assert '\n-KEY = "sk-or-v1-' in out and '\n+KEY = os.environ["KEY"]\r\n' in out
    shown = fix(repo, monkeypatch, capsys, "--diff", "--show-secrets")[1]
    assert fix(repo, monkeypatch, capsys)[0] == 1
    fixed = {p.name: p.read_bytes() for p in repo.iterdir() if p.is_file() and p.name != ".env"}
    for name, data in before.items():
        (repo / name).write_bytes(data)
    git(repo, "apply", input=shown.encode())
    assert {p.name: p.read_bytes() for p in repo.iterdir() if p.is_file()} == fixed | {
        ".env": (repo / ".env").read_bytes()
    }


def test_a_form_feed_or_a_lone_cr_is_inside_a_line_of_the_diff(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    """Lines end at line feeds only, as for git and patch: a form feed or a lone CR does not
    end one (nor add a "No newline" mark); both are escaped, as the line is shown."""
    commit(repo, {"a.sh": f"\x0c\n# a\x0cb\rc\ncurl -H 'Authorization: Bearer {key}' x\n"})
    code, out, err = fix(repo, monkeypatch, capsys, "--diff")
    assert code == 1, err
    hunk = out.split("@@\n", 1)[1]
    assert hunk == (
        " \\x0c\n # a\\x0cb\\rc\n"
        f"-curl -H 'Authorization: Bearer {redact(key)}' x\n"
        "+curl -H 'Authorization: Bearer '\"${OPENROUTER_API_KEY}\" x\n"
    )


def test_a_second_run_changes_nothing_and_exits_0(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    commit(repo, {"a.py": f'A = "{key}"\n', "b.sh": f"curl -H 'X: {key}'\n"})
    assert fix(repo, monkeypatch, capsys)[0] == 1
    files = {p: p.read_bytes() for p in repo.rglob("*") if ".git" not in p.parts}
    code, out, err = fix(repo, monkeypatch, capsys)
    assert (code, out, err) == (0, "", "keysentry fix: nothing to change\n")
    assert files == {p: p.read_bytes() for p in repo.rglob("*") if ".git" not in p.parts}
    code, out, err = fix(repo, monkeypatch, capsys, "--diff")
    assert (code, out, err) == (0, "", "keysentry fix: nothing to change\n")


def test_quiet_lists_only_what_is_left(repo: Path, monkeypatch, capsys) -> None:
    first, second = make_key(), make_key()
    commit(repo, {"a.py": f'AK = "{first}"\n', "b.json": f'["{second}"]\n'})
    code, _out, err = fix(repo, monkeypatch, capsys, "--quiet")
    assert code == 3
    assert "fixed: " not in err and "b.json:1:3: change by hand: " in err


def staged_repo(repo: Path) -> dict[str, str]:
    keys = {name: make_key() for name in ("sub/a.py", "subway/b.py", "c.py", "moved.py")}
    commit(repo, {"old.py": f'K = "{keys["moved.py"]}"\n', "gone.py": "x = 1\n"})
    for name in ("sub/a.py", "subway/b.py", "c.py"):
        (repo / name).parent.mkdir(exist_ok=True)
        (repo / name).write_text(f'K = "{keys[name]}"\n')
    git(repo, "mv", "old.py", "moved.py")
    git(repo, "rm", "-q", "gone.py")
    git(repo, "add", "-A")
    return keys


@pytest.mark.parametrize(
    ("paths", "fixed"),
    [
        ((), {"sub/a.py", "subway/b.py", "c.py", "moved.py"}),
        ((".",), {"sub/a.py", "subway/b.py", "c.py", "moved.py"}),
        (("sub",), {"sub/a.py"}),
        (("sub/",), {"sub/a.py"}),
        (("c.py",), {"c.py"}),
        (("c.py", "moved.py"), {"c.py", "moved.py"}),
        (("nothing-here",), set()),
    ],
)
def test_staged_takes_the_staged_files_under_the_paths(
    repo: Path, monkeypatch, capsys, paths: tuple[str, ...], fixed: set[str]
) -> None:
    keys = staged_repo(repo)
    code, _out, err = fix(repo, monkeypatch, capsys, "--staged", *paths)
    assert code == (1 if fixed else 0), err
    for name, key in keys.items():
        assert (key in (repo / name).read_text()) == (name not in fixed), name
    if not fixed:
        assert err == "keysentry fix: nothing is staged\n"


def test_staged_from_a_subdirectory(repo: Path, monkeypatch, capsys) -> None:
    keys = staged_repo(repo)
    code, _out, err = fix(repo / "sub", monkeypatch, capsys, "--staged")
    assert code == 1, err
    assert all(k not in (repo / n).read_text() for n, k in keys.items())
    assert "a.py:1:6: fixed" in err and "../c.py:1:6: fixed" in err


def test_staged_dot_from_a_subdirectory_is_that_directory(repo: Path, monkeypatch, capsys) -> None:
    """`.` names the current directory, as it does for a scan."""
    keys = staged_repo(repo)
    code, _out, err = fix(repo / "sub", monkeypatch, capsys, "--staged", ".")
    assert code == 1, err
    assert [n for n, k in keys.items() if k not in (repo / n).read_text()] == ["sub/a.py"]


def test_staged_needs_a_work_tree(tmp_path: Path, monkeypatch, capsys) -> None:
    code, _out, err = fix(tmp_path, monkeypatch, capsys, "--staged")
    assert (code, err) == (2, "keysentry: error: --staged needs a git work tree\n")


def test_a_temporary_directory_on_another_filesystem(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    """Each file is replaced through a file written beside it (an atomic rename), not
    through the temporary directory, which may be on another filesystem."""
    import tempfile

    other = Path("/dev/shm")
    if not other.is_dir() or os.stat(other).st_dev == os.stat(repo).st_dev:
        pytest.skip("no second filesystem here")
    monkeypatch.setattr(tempfile, "tempdir", str(other))
    commit(repo, {"a.py": f'KEY = "{key}"\n'})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert (repo / "a.py").read_text() == 'import os\nKEY = os.environ["KEY"]\n'


def test_the_diff_of_a_file_that_is_not_utf8(repo: Path, key: str, monkeypatch, capsys) -> None:
    commit(repo, {"a.js": f'// caf\xe9\nconst k = "{key}";\n'.encode("latin-1")})
    code, out, err = fix(repo, monkeypatch, capsys, "--diff")
    assert code == 1, err
    assert out.startswith("--- a/a.js\n+++ b/a.js\n")
    assert "+const k = process.env.OPENROUTER_API_KEY;\n" in out and key not in out


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes where permissions say no")
def test_a_file_that_cannot_be_written_is_an_error(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    commit(repo, {"ro/a.py": f'KEY = "{key}"\n'})
    (repo / "ro").chmod(0o555)
    try:
        code, _out, err = fix(repo, monkeypatch, capsys)
    finally:
        (repo / "ro").chmod(0o755)
    assert code == 3 and "cannot write" in err and key not in err
    assert (repo / "ro/a.py").read_text() == f'KEY = "{key}"\n'


def test_a_pre_commit_style_run(repo: Path, key: str, monkeypatch, capsys) -> None:
    """As the keysentry-fix hook runs it: file names after --, the changes left unstaged."""
    commit(repo, {"README.md": "# x\n"})
    (repo / "a.py").write_text(f'KEY = "{key}"\n')
    git(repo, "add", "a.py")
    proc = subprocess.run(
        ["git", "diff", "--cached", "--name-only"], cwd=repo, capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    code, _out, err = fix(repo, monkeypatch, capsys, "--", *proc.stdout.split())
    assert code == 1, err
    assert git(repo, "diff", "--name-only").split() == ["a.py"]
    assert key in git(repo, "show", ":a.py")  # the index is the user's to update


def test_placeholders_are_never_moved_even_when_reported(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    """A configuration that reports placeholders (include_placeholders) does not make fix
    move a documentation example into the env file."""
    example = "sk-or-" + "v1-" + "0" * 64
    commit(repo, {
        ".keysentry.toml": "include_placeholders = true\n",
        "a.py": f'EXAMPLE = "{example}"\nKEY = "{key}"\n',
    })  # fmt: skip
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert (repo / "a.py").read_text() == (
        f'import os\nEXAMPLE = "{example}"\nKEY = os.environ["KEY"]\n'
    )
    assert env_file(repo) == {"KEY": key}


def test_an_env_file_git_would_take_is_hidden_on_any_run(repo: Path, monkeypatch, capsys) -> None:
    """No key anywhere, but the env file is neither ignored nor tracked: fix ignores it
    (exit 1, as a formatter that changed a file); the next run has nothing to do."""
    commit(repo, {"README.md": "# x\n"})
    (repo / ".env").write_text("DEBUG=1\n")
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert (code, err) == (1, ".gitignore: .env added\nkeysentry fix: 0 location(s) fixed\n")
    assert (repo / ".gitignore").read_text() == "/.env\n"
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert (code, err) == (0, "keysentry fix: nothing to change\n")


def test_a_tracked_env_file_named_is_untracked_on_any_run(repo: Path, monkeypatch, capsys) -> None:
    commit(repo, {"README.md": "# x\n", "config/local.env": "DEBUG=1\n", ".gitignore": "x\n"})
    code, _out, err = fix(repo, monkeypatch, capsys, "--env-file", "config/local.env")
    assert code == 1, err
    assert "config/local.env: untracked (git rm --cached); the file is kept" in err
    assert git(repo, "ls-files").split() == [".gitignore", "README.md"]
    assert (repo / ".gitignore").read_text() == "x\n/config/local.env\n"

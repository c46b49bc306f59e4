"""Where keysentry fix keeps the key: the env file (appended, 0600 when new, never a
duplicate, never through a link), made ignored and untracked; and what it says about a
key that is already committed. Every case runs `keysentry fix` on a real repository."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import git, make_key
from fixhelpers import env_file, fix, tree_text
from gitrepo_helpers import commit
from keysentry.cli import main
from keysentry.models import redact

# Each case takes a second or two; a change that loops forever fails it in minutes, not ten.
pytestmark = pytest.mark.timeout(180)


def ignored(repo: Path, name: str) -> bool:
    proc = subprocess.run(["git", "check-ignore", "-q", "--no-index", "--", name], cwd=repo,
                          capture_output=True, timeout=60, check=False)  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode == 0


def untracked_shown(repo: Path) -> list[str]:
    """What `git status` would offer to add (the files git neither tracks nor ignores)."""
    out = git(repo, "ls-files", "-z", "--others", "--exclude-standard")
    return [p for p in out.split("\0") if p]


def test_a_last_line_without_newline_is_ended_first(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    (repo / ".env").write_text("DEBUG=1")  # no newline at the end
    commit(repo, {".gitignore": ".env", "a.py": f'KEY = "{key}"\n'})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert (repo / ".env").read_text() == f"DEBUG=1\nKEY={key}\n"
    assert ".env: KEY (appended)" in err
    # .gitignore lacked a newline too, but it ignores .env already: it is left alone
    assert (repo / ".gitignore").read_text() == ".env"


def test_an_empty_env_file_gets_no_blank_line(repo: Path, key: str, monkeypatch, capsys) -> None:
    (repo / ".env").write_text("")
    commit(repo, {".gitignore": "/.env\n", "a.py": f'KEY = "{key}"\n'})
    assert fix(repo, monkeypatch, capsys)[0] == 1
    assert (repo / ".env").read_text() == f"KEY={key}\n"


def test_gitignore_without_newline_gets_the_env_file_on_a_line_of_its_own(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    commit(repo, {".gitignore": "*.log", "a.py": f'KEY = "{key}"\n'})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert (repo / ".gitignore").read_text() == "*.log\n/.env\n"
    assert ".gitignore: .env added" in err
    assert ".env: KEY (created, mode 0600)" in err
    assert untracked_shown(repo) == []  # the env file is not offered to git


def test_a_key_already_in_the_env_file_keeps_its_name_and_is_not_added_again(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    (repo / ".env").write_text(f"# mine\nROUTER_TOKEN={key}\n")
    commit(repo, {".gitignore": "/.env\n", "a.py": f'OPENROUTER_API_KEY = "{key}"\n'})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert 'OPENROUTER_API_KEY = os.environ["ROUTER_TOKEN"]' in (repo / "a.py").read_text()
    assert (repo / ".env").read_text() == f"# mine\nROUTER_TOKEN={key}\n"
    assert "(appended)" not in err and "(created" not in err


def test_diff_says_only_what_the_env_file_lacks(repo: Path, monkeypatch, capsys) -> None:
    kept, new = make_key(), make_key()
    (repo / ".env").write_text(f"FIRST={kept}\n")
    commit(repo, {".gitignore": "/.env\n", "a.py": f'FIRST = "{kept}"\nSECOND = "{new}"\n'})
    code, out, err = fix(repo, monkeypatch, capsys, "--diff")
    assert code == 1, err
    assert ".env: would add SECOND\n" in err
    assert kept not in out + err and new not in out + err
    assert (repo / ".env").read_text() == f"FIRST={kept}\n"


def test_no_keep_names_the_variables_to_set_and_writes_nothing(
    repo: Path, monkeypatch, capsys
) -> None:
    first, second = make_key(), make_key()
    commit(repo, {"a.py": f'ALPHA = "{first}"\nBETA = "{second}"\n'})
    code, out, err = fix(repo, monkeypatch, capsys, "--no-keep")
    assert code == 1, err
    assert "set ALPHA, BETA yourself" in err
    assert not (repo / ".env").exists() and not (repo / ".gitignore").exists()
    assert first not in tree_text(repo) + out + err and second not in tree_text(repo) + out


@pytest.mark.parametrize("name", ["keys*.env", "keys?.env", "keys[1].env", "back\\slash.env",
                                  "trailing.env ", "a!b.env", "a#b.env", "a b.env"])  # fmt: skip
def test_the_ignore_line_matches_the_env_file_alone(
    repo: Path, key: str, monkeypatch, capsys, name: str
) -> None:
    """Each character gitignore reads as a pattern is escaped: the line ignores exactly
    the env file, not its neighbours (and not nothing); git's other commands take the
    name literally too (untracking `keys*.env` must not untrack `keysA.env`)."""
    neighbours = ["keysA.env", "keys1.env", "backslash.env", "trailing.env", "ab.env", "a.env"]
    commit(repo, {"a.py": f'KEY = "{key}"\n', **{n: "X=1\n" for n in neighbours}})
    code, _out, err = fix(repo, monkeypatch, capsys, "--env-file", name)
    assert code == 1, err
    assert (repo / name).read_text() == f"KEY={key}\n"
    assert ignored(repo, name), (repo / ".gitignore").read_text()
    for neighbour in neighbours:
        assert not ignored(repo, neighbour), (neighbour, (repo / ".gitignore").read_text())
    assert untracked_shown(repo) == [".gitignore"]


def test_a_tracked_env_file_named_by_env_file_is_untracked(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    commit(repo, {"config/local.env": "DEBUG=1\n", "a.py": f'KEY = "{key}"\n'})
    code, _out, err = fix(repo, monkeypatch, capsys, "--env-file", "config/local.env")
    assert code == 1, err
    assert git(repo, "ls-files", "config") == ""
    assert "config/local.env: untracked (git rm --cached); the file is kept" in err
    assert (repo / "config/local.env").read_text() == f"DEBUG=1\nKEY={key}\n"
    git(repo, "add", "-A")
    staged = git(repo, "ls-files", "-z").split("\0")[:-1]
    assert not [p for p in staged if key in git(repo, "show", f":{p}")]


def test_an_exported_name_in_an_env_file_names_the_variable(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    """`export NAME=value` in a committed env file: the code's read uses NAME."""
    commit(repo, {
        "deploy/app.env": f"  export ROUTER_SECRET={key}\n",
        "a.py": f'client = Client("{key}")\n',
    })  # fmt: skip
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert 'client = Client(os.environ["ROUTER_SECRET"])' in (repo / "a.py").read_text()
    assert env_file(repo) == {"ROUTER_SECRET": key}
    assert "deploy/app.env: untracked (git rm --cached)" in err
    assert ignored(repo, "deploy/app.env") and ignored(repo, ".env")
    assert (repo / "deploy/app.env").read_text() == f"  export ROUTER_SECRET={key}\n"


def _fix_verdicts(repo: Path, monkeypatch, command: list[str]) -> dict[str, dict[str, object]]:
    monkeypatch.chdir(repo)
    out = repo.parent / "report.json"
    assert main([*command, "--format", "json", "--output", str(out), "--quiet"]) == 1
    doc = json.loads(out.read_text())
    return {loc["path"]: loc["fix"] for f in doc["findings"] for loc in f["locations"]}


def test_reports_say_what_fix_does_with_an_env_file(repo: Path, monkeypatch) -> None:
    commit(repo, {"tracked.env": f"A={make_key()}\n", ".gitignore": "ignored.env\n"})
    (repo / "loose.env").write_text(f"B={make_key()}\n")
    (repo / "ignored.env").write_text(f"C={make_key()}\n")
    fixes = _fix_verdicts(repo, monkeypatch, ["scan", "."])
    assert fixes["tracked.env"]["how"] == (
        "untrack the env file (git rm --cached) and ignore it; the file is kept"
    )
    assert fixes["loose.env"]["how"] == "ignore the env file (.gitignore); the file is kept"
    assert fixes["ignored.env"]["how"] == "kept: the env file is not in git"
    assert all(f["kind"] == "env" and f["fixable"] for f in fixes.values())
    git(repo, "add", "loose.env")
    staged = _fix_verdicts(repo, monkeypatch, ["staged"])
    assert staged["loose.env"]["how"] == (
        "untrack the env file (git rm --cached) and ignore it; the file is kept"
    )


def test_an_ignored_env_file_is_left_as_it_is(repo: Path, key: str, monkeypatch, capsys) -> None:
    (repo / ".env").write_text(f"OPENROUTER_API_KEY={key}\n")
    commit(repo, {".gitignore": ".env\n"})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert (code, err) == (0, "keysentry fix: nothing to change\n")
    assert (repo / ".env").read_text() == f"OPENROUTER_API_KEY={key}\n"


def test_an_env_file_outside_git_is_kept(tmp_path: Path, key: str, monkeypatch, capsys) -> None:
    (tmp_path / "app.env").write_text(f"OPENROUTER_API_KEY={key}\n")
    code, _out, err = fix(tmp_path, monkeypatch, capsys)
    assert (code, err) == (0, "keysentry fix: nothing to change\n")
    assert not (tmp_path / ".gitignore").exists()


def test_outside_git_the_key_still_moves_to_the_env_file(
    tmp_path: Path, key: str, monkeypatch, capsys
) -> None:
    (tmp_path / "a.py").write_text(f'KEY = "{key}"\n')
    code, _out, err = fix(tmp_path, monkeypatch, capsys)
    assert code == 1, err
    assert (tmp_path / "a.py").read_text() == 'import os\nKEY = os.environ["KEY"]\n'
    assert (tmp_path / ".env").read_text() == f"KEY={key}\n"
    assert (tmp_path / ".env").stat().st_mode & 0o777 == 0o600
    assert not (tmp_path / ".gitignore").exists() and "committed" not in err


def test_an_env_file_that_is_not_text_stops_the_fix(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    (repo / ".env").write_bytes(b"A=\xff\xfe\n")
    commit(repo, {".gitignore": "/.env\n", "a.py": f'KEY = "{key}"\n'})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3 and "cannot read" in err and ".env" in err
    assert (repo / "a.py").read_text() == f'KEY = "{key}"\n'


def test_an_unwritable_gitignore_stops_before_the_code_changes(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    commit(repo, {"a.py": f'KEY = "{key}"\n'})
    (repo / ".gitignore").mkdir()  # a directory where the file should be
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3 and "cannot update" in err and ".gitignore" in err and key not in err
    assert (repo / "a.py").read_text() == f'KEY = "{key}"\n'


def test_staged_but_never_committed_is_no_history_warning(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    """A file in the index but in no commit (not even a HEAD yet): nothing is in history."""
    (repo / "a.py").write_text(f'KEY = "{key}"\n')
    git(repo, "add", "a.py")
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert "already committed" not in err
    git(repo, "commit", "-q", "-m", "first")
    (repo / "b.py").write_text(f'OTHER = "{key}"\n')
    git(repo, "add", "b.py")
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1 and "already committed" not in err  # b.py holds it in no commit


def test_the_warning_names_each_committed_key_and_its_files(
    repo: Path, monkeypatch, capsys
) -> None:
    first, second, fresh = make_key(), make_key(), make_key()
    commit(repo, {"a.py": f'A = "{first}"\n', "b.py": f'B = "{first}"\nC = "{second}"\n'})
    (repo / "c.py").write_text(f'D = "{fresh}"\n')
    git(repo, "add", "c.py")
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert f"warning: {redact(first)} is already committed (a.py, b.py in HEAD" in err
    assert f"warning: {redact(second)} is already committed (b.py in HEAD" in err
    assert redact(fresh) not in err


@pytest.mark.parametrize("name", ["*.env", ":(glob)*.env", "[a].env"])
def test_a_tracked_env_file_with_a_pattern_for_a_name_is_the_only_one_untracked(
    repo: Path, key: str, monkeypatch, capsys, name: str
) -> None:
    commit(repo, {name: f"A={key}\n", "prod.env": "X=1\n", "a.env": "Y=2\n"})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert git(repo, "ls-files", "-z").split("\0")[:-1] == ["a.env", "prod.env"]
    assert (repo / name).read_text() == f"A={key}\n"


def test_a_fifo_planted_as_the_env_file_is_refused_not_waited_on(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    """Opening a FIFO to write waits for a reader forever."""
    import os

    commit(repo, {"a.py": f'KEY = "{key}"\n'})
    os.mkfifo(repo / ".env")
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3, err
    assert ".env: it is not a regular file" in err and key not in err
    assert (repo / "a.py").read_text() == f'KEY = "{key}"\n'


def test_an_env_file_that_is_a_directory(repo: Path, key: str, monkeypatch, capsys) -> None:
    commit(repo, {"a.py": f'KEY = "{key}"\n'})
    (repo / ".env").mkdir()
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3 and f"cannot write {repo / '.env'}: Is a directory\n" in err
    assert (repo / "a.py").read_text() == f'KEY = "{key}"\n'


def test_a_named_env_file_that_holds_the_key_gets_no_second_line(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    (repo / "config").mkdir()
    (repo / "config/dev.env").write_text(f"ROUTER={key}\n")
    commit(repo, {".gitignore": "*.env\n", "a.py": f'KEY = "{key}"\n'})
    code, _out, err = fix(repo, monkeypatch, capsys, "--env-file", "config/dev.env", "a.py")
    assert code == 1, err
    assert (repo / "config/dev.env").read_text() == f"ROUTER={key}\n"
    assert 'KEY = os.environ["ROUTER"]' in (repo / "a.py").read_text()


def test_an_empty_gitignore_gets_no_blank_line(repo: Path, key: str, monkeypatch, capsys) -> None:
    commit(repo, {".gitignore": "", "a.py": f'KEY = "{key}"\n'})
    assert fix(repo, monkeypatch, capsys)[0] == 1
    assert (repo / ".gitignore").read_text() == "/.env\n"


def test_the_name_on_a_later_line_of_an_env_file(repo: Path, key: str, monkeypatch, capsys) -> None:
    commit(repo, {
        "deploy/app.env": f"# caf\xe9\nA=1\nB=2\nROUTER={key}\n",
        "deploy/raw.env": b"X\xff=1\nX\xffROUTER=" + key.encode() + b"\n",
        "a.py": f'client = Client("{key}")\n',
    })  # fmt: skip
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert 'client = Client(os.environ["ROUTER"])' in (repo / "a.py").read_text()


@pytest.mark.parametrize("name", ["-dash.env"])
def test_an_env_file_named_like_an_option(
    repo: Path, key: str, monkeypatch, capsys, name: str
) -> None:
    commit(repo, {"a.py": f'KEY = "{key}"\n'})
    assert fix(repo, monkeypatch, capsys, f"--env-file={name}")[0] == 1
    assert ignored(repo, name)
    (repo / "b.py").write_text(f'KEY = "{key}"\n')
    code, _out, err = fix(repo, monkeypatch, capsys, f"--env-file={name}")
    assert code == 1 and ".gitignore" not in err, err
    assert (repo / ".gitignore").read_text() == f"/{name}\n"


def test_a_tracked_env_file_is_said_and_counted(repo: Path, key: str, monkeypatch, capsys) -> None:
    commit(repo, {".env": f"OPENROUTER_API_KEY={key}\n"})
    code, out, err = fix(repo, monkeypatch, capsys, "--diff")
    assert (code, out) == (1, ""), err
    assert (
        ".env:1:20: would fix: untrack the env file (git rm --cached) and ignore it; "
        "the file is kept\n"
    ) in err
    assert git(repo, "ls-files") == ".env\n"
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert ".env:1:20: fixed: untrack the env file (git rm --cached) and ignore it; " in err
    assert err.endswith("keysentry fix: 1 location(s) fixed\n")


def test_from_outside_the_repository_git_is_asked_about_the_repository(
    tmp_path: Path, repo: Path, key: str, monkeypatch, capsys
) -> None:
    """`keysentry fix repo` run from the directory above: every git question (is the env
    file ignored, tracked; untrack it) is about the repository's paths, not the current
    directory's."""
    commit(repo, {".gitignore": "/.env\n", "app.env": f"A={key}\n", "a.py": f'KEY = "{key}"\n'})
    code, _out, err = fix(tmp_path, monkeypatch, capsys, "repo")
    assert code == 1, err
    assert (repo / "a.py").read_text() == 'import os\nKEY = os.environ["KEY"]\n'
    assert env_file(repo) == {"KEY": key}
    assert (repo / ".gitignore").read_text() == "/.env\n/app.env\n"
    assert git(repo, "ls-files") == ".gitignore\na.py\n"
    assert "repo/app.env: untracked (git rm --cached); the file is kept" in err
    assert (repo / "app.env").read_text() == f"A={key}\n"


def test_an_untracked_env_file_is_ignored_and_said(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    (repo / "app.env").write_text(f"ROUTER={key}\n")
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 1, err
    assert "app.env:1:8: fixed: ignore the env file (.gitignore); the file is kept\n" in err
    assert "keysentry fix: 1 location(s) fixed\n" in err
    assert (repo / ".gitignore").read_text() == "/app.env\n"
    assert (repo / "app.env").read_text() == f"ROUTER={key}\n"


def test_a_fifo_with_a_reader_planted_as_the_env_file_is_refused(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    """With a reader, opening the FIFO to write succeeds at once: it is the check of the
    opened file that refuses it (and closes it)."""
    import os

    commit(repo, {"a.py": f'KEY = "{key}"\n'})
    os.mkfifo(repo / ".env")
    reader = os.open(repo / ".env", os.O_RDONLY | os.O_NONBLOCK)
    try:
        code, _out, err = fix(repo, monkeypatch, capsys)
        assert os.read(reader, 100) == b""
    finally:
        os.close(reader)
    assert code == 3, err
    assert f"cannot write {repo / '.env'}: it is not a regular file\n" in err
    assert (repo / "a.py").read_text() == f'KEY = "{key}"\n'


def test_a_gitignore_that_cannot_grow_stops_the_fix(repo: Path, key: str) -> None:
    """A write that fails after the open (here: the file size limit) is said with the
    system's words, and the code keeps the key."""
    import resource
    import signal
    import sys

    commit(repo, {"a.py": f'KEY = "{key}"\n', ".gitignore": "# " + "x" * 4000})
    size = (repo / ".gitignore").stat().st_size

    def limit() -> None:  # in the child: a write past `size` bytes fails with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, resource.RLIM_INFINITY))

    # -B: no bytecode is written, which the limit would cut short.
    proc = subprocess.run(
        [sys.executable, "-I", "-B", "-m", "keysentry", "fix"], cwd=repo, capture_output=True,
        text=True, timeout=120, check=False, preexec_fn=limit,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    assert f"cannot update {repo / '.gitignore'}: File too large\n" in proc.stderr
    assert (repo / "a.py").read_text() == f'KEY = "{key}"\n'


def test_a_new_gitignore_is_readable_by_all_and_executable_by_none(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    """The mode asked for, 0644, seen whole under a umask of 0 (the env file is 0600)."""
    import os

    commit(repo, {"a.py": f'KEY = "{key}"\n'})
    old = os.umask(0)
    try:
        code, _out, err = fix(repo, monkeypatch, capsys)
    finally:
        os.umask(old)
    assert code == 1, err
    assert (repo / ".gitignore").stat().st_mode & 0o777 == 0o644
    assert (repo / ".env").stat().st_mode & 0o777 == 0o600

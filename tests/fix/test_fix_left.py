"""What keysentry fix leaves by hand and why, what stops it, and what it warns about: each
reason as the command prints it, on real repositories. Faults a test cannot cause from
outside (a file that reads once, then not; a file system that takes no more bytes) are
caused for real in a process of its own: an audit hook that fails the second open, and
RLIMIT_FSIZE."""

from __future__ import annotations

import base64
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import git
from fixhelpers import env_file, fix
from gitrepo_helpers import commit
from keysentry.models import redact
from keysentry.rewrite.annotate import NAME
from scanhelpers import HEX_RULE

pytestmark = pytest.mark.timeout(180)

TIMEOUT = 120

# keysentry fix in an isolated process that logs each rename (os.replace) and, when told,
# fails the second open of one file for reading, as a file that went away would.
HOOKED = """\
import os, sys
log, fail = sys.argv[1], sys.argv[2]
opened = []
def hook(event, args):
    if event == "os.rename":
        with open(log, "a") as fh:
            fh.write(os.fsdecode(args[0]) + " -> " + os.fsdecode(args[1]) + "\\n")
    elif event == "open" and fail and os.path.basename(str(args[0])) == fail:
        if args[1] and "r" in args[1]:
            opened.append(args[0])
            if len(opened) == 2:
                raise PermissionError(13, "Permission denied")
sys.addaudithook(hook)
from keysentry.cli import main
sys.exit(main(sys.argv[3:]))
"""


def hooked(
    repo: Path, *args: str, fail: str = "", fsize: int | None = None
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    log = repo.parent / "renames.log"
    log.write_text("")

    def limit() -> None:
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    # The environment as the test's own (tools/mutate.py's child processes read the mutant
    # to run from it), with a home of its own.
    env = {**os.environ, "HOME": str(repo.parent), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(
        [sys.executable, "-I", "-c", HOOKED, str(log), fail, "fix", *args],
        cwd=repo, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False,
        preexec_fn=limit,
    )  # fmt: skip
    return proc, log.read_text().splitlines()


def test_a_key_in_a_directory_name_is_renamed_by_hand(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    commit(repo, {f"d{key}/a.py": f'KEY = "{key}"\n'})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3, err
    assert f"d{redact(key)}:1:2: change by hand: {redact(key)}: {NAME.how}\n" in err
    assert f"d{redact(key)}/a.py:1:8: fixed: " in err
    assert (repo / f"d{key}/a.py").read_text() == 'import os\nKEY = os.environ["KEY"]\n'


def test_an_encoded_key_is_left_and_the_plain_one_after_it_moves(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    """The encoded location (first, by path) says how it is encoded, each decoder in turn;
    the same key written plainly in the next file still moves."""
    twice = base64.b64encode(base64.b64encode(key.encode())).decode()
    commit(repo, {"a.txt": f"blob = {twice}\n", "b.py": f'KEY = "{key}"\n'})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3, err
    assert f"a.txt:1:8: change by hand: {redact(key)}: encoded (base64 > base64)\n" in err
    assert (repo / "b.py").read_text() == 'import os\nKEY = os.environ["KEY"]\n'
    assert env_file(repo) == {"KEY": key}


def test_a_location_not_fixable_names_its_key_redacted(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    commit(repo, {"config.json": f'{{"key": "{key}"}}\n'})
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3, err
    assert f"config.json:1:10: change by hand: {redact(key)}: " in err


def test_a_match_inside_a_key_is_left_only_when_its_key_is(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    """Two rules, one match inside the other's: in plain text both are left by hand, the
    inner one as not written whole; in Python the key moves and takes the inner match with
    it. The file left is first (by path), so the file after it is still seen to."""
    commit(repo, {".keysentry.toml": 'rules = ["hex.toml"]\n', "hex.toml": HEX_RULE,
                  "a.txt": f'secret = "{key}"\n', "b.py": f'secret = "{key}"\n'})  # fmt: skip
    hex64 = key.removeprefix("sk-or-v1-")
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3, err
    assert err.startswith(
        'b.py:1:11: fixed: os.environ["OPENROUTER_API_KEY"]\n'
        f"a.txt:1:11: change by hand: {redact(key)}: plain text has no variable syntax\n"
        f"a.txt:1:20: change by hand: {redact(hex64)}: the key is not written whole here "
        "(split across literals or escaped)\n"
    )  # what is left, in the order of the files
    assert "b.py:1:20" not in err
    assert (repo / "b.py").read_text() == ('import os\nsecret = os.environ["OPENROUTER_API_KEY"]\n')
    assert err.endswith("keysentry fix: 1 location(s) fixed, 2 to change by hand\n")


def test_no_keep_ignores_what_the_env_file_holds(repo: Path, key: str, monkeypatch, capsys) -> None:
    """--no-keep never reads the env file: its KEY (another value) takes no name, and the
    variable to set is listed even when the file already holds the key."""
    other = key[:-1] + ("1" if key.endswith("0") else "0")
    commit(repo, {"a.py": f'KEY = "{key}"\nOTHER = "{other}"\n'})
    (repo / ".env").write_text(f"KEY=elsewhere\nOTHER={other}\n")
    code, _out, err = fix(repo, monkeypatch, capsys, "--no-keep")
    assert code == 1, err
    assert (repo / "a.py").read_text() == (
        'import os\nKEY = os.environ["KEY"]\nOTHER = os.environ["OTHER"]\n'
    )
    assert "set KEY, OTHER yourself (with a new key)" in err


def test_the_advice_names_the_env_file_given(repo: Path, key: str, monkeypatch, capsys) -> None:
    (repo / "secrets").mkdir()
    commit(repo, {".gitlab-ci.yml": f"variables:\n  ROUTER_KEY: {key}\n"})
    code, _out, err = fix(repo, monkeypatch, capsys, "--env-file", "secrets/ci.env")
    assert code == 1, err
    assert (
        "next: .gitlab-ci.yml: add ROUTER_KEY as a masked CI/CD variable in the project's "
        "settings (the value is in secrets/ci.env)\n"
    ) in err


def test_the_committed_warning_reads_head_whatever_the_index_says(
    repo: Path, key: str, monkeypatch, capsys
) -> None:
    """A file in a subdirectory, and one untracked since the commit (git rm --cached):
    HEAD holds the key in both. The plain-text file left by hand (first, by path) is not
    rewritten, so no warning names it."""
    commit(repo, {"a.txt": f"{key}\n", "pkg/b.py": f'KEY = "{key}"\n', "c.py": f'K = "{key}"\n'})
    git(repo, "rm", "-q", "--cached", "c.py")
    code, _out, err = fix(repo, monkeypatch, capsys)
    assert code == 3, err
    assert f"warning: {redact(key)} is already committed (c.py, pkg/b.py in HEAD" in err
    assert "a.txt in HEAD" not in err and "a.txt, " not in err


def test_a_file_that_cannot_be_read_again_is_left_at_each_location(repo: Path, key: str) -> None:
    """Read by the scan, gone when the fix reads it: each of its locations is listed with
    the reason, and the next file is still fixed. (The second read is the fix's: the scan
    does not read the file again for the reports' fix stage.)"""
    other = key[:-1] + ("1" if key[-1] == "0" else "0")
    commit(repo, {"a.py": f'A = "{key}"\nB = "{other}"\n', "b.py": f'KEY = "{key}"\n'})
    proc, _renames = hooked(repo, fail="a.py")
    assert proc.returncode == 3, proc.stderr
    for line, secret in ((1, key), (2, other)):
        assert (
            f"a.py:{line}:6: change by hand: {redact(secret)}: cannot read it again "
            "(Permission denied)\n"
        ) in proc.stderr
    assert "not written whole" not in proc.stderr
    assert (repo / "b.py").read_text() == 'import os\nKEY = os.environ["KEY"]\n'


def test_a_rewritten_file_replaces_the_old_through_a_hidden_file_beside_it(
    repo: Path, key: str
) -> None:
    commit(repo, {"pkg/a.py": f'KEY = "{key}"\n'})
    proc, renames = hooked(repo)
    assert proc.returncode == 1, proc.stderr
    ((src, _dst),) = (r.split(" -> ") for r in renames if r.endswith(" -> pkg/a.py"))
    assert Path(src).parent == repo / "pkg"
    assert Path(src).name.startswith(".keysentry-fix-")


def test_a_file_that_cannot_be_written_is_left_whole(repo: Path, key: str) -> None:
    """The file system takes no more than 16 KiB a file (RLIMIT_FSIZE): the key is kept in
    the env file first, the file stays as it was, and no temporary file is left."""
    body = "# padding\n" * 4000 + f'KEY = "{key}"\n'
    commit(repo, {"a.py": body})
    proc, _renames = hooked(repo, fsize=16384)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.endswith("cannot write a.py: File too large\n")
    assert key not in proc.stderr
    assert (repo / "a.py").read_text() == body
    assert env_file(repo) == {"KEY": key}
    assert sorted(p.name for p in repo.iterdir()) == [".env", ".git", ".gitignore", "a.py"]

"""Purge's check on real repositories (keysentry.purge.verify.search): every object, ref
and file of the git directory is read, what it read is counted, each leftover is told
by its place (with the key hidden) and its first form, and a key is found however it
is cut, as long as one part holds PIECE + STEP - 1 bytes of its core."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from test_purge import api, fake  # noqa: F401 - fixtures

from conftest import GIT_ENV, PREFIX, git, make_key
from gitrepo_helpers import commit
from keysentry.errors import ExitCode
from keysentry.git.run import discover
from keysentry.purge.verify import (
    CHUNK,
    FORMS,
    PIECE,
    STEP,
    Finder,
    Left,
    Searched,
    core,
    needles,
    pieces,
    search,
)
from keysentry.sources.catfile import BLOCK_SIZE, LARGE

HIDDEN = "<purged key>"


def hex_core(key: str) -> str:
    return key.rpartition("-")[2]


def leftovers(repo: Path, *secrets: str) -> tuple[dict[str, Left], Searched]:
    # The search runs inside purge, whose output is its report: a warning it printed
    # would be noise in it, so any warning fails the test.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        left, searched = search(discover(repo), list(secrets))
    return {x.place: x for x in left}, searched


def git_bytes_args(repo: Path, *args: str | bytes) -> None:
    """git with arguments that may not be UTF-8 (a ref name of any bytes)."""
    subprocess.run(
        ["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, capture_output=True,
        check=True, timeout=60,
    )  # fmt: skip


# -- the core of a key ---------------------------------------------------------------------


def test_the_core_of_a_key() -> None:
    key = make_key()
    assert core(key) == hex_core(key).encode()
    assert core("tok-" + "a" * 32) == b"a" * 32  # the part after the last "-", when long
    assert core("tok-" + "a" * 31) == b"tok-" + b"a" * 31  # else the whole key
    assert core("a-b-" + "c" * 40) == b"c" * 40
    assert core("nodash" * 8) == b"nodash" * 8


def test_a_key_with_another_prefix_is_found_by_its_core(repo: Path) -> None:
    key = make_key()
    edited = "sk-or-v2-" + hex_core(key)
    commit(repo, {"a.txt": f"K={edited}\n"})
    found, _ = leftovers(repo, key)
    blob = git(repo, "rev-parse", "HEAD:a.txt").strip()
    assert found[f"object {blob} (blob)"].form == "raw"


def test_a_secret_that_is_not_utf8(repo: Path) -> None:
    """A secret read from bytes that are not UTF-8 holds their escapes (as file names
    do): it is searched for as those bytes."""
    secret = os.fsdecode(b"s3cr3t\xfbpassw0rd")
    commit(repo, {"a.txt": "one\n"})
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "pw").write_bytes(b"pw=s3cr3t\xfbpassw0rd\n")
    found, _ = leftovers(repo, secret)
    assert found == {"file info/pw": Left(secret, "file info/pw", "raw")}


def test_two_keys_with_one_core_are_one_leftover_named_after_the_first(repo: Path) -> None:
    """The same secret behind two prefixes (a key and its edited copy, both purged):
    each place is one leftover, named after the key given first."""
    key = make_key()
    edited = "sk-or-v2-" + hex_core(key)
    commit(repo, {"a.txt": f"K={key}\n"})
    blob = git(repo, "rev-parse", "HEAD:a.txt").strip()
    for first, second in ((key, edited), (edited, key)):
        found, _ = leftovers(repo, first, second)
        objects = {p: x.secret for p, x in found.items() if p.startswith("object")}
        assert objects == {f"object {blob} (blob)": first}


# -- pieces: a key cut anywhere ------------------------------------------------------------

WINDOW = PIECE + STEP - 1


@pytest.mark.parametrize("size", [33, 35, 64])
@pytest.mark.parametrize("form", ["raw", "hex"])
def test_every_part_of_the_promised_size_is_found(form: str, size: int) -> None:
    """Every part of WINDOW bytes, and none of PIECE - 1 (too short to tell from
    chance), wherever it lies: the last pieces of a core of any length included (33 and
    35 bytes: the cores whose last regular piece falls just before, or after, the one
    that ends the core)."""
    key = make_key() if size == 64 else "tok-" + secrets.token_hex(size)[:size]
    c = core(key)
    assert len(c) == size
    finder = Finder(needles([key]))

    def forms(part: bytes) -> set[str]:
        data = part if form == "raw" else part.hex().encode()
        return {n.form for n, _ in finder.scan(b"x " + data + b" y")}

    for start in range(len(c) - WINDOW + 1):
        assert form in forms(c[start : start + WINDOW]), start
    for start in range(len(c) - PIECE + 2):
        assert forms(c[start : start + PIECE - 1]) == set(), start


def test_pieces_of_a_short_key_and_of_a_long_one() -> None:
    assert pieces(b"a" * 23, 23) == [b"a" * 23]  # too short to cut: searched whole
    cut = pieces(bytes(range(24)), 24)
    assert cut[0] == bytes(range(24))
    assert cut[1:] == [bytes(range(i, i + PIECE)) for i in (0, 4, 8, 12)]
    hexed = pieces(bytes(range(24)).hex().encode(), 24)  # twice the length: wider pieces
    assert all(len(p) == 2 * PIECE for p in hexed[1:]) and len(hexed) == 5
    assert hexed[-1] == bytes(range(24)).hex().encode()[-2 * PIECE :]


def test_a_custom_key_of_24_bytes_is_found_in_parts() -> None:
    secret = "tok-" + "Zq9" * 6 + "xy"  # 24 bytes, no long tail: searched whole and in pieces
    finder = Finder(needles([secret]))
    part = secret.encode()[5 : 5 + WINDOW]
    assert {n.form for n, _ in finder.scan(b"+" + part + b"+")} == {"raw"}


def test_a_key_of_eight_bytes_is_searched() -> None:
    finder = Finder(needles(["s3cr3t!!"]))
    assert {n.form for n, _ in finder.scan(b"pw = s3cr3t!!\n")} == {"raw"}
    assert [n for n in needles(["s3cr3t!!"]) if len(n.data) < 8] == []


def test_each_needle_is_searched_once() -> None:
    key = make_key()
    found = needles([key, key])
    assert len({n.data for n in found}) == len(found)
    assert {n.form for n in found} == {f.name for f in FORMS}


# -- what a place says -----------------------------------------------------------------------


def test_a_place_hides_every_key_it_holds() -> None:
    one, two = make_key(), make_key()
    finder = Finder(needles([one, two]))
    c1, c2 = hex_core(one), hex_core(two)
    assert finder.hide(f"ref refs/heads/{one}") == f"ref refs/heads/sk-or-v1-{HIDDEN}"
    assert finder.hide(f"a {c1} b {c2} c") == f"a {HIDDEN} b {HIDDEN} c"
    assert finder.hide(f"{c1}{c2}") == HIDDEN  # two keys side by side: one stretch
    assert finder.hide(f"x{c1[:20]}y") == f"x{HIDDEN}y"
    assert finder.hide("nothing here") == "nothing here"


def test_of_several_forms_in_one_place_the_first_is_named(repo: Path) -> None:
    key = make_key()
    encoded = base64.b64encode(f"K={key}".encode()).decode()
    for text in (f"{encoded}\nK={key}\n", f"K={key}\n{encoded}\n"):
        (repo / ".git" / "info").mkdir(exist_ok=True)
        (repo / ".git" / "info" / "notes").write_text(text)
        found, _ = leftovers(repo, key)
        assert found["file info/notes"].form == "raw", text[:10]
    (repo / ".git" / "info" / "notes").write_text(f"{encoded}\n{key.encode().hex()}\n")
    found, _ = leftovers(repo, key)
    assert found["file info/notes"].form == "base64"  # base64 comes before hex in FORMS


# -- every object ----------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["hyperscan", "find"])
def test_objects_of_every_kind(repo: Path, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if backend == "find":  # what searches where hyperscan is not available
        monkeypatch.setenv("KEYSENTRY_NO_HYPERSCAN", "1")
    blob_key, name_key, message_key, tag_key = (make_key() for _ in range(4))
    commit(repo, {"a.txt": f"K={blob_key}", f"{hex_core(name_key)}.txt": "x\n"}, "one")
    commit(repo, {"b.txt": "y\n"}, f"debug {message_key}")
    git(repo, "tag", "-a", "v1", "-m", f"token {tag_key}")
    found, searched = leftovers(repo, blob_key, name_key, message_key, tag_key)
    blob = git(repo, "rev-parse", "HEAD~1:a.txt").strip()
    tree = git(repo, "rev-parse", "HEAD~1^{tree}").strip()
    later = git(repo, "rev-parse", "HEAD^{tree}").strip()  # the name is still there
    head = git(repo, "rev-parse", "HEAD").strip()
    tag = git(repo, "rev-parse", "v1").strip()
    assert {p: (x.secret, x.oid, x.form) for p, x in found.items() if p.startswith("object")} == {
        f"object {blob} (blob)": (blob_key, blob, "raw"),  # at the very end of the blob
        f"object {tree} (tree)": (name_key, tree, "raw"),
        f"object {later} (tree)": (name_key, later, "raw"),
        f"object {head} (commit)": (message_key, head, "raw"),
        f"object {tag} (tag)": (tag_key, tag, "raw"),
    }
    every = git(repo, "cat-file", "--batch-all-objects", "--batch-check").splitlines()
    assert searched.objects == len(every)


def test_the_only_object_of_a_repository(repo: Path) -> None:
    key = make_key()
    oid = git(repo, "hash-object", "-w", "--stdin", input=f"{key}".encode()).strip()
    found, searched = leftovers(repo, key)
    assert searched.objects == 1
    assert found[f"object {oid} (blob)"].form == "raw"


def test_a_large_object_is_read_as_a_stream(repo: Path) -> None:
    key, other = make_key(), make_key()
    half = CHUNK // 2
    # Over the large-object threshold: read in chunks; the key lies across two of them.
    data = b"#" * (CHUNK - half) + b"#" * (half - 20) + f"K={key}\n".encode() + b"#" * CHUNK
    (repo / "big.bin").write_bytes(data)
    (repo / "small.txt").write_text(f"{other}\n")
    commit(repo, {})
    found, searched = leftovers(repo, key, other)
    big = git(repo, "rev-parse", "HEAD:big.bin").strip()
    small = git(repo, "rev-parse", "HEAD:small.txt").strip()
    assert found[f"object {big} (blob)"] == Left(key, f"object {big} (blob)", "raw", big)
    assert found[f"object {small} (blob)"].secret == other
    assert searched.objects == 4


def test_objects_of_several_blocks_are_all_searched_and_counted(repo: Path) -> None:
    """Small objects are read a block at a time: these fill more than one."""
    key = make_key()
    size = LARGE * 3 // 4
    assert 3 * size > BLOCK_SIZE
    files: dict[str, str | bytes | None] = {
        f"part{i}.txt": f"{i}\n" * (size // 2) for i in range(3)
    }
    files["z.txt"] = f"K={key}\n"
    commit(repo, files)
    found, searched = leftovers(repo, key)
    blob = git(repo, "rev-parse", "HEAD:z.txt").strip()
    assert set(found) == {f"object {blob} (blob)"}
    every = git(repo, "cat-file", "--batch-all-objects", "--batch-check").splitlines()
    assert searched.objects == len(every) == 6


def test_a_short_key_that_ends_its_object(repo: Path) -> None:
    """A key searched whole only (too short to cut into pieces), as the last bytes of a
    blob: its match ends where the object does."""
    secret = "hunter2-Passw0rd"
    commit(repo, {"pw.txt": f"pw={secret}"})
    blob = git(repo, "rev-parse", "HEAD:pw.txt").strip()
    found, _ = leftovers(repo, secret)
    place = f"object {blob} (blob)"
    assert {p: x for p, x in found.items() if p.startswith("object")} == {
        place: Left(secret, place, "raw", blob)
    }


def test_an_object_id_in_a_key_is_no_leftover(repo: Path) -> None:
    """cat-file puts each object's id in a header before it: a key holding the id of an
    object (here of the first one read, and of the second) is not in that object nor
    the one before it, and a match in the first header does not end the search."""
    for i in range(6):
        git(repo, "hash-object", "-w", "--stdin", input=f"blob {i}\n".encode())

    def order() -> list[str]:
        listing = git(repo, "cat-file", "--batch-all-objects", "--unordered", "--batch-check")
        return [line.split()[0] for line in listing.splitlines()]

    first = order()[0]
    for _attempt in range(50):  # until the blob holding the key is not read first
        key = PREFIX + first + secrets.token_hex(12)
        holder = git(repo, "hash-object", "-w", "--stdin", input=f"K={key}\n".encode()).strip()
        if order()[0] == first:
            break
        (repo / ".git" / "objects" / holder[:2] / holder[2:]).unlink()
    else:
        pytest.fail("no blob could be written after the first one")
    # Not the holder's own id: the place that names it would show the key hidden.
    second = next(oid for oid in order()[1:] if oid != holder)
    other = PREFIX + second + secrets.token_hex(12)
    left, _ = search(discover(repo), [key, other])
    objects = sorted((x.place, x.secret) for x in left if x.place.startswith("object"))
    assert objects == [(f"object {holder} (blob)", key)]


def test_objects_are_not_read_twice_as_files(repo: Path) -> None:
    """Stored without compression, an object's bytes are in its loose file and its pack
    too: the object is the place, not the files git keeps it in."""
    key = make_key()
    git(repo, "config", "core.compression", "0")
    git(repo, "config", "pack.compression", "0")
    commit(repo, {"a.txt": f"K={key}\n", "b.txt": "b\n"})
    blob = git(repo, "rev-parse", "HEAD:a.txt").strip()
    loose = repo / ".git" / "objects" / blob[:2] / blob[2:]
    assert key.encode() in loose.read_bytes()  # really there, uncompressed
    found, _ = leftovers(repo, key)
    assert set(found) == {f"object {blob} (blob)"}
    git(repo, "gc", "-q")
    (pack,) = (repo / ".git" / "objects" / "pack").glob("*.pack")
    assert key.encode() in pack.read_bytes()
    found, _ = leftovers(repo, key)
    assert set(found) == {f"object {blob} (blob)"}


# -- every ref ---------------------------------------------------------------------------------


def test_ref_names_and_symbolic_ref_targets(repo: Path) -> None:
    key, target_key = make_key(), make_key()
    commit(repo, {"a.txt": "one\n"})
    git(repo, "branch", f"wip-{hex_core(key)}")
    git(repo, "branch", f"old-{hex_core(target_key)}")
    git(repo, "symbolic-ref", "refs/heads/alias", f"refs/heads/old-{hex_core(target_key)}")
    found, searched = leftovers(repo, key, target_key)
    refs = {p: x.secret for p, x in found.items() if p.startswith("ref ")}
    assert refs == {
        f"ref refs/heads/wip-{HIDDEN}": key,
        f"ref refs/heads/old-{HIDDEN}": target_key,
        "ref refs/heads/alias": target_key,
    }
    listed = git(repo, "for-each-ref", "--format=%(refname)").splitlines()
    assert searched.refs == len(listed) == 4


def test_names_that_are_not_utf8(repo: Path) -> None:
    """Git keeps ref and file names as bytes: one that is not UTF-8 is searched, and
    shown with the key hidden and its other bytes kept (as escapes)."""
    key = make_key()
    commit(repo, {"a.txt": "one\n"})
    git_bytes_args(repo, "update-ref", b"refs/heads/\xff-" + hex_core(key).encode(), "HEAD")
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / os.fsdecode(b"\xfe-" + hex_core(key).encode())).write_text("x\n")
    found, _ = leftovers(repo, key)
    ref, name = f"ref refs/heads/\udcff-{HIDDEN}", f"the name of file info/\udcfe-{HIDDEN}"
    assert found[ref] == Left(key, ref, "raw")
    assert found[name] == Left(key, name, "raw")


def test_nothing_is_added_to_what_is_read(repo: Path) -> None:
    """A ref named with all of a short secret but its last character, and a file that
    starts with all of it but its first, hold no leftover: nothing is read before a
    file's first byte, nor between a ref's name and its target."""
    secret = "Xstaging-passwordX"
    commit(repo, {"a.txt": "one\n"})
    git(repo, "branch", secret[:-1])
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "start").write_text(f"{secret[1:]}\n")
    found, _ = leftovers(repo, secret)
    assert found == {}
    (repo / ".git" / "info" / "start").write_text(f"{secret}\n")
    found, _ = leftovers(repo, secret)
    assert found == {"file info/start": Left(secret, "file info/start", "raw")}


# -- every file of the git directory -------------------------------------------------------


def test_files_names_and_links_of_the_git_directory(repo: Path, tmp_path: Path) -> None:
    key = make_key()
    commit(repo, {"a.txt": "one\n"})
    info = repo / ".git" / "info"
    info.mkdir(exist_ok=True)
    (info / "notes.txt").write_text(f"reminder: {key}\n")
    (info / f"{hex_core(key)}.txt").write_text("x\n")
    deep = repo / ".git" / "deep" / f"d-{hex_core(key)}"
    deep.mkdir(parents=True)
    (deep / "inside").write_text("clean\n")
    (repo / ".git" / "link").symlink_to(f"/nowhere/{key}")
    os.mkfifo(repo / ".git" / "fifo")  # not opened: nothing to wait on
    found, searched = leftovers(repo, key)
    files = sorted(p for p in found if not p.startswith(("object", "ref")))
    assert files == [
        "file info/notes.txt",
        f"the name of file deep/d-{HIDDEN}",
        f"the name of file deep/d-{HIDDEN}/inside",
        f"the name of file info/{HIDDEN}.txt",
        "the target of the link file link",
    ]
    every = sum(len(dirs) + len(names) for _, dirs, names in os.walk(repo / ".git"))
    assert searched.files == every and searched.unreadable == []


def test_a_key_across_two_reads_of_a_file(repo: Path) -> None:
    """Files are read CHUNK bytes at a time. A key searched whole only (too short for
    pieces) cut by the boundary is found: in its middle, and its longest form with all
    but its last byte in the first read."""
    secret = "deploy-Pa55word!"
    longest = max(needles([secret]), key=lambda n: len(n.data))
    info = repo / ".git" / "info"
    info.mkdir(parents=True, exist_ok=True)
    for name, data, before in (
        ("raw", secret.encode(), len(secret) // 2),
        ("longest", longest.data, len(longest.data) - 1),
    ):
        (info / name).write_bytes(b"#" * (CHUNK - before) + data + b"#" * 64)
    found, _ = leftovers(repo, secret)
    assert found == {
        "file info/raw": Left(secret, "file info/raw", "raw"),
        "file info/longest": Left(secret, "file info/longest", longest.form),
    }


def test_the_current_directory_is_not_searched(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = make_key()
    commit(repo, {"a.txt": "one\n"})
    here = tmp_path / "here"
    here.mkdir()
    (here / "notes.txt").write_text(f"{key}\n")
    monkeypatch.chdir(here)
    found, _ = leftovers(repo, key)
    assert found == {}


def test_a_linked_worktree_searches_its_own_directory_and_the_common_one(
    repo: Path, tmp_path: Path
) -> None:
    key = make_key()
    commit(repo, {"a.txt": "one\n"})
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", "-b", "side", str(linked))
    (repo / ".git" / "worktrees" / "linked" / "MERGE_MSG").write_text(f"{key}\n")
    found, _ = leftovers(linked, key)
    assert "file worktrees/linked/MERGE_MSG" in found  # under the common directory
    assert "file MERGE_MSG" in found  # and under the worktree's own


def test_no_keys_nothing_to_search(repo: Path) -> None:
    commit(repo, {"a.txt": "one\n"})
    assert search(discover(repo), []) == ([], Searched())


@pytest.mark.usefixtures("api")  # the fake API: the key checks as revoked
def test_purge_as_a_command_finds_encoded_leftovers(repo: Path, tmp_path: Path) -> None:
    """``keysentry purge`` in a Python of its own, where the table of forms is built as
    the module is imported: a key left in the git directory percent-encoded and as a hex
    dump is found in each form."""
    key = make_key()
    commit(repo, {"a.py": f"K = '{key}'\n"}, "leak")
    info = repo / ".git" / "info"
    info.mkdir(exist_ok=True)
    (info / "url").write_text("".join(f"%{b:02x}" for b in key.encode()) + "\n")
    (info / "dump").write_text(key.encode().hex(" ") + "\n")
    out = tmp_path / "purge.json"
    proc = subprocess.run(
        [sys.executable, "-I", "-m", "keysentry", "purge", str(repo), "--in-place",
         "--format", "json", "--output", str(out), "--quiet"],
        env={**os.environ, **GIT_ENV}, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert proc.returncode == ExitCode.FINDINGS, proc.stderr
    (left,) = json.loads(out.read_text())["still_present"]
    assert left["places"] == ["file info/dump [hex dump]", "file info/url [%xx]"]
    assert key not in out.read_text()


# -- what could not be read makes the check incomplete --------------------------------------


def search_as_nobody(repo: Path, secrets: list[str], warm_up: Path) -> tuple[list[Left], Searched]:
    """``search`` in a child process that runs as the user nobody (root reads every
    file, so an unreadable one needs another user). ``warm_up``, a repository of root's,
    is searched here first, so that every module and codec the search needs is loaded
    (nobody may not read where they come from)."""
    import pickle

    search(discover(warm_up), secrets)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        status = 1
        try:
            os.close(read)
            os.setgid(65534)
            os.setuid(65534)
            with os.fdopen(write, "wb") as out:
                try:
                    pickle.dump(search(discover(repo), secrets), out)
                except Exception as exc:  # said in the parent's assertion
                    pickle.dump(f"{type(exc).__name__}: {exc}", out)
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    with os.fdopen(read, "rb") as results:
        data = results.read()
    _, status = os.waitpid(pid, 0)
    assert status == 0 and data, "the search as nobody did not finish"
    result = pickle.loads(data)
    assert not isinstance(result, str), result
    return result  # type: ignore[no-any-return]


@pytest.fixture
def shared_repo() -> Path:
    """A repository the user nobody owns, in a directory anyone may enter."""
    import shutil
    import tempfile

    if os.geteuid() != 0:
        pytest.skip("only root can run a search as another user")
    top = Path(tempfile.mkdtemp(prefix="keysentry-nobody-"))
    try:
        top.chmod(0o755)
        repo = top / "repo"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        commit(repo, {"a.txt": "one\n"})
        for path in (repo, *repo.rglob("*")):
            os.lchown(path, 65534, 65534)
        yield repo
    finally:
        shutil.rmtree(top)


def test_what_cannot_be_read_is_listed(shared_repo: Path, repo: Path) -> None:
    """Two directories that cannot be listed (the walk goes on after each), a file that
    cannot be opened, and a directory that can be listed but not searched: the names in
    it are searched, what they are cannot be known."""
    key = make_key()
    git_dir = shared_repo / ".git"
    locked = git_dir / f"locked-{hex_core(key)}"
    locked.mkdir()
    (locked / "inside").write_text(f"{key}\n")
    closed = git_dir / "hooks" / "closed"
    closed.mkdir(parents=True)
    secret = git_dir / "info" / "secret"
    secret.parent.mkdir(exist_ok=True)
    secret.write_text(f"{key}\n")
    listed = git_dir / "listed"
    listed.mkdir()
    (listed / f"{hex_core(key)}.txt").write_text("x\n")
    for path in (locked, locked / "inside", closed, secret, secret.parent, listed):
        os.lchown(path, 65534, 65534)
    locked.chmod(0)
    closed.chmod(0)
    secret.chmod(0)
    listed.chmod(0o444)
    commit(repo, {"a.txt": "one\n"})
    left, searched = search_as_nobody(shared_repo, [key], warm_up=repo)
    assert sorted(searched.unreadable) == [  # (the walk goes in the file system's order)
        f"directory {git_dir}/hooks/closed: Permission denied",
        f"directory {git_dir}/locked-{HIDDEN}: Permission denied",
        "file info/secret: Permission denied",
        f"file listed/{HIDDEN}.txt: Permission denied",
    ]
    assert sorted(x.place for x in left) == [
        f"the name of file listed/{HIDDEN}.txt",
        f"the name of file locked-{HIDDEN}",
    ]

"""Purge's check on real repositories (keysentry.purge.verify.search): every object, ref
and file of the git directory is read, what it read is counted, each leftover is told
by its place (with the key hidden) and its first form, and a key is found however it
is cut, as long as one part holds PIECE + STEP - 1 bytes of its core."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from conftest import git, make_key
from gitrepo_helpers import commit
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

HIDDEN = "<purged key>"


def hex_core(key: str) -> str:
    return key.rpartition("-")[2]


def leftovers(repo: Path, *secrets: str) -> tuple[dict[str, Left], Searched]:
    left, searched = search(discover(repo), list(secrets))
    return {x.place: x for x in left}, searched


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


# -- pieces: a key cut anywhere ------------------------------------------------------------

WINDOW = PIECE + STEP - 1


@pytest.mark.parametrize("form", ["raw", "hex"])
def test_every_part_of_the_promised_size_is_found(form: str) -> None:
    key = make_key()
    c = core(key)
    finder = Finder(needles([key]))
    for start in range(len(c) - WINDOW + 1):
        part = c[start : start + WINDOW]
        data = part if form == "raw" else part.hex().encode()
        assert any(n.form == form for n, _ in finder.scan(b"x " + data + b" y")), start


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


def test_objects_of_every_kind(repo: Path) -> None:
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

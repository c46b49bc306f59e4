"""`keysentry history` on real repositories: where a key hides in a history, and how
exposed each place is."""

from __future__ import annotations

import io
import json
import py_compile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import git, make_key
from gitrepo_helpers import commit, head, locations, only, run, write
from keysentry.cli import main
from keysentry.errors import ExitCode
from keysentry.sources import attach, provenance


def history(tmp_path: Path, repo: Path, *args: str) -> dict:
    code, report = run(tmp_path, "history", str(repo), *args)
    assert code in (ExitCode.CLEAN, ExitCode.FINDINGS), report
    return report


def test_key_in_a_file_later_deleted(tmp_path: Path, repo: Path, key: str) -> None:
    commit(repo, {"README": "hi\n"}, "init")
    added = commit(repo, {".env": f"A=1\nOPENROUTER_API_KEY={key}\n"}, "add env")
    commit(repo, {".env": None}, "remove env")
    loc = only(history(tmp_path, repo), key)
    assert (loc["path"], loc["line"], loc["column"]) == (".env", 2, 20)
    assert loc["source"] == "blob"
    assert loc["commit"]["id"] == added
    assert loc["commit"]["author"] == "Test Author <author@example.test>"
    assert loc["commit"]["date"].startswith("2024-01-01T00:00:00")
    assert loc["commit"]["summary"] == "add env"
    assert loc["in_head"] is False
    assert loc["exposure"] == "branch"


def test_key_edited_out_and_a_key_still_in_head(tmp_path: Path, repo: Path) -> None:
    old, current = make_key(), make_key()
    added = commit(repo, {"app.py": f'KEY = "{old}"\n'}, "add key")
    commit(repo, {"app.py": 'KEY = os.environ["KEY"]\n'}, "use the environment")
    commit(repo, {"conf/settings.toml": f'key = "{current}"\n'}, "settings")
    report = history(tmp_path, repo)
    gone = only(report, old)
    assert gone["commit"]["id"] == added and gone["in_head"] is False
    assert gone["exposure"] == "branch"
    kept = only(report, current)
    assert kept["path"] == "conf/settings.toml"
    assert kept["in_head"] is True and kept["exposure"] == "head"


def test_key_only_on_an_unmerged_branch(tmp_path: Path, repo: Path, key: str) -> None:
    commit(repo, {"README": "hi\n"})
    git(repo, "switch", "-q", "-c", "experiment")
    on_branch = commit(repo, {"try.py": f"k = '{key}'\n"}, "try it")
    git(repo, "switch", "-q", "main")
    loc = only(history(tmp_path, repo), key)
    assert loc["commit"]["id"] == on_branch
    assert (loc["exposure"], loc["in_head"]) == ("branch", False)


def test_key_only_in_a_merge_resolution(tmp_path: Path, repo: Path, key: str) -> None:
    commit(repo, {"conf.py": "x = 1\n"})
    git(repo, "switch", "-q", "-c", "side")
    commit(repo, {"conf.py": "x = 2\n"}, "side")
    git(repo, "switch", "-q", "main")
    commit(repo, {"conf.py": "x = 3\n"}, "main")
    with pytest.raises(AssertionError):  # a conflict, resolved by hand below
        git(repo, "merge", "-q", "side", "-m", "merge side")
    write(repo, {"conf.py": f"x = 4\nkey = '{key}'\n"})
    git(repo, "add", "conf.py")
    git(repo, "commit", "-q", "--no-edit")
    merge = head(repo)
    loc = only(history(tmp_path, repo), key)
    assert loc["commit"]["id"] == merge  # neither parent has it: only the resolution
    assert (loc["path"], loc["line"]) == ("conf.py", 2)
    assert loc["exposure"] == "head"


def test_key_in_a_stash(tmp_path: Path, repo: Path, key: str) -> None:
    commit(repo, {"app.py": "pass\n"})
    write(repo, {"app.py": f"KEY = '{key}'\n"})
    git(repo, "stash", "-q")
    loc = only(history(tmp_path, repo), key)
    assert loc["path"] == "app.py"
    assert loc["exposure"] == "stash"


def test_key_in_an_older_stash_entry(tmp_path: Path, repo: Path, key: str) -> None:
    commit(repo, {"app.py": "pass\n"})
    write(repo, {"app.py": f"KEY = '{key}'\n"})
    git(repo, "stash", "-q")
    write(repo, {"app.py": "print(1)\n"})
    git(repo, "stash", "-q")  # the key is now stash@{1}: only in refs/stash's reflog
    assert only(history(tmp_path, repo), key)["exposure"] == "stash"


def test_key_in_a_git_note(tmp_path: Path, repo: Path, key: str) -> None:
    annotated = commit(repo, {"README": "hi\n"})
    git(repo, "notes", "add", "-m", f"deploy token {key}", annotated)
    git(repo, "notes", "--ref", "review", "add", "-m", f"again {key}", annotated)
    found = locations(history(tmp_path, repo), key)
    # Git stores a note under the annotated commit's id, but that id is not a file.
    assert sorted(loc["path"] for loc in found) == [
        f"<refs/notes/commits note on {annotated}>",
        f"<refs/notes/review note on {annotated}>",
    ]
    assert {loc["source"] for loc in found} == {"note"}
    assert {loc["exposure"] for loc in found} == {"branch"}  # local refs: not pushed


def test_a_note_is_no_file_in_sarif_or_annotations(tmp_path: Path, repo: Path, key: str) -> None:
    annotated = commit(repo, {"README": "hi\n"})
    git(repo, "notes", "add", "-m", f"deploy token {key}", annotated)
    sarif_out, github_out = tmp_path / "out.sarif", tmp_path / "out.txt"
    assert main(["history", str(repo), "-q", "--format", "sarif", "-o", str(sarif_out)]) == 1
    assert main(["history", str(repo), "-q", "--format", "github", "-o", str(github_out)]) == 1
    (result,) = json.loads(sarif_out.read_text())["runs"][0]["results"]
    (where,) = result["locations"]
    uri = where["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.startswith(".git/note/") and annotated not in uri
    assert "in the git note <refs/notes/commits note on" in where["message"]["text"]
    (annotation,) = [line for line in github_out.read_text().splitlines() if "::" in line]
    assert "file=" not in annotation


def test_a_file_named_like_an_object_id_is_a_path(tmp_path: Path, repo: Path, key: str) -> None:
    name = "ab" * 20
    commit(repo, {name: f"k={key}\n"})
    loc = only(history(tmp_path, repo), key)
    assert (loc["path"], loc["source"]) == (name, "blob")


def test_key_in_a_commit_message(tmp_path: Path, repo: Path, key: str) -> None:
    commit(repo, {"README": "hi\n"})
    leaky = commit(repo, {}, f"fix auth\n\nused {key} for testing")
    loc = only(history(tmp_path, repo), key)
    assert loc["source"] == "commit-message"
    assert (loc["line"], loc["column"]) == (3, 6)  # within the message
    assert loc["blob"] == leaky and loc["commit"]["id"] == leaky
    assert loc["commit"]["summary"] == "fix auth"
    assert loc["exposure"] == "branch"


def test_messages_can_be_left_out(tmp_path: Path, repo: Path, key: str) -> None:
    commit(repo, {}, f"token {key}")
    report = history(tmp_path, repo, "--no-messages")
    assert locations(report, key) == []
    assert any("--no-messages" in n for n in report["stats"]["notes"])


def test_key_in_an_annotated_tag_message(tmp_path: Path, repo: Path, key: str) -> None:
    commit(repo, {"README": "hi\n"})
    git(repo, "tag", "-a", "v1.0", "-m", f"release\n\ntoken {key}")
    tag = head(repo, "v1.0")
    loc = only(history(tmp_path, repo), key)
    assert loc["source"] == "tag-message"
    assert loc["path"] == "<tag v1.0 message>"
    assert loc["blob"] == tag
    assert loc["commit"]["author"] == "Test Committer <committer@example.test>"  # the tagger
    assert loc["exposure"] == "tag"


def test_key_reachable_only_from_the_reflog(tmp_path: Path, repo: Path, key: str) -> None:
    commit(repo, {"README": "hi\n"})
    lost = commit(repo, {"app.py": f"k = '{key}'\n"}, "oops")
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    loc = only(history(tmp_path, repo), key)
    assert loc["commit"]["id"] == lost
    assert loc["exposure"] == "reflog-only"


def test_key_in_a_dangling_commit(tmp_path: Path, repo: Path, key: str) -> None:
    commit(repo, {"README": "hi\n"})
    lost = commit(repo, {"app.py": f"k = '{key}'\n"}, "oops")
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    git(repo, "reflog", "expire", "--expire=now", "--all")
    loc = only(history(tmp_path, repo), key)
    assert loc["commit"]["id"] == lost  # found among the commits fsck calls unreachable
    assert loc["path"] == "app.py"
    assert loc["exposure"] == "unreachable"


def test_key_in_a_blob_no_commit_holds(tmp_path: Path, repo: Path, key: str) -> None:
    commit(repo, {"README": "hi\n"})
    blob = git(repo, "hash-object", "-w", "--stdin", input=f"k={key}\n".encode()).strip()
    loc = only(history(tmp_path, repo), key)
    assert loc["blob"] == blob
    assert loc["path"] == attach.UNATTACHED
    assert loc["exposure"] == "unreachable"


def test_keys_in_a_pyc_and_a_zip_later_removed(tmp_path: Path, repo: Path) -> None:
    in_pyc, in_zip = make_key(), make_key()
    source = tmp_path / "settings.py"
    source.write_text(f"KEY = '{in_pyc}'\n")
    pyc = tmp_path / "settings.pyc"
    py_compile.compile(str(source), cfile=str(pyc))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("pkg/config.py", f"TOKEN = '{in_zip}'\n")
    commit(repo, {"build/settings.pyc": pyc.read_bytes(), "dist/app.zip": buf.getvalue()})
    commit(repo, {"build/settings.pyc": None, "dist/app.zip": None}, "clean up")
    report = history(tmp_path, repo)
    assert only(report, in_pyc)["path"] == "build/settings.pyc"
    loc = only(report, in_zip)
    assert loc["display_path"] == "dist/app.zip!pkg/config.py"
    assert loc["decoders"] == ["zip"] and loc["in_head"] is False


def test_same_key_in_two_files_is_one_finding(tmp_path: Path, repo: Path, key: str) -> None:
    commit(repo, {".env": f"KEY={key}\n", "deploy/app.yaml": f"key: {key}\n"})
    commit(repo, {"copy/.env": f"KEY={key}\n"}, "same blob, another path")
    report = history(tmp_path, repo)
    assert len(report["findings"]) == 1
    paths = sorted(loc["path"] for loc in locations(report, key))
    assert paths == [".env", "copy/.env", "deploy/app.yaml"]


def test_pushed_versus_unpushed(tmp_path: Path, repo: Path) -> None:
    pushed, local = make_key(), make_key()
    remote = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    commit(repo, {"old.env": f"K={pushed}\n"}, "pushed")
    git(repo, "push", "-q", "origin", "main")
    commit(repo, {"new.env": f"K={local}\n"}, "not pushed yet")
    report = history(tmp_path, repo)
    assert only(report, pushed)["exposure"] == "pushed"
    assert only(report, local)["exposure"] == "head"
    note = next(n for n in report["stats"]["notes"] if n.startswith("exposure"))
    assert "1 published" in note and "1 in the current tree" in note
    assert "revoke the published key(s) first" in note
    # The bare remote itself: its branches are what it publishes.
    remote_report = history(tmp_path, remote)
    assert only(remote_report, pushed)["exposure"] == "pushed"
    assert locations(remote_report, local) == []


def test_text_says_a_key_is_both_in_head_and_pushed(
    tmp_path: Path, repo: Path, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    remote = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    commit(repo, {".env": f"K={key}\n"})
    git(repo, "push", "-q", "origin", "main")
    assert main(["history", str(repo)]) == ExitCode.FINDINGS
    out = capsys.readouterr().out
    where = next(line for line in out.splitlines() if ".env:1:3" in line)
    assert "in the current tree (HEAD)" in where and "published" in where


def test_clean_repository_pays_nothing_for_provenance(
    tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit(repo, {"README": "hello\n", "src/app.py": "print('hi')\n"})
    commit(repo, {"README": "hello again\n"})

    def forbidden(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("provenance must not run without findings")

    monkeypatch.setattr(provenance, "locate", forbidden)
    monkeypatch.setattr(provenance, "read_refs", forbidden)
    code, report = run(tmp_path, "history", str(repo))
    assert code == ExitCode.CLEAN and report["findings"] == []


def test_every_unique_object_is_read_once(tmp_path: Path, repo: Path) -> None:
    commit(repo, {"a.txt": "same\n", "b.txt": "same\n", "c.txt": "other\n"})
    commit(repo, {"a.txt": "changed\n"})
    git(repo, "repack", "-q", "-a", "-d")
    # The same objects once more, in a second pack: stored twice, still read once.
    everything = git(repo, "rev-list", "--objects", "--all", "--no-object-names")
    git(repo, "pack-objects", "-q", ".git/objects/pack/pack", input=everything.encode())
    assert len(list((repo / ".git/objects/pack").glob("*.pack"))) == 2
    counters = history(tmp_path, repo)["stats"]["counters"]
    listed = git(repo, "cat-file", "--batch-all-objects", "--batch-check=%(objecttype)")
    assert counters["blobs"] == listed.split().count("blob") == 3
    assert counters["commits"] == 2 and counters["messages"] == 2


def test_large_blobs_are_streamed(tmp_path: Path, repo: Path) -> None:
    tail_key, zipped = make_key(), make_key()
    big = b"x" * (3 * 2**20) + f"\nKEY={tail_key}\n".encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("filler.bin", b"\0" * (3 * 2**20))
        zf.writestr("conf/app.env", f"KEY={zipped}\n")
    commit(repo, {"logs/big.log": big, "dist/big.zip": buf.getvalue()})
    report = history(tmp_path, repo)
    loc = only(report, tail_key)
    assert (loc["path"], loc["line"], loc["column"]) == ("logs/big.log", 2, 5)
    assert only(report, zipped)["display_path"] == "dist/big.zip!conf/app.env"


# -- kinds of repositories --------------------------------------------------------


def test_bare_repository_is_what_a_server_publishes(
    tmp_path: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    current, removed, tagged = make_key(), make_key(), make_key()
    commit(repo, {"old.env": f"K={removed}\n"}, "old")
    commit(repo, {"old.env": None, "app.py": f"k = '{current}'\n"}, "new")
    git(repo, "switch", "-q", "-c", "release")
    commit(repo, {"rel.env": f"K={tagged}\n"}, "release")
    git(repo, "tag", "v1")
    git(repo, "switch", "-q", "main")
    git(repo, "branch", "-q", "-D", "release")
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(bare))
    report = history(tmp_path, bare)
    here = only(report, current)
    assert (here["exposure"], here["in_head"]) == ("pushed", True)
    assert (only(report, removed)["exposure"], only(report, removed)["in_head"]) == (
        "pushed",
        False,
    )
    assert only(report, tagged)["exposure"] == "pushed"  # a server's tags are published too
    notes = report["stats"]["notes"]
    assert any("bare repository" in n and "published" in n for n in notes)
    exposure = next(n for n in notes if n.startswith("exposure"))
    assert "3 published" in exposure and "never pushed" not in exposure
    assert main(["history", str(bare)]) == ExitCode.FINDINGS
    captured = capsys.readouterr()
    assert "not pushed" not in captured.out + captured.err
    assert "local branch" not in captured.out + captured.err


def _pull_request_checkout(tmp_path: Path, repo: Path, key: str, old: str) -> Path:
    """A merge request's pipeline checkout as GitLab's runner makes it: the commit is
    fetched into ``refs/pipelines/<id>`` and checked out detached; no local branch."""
    commit(repo, {"README": "hi\n"})
    git(repo, "switch", "-q", "-c", "feature")
    commit(repo, {"old.env": f"K={old}\n"}, "try")
    commit(repo, {"old.env": None, "app.py": f"k = '{key}'\n"}, "feature")
    git(repo, "update-ref", "refs/pipelines/7", "HEAD")
    git(repo, "switch", "-q", "main")
    git(repo, "branch", "-q", "-D", "feature")
    job = tmp_path / "job"
    job.mkdir()
    git(job, "init", "-q")
    git(job, "remote", "add", "origin", str(repo))
    git(job, "fetch", "-q", "origin", "+refs/pipelines/7:refs/pipelines/7")
    git(job, "checkout", "-q", "--detach", "refs/pipelines/7")
    return job


def test_a_pull_request_checkout_was_pushed(tmp_path: Path, repo: Path, key: str) -> None:
    old = make_key()
    job = _pull_request_checkout(tmp_path, repo, key, old)
    report = history(tmp_path, job)
    assert (only(report, key)["exposure"], only(report, key)["in_head"]) == ("pushed", True)
    assert only(report, old)["exposure"] == "pushed"
    exposure = next(n for n in report["stats"]["notes"] if n.startswith("exposure"))
    assert "2 published" in exposure and "never pushed" not in exposure


def test_a_detached_checkout_with_no_branch_was_fetched(
    tmp_path: Path, repo: Path, key: str
) -> None:
    commit(repo, {"README": "hi\n"})
    tip = commit(repo, {"app.py": f"k = '{key}'\n"})
    job = tmp_path / "job"
    job.mkdir()
    git(job, "init", "-q")
    git(job, "fetch", "-q", str(repo), tip)  # a CI job fetching one commit by id
    git(job, "checkout", "-q", "--detach", tip)
    report = history(tmp_path, job)
    assert only(report, key)["exposure"] == "pushed"
    assert any("detached" in n for n in report["stats"]["notes"])


def test_in_a_ci_job_every_ref_was_fetched(
    tmp_path: Path, repo: Path, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit(repo, {"app.py": f"k = '{key}'\n"})
    assert only(history(tmp_path, repo), key)["exposure"] == "head"
    monkeypatch.setenv("CI", "true")
    report = history(tmp_path, repo)
    assert only(report, key)["exposure"] == "pushed"
    assert any("CI job" in n and "CI is set" in n for n in report["stats"]["notes"])


def test_shallow_clone_states_its_boundary(tmp_path: Path, repo: Path) -> None:
    old, new = make_key(), make_key()
    commit(repo, {"old.env": f"K={old}\n"}, "old")
    commit(repo, {"README": "1\n"}, "one")
    commit(repo, {"new.env": f"K={new}\n"}, "new")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow))
    report = history(tmp_path, shallow)
    # The old key is in the tree of the boundary commit: it is found, attributed to it.
    assert only(report, old)["commit"]["id"] == head(shallow)
    # Cloned: origin/main reaches HEAD, so the key in HEAD is both there and published.
    assert (only(report, new)["exposure"], only(report, new)["in_head"]) == ("pushed", True)
    notes = " ".join(report["stats"]["notes"])
    assert "shallow clone" in notes and head(shallow)[:12] in notes


def test_linked_worktree(tmp_path: Path, repo: Path) -> None:
    main_key, wt_key = make_key(), make_key()
    commit(repo, {"a.env": f"K={main_key}\n"})
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", "-b", "wt", str(linked))
    commit(linked, {"b.env": f"K={wt_key}\n"}, "in the worktree")
    report = history(tmp_path, linked)
    assert only(report, wt_key)["exposure"] == "head"  # HEAD of the linked worktree
    assert only(report, main_key)["exposure"] == "head"
    assert only(history(tmp_path, repo), wt_key)["exposure"] == "branch"


def test_sha256_repository(tmp_path: Path, key: str) -> None:
    repo = tmp_path / "s256"
    git(tmp_path, "init", "-q", "-b", "main", "--object-format=sha256", str(repo))
    added = commit(repo, {"app.py": f"k = '{key}'\n"})
    commit(repo, {"app.py": "k = None\n"})
    loc = only(history(tmp_path, repo), key)
    assert len(added) == 64 and loc["commit"]["id"] == added
    assert len(loc["blob"]) == 64


def test_partial_clone_never_fetches(tmp_path: Path, repo: Path) -> None:
    old, new = make_key(), make_key()
    commit(repo, {"old.env": f"K={old}\n"}, "old")
    commit(repo, {"old.env": None, "new.env": f"K={new}\n"}, "new")
    git(repo, "config", "uploadpack.allowFilter", "true")
    clone = tmp_path / "partial"
    git(tmp_path, "clone", "-q", "--filter=blob:none", f"file://{repo}", str(clone))
    marker = tmp_path / "fetched"
    # Were a lazy fetch attempted, this remote would run a command that leaves a marker.
    git(clone, "remote", "set-url", "origin", f"ext::sh -c touch% {marker}")
    git(clone, "config", "protocol.ext.allow", "always")
    before = git(clone, "count-objects", "-v")
    code, report = run(tmp_path, "history", str(clone))
    assert code == ExitCode.FINDINGS
    assert only(report, new)["path"] == "new.env"  # checked out, so present
    assert locations(report, old) == []  # only on the server: not fetched
    counters = report["stats"]["counters"]
    assert counters["missing_objects"] == 1
    assert any("partial clone" in n for n in report["stats"]["notes"])
    assert not marker.exists()
    assert git(clone, "count-objects", "-v") == before


def test_empty_repository(tmp_path: Path, repo: Path) -> None:
    code, report = run(tmp_path, "history", str(repo))
    assert code == ExitCode.CLEAN and report["findings"] == []


def test_a_key_kept_through_edits_is_one_location(tmp_path: Path, repo: Path, key: str) -> None:
    first = commit(repo, {"config.py": f"KEY = '{key}'\n"}, "add")
    commit(repo, {"config.py": f"DEBUG = 1\nKEY = '{key}'\n"}, "debug")
    commit(repo, {"config.py": f"DEBUG = 0\nKEY = '{key}'\n"}, "no debug")
    loc = only(history(tmp_path, repo), key)
    assert loc["commit"]["id"] == first and loc["line"] == 1  # where it first appeared
    assert loc["in_head"] is True and loc["exposure"] == "head"  # and it is still there


# -- the hot path's parts ------------------------------------------------------------


def _batch(objects: list[tuple[str, str, bytes]]) -> bytes:
    out = bytearray()
    for oid, kind, content in objects:
        out += f"{oid} {kind} {len(content)}\n".encode() + content + b"\n"
    return bytes(out)


@pytest.mark.parametrize("block", [4200, 5000, 9000])
def test_batch_reader_across_block_boundaries(block: int) -> None:
    from keysentry.sources.catfile import BatchReader, Block, LargeObject, Missing

    objects = [
        (f"{i:040x}", "blob" if i % 3 else "tree", bytes([65 + i % 26]) * (i * 37 % 3000))
        for i in range(1, 60)
    ]
    objects.insert(20, ("f" * 40, "blob", b"L" * 5000))  # larger than `large`
    stream = _batch(objects[:30]) + b"deadbeef missing\n" + _batch(objects[30:])
    seen: list[tuple[str, str, bytes]] = []
    missing = []
    for item in BatchReader(io.BytesIO(stream), block_size=block, large=100):  # type: ignore[arg-type]
        if isinstance(item, Block):
            seen.extend(
                (o.decode(), k.decode(), bytes(item.data[s:e])) for o, k, s, e in item.objects
            )
            item.release()
        elif isinstance(item, LargeObject):
            seen.append((item.oid.decode(), item.type.decode(), item.stream.read()))
        elif isinstance(item, Missing):
            missing.append(item.oid)
    assert seen == objects and missing == [b"deadbeef"]


def test_block_prefilter_agrees_with_the_scanner(key: str) -> None:
    """Objects the block search skips are exactly those the full scanner finds nothing in."""
    import base64
    import gzip

    from keysentry.invocation import ScanOptions, build_request
    from keysentry.pipeline import make_scanner
    from keysentry.report.plan import ReportSpec
    from keysentry.sources.catfile import BatchReader, Block
    from keysentry.sources.objects import ObjectScanner

    opts = ScanOptions(
        (ReportSpec("json", None),), None, (), False, False, False, "any", False, None, True, 0
    )
    scanner = make_scanner(build_request(opts, "history", (".",)))
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("a/b.py", f"k='{key}'")
    contents = [
        b"plain text\n" * 50,
        f"x = '{key}'\n".encode(),
        base64.b64encode(f"KEY={key}\n".encode()),
        key.encode("utf-16-le"),
        key.replace("-", "%2d").encode(),
        gzip.compress(f"{key}\n".encode()),
        zipped.getvalue(),
        b"#!/bin/sh\n" + zipped.getvalue(),  # a zip behind a prefix
        b"\0\1binary" + key.encode() + b"\xff",
    ]
    objects = [(f"{i:040x}", "blob", c) for i, c in enumerate(contents)]
    expected = {o for o, _k, c in objects if scanner.scan_bytes(c, o).hits}
    found = set()
    for item in BatchReader(io.BytesIO(_batch(objects))):  # type: ignore[arg-type]
        assert isinstance(item, Block)
        hits, totals = ObjectScanner(scanner).scan_block(item)
        found |= {h.oid for h in hits if h.tally.hits}
        assert totals["blob"] == len(contents)
        item.release()
    assert found == expected and len(expected) >= 7


def test_parallel_readers_see_the_same_as_one(
    tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keysentry.sources import listing, objectstore

    planted = [make_key() for _ in range(6)]
    for i, k in enumerate(planted):
        filler = "".join(f"line {j} of file {i}\n" for j in range(2000))
        commit(repo, {f"f{i}.py": filler + f"k = '{k}'\n"}, f"c{i}")
    single = history(tmp_path, repo)
    monkeypatch.setattr(objectstore, "PARALLEL_MIN", 0)
    monkeypatch.setattr(listing, "CHUNK", 256)  # cut points even in a small listing
    first = listing.Listing.first

    def after_listing(self: listing.Listing) -> Iterator[bytes]:
        # In a repository this small the first reader could take everything before
        # the listing is complete; here it waits, so that the cut is in the middle.
        with self._cond:
            assert self._cond.wait_for(lambda: self.done, timeout=60), "listing never done"
        yield from first(self)

    monkeypatch.setattr(listing.Listing, "first", after_listing)
    parts: list[int] = []
    read = objectstore._read_part

    def counting(*args: object) -> object:
        parts.append(1)
        return read(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(objectstore, "_read_part", counting)
    split = history(tmp_path, repo)
    assert parts == [1, 1]
    assert split["stats"]["counters"] == single["stats"]["counters"]
    assert [f["fingerprint"] for f in split["findings"]] == [
        f["fingerprint"] for f in single["findings"]
    ]
    assert all(only(split, k) for k in planted)


def test_listing_is_cut_where_half_the_content_is(tmp_path: Path, repo: Path) -> None:
    from keysentry.git import run as gitio
    from keysentry.sources.listing import Listing

    for i in range(40):
        commit(repo, {f"f{i}.txt": "x" * (100 * (i + 1))}, f"c{i}")
    info = gitio.discover(repo)
    whole = Listing()
    whole.fill(info, 1, 0)
    assert whole.first_end == whole.written and b"".join(whole.rest()) == b""
    ids = b"".join(whole.first()).split()
    assert len(ids) == whole.objects == 120  # 40 blobs, 40 trees (names are content), 40 commits
    whole.close()
    halves = Listing()
    halves._append(b"".join(i + b"\n" for i in ids[:10]), 900)
    halves._append(b"".join(i + b"\n" for i in ids[10:]), 100)
    halves._finish(2)
    first, rest = b"".join(halves.first()).split(), b"".join(halves.rest()).split()
    assert (first, rest) == (ids[:10], ids[10:])
    halves.close()


def test_keys_suppressed_by_the_baseline_are_not_described(
    tmp_path: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pushed, local = make_key(), make_key()
    remote = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    commit(repo, {"a.env": f"K={pushed}\n"})
    git(repo, "push", "-q", "origin", "main")
    commit(repo, {"b.env": f"K={local}\n"})
    report = tmp_path / "audit.json"
    assert main(["history", str(repo), "--format", "json", "--output", str(report)]) == 1
    baseline = tmp_path / "baseline.json"
    args = ["--baseline", str(baseline), "--from-report", str(report)]
    assert main(["baseline", "create", *args]) == 0
    capsys.readouterr()
    assert main(["history", str(repo), "--baseline", str(baseline)]) == ExitCode.CLEAN
    out, err = capsys.readouterr()
    assert out == ""
    assert "0 finding(s); 2 suppressed by the baseline" in err
    assert "exposure" not in err and "published" not in err and "pushed" not in err

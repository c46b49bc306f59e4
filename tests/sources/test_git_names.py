"""Names are content: `keysentry history` finds a key in a file or directory name, a ref's
name, an author's or committer's name or e-mail, a tagger, and any other commit or tag
header; each is a location of its own kind with its exposure. `--range` (and so
`keysentry ci`) sees the names a range introduced, and only those."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import git, make_key
from gitrepo_helpers import commit, head, locations, only, raw_commit, run
from keysentry.errors import ExitCode
from keysentry.models import scrub_secrets as shown


def history(tmp_path: Path, repo: Path, *args: str) -> dict:
    code, report = run(tmp_path, "history", str(repo), *args)
    assert code in (ExitCode.CLEAN, ExitCode.FINDINGS), report
    return report


def test_key_in_a_file_name(tmp_path: Path, repo: Path, key: str) -> None:
    commit(repo, {"README": "hi\n"}, "init")
    added = commit(repo, {f"keys/{key}.txt": "nothing secret inside\n"}, "add a file")
    commit(repo, {"README": "hi again\n"}, "later")
    loc = only(history(tmp_path, repo), key)
    assert loc["source"] == "tree-entry"
    assert loc["path"] == shown(f"keys/{key}.txt")
    assert (loc["line"], loc["column"]) == (1, len("keys/") + 1)
    assert loc["commit"]["id"] == added
    assert loc["in_head"] is True and loc["exposure"] == "head"


def test_key_in_a_directory_name_deleted_later(tmp_path: Path, repo: Path, key: str) -> None:
    commit(repo, {"README": "hi\n"}, "init")
    added = commit(repo, {f"conf/{key}/settings.toml": "x = 1\n"}, "add a directory")
    commit(repo, {f"conf/{key}/settings.toml": "x = 2\n"}, "edit inside it")
    commit(repo, {f"conf/{key}/settings.toml": None}, "remove it")
    loc = only(history(tmp_path, repo), key)
    assert (loc["source"], loc["path"]) == ("tree-entry", shown(f"conf/{key}"))
    assert loc["commit"]["id"] == added
    assert loc["in_head"] is False and loc["exposure"] == "branch"


def test_a_name_is_reported_redacted(tmp_path: Path, repo: Path, key: str) -> None:
    commit(repo, {f"{key}.env": "A=1\n"}, "add")
    code = run(tmp_path, "history", str(repo))[0]
    assert code == ExitCode.FINDINGS
    text = (tmp_path / "report.json").read_text()
    assert key not in text and key[:12] in text


def test_key_in_a_ref_name(tmp_path: Path, repo: Path) -> None:
    branch, tag, remote = make_key(), make_key(), make_key()
    tip = commit(repo, {"README": "hi\n"}, "init")
    git(repo, "branch", f"fix-{branch}")
    git(repo, "tag", f"v1-{tag}")
    git(repo, "update-ref", f"refs/remotes/origin/wip-{remote}", tip)
    report = history(tmp_path, repo)
    for key, name, exposure in (
        (branch, f"refs/heads/fix-{branch}", "branch"),
        (tag, f"refs/tags/v1-{tag}", "tag"),
        (remote, f"refs/remotes/origin/wip-{remote}", "pushed"),
    ):
        loc = only(report, key)
        assert (loc["source"], loc["path"], loc["exposure"]) == (
            "ref-name",
            shown(f"<ref {name}>"),
            exposure,
        )
        assert loc["blob"] == tip
    assert report["stats"]["counters"]["ref_names"] == 4


def test_key_in_an_annotated_tag_name_and_its_tagger(tmp_path: Path, repo: Path) -> None:
    name, tagger = make_key(), make_key()
    commit(repo, {"README": "hi\n"}, "init")
    env = {"GIT_COMMITTER_NAME": f"Release {tagger}"}
    _git_env(repo, env, "tag", "-a", f"rel-{name}", "-m", "release")
    tag_object = git(repo, "rev-parse", f"refs/tags/rel-{name}").strip()
    report = history(tmp_path, repo)
    places = {(loc["source"], loc["path"]) for loc in locations(report, name)}
    assert places == {
        ("ref-name", shown(f"<ref refs/tags/rel-{name}>")),
        ("tag-header", shown(f"<tag rel-{name} header tag>")),
    }
    loc = only(report, tagger)
    assert (loc["source"], loc["path"], loc["blob"]) == (
        "identity",
        shown(f"<tag rel-{name} tagger>"),
        tag_object,
    )
    assert loc["exposure"] == "tag"


def _git_env(repo: Path, env: dict[str, str], *args: str) -> str:
    import os
    import subprocess

    from conftest import GIT_ENV

    return subprocess.run(
        ["git", *args], cwd=repo, env={**os.environ, **GIT_ENV, **env},
        capture_output=True, check=True, text=True, timeout=300,
    ).stdout  # fmt: skip


def test_key_in_author_and_committer_identities(tmp_path: Path, repo: Path) -> None:
    name, email, committer = make_key(), make_key(), make_key()
    commit(repo, {"README": "hi\n"}, "init")
    (repo / "a.txt").write_text("a\n")
    git(repo, "add", "a.txt")
    env = {
        "GIT_AUTHOR_NAME": f"Dev {name}",
        "GIT_AUTHOR_EMAIL": f"{email}@example.test",
        "GIT_COMMITTER_NAME": f"Bot {committer}",
    }
    _git_env(repo, env, "commit", "-q", "-m", "by someone odd")
    odd = head(repo)
    git(repo, "switch", "-q", "-c", "other")
    report = history(tmp_path, repo)
    for key, part in ((name, "author"), (email, "author"), (committer, "committer")):
        loc = only(report, key)
        assert (loc["source"], loc["path"]) == ("identity", f"<commit {part}>")
        assert loc["blob"] == odd and loc["commit"]["id"] == odd
        assert loc["exposure"] == "branch"


def test_key_in_other_commit_headers(tmp_path: Path, repo: Path) -> None:
    encoding, unknown, mergetag, signature = (make_key() for _ in range(4))
    commit(repo, {"README": "hi\n"}, "init")
    headers = (
        f"encoding {encoding}\n"
        f"x-review-token {unknown}\n"
        "mergetag object 0000000000000000000000000000000000000000\n type commit\n tag t\n"
        f" tagger T <t@x.test> 1704067200 +0000\n \n note {mergetag}\n"
        f"gpgsig -----BEGIN PGP SIGNATURE-----\n {signature}\n -----END PGP SIGNATURE-----\n"
    )
    oid = raw_commit(repo, headers)
    git(repo, "update-ref", "refs/heads/main", oid)
    report = history(tmp_path, repo)
    for key, part in (
        (encoding, "encoding"),
        (unknown, "x-review-token"),
        (mergetag, "mergetag"),
        (signature, "gpgsig"),
    ):
        loc = only(report, key)
        assert (loc["source"], loc["path"]) == ("commit-header", f"<commit header {part}>")
        assert loc["blob"] == oid and loc["exposure"] == "branch"


def test_header_keys_are_found_without_messages(tmp_path: Path, repo: Path, key: str) -> None:
    commit(repo, {"README": "hi\n"}, "init")
    _git_env(
        repo, {"GIT_AUTHOR_EMAIL": f"{key}@x.test"}, "commit", "-q", "--allow-empty", "-m", "e"
    )
    assert only(history(tmp_path, repo, "--no-messages"), key)["source"] == "identity"


def test_a_clean_repository_has_no_name_findings(tmp_path: Path, repo: Path) -> None:
    commit(repo, {"src/app.py": "x = 1\n", "docs/%2d and \\x73.md": "odd but clean\n"})
    git(repo, "branch", "feature/sk-or-v1-short")
    report = history(tmp_path, repo)
    assert report["findings"] == []
    listed = git(repo, "cat-file", "--batch-all-objects", "--batch-check=%(objecttype)").split()
    assert report["stats"]["counters"]["trees"] == listed.count("tree") == 3


# -- a blob or tree that a ref names directly -------------------------------------


def test_a_blob_a_tag_points_at_is_published_with_the_tag(
    tmp_path: Path, repo: Path, key: str
) -> None:
    commit(repo, {"README": "hi\n"}, "init")
    blob = git(repo, "hash-object", "-w", "--stdin", input=f"K={key}\n".encode()).strip()
    git(repo, "tag", "keyfile", blob)
    loc = only(history(tmp_path, repo), key)
    assert (loc["source"], loc["path"], loc["exposure"]) == ("blob", "<refs/tags/keyfile>", "tag")


def test_a_tree_a_ref_points_at_publishes_its_files_and_names(tmp_path: Path, repo: Path) -> None:
    inside, named = make_key(), make_key()
    commit(repo, {"README": "hi\n"}, "init")
    # A tree no commit has: written from a scratch index.
    scratch = {"GIT_INDEX_FILE": str(tmp_path / "scratch-index")}
    for path, content in (("conf/app.env", f"K={inside}\n"), (f"conf/{named}.txt", "x\n")):
        blob = git(repo, "hash-object", "-w", "--stdin", input=content.encode()).strip()
        _git_env(repo, scratch, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}")
    tree = _git_env(repo, scratch, "write-tree").strip()
    git(repo, "update-ref", "refs/remotes/origin/snapshot", tree)
    git(repo, "tag", "-a", "snap", "-m", "a tree", tree)
    report = history(tmp_path, repo)
    places = {(loc["path"], loc["exposure"]) for loc in locations(report, inside)}
    assert places == {
        ("<refs/remotes/origin/snapshot>:conf/app.env", "pushed"),
        ("<refs/tags/snap>:conf/app.env", "tag"),
    }
    entries = {(loc["source"], loc["path"], loc["exposure"]) for loc in locations(report, named)}
    assert entries == {
        ("tree-entry", shown(f"<refs/remotes/origin/snapshot>:conf/{named}.txt"), "pushed"),
        ("tree-entry", shown(f"<refs/tags/snap>:conf/{named}.txt"), "tag"),
    }


# -- ranges --------------------------------------------------------------------------


def test_a_range_sees_the_names_it_introduced(tmp_path: Path, repo: Path) -> None:
    old_name, new_name, author = make_key(), make_key(), make_key()
    commit(repo, {f"{old_name}.txt": "v1\n"}, "a name from long ago")
    base = commit(repo, {"README": "hi\n"}, "base")
    commit(repo, {f"{old_name}.txt": "v2\n", f"new/{new_name}.cfg": "x\n"}, "feature")
    (repo / "b.txt").write_text("b\n")
    git(repo, "add", "b.txt")
    _git_env(repo, {"GIT_AUTHOR_NAME": f"Dev {author}"}, "commit", "-q", "-m", "by a key")
    report = history(tmp_path, repo, "--range", f"{base}..HEAD")
    assert only(report, new_name)["path"] == shown(f"new/{new_name}.cfg")
    assert only(report, author)["source"] == "identity"
    # The file named with a key was edited in the range, but its name is older.
    assert locations(report, old_name) == []
    assert report["stats"]["counters"]["not_new_in_range"] >= 1


def test_a_file_renamed_to_a_key_in_a_range_is_new(tmp_path: Path, repo: Path, key: str) -> None:
    commit(repo, {"conf/plain.txt": "".join(f"line {i}\n" for i in range(30))}, "start")
    base = head(repo)
    git(repo, "mv", "conf/plain.txt", f"conf/{key}.txt")
    commit(repo, {}, "rename")
    loc = only(history(tmp_path, repo, "--range", f"{base}..HEAD"), key)
    assert (loc["source"], loc["path"]) == ("tree-entry", shown(f"conf/{key}.txt"))


def test_ci_sees_a_new_file_named_with_a_key(
    tmp_path: Path, repo: Path, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = commit(repo, {"README": "hi\n"}, "init")
    commit(repo, {f"{key}.pem": "x\n"}, "add")
    monkeypatch.chdir(repo)
    code, report = run(tmp_path, "ci", "--range", f"{base}..HEAD")
    assert code == ExitCode.FINDINGS
    assert only(report, key)["source"] == "tree-entry"


def test_names_are_no_file_lines_in_sarif_or_annotations(tmp_path: Path, repo: Path) -> None:
    from keysentry.cli import main

    in_name, in_author, in_ref = make_key(), make_key(), make_key()
    commit(repo, {f"{in_name}.txt": "x\n"}, "add")
    _git_env(repo, {"GIT_AUTHOR_NAME": in_author}, "commit", "-q", "--allow-empty", "-m", "e")
    oid = head(repo)
    git(repo, "branch", f"b-{in_ref}")
    sarif_out, github_out = tmp_path / "out.sarif", tmp_path / "out.txt"
    assert main(["history", str(repo), "-q", "--format", "sarif", "-o", str(sarif_out)]) == 1
    assert main(["history", str(repo), "-q", "--format", "github", "-o", str(github_out)]) == 1
    results = json.loads(sarif_out.read_text())["runs"][0]["results"]
    uris = {
        r["properties"]["source"]: r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in results
    }
    assert uris["identity"] == f".git/commit/{oid}"
    assert uris["ref-name"].startswith(".git/refs/heads/b-sk-or-v1-")
    assert uris["tree-entry"].startswith("sk-or-v1-")
    assert not any(k in sarif_out.read_text() for k in (in_name, in_author, in_ref))
    annotations = [line for line in github_out.read_text().splitlines() if "::" in line]
    assert len(annotations) == 3 and not any("file=" in a for a in annotations)


def test_a_name_only_in_a_dangling_commit(tmp_path: Path, repo: Path, key: str) -> None:
    commit(repo, {"README": "hi\n"}, "init")
    dropped = commit(repo, {f"{key}.txt": "x\n"}, "oops")
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    git(repo, "reflog", "expire", "--expire=now", "--all")
    loc = only(history(tmp_path, repo), key)
    assert (loc["source"], loc["path"]) == ("tree-entry", shown(f"{key}.txt"))
    assert loc["commit"]["id"] == dropped and loc["exposure"] == "unreachable"


def test_headers_and_tree_entries_are_cut_where_git_cuts_them() -> None:
    from keysentry.sources.names import headers, tree_entries

    content = (
        b"tree 1\nauthor A <a> 1 +0000\nmergetag object 2\n type commit\n \n note x\n"
        b"x-odd value\n\nmessage\n\nmore\n"
    )
    fields, message = headers(content)
    assert [(f.name, content[f.start : f.end]) for f in fields] == [
        (b"tree", b"tree 1"),
        (b"author", b"author A <a> 1 +0000"),
        (b"mergetag", b"mergetag object 2\n type commit\n \n note x"),
        (b"x-odd", b"x-odd value"),
    ]
    assert content[message:] == b"message\n\nmore\n"
    assert headers(b"tree 1\nauthor A")[1] == len(b"tree 1\nauthor A")  # no message at all
    for size in (20, 32):  # sha1 and sha256
        oid = bytes(range(size))
        tree = b"100644 a b.txt\0" + oid + b"40000 sub dir\0" + oid + b"100644 cut\0" + oid[:5]
        entries = list(tree_entries(tree, size))
        assert [(e.name, tree[e.start : e.end], e.target) for e in entries] == [
            (b"a b.txt", b"a b.txt", oid),
            (b"sub dir", b"sub dir", oid),
        ]

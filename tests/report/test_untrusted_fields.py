"""Every field that comes from a scanned repository can hold a key: none may leak.

A real repository gets a key in each place a repository can put text (a file path, a
commit subject and body, an author name, a branch, a tag, an annotated tag's message,
an archive member's name, a note); ``history``, ``scan`` and ``staged`` then run through
``keysentry.cli.main`` in every format, to stdout and to ``--output``, with the GitHub
step summary on. No 12-character window of any key's body may appear anywhere.
"""

from __future__ import annotations

import dataclasses
import io
import os
import secrets
import subprocess
import tarfile
import unicodedata
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import GIT_ENV, git, make_key
from keysentry.cli import main
from keysentry.models import (
    CommitInfo,
    Finding,
    Issue,
    KeyDetails,
    Location,
    ScanResult,
    ScanStats,
    Validation,
)
from keysentry.report.plan import FORMATS
from keysentry.untrusted import escape, for_display, unescape_bytes

WINDOW = 12


def windows(key: str) -> set[str]:
    body = key.rpartition("-")[2]
    return {body[i : i + WINDOW] for i in range(len(body) - WINDOW + 1)}


def leaks(text: str, keys: dict[str, str]) -> list[str]:
    """The places whose key shows through ``text`` (any 12-digit window of its body)."""
    return [place for place, key in keys.items() if any(w in text for w in windows(key))]


def _zip(members: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return buf.getvalue()


def _tar(members: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def keyed_repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A repository with a key in every field git or an archive lets a user write."""
    places = (
        "path", "subject", "body", "author", "branch", "tag", "tag-message", "zip-member",
        "tar-member", "note", "content",
    )  # fmt: skip
    keys = {place: make_key() for place in places}
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    content = keys["content"]
    (repo / f"{keys['path']}.env").write_text(f"TOKEN={content}\n")
    (repo / "bundle.zip").write_bytes(_zip({f"{keys['zip-member']}.txt": f"K={content}\n"}))
    (repo / "bundle.tar").write_bytes(_tar({f"{keys['tar-member']}.txt": f"K={content}\n"}))
    git(repo, "add", "-A")
    env = {**os.environ, **GIT_ENV, "GIT_AUTHOR_NAME": f"dev {keys['author']}"}
    subprocess.run(
        ["git", "commit", "-q", "-m", f"add {keys['subject']}", "-m", f"body {keys['body']}"],
        cwd=repo,
        env=env,
        check=True,
        timeout=300,
    )
    git(repo, "branch", keys["branch"])
    git(repo, "tag", keys["tag"])
    git(repo, "tag", "-a", "v1", "-m", f"release {keys['tag-message']}")
    git(repo, "notes", "add", "-m", f"deployed with {keys['note']}", "HEAD")
    return repo, keys


def _run(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    fmt: str,
) -> tuple[int, str]:
    """Everything keysentry wrote: stdout, stderr, the --output file, the step summary."""
    summary = tmp_path / f"summary-{fmt}.md"
    summary.write_text("")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    out = tmp_path / f"report-{fmt}"
    codes = []
    texts = []
    for extra in ([], ["--output", str(out)]):
        codes.append(main([*args, "--format", fmt, "-v", *extra]))
        captured = capsys.readouterr()
        texts += [captured.out, captured.err]
    texts += [out.read_text(), summary.read_text()]
    assert codes[0] == codes[1]
    return codes[0], "\n".join(texts)


@pytest.mark.parametrize("fmt", FORMATS)
def test_history_leaks_no_field(
    keyed_repo: tuple[Path, dict[str, str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
) -> None:
    repo, keys = keyed_repo
    code, text = _run(tmp_path, capsys, monkeypatch, ["history", str(repo)], fmt)
    assert code == 1, text
    assert leaks(text, keys) == []
    assert "internal error" not in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_scan_leaks_no_field(
    keyed_repo: tuple[Path, dict[str, str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
) -> None:
    repo, keys = keyed_repo
    code, text = _run(tmp_path, capsys, monkeypatch, ["scan", str(repo)], fmt)
    assert code == 1, text
    assert leaks(text, keys) == []
    # The report still says where: the redacted path of the file and of each member.
    path_key = keys["path"]
    assert f"{path_key[:12]}...{path_key[-3:]}.env" in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_staged_leaks_no_field(
    keyed_repo: tuple[Path, dict[str, str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
) -> None:
    repo, keys = keyed_repo
    extra = make_key()
    keys["staged-path"] = extra
    (repo / f"{extra}.txt").write_text(f"K={keys['content']}\n")
    git(repo, "add", "-A")
    monkeypatch.chdir(repo)
    code, text = _run(tmp_path, capsys, monkeypatch, ["staged"], fmt)
    assert code == 1, text
    assert leaks(text, keys) == []


def test_show_secrets_still_shows_the_fields(
    keyed_repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """The redaction is the default, not a loss: --show-secrets shows what is there."""
    repo, keys = keyed_repo
    out = tmp_path / "report.json"
    code = main(["history", str(repo), "--format", "json", "-o", str(out), "-q", "--show-secrets"])
    assert code == 1
    text = out.read_text()
    assert keys["subject"] in text and keys["author"] in text and keys["path"] in text


def test_baseline_file_does_not_hold_a_path_key(
    keyed_repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    repo, keys = keyed_repo
    baseline = tmp_path / "baseline.json"
    code = main(["baseline", "create", str(repo), "--baseline", str(baseline), "-q"])
    assert code == 0
    assert leaks(baseline.read_text(), keys) == []


def _strings(value: object, path: str = "result") -> list[tuple[str, str]]:
    """Every string in a result, with where it sits (dataclass fields found generically)."""
    if isinstance(value, str):
        return [(path, value)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [
            s
            for f in dataclasses.fields(value)
            for s in _strings(getattr(value, f.name), f"{path}.{f.name}")
        ]
    if isinstance(value, (tuple, list)):
        return [s for i, v in enumerate(value) for s in _strings(v, f"{path}[{i}]")]
    if isinstance(value, Mapping):
        return [s for k, v in value.items() for s in _strings(v, f"{path}[{k!r}]")]
    return []


def _every_field_holds(text: str) -> ScanResult:
    """A result with ``text`` in every string field the models have."""
    key = make_key()
    details = KeyDetails(label=text, expires_at=text)
    validation = Validation("live", reason=text, details=details, checked_at=text)
    commit = CommitInfo(text, text, text, text)
    loc = Location(
        text, 1, 1, members=(text, text), decoders=(text,), source=text, blob=text,
        commit=commit, snippet=text,
    )  # fmt: skip
    finding = Finding(
        "rule", "high", text, text, (loc,), secret=key, description=text, validation=validation
    )
    stats = ScanStats({"files": 1}, (Issue(text, text, text),), 0.1, (text,))
    return ScanResult(text, (text,), (finding,), stats, extra={"x": [text, {"y": text}]})


def test_for_display_reaches_every_string_field() -> None:
    """No field list to keep up to date: the walk finds each string by itself, so a field
    added to a model later is redacted and escaped too."""
    key = make_key()
    raw = _every_field_holds(f"dev {key}\x1b[2J\n")
    shown_result = for_display(raw)
    before = _strings(raw)
    after = _strings(shown_result)
    assert [w for w, _ in before] == [w for w, _ in after] and len(after) > 25
    for (where, was), (_, text) in zip(before, after, strict=True):
        if where.endswith(".secret"):
            continue  # kept for --show-secrets; reporters show it only then
        assert not leaks(text, {"key": key}), where
        assert "\x1b" not in text and "\n" not in text, where
        if "\x1b" in was:
            assert "\\x1b[2J\\n" in text, where
    assert for_display(shown_result) == shown_result  # a fixed point: applying it twice is safe


def test_for_display_redacts_a_custom_rule_secret_wherever_it_appears() -> None:
    secret = "tok_" + secrets.token_hex(10)
    raw = _every_field_holds(f"a {secret} b")
    raw = dataclasses.replace(
        raw, findings=(dataclasses.replace(raw.findings[0], secret=secret, redacted="tok..."),)
    )
    shown_strings = _strings(for_display(raw))
    assert all(
        secret not in text for where, text in shown_strings if where != "result.findings[0].secret"
    )


@given(st.binary(max_size=40).filter(lambda b: b"\\" not in b and b"\0" not in b))
def test_escaped_names_round_trip_to_their_bytes(name: bytes) -> None:
    text = escape(os.fsdecode(name))
    assert not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text)
    assert escape(text) == text
    assert unescape_bytes(text) == name

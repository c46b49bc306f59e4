"""The commit hook's screen (keysentry.detect.screen): the scanner's prefilter before the scanner.

The screen may only ever make the hook faster: on every input it either answers exactly
what the pipeline answers, or hands the job to the pipeline. These tests run the hook
and the full CLI on the same real repositories and compare what they print; they check
that the screen searches for the scanner's own needles; and they check what a screened
hook run imports, in an interpreter started without ``site`` so that nothing an
installation preloads can hide a module the hook pulled in.
"""

from __future__ import annotations

import base64
import bz2
import gzip
import io
import lzma
import os
import re
import resource
import shutil
import subprocess
import sys
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import conftest
import keysentry
from conftest import git
from keysentry.decoders.registry import TEXT_DECODERS, text_decoders
from keysentry.detect import screen
from keysentry.detect.rules import load_rules
from keysentry.detect.scanner import Scanner
from keysentry.detect.screen_needles import DECODER_TRIGGERS, NEEDLES
from keysentry.models import redact

SRC = str(Path(keysentry.__file__).resolve().parents[1])
TOOLS = conftest.ROOT / "tools"

# What a screened run must not load: the pipeline and what it is built on.
NOT_SCREENED = (
    "dataclasses",
    "inspect",
    "typing",
    "pathlib",
    "tomllib",
    "json",
    "hashlib",
    "datetime",
    "shutil",
    "tempfile",
    "click",
    "hyperscan",
    "keysentry.pipeline",
    "keysentry.models",
    "keysentry.detect.scanner",
    "keysentry.detect.engine",
    "keysentry.detect.rules",
    "keysentry.config",
    "keysentry.git.run",
    "keysentry.decoders.registry",
    "keysentry.cli",
    "keysentry.report",
    "keysentry.sources",
)


def hook(
    cwd: Path, *args: str, env: dict[str, str] | None = None, bare: bool = False
) -> tuple[int, str, str, set[str]]:
    """Run keysentry-hook; ``bare``: in an interpreter without ``site``, only keysentry's
    source on the path, so that nothing an installation preloads (an editable install's
    finder loads pathlib and typing) hides a module the hook pulled in. A bare run can
    only take the screen's path: the pipeline needs the installed package's rule files.
    (exit code, stdout, stderr without import lines, modules imported)."""
    if bare:
        code = (
            f"import sys; sys.path.insert(0, {SRC!r}); from keysentry.hook import main; "
            f"raise SystemExit(main({list(args)!r}))"
        )
        command = [sys.executable, "-I", "-S", "-X", "importtime", "-c", code]
    else:
        command = [sys.executable, "-I", "-X", "importtime", "-m", "keysentry.hook", *args]
    proc = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, env=env, check=False, timeout=300
    )
    modules, other = set(), []
    for line in proc.stderr.splitlines():
        if line.startswith("import time:"):
            modules.add(line.rsplit("|", 1)[1].strip())
        else:
            other.append(line)
    return proc.returncode, proc.stdout, "\n".join(other), modules


def cli(cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "keysentry", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    return proc.returncode, proc.stdout, proc.stderr


def same(text: str) -> str:
    return re.sub(r" in \d+\.\d\ds$", " in T", text.strip(), flags=re.M)


def loaded(modules: set[str], banned: tuple[str, ...] = NOT_SCREENED) -> list[str]:
    return sorted(m for m in modules if any(m == b or m.startswith(b + ".") for b in banned))


def screened(modules: set[str]) -> bool:
    """The screen answered: the pipeline was never imported."""
    return "keysentry.detect.screen" in modules and "keysentry.pipeline" not in modules


@pytest.fixture
def committed(repo: Path) -> Path:
    (repo / "README.md").write_text("# project\n")
    (repo / "old.txt").write_text("to be deleted\n")
    git(repo, "add", "README.md", "old.txt")
    git(repo, "commit", "-q", "-m", "initial")
    return repo


def stage(repo: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    git(repo, "add", "--", *files)


def test_the_needle_table_is_the_scanners() -> None:
    """A rule or decoder changed without rerunning tools/gen_screen_needles.py."""
    assert Scanner(load_rules()).engine.search.needles == NEEDLES
    imported = text_decoders()
    assert [d.name for d in imported] == [d.name for d in TEXT_DECODERS]
    assert {d.name: d.triggers for d in imported} == DECODER_TRIGGERS
    assert {d.name: d.triggers for d in TEXT_DECODERS} == DECODER_TRIGGERS
    proc = subprocess.run(
        [sys.executable, str(TOOLS / "gen_screen_needles.py"), "--check"], check=False, timeout=300
    )
    assert proc.returncode == 0


def _deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-15)
    return packer.compress(data) + packer.flush()


SAMPLES = [
    b"",
    b"print('hello')\n" * 50,
    b"no key here, sk-or- is not a needle on its own\n",
    b"%PDF-1.7\n",
    b"#" * 900 + b"\n%PDF-1.7\n",
    gzip.compress(b"plain"),
    b"x" * 300 + b"PK\x05\x06" + b"\0" * 18,
    b"\xfd7zXZ\x00rest",
    b"BZh91AY&SYrest",
    zlib.compress(b"plain text, compressed " * 4),
    _deflate(b"plain text, compressed " * 4),
    b"{\\rtf1\\ansi plain}",
    b"From: a@example.test\nTo: b@example.test\nSubject: s\n\nbody\n",
    b"From a@x Mon Jan  1 00:00:00 2024\nFrom: a@x\nDate: d\n\nbody\n",
    b"Subject: s\nDate: d\n\nnot a mail: no field only mail has\n",
]


@pytest.mark.parametrize(
    "data",
    SAMPLES + [b"a " + n + b" b" for n in NEEDLES],
    ids=[f"sample{i}" for i in range(len(SAMPLES))] + [f"needle{i}" for i in range(len(NEEDLES))],
)
def test_holds_nothing_is_the_scanners_own_test(data: bytes) -> None:
    scanner = Scanner(load_rules())
    assert screen.holds_nothing(data) == scanner._holds_nothing(data)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from([*NEEDLES, b"abc", b"\n", b"sk-", b"or-v", b"PK", b"%PDF"])),
    st.binary(max_size=64),
)
def test_holds_nothing_agrees_on_any_mix(parts: list[bytes], noise: bytes) -> None:
    data = noise + b" ".join(parts)
    assert screen.holds_nothing(data) == Scanner(load_rules())._holds_nothing(data)


CLEAN_CHANGES: dict[str, dict[str, bytes]] = {
    "edit and add": {"README.md": b"# project\n\nmore\n", "src/app.py": b"print(1)\n" * 30},
    "one blob at two paths": {"a.txt": b"same\n", "b/a.txt": b"same\n"},
    "empty file": {"empty": b""},
    "odd name": {"caf\u00e9 \u202e.txt": b"text\n"},
    "binary": {"blob.bin": bytes(range(256)) * 4},
    "a first line like a mail header": {"notes.txt": b"Note: no mail\nplain text\n"},
    "nothing staged": {},
}


@pytest.mark.parametrize("change", CLEAN_CHANGES, ids=list(CLEAN_CHANGES))
def test_a_clean_staged_change_is_answered_by_the_screen_as_the_pipeline_would(
    committed: Path, change: str
) -> None:
    stage(committed, CLEAN_CHANGES[change])
    git(committed, "rm", "-q", "old.txt")
    code, out, err, modules = hook(committed, "--staged", bare=True)
    full = cli(committed, "staged")
    assert screened(modules), err
    assert (code, out, same(err)) == (full[0], full[1], same(full[2]))
    assert code == 0 and "0 finding(s)" in err
    assert loaded(modules) == []
    # -q: nothing at all
    assert hook(committed, "--staged", "-q", bare=True)[:3] == (0, "", "")


def test_named_files_are_answered_by_the_screen_as_the_pipeline_would(committed: Path) -> None:
    stage(committed, CLEAN_CHANGES["edit and add"])
    code, out, err, modules = hook(committed, "README.md", "src/app.py", bare=True)
    full = cli(committed, "scan", "README.md", "src/app.py")
    assert screened(modules), err
    assert (code, out, same(err)) == (full[0], full[1], same(full[2]))
    assert "scanned 2 input(s)" in err
    assert loaded(modules) == []


def _zip(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(name, data)
    return buf.getvalue()


def _pipeline_cases(key: str) -> dict[str, tuple[dict[str, bytes], int]]:
    """Staged changes the screen must hand to the pipeline, with the exit code expected."""
    encoded = base64.b64encode(f"token={key}".encode())
    pad = "x" * 40 + " "
    words = subprocess.run(
        ["od", "-t", "x2"],
        input=f"x {key}\n".encode(),
        capture_output=True,
        check=True,
        timeout=300,
    ).stdout
    helm = base64.b64encode(gzip.compress(f'{{"key": "{key}"}}'.encode()))
    qp = "".join(f"={b:02X}" if i % 5 == 0 else chr(b) for i, b in enumerate(key.encode()))
    mail = (
        "From: a@example.test\nTo: b@example.test\nMIME-Version: 1.0\n"
        f"Content-Transfer-Encoding: quoted-printable\n\nkey {qp}\n"
    ).encode()
    runs = "".join(f"<w:r><w:t>{key[i : i + 9]}</w:t></w:r>" for i in range(0, len(key), 9))
    document = (
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body><w:p>{runs}</w:p></w:body></w:document>"
    ).encode()
    from pdfbuild import build, text_content

    pdf = build([text_content([f"K={key}"], kerned=True)])
    return {
        "a key": ({"app.env": f"OPENROUTER_API_KEY={key}\n".encode()}, 1),
        "a base64-encoded key": ({"b64.txt": encoded + b"\n"}, 1),
        "a split literal": ({"x.py": f'k = "{key[:12]}" + "{key[12:]}"\n'.encode()}, 1),
        "a key in a zip": ({"bundle.zip": _zip("inner/.env", key.encode())}, 1),
        "a clean gzip": ({"data.gz": gzip.compress(b"nothing to see\n")}, 0),
        "a needle, no key": ({"notes.txt": b"keys look like sk-or-v1-...\n"}, 0),
        # Each new form: the screen learns its trigger (a needle or a content kind).
        "a zero-width space": ({"chat.txt": f"{key[:20]}\u200b{key[20:]}\n".encode()}, 1),
        "a wrapped key": ({"paste.txt": f"{pad}{key[:30]}\n{key[30:]}\n".encode()}, 1),
        "a split after s": ({"x.js": f'k = "s" + "{key[1:]}";\n'.encode()}, 1),
        "UTF-32": ({"u.txt": f"K={key}\n".encode("utf-32-le")}, 1),
        "a word dump": ({"d.txt": words}, 1),
        "0X bytes": ({"k.c": ", ".join(f"0X{b:02X}" for b in key.encode()).encode()}, 1),
        "a Helm release": ({"r.yaml": b"release: " + base64.b64encode(helm) + b"\n"}, 1),
        "a zlib file": ({"c.cache": zlib.compress(key.encode())}, 1),
        "a raw deflate file": ({"c.bin": _deflate(f"K={key}\n".encode())}, 1),
        "a mail": ({"m.eml": mail}, 1),
        "an RTF document": (
            {"n.rtf": b"{\\rtf1 " + key[:9].encode() + b"{\\b " + key[9:].encode() + b"}}"},
            1,
        ),
        "a Word document": ({"n.docx": _zip("word/document.xml", document)}, 1),
        "a late PDF header": ({"p.pdf": b"#" * 900 + b"\n" + pdf}, 1),
        "a clean mail": ({"c.eml": b"From: a@x\nTo: b@x\n\nhello\n"}, 0),
        "a large file": ({"big.txt": b"plain text line\n" * (screen.LIMIT // 16 + 1)}, 0),
        "a configuration file": ({".keysentry.toml": b'exclude = ["*.txt"]\n', "a.txt": b"x"}, 0),
        "pyproject with keysentry": (
            {"pyproject.toml": b'[tool.keysentry]\nexclude = ["*.md"]\n', "n.md": b"x"},
            0,
        ),
    }


@pytest.mark.parametrize(
    "case", list(_pipeline_cases("sk-or-v1-" + "0" * 64)), ids=list(_pipeline_cases("x"))
)
def test_anything_the_screen_cannot_rule_out_goes_to_the_pipeline(
    committed: Path, key: str, case: str
) -> None:
    files, expected = _pipeline_cases(key)[case]
    stage(committed, files)
    code, out, err, modules = hook(committed, "--staged")
    full = cli(committed, "staged")
    assert not screened(modules) and "keysentry.pipeline" in modules
    assert (code, out, same(err)) == (full[0], full[1], same(full[2]))
    assert code == expected, err
    assert key not in out + err
    # the named-files form (the pre-commit framework's) too
    names = sorted(files)
    code, out, err, modules = hook(committed, *names)
    full = cli(committed, "scan", *names)
    assert not screened(modules)
    assert (code, out, same(err)) == (full[0], full[1], same(full[2]))
    assert code == expected


def _tar(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _streamed_zip(name: str, data: bytes) -> bytes:
    """A zip's local header and compressed member without its central directory or end
    record (a download cut short): no needle, only its first bytes say what it is."""
    whole = io.BytesIO()
    with zipfile.ZipFile(whole, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, data)
    return whole.getvalue()[: whole.getvalue().index(b"PK\x01\x02")]


def _quoted_printable(key: str) -> str:
    return "".join(f"={b:02X}" for b in key.encode())


# Every kind of input keysentry.decoders.magic.is_container recognises, each holding a key
# that only unpacking or decoding reveals: its bytes hold none of the screen's needles, so
# the container check alone sends it to the pipeline. Dropping a kind from is_container
# makes the hook call the file clean.
CONTAINERS: dict[str, tuple[str, Callable[[bytes, str], bytes]]] = {
    "zip": ("k.zip", lambda text, key: _streamed_zip("a.env", text)),
    "zip, spanned": ("s.zip", lambda text, key: b"PK\x07\x08" + _streamed_zip("a.env", text)),
    "gzip": ("k.gz", lambda text, key: gzip.compress(text)),
    "bzip2": ("k.bz2", lambda text, key: bz2.compress(text)),
    "xz": ("k.xz", lambda text, key: lzma.compress(b"# settings\n" * 40 + text)),
    "tar": ("k.tar", lambda text, key: _tar("a.env.gz", gzip.compress(text))),
    "zlib": ("k.cache", lambda text, key: zlib.compress(text)),
    "deflate": ("k.bin", lambda text, key: _deflate(text)),
    "rtf": ("k.rtf", lambda text, key: b"{\\rtf1\\ansi key \\'73" + key[1:].encode() + b"}"),
    "mail": (
        "k.eml",
        lambda text, key: (
            "From: a@example.test\nTo: b@example.test\nMIME-Version: 1.0\n"
            "Content-Transfer-Encoding: quoted-printable\n\n"
            f"key {_quoted_printable(key)}\n"
        ).encode(),
    ),
    "mbox": (
        "k.mbox",
        lambda text, key: (
            "From a@example.test Mon Jan  1 00:00:00 2024\nFrom: a@example.test\n"
            "Date: Mon, 1 Jan 2024 00:00:00 +0000\nContent-Transfer-Encoding: quoted-printable"
            f"\n\nkey {_quoted_printable(key)}\n"
        ).encode(),
    ),
}


def _hidden(make: Callable[[str], bytes]) -> tuple[str, bytes]:
    """A key and ``make(key)`` whose bytes hold no needle (compressed bytes are random
    enough to hold a short needle now and then: another key then)."""
    for _ in range(20):
        key = conftest.make_key()
        data = make(key)
        if not any(needle in data for needle in NEEDLES):
            return key, data
    raise AssertionError("every attempt left a needle in the bytes")


def assert_the_hook_fails(repo: Path, name: str, key: str) -> None:
    """Staged and named, the file fails the hook (exit 1), the key redacted."""
    for args in (("--staged",), ("--", name)):
        code, out, err, modules = hook(repo, *args)
        assert not screened(modules), (args, err)
        assert code == 1, (args, out, err)
        assert redact(key) in out and key not in out + err


@pytest.mark.parametrize("kind", list(CONTAINERS))
def test_a_key_in_each_container_kind_fails_the_hook(committed: Path, kind: str) -> None:
    name, build = CONTAINERS[kind]
    key, data = _hidden(lambda key: build(f"OPENROUTER_API_KEY={key}\n".encode(), key))
    stage(committed, {name: data})
    assert_the_hook_fails(committed, name, key)


def _printed_pdf(html: str) -> bytes:
    """The page as headless Chromium prints it: compressed streams, a subset font."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=conftest.tool("chromium"),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            timeout=120_000,
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(120_000)
            page.set_content(html)
            pdf: Any = page.pdf()
        finally:
            browser.close()
    return bytes(pdf)


@pytest.mark.needs("chromium")
def test_a_key_in_a_pdf_a_browser_printed_fails_the_hook(committed: Path) -> None:
    key, pdf = _hidden(
        lambda key: _printed_pdf(f"<html><body><p>OPENROUTER_API_KEY={key}</p></body></html>")
    )
    assert pdf.startswith(b"%PDF-")
    stage(committed, {"printed.pdf": pdf})
    assert_the_hook_fails(committed, "printed.pdf", key)


def test_a_symlink_a_submodule_and_a_first_commit_go_to_the_pipeline(
    committed: Path, tmp_path: Path
) -> None:
    os.symlink("README.md", committed / "link")
    git(committed, "add", "link")
    code, _out, err, modules = hook(committed, "--staged")
    assert not screened(modules) and code == cli(committed, "staged")[0], err
    git(committed, "reset", "-q")
    sub = tmp_path / "sub"
    sub.mkdir()
    git(sub, "init", "-q", "-b", "main")
    (sub / "f").write_text("x\n")
    git(sub, "add", "f")
    git(sub, "commit", "-q", "-m", "s")
    head = git(sub, "rev-parse", "HEAD").strip()
    git(committed, "update-index", "--add", "--cacheinfo", f"160000,{head},vendored")
    code, _out, err, modules = hook(committed, "--staged")
    assert not screened(modules) and "submodule vendored" in err
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    git(fresh, "init", "-q", "-b", "main")
    stage(fresh, {"a.txt": b"first\n"})
    code, out, err, modules = hook(fresh, "--staged")
    full = cli(fresh, "staged")
    assert not screened(modules) and "an empty tree (no commit yet)" in err
    assert (code, out, same(err)) == (full[0], full[1], same(full[2]))


def test_other_formats_repeated_files_and_stdin_go_to_the_pipeline(committed: Path) -> None:
    stage(committed, {"a.txt": b"plain\n"})
    assert not screened(hook(committed, "--staged", "--format", "json")[3])
    assert not screened(hook(committed, "a.txt", "./a.txt")[3])
    assert not screened(hook(committed, "--config", "/nonexistent.toml", "a.txt")[3])
    code, _out, err, modules = hook(committed, "a.txt", "missing.txt")
    assert not screened(modules) and code == 2 and "missing.txt" in err


def test_outside_a_repository_the_pipeline_says_why(tmp_path: Path) -> None:
    code, _out, err, modules = hook(tmp_path, "--staged")
    assert not screened(modules) and code == 2 and "not a git repository" in err


def test_a_git_in_the_repository_is_never_run_through_a_relative_path_entry(
    committed: Path, key: str
) -> None:
    """A relative PATH entry must not resolve to a program inside the scanned repository,
    in the screen and in the pipeline alike."""
    marker = committed.parent / "ran"
    fake = committed / "git"
    fake.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": "." + os.pathsep + os.environ["PATH"]}
    stage(committed, {"a.txt": b"plain\n"})
    code, _out, err, modules = hook(committed, "--staged", env=env)
    assert screened(modules) and code == 0, err
    stage(committed, {"b.env": key.encode()})
    code, _out, err, modules = hook(committed, "--staged", env=env)
    assert not screened(modules) and code == 1, err
    assert cli(committed, "staged", env=env)[0] == 1
    assert not marker.exists()


PYPROJECTS = {
    "a dependency only": (b'[project]\nname = "app"\ndependencies = ["keysentry"]\n', True),
    "no mention": (b'[project]\nname = "app"\n', True),
    "a tool table": (b'[tool.keysentry]\nexclude = ["*.md"]\n', False),
    "a dotted key": (b'tool.keysentry.exclude = ["*.md"]\n', False),
    "an inline table": (b'[tool]\nkeysentry = { exclude = ["*.md"] }\n', False),
    "invalid TOML": (b"[tool.keysentry\n", False),
    # a quoted key can spell the name with escapes: the screen must not answer "defaults"
    "an escaped table name": (b'[tool."k\\u0065ysentry"]\nexclude = ["*.md"]\n', False),
    "an escaped dotted key": (b'tool."\\u006beysentry".exclude = ["*.md"]\n', False),
    "an escaped name, long form": (b'[tool."\\U0000006beysentry"]\nexclude = ["*.md"]\n', False),
    "another tool's escapes": (b'[tool.ruff]\nexclude = ["a\\u0062c"]\n', True),
    # a broken file that cannot hold keysentry's table is not keysentry's to refuse: the
    # screen and the pipeline both leave it alone
    "invalid TOML, another tool's": (b"[tool.ruff\nline-length = 100\n", True),
    "not UTF-8": (b"[tool.ruff]\nname = '\xff'\n", True),
}


@pytest.mark.parametrize("name", PYPROJECTS, ids=list(PYPROJECTS))
def test_pyproject_decides_by_its_tool_keysentry_table(committed: Path, name: str) -> None:
    text, screenable = PYPROJECTS[name]
    stage(committed, {"pyproject.toml": text, "n.md": b"notes\n"})
    code, out, err, modules = hook(committed, "--staged")
    full = cli(committed, "staged")
    assert screened(modules) == screenable, err
    assert (code, out, same(err)) == (full[0], full[1], same(full[2]))


DECODER_MODULES = tuple(
    f"keysentry.decoders.{m}"
    for m in (
        "encoded", "text", "concat", "entities", "hexdump", "wrapped", "joins", "blobs",
        "office", "mail", "rtf", "pdf", "streams",
    )
)  # fmt: skip


def test_the_pipeline_imports_a_decoder_only_when_its_trigger_is_found(
    tmp_path: Path, key: str
) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("nothing here\n")
    proc = subprocess.run(
        [sys.executable, "-I", "-X", "importtime", "-m", "keysentry", "scan", str(plain), "-q"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    modules = {ln.rsplit("|", 1)[1].strip() for ln in proc.stderr.splitlines() if "|" in ln}
    assert proc.returncode == 0 and "keysentry.detect.scanner" in modules
    assert loaded(modules, DECODER_MODULES) == []
    encoded = tmp_path / "encoded.txt"
    encoded.write_bytes(base64.b64encode(key.encode()) + b"\n")
    proc = subprocess.run(
        [sys.executable, "-I", "-X", "importtime", "-m", "keysentry", "scan", str(encoded), "-q"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    modules = {ln.rsplit("|", 1)[1].strip() for ln in proc.stderr.splitlines() if "|" in ln}
    assert proc.returncode == 1
    assert "keysentry.decoders.encoded" in modules
    assert "keysentry.decoders.hexdump" not in modules


# -- the screen's edges: what it answers itself, and what it must hand over --------------------


def test_a_key_in_a_path_goes_to_the_pipeline(committed: Path, key: str) -> None:
    """The pipeline reads names as content: a clean file whose name holds a key fails the
    hook, staged and named alike."""
    name = f"{key}.txt"
    stage(committed, {name: b"clean\n"})
    for args in (("--staged",), ("--", name)):
        code, out, err, modules = hook(committed, *args)
        assert not screened(modules) and code == 1, (args, err)
        assert redact(key) in out and key not in out + err


def test_a_git_file_named_goes_to_the_pipeline(committed: Path, tmp_path: Path) -> None:
    """A linked worktree's .git is a plain file, which the pipeline never scans (history is
    `keysentry history`'s job): it says 0 inputs, and the screen must not say 1."""
    linked = tmp_path / "linked"
    git(committed, "worktree", "add", "-q", "-b", "topic", str(linked))
    assert (linked / ".git").is_file()
    code, out, err, modules = hook(linked, ".git")
    full = cli(linked, "scan", ".git")
    assert not screened(modules)
    assert (code, out, same(err)) == (full[0], full[1], same(full[2]))
    assert "scanned 0 input(s)" in err


def test_the_read_budget_is_limit_bytes_exactly(committed: Path) -> None:
    """LIMIT bytes in all are screened, one byte more goes to the pipeline: in one blob or
    file, or spread over two."""
    line = b"plain text line\n"
    exact = line * (screen.LIMIT // len(line))
    half = exact[: screen.LIMIT // 2]
    cases = {
        "one input of LIMIT bytes": ({"exact.txt": exact}, True),
        "two inputs of LIMIT bytes": ({"h1.txt": half, "h2.txt": half}, True),
        "two inputs of LIMIT + 1 bytes": ({"h1.txt": half, "h2.txt": half + b"\n"}, False),
    }
    assert len(exact) == screen.LIMIT
    for case, (files, screenable) in cases.items():
        stage(committed, files)
        for args in (("--staged",), ("--", *sorted(files))):
            code, out, err, modules = hook(committed, *args)
            assert screened(modules) == screenable, (case, args, err)
            assert (code, out) == (0, ""), (case, args, err)
        git(committed, "reset", "-q", "--hard")


def test_the_blob_count_limit_is_max_blobs_exactly(committed: Path) -> None:
    blobs = {f"f/{i:04}.txt": f"{i}\n".encode() for i in range(screen._MAX_BLOBS)}
    stage(committed, blobs)
    code, _out, err, modules = hook(committed, "--staged", bare=True)
    assert screened(modules) and code == 0, err
    assert f"scanned {screen._MAX_BLOBS} input(s)" in err
    stage(committed, {"one-more.txt": b"more\n"})
    code, _out, err, modules = hook(committed, "--staged")
    assert not screened(modules) and code == 0, err


def test_a_symlink_turned_into_a_file_is_screened(committed: Path) -> None:
    """A type change (T) to a plain file is a plain file's blob like any other."""
    os.symlink("README.md", committed / "link")
    git(committed, "add", "link")
    git(committed, "commit", "-q", "-m", "link")
    (committed / "link").unlink()
    stage(committed, {"link": b"now a file\n"})
    assert git(committed, "diff-index", "--cached", "HEAD").split()[4] == "T"
    code, out, err, modules = hook(committed, "--staged", bare=True)
    full = cli(committed, "staged")
    assert screened(modules), err
    assert (code, out, same(err)) == (full[0], full[1], same(full[2]))


def test_a_file_larger_than_memory_is_never_read_whole(committed: Path) -> None:
    """The screen reads at most LIMIT + 1 bytes of a named file: a sparse file of 512 MiB,
    in a hook allowed 256 MiB of address space, goes to the pipeline, which streams it."""
    big = committed / "big.bin"
    with open(big, "wb") as fh:
        fh.truncate(512 * 2**20)
    limit = 256 * 2**20

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    proc = subprocess.run(
        [sys.executable, "-I", "-X", "importtime", "-m", "keysentry.hook", "--", "big.bin"],
        cwd=committed, capture_output=True, text=True, preexec_fn=cap, check=False, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    modules = {ln.rsplit("|", 1)[1].strip() for ln in proc.stderr.splitlines() if "|" in ln}
    assert "keysentry.pipeline" in modules and "scanned 1 input(s), 512.0 MiB" in proc.stderr


def test_replace_refs_do_not_hide_a_staged_key(committed: Path, key: str) -> None:
    """git's replace refs would show another object for a staged blob, or another commit for
    HEAD (and so another diff): the screen reads what is committed, as the pipeline does."""
    stage(committed, {"app.env": f"KEY={key}\n".encode()})
    staged = git(committed, "rev-parse", ":app.env").strip()
    clean = git(committed, "hash-object", "-w", "--stdin", input=b"KEY=\n").strip()
    git(committed, "replace", staged, clean)
    assert_the_hook_fails(committed, "app.env", key)
    git(committed, "replace", "-d", staged)
    # HEAD replaced by a commit whose tree already holds the key: nothing would differ
    tree = git(committed, "write-tree").strip()
    fake = git(committed, "commit-tree", tree, "-p", "HEAD", "-m", "fake").strip()
    git(committed, "replace", "HEAD", fake)
    code, out, err, modules = hook(committed, "--staged")
    assert not screened(modules) and code == 1, err
    assert redact(key) in out and key not in out + err


def test_a_commit_all_through_a_temporary_index_is_screened_from_it(
    committed: Path, key: str
) -> None:
    """`git commit -a` hands the hook a temporary index (GIT_INDEX_FILE): the screen must read
    that one, not .git/index, where the change is not staged."""
    assert cli(committed, "install-hook")[0] == 0
    (committed / "README.md").write_text(f"# project\nKEY={key}\n")
    proc = subprocess.run(
        ["git", "commit", "-q", "-a", "-m", "leak"], cwd=committed, capture_output=True,
        text=True, env={**os.environ, **conftest.GIT_ENV}, check=False, timeout=300,
    )  # fmt: skip
    # git shows a hook's output on its stderr
    assert proc.returncode != 0 and "README.md:2:5" in proc.stderr, proc.stdout + proc.stderr
    assert git(committed, "rev-list", "--count", "HEAD").strip() == "1"


def test_a_separate_git_dir_is_screened(tmp_path: Path, key: str) -> None:
    """`git --git-dir=R --work-tree=W commit`, W inside another repository: the hook gets
    GIT_DIR and GIT_WORK_TREE, and both of the screen's git commands must read R (the
    staged blobs are in R's object store only)."""
    enclosing = tmp_path / "enclosing"
    enclosing.mkdir()
    git(enclosing, "init", "-q", "-b", "main")
    work = enclosing / "work"
    work.mkdir()
    git_dir = tmp_path / "dotfiles.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(git_dir))
    git(tmp_path, "--git-dir", str(git_dir), "config", "core.bare", "false")
    where = ("--git-dir", str(git_dir), "--work-tree", str(work))
    (work / "README").write_text("dotfiles\n")
    git(work, *where, "add", "README")
    git(work, *where, "commit", "-q", "-m", "initial")
    (work / "notes.txt").write_text("nothing secret\n")
    git(work, *where, "add", "notes.txt")
    env = {**os.environ, "GIT_DIR": str(git_dir), "GIT_WORK_TREE": str(work)}
    code, _out, err, modules = hook(work, "--staged", env=env)
    assert screened(modules) and code == 0, err
    (work / "app.env").write_text(f"KEY={key}\n")
    git(work, *where, "add", "app.env")
    code, out, err, modules = hook(work, "--staged", env=env)
    assert not screened(modules) and code == 1, err
    assert redact(key) in out


def test_a_corrupt_staged_blob_stops_the_commit_with_the_pipelines_words(
    committed: Path,
) -> None:
    """git's own complaint about a broken object is the screen's to drop: the hook says
    what the pipeline says (exit 3, incomplete), and nothing else."""
    stage(committed, {"b.txt": b"clean content here\n"})
    oid = git(committed, "rev-parse", ":b.txt").strip()
    loose = committed / ".git" / "objects" / oid[:2] / oid[2:]
    loose.chmod(0o644)
    loose.write_bytes(zlib.compress(b"blob 19\0clean")[:-4])  # cut short
    code, out, err, modules = hook(committed, "--staged")
    full = cli(committed, "staged")
    assert not screened(modules) and code == 3, err
    assert (code, out, same(err)) == (full[0], full[1], same(full[2]))
    assert "fatal" not in err


# What a git (a wrapper on PATH) answers to `cat-file --batch`, other than what git itself
# answers. The screen takes git's answer only when it is exactly as expected; anything
# else goes to the pipeline, which says what is wrong.
ODD_CAT_FILE = {
    "fails after answering": '"$REAL" "$@"; exit 1',
    "a size that is no number": 'while read -r oid; do printf "%s blob 1x\\n" "$oid"; done',
    "a fourth header field": 'while read -r oid; do printf "%s blob 1 x\\na\\n" "$oid"; done',
    "two spaces apart": 'while read -r oid; do printf "%s  blob  1\\na\\n" "$oid"; done',
}


@pytest.mark.parametrize("odd", ODD_CAT_FILE, ids=list(ODD_CAT_FILE))
def test_an_unexpected_cat_file_answer_goes_to_the_pipeline(
    committed: Path, tmp_path: Path, odd: str
) -> None:
    real = shutil.which("git")
    assert real is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "git"
    wrapper.write_text(
        f'#!/bin/sh\nREAL="{real}"\n'
        f'case " $* " in *" cat-file --batch "*) {ODD_CAT_FILE[odd]}; exit 0 ;; esac\n'
        'exec "$REAL" "$@"\n'
    )
    wrapper.chmod(0o755)
    stage(committed, {"a.txt": b"a\n"})
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    code, _out, err, modules = hook(committed, "--staged", env=env)
    assert "keysentry.detect.screen" in modules and not screened(modules), err
    assert code == 3 and "git cat-file" in err, err


def test_an_index_entry_naming_a_tree_goes_to_the_pipeline(committed: Path) -> None:
    """A plain file's mode on an object that is not a blob (update-index takes any object):
    the screen reads blobs only, and leaves what else it is to the pipeline."""
    tree = git(committed, "rev-parse", "HEAD^{tree}").strip()
    git(committed, "update-index", "--add", "--cacheinfo", f"100644,{tree},odd.txt")
    code, out, err, modules = hook(committed, "--staged")
    full = cli(committed, "staged")
    assert not screened(modules), err
    assert (code, out, same(err)) == (full[0], full[1], same(full[2]))

"""Directory scans end to end through main([...]): every storage form the issue lists."""

from __future__ import annotations

import base64
import bz2
import gzip
import hashlib
import io
import json
import lzma
import marshal
import os
import sqlite3
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import make_key
from scanhelpers import locations, run_json


def fp(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def scan_one(tmp_path: Path, name: str, content: bytes) -> tuple[int, dict]:
    root = tmp_path / "tree"
    root.mkdir(exist_ok=True)
    target = root / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    return run_json(tmp_path, "scan", str(root))


TEXT_CASES: dict[str, Callable[[str], tuple[str, bytes, int, int]]] = {
    # name -> builder(key) -> (file name, bytes, line, column)
    "dotenv": lambda k: (".env", f"A=1\nOPENROUTER_API_KEY={k}\n".encode(), 2, 20),
    "python": lambda k: ("app.py", f'import os\nclient = Client(api_key="{k}")\n'.encode(), 2, 26),
    "typescript": lambda k: ("a.ts", f"const key: string = `{k}`;\n".encode(), 1, 22),
    "yaml": lambda k: ("c.yaml", f"openrouter:\n  api_key: '{k}'\n".encode(), 2, 13),
    "json": lambda k: ("c.json", json.dumps({"x": {"key": k}}).encode(), 1, 16),
    "curl": lambda k: (
        "run.sh",
        f"curl https://openrouter.ai/api/v1/key \\\n  -H 'Authorization: Bearer {k}'\n".encode(),
        2,
        29,
    ),
    "dockerfile": lambda k: (
        "Dockerfile",
        f"FROM python:3.12\nENV OPENROUTER_API_KEY={k}\n".encode(),
        2,
        24,
    ),
    "markdown": lambda k: (
        "README.md",
        f"# Setup\n\n```sh\nexport OPENROUTER_API_KEY={k}\n```\n".encode(),
        4,
        27,
    ),
    "crlf": lambda k: ("win.ini", f"[a]\r\nkey={k}\r\n".encode(), 2, 5),
    "offset0": lambda k: ("bare.txt", k.encode(), 1, 1),
    "minified": lambda k: (
        "app.min.js",
        (b"var a=1;" * 25_000) + f'k="{k}";'.encode() + b"b=2;" * 1000,
        1,
        200_004,
    ),
}


@pytest.mark.parametrize("case", sorted(TEXT_CASES))
def test_text_files(tmp_path: Path, case: str) -> None:
    key = make_key()
    name, content, line, column = TEXT_CASES[case](key)
    code, report = scan_one(tmp_path, name, content)
    assert code == 1
    locs = locations(report, fp(key))
    assert [(loc["line"], loc["column"]) for loc in locs] == [(line, column)], locs
    assert locs[0]["path"].endswith(name)
    assert locs[0]["decoders"] == []
    assert key not in json.dumps(report)


def test_notebook_source_and_outputs(tmp_path: Path) -> None:
    a, b, c = make_key(), make_key(), make_key()
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "source": [f'key = "{a}"\n', "print(key)"],
                "outputs": [{"output_type": "stream", "text": [f"{b}\n"]}],
            }
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    # `!echo -n $OPENROUTER_API_KEY | base64` (making a Kubernetes secret) left in an output.
    nb["cells"].append(
        {
            "cell_type": "code",
            "source": ["!echo -n $OPENROUTER_API_KEY | base64"],
            "outputs": [
                {"output_type": "stream", "text": [base64.b64encode(c.encode()).decode() + "\n"]}
            ],
        }
    )
    text = json.dumps(nb, indent=1)
    code, report = scan_one(tmp_path, "nb.ipynb", text.encode())
    assert code == 1
    lines = text.splitlines()
    encoded = base64.b64encode(c.encode()).decode()
    for key, decoders, written in ((a, [], a), (b, [], b), (c, ["base64"], encoded)):
        [loc] = locations(report, fp(key))
        assert loc["decoders"] == decoders
        assert loc["line"] == next(i for i, line in enumerate(lines, 1) if written in line)


def test_utf16_with_and_without_bom(tmp_path: Path) -> None:
    a, b, c = make_key(), make_key(), make_key()
    root = tmp_path / "tree"
    root.mkdir()
    (root / "le.txt").write_bytes(f"x={a}\n".encode("utf-16"))
    (root / "be.txt").write_bytes(f"y={b}\n".encode("utf-16-be"))
    (root / "le-nobom.txt").write_bytes(f"z={c}\n".encode("utf-16-le"))
    code, report = run_json(tmp_path, "scan", str(root))
    assert code == 1
    for key in (a, b, c):
        locs = locations(report, fp(key))
        assert locs and any(d.startswith("utf-16") for d in locs[0]["decoders"]), report


def test_base64_k8s_secret_and_base64_env(tmp_path: Path) -> None:
    a, b, c = make_key(), make_key(), make_key()
    secret = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: llm\ndata:\n"
        f"  OPENROUTER_API_KEY: {base64.b64encode(a.encode()).decode()}\n"
    )
    env = f"A={b}\nB=2\nC={c}\n".encode()
    wrapped = base64.encodebytes(env).decode()  # 76-character lines
    root = tmp_path / "tree"
    root.mkdir()
    (root / "secret.yaml").write_text(secret)
    (root / "env.b64").write_text(wrapped)
    code, report = run_json(tmp_path, "scan", str(root))
    assert code == 1
    loc = locations(report, fp(a))[0]
    assert loc["decoders"] == ["base64"] and loc["line"] == 6
    for key in (b, c):
        assert locations(report, fp(key))[0]["decoders"] == ["base64"]


def test_json_inside_a_json_string(tmp_path: Path) -> None:
    plain, hidden = make_key(), make_key()
    # A serializer that escapes "-" (as \u002d) inside a config that is itself a JSON string:
    # the key's text appears nowhere in the file, only its escaped-twice form does.
    inner = json.dumps({"auth": {"token": plain}})
    escaped = '{"auth": {"token": "' + hidden.replace("-", "\\u002d") + '"}}'
    outer = json.dumps({"payload": inner, "escaped": escaped})
    assert hidden not in outer and hidden[9:] in outer
    code, report = scan_one(tmp_path, "nested.json", outer.encode())
    assert code == 1
    [loc] = locations(report, fp(plain))
    assert loc["decoders"] == [] and loc["column"] == outer.index(plain) + 1
    [loc] = locations(report, fp(hidden))
    assert loc["decoders"] == ["json-string", "escape"]
    assert loc["column"] == outer.index(hidden[:2] + "\\\\u002d") + 1


ENCODINGS: dict[str, Callable[[str], str]] = {
    # name -> how a key is written; the scanner must run that decoder to find it.
    "hex": lambda k: k.encode().hex(),
    "hex-upper": lambda k: k.encode().hex().upper(),
    "escape-x": lambda k: "".join(f"\\x{ord(c):02x}" for c in k),
    "escape-u": lambda k: "".join(f"\\u{ord(c):04x}" for c in k),
    "escape-dash": lambda k: k.replace("-", "\\u002d"),
    "percent": lambda k: "".join(f"%{ord(c):02X}" for c in k),
    "percent-dash": lambda k: k.replace("-", "%2D"),
    "base64": lambda k: base64.b64encode(k.encode()).decode(),
}


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_every_text_encoding_is_decoded_by_the_scanner(tmp_path: Path, encoding: str) -> None:
    key = make_key()
    written = ENCODINGS[encoding](key)
    assert key not in written
    code, report = scan_one(tmp_path, "config.txt", f"# x\ntoken={written}\n".encode())
    assert code == 1
    [loc] = locations(report, fp(key))
    assert loc["decoders"] == [encoding.split("-")[0]]
    assert (loc["line"], loc["column"]) == (2, 7)


def test_encodings_nest_as_deep_as_the_documented_limit(tmp_path: Path) -> None:
    keys = [make_key() for _ in range(3)]
    once = base64.b64encode(b"api_key: " + keys[0].encode())
    twice = base64.b64encode(b"blob=" + base64.b64encode(b"api_key: " + keys[1].encode()))
    thrice = base64.b64encode(
        base64.b64encode(b"blob=" + base64.b64encode(b"api_key: " + keys[2].encode()))
    )
    root = tmp_path / "tree"
    root.mkdir()
    blobs = (once, twice, thrice)
    for depth, data in enumerate(blobs, 1):
        (root / f"{depth}.txt").write_bytes(b"value: " + data + b"\n")
    code, report = run_json(tmp_path, "scan", str(root))
    assert code == 1
    for depth, (key, data) in enumerate(zip(keys, blobs, strict=True), 1):
        [loc] = locations(report, fp(key))
        assert loc["decoders"] == ["base64"] * depth
        assert loc["line"] == 1 and 8 <= loc["column"] < 8 + len(data)
    # One level: the 4-character group holding the key's first byte (byte 9 -> group 3).
    assert locations(report, fp(keys[0]))[0]["column"] == 8 + 9 // 3 * 4


def test_base64_env_inside_gzip(tmp_path: Path) -> None:
    a, b = make_key(), make_key()
    env = base64.encodebytes(f"A=1\nOPENROUTER_API_KEY={a}\nB={b}\n".encode())
    code, report = scan_one(tmp_path, "secrets/env.b64.gz", gzip.compress(env))
    assert code == 1
    for key in (a, b):
        [loc] = locations(report, fp(key))
        assert loc["decoders"] == ["gzip", "base64"]
        assert loc["path"].endswith("env.b64.gz")


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_archives_and_compression(tmp_path: Path) -> None:
    keys = [make_key() for _ in range(6)]
    whl = _zip({"pkg/settings.py": f"KEY = '{keys[3]}'\n".encode()})
    root = tmp_path / "tree"
    (root / "dist").mkdir(parents=True)
    (root / "dist" / "a.zip").write_bytes(_zip({"conf/.env": f"K={keys[0]}\n".encode()}))
    (root / "dist" / "b.tar.gz").write_bytes(_tar_gz({"b/app.cfg": f"\nk={keys[1]}".encode()}))
    (root / "dist" / "log.gz").write_bytes(gzip.compress(f"x\ny\n{keys[2]}\n".encode()))
    (root / "dist" / "release.tar.gz").write_bytes(_tar_gz({"release/pkg.whl": whl}))
    (root / "dist" / "c.bz2").write_bytes(bz2.compress(f"{keys[4]}".encode()))
    (root / "dist" / "disguised.txt").write_bytes(lzma.compress(f"{keys[5]}".encode()))
    code, report = run_json(tmp_path, "scan", str(root))
    assert code == 1
    loc = locations(report, fp(keys[0]))[0]
    assert loc["members"] == ["conf/.env"] and (loc["line"], loc["column"]) == (1, 3)
    assert loc["display_path"].endswith("dist/a.zip!conf/.env")
    loc = locations(report, fp(keys[1]))[0]
    assert loc["members"][-1] == "b/app.cfg" and loc["line"] == 2
    assert locations(report, fp(keys[2]))[0]["line"] == 3
    loc = locations(report, fp(keys[3]))[0]
    assert loc["display_path"].endswith("dist/release.tar.gz!" + "!".join(loc["members"]))
    assert loc["members"][-2:] == ["release/pkg.whl", "pkg/settings.py"]
    assert locations(report, fp(keys[4]))
    assert locations(report, fp(keys[5]))


def test_pyc_and_sqlite(tmp_path: Path) -> None:
    a, b = make_key(), make_key()
    root = tmp_path / "tree"
    root.mkdir()
    code_obj = compile(f"KEY = {a!r}\n", "settings.py", "exec")
    (root / "settings.cpython-311.pyc").write_bytes(
        b"\xa7\r\r\n" + b"\0" * 12 + marshal.dumps(code_obj)
    )
    db = sqlite3.connect(root / "app.db")
    db.execute("create table t (k text)")
    db.execute("insert into t values (?)", (b,))
    db.commit()
    db.close()
    code, report = run_json(tmp_path, "scan", str(root))
    assert code == 1
    assert locations(report, fp(a)) and locations(report, fp(b))


def test_twenty_megabyte_log(tmp_path: Path) -> None:
    key = make_key()
    line = b"2026-11-27T10:00:00Z INFO request served in 12ms path=/api/v1/chat status=200\n"
    body = line * (20 * 2**20 // len(line))
    half = len(body) // 2 // len(line) * len(line)
    content = body[:half] + f"DEBUG using key {key}\n".encode() + body[half:]
    code, report = scan_one(tmp_path, "big.log", content)
    assert code == 1
    assert locations(report, fp(key))[0]["line"] == half // len(line) + 1


NEGATIVES = [
    "{p}" + "0" * 64,
    "{p}" + "ab" * 32,
    "{p}" + ("0123456789abcdef" * 4),
    "{p}" + "x" * 64,
    "{p}{hex63}",
    "{p}{hex70}",
    "{p}abc...def",
    "{p}***",
    "OPENROUTER_API_KEY=<YOUR_KEY>",
    "api_key: ${{OPENROUTER_API_KEY}}",
    "sha256 {hex64}",
    "sk-proj-{hex64}",
    "sk-ant-api03-{hex64}",
]


def test_negatives_produce_nothing(tmp_path: Path) -> None:
    import secrets

    lines = [
        n.format(
            p="sk-or-" + "v1-",
            hex63=secrets.token_hex(32)[:63],
            hex70=secrets.token_hex(35),
            hex64=secrets.token_hex(32),
        )
        for n in NEGATIVES
    ]
    code, report = scan_one(tmp_path, "negatives.txt", "\n".join(lines).encode())
    assert code == 0, report["findings"]
    assert report["findings"] == []
    assert report["stats"]["counters"].get("placeholders_suppressed", 0) == 3


def test_include_placeholders_lists_them_at_info(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    (root / "a.txt").write_text("sk-or-" + "v1-" + "0" * 64)
    code, report = run_json(tmp_path, "scan", str(root), "--include-placeholders")
    assert code == 0
    assert [f["severity"] for f in report["findings"]] == ["info"]
    assert report["findings"][0]["placeholder"] is True


def test_same_key_in_two_files_is_one_finding(tmp_path: Path) -> None:
    key = make_key()
    root = tmp_path / "tree"
    root.mkdir()
    (root / "a.env").write_text(f"K={key}\n")
    (root / "b.py").write_text(f"\n\nK = '{key}'\n")
    _code, report = run_json(tmp_path, "scan", str(root))
    assert len(report["findings"]) == 1
    assert [
        (loc["path"].rsplit("/", 1)[-1], loc["line"]) for loc in report["findings"][0]["locations"]
    ] == [("a.env", 1), ("b.py", 3)]
    assert report["findings"][0]["fingerprint"] == fp(key)


def test_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = make_key()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(f"k={key}\n".encode())))
    code, report = run_json(tmp_path, "scan", "-")
    assert code == 1
    assert locations(report, fp(key))[0]["path"] == "<stdin>"


def test_symlinks_unreadable_and_git_dirs_are_reported_not_followed(tmp_path: Path) -> None:
    key = make_key()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "k.env").write_text(f"K={key}\n")
    root = tmp_path / "tree"
    root.mkdir()
    (root / "link").symlink_to(outside)
    (root / ".git").mkdir()
    (root / ".git" / "k").write_text(f"K={key}\n")
    locked = root / "locked.txt"
    locked.write_text("x")
    locked.chmod(0)
    try:
        code, report = run_json(tmp_path, "scan", str(root))
    finally:
        locked.chmod(0o644)
    assert code == 0 and report["findings"] == []
    kinds = {i["kind"] for i in report["stats"]["issues"]}
    assert "symlink" in kinds
    if os.geteuid() != 0:  # root reads anything
        assert "unreadable" in kinds
    assert report["stats"]["counters"]["git_dirs_skipped"] == 1


def test_caps_are_reported_not_silent(tmp_path: Path) -> None:
    key = make_key()
    root = tmp_path / "tree"
    root.mkdir()
    # A bomb: 300 MiB of zeros compressed, then a key the cap keeps us from reaching.
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb") as gz:
        block = b"\0" * 2**20
        for _ in range(300):
            gz.write(block)
        gz.write(key.encode())
    (root / "bomb.gz").write_bytes(buf.getvalue())
    # Five levels of nesting with the default depth of 4.
    data = f"K={key}\n".encode()
    for level in range(5):
        data = _zip({f"level{level}.txt" if level == 0 else f"level{level}.zip": data})
    (root / "deep.zip").write_bytes(data)
    config = tmp_path / "ks.toml"
    config.write_text("max_decoded_bytes = 8388608\n")
    code, report = run_json(tmp_path, "scan", str(root), "--config", str(config))
    kinds = {i["kind"] for i in report["stats"]["issues"]}
    assert "size-cap" in kinds and "depth-cap" in kinds, report["stats"]
    assert code == 0
    assert report["stats"]["counters"]["skipped_size_cap"] >= 1

"""The scanner's walk through decoded views: how deep it follows encodings, which views it
reports from, the containers it unpacks out of decoded text (and the cap it reports there),
what it counts, and a decoder that fails."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from conftest import make_key
from keysentry.decoders.views import Limits
from keysentry.detect.rules import load_rules
from keysentry.detect.scanner import Scanner, Tally
from scanhelpers import locations, run_json

RULES = load_rules()


def scan(data: bytes, limits: Limits | None = None, path: str = "x") -> Tally:
    return Scanner(RULES, limits=limits).scan_bytes(data, path)


def hits(tally: Tally) -> list[tuple[str, int, int, tuple[str, ...], tuple[str, ...]]]:
    return [
        (h.secret, h.line, h.column, h.members, h.decoders)
        for h in tally.hits
        if h.placeholder is None
    ]


def b64(data: bytes, times: int = 1) -> bytes:
    for _ in range(times):
        data = base64.b64encode(data)
    return data


# -- containers in decoded text ----------------------------------------------------------


def helm_line(key: str) -> bytes:
    return b"  release: " + b64(gzip.compress(f"name: app\nKEY={key}\n".encode())) + b"\n"


def test_a_container_in_decoded_text_is_a_member_named_after_its_line(tmp_path: Path) -> None:
    keys = [make_key() for _ in range(2)]
    data = b"kind: Secret\n" + helm_line(keys[0]) + b"---\n" + helm_line(keys[1])
    root = tmp_path / "tree"
    root.mkdir()
    (root / "release.yaml").write_bytes(data)
    code, report = run_json(tmp_path, "scan", str(root))
    assert code == 1
    for key, line in zip(keys, (2, 4), strict=True):
        (loc,) = locations(report, hashlib.sha256(key.encode()).hexdigest())
        assert loc["display_path"] == f"{root / 'release.yaml'}!line {line}!<gzip>"
        assert (loc["line"], loc["column"], loc["decoders"]) == (2, 5, ["base64", "gzip"])
    assert report["stats"]["issues"] == []


@pytest.mark.parametrize("max_depth", [1, 2])
def test_a_container_in_decoded_text_counts_one_level_of_nesting(max_depth: int) -> None:
    key = make_key()
    tally = scan(helm_line(key), Limits(max_depth=max_depth))
    if max_depth == 1:
        # The gzip would be a second level: reported, and its bytes scanned as they are.
        assert hits(tally) == []
        assert [(i.kind, i.path) for i in tally.issues] == [("depth-cap", "x!line 1")]
        assert "gzip nested deeper than 1" in tally.issues[0].detail
    else:
        assert hits(tally) == [(key, 2, 5, ("line 1", "<gzip>"), ("base64", "gzip"))]
        assert tally.issues == []


def test_a_container_decoded_in_a_member_at_the_depth_cap_is_reported(tmp_path: Path) -> None:
    """A file at the deepest level the walk unpacks holds base64 of a gzip: not unpacked,
    and said so, as a container member at that depth is."""
    key = make_key()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("deploy/values.yaml", b"chart: app\n" + helm_line(key))
    root = tmp_path / "tree"
    root.mkdir()
    (root / "bundle.zip").write_bytes(buf.getvalue())
    config = tmp_path / "ks.toml"
    config.write_text("max_depth = 1\n")
    code, report = run_json(tmp_path, "scan", str(root), "--config", str(config))
    assert (code, report["findings"]) == (0, [])
    assert [(i["kind"], i["path"]) for i in report["stats"]["issues"]] == [
        ("depth-cap", f"{root / 'bundle.zip'}!deploy/values.yaml!line 2")
    ]
    # Two levels more and it is unpacked.
    found = scan(buf.getvalue(), Limits(max_depth=3), "bundle.zip")
    assert hits(found) == [
        (key, 2, 5, ("deploy/values.yaml", "line 2", "<gzip>"), ("zip", "base64", "gzip"))
    ]
    assert found.issues == []

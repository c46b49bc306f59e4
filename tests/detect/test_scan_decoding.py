"""The scanner's walk through decoded views: how deep it follows encodings, which views it
reports from, the containers it unpacks out of decoded text (and the cap it reports there),
what it counts, and a decoder that fails."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

import docx
import pytest

from conftest import make_key
from keysentry.decoders.views import Derived, Limits, TextDecoder
from keysentry.detect import scanner as scanner_module
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


# -- encodings of encodings ---------------------------------------------------------------


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_encodings_are_followed_exactly_max_encoding_depth_deep(depth: int) -> None:
    key = make_key()
    limits = Limits(max_encoding_depth=depth)
    found = scan(b"v: " + b64(key.encode(), depth) + b"\n", limits)
    assert hits(found) == [(key, 1, 4, (), ("base64",) * depth)]
    # One encoding more than the limit is not decoded down to the key.
    assert hits(scan(b"v: " + b64(key.encode(), depth + 1) + b"\n", limits)) == []


def test_every_decoded_view_is_counted() -> None:
    keys = [make_key() for _ in range(3)]
    data = b"".join(b"k%d=%s\n" % (i, b64(key.encode())) for i, key in enumerate(keys))
    tally = scan(data)
    assert [h.secret for h in tally.hits] == keys
    assert tally.counters["decoded_views"] == 3


def test_a_view_without_a_needle_does_not_end_the_decoder_s_views() -> None:
    """The first hex run decodes to ``sk-o``, which no rule's keyword is in; the second is
    a key."""
    key = make_key()
    data = b"magic: 736b2d6f\nkey: " + key.encode().hex().encode() + b"\n"
    tally = scan(data)
    assert tally.counters["decoded_views"] == 2
    assert hits(tally) == [(key, 2, 6, (), ("hex",))]


def test_a_plain_copy_in_a_view_does_not_end_its_decoded_keys() -> None:
    """Concatenated literals joined into one view: the first key is one literal, a plain
    copy that the raw scan reports; the second, cut over two literals, is the view's own."""
    whole, cut = make_key(), make_key()
    data = f'key = "{whole}" + "{cut[:20]}" + "{cut[20:]}";\n'.encode()
    assert hits(scan(data)) == [(whole, 1, 8, (), ()), (cut, 1, 86, (), ("concat",))]


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


# -- documents: one unit per line ---------------------------------------------------------


def test_decoders_run_in_a_document_s_paragraphs_but_never_join_them() -> None:
    plain, encoded, split = (make_key() for _ in range(3))
    document = docx.Document()
    document.add_paragraph(f"old key {plain}")
    document.add_paragraph("encoded " + b64(encoded.encode()).decode())
    # Two paragraphs that look like one key wrapped at a fixed column, as a plain file has.
    document.add_paragraph("and the next one is " + split[:40])
    document.add_paragraph(split[40:])
    buf = io.BytesIO()
    document.save(buf)
    tally = scan(buf.getvalue(), path="notes.docx")
    # Each is found in the part's raw XML (one line) and in its text, by paragraph; the key
    # cut over two paragraphs in neither.
    assert sorted((h.secret, h.members, h.decoders) for h in tally.hits) == sorted(
        [
            (plain, ("word/document.xml",), ("zip",)),
            (encoded, ("word/document.xml",), ("zip", "base64")),
            (plain, ("word/document.xml", "paragraph 1"), ("zip", "docx")),
            (encoded, ("word/document.xml", "paragraph 2"), ("zip", "docx", "base64")),
        ]
    )


def test_a_key_wrapped_over_lines_of_a_plain_file_is_joined_and_shown_cut() -> None:
    key = make_key()
    line = f"$ echo $OPENROUTER_API_KEY; echo {key}"
    data = ("\n".join(line[i : i + 40] for i in range(0, len(line), 40)) + "\n$ exit\n").encode()
    tally = scan(data)
    assert hits(tally) == [(key, 1, 34, (), ("line-wrap",))]
    # The snippet shows where the lines were joined, not a line the file does not have.
    assert "⏎" in tally.hits[0].snippet


# -- a decoder that fails ----------------------------------------------------------------


def _broken(data: bytes, offsets: Sequence[int], limits: Limits) -> list[Derived]:
    raise ZeroDivisionError(len(offsets))


def test_a_failing_decoder_is_reported_and_the_others_still_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No shipped decoder is known to fail, so one that does is added: its error is an
    issue of the file it failed on, and the decoders after it, and the raw scan, go on."""
    broken = TextDecoder("broken", (b"@@broken@@",), _broken)
    monkeypatch.setattr(scanner_module, "TEXT_DECODERS", (broken, *scanner_module.TEXT_DECODERS))
    raw, encoded = make_key(), make_key()
    data = b"@@broken@@\n" + b64(encoded.encode()) + b"\n" + raw.encode() + b"\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("conf/app.txt", data)
    tally = Scanner(RULES).scan_bytes(buf.getvalue(), "bundle.zip")
    assert [(i.kind, i.path, i.detail) for i in tally.issues] == [
        ("decode-error", "bundle.zip!conf/app.txt", "broken: ZeroDivisionError")
    ]
    assert sorted((h.secret, h.line, h.decoders) for h in tally.hits) == sorted(
        [(encoded, 2, ("zip", "base64")), (raw, 3, ("zip",))]
    )

"""PDF pages and streams through `scan` and `history` (PDFs written by hand at run time)."""

from __future__ import annotations

import io
import secrets
import zipfile
from pathlib import Path

import pytest

from conftest import PREFIX, make_key
from formhelpers import found_in_both, nothing_in_both
from gitrepo_helpers import locations, run
from keysentry.decoders.views import Limits
from keysentry.detect.rules import load_rules
from keysentry.detect.scanner import Scanner
from pdfbuild import build, glyph_codes, glyph_content, text_content


def _runbook(key: str) -> list[str]:
    return ["Runbook: rotating the gateway key", f"export OPENROUTER_API_KEY={key}", "Done."]


@pytest.mark.parametrize(
    "filters",
    [
        ("FlateDecode",),
        ("ASCIIHexDecode",),
        ("ASCII85Decode",),
        ("ASCII85Decode", "FlateDecode"),
        ("ASCIIHexDecode", "FlateDecode"),
    ],
    ids=lambda f: "+".join(f),
)
def test_key_on_a_page_under_filters(tmp_path: Path, filters: tuple[str, ...]) -> None:
    key = make_key()
    pdf = build([text_content(["Intro"]), text_content(_runbook(key))], filters=filters)
    found = found_in_both(tmp_path, "runbook.pdf", pdf, key)
    # Hex is also read as hex in the raw bytes, where it is one more location.
    (loc,) = [loc for loc in found if loc["members"]]
    assert loc["display_path"] == "runbook.pdf!page 2"
    assert (loc["line"], loc["column"], loc["decoders"]) == (2, 27, ["pdf"])


def test_kerned_text_is_joined(tmp_path: Path, key: str) -> None:
    pdf = build([text_content(_runbook(key), kerned=True)])
    assert key.encode() not in __import__("zlib").decompress(
        pdf.split(b"stream\n")[1].split(b"\nendstream")[0]
    )
    (loc,) = found_in_both(tmp_path, "deck.pdf", pdf, key)
    assert loc["display_path"] == "deck.pdf!page 1"


def test_glyph_ids_through_a_to_unicode_map(tmp_path: Path, key: str) -> None:
    lines = _runbook(key)
    codes = glyph_codes("Slide 1" + "".join(lines))
    pdf = build([glyph_content(["Slide 1"], codes), glyph_content(lines, codes)], glyphs=codes)
    (loc,) = found_in_both(tmp_path, "slides.pdf", pdf, key)
    assert loc["display_path"] == "slides.pdf!page 2"


def test_key_in_an_object_stream(tmp_path: Path, key: str) -> None:
    link = f"<< /Type /Annot /Subtype /Link /A << /S /URI /URI (https://x.test/?k={key}) >> >>"
    pdf = build([text_content(["See the link."])], packed=[b"<< /Producer (x) >>", link.encode()])
    (loc,) = found_in_both(tmp_path, "export.pdf", pdf, key)
    assert loc["display_path"].startswith("export.pdf!object ")


@pytest.mark.parametrize(
    "body",
    [
        lambda: secrets.token_hex(32)[:63],
        lambda: secrets.token_hex(33)[:65],
        lambda: secrets.token_hex(32).upper(),
    ],
    ids=["63", "65", "upper"],
)
def test_near_misses(tmp_path: Path, body) -> None:  # type: ignore[no-untyped-def]
    lines = [f"OPENROUTER_API_KEY={PREFIX}{body()}"]
    codes = glyph_codes("".join(lines))
    nothing_in_both(tmp_path, "a.pdf", build([text_content(lines, kerned=True)]))
    nothing_in_both(tmp_path / "g", "g.pdf", build([glyph_content(lines, codes)], glyphs=codes))


def test_damaged_pdf_is_reported_not_fatal(tmp_path: Path, key: str) -> None:
    pdf = build([text_content(_runbook(key))], filters=())
    broken = pdf[: pdf.index(b"endstream") + 20]  # no cross-reference table, no trailer
    (tmp_path / "broken.pdf").write_bytes(broken)
    code, report = run(tmp_path, "scan", str(tmp_path / "broken.pdf"))
    assert code == 1 and locations(report, key)  # the raw bytes are still scanned


def test_pdf_in_a_zip_and_past_the_depth_cap(key: str) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("docs/runbook.pdf", build([text_content(_runbook(key))]))
    tally = Scanner(load_rules()).scan_bytes(buf.getvalue(), "docs.zip")
    assert [(h.members, h.decoders) for h in tally.hits] == [
        (("docs/runbook.pdf", "page 1"), ("zip", "pdf"))
    ]
    capped = Scanner(load_rules(), limits=Limits(max_depth=1)).scan_bytes(buf.getvalue(), "d.zip")
    assert not capped.hits
    assert [(i.kind, i.path) for i in capped.issues] == [("depth-cap", "d.zip!docs/runbook.pdf")]


def test_encrypted_pdfs(tmp_path: Path, key: str) -> None:
    import pypdf

    plain = pypdf.PdfReader(io.BytesIO(build([text_content(_runbook(key))])))
    for name, user in (("locked.pdf", "secret"), ("owner-only.pdf", "")):
        writer = pypdf.PdfWriter(clone_from=plain)
        writer.encrypt(user_password=user, owner_password="owner", algorithm="RC4-128")
        writer.write(tmp_path / name)
    code, report = run(tmp_path, "scan", str(tmp_path))
    assert code == 1
    # An empty user password opens the file (only editing is restricted); a real one does not.
    assert [loc["display_path"] for loc in locations(report, key)] == [
        str(tmp_path / "owner-only.pdf!page 1")
    ]
    issues = [(i["kind"], Path(i["path"]).name) for i in report["stats"]["issues"]]
    assert issues == [("encrypted", "locked.pdf")]

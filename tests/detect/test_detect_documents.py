"""Office, OpenDocument and RTF documents through `scan` and `history`, made by the
libraries that write them (python-docx, openpyxl, python-pptx, odfpy) and, for RTF, by
LibreOffice converting a Word document. Keys are split over runs as Word splits them."""

from __future__ import annotations

import io
import subprocess
import zipfile
from pathlib import Path

import docx
import openpyxl
import pptx
import pytest
from odf.opendocument import OpenDocumentPresentation, OpenDocumentSpreadsheet, OpenDocumentText
from odf.table import Table, TableCell, TableRow
from odf.text import P, S, Span

from conftest import PREFIX, tool
from formhelpers import found_in_both, nothing_in_both
from keysentry.decoders.views import Limits
from keysentry.detect.rules import load_rules
from keysentry.detect.scanner import Scanner

PLACEHOLDER = PREFIX + "0" * 64


def _pieces(key: str) -> list[str]:
    """Where Word cuts a pasted key: a spell-check mark, a bold run, a revision."""
    return [key[:1], key[1:7], key[7:30], key[30:31], key[31:]]


def _docx(key: str, where: str = "body") -> bytes:
    document = docx.Document()
    document.add_paragraph("Rotating the gateway key")
    target = document.add_paragraph("export OPENROUTER_API_KEY=")
    if where == "header":
        target = document.sections[0].header.paragraphs[0]
    elif where == "footer":
        target = document.sections[0].footer.paragraphs[0]
    elif where == "table":
        target = document.add_table(rows=2, cols=2).cell(1, 1).paragraphs[0]
    for i, piece in enumerate(_pieces(key)):
        run = target.add_run(piece)
        run.bold = i % 2 == 1
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def _raw_has_no_key(data: bytes, key: str) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            assert key.encode() not in archive.read(name), name  # only the join finds it


@pytest.mark.parametrize(
    ("where", "part", "unit"),
    [
        ("body", "word/document.xml", "paragraph 2"),
        ("table", "word/document.xml", "paragraph 6"),  # the last of 4 cells
        ("header", "word/header1.xml", "paragraph 1"),
        ("footer", "word/footer1.xml", "paragraph 1"),
    ],
)
def test_word_runs_are_joined_per_paragraph(
    tmp_path: Path, key: str, where: str, part: str, unit: str
) -> None:
    data = _docx(key, where)
    _raw_has_no_key(data, key)
    (loc,) = found_in_both(tmp_path, "notes.docx", data, key)
    assert loc["display_path"] == f"notes.docx!{part}!{unit}"
    assert loc["decoders"] == ["zip", "docx"] and loc["line"] == 1
    assert key not in loc["snippet"] and "sk-or-v1-" in loc["snippet"]


def test_a_key_in_a_word_comment(tmp_path: Path, key: str) -> None:
    document = docx.Document()
    para = document.add_paragraph("See the comment")
    comment = document.add_comment(para.runs, text="", author="ops")
    target = comment.paragraphs[0]
    for piece in _pieces(key):
        target.add_run(piece)
    buf = io.BytesIO()
    document.save(buf)
    (loc,) = found_in_both(tmp_path, "c.docx", buf.getvalue(), key)
    assert loc["display_path"] == "c.docx!word/comments.xml!paragraph 1"


def test_a_document_is_known_by_its_members_not_its_name(tmp_path: Path, key: str) -> None:
    (loc,) = found_in_both(tmp_path, "report.bin", _docx(key), key)
    assert loc["display_path"] == "report.bin!word/document.xml!paragraph 2"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("docs/notes.docx", _docx(key))
    (loc,) = found_in_both(tmp_path / "z", "bundle.zip", buf.getvalue(), key)
    assert loc["display_path"] == "bundle.zip!docs/notes.docx!word/document.xml!paragraph 2"
    assert loc["decoders"] == ["zip", "zip", "docx"]


def test_paragraphs_are_never_joined(tmp_path: Path, key: str) -> None:
    document = docx.Document()
    document.add_paragraph(key[:40])
    document.add_paragraph(key[40:])
    buf = io.BytesIO()
    document.save(buf)
    nothing_in_both(tmp_path, "two.docx", buf.getvalue())


def test_a_placeholder_split_over_runs_is_not_reported(tmp_path: Path) -> None:
    nothing_in_both(tmp_path, "p.docx", _docx(PLACEHOLDER))


def test_deleted_revision_text_is_not_joined_into_a_key(tmp_path: Path, key: str) -> None:
    # Word keeps deleted text in w:delText: a reader does not see it between the runs.
    data = _docx(key)
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        files = {n: src.read(n) for n in src.namelist()}
    xml = files["word/document.xml"].decode()
    tail = key[31:]
    xml = xml.replace(
        f"<w:t>{tail}</w:t>",
        f'<w:t>{tail[:10]}</w:t></w:r><w:del w:id="9" w:author="a"><w:r>'
        f"<w:delText>0</w:delText></w:r></w:del><w:r><w:t>{tail[10:]}</w:t>",
    )
    files["word/document.xml"] = xml.encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for name, content in files.items():
            out.writestr(name, content)
    (loc,) = found_in_both(tmp_path, "rev.docx", buf.getvalue(), key)
    assert loc["display_path"] == "rev.docx!word/document.xml!paragraph 2"


def test_excel_rich_text_cells_and_comments(tmp_path: Path, key: str) -> None:
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont
    from openpyxl.comments import Comment

    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A1"] = "name"
    sheet["B7"] = CellRichText(
        [TextBlock(InlineFont(b=i % 2 == 1), piece) for i, piece in enumerate(_pieces(key))]
    )
    sheet["C2"].comment = Comment(f"old key {key}", "ops")
    buf = io.BytesIO()
    book.save(buf)
    found = found_in_both(tmp_path, "keys.xlsx", buf.getvalue(), key)
    shown = {loc["display_path"] for loc in found}
    assert "keys.xlsx!xl/worksheets/sheet1.xml!cell B7" in shown
    assert any(p.startswith("keys.xlsx!xl/comments/comment1.xml") for p in shown)


def test_excel_shared_strings(tmp_path: Path, key: str) -> None:
    # Excel writes text cells to xl/sharedStrings.xml, rich text as runs (openpyxl writes
    # them inline, so this part is written here as Excel writes it).
    book = openpyxl.Workbook()
    book.active["A1"] = "x"
    buf = io.BytesIO()
    book.save(buf)
    runs = "".join(f"<r><rPr><b/></rPr><t>{p}</t></r>" for p in _pieces(key))
    shared = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2" '
        f'uniqueCount="2"><si><t>name</t></si><si>{runs}<rPh sb="0" eb="1"><t>0</t></rPh>'
        "</si></sst>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name))
        dst.writestr("xl/sharedStrings.xml", shared)
    (loc,) = found_in_both(tmp_path, "s.xlsx", out.getvalue(), key)
    assert loc["display_path"] == "s.xlsx!xl/sharedStrings.xml!string 2"


def test_powerpoint_slides_and_notes(tmp_path: Path, key: str) -> None:
    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Setup"
    para = slide.placeholders[1].text_frame.paragraphs[0]
    for piece in _pieces(key):
        para.add_run().text = piece
    other = PREFIX + key[len(PREFIX) :][::-1]
    notes = slide.notes_slide.notes_text_frame.paragraphs[0]
    for piece in _pieces(other):
        notes.add_run().text = piece
    buf = io.BytesIO()
    deck.save(buf)
    (loc,) = found_in_both(tmp_path, "deck.pptx", buf.getvalue(), key)
    assert loc["display_path"] == "deck.pptx!ppt/slides/slide1.xml!paragraph 2"
    (loc,) = found_in_both(tmp_path / "n", "deck.pptx", buf.getvalue(), other)
    assert loc["display_path"].startswith("deck.pptx!ppt/notesSlides/notesSlide1.xml!paragraph")


def _odf_paragraph(key: str) -> P:
    para = P(text="key: ")
    for piece in _pieces(key):
        para.addElement(Span(text=piece))
    return para


def test_opendocument_text_spreadsheet_and_presentation(tmp_path: Path, keys) -> None:  # type: ignore[no-untyped-def]
    k1, k2, k3 = keys(3)
    text = OpenDocumentText()
    text.text.addElement(P(text="Intro"))
    text.text.addElement(_odf_paragraph(k1))
    sheet = OpenDocumentSpreadsheet()
    table = Table(name="Keys")
    row = TableRow()
    cell = TableCell()
    cell.addElement(_odf_paragraph(k2))
    row.addElement(cell)
    table.addElement(row)
    sheet.spreadsheet.addElement(table)
    show = OpenDocumentPresentation()
    from odf.draw import Frame, Page, TextBox

    page = Page(name="one", masterpagename="Default")
    frame = Frame(width="10cm", height="2cm", x="1cm", y="1cm")
    box = TextBox()
    box.addElement(_odf_paragraph(k3))
    frame.addElement(box)
    page.addElement(frame)
    show.presentation.addElement(page)
    for doc, name, key in ((text, "a.odt", k1), (sheet, "b.ods", k2), (show, "c.odp", k3)):
        buf = io.BytesIO()
        doc.write(buf)
        _raw_has_no_key(buf.getvalue(), key)
        (loc,) = found_in_both(tmp_path / name, name, buf.getvalue(), key)
        assert loc["display_path"].startswith(f"{name}!content.xml!paragraph "), loc
        assert loc["decoders"] == ["zip", "odf"]


def test_opendocument_spaces_and_tabs_end_a_key(tmp_path: Path, key: str) -> None:
    text = OpenDocumentText()
    para = P(text=key[:30])
    para.addElement(S(c=1))
    para.addElement(Span(text=key[30:]))
    text.text.addElement(para)
    buf = io.BytesIO()
    text.write(buf)
    nothing_in_both(tmp_path, "s.odt", buf.getvalue())


def test_a_part_with_a_dtd_is_refused_and_reported(key: str) -> None:
    data = _docx(key)
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        files = {n: src.read(n) for n in src.namelist()}
    bomb = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">]><d>&a;</d>'
    files["word/document.xml"] = bomb
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for name, content in files.items():
            out.writestr(name, content)
    tally = Scanner(load_rules()).scan_bytes(buf.getvalue(), "bomb.docx")
    assert ("decode-error", "bomb.docx!word/document.xml") in [
        (i.kind, i.path) for i in tally.issues
    ]


def test_a_part_past_the_depth_cap_is_reported(key: str) -> None:
    tally = Scanner(load_rules(), limits=Limits(max_depth=1)).scan_bytes(_docx(key), "d.docx")
    assert not tally.hits
    assert ("depth-cap", "d.docx!word/document.xml") in [(i.kind, i.path) for i in tally.issues]


# -- RTF, as LibreOffice writes it ------------------------------------------------


def _to_rtf(tmp_path: Path, docx_bytes: bytes) -> bytes:
    """The document as LibreOffice writes it (tests calling this are marked needs("soffice"))."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    src = tmp_path / "in.docx"
    src.write_bytes(docx_bytes)
    profile = tmp_path / "profile"
    subprocess.run(
        [tool("soffice"), f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to",
         "rtf", "--outdir", str(tmp_path), str(src)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    return (tmp_path / "in.rtf").read_bytes()


@pytest.mark.needs("soffice")
def test_rtf_written_by_libreoffice(tmp_path: Path, key: str) -> None:
    rtf = _to_rtf(tmp_path / "conv", _docx(key))
    assert rtf.startswith(b"{\\rtf") and key.encode() not in rtf
    (loc,) = found_in_both(tmp_path, "notes.rtf", rtf, key)
    assert loc["display_path"].startswith("notes.rtf!paragraph ")
    assert loc["decoders"] == ["rtf"]
    nothing_in_both(tmp_path / "p", "p.rtf", _to_rtf(tmp_path / "conv2", _docx(PLACEHOLDER)))


def test_rtf_control_words_groups_and_escapes(tmp_path: Path, key: str) -> None:
    body = key[len(PREFIX) :]
    rtf = (
        "{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0 Calibri;}}{\\*\\generator x;}"
        "\\pard Intro\\par\\pard export "
        f"s{{\\*\\bkmkstart k}}k-or-{{\\b v1}}\\'2d{body[:10]}{{\\rtlch\\u{ord(body[10])}?}}"
        f"{body[11:30]}{{\\field{{\\*\\fldinst HYPERLINK x}}{{\\fldrslt {body[30:40]}}}}}"
        f"{{\\-}}{body[40:]}\\par}}"
    ).encode()
    (loc,) = found_in_both(tmp_path, "k.rtf", rtf, key)
    assert loc["display_path"] == "k.rtf!paragraph 2"
    other = PREFIX + body[::-1]
    hidden = rtf.replace(b"{\\*\\generator x;}", b"{\\*\\generator " + other.encode() + b";}")
    found = found_in_both(tmp_path / "h", "h.rtf", hidden, other)
    assert [loc["display_path"] for loc in found] == ["h.rtf"]  # the raw bytes only


_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
_S = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_P = (
    'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
)
_T = 'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'


def _runs(tag: str, key: str) -> str:
    return "".join(f"<{tag}>{piece}</{tag}>" for piece in _pieces(key))


# Every part name a document's text is read from, with the XML its program writes there.
PARTS = {
    "word/document.xml": ("w:document", _W, "<w:body><w:p>{w}</w:p></w:body>"),
    "word/header2.xml": ("w:hdr", _W, "<w:p>{w}</w:p>"),
    "word/footer3.xml": ("w:ftr", _W, "<w:p>{w}</w:p>"),
    "word/footnotes.xml": ("w:footnotes", _W, '<w:footnote w:id="1"><w:p>{w}</w:p></w:footnote>'),
    "word/endnotes.xml": ("w:endnotes", _W, '<w:endnote w:id="1"><w:p>{w}</w:p></w:endnote>'),
    "word/comments.xml": ("w:comments", _W, '<w:comment w:id="0"><w:p>{w}</w:p></w:comment>'),
    "xl/sharedStrings.xml": ("sst", _S, "<si>{x}</si>"),
    "xl/worksheets/sheet2.xml": ("worksheet", _S, '<sheetData><row><c r="C3" t="inlineStr"><is>{x}</is></c></row></sheetData>'),
    "xl/comments1.xml": ("comments", _S, '<commentList><comment ref="A1"><text>{x}</text></comment></commentList>'),
    "xl/comments/comment1.xml": ("comments", _S, '<commentList><comment ref="A1"><text>{x}</text></comment></commentList>'),
    "ppt/slides/slide3.xml": ("p:sld", _P, "<p:cSld><p:spTree><p:sp><p:txBody><a:p>{a}</a:p></p:txBody></p:sp></p:spTree></p:cSld>"),
    "ppt/notesSlides/notesSlide1.xml": ("p:notes", _P, "<p:cSld><p:spTree><p:sp><p:txBody><a:p>{a}</a:p></p:txBody></p:sp></p:spTree></p:cSld>"),
    "ppt/comments/comment1.xml": ("p:cmLst", _P, '<p:cm authorId="0"><p:text>{k}</p:text></p:cm>'),
    "content.xml": ("office:document-content", _T, "<text:p>{o}</text:p>"),
    "styles.xml": ("office:document-styles", _T, "<text:p>{o}</text:p>"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(PARTS))
def test_each_part_name_is_read(name: str, key: str) -> None:
    root, ns, body = PARTS[name]
    ns += ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
    xml = body.format(
        w="".join(f"<w:r><w:t>{p}</w:t></w:r>" for p in _pieces(key)),
        x="".join(f"<r><t>{p}</t></r>" for p in _pieces(key)),
        a=_runs("a:t", key).replace("<a:t>", "<a:r><a:t>").replace("</a:t>", "</a:t></a:r>"),
        k=key,
        o="".join(f"<text:span>{p}</text:span>" for p in _pieces(key)),
    )
    if name == "ppt/comments/comment1.xml":
        xml = xml.replace(key, f"{key[:20]}</p:text><p:text>{key[20:]}")  # two text pieces
    part = f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} {ns}>{xml}</{root}>'
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr(name, part)
        archive.writestr("other.xml", part)  # the same XML under another name: not read
    tally = Scanner(load_rules()).scan_bytes(buf.getvalue(), "doc")
    assert [h.members[0] for h in tally.hits] == [name], tally.issues

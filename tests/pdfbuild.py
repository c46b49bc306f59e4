"""Hand-written PDFs for the tests: pages of text under chosen filters, optional object
streams and a font whose codes are glyph ids mapped back only by a ToUnicode CMap."""

from __future__ import annotations

import base64
import random
import zlib
from collections.abc import Sequence

ENCODERS = {
    "FlateDecode": zlib.compress,
    "ASCIIHexDecode": lambda d: d.hex().encode() + b">",
    "ASCII85Decode": lambda d: base64.a85encode(d, wrapcol=72) + b"~>",
}


def stream(body: bytes, filters: Sequence[str] = (), extra: str = "") -> bytes:
    """A stream object's text; ``filters`` in /Filter order (the first is undone first)."""
    for name in reversed(filters):
        body = ENCODERS[name](body)
    names = " ".join(f"/{f}" for f in filters)
    head = f"<< /Length {len(body)} {f'/Filter [{names}]' if filters else ''} {extra} >>"
    return head.encode() + b"\nstream\n" + body + b"\nendstream"


def _literal(text: str) -> bytes:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + escaped.encode("latin-1") + b")"


def text_content(lines: Sequence[str], *, kerned: bool = False) -> bytes:
    """A content stream showing ``lines`` in font /F1; ``kerned`` cuts every line into
    pieces of 7 characters with kerning between them, as justified text is written."""
    out = [b"BT /F1 11 Tf 14 TL 72 760 Td"]
    for line in lines:
        if kerned:
            parts = [_literal(line[i : i + 7]) for i in range(0, len(line), 7)]
            out.append(b"[" + b" -12 ".join(parts) + b"] TJ T*")
        else:
            out.append(_literal(line) + b" Tj T*")
    out.append(b"ET")
    return b"\n".join(out)


def glyph_content(lines: Sequence[str], codes: dict[str, int]) -> bytes:
    out = [b"BT /F1 11 Tf 14 TL 72 760 Td"]
    for line in lines:
        out.append(b"<" + "".join(f"{codes[c]:04x}" for c in line).encode() + b"> Tj T*")
    out.append(b"ET")
    return b"\n".join(out)


def to_unicode(codes: dict[str, int]) -> bytes:
    pairs = "\n".join(f"<{code:04x}> <{ord(ch):04x}>" for ch, code in sorted(codes.items()))
    return (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
        "1 begincodespacerange <0000> <ffff> endcodespacerange\n"
        f"{len(codes)} beginbfchar\n{pairs}\nendbfchar\n"
        "endcmap CMapName currentdict /CMap defineresource pop end end\n"
    ).encode()


def glyph_codes(text: str, seed: int = 7) -> dict[str, int]:
    """Each character a glyph id, in no relation to its character code (a font subset)."""
    chars = sorted(set(text))
    ids = random.Random(seed).sample(range(3, 3 + 4 * len(chars)), len(chars))
    return dict(zip(chars, ids, strict=True))


def build(
    pages: Sequence[bytes],
    *,
    filters: Sequence[str] = ("FlateDecode",),
    packed: Sequence[bytes] = (),
    glyphs: dict[str, int] | None = None,
) -> bytes:
    """A PDF of ``pages`` (content streams). ``packed`` objects go into an object stream
    (then the cross-reference table is a stream too); ``glyphs`` makes /F1 a Type0 font
    with Identity-H codes and a ToUnicode map."""
    objects: dict[int, bytes] = {}
    n_pages = len(pages)
    first_page = 4
    kids = " ".join(f"{first_page + 2 * i} 0 R" for i in range(n_pages))
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[2] = f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode()
    after = first_page + 2 * n_pages
    if glyphs is None:
        objects[3] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    else:
        cid, cmap = after, after + 1
        after += 2
        objects[3] = (
            f"<< /Type /Font /Subtype /Type0 /BaseFont /ABCDEF+Sans /Encoding /Identity-H "
            f"/DescendantFonts [{cid} 0 R] /ToUnicode {cmap} 0 R >>"
        ).encode()
        objects[cid] = (
            b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /ABCDEF+Sans /DW 600 "
            b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> >>"
        )
        objects[cmap] = stream(to_unicode(glyphs), ("FlateDecode",))
    for i, content in enumerate(pages):
        page, body = first_page + 2 * i, first_page + 2 * i + 1
        objects[page] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {body} 0 R >>"
        ).encode()
        objects[body] = stream(content, filters)
    packed_ids = list(range(after, after + len(packed)))
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, tuple[int, int, int]] = {}
    for num in sorted(objects):
        offsets[num] = (1, len(out), 0)
        out += f"{num} 0 obj\n".encode() + objects[num] + b"\nendobj\n"
    if not packed:
        xref_at = len(out)
        size = max(objects) + 1
        out += f"xref\n0 {size}\n0000000000 65535 f \n".encode()
        for num in range(1, size):
            out += f"{offsets[num][1]:010d} 00000 n \n".encode()
        out += f"trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n".encode()
        return bytes(out)
    header, body = [], b""
    for index, (num, obj) in enumerate(zip(packed_ids, packed, strict=True)):
        header.append(f"{num} {len(body)}")
        body += obj + b"\n"
        offsets[num] = (2, packed_ids[-1] + 1, index)
    objstm = packed_ids[-1] + 1
    head = " ".join(header).encode() + b"\n"
    offsets[objstm] = (1, len(out), 0)
    extra = f"/Type /ObjStm /N {len(packed)} /First {len(head)}"
    out += f"{objstm} 0 obj\n".encode() + stream(head + body, ("FlateDecode",), extra)
    out += b"\nendobj\n"
    xref = objstm + 1
    offsets[xref] = (1, len(out), 0)
    rows = b"\x00" + bytes(4) + b"\xff\xff"
    for num in range(1, xref + 1):
        kind, a, b = offsets[num]
        rows += bytes([kind]) + a.to_bytes(4, "big") + b.to_bytes(2, "big")
    extra = f"/Type /XRef /Size {xref + 1} /W [1 4 2] /Root 1 0 R"
    out += f"{xref} 0 obj\n".encode() + stream(rows, ("FlateDecode",), extra) + b"\nendobj\n"
    out += f"startxref\n{offsets[xref][1]}\n%%EOF\n".encode()
    return bytes(out)

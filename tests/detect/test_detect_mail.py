"""Mail through `scan` and `history`: messages written by the standard library's email
package (quoted-printable with soft breaks, base64 parts, nested multiparts, HTML), an
mbox written by the mailbox module, and mail inside an archive."""

from __future__ import annotations

import io
import mailbox
import quopri
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest

from conftest import PREFIX
from formhelpers import found_in_both, nothing_in_both
from keysentry.decoders.magic import is_mail
from keysentry.decoders.views import Limits
from keysentry.detect.rules import load_rules
from keysentry.detect.scanner import Scanner

PLACEHOLDER = PREFIX + "0" * 64


def _message(subject: str = "the new key") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "ops@example.test"
    msg["To"] = "dev@example.test"
    msg["Subject"] = subject
    msg["Date"] = "Mon, 01 Jan 2024 00:00:00 +0000"
    msg["Message-ID"] = "<1@example.test>"
    return msg


def _qp_body(key: str) -> EmailMessage:
    msg = _message()
    # A long line: the encoder wraps it with soft breaks at 76 columns, inside the key.
    msg.set_content(
        "Hello, " + "the gateway's key = " * 2 + key + " thanks\n", cte="quoted-printable"
    )
    return msg


def test_quoted_printable_soft_breaks_inside_the_key(tmp_path: Path, key: str) -> None:
    data = bytes(_qp_body(key))
    assert key.encode() not in data and b"=\n" in data and b"=3D" in data
    found = found_in_both(tmp_path, "mail.eml", data, key)
    shown = [(loc["display_path"], loc["decoders"]) for loc in found]
    assert ("mail.eml!part 1 (text/plain)", ["mail"]) in shown


def test_a_base64_attachment_is_located_by_its_name(tmp_path: Path, key: str) -> None:
    msg = _message()
    msg.set_content("see attached\n")
    msg.add_attachment(
        f"OPENROUTER_API_KEY={key}\n".encode(), maintype="application",
        subtype="octet-stream", filename=".env",
    )  # fmt: skip
    found = found_in_both(tmp_path, "mail.eml", bytes(msg), key)
    assert "mail.eml!part 2 (.env)" in [loc["display_path"] for loc in found]


def test_nested_multiparts_and_an_html_part(tmp_path: Path, keys) -> None:  # type: ignore[no-untyped-def]
    plain_key, html_key = keys(2)
    msg = _message()
    msg.set_content(f"plain {plain_key}\n", cte="base64")
    msg.add_alternative(f"<p>html <b>{html_key}</b></p>\n", subtype="html", cte="quoted-printable")
    msg.add_attachment(b"notes\n", maintype="text", subtype="plain", filename="n.txt")
    data = bytes(msg)
    assert plain_key.encode() not in data
    found = found_in_both(tmp_path, "m.eml", data, plain_key)
    assert "m.eml!part 1.1 (text/plain)" in [loc["display_path"] for loc in found]
    found = found_in_both(tmp_path / "h", "m.eml", data, html_key)
    assert "m.eml!part 1.2 (text/html)" in [loc["display_path"] for loc in found]


def test_an_mbox_names_each_mail(tmp_path: Path, key: str) -> None:
    path = tmp_path / "build.mbox"
    box = mailbox.mbox(path)
    first = _message("first")
    first.set_content("From the start, nothing here.\n")
    box.add(first)
    box.add(_qp_body(key))
    box.flush()
    box.close()
    data = path.read_bytes()
    assert data.startswith(b"From ")
    found = found_in_both(tmp_path / "t", "inbox", data, key)
    assert "inbox!message 2!part 1 (text/plain)" in [loc["display_path"] for loc in found]


def test_mail_in_a_zip_is_found_by_its_headers(tmp_path: Path, key: str) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("export/0001.msg", bytes(_qp_body(key)))
    found = found_in_both(tmp_path, "export.zip", buf.getvalue(), key)
    assert "export.zip!export/0001.msg!part 1 (text/plain)" in [
        loc["display_path"] for loc in found
    ]


def test_a_placeholder_in_a_mail_is_not_reported(tmp_path: Path) -> None:
    nothing_in_both(tmp_path, "p.eml", bytes(_qp_body(PLACEHOLDER)))


def test_a_plain_mail_is_found_once(tmp_path: Path, key: str) -> None:
    msg = _message()
    msg.set_content(f"key {key}\n", cte="7bit")
    (loc,) = found_in_both(tmp_path, "plain.eml", bytes(msg), key)
    assert loc["display_path"] == "plain.eml"  # no part decoded: the raw bytes hold it


@pytest.mark.parametrize(
    "head",
    [
        b"from: a\nto: b\n\nbody",
        b"Received: by x\nDate: today\n\nbody",
        b"From someone@x Mon Jan  1 00:00:00 2024\nMIME-Version: 1.0\nSubject: s\n\n",
    ],
)
def test_mail_heads(head: bytes) -> None:
    assert is_mail(head)


@pytest.mark.parametrize(
    "head",
    [
        b"Subject: x\nDate: y\n\n",  # no field only mail has
        b"From: a\n\nbody",  # one field
        b"import os\nFrom: a\nTo: b\n\n",  # fields not from the first line
        b"From: a\nTo: b\nnot a header line\n",  # the fields do not end at a blank line
        b"HTTP/1.1 200 OK\nDate: x\nContent-Type: y\n\n",
    ],
)
def test_not_mail(head: bytes) -> None:
    assert not is_mail(head)


def test_a_mail_over_the_buffer_cap_is_reported_and_the_next_is_read(key: str) -> None:
    big = _message("big")
    big.set_content("x" * 5000 + "\n", cte="base64")
    data = b"From a@x Mon Jan  1 00:00:00 2024\n" + bytes(big) + b"\n\n"
    data += b"From a@x Mon Jan  1 00:00:00 2024\n" + bytes(_qp_body(key)) + b"\n"
    tally = Scanner(load_rules(), limits=Limits(max_buffered_bytes=4000)).scan_bytes(data, "b")
    assert ("size-cap", "b!message 1") in [(i.kind, i.path) for i in tally.issues]
    assert ("message 2!part 1 (text/plain)",) in [h.members for h in tally.hits]


def test_quopri_written_soft_breaks_too(tmp_path: Path, key: str) -> None:
    body = quopri.encodestring(("word " * 12 + key + "\n").encode())
    msg = (
        b"From: a@example.test\nTo: b@example.test\nSubject: k\nMIME-Version: 1.0\n"
        b"Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n" + body
    )
    found = found_in_both(tmp_path, "q.eml", msg, key)
    assert "q.eml!part 1 (text/plain)" in [loc["display_path"] for loc in found]


def test_history_chooses_a_mail_by_each_field_only_mail_has(tmp_path: Path, keys) -> None:  # type: ignore[no-untyped-def]
    """History searches one block of objects for needles: each spelling of each field
    only a mail has must bring its blob to the scanner (the mail's body is encoded)."""
    from conftest import git
    from gitrepo_helpers import commit, locations, run
    from keysentry.decoders.magic import MAIL_NEEDLES

    found = keys(len(MAIL_NEEDLES))
    files = {}
    for i, (needle, key) in enumerate(zip(MAIL_NEEDLES, found, strict=True)):
        body = "".join(f"={b:02X}" for b in key.encode()).encode()  # no other needle
        files[f"m{i}.txt"] = (
            needle + b" x\nSubject: s\nContent-Transfer-Encoding: quoted-printable\n\n" + body
        )
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, files, "mails")
    code, report = run(tmp_path, "history", str(repo))
    assert code == 1
    missing = [n for n, k in zip(MAIL_NEEDLES, found, strict=True) if not locations(report, k)]
    assert missing == []

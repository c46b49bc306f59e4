"""HTML and XML character references through `scan` and `history`."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import PREFIX, make_key
from formhelpers import both, found_in_both, nothing_in_both
from gitrepo_helpers import locations

Escape = Callable[[str], str]

FORMS: list[tuple[str, Escape]] = [
    ("decimal-all", lambda k: "".join(f"&#{ord(c)};" for c in k)),
    ("hex-all", lambda k: "".join(f"&#x{ord(c):x};" for c in k)),
    ("hex-upper", lambda k: "".join(f"&#X{ord(c):02X};" for c in k)),
    ("hyphens-decimal", lambda k: k.replace("-", "&#45;")),
    ("hyphens-hex", lambda k: k.replace("-", "&#x2D;")),
    ("hyphens-padded", lambda k: k.replace("-", "&#0045;")),
    ("s-only", lambda k: "&#115;" + k[1:]),
    ("double-escaped", lambda k: k.replace("-", "&amp;#45;")),
]


@pytest.mark.parametrize("escape", [f[1] for f in FORMS], ids=[f[0] for f in FORMS])
def test_references_in_a_page(tmp_path: Path, escape: Escape) -> None:
    key = make_key()
    written = escape(key)
    page = (
        "<!doctype html>\n<html><body>\n<p>Tom &amp; Jerry &copy; 2026 &nbsp;&mdash;</p>\n"
        f'<pre title="&quot;token&quot;">export OPENROUTER_API_KEY=&quot;{written}&quot;</pre>\n'
        "</body></html>\n"
    )
    (loc,) = found_in_both(tmp_path, "runbook.html", page, key)
    assert (loc["line"], loc["column"]) == (4, page.splitlines()[3].index(written) + 1)
    assert loc["decoders"][0] == "html-entity"
    assert written[20:60] not in loc["snippet"]


def test_xml_export(tmp_path: Path, key: str) -> None:
    written = key.replace("-", "&#x2d;")
    xml = f'<?xml version="1.0"?>\n<settings>\n  <entry name="api">{written}</entry>\n</settings>\n'
    (loc,) = found_in_both(tmp_path, "export.xml", xml, key)
    assert (loc["line"], loc["column"]) == (3, 21)


def _page(body: str) -> str:
    return f"<p>&lt;b&gt;key&lt;/b&gt;: {PREFIX.replace('-', '&#45;')}{body}</p>\n"


@pytest.mark.parametrize(
    "body",
    [
        lambda: secrets.token_hex(32)[:63],
        lambda: secrets.token_hex(33)[:65],
        lambda: secrets.token_hex(32).upper(),
        lambda: secrets.token_hex(16) + "&#45;" + secrets.token_hex(16),
    ],
    ids=["63", "65", "upper", "hyphen-inside"],
)
def test_near_misses(tmp_path: Path, body: Callable[[], str]) -> None:
    nothing_in_both(tmp_path, "page.html", _page(body()))


def test_a_plain_key_next_to_references_is_reported_once(tmp_path: Path, key: str) -> None:
    page = f"<p>a&#45;b</p><code>{key}</code><p>&#x73;</p>\n"
    reports = both(tmp_path, "page.html", page)
    for report in reports.values():
        (loc,) = locations(report, key)
        assert loc["decoders"] == []

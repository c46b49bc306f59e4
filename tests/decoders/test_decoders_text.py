"""UTF-16 and escape decoders: triggers, exact origin maps, no duplicate plain keys."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decoderhelpers import KEY, offsets, reveal, run
from keysentry.decoders.text import ESCAPE, PERCENT, UTF16
from keysentry.decoders.views import Derived, Limits


def new_key() -> str:
    return "sk-or-" + "v1-" + secrets.token_hex(32)


def keys_in(views: list[Derived]) -> list[bytes]:
    return [k for view in views for k in KEY.findall(view.data)]


# -- UTF-16 -----------------------------------------------------------------


@pytest.mark.parametrize("order", ["le", "be"])
def test_utf16_string_inside_binary(order: str) -> None:
    key = new_key()
    text = f"Ünïcode 😀 OPENROUTER_API_KEY={key}\r\n".encode(f"utf-16-{order}")
    data = b"MZ\x90\x00\x03\x00\x00\x00" + bytes(40) + text + bytes(16) + b"\x01\x02"
    (view,) = run(UTF16, data)
    assert view.step == f"utf-16{order}"
    assert view.data == f"Ünïcode 😀 OPENROUTER_API_KEY={key}\r\n".encode()
    at = view.data.index(key.encode())
    start = data.index(key.encode(f"utf-16-{order}"))
    assert view.origin(at) == start
    assert view.parent_span(at, at + len(key)) == (start, start + 2 * len(key))
    emoji = view.data.index("😀".encode())
    assert view.origin(emoji + 3) == data.index("😀".encode(f"utf-16-{order}"))


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_file_with_bom_is_decoded_whole(encoding: str) -> None:
    first, second = new_key(), new_key()
    text = f"# Windows notepad\r\nA={first}\r\nB={second}\r\n\x00tail"
    bom = b"\xff\xfe" if encoding.endswith("le") else b"\xfe\xff"
    data = bom + text.encode(encoding)
    (view,) = run(UTF16, data)  # four triggers, one view
    assert view.data == text.encode()
    assert view.origin(0) == 2
    for key in (first, second):
        assert view.origin(view.data.index(key.encode())) == data.index(key.encode(encoding))


def test_utf16_without_bom_whole_text() -> None:
    key = new_key()
    data = f"line one\nkey = '{key}'\nline three\n".encode("utf-16-le")
    (view,) = run(UTF16, data)
    assert view.step == "utf-16le"
    assert view.data == f"line one\nkey = '{key}'\nline three\n".encode()


@pytest.mark.parametrize("order", ["le", "be"])
def test_utf16_surrogate_pair_across_the_first_slice_edge(order: str) -> None:
    key = new_key()
    # 146 bytes of key, then filler, so that an emoji straddles 4096 bytes from the key.
    text = "😀" * 3 + "b" * 1974 + key + "a" * 1974 + "😀" * 3
    data = b"\x00\x00" + text.encode(f"utf-16-{order}") + b"\x00\x00"
    (view,) = run(UTF16, data)
    assert view.data == text.encode()


# -- backslash escapes ------------------------------------------------------


def _u(text: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in text)


def _x(text: str) -> str:
    return "".join(f"\\x{ord(c):02X}" for c in text)


@pytest.mark.parametrize(
    "escape",
    [
        _u,
        _x,
        lambda k: k.replace("-", "\\u002d"),
        lambda k: k.replace("-", "\\x2D"),
        lambda k: k.replace("-", "\\055"),
        lambda k: k.replace("-", "\\u{2d}"),
        lambda k: k.replace("-", "\\U0000002D"),
        lambda k: _u(k[:9]) + k[9:],
    ],
    ids=["u-all", "x-all", "u-hyphen", "x-hyphen", "octal", "u-braced", "U8", "u-prefix"],
)
def test_backslash_escapes(escape: Callable[[str], str]) -> None:
    key = new_key()
    written = escape(key)
    data = f'const config = {{ apiKey: "{written}", other: "a\\tb" }};\n'.encode()
    views = run(ESCAPE, data)
    assert keys_in(views) == [key.encode()]
    (view,) = [v for v in views if key.encode() in v.data]
    assert view.step == "escape"
    at = view.data.index(key.encode())
    start = data.index(written.encode())
    assert view.origin(at) == start
    assert view.parent_span(at, at + len(key)) == (start, start + len(written))


def test_escape_origin_is_exact_inside_the_key() -> None:
    key = new_key()
    written = key.replace("-", "\\u002d")
    data = f"x = '{written}'".encode()
    (view,) = run(ESCAPE, data)
    at = view.data.index(key.encode())
    for i, char in enumerate(key):
        source = view.origin(at + i)
        expected = b"\\u002d" if char == "-" else char.encode()
        assert data[source : source + len(expected)] == expected


def test_surrogate_pairs_and_lone_surrogates() -> None:
    key = new_key()
    data = f'"\\ud83d\\ude00 \\udc00 {_u(key)}"'.encode()
    (view,) = run(ESCAPE, data)
    assert view.data.startswith('"😀 \\udc00 '.encode())  # the lone one stays as written
    assert keys_in([view]) == [key.encode()]
    assert view.origin(view.data.index(key.encode())) == data.index(b"\\u0073")


def test_json_inside_a_json_string() -> None:
    key = new_key()
    inner = '{"api_key": "' + key.replace("-", "\\u002d") + '", "note": "a\\nb"}'
    outer = json.dumps({"config": inner, "version": 2}).encode()
    assert b"\\\\u002d" in outer  # the escape is itself escaped
    found = reveal(outer)
    assert [(k, chain) for k, _, chain in found] == [(key.encode(), ("json-string", "escape"))]
    assert found[0][1] == outer.index(b"sk\\\\u002d")


def test_plain_key_next_to_escapes_is_left_to_the_raw_scan() -> None:
    """A view never holds a plain stretch as long as a key, so a key that was never
    escaped is not found a second time through a decoder."""
    plain, hidden = new_key(), new_key()
    data = f'{{"a": "x\\u002dy", "k": "{plain}", "b": "\\"q\\"", "h": "{_u(hidden)}"}}'.encode()
    assert keys_in(run(ESCAPE, data)) == [hidden.encode()]
    # An escape left as written (a lone surrogate) does not join plain text into a view.
    lone = f"{plain}\\udc00{plain}\\u002d".encode()
    assert keys_in(run(ESCAPE, lone)) == []


# -- percent-encoding -------------------------------------------------------


@pytest.mark.parametrize(
    "escape",
    [
        lambda k: "".join(f"%{ord(c):02X}" for c in k),
        lambda k: "".join(f"%{ord(c):02x}" for c in k),
        lambda k: k.replace("-", "%2D"),
        lambda k: k.replace("-", "%252D"),
    ],
    ids=["all-upper", "all-lower", "hyphens", "double"],
)
def test_percent_encoding(escape: Callable[[str], str]) -> None:
    key = new_key()
    written = escape(key)
    data = f"GET /callback?state=x%20y&token={written}&next=%2Fhome HTTP/1.1\r\n".encode()
    found = reveal(data)
    assert [k for k, _, _ in found] == [key.encode()]
    assert found[0][1] == data.index(written.encode())
    assert found[0][2][0] == "percent"


def test_percent_view_origin() -> None:
    key = new_key()
    written = key.replace("-", "%2d")
    data = f"u={written}".encode()
    (view,) = run(PERCENT, data)
    assert view.step == "percent"
    at = view.data.index(key.encode())
    assert view.parent_span(at, at + len(key)) == (2, 2 + len(written))


def test_no_trigger_no_call() -> None:
    data = f"plain {new_key()} with a\\nnewline and 100% of nothing".encode()
    for decoder in (UTF16, ESCAPE, PERCENT):
        assert offsets(decoder, data) == []
        assert decoder.decode(data, [], Limits()) == []


# -- robustness -------------------------------------------------------------

_PIECES = [
    b"\\u002d", b"\\u0073", b"\\ud83d", b"\\ude00", b"\\u{2d}", b"\\u{110000}", b"\\x2d",
    b"\\400", b"\\\\", b'\\"', b"%2D", b"%25", b"%", b"\\", b"s\x00k\x00-\x00", b"\x00s\x00k",
    b"\xff\xfe", b"\xfe\xff", b"\x00\xd8", b"\x00\xdc", b"sk-or-v1-", b"0123abcdef",
]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(st.one_of(st.sampled_from(_PIECES), st.binary(max_size=20)), max_size=30),
    picks=st.lists(st.integers(-5, 400), max_size=6),
)
def test_escape_soup_never_raises(parts: list[bytes], picks: list[int]) -> None:
    data = b"".join(parts)
    for decoder in (UTF16, ESCAPE, PERCENT):
        for where in (offsets(decoder, data), picks):
            for view in decoder.decode(data, where, Limits()):
                for o in range(0, len(view.data) + 1, 7):
                    assert 0 <= view.origin(o) <= len(data)

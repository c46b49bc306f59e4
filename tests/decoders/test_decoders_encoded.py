"""Base64 and hex decoders: triggers, runs, alignment, wrapping, origin maps."""

from __future__ import annotations

import base64
import binascii
import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decoderhelpers import KEY, offsets, reveal, run
from keysentry.decoders.encoded import BASE64, HEX, PREFIX, decode_base64, decode_hex
from keysentry.decoders.registry import TEXT_DECODERS, TRIGGERS, text_decoders
from keysentry.decoders.views import Limits


def new_key() -> bytes:
    return ("sk-or-" + "v1-" + secrets.token_hex(32)).encode()


# -- triggers ---------------------------------------------------------------


def test_base64_triggers_cover_every_alignment_and_url_safe_changes_nothing() -> None:
    for lead in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(secrets.token_bytes(lead) + new_key())
            assert any(t in text for t in BASE64.triggers)
    # The stable characters of the prefix's encodings hold no '+' or '/', so the
    # URL-safe alphabet adds no trigger of its own.
    assert not any(c in t for t in BASE64.triggers for c in b"+/-_")
    assert min(len(t) for t in BASE64.triggers) >= 6


def test_fewer_levels_fewer_needles() -> None:
    counts = [len(text_decoders(depth)[0].triggers) for depth in (1, 2, 3)]
    assert counts == [6, 24, 78]
    assert set(text_decoders(1)[0].triggers) < set(text_decoders(3)[0].triggers)
    # the scanner's decoders (imported when triggered) are these, at the default depth
    assert [(d.name, d.triggers) for d in text_decoders(3)] == [
        (d.name, d.triggers) for d in TEXT_DECODERS
    ]
    twice = base64.b64encode(base64.b64encode(new_key()))
    shallow = text_decoders(1)[0]
    assert not offsets(shallow, twice) and offsets(text_decoders(2)[0], twice)


def test_hex_triggers() -> None:
    core = PREFIX[:-1].hex().encode()
    for text in (core, core.upper()):
        assert any(t in text for t in HEX.triggers)
    assert TRIGGERS["hex"] == HEX.triggers


def test_no_trigger_no_call() -> None:
    plain = b"nothing encoded here: " + new_key() + b" and some prose\n" * 100
    assert all(not offsets(d, plain) for d in TEXT_DECODERS if d.name in ("base64", "hex"))
    assert decode_base64(plain, [], Limits()) == []
    assert decode_hex(plain, [], Limits()) == []


# -- base64 -----------------------------------------------------------------


@pytest.mark.parametrize("lead", [0, 1, 2])
@pytest.mark.parametrize("urlsafe", [False, True])
def test_base64_every_alignment(lead: int, urlsafe: bool) -> None:
    key = new_key()
    # Bytes that encode to '+/' (or '-_') make the alphabet visible in the run.
    raw = b"\xfb\xff\xbf"[:lead] + key + b"\n\xfb\xef\xff"
    encoded = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(raw).rstrip(b"=")
    data = b'{"token":"' + encoded + b'"}'
    (view,) = run(BASE64, data)
    assert view.step == ("base64url" if urlsafe else "base64")
    at = view.data.index(key)
    start = data.index(encoded)
    assert view.origin(at) == start + at // 3 * 4  # the 4-character group holding it
    assert view.data.startswith(raw[: at + len(key)])


def test_base64_run_starting_mid_word() -> None:
    """Minified text: the run's first characters belong to something else."""
    key = new_key()
    for junk in (b"a", b"ab", b"abc", b"abcd", b"abcde"):
        data = b"x=" + junk + base64.b64encode(b"k:" + key) + b";"
        found = [k for view in run(BASE64, data) for k in KEY.findall(view.data)]
        assert found == [key], junk


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
@pytest.mark.parametrize("indent", [b"", b"    "])
def test_base64_wrapped_env_file_with_two_keys(newline: bytes, indent: bytes) -> None:
    first, second = new_key(), new_key()
    env = b"# prod\nOPENROUTER_API_KEY=" + first + b"\nBACKUP_KEY=" + second + b"\nX=1\n" * 3
    lines = base64.encodebytes(env).splitlines()  # 76-character lines
    assert len(lines) > 3
    block = newline.join(indent + line for line in lines)
    data = b"kind: Secret\ndata: |" + newline + block + newline + b"type: Opaque" + newline
    views = run(BASE64, data)
    assert len(views) == 1  # several triggers, one run, one view
    (view,) = views
    assert view.data == env
    top = data.index(block)
    for key in (first, second):
        at = env.index(key)
        char = at // 3 * 4
        row, col = divmod(char, 76)
        expected = top + row * (len(newline) + len(indent) + 76) + len(indent) + col
        assert view.origin(at) == expected
        assert base64.b64decode(data[expected : expected + 4]) == env[at // 3 * 3 :][:3]


@pytest.mark.parametrize("where", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
def test_long_wrapped_block_is_decoded_whole(where: float, newline: bytes) -> None:
    key = new_key()
    noise = secrets.token_bytes(200_000)
    cut = int(len(noise) * where)
    raw = noise[:cut] + b"KEY=" + key + b"\n" + noise[cut:]
    body = newline.join(base64.encodebytes(raw).splitlines())
    data = b"Content-Transfer-Encoding: base64" + newline * 2 + body + newline * 2 + b"--end--"
    (view,) = run(BASE64, data)
    assert view.data == raw
    top = data.index(body)
    for offset in (0, 3 * 57 * 100, len(raw) - 1):  # 57 bytes per 76-character line
        row, col = divmod(offset // 3 * 4, 76)
        assert view.origin(offset) == top + row * (76 + len(newline)) + col


def test_base64_trigger_split_by_every_line_break_position() -> None:
    """Wherever 76-column wrapping cuts the encoded prefix, one half-trigger survives."""
    key = new_key()
    for lead in range(0, 60):
        raw = b"#" * lead + b"KEY=" + key + b"\n"
        data = base64.encodebytes(raw)
        assert [k for k, _, _ in reveal(data, depth=1)] == [key], lead


def test_pem_like_body_does_not_swallow_the_footer() -> None:
    key = new_key()
    body = base64.encodebytes(b"k=" + key + b"\n" + bytes(range(40)))
    data = b"-----BEGIN THING-----\n" + body + b"-----END THING-----\n"
    (view,) = run(BASE64, data)
    assert view.data.startswith(b"k=" + key)
    assert view.origin(len(view.data)) <= data.index(b"-----END")


def test_base64_of_base64_of_base64() -> None:
    key = new_key()
    once = base64.b64encode(b"api_key: " + key)
    twice = base64.b64encode(b"blob=" + once)
    thrice = base64.b64encode(twice)
    assert reveal(b"x " + twice + b" y")[0][::2] == (key, ("base64", "base64"))
    assert reveal(b"x " + thrice + b" y")[0][::2] == (key, ("base64", "base64", "base64"))


def test_base64_missing_padding_and_dangling_character() -> None:
    key = new_key()
    for extra in (b"", b"!", b"!?"):
        encoded = base64.b64encode(key + extra).rstrip(b"=")
        views = run(BASE64, b"'" + encoded + b"'")
        assert [KEY.findall(v.data) for v in views] == [[key]]
    whole = base64.b64encode(key + b":)")
    assert len(whole) % 4 == 0
    (view,) = run(BASE64, b"'" + whole + b"Q'")  # a lone last character carries no byte
    assert view.data == key + b":)"


def test_base64_long_run_is_capped_around_the_trigger() -> None:
    key = new_key()
    raw = secrets.token_bytes(30_000) + b"=" + key + b"=" + secrets.token_bytes(30_000)
    data = base64.b64encode(raw)
    limits = Limits(max_encoded_run=4096)
    (view,) = decode_base64(data, offsets(BASE64, data), limits)
    assert len(view.data) <= 4096 * 3 // 4
    at = view.data.index(key)
    # The origin is computed independently of the decoder: byte r of the raw data lives in the
    # 4-character group r // 3 of its encoding, and that group decodes to the key's first bytes.
    first = raw.index(key)
    assert view.origin(at) == first // 3 * 4
    group = base64.b64decode(data[view.origin(at) : view.origin(at) + 4])
    assert group[first % 3 :] == key[: 3 - first % 3]
    assert view.parent_span(0, len(view.data))[1] - view.origin(0) <= 4096


def test_base64_origin_end_and_parent_span() -> None:
    key = new_key()
    encoded = base64.b64encode(b"xy" + key + b"z")
    data = b"v=" + encoded
    (view,) = run(BASE64, data)
    lo, hi = view.parent_span(0, len(view.data))
    assert (lo, hi) == (2, 2 + len(encoded.rstrip(b"=")))  # padding is not decoded
    assert not view.verbatim(0, len(view.data))


# -- hex --------------------------------------------------------------------


@pytest.mark.parametrize("upper", [False, True])
def test_hex_either_case(upper: bool) -> None:
    key = new_key()
    encoded = binascii.hexlify(b'"key": "' + key + b'"')
    encoded = encoded.upper() if upper else encoded
    data = b"payload=" + encoded + b"&next=1"
    (view,) = run(HEX, data)
    assert view.step == "hex"
    at = view.data.index(key)
    assert view.origin(at) == data.index(encoded) + 2 * at
    assert data[view.origin(at) : view.origin(at) + 2].lower() == b"73"


def test_hex_wrapped_like_xxd() -> None:
    key = new_key()
    encoded = binascii.hexlify(b"\x01" + key + b"\x00" + bytes(100))
    lines = [encoded[i : i + 60] for i in range(0, len(encoded), 60)]  # xxd -p
    data = b"dump:\n" + b"\n".join(lines) + b"\n"
    (view,) = run(HEX, data)
    assert KEY.findall(view.data) == [key]
    assert data[view.origin(1) : view.origin(1) + 2] == b"73"


def test_hex_run_starting_at_an_odd_position() -> None:
    key = new_key()
    data = b"id=a" + binascii.hexlify(key) + b"ff;"  # a stray digit before the run
    (view,) = run(HEX, data)
    assert KEY.findall(view.data) == [key]
    assert view.origin(view.data.index(key)) == 4


# -- robustness -------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=600), picks=st.lists(st.integers(-10, 700), max_size=8))
def test_random_bytes_and_offsets_never_raise(data: bytes, picks: list[int]) -> None:
    for decoder in TEXT_DECODERS:
        for view in decoder.decode(data, picks, Limits()):
            assert isinstance(view.data, bytes)
            assert 0 <= view.origin(0) <= len(data)


_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_\n\r \t"


@settings(max_examples=150, deadline=None)
@given(
    parts=st.lists(
        st.one_of(
            st.sampled_from([t for d in TEXT_DECODERS for t in d.triggers]),
            st.binary(max_size=40).map(lambda b: bytes(_ALPHABET[x % len(_ALPHABET)] for x in b)),
        ),
        max_size=12,
    )
)
def test_trigger_soup_never_raises_and_maps_inside(parts: list[bytes]) -> None:
    data = b"".join(parts)
    for decoder in TEXT_DECODERS:
        for view in run(decoder, data, Limits(max_encoded_run=128)):
            for o in (0, len(view.data) // 2, len(view.data)):
                assert 0 <= view.origin(o) <= len(data)

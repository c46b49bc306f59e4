"""The purge check's literal search: each form of FORMS has an example that only its entry
finds (each example is built here with other code than the table's); keys cut into parts
are found; places never show a key."""

from __future__ import annotations

import base64
import random
from collections.abc import Callable

import pytest

from conftest import make_key
from keysentry.purge import verify as purge_verify
from keysentry.purge.verify import FORMS, Finder, needles


def secret_with_letters() -> str:
    """A key of a custom rule: letters of both cases and symbols, so that lower- and
    upper-case escapes, and standard and url-safe base64, differ."""
    rng = random.Random(17)
    alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789?>~_"
    return "tok-" + "".join(rng.choice(alphabet) for _ in range(48))


def short_secret() -> str:
    """A password of 20 bytes, letters of both cases: shorter than 2 * PIECE, so it is
    searched whole only, never in pieces. It starts with ``p`` and ends with ``z``."""
    rng = random.Random(23)
    alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "pw-" + "".join(rng.choice(alphabet) for _ in range(16)) + "z"


def _b64(prefix: bytes, secret: str) -> bytes:
    return b"data: " + base64.b64encode(prefix + secret.encode() + b"\n") + b"\n"


def _esc(fmt: Callable[[int], str]) -> Callable[[str], bytes]:
    return lambda s: ("x = '" + "".join(fmt(b) for b in s.encode()) + "'\n").encode()


EXAMPLES: dict[str, list[Callable[[str], bytes]]] = {
    "raw": [lambda s: f"KEY={s}\n".encode()],
    "base64": [
        *(lambda s, n=n: _b64(b"KEY=" + b"x" * n, s) for n in range(3)),
        *(lambda s, n=n: base64.urlsafe_b64encode(b"k" * n + s.encode()) for n in range(3)),
    ],
    "base64 of base64": [lambda s: base64.b64encode(base64.b64encode(f"K={s}".encode()))],
    "hex": [
        lambda s: f"K={s}".encode().hex().encode(),
        lambda s: f"K={s}".encode().hex().upper().encode(),
    ],
    "UTF-16": [lambda s: f"K={s}".encode("utf-16-le"), lambda s: f"K={s}".encode("utf-16-be")],
    "%xx": [_esc(lambda b: "%" + format(b, "02x")), _esc(lambda b: "%" + format(b, "02X"))],
    "%25xx": [_esc(lambda b: "%25" + format(b, "02x")), _esc(lambda b: "%25" + format(b, "02X"))],
    "\\u00xx": [_esc(lambda b: "\\u" + format(b, "04x")), _esc(lambda b: "\\u" + format(b, "04X"))],
    "\\u{xx}": [
        _esc(lambda b: "\\u{" + format(b, "x") + "}"),
        _esc(lambda b: "\\u{" + format(b, "X") + "}"),
    ],
    "\\U000000xx": [
        _esc(lambda b: "\\U" + format(b, "08x")),
        _esc(lambda b: "\\U" + format(b, "08X")),
    ],
    "\\xhh": [_esc(lambda b: "\\x" + format(b, "02x")), _esc(lambda b: "\\x" + format(b, "02X"))],
    "\\ooo": [_esc(lambda b: "\\" + format(b, "03o"))],
    "&#ddd;": [_esc(lambda b: f"&#{b};")],
    "&#xhh;": [
        _esc(lambda b: f"&#x{b:x};"),
        _esc(lambda b: f"&#x{b:X};"),
        _esc(lambda b: f"&#X{b:x};"),
        _esc(lambda b: f"&#X{b:X};"),
    ],
    "&amp;#ddd;": [_esc(lambda b: f"&amp;#{b};")],
    "hex dump": [lambda s: f"K={s}".encode().hex(" ").encode()],
    "hex dump with colons": [lambda s: f"K={s}".encode().hex(":").encode()],
    # xxd groups two bytes from the left (-2): the key's core starts at either byte of one.
    "xxd groups": [lambda s, n=n: (b"k" * n + s.encode()).hex(" ", -2).encode() for n in (1, 2)],
    "C byte array": [lambda s: ", ".join(f"0x{b:02x}" for b in s.encode()).encode()],
}


def found(data: bytes, secret: str, forms: tuple[purge_verify.Form, ...] = FORMS) -> set[str]:
    finder = Finder(needles([secret], forms))
    return {needle.form for needle, _offset in finder.scan(data)}


def test_every_form_has_examples() -> None:
    assert set(EXAMPLES) == {form.name for form in FORMS}


SECRETS: dict[str, Callable[[], str]] = {
    "openrouter": make_key,
    "custom": secret_with_letters,
    "short": short_secret,
}


@pytest.mark.parametrize("kind", list(SECRETS))
@pytest.mark.parametrize("form", list(EXAMPLES))  # the test's own list: a form dropped fails
def test_each_form_finds_what_only_it_finds(form: str, kind: str) -> None:
    secret = SECRETS[kind]()
    others = tuple(f for f in FORMS if f.name != form)
    for example in EXAMPLES[form]:
        data = example(secret)
        assert secret.encode() not in data or form == "raw"
        assert form in found(data, secret), (form, data[:60])
        assert found(data, secret, others) == set(), (form, data[:60])


@pytest.mark.parametrize("form", list(EXAMPLES))
def test_a_short_secret_is_searched_whole(form: str) -> None:
    """A secret too short to cut is found whole or not at all: a secret that differs from
    it only in the high bits of its first or of its last byte (a letter's case) is not
    found. Base64 is the exception for the first byte: a text that puts the secret one or
    two bytes after a 3-byte boundary mixes the high bits of its first byte with the
    byte before into one character, which no needle can hold."""
    secret = short_secret()
    others = [secret[:-1] + "Z"]
    if form != "base64":
        others.append("P" + secret[1:])
    for example in EXAMPLES[form]:
        assert found(example(secret), secret) != set(), example(secret)[:60]
        for other in others:
            assert found(example(other), secret) == set(), (other, example(other)[:60])


@pytest.mark.parametrize("width", [60, 64, 76])
def test_a_key_cut_into_lines_is_found(width: int) -> None:
    key = make_key()
    for encoded, form in (
        (base64.b64encode(f"OPENROUTER_API_KEY={key}\n".encode()), "base64"),
        (f"{key}".encode().hex().encode(), "hex"),  # xxd -p wraps at 60
        (key.encode(), "raw"),
    ):
        wrapped = b"\n".join(encoded[i : i + width] for i in range(0, len(encoded), width))
        assert form in found(wrapped, key), (form, width)


def test_a_key_concatenated_in_three_parts_is_found() -> None:
    key = make_key()
    parts = key[:9], key[9:40], key[40:]
    assert "raw" in found(f'k = "{parts[0]}" + "{parts[1]}" + "{parts[2]}"'.encode(), key)


def test_nothing_is_found_in_other_keys() -> None:
    key = make_key()
    data = "\n".join([make_key() for _ in range(200)] + [key[:16], key[-10:]]).encode()
    assert found(data, key) == set()
    assert found(key[-16:].encode(), key) == {"raw"}  # 16 of its 64 secret digits: a leak


def test_places_never_show_the_key() -> None:
    key = make_key()
    finder = Finder(needles([key]))
    name = base64.b64encode(f"x{key}".encode()).decode()
    for text in (f"file {key}.txt", f"file info/{name}", f"ref refs/heads/{key}"):
        for needle, _offset in finder.scan(text.encode()):
            finder.note(needle, text)
    shown = [left.place for left in finder.left.values()]
    assert len(shown) == 3
    assert not any(purge_verify.core(key).decode()[:12] in s for s in shown), shown
    assert not any(name[20:40] in s for s in shown), shown


def test_a_place_holding_part_of_a_key_hides_all_of_that_part() -> None:
    key = make_key()
    c = purge_verify.core(key).decode()
    finder = Finder(needles([key]))
    for part in (c[:20], c[5:40], c[30:64], key):
        shown = finder.hide(f"ref refs/heads/x-{part}-y")
        assert shown.startswith("ref refs/heads/x-") and shown.endswith("-y")
        assert not any(c[i : i + 8] in shown for i in range(len(c) - 8)), shown


def test_xxd_examples_start_the_core_at_either_byte_of_a_group() -> None:
    key = make_key()
    starts = set()
    for example in EXAMPLES["xxd groups"]:
        text = example(key).decode()
        at = text.replace(" ", "").index(purge_verify.core(key).hex())
        starts.add(at // 2 % 2)  # the byte of its group the core starts at
    assert starts == {0, 1}


def test_url_safe_base64_alone_finds_a_key_made_of_its_own_letters() -> None:
    """Every third byte ``?`` (a 6-bit group of 63: ``/`` in the standard alphabet, ``_``
    in the URL-safe one): every piece of the standard encoding holds a ``/``, so only the
    URL-safe needles find the URL-safe text."""
    secret = "tok-" + "ab?" * 16
    core = purge_verify.core(secret)
    for data in (base64.urlsafe_b64encode(b"abc" + core), base64.b64encode(b"abc" + core)):
        assert "base64" in found(data, secret), data[:20]
    assert b"/" not in base64.urlsafe_b64encode(b"abc" + core)


@pytest.mark.parametrize("order", ["le", "be"])
def test_utf16_finds_a_part_at_either_end_of_the_text(order: str) -> None:
    """The byte orders are the same bytes one apart, but not at the ends of a text: a
    part of PIECE + STEP - 1 bytes that starts a little-endian text, or ends a big-endian
    one, is found only by its own byte order's needles."""
    key = make_key()
    c = purge_verify.core(key).decode()
    width = purge_verify.PIECE + purge_verify.STEP - 1
    # The text starts with the key's first bytes, or ends with its last ones.
    part = c[:width] if order == "le" else c[-width:]
    data = part.encode(f"utf-16-{order}")
    assert found(data, key) == {"UTF-16"}

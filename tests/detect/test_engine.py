"""The engine and scanner on raw bytes: boundaries, windows, placeholders, locations."""

from __future__ import annotations

import base64
import secrets

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keysentry.detect.engine import Engine
from keysentry.detect.literals import LiteralSearch
from keysentry.detect.placeholders import placeholder_reason
from keysentry.detect.rules import load_rules
from keysentry.detect.scanner import Scanner

RULES = load_rules()
PREFIX = "sk-or-" + "v1-"
HEXDIGITS = b"0123456789abcdefABCDEF"


def fresh_key() -> str:
    return PREFIX + secrets.token_hex(32)


def found(scanner: Scanner, data: bytes) -> list[str]:
    return [h.secret for h in scanner.scan_bytes(data, "x").hits if h.placeholder is None]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(before=st.binary(max_size=300), after=st.binary(max_size=300))
def test_key_in_random_bytes_found_exactly_when_boundaries_allow(
    before: bytes, after: bytes
) -> None:
    key = fresh_key()
    data = before + key.encode() + after
    expected = not after or after[0] not in HEXDIGITS
    hits = found(Scanner(RULES), data)
    assert (key in hits) == expected
    assert all(h == key for h in hits)


@settings(max_examples=100, deadline=None)
@given(
    filler=st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
    shape=st.sampled_from(["zeros", "period", "sequence", "few", "x64", "short", "long"]),
)
def test_negative_shapes_never_reported(filler: str, shape: str) -> None:
    n = secrets.randbelow(8) + 1
    body = {
        "zeros": "0" * 64,
        "period": (secrets.token_hex(n) * 64)[:64],
        "sequence": ("0123456789abcdef" * 8)[n : n + 64],
        "few": "".join(secrets.choice("abc"[: 1 + n % 3] + "7") for _ in range(64)),
        "x64": "x" * 64,
        "short": secrets.token_hex(32)[:63],
        "long": secrets.token_hex(40),
    }[shape]
    data = f"{filler}{PREFIX}{body}\n{filler}".encode()
    assert found(Scanner(RULES), data) == []


@settings(max_examples=60, deadline=None)
@given(position=st.integers(min_value=0, max_value=60_000), newlines=st.integers(0, 400))
def test_windows_find_each_key_once_with_right_location(position: int, newlines: int) -> None:
    key = fresh_key()
    filler = bytearray(b"x. " * 25_000)
    for i in range(newlines):
        filler[(i * 977) % len(filler)] = 0x0A
    data = bytes(filler[:position]) + key.encode() + bytes(filler[position:])
    scanner = Scanner(RULES, chunk_size=4096, overlap=1024)
    hits = [h for h in scanner.scan_bytes(data, "x").hits if h.placeholder is None]
    assert [h.secret for h in hits] == [key]
    line = data.count(b"\n", 0, position) + 1
    column = position - (data.rfind(b"\n", 0, position) + 1) + 1
    assert (hits[0].line, hits[0].column) == (line, column)


def test_bytes_that_only_look_like_an_archive_are_still_scanned() -> None:
    for magic in (b"PK\x05\x06", b"PK\x03\x04", b"\x1f\x8b\x08", b"BZh91AY&SY", b"\xfd7zXZ\x00"):
        key = fresh_key()
        assert found(Scanner(RULES), magic + key.encode()) == [key], magic


def test_hex_run_is_never_cut_into_a_key() -> None:
    run = PREFIX + secrets.token_hex(40)
    assert found(Scanner(RULES), run.encode()) == []


def test_pyc_letters_around_the_key() -> None:
    key = fresh_key()
    assert found(Scanner(RULES), b"\xe3\x00\x00I" + key.encode() + b"N\xda\x03") == [key]


def test_column_counts_characters() -> None:
    key = fresh_key()
    data = f"# é ü\nname = 'ñ' ; key='{key}'\n".encode()
    hit = Scanner(RULES).scan_bytes(data, "x").hits[0]
    assert (hit.line, hit.column) == (2, len("name = 'ñ' ; key='") + 1)


def test_published_examples_and_shapes_are_placeholders() -> None:
    assert placeholder_reason(PREFIX + "0" * 64, frozenset()) == "one repeated character"
    assert placeholder_reason(PREFIX + "ab12" * 16, frozenset()) == "repeats every 4 characters"
    assert placeholder_reason(PREFIX + "".join(sorted(secrets.token_hex(32))), frozenset())
    assert placeholder_reason(fresh_key(), frozenset()) is None
    key = fresh_key()
    import hashlib

    digest = hashlib.sha256(key.encode()).hexdigest()
    assert placeholder_reason(key, frozenset({digest})) == "published example key"


def test_snippet_is_redacted_and_marker_applies_to_its_line_only() -> None:
    a, b = fresh_key(), fresh_key()
    data = f"x = '{a}'  # keysentry:allow\ny = '{b}'\n".encode()
    hits = Scanner(RULES, markers=["keysentry:allow"]).scan_bytes(data, "x").hits
    by_secret = {h.secret: h for h in hits}
    assert by_secret[a].allowed_by == "keysentry:allow"
    assert by_secret[b].allowed_by is None
    for hit in hits:
        assert a not in hit.snippet and b not in hit.snippet
        assert a[:12] not in hit.snippet or "..." in hit.snippet


def test_literal_search_backends_agree(monkeypatch: object) -> None:
    import os

    data = secrets.token_bytes(50_000) + b"needle" + b"xx" + b"needle" + b"ne"
    fast = LiteralSearch([b"needle", b"ne"]).scan(data)
    os.environ["KEYSENTRY_NO_HYPERSCAN"] = "1"
    try:
        slow = LiteralSearch([b"needle", b"ne"])
        assert slow.backend == "find"
        assert sorted(slow.scan(data)) == sorted(fast)
    finally:
        del os.environ["KEYSENTRY_NO_HYPERSCAN"]


def test_engine_respects_window_end_when_not_final() -> None:
    key = fresh_key().encode()
    engine = Engine(RULES)
    assert engine.match(b"..." + key, final=False) == []
    assert [c.secret for c in engine.match(b"..." + key)] == [key.decode()]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pieces=st.lists(
        st.tuples(st.sampled_from(["", "\n", "é", "ü\n", "x" * 300, "€ ", "\n\n"]), st.booleans()),
        min_size=1,
        max_size=60,
    )
)
def test_many_keys_each_at_its_line_and_column(pieces: list[tuple[str, bool]]) -> None:
    """Each hit is located from the previous one (a key list is linear, not quadratic):
    every key's line and column, across windows, multi-byte text and long lines, equal
    the count from the start of the input."""
    text, expected, encoded = "", {}, {}
    for filler, base64_first in pieces:
        key = fresh_key()
        if base64_first:  # a decoded hit behind the raw ones: the cursor starts over
            inner = fresh_key()
            blob = base64.b64encode(f"token={inner}".encode()).decode()
            head = text.encode()
            line = head.count(b"\n") + 1
            column = len(head[head.rfind(b"\n") + 1 :].decode()) + 1
            encoded[inner] = (line, range(column, column + len(blob)))
            text += blob + " "
        text += filler
        head = text.encode()
        line = head.count(b"\n") + 1
        column = len(head[head.rfind(b"\n") + 1 :].decode()) + 1
        expected[key] = (line, column)
        text += key + " ; "
    scanner = Scanner(RULES, chunk_size=4096, overlap=1024)
    hits = scanner.scan_bytes(text.encode(), "x").hits
    got = {h.secret: (h.line, h.column) for h in hits if not h.decoders}
    assert got == expected
    decoded = {h.secret: (h.line, h.column) for h in hits if h.decoders}
    assert decoded.keys() == encoded.keys()
    for secret, (line, column) in decoded.items():
        assert line == encoded[secret][0] and column in encoded[secret][1]

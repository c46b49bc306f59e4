"""keysentry.untrusted, unit by unit: how untrusted text is escaped, read back and walked."""

from __future__ import annotations

import secrets

import pytest

from keysentry.models import (
    CommitInfo,
    Finding,
    Issue,
    Location,
    ScanResult,
    ScanStats,
    fingerprint_of,
    redact,
)
from keysentry.untrusted import escape, for_display, redacted, shown, unescape_bytes

PREFIX = "sk-or" + "-v1-"


def key() -> str:
    return PREFIX + secrets.token_hex(32)


@pytest.mark.parametrize(
    ("raw", "shown_as"),
    [
        ("a\nb", "a\\nb"),
        ("a\rb", "a\\rb"),
        ("a\tb", "a\\tb"),
        ("bell\x07", "bell\\x07"),
        ("\x1b[31m", "\\x1b[31m"),
        ("\x00", "\\x00"),
        ("del\x7f", "del\\x7f"),
        ("c1\x85", "c1\\u0085"),
        ("\x9f", "\\u009f"),
        ("caf\udce9.env", "caf\\xe9.env"),  # surrogateescape: the byte 0xe9
        ("\udc80\udcff", "\\x80\\xff"),
        ("rtl\u202eexe", "rtl\\u202eexe"),
        ("\u2028", "\\u2028"),
        ("\u061c\u200e\u2066\u2069", "\\u061c\\u200e\\u2066\\u2069"),
    ],
)
def test_escape_shows_every_unsafe_character(raw: str, shown_as: str) -> None:
    assert escape(raw) == shown_as


# Each range of keysentry.untrusted's unsafe set, by its first and last character: a
# range dropped from the set fails here. (Every Cf character is checked below as well.)
_INVISIBLE = [
    (0x00, 0x1F), (0x7F, 0x9F), (0xAD, 0xAD), (0x34F, 0x34F), (0x600, 0x605), (0x61C, 0x61C),
    (0x6DD, 0x6DD), (0x70F, 0x70F), (0x890, 0x891), (0x8E2, 0x8E2), (0x115F, 0x1160),
    (0x3164, 0x3164), (0xFFA0, 0xFFA0), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F),
    (0x2028, 0x202E), (0x2060, 0x206F), (0xD800, 0xDFFF), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0xFFF0, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD), (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
]  # fmt: skip


@pytest.mark.parametrize(("first", "last"), _INVISIBLE, ids=lambda c: f"U+{c:04X}")
def test_escape_shows_each_invisible_or_reordering_range(first: int, last: int) -> None:
    for code in {first, (first + last) // 2, last}:
        shown_as = escape(f"a{chr(code)}b")
        assert chr(code) not in shown_as, hex(code)
        assert shown_as.startswith("a\\") and shown_as.endswith("b"), shown_as


def test_escape_shows_every_format_character() -> None:
    """Unicode's format characters (Cf) change how text reads without being seen."""
    import unicodedata

    unseen = [
        code
        for code in range(0x110000)
        if unicodedata.category(chr(code)) == "Cf" and chr(code) in escape(chr(code))
    ]
    assert unseen == []


@pytest.mark.parametrize(
    ("raw", "shown_as"),
    [
        ("sk-or-v1-\u200b", "sk-or-v1-\\u200b"),  # zero-width space
        ("\ufeffname.env", "\\ufeffname.env"),  # BOM
        ("soft\xadhyphen", "soft\\u00adhyphen"),
        ("tag\U000e0041\U000e007f", "tag\\U000e0041\\U000e007f"),  # tag characters
        ("vs\ufe0f", "vs\\ufe0f"),
    ],
)
def test_escape_shows_invisible_characters_and_reads_back(raw: str, shown_as: str) -> None:
    assert escape(raw) == shown_as
    assert unescape_bytes(shown_as) == raw.encode("utf-8")


@pytest.mark.parametrize("safe", ["plain.txt", "ä/日本/файл", "C:\\dir\\x.env", " ~!", "\u00a0é"])
def test_escape_leaves_safe_text_as_it_is(safe: str) -> None:
    assert escape(safe) is safe


@pytest.mark.parametrize(
    ("escaped", "raw"),
    [
        ("caf\\xe9.env", b"caf\xe9.env"),
        ("a\\nb\\rc\\td", b"a\nb\rc\td"),
        ("\\x1b[0m", b"\x1b[0m"),
        ("rtl\\u202e", "rtl\u202e".encode()),
        ("plain/äöü", "plain/äöü".encode()),
        ("\\x00\\xff", b"\x00\xff"),
        ("", b""),
    ],
)
def test_unescape_bytes_gives_back_the_name(escaped: str, raw: bytes) -> None:
    assert unescape_bytes(escaped) == raw


@pytest.mark.parametrize(
    "name", [b"caf\xe9.env", b"x\n\x07\x1b.txt", "déjà\u202e.py".encode(), b"\x80\x81", b"ok"]
)
def test_escape_and_unescape_round_trip(name: bytes) -> None:
    assert unescape_bytes(escape(name.decode("utf-8", "surrogateescape"))) == name


def test_shown_redacts_unless_asked_and_always_escapes() -> None:
    k = key()
    assert shown(f"{k}\n") == redact(k) + "\\n"
    assert shown(f"{k}\n", show_secrets=True) == k + "\\n"


def _result(secret: str, *, show: bool = False, where: str = "") -> ScanResult:
    location = Location(
        path=f"dir/{where}\x1b.env",
        line=1,
        column=2,
        members=(f"m-{where}",),
        commit=CommitInfo("c" * 40, f"author {where}", "2024-01-01", f"subject {where}"),
        snippet=f"x={where}",
    )
    finding = Finding(
        "custom-rule", "high", fingerprint_of(secret), "cus...ret", (location,), secret=secret
    )
    stats = ScanStats(
        counters={"files": 1},
        issues=(Issue("unreadable", f"p/{where}", f"d {where}"),),
        notes=(f"note {where}",),
        configs={f"t/{where}": f"c/{where}"},
    )
    return ScanResult(
        "scan", (f"target/{where}",), (finding,), stats, show_secrets=show, scope=where
    )


def test_a_custom_rule_secret_is_replaced_by_its_redacted_form_in_every_field() -> None:
    secret = "customsecretvalue" + secrets.token_hex(8)  # no key shape: scrub would miss it
    out = for_display(_result(secret, where=secret))
    text = repr(out)  # every field, Finding.secret aside (kept out of repr)
    assert secret not in text
    assert text.count("cus...ret") >= 10
    assert out.findings[0].secret == secret  # kept: SARIF and GitHub need its length
    assert out.findings[0].locations[0].path == "dir/cus...ret\\x1b.env"
    assert out.stats.configs == {"t/cus...ret": "c/cus...ret"}
    assert out.targets == ("target/cus...ret",)
    assert out.scope == "cus...ret"


def test_show_secrets_keeps_secrets_but_still_escapes() -> None:
    secret = key()
    out = for_display(_result(secret, show=True, where=secret))
    assert out.findings[0].locations[0].path == f"dir/{secret}\\x1b.env"
    assert out.stats.notes == (f"note {secret}",)


def test_a_longer_custom_secret_is_replaced_before_a_shorter_one_inside_it() -> None:
    short = "customsecret" + secrets.token_hex(6)
    long = short + "tail" + secrets.token_hex(6)
    loc = Location(path=f"{long} {short}", line=1, column=1)
    findings = tuple(
        Finding("r", "high", fingerprint_of(s), r, (loc,), secret=s)
        for s, r in ((short, "SHORT"), (long, "LONG"))
    )
    out = for_display(ScanResult("scan", (), findings, ScanStats()))
    assert out.findings[0].locations[0].path == "LONG SHORT"


def test_nothing_to_change_is_returned_as_it_is() -> None:
    # The common case, a clean result of clean names, costs no copy.
    location = Location(path="a/b.env", line=1, column=1, members=("m",))
    result = ScanResult(
        "scan",
        ("t",),
        (Finding("r", "high", "f" * 64, "red", (location,), secret=key()),),
        ScanStats(counters={"files": 1}, configs={"t": "c"}, notes=("n",)),
    )
    assert for_display(result) is result


def test_lists_and_mapping_keys_are_walked() -> None:
    k = key()
    result = ScanResult(
        "audit", (), (), ScanStats(), extra={"repositories": [{"repository": f"r/{k}\n"}], k: 1}
    )
    extra = for_display(result).extra
    assert extra == {"repositories": [{"repository": f"r/{redact(k)}\\n"}], redact(k): 1}
    assert isinstance(extra["repositories"], list)


def test_show_secrets_keeps_a_custom_rule_secret_too() -> None:
    secret = "customsecretvalue" + secrets.token_hex(8)
    out = for_display(_result(secret, show=True, where=secret))
    assert out.findings[0].locations[0].commit is not None
    assert out.findings[0].locations[0].commit.summary == f"subject {secret}"


# -- the edges of escape and unescape_bytes ---------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown_as", "as_bytes"),
    [
        # U+0080 is a character (C1 control), not the byte 0x80: \x80 would read back wrong.
        ("\x80", "\\u0080", "\x80".encode()),
        ("\x7f", "\\x7f", b"\x7f"),
        # Only DC80..DCFF stand for undecodable bytes; the lone surrogates around them are
        # characters of their own (from JSON, say) and read back as themselves.
        ("\udc7f", "\\udc7f", "\udc7f".encode("utf-8", "surrogatepass")),
        ("\udc80", "\\x80", b"\x80"),
        ("\udcff", "\\xff", b"\xff"),
        ("\udd00", "\\udd00", "\udd00".encode("utf-8", "surrogatepass")),
        ("\ud800", "\\ud800", "\ud800".encode("utf-8", "surrogatepass")),
        ("\ufffb", "\\ufffb", "\ufffb".encode()),
        ("\U000110bd", "\\U000110bd", "\U000110bd".encode()),
    ],
)
def test_escape_and_unescape_at_each_boundary(raw: str, shown_as: str, as_bytes: bytes) -> None:
    assert escape(f"a{raw}b") == f"a{shown_as}b"
    assert unescape_bytes(f"a{shown_as}b") == b"a" + as_bytes + b"b"


@pytest.mark.parametrize("name", [b"caf\xe9.env", b"\xff", b"x/\x80\x81/y.txt"])
def test_unescape_bytes_takes_a_name_that_was_never_escaped(name: bytes) -> None:
    """A name as os.fsdecode gives it (undecodable bytes as surrogates), escaped or not,
    comes back as the same bytes, before and after an escape in the same text."""
    raw = name.decode("utf-8", "surrogateescape")
    assert unescape_bytes(raw) == name
    assert unescape_bytes(f"{raw}\\n{raw}") == name + b"\n" + name


# -- what the walk reaches --------------------------------------------------------------------


def test_a_dataclass_no_result_used_before_is_walked_and_its_secret_field_kept() -> None:
    """for_display walks any dataclass in a result (a reporter's extra data, a field added
    later), the first time it meets its type as well as later, and leaves fields that
    are not set through __init__ alone (replace() could not set them)."""
    from dataclasses import dataclass, field

    @dataclass(frozen=True)
    class Extra:
        name: str
        secret: str
        derived: str = field(init=False, default="fixed")

    k, other = key(), key()
    result = ScanResult("scan", (), (), ScanStats(), extra={"x": Extra(f"n {k}\n", other)})
    shown_extra = for_display(result).extra["x"]
    assert isinstance(shown_extra, Extra)
    assert shown_extra.name == f"n {redact(k)}\\n"
    assert shown_extra.secret == other  # kept, as a Finding's is
    assert shown_extra.derived == "fixed"


def test_objects_of_other_types_and_string_subclasses() -> None:
    class Opaque:
        def __init__(self, text: str) -> None:
            self.text = text

    class Name(str):
        pass

    k = key()
    opaque = Opaque(k)
    result = ScanResult("scan", (), (), ScanStats(), extra={"o": opaque, "n": Name(f"{k}\t")})
    extra = for_display(result).extra
    assert extra["o"] is opaque  # no fields to walk: left as it is
    assert extra["n"] == f"{redact(k)}\\t"


# -- redacted: what may be kept or sent on ----------------------------------------------------


def test_redacted_hides_each_given_secret_and_its_long_body_and_escapes_nothing() -> None:
    body = "Q" + secrets.token_hex(10)  # 21 characters: no key shape, scrub alone misses it
    secret = "tok-" + body
    found = Finding("custom", "high", fingerprint_of(secret), redact(secret),
                    (Location(f"p/{secret}\n", 1, 1, snippet=f"v={body}"),), secret=secret)  # fmt: skip
    k = key()
    outcome = {"findings": [found], "log": f"saw {k} and {secret}", "n": 3}
    kept = redacted(outcome, [secret])
    [f] = kept["findings"]
    assert f.locations[0].path == f"p/{redact(secret)}\n"  # redacted, not escaped
    assert f.locations[0].snippet == f"v={body[:3]}...{body[-3:]}"
    assert f.secret == secret  # the caller decides whether the secret field goes
    assert kept["log"] == f"saw {redact(k)} and {redact(secret)}"
    assert kept["n"] == 3
    assert body not in repr(kept["log"]) and body[3:-3] not in repr(f.locations)


@pytest.mark.parametrize("prefix", ["tok-", "tok-v2-"])
@pytest.mark.parametrize("length", [15, 16])
def test_redacted_hides_a_body_alone_from_sixteen_characters_on(length: int, prefix: str) -> None:
    """The body is what follows the last dash, as in a key's ``sk-or-v1-`` prefix."""
    body = "Q" + secrets.token_hex(length)[: length - 1]
    secret = prefix + body
    out = redacted(f"[{body}] [{secret}]", [secret])
    shown_body = f"{body[:3]}...{body[-3:]}" if length >= 16 else body
    assert out == f"[{shown_body}] [{redact(secret)}]"


def test_redacted_leaves_a_secret_without_a_dash_whole_only() -> None:
    secret = "Q" + secrets.token_hex(12)  # body == secret: redacted as a whole, once
    assert redacted(f"<{secret}>", [secret]) == f"<{redact(secret)}>"


def test_redacted_takes_secrets_literally_and_skips_empty_ones() -> None:
    secret = "tok-a.b+c*d(e)f?g[h]i|j$"  # pattern characters are the secret's own text
    text = f"{secret} / tok-aXb+c*d(e)f?g[h]i|j$ / plain"
    assert redacted(text, ["", secret]) == f"{redact(secret)} / tok-aXb+c*d(e)f?g[h]i|j$ / plain"
    assert redacted("plain text", [""]) == "plain text"


def test_redacted_scrubs_key_shapes_without_being_told() -> None:
    k = key()
    assert redacted((f"a {k}", [k], {k: k}), ()) == (
        f"a {redact(k)}",
        [redact(k)],
        {redact(k): redact(k)},
    )
    unchanged = ("plain", ["x"], {"a": 1})
    assert redacted(unchanged, [key()]) is unchanged

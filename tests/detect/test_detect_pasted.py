"""Keys as they are pasted: invisible characters inside, wrapped at a fixed column, split
after any character, through `scan` and `history`."""

from __future__ import annotations

import quopri
import secrets
from pathlib import Path

import pytest

from conftest import PREFIX
from formhelpers import found_in_both, nothing_in_both
from keysentry.decoders.joins import INVISIBLE

PLACEHOLDER = PREFIX + "0" * 64


# Written out, not taken from the decoder's list: dropping one there must fail here.
CHARS = {"\u200b": "ZWSP", "\u200c": "ZWNJ", "\u200d": "ZWJ", "\u2060": "WJ", "\u00ad": "SHY",
         "\ufeff": "BOM"}  # fmt: skip


def test_the_decoder_knows_each_character() -> None:
    assert set(INVISIBLE) == set(CHARS)


@pytest.mark.parametrize("char", list(CHARS), ids=list(CHARS.values()))
@pytest.mark.parametrize("at", [1, 4, 9, 40, 72])
def test_an_invisible_character_inside_a_key(tmp_path: Path, key: str, char: str, at: int) -> None:
    text = f"Here is the key: {key[:at]}{char}{key[at:]} (copied from chat)\n"
    (loc,) = found_in_both(tmp_path, "chat.txt", text, key)
    assert (loc["line"], loc["column"], loc["decoders"]) == (1, 18, ["invisible"])
    assert key not in loc["snippet"] and "·" in loc["snippet"]


def test_one_after_every_character(tmp_path: Path, key: str) -> None:
    (loc,) = found_in_both(tmp_path, "web.html", "<p>" + "\u200b".join(key) + "</p>\n", key)
    assert loc["decoders"] == ["invisible"]


def test_invisible_characters_never_invent_a_key(tmp_path: Path, key: str) -> None:
    body = key[len(PREFIX) :]
    nothing_in_both(tmp_path / "a", "a.txt", f"{key[:30]}\u200b{key[30:]}\u200bff\n")
    nothing_in_both(tmp_path / "b", "b.txt", f"{PREFIX}{body[:40]}\u200b{body[40:-1]}\n")
    nothing_in_both(tmp_path / "c", "c.txt", f"{PLACEHOLDER[:20]}\u00ad{PLACEHOLDER[20:]}\n")
    # A key with a BOM or a space before it is plain: found once, by the raw scan.
    (loc,) = found_in_both(tmp_path / "d", "d.txt", f"\ufeff{key}\n", key)
    assert loc["decoders"] == []


@pytest.mark.parametrize("width", [24, 40, 64, 80])  # 8 or more key characters on the last line
def test_a_terminal_paste_wrapped_at_a_fixed_column(tmp_path: Path, key: str, width: int) -> None:
    line = f"$ echo $OPENROUTER_API_KEY; echo {key}"
    # A terminal wraps at its last column, whatever the character.
    wrapped = "\n".join(line[i : i + width] for i in range(0, len(line), width))
    assert key not in wrapped
    (loc,) = found_in_both(tmp_path, "paste.txt", wrapped + "\n$ exit\n", key)
    assert loc["decoders"] == ["line-wrap"]
    assert "⏎" in loc["snippet"] and key[len(PREFIX) + 3 : -3] not in loc["snippet"]


@pytest.mark.parametrize("cut", [*range(1, 12), 20, 40, 60, 65])
def test_a_break_at_any_position_of_the_key(tmp_path: Path, key: str, cut: int) -> None:
    """Each trigger is needed: the break before 'k', '-', 'o', 'r', '-', 'v' is found by
    its own, the later ones by the rules' keyword."""
    pad = "x" * max(16, len(key) - 2 * cut)  # the first line as long as the rest
    text = f"{pad} {key[:cut]}\n{key[cut:]}\n"
    (loc,) = found_in_both(tmp_path, "w.txt", text, key)
    assert loc["decoders"] == ["line-wrap"]


def test_a_quoted_printable_soft_break(tmp_path: Path, key: str) -> None:
    body = quopri.encodestring(("word " * 11 + key + "\n").encode()).decode()
    assert "=\n" in body
    (loc,) = found_in_both(tmp_path, "body.txt", body, key)
    assert loc["decoders"] == ["line-wrap"]


@pytest.mark.parametrize(
    "text",
    [
        "KEY={a}\n{b}\n",  # too short a first line to be a wrapped one
        "OPENROUTER_API_KEY={a20}\n{b20}\n",  # the second line is longer: not a wrap
        "OPENROUTER_API_KEY={a20}\n{b20a}\n{b20b}\n",  # lines of different widths
        "an export line that is long enough: {a70}\n{b70}\n",  # too little on the last line
        "prefix text for a long line: {a40}\n{b40}ff\n",  # a longer hex run
        "prefix text for a long line: {a40}\n{b40}_x\n",  # the word goes on
    ],
)
def test_wraps_that_are_not(tmp_path: Path, key: str, text: str) -> None:
    content = text.format(
        a=key[:10],
        b=key[10:],
        a40=key[:40],
        b40=key[40:],
        a20=key[:20],
        b20=key[20:],
        b20a=key[20:50],
        a70=key[:70],
        b70=key[70:],
        b20b=key[50:],
    )
    nothing_in_both(tmp_path, "n.txt", content)


def test_a_wrapped_placeholder_is_not_reported(tmp_path: Path) -> None:
    line = "KEY=" + PLACEHOLDER
    wrapped = "\n".join(line[i : i + 30] for i in range(0, len(line), 30))
    nothing_in_both(tmp_path, "p.txt", wrapped + "\n")


# The key is located at its first character, inside the first literal's quotes.
SPLITS = [
    ("a.js", 'const k = "s" + "{r}";\n', (1, 12)),
    ("a.py", "k = 's' '{r}'\n", (1, 6)),
    ("b.py", 'k = ("s"\n     "{r}")\n', (1, 7)),
    ("a.sh", "export K=s'{r}'\n", (1, 10)),
    ("a.rs", 'let k = concat!("s", "{r}");\n', (1, 18)),
    ("a.ts", "const k = `s` + `{r}`;\n", (1, 12)),
]


@pytest.mark.parametrize(("name", "template", "where"), SPLITS, ids=[s[0] for s in SPLITS])
def test_a_split_after_the_first_character(
    tmp_path: Path, key: str, name: str, template: str, where: tuple[int, int]
) -> None:
    (loc,) = found_in_both(tmp_path, name, template.format(r=key[1:]), key)
    assert (loc["line"], loc["column"], loc["decoders"]) == (*where, ["concat"])
    assert loc["snippet"].count("s") >= 1 and key[12:-3] not in loc["snippet"]


@pytest.mark.parametrize(
    "template",
    [
        'k = "s" + middle + "{r}";\n',  # a variable between
        'k = "xs" + "{r}";\n',  # the first literal is more than "s"
        "k = s + '{r}'\n",  # a bare s is a name, not a shell word
        "K=abcs'{r}'\n",  # a longer bare word
        'k = "s" + "{r}0";\n',  # a longer hex run
        'f("s", "{r}")\n',  # arguments, not a concatenation
    ],
)
def test_first_character_splits_that_are_not(tmp_path: Path, key: str, template: str) -> None:
    nothing_in_both(tmp_path, "n.js", template.format(r=key[1:]))


@pytest.mark.parametrize("quote", ['"', "'", "`"])
def test_each_quote_of_the_second_literal(tmp_path: Path, key: str, quote: str) -> None:
    text = f"k = {quote}s{quote} + {quote}{key[1:]}{quote};\n"
    (loc,) = found_in_both(tmp_path, "q.js", text, key)
    assert loc["decoders"] == ["concat"]


def test_placeholders_split_after_the_first_character(tmp_path: Path) -> None:
    nothing_in_both(tmp_path, "p.js", f'k = "s" + "{PLACEHOLDER[1:]}";\n')


def test_random_other_keys_are_still_whole(tmp_path: Path) -> None:
    key = PREFIX + secrets.token_hex(32)
    (loc,) = found_in_both(tmp_path, "k.js", f'k = "{key}";\n', key)
    assert loc["decoders"] == []

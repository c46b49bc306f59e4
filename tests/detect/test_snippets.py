"""A snippet shows the key's line with every key-shaped run on it redacted: its
neighbours too, whole or cut by the snippet's edge, reported or not."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import PREFIX, make_key
from keysentry.cli import main
from keysentry.detect.rules import load_rules
from keysentry.detect.scanner import _KEY_SHAPED, KEY_SHAPED_RULES, Scanner
from keysentry.models import redact
from keysentry.report.plan import FORMATS

RULES = load_rules([])


def windows(text: str, size: int = 12) -> set[str]:
    body = text.rpartition("-")[2]
    return {body[i : i + size] for i in range(len(body) - size + 1)}


def snippets(data: bytes) -> list[str]:
    hits = Scanner(RULES).scan_bytes(data, "x").hits
    assert hits
    return [h.snippet for h in hits]


def assert_hidden(snippet: str, *secrets_: str, size: int = 12) -> None:
    for secret in secrets_:
        shown = [w for w in windows(secret, size) if w in snippet]
        assert not shown, f"{shown} of {redact(secret)} in {snippet!r}"


def test_two_keys_on_one_line_hide_each_other() -> None:
    a, b = make_key(), make_key()
    found = snippets(f'a="{a}",b="{b}"\n'.encode())
    assert len(found) == 2
    for snippet in found:
        assert_hidden(snippet, a, b)
        # The neighbour is shown, redacted and whole: the reader sees what sits there.
        assert redact(a) in snippet and redact(b) in snippet


def test_repeated_key_in_wrapped_base64() -> None:
    key = make_key()
    data = base64.encodebytes(f'x="{key}";y="{key}";'.encode() * 3)
    found = snippets(data)
    assert len(found) >= 6
    for snippet in found:
        assert_hidden(snippet, key)


NEIGHBOURS = {
    "placeholder": lambda: PREFIX + "ab" * 32,  # counted, not reported
    "other-version": lambda: "sk-or-v2-" + secrets.token_hex(32),
    "over-long": lambda: PREFIX + secrets.token_hex(40),  # never cut into a key
    "bare-body": lambda: secrets.token_hex(32),
    "percent-encoded": lambda: "sk-or-v1%2D" + secrets.token_hex(32),
}


@pytest.mark.parametrize("kind", NEIGHBOURS)
def test_unreported_neighbours_do_not_leak(kind: str) -> None:
    key, neighbour = make_key(), NEIGHBOURS[kind]()
    for line in (f"{key} {neighbour}\n", f"{neighbour} {key}\n"):
        for snippet in snippets(line.encode()):
            assert_hidden(snippet, key, neighbour)


@pytest.mark.parametrize("gap", range(40, 75, 3))
def test_a_neighbour_cut_by_the_snippet_edge_shows_no_digit(gap: int) -> None:
    """However the edge falls (in the prefix, at the dash, in the body), no digit of
    the cut neighbour is shown beyond its redacted form."""
    key, after, before = make_key(), make_key(), make_key()
    filler = "." * gap
    line = f"{before}{filler}{key}{filler}{after}\n".encode()
    [snippet] = [h.snippet for h in Scanner(RULES).scan_bytes(line, "x").hits if h.secret == key]
    assert_hidden(snippet, before, after, size=4)


def test_a_cut_hex_tail_without_its_prefix_is_hidden() -> None:
    """A run of hex digits too long for the snippet's reach: its cut end is not shown."""
    key = make_key()
    tail = secrets.token_hex(400)
    for line in (f"{tail} {key}\n", f"{key} {tail}\n", f"{PREFIX}{tail}{key}\n"):
        [snippet] = snippets(line.encode())
        assert_hidden(snippet, "-" + tail, size=8)


@pytest.mark.parametrize("fmt", FORMATS)
def test_neighbours_hidden_in_every_format(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, c = make_key(), make_key(), make_key()
    (tmp_path / "two.env").write_text(f'a="{a}",b="{b}"\n')
    (tmp_path / "wrapped.b64").write_bytes(base64.encodebytes(f'x="{c}";y="{c}";'.encode() * 3))
    out = tmp_path / "report.out"
    assert main(["scan", str(tmp_path / "two.env"), str(tmp_path / "wrapped.b64"),
                 "--format", fmt, "-o", str(out)]) == 1  # fmt: skip
    text = out.read_text() + capsys.readouterr().err
    for secret in (a, b, c):
        assert_hidden(text, secret)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_the_rules_a_snippet_leaves_to_the_key_shape_are_covered_by_it(data: st.DataObject) -> None:
    """KEY_SHAPED_RULES are not asked again for a snippet's redaction: every match of each
    must lie inside a run the key-shaped pattern finds by itself, wherever it sits."""
    rules = {r.id: r for r in load_rules()}
    assert set(rules) >= KEY_SHAPED_RULES
    for rule_id in sorted(KEY_SHAPED_RULES):
        rule = rules[rule_id]
        match = data.draw(st.from_regex(rule.pattern, fullmatch=True))
        before = data.draw(st.binary(max_size=8))
        after = data.draw(st.binary(max_size=8))
        text = before + match + after
        for m in rule.pattern.finditer(text):
            lo, hi = m.span(rule.secret_group)
            assert any(s.start() <= lo and hi <= s.end() for s in _KEY_SHAPED.finditer(text)), (
                rule_id,
                text,
            )

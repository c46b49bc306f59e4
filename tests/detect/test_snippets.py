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
from keysentry.models import fingerprint_of, redact
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


# -- the shape of a snippet, as a report shows it ----------------------------------------------

_EXCO = """schema_version = 1

[[rules]]
id = "exco-token"
description = "Example Corp API token"
severity = "high"
keywords = ["exco_"]
regex = 'exco_[0-9a-f]{40}(?![0-9a-f])'
examples = ["TOKEN=exco_{hex40}"]
negatives = ["TOKEN=exco_{hex39}"]
"""


def _shapes(key: str, r: str, other: str, hex32: str, exco: str) -> dict[str, tuple[bytes, str]]:
    """file name -> (content, the key's snippet as the JSON report shows it)."""
    k = key.encode()
    words = "word " * 12
    return {
        "plain.env": (f'token = "{key}"  # prod\n'.encode(), f'token = "{r}"  # prod'),
        "blank.txt": (f"first\n   \t {key}   \nlast\n".encode(), r),
        "crlf.env": (b"A=1\r\nKEY=" + k + b"\r\nB=2\r\n", f"KEY={r}"),
        "lone-cr.txt": (b"safe\rKEY=" + k + b" \r \n", f"safe·KEY={r} ·"),
        "controls.bin": (b"\x00\x01a\tb=" + k + b"\n", f"··a\\tb={r}"),
        "undecodable.txt": (b"\xff= " + k + b" \xfe\n", f"\ufffd= {r} \ufffd"),
        # A line longer than the snippet: 60 characters each side, "…" where it is cut.
        "words.txt": (
            f"{'word ' * 40}{key}{' word' * 40}\n".encode(),
            f"…{words}{r} {words.strip()}…",
        ),
        "far.txt": (
            f"{'word ' * 400}{key}{' word' * 400}\n".encode(),
            f"…{words}{r} {words.strip()}…",
        ),
        # An edge that cuts a word shows none of it.
        "one-word.txt": (f"{'x' * 200} {key} {'y' * 200}\n".encode(), f"…{r}…"),
        "cut-right.txt": (f"{key} {'z' * 100}\n".encode(), f"{r}…"),
        "edge-59.txt": (f"{'x' * 59} {key}\n".encode(), f"{'x' * 59} {r}"),
        "edge-60.txt": (f"{'x' * 60} {key}\n".encode(), f"…{r}"),
        "edge-right-59.txt": (f"{key} {'y' * 59}\n".encode(), f"{r} {'y' * 59}"),
        "edge-right-60.txt": (f"{key} {'y' * 60}\n".encode(), f"{r}…"),
        # A neighbour the edge cuts is shown whole, redacted; other runs by their first three.
        "cut-left.txt": (f"{other}{'.' * 50}{key}\n".encode(), f"{redact(other)}{'.' * 50}{r}"),
        "cut-after.txt": (f"{key}{'.' * 50}{other}\n".encode(), f"{r}{'.' * 50}{redact(other)}"),
        "runs.txt": (
            f"b={hex32} c={exco} a={key};\n".encode(),
            f"…{hex32[:3]}... c=exc... a={r};",
        ),
        # A custom rule's match on a later line is redacted where it is, not where it would
        # be on the first line.
        "runs-line-2.txt": (f"first\nc={exco} a={key}\n".encode(), f"c=exc... a={r}"),
        # The line is the last one before the key, whatever lines come before it.
        "lines.txt": (b"one\ntwo\nKEY=" + k + b"\n", f"KEY={r}"),
        "crlf-tail.env": (b"KEY=" + k + b";\r\nB=2\r\n", f"KEY={r};"),
        "no-newline.txt": (f"KEY={key} end".encode(), f"KEY={r} end"),
        # A run that ends or starts exactly at the edge is outside: it is not shown at all.
        "edge-run-left.txt": (f"{other}{'.' * 60}{key}\n".encode(), f"…{'.' * 60}{r}"),
        "edge-run-right.txt": (f"{key}{'.' * 60}{other}\n".encode(), f"{r}{'.' * 60}…"),
        "far-run.txt": (
            f"{hex32} {'.' * 100} {key}\n".encode(),
            f"…{'.' * 59} {r}",
        ),
        # Two runs side by side are two runs: the key keeps its redacted form.
        "adjacent-runs.txt": (f"{hex32}{key}\n".encode(), f"{hex32[:3]}...{r}"),
        # A cut word is dropped up to the first character that is not a word's, no further.
        "word-then-text.txt": (f"{'y' * 80} abc {key}\n".encode(), f"…abc {r}"),
        "text-then-word.txt": (f"{key} abc {'y' * 80}\n".encode(), f"{r} abc…"),
        # A run longer than the reach is shown by its first three characters from where the
        # reach begins, and the line goes on past it on either side.
        "long-run-left.txt": (
            f"{'a' * 200}{'b' * 600} {key}\n".encode(),
            f"…aaa... {r}",
        ),
        "long-run-right.txt": (f"{key} {'c' * 1000} tail\n".encode(), f"{r} ccc...…"),
        # ... but not where the run ends the line, and from the second byte on it goes on.
        "run-to-line-end.txt": (f"{key} {'c' * 599}\nnext\n".encode(), f"{r} ccc..."),
        "reach-at-1.txt": (f"{'a' * 660} {key}\n".encode(), f"…aaa... {r}"),
        # A run the edge cuts is shown whole even where a word runs on from it.
        "cut-run-then-word.txt": (
            f"{'w' * 10}x{hex32}ghij{'.' * 40} {key}\n".encode(),
            f"…{hex32[:3]}...ghij{'.' * 40} {r}",
        ),
        "word-then-cut-run.txt": (
            f"{key}{'.' * 40}ghij{hex32}{'x' * 10}\n".encode(),
            f"{r}{'.' * 40}ghij{hex32[:3]}...…",
        ),
    }


def test_a_snippet_is_the_key_s_line_trimmed_and_redacted(tmp_path: Path) -> None:
    from conftest import PREFIX as prefix
    from scanhelpers import run_json

    keys: dict[str, str] = {}
    expected: dict[str, str] = {}
    tree = tmp_path / "tree"
    tree.mkdir()
    other, hex32 = make_key(), secrets.token_hex(16)
    exco = "exco_" + secrets.token_hex(20)
    for name in _shapes(prefix, prefix, other, hex32, exco):
        key = make_key()
        content, snippet = _shapes(key, redact(key), other, hex32, exco)[name]
        (tree / name).write_bytes(content)
        keys[name], expected[name] = key, snippet
    rules = tmp_path / "exco.toml"
    rules.write_text(_EXCO)
    code, report = run_json(tmp_path, "scan", str(tree), "--rules", str(rules))
    assert code == 1
    shown: dict[str, str] = {}
    for finding in report["findings"]:
        for loc in finding["locations"]:
            name = Path(loc["path"]).name
            if finding["fingerprint"] == fingerprint_of(keys.get(name, "")):
                shown[name] = loc["snippet"]
    assert shown == expected


def test_a_custom_rule_s_snippet_hides_the_key_beside_it(tmp_path: Path) -> None:
    from scanhelpers import run_json

    key, exco = make_key(), "exco_" + secrets.token_hex(20)
    (tmp_path / "pair.env").write_text(f"EXCO={exco} OR={key}\n")
    rules = tmp_path / "exco.toml"
    rules.write_text(_EXCO)
    code, report = run_json(tmp_path, "scan", str(tmp_path / "pair.env"), "--rules", str(rules))
    assert code == 1
    snippets = {f["rule_id"]: f["locations"][0]["snippet"] for f in report["findings"]}
    assert snippets == {
        "exco-token": f"EXCO=exc... OR={redact(key)}",
        "openrouter-api-key": f"EXCO=exc... OR={redact(key)}",
    }


_ODD_RULES = """schema_version = 1

[[rules]]
id = "two-line-password"
description = "A password on the line after its label"
severity = "high"
keywords = ["MYPASS:"]
regex = 'MYPASS:\\s+(?P<secret>[g-z]{32})(?![g-z])'

[[rules]]
id = "latin1-token"
description = "A token behind a byte that is not UTF-8"
severity = "high"
keywords = ["tok_"]
regex = '\\xfftok_[0-9a-f]{40}(?![0-9a-f])'

[[rules]]
id = "tail-token"
description = "A token that takes the hex digits before it"
severity = "high"
keywords = ["ztok"]
regex = '[0-9a-f]{8}ztok'

[[rules]]
id = "letters-token"
description = "A token of letters no hex pattern covers"
severity = "high"
keywords = ["gz_"]
regex = 'gz_[g-z]{32}(?![g-z])'
"""


def test_a_key_its_rule_finds_only_with_context_off_its_line_is_still_hidden(
    tmp_path: Path,
) -> None:
    """The key itself is always redacted in its snippet, even when its rule would not find
    it again within the snippet's reach (the label is on the line before); a match that
    starts with a byte that is not UTF-8 is shown escaped; and a run merged from a key and
    a custom match that runs past its end is not shown as a key's redacted form, which
    would show the match's last characters."""
    from scanhelpers import run_json

    password = "".join(secrets.choice("ghijklmnopqrstuvwxyz") for _ in range(32))
    token = "tok_" + secrets.token_hex(20)
    key = make_key()
    (tmp_path / "a.yaml").write_bytes(f"MYPASS:\n    {password} # prod\n".encode())
    (tmp_path / "b.txt").write_bytes(b"X=\xff" + token.encode() + b"\n")
    (tmp_path / "c.txt").write_bytes(f"K={key}ztok;\n".encode())
    rules = tmp_path / "odd.toml"
    rules.write_text(_ODD_RULES)
    code, report = run_json(tmp_path, "scan", str(tmp_path), "--rules", str(rules))
    assert code == 1
    shown = {
        (f["rule_id"], Path(loc["path"]).name): loc["snippet"]
        for f in report["findings"]
        for loc in f["locations"]
    }
    assert shown == {
        ("two-line-password", "a.yaml"): f"{password[:3]}... # prod",
        ("latin1-token", "b.txt"): "X=\\xffto...",
        ("openrouter-api-key", "c.txt"): "K=sk-...;",
    }


def test_the_scanner_s_own_snippet_hides_what_its_report_would_hide_again(tmp_path: Path) -> None:
    """The report redacts every found secret in every field once more; the scanner's
    snippet must not rely on that (other layers, a library user, read it first): the key
    is redacted there even where its rule cannot find it again, and a custom match on a
    later line is redacted where it is."""
    rules_file = tmp_path / "odd.toml"
    rules_file.write_text(_ODD_RULES)
    scanner = Scanner(load_rules([rules_file]))

    def letters() -> str:
        return "".join(secrets.choice("ghijklmnopqrstuvwxyz") for _ in range(32))

    password, token, key = letters(), "gz_" + letters(), make_key()
    [hit] = scanner.scan_bytes(f"MYPASS:\n    {password} # prod\n".encode(), "x").hits
    assert hit.snippet == f"{password[:3]}... # prod"
    hits = scanner.scan_bytes(f"first\nc={token} a={key}\n".encode(), "x").hits
    assert {h.snippet for h in hits} == {f"c=gz_... a={redact(key)}"}

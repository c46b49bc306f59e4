"""Every rule's positive and negative examples, and the rule-file checks."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest

from keysentry.engine import Engine
from keysentry.errors import RuleError
from keysentry.rules import Rule, load_rules, parse_rule_file

RULES = load_rules()
_TEMPLATE = re.compile(r"\{(key|hex\d+|HEX\d+|fill:[^}]+|few:\d+)\}")


def expand(template: str) -> tuple[str, list[str]]:
    """The example text and the keys it must yield ({key} placeholders)."""
    keys: list[str] = []

    def sub(m: re.Match[str]) -> str:
        token = m.group(1)
        if token == "key":
            k = "sk-or-" + "v1-" + secrets.token_hex(32)
            keys.append(k)
            return k
        if token.startswith("hex"):
            return secrets.token_hex(32)[: int(token[3:])].ljust(int(token[3:]), "7")
        if token.startswith("HEX"):
            return secrets.token_hex(40)[: int(token[3:])].upper().ljust(int(token[3:]), "7")
        if token.startswith("fill:"):
            s = token[5:]
            return (s * 64)[:64]
        digits = secrets.token_hex(8)[: int(token[4:])]
        return "".join(secrets.choice(digits) for _ in range(64))

    return _TEMPLATE.sub(sub, template), keys


def _matches(rule: Rule, text: str) -> list[str]:
    engine = Engine([rule])
    return [c.secret for c in engine.match(text.encode("utf-8")) if c.placeholder is None]


CASES = [(r, ex, True) for r in RULES for ex in r.examples] + [
    (r, ex, False) for r in RULES for ex in r.negatives
]


@pytest.mark.parametrize(
    ("rule", "template", "positive"),
    CASES,
    ids=[f"{r.id}:{'pos' if p else 'neg'}:{i}" for i, (r, _, p) in enumerate(CASES)],
)
def test_rule_examples(rule: Rule, template: str, positive: bool) -> None:
    for _ in range(3):  # fresh random keys each round
        text, keys = expand(template)
        found = _matches(rule, text)
        if positive:
            if keys:
                assert sorted(found) == sorted(keys)
            else:
                assert found, f"no match in example {template!r}"
        else:
            assert found == [], f"negative example {template!r} matched"


def test_every_rule_has_examples() -> None:
    for rule in RULES:
        assert rule.examples and rule.negatives, rule.id


def test_rule_files_hold_no_key_shaped_literal() -> None:
    text = (Path(__file__).parents[1] / "rules" / "openrouter.toml").read_text()
    assert not re.search(r"sk-or-v1-[0-9a-f]{64}", text)


BASE = """
[[rules]]
id = "x-rule"
description = "d"
severity = "high"
keywords = ["abc"]
regex = 'abc[0-9]+'
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not toml [[", "not valid TOML"),
        (BASE.replace('severity = "high"', 'severity = "urgent"'), "'severity' must be one of"),
        (BASE.replace("regex = 'abc[0-9]+'", "regex = 'abc[0-9'"), "does not compile"),
        (BASE.replace('keywords = ["abc"]', 'keywords = ["zzz"]'), "keyword must appear"),
        (BASE.replace('id = "x-rule"', 'id = "X Rule"'), "'id' must be"),
        (BASE + 'colour = "red"\n', "unknown key(s): colour"),
        (BASE.replace('description = "d"\n', ""), "missing required key 'description'"),
        ("schema_version = 7\n" + BASE, "unsupported schema_version"),
    ],
)
def test_malformed_rule_file_names_file_rule_and_problem(text: str, message: str) -> None:
    with pytest.raises(RuleError) as err:
        parse_rule_file(text, "custom.toml")
    assert "custom.toml" in str(err.value)
    assert message in str(err.value)
    if (
        "x-rule" in text
        and "TOML" not in message
        and "schema" not in message
        and "'id'" not in message
    ):
        assert "x-rule" in str(err.value)


def test_extra_rule_file_loads_and_duplicate_ids_fail(tmp_path: Path) -> None:
    extra = tmp_path / "extra.toml"
    extra.write_text(BASE)
    assert [r.id for r in load_rules([extra])][-1] == "x-rule"
    with pytest.raises(RuleError, match="duplicate id"):
        load_rules([extra, extra])
    with pytest.raises(RuleError, match="cannot read rule file"):
        load_rules([tmp_path / "missing.toml"])

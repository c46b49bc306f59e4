"""Every rule's positive and negative examples, and the rule-file checks."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

import conftest
from keysentry.cli import main
from keysentry.detect.engine import Engine
from keysentry.detect.rules import Rule, expand_example, load_rules, parse_rule_file
from keysentry.errors import RuleError

RULES = load_rules()
_FRESH = random.SystemRandom()


def expand(template: str) -> tuple[str, list[str]]:
    """The example text and the keys it must yield ({key} placeholders), fresh each call."""
    return expand_example(template, _FRESH)


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


def test_builtin_rules_pass_the_load_time_check() -> None:
    # Skipped when the package loads them (this file checks them instead); it must hold.
    from keysentry.detect.rules import check_examples

    assert [check_examples(rule) for rule in RULES] == [None] * len(RULES)


def test_every_rule_has_examples() -> None:
    for rule in RULES:
        assert rule.examples and rule.negatives, rule.id


def test_rule_files_hold_no_key_shaped_literal() -> None:
    text = (conftest.ROOT / "rules" / "openrouter.toml").read_text()
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


# -- examples and negatives are checked when a rule file loads ------------------------------

EXCO = """
[[rules]]
id = "exco-token"
description = "Example Corp token"
severity = "high"
keywords = ["exco_"]
regex = 'exco_[0-9a-f]{40}(?![0-9a-f])'
examples = ["TOKEN=exco_{hex40}", "x = 'exco_{hex40}'"]
negatives = ["TOKEN=exco_{hex39}", "TOKEN=exco_{hex41}"]
"""


def test_matching_examples_load() -> None:
    [rule] = parse_rule_file(EXCO, "exco.toml")
    assert rule.examples and rule.negatives


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (("{hex40}'\"]", "{hex39}'\"]"), "example #2 \"x = 'exco_{hex39}'\" does not match"),
        (('"TOKEN=exco_{hex41}"', '"exco_{hex40}"'), "negative #2 'exco_{hex40}' matches"),
        # The placeholder model counts: a repeated body is not a match, as in a scan.
        (('"TOKEN=exco_{hex40}"', '"TOKEN=exco_{fill:0}"'), "example #1"),
        # A {key} in an example must come out as that key, not merely as some match.
        (('"TOKEN=exco_{hex40}"', '"{key} exco_{hex40}"'), "example #1"),
    ],
)
def test_disagreeing_example_is_a_configuration_error(
    change: tuple[str, str], problem: str
) -> None:
    text = EXCO.replace(*change)
    assert text != EXCO
    with pytest.raises(RuleError) as err:
        parse_rule_file(text, "exco.toml")
    assert str(err.value).startswith("exco.toml: rule 'exco-token': ")
    assert problem in str(err.value)


def test_a_literal_token_in_a_failing_example_is_redacted(tmp_path: Path) -> None:
    token = "exco_" + secrets_hex(40)
    key = "sk-or-" + "v1-" + secrets_hex(64)
    rules = tmp_path / "exco.toml"
    rules.write_text(EXCO.replace('"TOKEN=exco_{hex41}"', f'"TOKEN={token}", "{key}"'))
    with pytest.raises(RuleError) as err:
        load_rules([rules])
    message = str(err.value)
    assert message.startswith(f"{rules}: rule 'exco-token': negative #2")
    assert token not in message and token[5:] not in message
    assert token[-3:] in message  # redacted, not dropped: the user can still find it


def test_bad_example_exits_2_naming_file_rule_and_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "exco.toml"
    rules.write_text(EXCO.replace('"TOKEN=exco_{hex40}"', '"TOKEN=exco_{HEX40}"'))
    (tmp_path / "a.txt").write_text("nothing\n")
    assert main(["scan", str(tmp_path / "a.txt"), "--rules", str(rules)]) == 2
    err = capsys.readouterr().err
    assert str(rules) in err and "exco-token" in err and "'TOKEN=exco_{HEX40}'" in err
    assert "Traceback" not in err


def test_odd_templates_do_not_crash_the_loader() -> None:
    text = EXCO.replace('"TOKEN=exco_{hex41}"', '"{few:0} {hex99999} {few:99}"')
    [rule] = parse_rule_file(text, "exco.toml")
    assert rule.negatives[-1] == "{few:0} {hex99999} {few:99}"


def test_check_is_deterministic() -> None:
    # A rule file is good or bad, never by chance: the same file expands the same way.
    rng_a, rng_b = random.Random("x"), random.Random("x")
    assert expand_example("{key} {hex7} {few:3}", rng_a) == expand_example(
        "{key} {hex7} {few:3}", rng_b
    )


def secrets_hex(count: int) -> str:
    return "".join(_FRESH.choice("0123456789abcdef") for _ in range(count))

"""Load and check rule files: rules are data (TOML), shipped in the package."""

from __future__ import annotations

import random
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from keysentry.detect.placeholders import placeholder_reason
from keysentry.errors import RuleError
from keysentry.models import SEVERITIES, Severity, scrub_secrets
from keysentry.regular import read_regular

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

BUILTIN_RULE_FILES = ("openrouter.toml",)
SUPPORTED_SCHEMA = 1
_RULE_KEYS = {
    "id",
    "description",
    "severity",
    "keywords",
    "regex",
    "placeholder_model",
    "remediation",
    "known_examples_sha256",
    "examples",
    "negatives",
}
_REQUIRED = ("id", "description", "severity", "keywords", "regex")
_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,63}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# Counts are at most 4 digits: a rule file cannot make the loader build a huge string.
_TEMPLATE = re.compile(r"\{(key|hex\d{1,4}|HEX\d{1,4}|fill:[^}]+|few:\d{1,4})\}")
# Split so that this file holds no key-shaped literal.
_KEY_PREFIX = "sk-or-" + "v1-"
_SECRETISH = re.compile(r"[A-Za-z0-9_+/-]{16,}")


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    description: str
    severity: Severity
    keywords: tuple[bytes, ...]
    """Literal byte strings; a chunk without any of them is never matched by the regex."""
    pattern: re.Pattern[bytes] = field(compare=False)
    placeholder_model: bool = True
    remediation: str = ""
    known_examples: frozenset[str] = frozenset()
    """sha256 digests of published example keys, suppressed as placeholders."""
    examples: tuple[str, ...] = field(default=(), repr=False, compare=False)
    negatives: tuple[str, ...] = field(default=(), repr=False, compare=False)
    origin: str = ""
    """The rule file it came from."""

    @property
    def secret_group(self) -> int | str:
        return "secret" if "secret" in self.pattern.groupindex else 0


def builtin_rules_digest() -> str:
    """The SHA-256 of the built-in rule files (names and contents, in order): which rules
    this install applies, shown by ``keysentry --version`` and part of what an audit's
    resume compares."""
    import hashlib

    package = resources.files("keysentry.builtin_rules")
    sha = hashlib.sha256()
    for name in BUILTIN_RULE_FILES:
        sha.update(name.encode() + b"\0" + package.joinpath(name).read_bytes() + b"\0")
    return sha.hexdigest()


def load_rules(extra: Iterable[Path] = (), *, builtin: bool = True) -> tuple[Rule, ...]:
    """The built-in rules followed by those of each extra file; ids must be unique."""
    rules: list[Rule] = []
    if builtin:
        package = resources.files("keysentry.builtin_rules")
        for name in BUILTIN_RULE_FILES:
            text = package.joinpath(name).read_text(encoding="utf-8")
            rules.extend(parse_rule_file(text, f"<builtin>/{name}", check=False))
    for path in extra:
        try:
            text = read_regular(path).decode("utf-8")
        except OSError as exc:
            raise RuleError(f"cannot read rule file {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise RuleError(f"rule file {path} is not UTF-8 text") from None
        rules.extend(parse_rule_file(text, str(path)))
    seen: dict[str, str] = {}
    for rule in rules:
        if rule.id in seen:
            raise RuleError(
                f"{rule.origin}: rule {rule.id!r}: duplicate id (also defined in {seen[rule.id]})"
            )
        seen[rule.id] = rule.origin
    return tuple(rules)


def parse_rule_file(text: str, origin: str, *, check: bool = True) -> list[Rule]:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{origin}: not valid TOML: {exc}") from None
    version = doc.get("schema_version", SUPPORTED_SCHEMA)
    if version != SUPPORTED_SCHEMA:
        raise RuleError(f"{origin}: unsupported schema_version {version!r} (expected 1)")
    unknown = set(doc) - {"schema_version", "rules"}
    if unknown:
        raise RuleError(f"{origin}: unknown top-level key(s): {', '.join(sorted(unknown))}")
    entries = doc.get("rules")
    if not isinstance(entries, list) or not entries:
        raise RuleError(f"{origin}: expected at least one [[rules]] table")
    return [_parse_rule(entry, origin, index, check) for index, entry in enumerate(entries, 1)]


def _parse_rule(entry: object, origin: str, index: int, check: bool) -> Rule:
    if not isinstance(entry, dict):
        raise RuleError(f"{origin}: rule #{index}: expected a table")
    rule_id = entry.get("id")
    where = (
        f"{origin}: rule {rule_id!r}" if isinstance(rule_id, str) else f"{origin}: rule #{index}"
    )

    def fail(problem: str) -> RuleError:
        return RuleError(f"{where}: {problem}")

    for key in _REQUIRED:
        if key not in entry:
            raise fail(f"missing required key {key!r}")
    unknown = set(entry) - _RULE_KEYS
    if unknown:
        raise fail(f"unknown key(s): {', '.join(sorted(unknown))}")
    if not isinstance(rule_id, str) or not _ID.fullmatch(rule_id):
        raise fail("'id' must be lowercase letters, digits and dashes (2-64 characters)")
    severity = entry["severity"]
    if severity not in SEVERITIES:
        raise fail(f"'severity' must be one of {', '.join(SEVERITIES)}, not {severity!r}")
    keywords = _strings(entry, "keywords", fail)
    if not keywords or any(not k for k in keywords):
        raise fail("'keywords' must list at least one non-empty literal")
    regex = entry["regex"]
    if not isinstance(regex, str) or not regex:
        raise fail("'regex' must be a non-empty string")
    try:
        pattern = re.compile(regex.encode("utf-8"))
    except re.error as exc:
        raise fail(f"'regex' does not compile: {exc}") from None
    if not all(_keyword_reachable(k, regex) for k in keywords):
        raise fail("every keyword must appear literally in the regex (it is the prefilter)")
    digests = _strings(entry, "known_examples_sha256", fail)
    for digest in digests:
        if not _SHA256.fullmatch(digest):
            raise fail(f"'known_examples_sha256' entry {digest!r} is not a lowercase sha256 hex")
    placeholder = entry.get("placeholder_model", True)
    if not isinstance(placeholder, bool):
        raise fail("'placeholder_model' must be true or false")
    description = entry["description"]
    remediation = entry.get("remediation", "")
    if not isinstance(description, str) or not isinstance(remediation, str):
        raise fail("'description' and 'remediation' must be strings")
    rule = Rule(
        id=rule_id,
        description=description,
        severity=severity,
        keywords=tuple(k.encode("utf-8") for k in keywords),
        pattern=pattern,
        placeholder_model=placeholder,
        remediation=remediation.strip(),
        known_examples=frozenset(digests),
        examples=tuple(_strings(entry, "examples", fail)),
        negatives=tuple(_strings(entry, "negatives", fail)),
        origin=origin,
    )
    # A user's rule file is checked as it loads. The built-in rules ship checked: the one
    # rule test runs their examples on every build, so each run does not pay for it again
    # (about 20 ms, on the pre-commit path).
    problem = check_examples(rule) if check else None
    if problem:
        raise fail(problem)
    return rule


def expand_example(template: str, rng: random.Random) -> tuple[str, list[str]]:
    """The text of an example template and the OpenRouter keys it holds (one per ``{key}``).

    ``{key}`` is a fresh OpenRouter key, ``{hexN}``/``{HEXN}`` N random hex digits, ``{fill:S}``
    S repeated and cut to 64 characters, ``{few:N}`` 64 characters drawn from N hex digits.
    Templates keep key-shaped literals out of rule files; the digits come from ``rng``.
    """
    keys: list[str] = []

    def hex_digits(count: int) -> str:
        return "".join(rng.choice("0123456789abcdef") for _ in range(count))

    def sub(m: re.Match[str]) -> str:
        token = m.group(1)
        if token == "key":
            keys.append(_KEY_PREFIX + hex_digits(64))
            return keys[-1]
        if token.startswith("hex"):
            return hex_digits(int(token[3:]))
        if token.startswith("HEX"):
            return hex_digits(int(token[3:])).upper()
        if token.startswith("fill:"):
            return (token[5:] * 64)[:64]
        digits = rng.sample("0123456789abcdef", min(16, max(1, int(token[4:]))))
        return "".join(rng.choice(digits) for _ in range(64))

    return _TEMPLATE.sub(sub, template), keys


def example_matches(rule: Rule, text: str) -> list[str]:
    """The secrets ``rule`` reports in ``text``: a keyword must occur, and the placeholder
    model drops what it would drop in a scan."""
    data = text.encode("utf-8")
    if not any(keyword in data for keyword in rule.keywords):
        return []
    found: list[str] = []
    for m in rule.pattern.finditer(data):
        start, end = m.span(rule.secret_group)
        secret = data[start:end].decode("utf-8", "backslashreplace")
        if rule.placeholder_model and placeholder_reason(secret, rule.known_examples):
            continue
        found.append(secret)
    return found


def check_examples(rule: Rule) -> str | None:
    """Why the rule's examples disagree with its regex, or None. Every example must be
    reported (each ``{key}`` in it exactly), and no negative may be."""
    # Seeded by the rule: a rule file is either good or bad, never by chance.
    rng = random.Random(f"{rule.origin}\0{rule.id}")
    for index, template in enumerate(rule.examples, 1):
        text, keys = expand_example(template, rng)
        found = example_matches(rule, text)
        if not found or (keys and sorted(found) != sorted(keys)):
            return f"example #{index} {_shown(template)} does not match the rule"
    for index, template in enumerate(rule.negatives, 1):
        text, _ = expand_example(template, rng)
        if example_matches(rule, text):
            return f"negative #{index} {_shown(template)} matches the rule"
    return None


def _shown(template: str) -> str:
    """The template as an error message may show it: anything that could be a real token
    (a long run holding a digit) keeps its first 4 and last 3 characters, as a redacted key
    does; the {placeholders} and plain words stay readable."""

    def mask(m: re.Match[str]) -> str:
        run = m.group(0)
        return f"{run[:4]}...{run[-3:]}" if any(c.isdigit() for c in run) else run

    return repr(_SECRETISH.sub(mask, scrub_secrets(template)))


def _strings(
    entry: Mapping[str, object], key: str, fail: Callable[[str], RuleError]
) -> Sequence[str]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail(f"{key!r} must be a list of strings")
    return value


def _keyword_reachable(keyword: str, regex: str) -> bool:
    # A cheap sanity check, not a proof: the literal must occur in the pattern text.
    return keyword in regex or re.escape(keyword) in regex

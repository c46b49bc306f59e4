"""redact, scrub_secrets and fingerprint_of: the functions every output goes through.

tools/mutate.py runs its "redaction" target against this file: each case pins one edge of the
rule so that a changed comparison, slice or fallback fails here.
"""

from __future__ import annotations

import hashlib
import secrets

import pytest

from keysentry.models import fingerprint_of, redact, scrub_secrets


def make_key() -> str:
    return "sk-or-" + "v1-" + secrets.token_hex(32)


def test_redact_keeps_prefix_and_three_characters_each_side() -> None:
    key = make_key()
    body = key.rpartition("-")[2]
    assert redact(key) == f"sk-or-v1-{body[:3]}...{body[-3:]}"
    assert body[3:-3] not in redact(key)


@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        # The body is what follows the last dash; 12 characters is the shortest shown in part.
        ("tok-" + "abcdefghijkl", "tok-abc...jkl"),
        ("a-b-" + "abcdefghijkl", "a-b-abc...jkl"),
        # Shorter bodies, no dash at all, or tiny strings: only a 3-character stem survives.
        ("tok-" + "abcdefghijk", "tok..."),
        ("abcdefghijklmnop", "abc..."),
        ("abcd", "abc..."),
        ("abc", "..."),
        ("ab", "..."),
        ("", "..."),
        ("-" + "abcdefghijkl", "-abc...jkl"),
    ],
)
def test_redact_edges(secret: str, expected: str) -> None:
    assert redact(secret) == expected


def test_fingerprint_is_the_sha256_of_the_utf8_key() -> None:
    key = make_key()
    assert fingerprint_of(key) == hashlib.sha256(key.encode("utf-8")).hexdigest()
    assert fingerprint_of("ключ") == hashlib.sha256("ключ".encode()).hexdigest()
    assert fingerprint_of(key) != fingerprint_of(make_key())


def test_scrub_secrets_redacts_every_key_and_keeps_the_rest() -> None:
    a, b = make_key(), make_key()
    text = f"error for {a}: retried with {b}; done"
    assert scrub_secrets(text) == f"error for {redact(a)}: retried with {redact(b)}; done"


def test_scrub_secrets_catches_partial_and_other_versions() -> None:
    cut = "sk-or-" + "v1-" + secrets.token_hex(4)[:7]
    upper = "sk-or-" + "v2-" + secrets.token_hex(32).upper()
    out = scrub_secrets(f"[{cut}] [{upper}]")
    assert cut not in out and upper not in out
    assert out == f"[{redact(cut)}] [{redact(upper)}]"


def test_scrub_secrets_leaves_text_without_keys_alone() -> None:
    text = "sk-or-v1-abc is too short; plain text stays"
    assert scrub_secrets(text) == text

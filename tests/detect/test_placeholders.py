"""The placeholder model's shape tests, against their plain definitions.

placeholders.py compares slices and translated strings (it runs once per key found,
and a leaked key list holds 100,000 keys); these are the definitions it must match.
"""

from __future__ import annotations

import secrets
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from keysentry.detect import placeholders

HEX = "0123456789abcdef"


def period(body: str) -> int | None:
    for p in range(1, 17):
        if all(body[i] == body[i - p] for i in range(p, len(body))):
            return p
    return None


def monotone(body: str) -> bool:
    pairs = list(pairwise(body))
    return all(a <= b for a, b in pairs) or all(a >= b for a, b in pairs)


def cyclic(body: str) -> bool:
    if any(c not in HEX for c in body):
        return False
    steps = {(HEX.index(b) - HEX.index(a)) % 16 for a, b in pairwise(body)}
    return steps in ({1}, {15})


def shaped(draw: st.DrawFn) -> str:
    """Bodies of every shape the model knows, and random ones."""
    kind = draw(st.integers(0, 4))
    size = draw(st.integers(2, 70))
    if kind == 0:
        unit = draw(st.text(HEX, min_size=1, max_size=17))
        return (unit * size)[:size]
    if kind == 1:
        return "".join(sorted(draw(st.text(HEX + "xyz", min_size=2, max_size=70))))
    if kind == 2:
        start, step = draw(st.integers(0, 15)), draw(st.sampled_from([1, 15, 2]))
        return "".join(HEX[(start + i * step) % 16] for i in range(size))
    if kind == 3:
        return secrets.token_hex(32)
    return draw(st.text(HEX + "g-", min_size=2, max_size=70))


@given(st.composite(shaped)())
def test_shape_tests_match_their_definitions(body: str) -> None:
    assert placeholders._period(body) == period(body)
    assert placeholders._is_monotone(body) == monotone(body)
    assert placeholders._is_cyclic_step(body) == cyclic(body)
    assert placeholders._is_monotone(body[::-1]) == monotone(body[::-1])
    assert placeholders._is_cyclic_step(body[::-1]) == cyclic(body[::-1])

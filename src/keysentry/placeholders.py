"""The placeholder model: key-shaped strings that are not secrets.

Real keys are 64 random hex digits, so a body that is one repeated character,
a short repeated period, a monotone or cyclic run, or drawn from very few
distinct digits is a placeholder (probability of a random key looking like this
is below 2**-100). Published documentation examples are matched by digest.
"""

from __future__ import annotations

from itertools import pairwise

from keysentry.models import fingerprint_of

_HEX = "0123456789abcdef"
_MAX_PERIOD = 16
_MIN_DISTINCT = 7
"""A random 64-digit body has fewer than 7 distinct digits with probability < 1e-20."""


def placeholder_reason(secret: str, known_examples: frozenset[str]) -> str | None:
    """Why ``secret`` is a placeholder, or None for something that may be a real key."""
    if known_examples and fingerprint_of(secret) in known_examples:
        return "published example key"
    body = secret.rpartition("-")[2].lower()
    if not body:
        return "empty body"
    if len(set(body)) == 1:
        return "one repeated character"
    period = _period(body)
    if period is not None:
        return f"repeats every {period} characters"
    if _is_monotone(body):
        return "monotone sequence"
    if _is_cyclic_step(body):
        return "cyclic sequence"
    if len(set(body)) < _MIN_DISTINCT:
        return f"only {len(set(body))} distinct digits"
    return None


def _period(body: str) -> int | None:
    for p in range(1, _MAX_PERIOD + 1):
        if all(body[i] == body[i - p] for i in range(p, len(body))):
            return p
    return None


def _is_monotone(body: str) -> bool:
    pairs = list(pairwise(body))
    return all(a <= b for a, b in pairs) or all(a >= b for a, b in pairs)


def _is_cyclic_step(body: str) -> bool:
    # 0123...f0123... or f e d ... with any start: each digit one step from the last.
    if any(c not in _HEX for c in body):
        return False
    steps = {(_HEX.index(b) - _HEX.index(a)) % 16 for a, b in pairwise(body)}
    return steps in ({1}, {15})

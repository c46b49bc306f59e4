"""The placeholder model: key-shaped strings that are not secrets.

Real keys are 64 random hex digits, so a body that is one repeated character,
a short repeated period, a monotone or cyclic run, or drawn from very few
distinct digits is a placeholder (probability of a random key looking like this
is below 2**-100). Published documentation examples are matched by digest.
"""

from __future__ import annotations

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
    # body[i] == body[i - p] for every i >= p, as one comparison of two slices
    for p in range(1, _MAX_PERIOD + 1):
        if body[p:] == body[:-p]:
            return p
    return None


def _is_monotone(body: str) -> bool:
    chars = list(body)
    ordered = sorted(chars)
    return chars == ordered or chars == ordered[::-1]


_NEXT = str.maketrans(_HEX, _HEX[1:] + _HEX[0])
_HEX_DIGITS = frozenset(_HEX)


def _is_cyclic_step(body: str) -> bool:
    # 0123...f0123... or f e d ... with any start: each digit one step from the last.
    if not set(body) <= _HEX_DIGITS:
        return False
    stepped = body.translate(_NEXT)  # each digit's successor
    return stepped[:-1] == body[1:] or body[:-1] == stepped[1:]

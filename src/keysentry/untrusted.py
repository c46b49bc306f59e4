"""Text that came from a scanned repository, made safe to show.

Every string in a report that a repository could have written (a file or member
name, a commit subject, an author, a ref, a note, a snippet) is untrusted twice
over: it can hold a key, and it can hold bytes a terminal or a parser acts on.

- Names are bytes. They are carried as ``str`` with ``surrogateescape`` (what
  ``os.fsdecode`` gives), so nothing is lost on the way; :func:`escape` shows an
  undecodable byte as ``\\xe9``, a control character as ``\\n``, ``\\x1b``..., and the
  Unicode characters that reorder or break lines or are invisible as ``\\u202e``,
  ``\\u200b``, ``\\U000e0041``. Nothing else changes, so ``ä`` and ``日本`` stay as they
  are.
- Key-shaped runs (``sk-or-v<N>-`` and hex digits, any length, cut or whole) are
  redacted, as is any occurrence of a finding's own secret (custom rules).

:func:`for_display` applies both to every string of a :class:`ScanResult`, whatever
field it sits in, so a field added later is covered without anyone remembering to.
The CLI passes every result through it before any reporter sees it; reporters only
format.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields, is_dataclass, replace
from typing import Any, TypeVar, cast

from keysentry.models import ScanResult, scrub_secrets

_T = TypeVar("_T")

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# What a reader cannot see for what it is. C0 and C1 controls and DEL; lone surrogates
# (undecodable bytes); the line and paragraph separators; every format character
# (Unicode category Cf: the bidirectional controls of "Trojan Source", zero-width space
# and joiners, the BOM, soft hyphen, tag characters, interlinear annotations, Arabic and
# Egyptian format marks); and the rest of Unicode's Default_Ignorable_Code_Point
# (variation selectors, fillers, the combining grapheme joiner), which render as nothing:
# a name or subject holding them would read as another, or hide a key's true text.
# tests/report/test_untrusted_units.py checks each range, and every Cf character.
_UNSAFE = re.compile(
    "["
    "\x00-\x1f\x7f-\x9f"  # C0, DEL, C1
    "\xad"  # soft hyphen
    "\u034f"  # combining grapheme joiner
    "\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2"  # Arabic and Syriac format marks
    "\u115f\u1160\u3164\uffa0"  # Hangul fillers
    "\u17b4\u17b5"  # Khmer inherent vowels
    "\u180b-\u180f"  # Mongolian variation selectors and vowel separator
    "\u200b-\u200f"  # zero-width space, (non-)joiner, LRM, RLM
    "\u2028-\u202e"  # line and paragraph separators, bidi embeddings and overrides
    "\u2060-\u206f"  # word joiner, invisible operators, bidi isolates, deprecated formats
    "\ud800-\udfff"  # lone surrogates: undecodable bytes (surrogateescape)
    "\ufe00-\ufe0f"  # variation selectors
    "\ufeff"  # BOM, zero-width no-break space
    "\ufff0-\ufffb"  # unassigned specials, interlinear annotation
    "\U000110bd\U000110cd"  # Kaithi number signs
    "\U00013430-\U0001343f"  # Egyptian hieroglyph format controls
    "\U0001bca0-\U0001bca3"  # shorthand format controls
    "\U0001d173-\U0001d17a"  # musical symbol format controls
    "\U000e0000-\U000e0fff"  # tag characters, variation selectors supplement
    "]"
)
_ESCAPED = re.compile(r"\\(?:x([0-9a-f]{2})|u([0-9a-f]{4})|U([0-9a-f]{8})|([nrt]))")
_UNNAMED = {"n": "\n", "r": "\r", "t": "\t"}

_KEEP = frozenset({"secret"})
"""Fields left as they are: the secret is shown only with --show-secrets, and reporters
need its length (SARIF and GitHub end columns)."""


def _escape_char(match: re.Match[str]) -> str:
    ch = match.group(0)
    code = ord(ch)
    if ch in _NAMED:
        return _NAMED[ch]
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the byte that was not UTF-8
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x80:
        return f"\\x{code:02x}"
    if code > 0xFFFF:
        return f"\\U{code:08x}"
    return f"\\u{code:04x}"


def escape(text: str) -> str:
    """``text`` with undecodable bytes and control characters written as escapes."""
    if not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(_escape_char, text)


def unescape_bytes(text: str) -> bytes:
    """The bytes :func:`escape` was given (for URIs that must name the real file).

    A name that really holds ``\\x41`` comes back as ``A``: the one ambiguity of not
    escaping backslashes, which would turn every Windows-style path unreadable."""
    out = bytearray()
    pos = 0
    for m in _ESCAPED.finditer(text):
        out += text[pos : m.start()].encode("utf-8", "surrogateescape")
        if m.group(1):
            out.append(int(m.group(1), 16))
        elif m.group(2) or m.group(3):
            out += chr(int(m.group(2) or m.group(3), 16)).encode("utf-8", "surrogatepass")
        else:
            out += _UNNAMED[m.group(4)].encode()
        pos = m.end()
    out += text[pos:].encode("utf-8", "surrogateescape")
    return bytes(out)


def shown(text: str, *, show_secrets: bool = False) -> str:
    """The one way to show untrusted text: keys redacted (unless asked), then escaped."""
    return escape(text if show_secrets else scrub_secrets(text))


_last: list[ScanResult] = []
"""The result :func:`for_display` returned last: the CLI shows it and then hands it to a
reporter, whose registry entry passes it here again, and a second walk of a large result
(100,000 keys: several seconds) would change nothing."""


def for_display(result: ScanResult) -> ScanResult:
    """``result`` with every string in it passed through :func:`shown` (and, without
    --show-secrets, every finding's own secret redacted wherever it appears)."""
    if _last and _last[0] is result:
        return result
    shown_result = _display(result)
    _last[:] = [shown_result]
    return shown_result


def _display(result: ScanResult) -> ScanResult:
    show = result.show_secrets
    # Secrets the key-shaped pattern would miss (custom rules): usually none.
    known = {
        f.secret: f.redacted
        for f in result.findings
        if f.secret and not show and scrub_secrets(f.secret) == f.secret
    }
    text = _text_of(known, lambda value: shown(value, show_secrets=show))
    return cast(ScanResult, _walk(result, text))


def _text_of(known: dict[str, str], then: Callable[[str], str]) -> Callable[[str], str]:
    """A string's safe form: each of ``known``'s secrets replaced by its redacted form,
    then ``then``. Each distinct string is worked out once: a path, a rule or a commit
    recurs in many locations."""
    pattern = (
        re.compile("|".join(re.escape(s) for s in sorted(known, key=len, reverse=True)))
        if known
        else None
    )
    done: dict[str, str] = {}

    def text(value: str) -> str:
        out = done.get(value)
        if out is None:
            out = value
            if pattern is not None:
                out = pattern.sub(lambda m: known[m.group(0)], out)
            out = done[value] = then(out)
        return out

    return text


_BODY = 16
"""A known key's body (what follows its last ``-``) alone is redacted from this length on:
it is the key, less a prefix everyone knows."""


def redacted(value: _T, secrets: Iterable[str] = ()) -> _T:
    """``value`` (a result, an outcome, a finding...) with every key-shaped run, and every
    one of ``secrets`` (and its body), redacted in every string, and nothing escaped: the
    form that may be kept or sent on (the audit store, a worker's answer). A ``secret``
    field is left as it is: the caller decides whether it goes (see :data:`_KEEP`)."""
    from keysentry.models import redact

    known: dict[str, str] = {}
    for secret in secrets:
        if not secret:
            continue
        known[secret] = redact(secret)
        body = secret.rpartition("-")[2]
        if len(body) >= _BODY and body != secret:
            known.setdefault(body, f"{body[:3]}...{body[-3:]}")
    return cast(_T, _walk(value, _text_of(known, scrub_secrets)))


_ATOMS = (int, float, bool, type(None))
"""Types that hold no text (checked by exact type: the common leaves of a result)."""


def _walk(value: Any, text: Callable[[str], str]) -> Any:
    """``value`` with ``text`` applied to every string in it; what holds no string that
    changes is returned as it is (the common case costs no copy)."""
    kind = type(value)
    if kind is str:
        return text(value)
    if kind in _ATOMS:
        return value
    if isinstance(value, str):
        return text(value)
    if isinstance(value, (tuple, list)):
        items = [_walk(v, text) for v in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, Mapping):
        pairs = [(_walk(k, text), _walk(v, text)) for k, v in value.items()]
        if all(k is a and value[k] is b for (a, b), k in zip(pairs, value, strict=True)):
            return value
        return dict(pairs)
    names = _field_names(type(value))
    if names:
        changes = {}
        for name in names:
            old = getattr(value, name)
            new = _walk(old, text)
            if new is not old:
                changes[name] = new
        return replace(value, **changes) if changes else value
    return value


_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """The fields to walk of a dataclass (none for any other type)."""
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = (
            tuple(f.name for f in fields(cls) if f.init and f.name not in _KEEP)
            if is_dataclass(cls)
            else ()
        )
    return names

"""Configuration: ``.keysentry.toml`` or ``[tool.keysentry]`` in pyproject.toml, plus CLI overrides.

Lookup order: an explicit ``--config FILE``; else ``.keysentry.toml`` in the
current directory; else ``pyproject.toml`` there if it has ``[tool.keysentry]``;
else built-in defaults. Unknown keys are errors naming the key.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from keysentry.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_ALLOW_MARKERS = (
    "keysentry:allow",
    "gitleaks:allow",
    "betterleaks:allow",
    "pragma: allowlist secret",
    "trufflehog:ignore",
    "kingfisher:ignore",
)
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class AllowEntry:
    fingerprint: str
    reason: str


@dataclass(frozen=True, slots=True)
class Config:
    source: str = "<defaults>"
    """Where the configuration came from."""
    rules: tuple[Path, ...] = ()
    exclude: tuple[str, ...] = ()
    allow_markers: tuple[str, ...] = DEFAULT_ALLOW_MARKERS
    allowlist: tuple[AllowEntry, ...] = ()
    include_placeholders: bool = False
    max_depth: int = 4
    # The archive caps; what each bounds, and why these values, is in decoders.views.Limits.
    max_decoded_bytes: int = 4 * 2**30
    max_members: int = 10_000
    max_member_bytes: int = 2**30
    max_buffered_bytes: int = 64 * 2**20
    max_compression_ratio: int = 200
    baseline: Path | None = None
    validation: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))


_INT_KEYS = (
    "max_depth", "max_decoded_bytes", "max_members", "max_member_bytes", "max_buffered_bytes",
    "max_compression_ratio",
)  # fmt: skip
_KEYS = {
    "rules", "exclude", "allow_markers", "allowlist", "include_placeholders", "baseline",
    "validation", *_INT_KEYS,
}  # fmt: skip


def load_config(explicit: Path | None, cwd: Path) -> Config:
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file not found: {explicit}")
        table: dict[str, object] | None = _read(explicit)
        if explicit.name == "pyproject.toml":
            table = _tool_table(table or {}, explicit)
        return parse_config(table or {}, str(explicit), explicit.parent)
    dotfile = cwd / ".keysentry.toml"
    if dotfile.is_file():
        return parse_config(_read(dotfile), str(dotfile), cwd)
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        table = _tool_table(_read(pyproject), pyproject)
        if table is not None:
            return parse_config(table, f"{pyproject} [tool.keysentry]", cwd)
    return Config()


def _read(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as fh:
            doc: dict[str, object] = tomllib.load(fh)
            return doc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None


def _tool_table(doc: Mapping[str, object], path: Path) -> dict[str, object] | None:
    tool = doc.get("tool")
    if not isinstance(tool, dict) or "keysentry" not in tool:
        return None
    table = tool["keysentry"]
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.keysentry] must be a table")
    return table


def parse_config(table: Mapping[str, object], source: str, base: Path) -> Config:
    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError(f"{source}: {key!r} {problem}")

    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(
            f"{source}: unknown key {unknown[0]!r}"
            + (f" (and {', '.join(map(repr, unknown[1:]))})" if unknown[1:] else "")
        )
    values: dict[str, object] = {"source": source}
    for key in ("rules", "exclude", "allow_markers"):
        if key in table:
            items = table[key]
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise fail(key, "must be a list of strings")
            values[key] = tuple(base / i for i in items) if key == "rules" else tuple(items)
    if "include_placeholders" in table:
        if not isinstance(table["include_placeholders"], bool):
            raise fail("include_placeholders", "must be true or false")
        values["include_placeholders"] = table["include_placeholders"]
    for key in _INT_KEYS:
        if key in table:
            value = table[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise fail(key, "must be a non-negative integer")
            values[key] = value
    if "baseline" in table:
        if not isinstance(table["baseline"], str):
            raise fail("baseline", "must be a path string")
        values["baseline"] = base / table["baseline"]
    if "validation" in table:
        if not isinstance(table["validation"], dict):
            raise fail("validation", "must be a table")
        values["validation"] = MappingProxyType(dict(table["validation"]))
    if "allowlist" in table:
        values["allowlist"] = _allowlist(table["allowlist"], fail)
    return Config(**values)  # type: ignore[arg-type]


def _allowlist(raw: object, fail: object) -> tuple[AllowEntry, ...]:
    assert callable(fail)
    if not isinstance(raw, list):
        raise fail("allowlist", "must be an array of tables")
    entries = []
    for i, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            raise fail("allowlist", f"entry {i} must be a table")
        extra = set(item) - {"fingerprint", "reason"}
        if extra:
            raise fail("allowlist", f"entry {i} has unknown key {sorted(extra)[0]!r}")
        fp, reason = item.get("fingerprint"), item.get("reason")
        if not isinstance(fp, str) or not _FINGERPRINT.fullmatch(fp):
            raise fail("allowlist", f"entry {i}: 'fingerprint' must be 64 lowercase hex")
        if not isinstance(reason, str) or not reason.strip():
            raise fail("allowlist", f"entry {i}: a 'reason' is required")
        entries.append(AllowEntry(fp, reason.strip()))
    return tuple(entries)

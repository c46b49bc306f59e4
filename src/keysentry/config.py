"""Configuration: ``.keysentry.toml`` or ``[tool.keysentry]`` in pyproject.toml, plus CLI overrides.

Configuration belongs to the tree being scanned, not to the directory keysentry runs
in (as with ruff and gitleaks): each target's repository root (the top of its git
work tree, or a bare repository's directory; else the target directory itself) is
looked up for ``.keysentry.toml``, else ``pyproject.toml`` with ``[tool.keysentry]``,
else built-in defaults. An explicit ``--config FILE`` applies to every target.
Relative paths in a file (rules, baseline) are relative to that file. Unknown keys
and wrong types are errors naming the file and the key, ``[validation]`` included,
whether or not anything is validated.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from keysentry.errors import ConfigError
from keysentry.git.roots import DOTFILE, pyproject_may_configure, repository_root
from keysentry.regular import read_regular

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
DEFAULTS = "<defaults>"


@dataclass(frozen=True, slots=True)
class AllowEntry:
    fingerprint: str
    reason: str


@dataclass(frozen=True, slots=True)
class Config:
    source: str = DEFAULTS
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


@dataclass(frozen=True, slots=True)
class TargetConfig:
    """The configuration that applies to one scan target, and the root it is relative to."""

    target: str
    """As given on the command line (``-`` for stdin)."""
    root: str
    """Real path of the target's repository root (or its directory): exclude patterns
    are matched against paths relative to it."""
    config: Config


def load_config(explicit: Path | None, where: Path) -> Config:
    """``explicit`` if given, else the configuration of ``where``'s repository root."""
    if explicit is not None:
        return load_file(explicit)
    return config_at(repository_root(str(where)))


def resolve_configs(
    explicit: Path | None, targets: tuple[str, ...], *, config_from: Path | None = None
) -> tuple[TargetConfig, ...]:
    """One configuration per target: ``explicit`` for all, else each target's repository's.

    ``config_from`` puts every target under the repository of that directory (``staged``
    names files of one repository). ``-`` (stdin) belongs to the current directory."""
    fixed = load_file(explicit) if explicit is not None else None
    by_root: dict[str, Config] = {}
    out = []
    for target in targets:
        where = config_from if config_from is not None else Path(target)
        root = repository_root(os.getcwd() if str(where) == "-" else str(where))
        if fixed is not None:
            config = fixed
        elif root in by_root:
            config = by_root[root]
        else:
            config = by_root[root] = config_at(root)
        out.append(TargetConfig(target, root, config))
    return tuple(out)


def load_file(path: Path) -> Config:
    if not path.exists():
        raise ConfigError(f"config file not found: {path}")
    table: dict[str, object] | None = _read(path)
    if path.name == "pyproject.toml":
        table = _tool_table(table or {}, path)
    return parse_config(table or {}, str(path), path.parent)


def config_at(root: str) -> Config:
    """The configuration file in ``root`` (a repository root), else the defaults."""
    # lexists: a .keysentry.toml that is not a readable file (a dangling link, a FIFO, a
    # directory) is an error that names it, never passed over for the defaults.
    dotfile = Path(root) / DOTFILE
    if os.path.lexists(dotfile):
        return parse_config(_read(dotfile), str(dotfile), dotfile.parent)
    pyproject = Path(root) / "pyproject.toml"
    if os.path.lexists(pyproject):
        data = _read_bytes(pyproject)
        # Decided as the hook's screen decides (roots.may_hold_config): a file that cannot
        # hold a keysentry table is not parsed, so a broken one is another tool's problem.
        if pyproject_may_configure(data):
            table = _tool_table(_parse(data, pyproject), pyproject)
            if table is not None:
                return parse_config(table, f"{pyproject} [tool.keysentry]", pyproject.parent)
    return Config()


def _read(path: Path) -> dict[str, object]:
    return _parse(_read_bytes(path), path)


def _read_bytes(path: Path) -> bytes:
    try:
        return read_regular(path)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None


def _parse(data: bytes, path: Path) -> dict[str, object]:
    try:
        doc: dict[str, object] = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid TOML: not UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return doc


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
        values["validation"] = MappingProxyType(check_validation(table["validation"], source))
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


# -- [validation] ------------------------------------------------------------------------
# Checked whenever a file is loaded, not only with --validate: a typo must not wait for the
# day someone validates. The keys are ValidationSettings' fields (validate/settings.py, which
# checks that the two agree); this module must not import it (it would load the validation
# package on every start-up).

VALIDATION_KEYS: Mapping[str, str] = MappingProxyType({
    "base_url": "str", "concurrency": "int", "rate_limit": "float", "timeout": "float",
    "budget": "float", "retries": "int", "cache": "bool", "cache_ttl": "float",
    "cache_dir": "str",
})  # fmt: skip


def check_validation(section: Mapping[str, object], source: str = "") -> dict[str, object]:
    """The ``[validation]`` table with each value checked and converted (ints to floats).

    Raises ConfigError naming ``source`` (the file) and the key."""
    values: dict[str, object] = {}
    for name, raw in section.items():
        try:
            values[name] = validation_value(name, raw)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}" if source else str(exc)) from None
    return values


def validation_value(name: str, raw: object) -> object:
    where = f"validation.{name}"
    kind = VALIDATION_KEYS.get(name)
    if kind is None:
        raise ConfigError(f"{where}: unknown setting (known: {', '.join(sorted(VALIDATION_KEYS))})")
    # bool is a subclass of int: reject it explicitly so `concurrency = true` is an error.
    if kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ConfigError(f"{where}: expected an integer, got {type(raw).__name__}")
        value: object = raw
    elif kind == "float":
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ConfigError(f"{where}: expected a number, got {type(raw).__name__}")
        value = float(raw)
    elif kind == "bool":
        if not isinstance(raw, bool):
            raise ConfigError(f"{where}: expected true or false, got {type(raw).__name__}")
        value = raw
    else:
        if not isinstance(raw, str) or not raw.strip():
            raise ConfigError(f"{where}: expected a non-empty string")
        value = raw.strip()
    check_validation_range(name, value)
    return value


def check_validation_range(name: str, value: object) -> None:
    """The range of one ``[validation]`` value (its type is already right)."""
    if name == "concurrency" and not (isinstance(value, int) and 1 <= value <= 64):
        raise ConfigError(f"validation.concurrency: must be 1 to 64, got {value}")
    if name == "retries" and not (isinstance(value, int) and 0 <= value <= 10):
        raise ConfigError(f"validation.retries: must be 0 to 10, got {value}")
    number = (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
    )
    if name in ("rate_limit", "timeout", "budget") and not (math.isfinite(number) and number > 0):
        raise ConfigError(f"validation.{name}: must be a positive number, got {value}")
    if name == "cache_ttl" and not (math.isfinite(number) and number >= 0):
        raise ConfigError(f"validation.cache_ttl: must be zero or more, got {value}")

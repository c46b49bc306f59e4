"""Which kind of file a path is, as the fix sees it: by name, and for YAML by content."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

_BY_SUFFIX = {
    ".py": "python",
    ".pyw": "python",
    ".ipynb": "notebook",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".java": "java",
    ".cs": "csharp",
    ".rb": "ruby",
    ".php": "php",
    ".rs": "rust",
    ".sh": "shell",
    ".bash": "shell",
    ".ps1": "powershell",
    ".psm1": "powershell",
    ".json": "json",
    ".jsonc": "json",
    ".ini": "ini",
    ".cfg": "ini",
    ".toml": "toml",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".yml": "yaml",
    ".yaml": "yaml",
}

NO_VARIABLES = {
    "json": "JSON has no variable syntax",
    "ini": "INI files have no variable syntax",
    "toml": "TOML has no variable syntax",
    "markdown": "Markdown has no variable syntax",
    "text": "plain text has no variable syntax",
    "yaml": "this YAML file is not one whose variable syntax keysentry knows "
    "(docker compose, GitHub Actions, GitLab CI, Kubernetes)",
}
"""Kinds the fix never guesses at: each location is listed to change by hand."""

_SHEBANG = re.compile(rb"\A#![^\n]*\b(?:(ba|z|da|k)?sh|(python[0-9.]*)|(node))\b")
_COMPOSE = re.compile(r"(?:docker-)?compose(?:\.[\w.-]+)?\.ya?ml")
_K8S = re.compile(
    rb"(?m)^apiVersion:[ \t]*\S+[ \t]*\r?$(?s:.*)^kind:[ \t]*\S+|^kind:[ \t]*\S+[ \t]*\r?$(?s:.*)^apiVersion:"
)


def is_env_file(name: str) -> bool:
    return name == ".env" or name.startswith(".env.") or name.endswith(".env")


def classify(path: str, data: bytes) -> str:
    """The kind of ``path`` (shown path, ``/`` separated)."""
    pure = PurePosixPath(path.replace("\\", "/"))
    name = pure.name
    lower = name.lower()
    if is_env_file(lower):
        return "env"
    if lower == "dockerfile" or lower.startswith("dockerfile.") or lower.endswith(".dockerfile"):
        return "dockerfile"
    suffix = pure.suffix.lower()
    if suffix in (".yml", ".yaml"):
        return _yaml_kind(pure, data)
    if lower in (".gitlab-ci.yml",):
        return "gitlab"
    kind = _BY_SUFFIX.get(suffix)
    if kind is not None:
        return kind
    if not suffix:
        m = _SHEBANG.match(data)
        if m:
            return "python" if m.group(2) else "javascript" if m.group(3) else "shell"
    return "other"


def _yaml_kind(pure: PurePosixPath, data: bytes) -> str:
    parts = pure.parts
    name = pure.name.lower()
    if len(parts) >= 3 and parts[-3] == ".github" and parts[-2] == "workflows":
        return "github"
    if name == ".gitlab-ci.yml" or name.endswith(".gitlab-ci.yml"):
        return "gitlab"
    if _COMPOSE.fullmatch(name):
        return "compose"
    if _K8S.search(data):
        return "kubernetes"
    return "yaml"

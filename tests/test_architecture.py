"""The tree reads as the flow, and stays that way.

import-linter (``lint-imports``, in .ci/run) holds the layers between the top-level
packages; these tests hold what it does not: no import cycle inside any package, every
top-level package in the layers and on the architecture page, and the tests' folders
mirroring the packages."""

from __future__ import annotations

import re
from collections.abc import Iterable

import grimp
import pytest

import conftest

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

SRC = conftest.ROOT / "src" / "keysentry"


def _cycles(imports: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(imports[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(imports):
        if node not in index:
            visit(node)
    return found


def _sibling_imports(graph: grimp.ImportGraph, package: str) -> dict[str, set[str]]:
    """Which children of ``package`` import which (a child stands for its whole subtree;
    imports inside functions and under TYPE_CHECKING count too)."""
    children = sorted(graph.find_children(package))

    def child_of(module: str) -> str | None:
        return next((c for c in children if module == c or module.startswith(c + ".")), None)

    imports: dict[str, set[str]] = {c: set() for c in children}
    for module in graph.find_descendants(package):
        importer = child_of(module)
        for imported in graph.find_modules_directly_imported_by(module):
            target = child_of(imported)
            if importer and target and target != importer:
                imports[importer].add(target)
    return imports


def _packages(graph: grimp.ImportGraph) -> Iterable[str]:
    return ["keysentry", *sorted(m for m in graph.modules if graph.find_children(m))]


def test_no_import_cycle_inside_any_package() -> None:
    graph = grimp.build_graph("keysentry")
    cycles = {p: _cycles(_sibling_imports(graph, p)) for p in _packages(graph)}
    assert {p: c for p, c in cycles.items() if c} == {}


def test_the_cycle_check_sees_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def _top_level() -> set[str]:
    names = {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}
    return names | {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()}


def test_every_top_level_package_is_in_the_layers_and_on_the_architecture_page() -> None:
    config = tomllib.loads((conftest.ROOT / "pyproject.toml").read_text())
    (layers,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    assert layers["containers"] == ["keysentry"] and layers["exhaustive"] is True
    in_layers = {n.strip() for layer in layers["layers"] for n in re.split(r"[|:]", layer)}
    assert in_layers == _top_level()
    page = (conftest.ROOT / "docs" / "architecture.md").read_text()
    shown = set(re.findall(r"`(\w+)(?:/|\.py)?`", page))
    assert _top_level() <= shown, _top_level() - shown


@pytest.mark.parametrize("folder", sorted(p.name for p in conftest.TESTS.iterdir() if p.is_dir()))
def test_each_test_folder_is_named_for_a_package(folder: str) -> None:
    if folder in ("data", "artifacts", "__pycache__"):
        return
    assert (SRC / folder / "__init__.py").exists() or (SRC / f"{folder}.py").exists()
    assert any((conftest.TESTS / folder).glob("test_*.py"))

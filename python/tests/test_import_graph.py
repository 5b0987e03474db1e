"""The package's import graph, drawn from the source with ``ast``: no cycles, no arrow up.

Every ``import hermes...`` / ``from hermes... import`` in ``python/hermes`` counts, at any
depth (inside functions and ``if TYPE_CHECKING:`` blocks too): a lazy import is still an
arrow. Packages sit in the layers of :data:`LAYERS`; a package may import its own modules
and packages of lower layers only (on the ground floor, its neighbours too), and no two
modules (or packages) import each other, even through others.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

import hermes

PACKAGE = Path(hermes.__file__).parent

LAYERS: list[set[str]] = [
    # the ground floor: settings, lake access, interval lengths, storage, alerts
    {"config", "intervals", "extensions", "lake", "publication", "storage", "notify", "landing"},
    # what the project's seeds and vars say: the universe of pairs, trading costs
    {"universe", "costs"},
    {"publish", "incremental", "query", "maintenance", "indicators"},
    {"ingest", "features", "quality", "stats", "ml"},
    {"signals"},
    {"backtest"},
    {"paper", "dbt_runner", "dbt_plugin"},
    {"report", "live"},
    {"flows"},
    {"cli"},
]
"""Bottom first. A unit is a sub-package of ``hermes`` or a module at its root."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def unit(module: str) -> str:
    """``hermes.backtest.runs`` -> ``backtest``; ``hermes.lake`` -> ``lake``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "hermes"


def imports() -> dict[str, set[str]]:
    """Module -> the ``hermes`` modules it imports (``from hermes.x import y`` counts as
    ``hermes.x.y`` when ``y`` is a module, else as ``hermes.x``)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        graph[name]  # every module is a node, even one importing nothing
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [
                    f"{node.module}.{a.name}"
                    if f"{node.module}.{a.name}" in modules
                    else node.module
                    for a in node.names
                ]
            else:
                continue
            for target in targets:
                if target.startswith("hermes.") and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for source, targets in graph.items():
        out[unit(source)]
        for target in targets:
            if unit(target) != unit(source):
                out[unit(source)].add(unit(target))
    return out


def test_no_module_imports_itself_back() -> None:
    assert cycles(imports()) == []


def test_no_two_packages_import_each_other() -> None:
    assert cycles(package_graph(imports())) == []


def test_every_arrow_points_down_the_layers() -> None:
    layer = {name: depth for depth, names in enumerate(LAYERS) for name in names}
    graph = package_graph(imports())
    units = set(graph) - {"hermes"}
    assert units <= set(layer), f"place these in LAYERS: {sorted(units - set(layer))}"
    upward = sorted(
        f"{source} -> {target}"
        for source, targets in graph.items()
        if source != "hermes"
        for target in targets
        if layer[target] > layer[source] or (layer[target] == layer[source] > 0)
    )
    assert upward == []


def test_the_checks_see_a_cycle_and_an_arrow_up() -> None:
    """The checks can fail: a made-up loop is found, and so is a made-up arrow up."""
    graph = {"hermes.a.x": {"hermes.b.y"}, "hermes.b.y": {"hermes.a.z"}, "hermes.a.z": set()}
    assert cycles(graph) == []
    assert cycles(package_graph(graph)) == [["a", "b"]]
    assert cycles({"hermes.a": {"hermes.b"}, "hermes.b": {"hermes.a"}}) == [
        ["hermes.a", "hermes.b"]
    ]
    real = imports()
    assert "hermes.stats.metrics" in real["hermes.backtest.runs"]
    with pytest.raises(AssertionError):
        assert cycles({**real, "hermes.lake": {"hermes.cli"}}) == []

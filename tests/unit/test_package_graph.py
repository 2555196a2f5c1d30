"""The packages of gbc import each other without cycles: the job registry lives above the queue
(gbc.jobs), the domain enqueues messages (gbc.messages) through a queue that imports no domain."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

GBC = Path(__file__).resolve().parents[2] / "layers" / "common" / "gbc"


def package_graph() -> dict[str, set[str]]:
    """Edges between gbc's top-level packages and modules (gbc.x), lazy imports included."""
    edges: dict[str, set[str]] = defaultdict(set)
    for path in GBC.rglob("*.py"):
        source = path.relative_to(GBC).parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "gbc":
                names = [node.module] if node.module != "gbc" else [f"gbc.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.split(".")[0] == "gbc"]
            for name in names:
                target = name.split(".")[1] if "." in name else None
                if target and target != source:
                    edges[source].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(set(edges) | {t for ts in edges.values() for t in ts}):
        if node not in index:
            visit(node)
    return found


def test_gbc_packages_import_each_other_without_cycles():
    assert cycles(package_graph()) == []


def test_the_queue_imports_no_domain_package():
    assert package_graph()["queue"] <= {"after_response", "cache", "data", "observability", "settings"}


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]

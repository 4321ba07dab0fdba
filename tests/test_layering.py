"""greenft's layers, read from the source itself: every ``import`` (module level *and* inside functions) goes
down or sideways, never up, and no two modules import each other, directly or round a circle.

    base (io, errors) < stopping, tracking < schema < data < models < agents, pretrain, inference
        < sweeps, analysis < cli

An import inside a function is still a dependency: hiding an upward import there only delays the cycle to run
time, so this test reads them all (``ast`` over ``src/greenft``; nothing is imported).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "greenft"

LAYERS: dict[str, int] = {
    # the foundations every layer may use: plain I/O helpers and the user-error base
    "__init__": 0,
    "io": 0,
    "errors": 0,
    "signals": 0,
    "stopping": 1,
    "tracking": 1,
    "schema": 2,  # what a run logs; metric directions come from stopping
    "data": 3,
    "models": 4,
    "agents": 5,
    "pretrain": 5,
    "inference": 5,  # saved models put to use: predict, evaluate, precision (issue 14)
    "sweeps": 6,
    "analysis": 6,
    "integrations": 6,  # greenft inside other training loops (Lightning): uses agents, tracking, schema, stopping
    "cli": 7,
    "__main__": 7,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[tuple[str, int]]:
    """``(imported greenft module, line)`` for every import in the file, resolved to a module that exists."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            targets = [f"{module}.{alias.name}" for alias in node.names] + [module]
        for target in targets:
            if not target.startswith("greenft"):
                continue
            while target and target not in MODULES:  # `from pkg import name`: the module is pkg unless name is one
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target, node.lineno
                break


def _layer_of(module: str) -> tuple[str, int]:
    top = module.split(".")[1] if "." in module else "__init__"
    assert top in LAYERS, f"greenft.{top} has no layer: add it to LAYERS in {__file__} (and docs/architecture.md)"
    return top, LAYERS[top]


GRAPH = {name: sorted({target for target, _ in _imports(name, path)}) for name, path in MODULES.items()}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_never_go_up_a_layer(module: str) -> None:
    top, level = _layer_of(module)
    upward = []
    for target, line in _imports(module, MODULES[module]):
        target_top, target_level = _layer_of(target)
        if target_level > level:
            upward.append(f"{MODULES[module].name}:{line} imports {target} ({target_top} is above {top})")
    assert not upward, "\n".join(upward)


def test_no_import_cycle_between_modules() -> None:
    """Tarjan's strongly connected components over the module graph: each must be a single module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in GRAPH.get(node, []):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            # a package's __init__ re-exporting its own modules is not a cycle of dependencies
            real = [m for m in component if not any(o != m and o.startswith(m + ".") for o in component)]
            if len(real) > 1:
                cycles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_reader_sees_imports_inside_functions() -> None:
    """The test would be blind without this: the CLI imports most of its work inside command functions."""
    assert "greenft.sweeps.controller" in GRAPH["greenft.cli.sweep"]

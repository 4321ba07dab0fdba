"""The schema sits at the bottom of the layers: every layer imports it, it imports no layer above
``greenft.stopping``, loads no heavy stack, and no import cycle runs through it or its readers (the
trainer, the analysis, the sweeps), counting the imports written inside functions too."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
HEAVY = ["torch", "wandb", "codecarbon", "torch_geometric", "rdkit", "matplotlib", "plotly", "optuna", "pandas"]
CHECKED = ("greenft.schema", "greenft.agents", "greenft.analysis", "greenft.sweeps")


def module_files() -> dict[str, Path]:
    out = {}
    for file in SRC.rglob("*.py"):
        parts = file.relative_to(SRC).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = file
    return out


def imports_of(name: str, file: Path, known: set[str]) -> set[str]:
    """greenft modules ``name`` imports anywhere in its file (top level, functions, TYPE_CHECKING blocks)."""
    package = name if file.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(file.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target.startswith("greenft") and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    files = module_files()
    return {name: imports_of(name, file, set(files)) for name, file in files.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while (w := stack.pop()) != v:
                component.append(w)
            component.append(v)
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_schema_imports_nothing_above_stopping() -> None:
    # greenft.tracking sits beside greenft.stopping (tests/test_layering.py): the summary imports the meter's keys
    for name, deps in graph().items():
        if name.startswith("greenft.schema"):
            outside = {d for d in deps if not d.startswith(("greenft.schema", "greenft.stopping", "greenft.tracking"))}
            assert not outside, (name, outside)


def test_no_import_cycle_through_the_schema_and_its_readers() -> None:
    edges = graph()
    touching = [c for c in cycles(edges) if any(m.startswith(CHECKED) for m in c)]
    assert touching == []
    packages: dict[str, set[str]] = {}
    for name, deps in edges.items():
        packages.setdefault(".".join(name.split(".")[:2]), set()).update(".".join(d.split(".")[:2]) for d in deps)
    for name in packages:
        packages[name].discard(name)
    assert [c for c in cycles(packages) if any(p in CHECKED for p in c)] == []


def test_the_cycle_finder_sees_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("module", ["greenft.schema", "greenft.schema.files"])
def test_importing_the_schema_loads_no_heavy_stack(module: str) -> None:
    loaded = f"sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))"
    code = f"import json, sys; __import__({module!r}); print(json.dumps({loaded}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []

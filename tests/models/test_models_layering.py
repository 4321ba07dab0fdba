"""``greenft.models`` sits below ``agents``/``pretrain``: no module in it imports them, not even inside a function.

Such imports, hidden in function bodies, made import cycles that only showed when a registry name was first
built; the pretrained-graph family and the checkpoint paths now live in ``models`` (issue 11). Reading a torch
file has one home too: :func:`greenft.models.torch_io.load_torch_file`, which names the file it cannot read.
"""

from __future__ import annotations

import ast
from pathlib import Path

import greenft

SRC = Path(greenft.__file__).parent
ABOVE_MODELS = ("greenft.agents", "greenft.pretrain", "greenft.sweeps", "greenft.analysis", "greenft.cli")


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import statement anywhere in ``path``, function bodies included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _calls(path: Path, dotted: str) -> list[int]:
    owner, name = dotted.rsplit(".", 1)
    return [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == name
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == owner
    ]


def test_models_never_imports_a_layer_above_it() -> None:
    offending = [
        f"{path.relative_to(SRC)}:{line} imports {module}"
        for path in sorted((SRC / "models").rglob("*.py"))
        for line, module in _imports(path)
        if module.startswith(ABOVE_MODELS)
    ]
    assert offending == []


def test_torch_files_are_read_in_one_place() -> None:
    """``data.graph_cache`` is the one exception: it sits below ``models`` and rebuilds a corrupt entry silently."""
    allowed = {SRC / "models" / "torch_io.py", SRC / "data" / "graph_cache.py"}
    callers = [
        f"{path.relative_to(SRC)}:{line}"
        for path in sorted(SRC.rglob("*.py"))
        if path not in allowed
        for line in _calls(path, "torch.load")
    ]
    assert callers == []

"""greenft.stopping is pure logic: importing it must not pull in the heavy stacks (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ["torch", "wandb", "codecarbon", "torch_geometric", "rdkit"]

PROBE = """
import json, sys
for name in {imports!r}:
    __import__(name)
heavy = {heavy!r}
loaded = sorted(m for m in sys.modules if m.split(".")[0] in heavy)
print(json.dumps(loaded))
"""


def loaded_after_import(imports: list[str], heavy: list[str]) -> list[str]:
    code = PROBE.format(imports=imports, heavy=heavy)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "module",
    [
        "greenft.stopping",
        "greenft.stopping.aer",
        "greenft.stopping.anges",
        "greenft.stopping.anges_pp",
        "greenft.stopping.base",
        "greenft.stopping.co2_budget",
        "greenft.stopping.config",
        "greenft.stopping.forecast",
        "greenft.stopping.full_budget",
        "greenft.stopping.patience",
        "greenft.stopping.patience_pp",
        "greenft.stopping.preprocess",
        "greenft.stopping.registry",
    ],
)
def test_importing_stopping_does_not_import_heavy_stacks(module: str):
    assert loaded_after_import([module], HEAVY) == []


def test_probe_detects_an_import():
    # the probe itself must be able to see a module being imported (here a stdlib one, cheap and always present)
    assert loaded_after_import(["greenft.stopping", "decimal"], [*HEAVY, "decimal"]) == ["decimal"]

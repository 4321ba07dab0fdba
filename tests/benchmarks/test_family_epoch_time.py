"""benchmarks/family_epoch_time.py's --size and --device: the size asked for is the size that is built and timed.

The GPU checks (scripts/gpu/checks.sh) time families at published sizes with ``--size NAME=LxW[xH] --device
cuda``; here the same code path runs on the CPU with a tiny size on ESOL, and the row must report that size,
the parameter count of a model built independently at it, and the device.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

from greenft.models import ModelConfig, get_family

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "family_epoch_time.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("family_epoch_time_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_parse_size_reads_layers_width_and_heads() -> None:
    script = _load_script()
    assert script.parse_size("graphormer=12x768x32") == (
        "graphormer",
        {"num_layers": 12, "emb_dim": 768, "num_heads": 32},
    )
    assert script.parse_size("gin=5X300") == ("gin", {"num_layers": 5, "emb_dim": 300})
    for bad in ("gin=5", "=5x300", "gin=5x300x8x2"):
        with pytest.raises(argparse.ArgumentTypeError, match="NAME=LAYERSxWIDTH"):
            script.parse_size(bad)


def test_time_family_builds_and_times_the_size_asked_for() -> None:
    torch.set_num_threads(1)
    script = _load_script()
    size = {"num_layers": 2, "emb_dim": 16}
    row = script.time_family("gin", "esol", 1, 256, 0, torch.device("cpu"), size)
    expected = get_family("gin").build(ModelConfig(name="gin", **size), 1).info["parameters"]
    assert row["size"] == "2 x 16"
    assert row["parameters"] == expected
    assert row["device"] == "cpu"
    assert row["train_s_per_epoch"] > 0 and row["eval_s_per_epoch"] > 0

"""Fault rows: command-line mistakes (unknown names, bad values, missing files)."""

from __future__ import annotations

import pytest
from fault_harness import Fault, Workspace, assert_contract, params, run_fault

ROWS: list[Fault] = [
    Fault("train-unknown-dataset", ["train", "--dataset", "nope", "--runs-dir", "{runs}"], message=r"nope"),
    Fault(
        "train-missing-config",
        ["train", "--config", "{tmp}/absent.yaml", "--runs-dir", "{runs}"],
        message=r"absent\.yaml",
    ),
]


@pytest.mark.parametrize("fault", params(ROWS))
def test_fault(fault: Fault, workspace: Workspace) -> None:
    assert_contract(fault, run_fault(fault, workspace))

"""``greenft datasets list`` read by scripts: the real command in a subprocess, 80 columns, stdout a pipe.

An 80-column table used to fold every cell, names included (``clint``/``ox``), so ``datasets list | grep
clintox`` found nothing. The table keeps names whole; ``--format csv`` and ``--format json`` are for scripts.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

from greenft.data import BUILTIN_DATASETS


def _list(*options: str) -> str:
    env = {**os.environ, "COLUMNS": "80", "TERM": "dumb"}
    result = subprocess.run(
        [sys.executable, "-m", "greenft", "datasets", "list", *options],
        capture_output=True,  # stdout is a pipe, as in `greenft datasets list | grep clintox`
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_table_keeps_every_name_whole_in_80_columns() -> None:
    out = _list()
    grep = subprocess.run(["grep", "clintox"], input=out, stdout=subprocess.PIPE, text=True, check=False)
    assert grep.returncode == 0 and "clintox" in grep.stdout, out
    first_cells = {line.split("│")[1].strip() for line in out.splitlines() if line.count("│") > 2}
    assert set(BUILTIN_DATASETS) <= first_cells, first_cells
    assert all(len(line) <= 80 for line in out.splitlines()), max(out.splitlines(), key=len)


def test_csv_parses_with_the_csv_module_and_has_one_row_per_dataset() -> None:
    rows = list(csv.DictReader(io.StringIO(_list("--format", "csv"))))
    assert [row["name"] for row in rows] == list(BUILTIN_DATASETS)
    clintox = next(row for row in rows if row["name"] == "clintox")
    assert clintox["tasks"] == "1" and clintox["task"] == "classification" and clintox["metric"] == "roc_auc"
    b3db = next(row for row in rows if row["name"] == "b3db")
    assert b3db["molecules"] == "7807" and b3db["licence"] == "CC0-1.0"


def test_json_parses_and_lists_every_registered_dataset() -> None:
    data = json.loads(_list("--format", "json"))
    assert [entry["name"] for entry in data] == list(BUILTIN_DATASETS)
    b3db = next(entry for entry in data if entry["name"] == "b3db")
    assert b3db["molecules"] == 7807 and b3db["tasks"] == 1 and b3db["installed"] is True
    assert all(isinstance(entry["molecules"], int) or entry["molecules"] is None for entry in data)

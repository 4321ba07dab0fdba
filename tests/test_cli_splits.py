"""``--split-file``, ``--split-index``, ``--split-column`` and ``--test-file`` through real commands (issue 15, 6a).

Real ``greenft train`` / ``greenft baseline`` runs on files written to ``tmp_path`` (a FreeSolv sample with one
unparsable row), tiny sizes; what was used is read back from the run's own files. Expected indices are derived by
hand from the rows written (see tests/data/test_split_sources.py for the mapping rules).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import FIXTURES
from greenft.cli import app
from greenft.inference.evaluate import data_for, evaluate_saved
from greenft.models.saved import load_saved_model
from greenft.schema import EPOCHS_FILE, SPLIT_FILE, read_jsonl
from greenft.schema.keys import BEST_MODEL_FILE, CONFIG_FILE

runner = CliRunner()
FREESOLV = FIXTURES / "freesolv_small.csv"
TINY = ["--max-epochs", "2", "--layers", "2", "--emb-dim", "16", "--threads", "1", "--meter", "wallclock"]


def write_files(tmp_path: Path, split_values: list[str] | None = None) -> tuple[Path, Path]:
    """main.csv: FreeSolv rows 0-29, row 3 unparsable (dropped); test.csv: FreeSolv rows 30-39."""
    rows = FREESOLV.read_text().splitlines()[1:]
    main = rows[:30]
    main[3] = "not_a_smiles," + main[3].split(",")[1]
    header = "smiles,dG_hyd"
    if split_values is not None:
        header += ",set"
        main = [f"{line},{value}" for line, value in zip(main, split_values, strict=True)]
    (tmp_path / "main.csv").write_text("\n".join([header, *main]) + "\n")
    (tmp_path / "test.csv").write_text("\n".join(["smiles,dG_hyd", *rows[30:40]]) + "\n")
    return tmp_path / "main.csv", tmp_path / "test.csv"


def data_args(main: Path) -> list[str]:
    return ["--data-file", str(main), "--smiles-column", "smiles", "--target-column", "dG_hyd"]


def test_train_with_split_file_and_test_file_records_the_indices_and_evaluate_rebuilds_them(tmp_path: Path) -> None:
    main, test = write_files(tmp_path)
    split_file = tmp_path / "splits.json"  # a list of two splits: --split-index 1 picks the second
    split_file.write_text(json.dumps([{"train": [0], "val": [1], "test": [2]}, {"train": "0-21", "val": "22-29"}]))
    args = ["train", *data_args(main), "--split-file", str(split_file), "--split-index", "1"]
    args += ["--test-file", str(test), *TINY, "--runs-dir", str(tmp_path / "runs"), "--wandb-mode", "disabled"]
    result = runner.invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "index 3 in 'train' (row 4 'not_a_smiles': invalid SMILES)" in flat  # the one warning line
    assert "split 21/8/10" in flat
    (split_json,) = (tmp_path / "runs").rglob(SPLIT_FILE)
    # rows 0-2 -> molecules 0-2, row 3 dropped, row r >= 4 -> r - 1; the 10 test-file molecules follow at 29-38
    assert json.loads(split_json.read_text()) == {
        "train": list(range(0, 21)),
        "val": list(range(21, 29)),
        "test": list(range(29, 39)),
    }
    config = json.loads((split_json.parent / CONFIG_FILE).read_text())
    assert config["data"]["split_file"] == str(split_file) and config["data"]["split_index"] == 1
    assert config["data"]["test_file"] == str(test)
    assert config["derived"]["dataset"]["split_source"] == f"file {split_file}[1] + test file {test}"
    # greenft evaluate's default: the run's own split, rebuilt from the saved model's header
    saved = load_saved_model(split_json.parent / BEST_MODEL_FILE)
    data = data_for(saved.header)
    assert data.own_split and len(data.smiles) == 10
    logged = read_jsonl(split_json.parent / EPOCHS_FILE)[saved.header.epoch - 1]["test/rmse"]
    assert evaluate_saved(saved, data).metric_value == pytest.approx(logged, rel=1e-5)


def test_baseline_takes_the_split_column(tmp_path: Path) -> None:
    values = ["train"] * 20 + ["Val"] * 5 + ["TEST"] * 5
    main, _ = write_files(tmp_path, values)
    out = tmp_path / "baseline.json"
    args = ["baseline", *data_args(main), "--split-column", "set", "--meter", "wallclock", "--out", str(out)]
    result = runner.invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["sizes"] == [19, 5, 5]  # row 3 (train) dropped
    assert report["split"] == "column 'set'"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--split-file", "{tmp}/far.json"], r"index 40 in 'test' is out of range: .*main\.csv has 30 data rows"),
        (["--split-file", "{tmp}/nope.json"], r"split file \(data\.split_file\) not found: .*nope\.json"),
        (["--split-column", "set", "--split-file", "{tmp}/far.json"], r"both give the split; give one"),
        (["--split-column", "dG_hyd"], r"row 1, split column 'dG_hyd': value '-5\.9' names no split part"),
        (["--test-file", "{tmp}/bad_test.csv"], r"bad_test\.csv: column\(s\) \['dG_hyd'\] not found"),
        (["--test-file", "{tmp}/missing.csv"], r"data\.test_file: test file not found: .*missing\.csv"),
    ],
)
def test_bad_split_inputs_are_one_error_line_exit_2_before_training(
    tmp_path: Path, extra: list[str], expected: str
) -> None:
    import re

    main, _ = write_files(tmp_path)
    (tmp_path / "far.json").write_text(json.dumps({"train": [0, 1], "val": [2], "test": [40]}))
    (tmp_path / "bad_test.csv").write_text("smiles,energy\nCCO,1.0\n")
    args = ["train", *data_args(main), *[a.replace("{tmp}", str(tmp_path)) for a in extra], *TINY]
    args += ["--runs-dir", str(tmp_path / "runs")]
    result = runner.invoke(app, args, env={"COLUMNS": "400"})
    assert result.exit_code == 2, result.output
    (line,) = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert re.search(expected, line), line
    assert not list((tmp_path / "runs").rglob(EPOCHS_FILE))  # no epoch was trained

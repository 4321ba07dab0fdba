"""``greenft predict`` and ``greenft evaluate`` on real model files.

Fast tests use a tiny GIN built by its family and saved directly (random weights: what is tested is the plumbing,
rows, columns, errors and emissions, not the quality). The slow ones train a real tiny bbbp trial once per module
and check the acceptance: ``evaluate`` reproduces the test metric the run logged for the saved epoch, and a model
predicts identically in a fresh process.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from greenft.cli import app
from greenft.models.saved import load_saved_model
from model_files import tiny_model

runner = CliRunner()
WIDE = {"COLUMNS": "250"}
INPUT = ["CCO", "C1CC", "c1ccccc1O", "", "not a molecule", "CC(=O)Nc1ccc(O)cc1"]
INVALID = {1: "RDKit cannot parse 'C1CC'", 3: "empty SMILES", 4: "RDKit cannot parse 'not a molecule'"}


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("model") / "model_best.pt")


def _input_csv(tmp_path: Path) -> Path:
    path = tmp_path / "mine.csv"
    pd.DataFrame({"id": [f"m{i}" for i in range(len(INPUT))], "smiles": INPUT}).to_csv(path, index=False)
    return path


def test_predict_keeps_every_row_names_the_invalid_ones_and_prints_co2_per_1000(
    model_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "preds.csv"
    args = ["predict", "--model", str(model_file), "--data-file", str(_input_csv(tmp_path)), "--out", str(out)]
    result = runner.invoke(app, [*args, "--device", "cpu", "--batch-size", "2"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "predicted 3 of 6 molecules; 3 invalid" in result.output
    assert "per 1,000 molecules:" in result.output and "kg CO2-eq" in result.output
    assert "codecarbon-offline" in result.output
    frame = pd.read_csv(out, dtype={"error": str}, keep_default_na=False, na_values=[""])
    assert list(frame.columns) == ["id", "smiles", "p_np", "error"]
    assert frame["id"].tolist() == [f"m{i}" for i in range(6)]  # one row per input row, in order
    errors = frame["error"].fillna("").tolist()
    assert {i: e for i, e in enumerate(errors) if e} == INVALID
    # the valid rows hold what the loaded model predicts for those molecules on their own
    direct = load_saved_model(model_file).predict(["CCO", "Oc1ccccc1", "CC(=O)Nc1ccc(O)cc1"]).values[:, 0]
    assert frame["p_np"].to_numpy()[[0, 2, 5]] == pytest.approx(direct, rel=1e-6)
    assert frame["p_np"].isna().tolist() == [False, True, False, True, True, False]
    record = json.loads((tmp_path / "preds.csv.json").read_text())
    assert (record["rows"], record["predicted"], record["invalid"]) == (6, 3, 3)
    assert record["invalid_rows"] == {str(i + 1): why for i, why in INVALID.items()}
    emissions = record["emissions"]
    assert emissions["molecules"] == 3 and emissions["emissions_kg"] > 0
    assert emissions["kg_co2_per_1000"] == pytest.approx(emissions["emissions_kg"] * 1000 / 3)
    assert record["header"]["family"] == "gin" and record["header"]["task_names"] == ["p_np"]
    assert record["file_bytes"] == model_file.stat().st_size and record["device"] == "cpu"


def test_evaluate_a_labelled_file_scores_every_metric_with_a_column_the_model_does_not_name(
    model_file: Path, tmp_path: Path
) -> None:
    labelled = tmp_path / "labelled.csv"
    smiles = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "CCN", "C1CC"]
    pd.DataFrame({"smiles": smiles, "y": [0, 1, 1, 0, 1]}).to_csv(labelled, index=False)
    out = tmp_path / "metrics.json"
    args = ["evaluate", "--model", str(model_file), "--data-file", str(labelled), "--label-column", "y"]
    result = runner.invoke(app, [*args, "--out", str(out)], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "ROC-AUC" in result.output and "MCC" in result.output and "per 1,000 molecules" in result.output
    report = json.loads(out.read_text())
    assert report["data"]["molecules"] == 4 and report["data"]["dropped_rows"] == 1  # the loader drops 'C1CC'
    # independent: the loaded model's probabilities and scikit-learn's ROC-AUC on the 4 valid molecules
    from sklearn.metrics import roc_auc_score

    probabilities = load_saved_model(model_file).predict(smiles[:4]).values[:, 0]
    assert report["per_task"]["p_np"]["roc_auc"] == pytest.approx(roc_auc_score([0, 1, 1, 0], probabilities))
    assert report["metric_value"] == pytest.approx(report["mean"]["roc_auc"])
    assert report["logged"]["reproduced"] is None  # not the model's own split: nothing to compare
    assert report["emissions"]["molecules"] == 4


def test_regression_values_are_in_original_units_and_scored_so(tmp_path: Path) -> None:
    regression = {"task_type": "regression", "metric": "rmse", "task_names": ["logS"]}
    model = tiny_model(tmp_path / "reg.pt", target_mean=[-3.0], target_std=[2.5], **regression)
    smiles = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "CCCCCC", "OCC(O)CO"]
    labels = [-0.5, -1.0, -1.5, -4.0, 1.0]
    labelled = tmp_path / "sol.csv"
    pd.DataFrame({"smiles": smiles, "logS": labels}).to_csv(labelled, index=False)
    out = tmp_path / "metrics.json"
    result = runner.invoke(app, ["evaluate", "--model", str(model), "--data-file", str(labelled), "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    # independent: the loaded model's raw outputs, un-standardised by hand, against the labels
    loaded = load_saved_model(model)
    _, items, _ = loaded.encode(smiles)
    values = loaded.raw_outputs(items).numpy()[:, 0].astype(np.float64) * 2.5 - 3.0
    errors = values - np.array(labels)
    assert report["per_task"]["logS"]["rmse"] == pytest.approx(math.sqrt(np.mean(errors**2)), rel=1e-5)
    assert report["per_task"]["logS"]["mae"] == pytest.approx(np.mean(np.abs(errors)), rel=1e-5)
    assert set(report["per_task"]["logS"]) == {"rmse", "mae", "r2"}
    preds = tmp_path / "preds.csv"
    result = runner.invoke(app, ["predict", "--model", str(model), "--data-file", str(labelled), "--out", str(preds)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(preds)
    assert list(frame.columns) == ["smiles", "logS", "logS_predicted", "error"]  # the label column is kept
    assert frame["logS_predicted"].to_numpy() == pytest.approx(values, rel=1e-5)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing-model", r"model file not found: .*absent\.pt"),
        ("truncated-model", r"truncated or corrupt"),
        ("missing-data-file", r"dataset file not found: .*absent\.csv"),
        ("missing-smiles-column", r"column\(s\) \['smiles'\] not found; the file has columns \['id', 'SMILES'\]"),
        ("out-is-a-folder", r"--out .*: is a folder"),
        ("label-columns-mismatch", r"has 2 task\(s\) \['a', 'b'\], the model predicts 1 \['p_np'\]"),
        ("dataset-of-other-task-type", r"--dataset 'esol' is regression, the model is classification"),
        ("dataset-and-data-file", r"give --dataset or --data-file, not both"),
        ("unknown-split", r"--split 'dev': expected one of train, val, test, all"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    model_file: Path, tmp_path: Path, case: str, message: str
) -> None:
    import re

    data = _input_csv(tmp_path)
    model, out = model_file, tmp_path / "preds.csv"
    command = "predict"
    extra: list[str] = []
    if case == "missing-model":
        model = tmp_path / "absent.pt"
    elif case == "truncated-model":
        model = tmp_path / "half.pt"
        blob = model_file.read_bytes()
        model.write_bytes(blob[: len(blob) // 2])
    elif case == "missing-data-file":
        data = tmp_path / "absent.csv"
    elif case == "missing-smiles-column":
        data.write_text("id,SMILES\nm0,CCO\n")
    elif case == "out-is-a-folder":
        out.mkdir()
    elif case == "label-columns-mismatch":
        command, extra = "evaluate", ["--label-column", "a", "--label-column", "b"]
        out = tmp_path / "metrics.json"
    elif case.startswith("dataset-") or case == "unknown-split":
        command, out = "evaluate", tmp_path / "metrics.json"
        extra = ["--dataset", "esol"] if case == "dataset-of-other-task-type" else []
        extra += ["--split", "dev"] if case == "unknown-split" else []
        extra += ["--dataset", "bbbp", "--data-file", str(data)] if case == "dataset-and-data-file" else []
    source = ["--data-file", str(data)] if command == "predict" or case == "label-columns-mismatch" else []
    args = [command, "--model", str(model), *source, "--out", str(out), *extra]
    result = runner.invoke(app, args, env=WIDE)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert re.search(message, lines[0]), lines[0]
    assert case == "out-is-a-folder" or not out.exists()
    assert not (tmp_path / "preds.csv.json").exists()


# --- slow: a real trial, the acceptance ---------------------------------------------------------------------------

TRAIN = ["--dataset", "bbbp", "--limit", "200", "--max-epochs", "3", "--layers", "2", "--emb-dim", "16"]
TRAIN += ["--threads", "1", "--set", "logging.system_metrics=false", "--set", "tracking.measure_power_secs=1"]


def _greenft(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DISABLE_GIT="true", COLUMNS="250")
    command = [sys.executable, "-m", "greenft", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real tiny bbbp trial's files folder (it holds model_best.pt and greenft_epochs.jsonl)."""
    runs = tmp_path_factory.mktemp("trained") / "runs"
    done = _greenft("train", *TRAIN, "--runs-dir", str(runs))
    assert done.returncode == 0, done.stdout + done.stderr
    (best,) = runs.glob("**/model_best.pt")
    return best.parent


@pytest.mark.slow
@pytest.mark.parametrize("which", ["best", "stop"])
def test_evaluate_reproduces_the_test_metric_the_run_logged(trained: Path, tmp_path: Path, which: str) -> None:
    model = trained / f"model_{which}.pt"
    header = load_saved_model(model).header
    logged = {row["epoch"]: row for row in map(json.loads, (trained / "greenft_epochs.jsonl").read_text().splitlines())}
    test_key = next(key for key in logged[header.epoch] if key.startswith("test/") and key.endswith("roc_auc"))
    out = tmp_path / "metrics.json"
    result = runner.invoke(app, ["evaluate", "--model", str(model), "--out", str(out)], env=WIDE)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["data"]["part"] == "test" and report["logged"]["reproduced"] is True
    # the epoch log itself, not only the header, holds the value reproduced
    assert math.isclose(report["metric_value"], logged[header.epoch][test_key], rel_tol=1e-6)
    assert "reproduced" in result.output
    if which == "best":  # the validation part reproduces the logged validation metric the same way
        val = runner.invoke(app, ["evaluate", "--model", str(model), "--split", "val", "--out", str(out)], env=WIDE)
        assert val.exit_code == 0, val.output
        report = json.loads(out.read_text())
        assert report["data"]["part"] == "val" and report["logged"]["reproduced"] is True
        assert math.isclose(report["metric_value"], header.val_metric, rel_tol=1e-6)


@pytest.mark.slow
def test_a_saved_model_predicts_identically_in_a_fresh_process(trained: Path, tmp_path: Path) -> None:
    data = _input_csv(tmp_path)
    here, there = tmp_path / "here.csv", tmp_path / "there.csv"
    model = str(trained / "model_best.pt")
    result = runner.invoke(app, ["predict", "--model", model, "--data-file", str(data), "--out", str(here)], env=WIDE)
    assert result.exit_code == 0, result.output
    done = _greenft("predict", "--model", model, "--data-file", str(data), "--out", str(there), "--batch-size", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "per 1,000 molecules" in done.stdout
    a, b = pd.read_csv(here), pd.read_csv(there)
    np.testing.assert_allclose(a["p_np"].to_numpy(), b["p_np"].to_numpy(), rtol=1e-6)
    assert a["p_np"].isna().sum() == 3

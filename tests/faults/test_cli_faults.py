"""Fault rows: command-line mistakes (unknown names, bad values, missing files) on every command, and the torch
thread default a run records.

Click's own usage errors (an unknown option or command, a value of the wrong type, a missing argument) used to
print usage, a hint and ``Error: ...`` on three lines; they follow the one-line contract now, naming the
command's ``--help``. A trial's torch threads default to the cores actually free (greenft.agents.threads), and
the run's config records how many and why.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import pytest
from fault_harness import Fault, Outcome, Workspace, assert_contract, params, run_fault

TINY = ["--dataset", "b3db", "--limit", "120", "--max-epochs", "1", "--layers", "2", "--emb-dim", "16"]
TINY += ["--rule", "none", "--set", "logging.system_metrics=false", "--runs-dir", "{tmp}/runs2"]
NO_THREAD_SETTINGS = {"OMP_NUM_THREADS": "<unset>", "OMP_WAIT_POLICY": "<unset>"}


def _threads_recorded(
    chosen_by: str, threads: int | None = None, policy: str | None = "PASSIVE"
) -> Callable[[Outcome], None]:
    """A ``check``: the new run's config records its torch threads, why, and the OpenMP wait policy."""

    def check(outcome: Outcome) -> None:
        (config_file,) = (outcome.workspace.root / "runs2").glob("**/greenft_config.json")
        recorded = json.loads(config_file.read_text())["derived"]["threads"]
        assert recorded["chosen_by"] == chosen_by, recorded
        usable = len(os.sched_getaffinity(0))
        assert recorded["usable_cores"] == usable, recorded
        if threads is not None:
            assert recorded["threads"] == threads, recorded
        else:  # the free cores: at least 1, at most the usable ones
            assert 1 <= recorded["threads"] <= usable, recorded
        assert recorded["omp_wait_policy"] == policy, recorded
        summary = json.loads(config_file.with_name("greenft_summary.json").read_text())
        assert summary["status"] == "finished", summary

    return check


def _molecules_csv_column(column: str) -> Callable[[Workspace], None]:
    """A ``prepare`` writing ``{tmp}/in.csv``: an id column and molecules in ``column``."""

    def prepare(workspace: Workspace) -> None:
        workspace.write("in.csv", f"id,{column}\nm0,CCO\nm1,c1ccccc1O\n")

    return prepare


_molecules_csv = _molecules_csv_column("smiles")
EVALUATE_ID_AND_SMILES = ["--label-column", "id", "--label-column", "smiles", "--out", "{tmp}/m.json"]


def _model_and_molecules(workspace: Workspace) -> None:
    """``{tmp}/model.pt`` (a tiny saved GIN, built once per process: no training in a row) and ``in.csv``."""
    from model_files import tiny_model_bytes

    workspace.write("model.pt", tiny_model_bytes())
    _molecules_csv(workspace)


def _truncated_model(workspace: Workspace) -> None:
    """``{tmp}/half.pt``: the first half of a saved model (a copy cut short), and ``in.csv``."""
    from model_files import tiny_model_bytes

    whole = tiny_model_bytes()
    workspace.write("half.pt", whole[: len(whole) // 2])
    _molecules_csv(workspace)


def _model_with_column(column: str) -> Callable[[Workspace], None]:
    def prepare(workspace: Workspace) -> None:
        _model_and_molecules(workspace)
        _molecules_csv_column(column)(workspace)

    return prepare


def _not_written(*names: str) -> Callable[[Outcome], None]:
    """A ``check``: the refused command wrote none of these outputs."""

    def check(outcome: Outcome) -> None:
        present = [name for name in names if outcome.workspace.path(name).exists()]
        assert not present, f"written although refused: {present}"

    return check


ROWS: list[Fault] = [
    # --- train: names, files and values, found before torch is imported
    Fault("train-unknown-dataset", ["train", "--dataset", "nope", "--runs-dir", "{runs}"], message=r"nope"),
    Fault(
        "train-missing-config",
        ["train", "--config", "{tmp}/absent.yaml", "--runs-dir", "{runs}"],
        message=r"absent\.yaml",
    ),
    Fault("train-unknown-model", ["train", "--model", "nope", "--runs-dir", "{runs}"], message=r"unknown model 'nope'"),
    Fault(
        "train-missing-checkpoint",
        ["train", "--checkpoint", "{tmp}/absent.pth", "--runs-dir", "{runs}"],
        message=r"checkpoint not found: .*absent\.pth",
    ),
    Fault(
        "train-missing-data-file",
        ["train", "--data-file", "{tmp}/absent.csv", "--smiles-column", "s", "--target-column", "t"],
        message=r"dataset file not found: .*absent\.csv",
    ),
    Fault("train-max-epochs-0", ["train", "--max-epochs", "0"], message=r"optim\.max_epochs = 0: .*greater than"),
    Fault("train-threads-0", ["train", "--threads", "0"], message=r"threads = 0: .*greater than or equal to 1"),
    Fault("train-threads-negative", ["train", "--threads", "-2"], message=r"threads = -2"),
    Fault("train-threads-not-a-number", ["train", "--threads", "two"], message=r"Invalid value for '--threads'"),
    Fault("train-lr-not-a-number", ["train", "--lr", "abc"], message=r"Invalid value for '--lr'.*train --help"),
    Fault("train-max-epochs-float", ["train", "--max-epochs", "1.5"], message=r"Invalid value for '--max-epochs'"),
    Fault("train-unknown-split", ["train", "--split", "nope"], message=r"'--split'.*'nope' is not one of"),
    Fault("train-unknown-option", ["train", "--bogus", "--runs-dir", "{runs}"], message=r"No such option: --bogus"),
    Fault("train-option-without-value", ["train", "--dataset"], message=r"'--dataset' requires an argument"),
    Fault("train-extra-argument", ["train", "b3db"], message=r"unexpected extra argument.*b3db"),
    Fault("train-budget-kg-0", ["train", "--budget-kg", "0"], message=r"co2budget\.budget_kg = 0\.0: .*greater"),
    Fault(
        "train-co2budget-without-budget",
        ["train", "--rule", "co2budget"],
        message=r"stopping\.co2budget\.budget_kg: Field required",
    ),
    Fault("train-forecast-after-0", ["train", "--set", "forecast_after=0"], message=r"forecast_after = 0: .*greater"),
    # --- the command line itself
    Fault("cli-unknown-command", ["nope"], message=r"No such command 'nope'.*greenft --help"),
    Fault("cli-unknown-option", ["--bogus"], message=r"No such option: --bogus"),
    Fault("cli-misspelt-command", ["trian"], message=r"No such command 'trian'"),
    # --- datasets
    Fault("datasets-unknown-subcommand", ["datasets", "nope"], message=r"No such command 'nope'"),
    Fault("datasets-show-unknown", ["datasets", "show", "nope"], message=r"unknown dataset 'nope'"),
    Fault("datasets-list-bad-format", ["datasets", "list", "--format", "xml"], message=r"'xml' is not one of"),
    # --- checkpoint
    Fault(
        "checkpoint-inspect-missing",
        ["checkpoint", "inspect", "{tmp}/absent.pth"],
        message=r"checkpoint not found: .*absent\.pth",
    ),
    Fault("checkpoint-inspect-no-path", ["checkpoint", "inspect"], message=r"Missing argument 'path'"),
    Fault(
        "checkpoint-inspect-unknown-format",
        ["checkpoint", "inspect", "{prior}/greenft_epochs.jsonl", "--format", "nope"],
        message=r"checkpoint format 'nope' is not one of",
    ),
    # --- pretrain
    Fault("pretrain-unknown-recipe", ["pretrain", "nope"], message=r"unknown pretraining recipe 'nope'"),
    Fault("pretrain-epochs-0", ["pretrain", "smiles-mlm", "--epochs", "0"], message=r"epochs = 0"),
    Fault("pretrain-unknown-preset", ["pretrain", "smiles-mlm", "--preset", "tpu"], message=r"'tpu' is not one of"),
    Fault("pretrain-threads-0", ["pretrain", "smiles-mlm", "--threads", "0"], message=r"threads = 0"),
    # --- sweep
    Fault(
        "sweep-run-missing-file",
        ["sweep", "run", "{tmp}/absent.yaml", "--runs-dir", "{runs}"],
        message=r"sweep file not found: .*absent\.yaml",
    ),
    Fault("sweep-run-workers-0", ["sweep", "run", "{tmp}/absent.yaml", "--workers", "0"], message=r"'--workers'"),
    Fault("sweep-validate-no-file", ["sweep", "validate"], message=r"Missing argument 'files'"),
    Fault("sweep-status-missing-file", ["sweep", "status", "{tmp}/absent.yaml"], message=r"absent\.yaml"),
    Fault("sweep-unknown-subcommand", ["sweep", "start"], message=r"No such command 'start'"),
    # --- analyze
    Fault("analyze-no-source", ["analyze"], message=r"Missing option '--source'"),
    Fault("analyze-absent-source", ["analyze", "--source", "{tmp}/nowhere"], message=r"nowhere does not exist"),
    Fault("analyze-bad-rule", ["analyze", "--source", "{runs}", "--rule", "bogus:1"], message=r"rule 'bogus:1'"),
    # --- tune
    Fault("tune-extra-argument", ["tune", "x"], message=r"unexpected extra argument"),
    Fault("tune-trials-not-a-number", ["tune", "--source", "{runs}", "--trials", "abc"], message=r"'--trials'"),
    Fault("tune-trials-0", ["tune", "--source", "{runs}", "--trials", "0"], message=r"'--trials'"),
    # --- agent
    Fault("agent-not-key-value", ["agent", "--bogus"], message=r"agent argument '--bogus': expected key=value"),
    Fault("agent-unknown-model", ["agent", "model=nope"], message=r"unknown model 'nope'"),
    Fault(
        "agent-missing-params-file",
        ["agent", "--params", "{tmp}/absent.json"],
        message=r"sweep parameter file not found: .*absent\.json",
    ),
    # --- predict / evaluate a saved model (a tiny one built by the row): refused before any prediction
    Fault(
        "predict-missing-model",
        ["predict", "--model", "{tmp}/absent.pt", "--data-file", "{tmp}/in.csv", "--out", "{tmp}/p.csv"],
        prepare=_molecules_csv,
        message=r"model file not found: .*absent\.pt",
        check=_not_written("p.csv", "p.csv.json"),
    ),
    Fault(
        "predict-truncated-model",
        ["predict", "--model", "{tmp}/half.pt", "--data-file", "{tmp}/in.csv", "--out", "{tmp}/p.csv"],
        prepare=_truncated_model,
        message=r"half\.pt: truncated or corrupt greenft model file",
        check=_not_written("p.csv", "p.csv.json"),
    ),
    Fault(
        "predict-missing-smiles-column",
        ["predict", "--model", "{tmp}/model.pt", "--data-file", "{tmp}/in.csv", "--out", "{tmp}/p.csv"],
        prepare=_model_with_column("SMILES"),
        message=r"column\(s\) \['smiles'\] not found; the file has columns \['id', 'SMILES'\].*did you mean 'SMILES'",
        check=_not_written("p.csv", "p.csv.json"),
    ),
    Fault(
        "evaluate-label-columns-do-not-match-the-model",
        ["evaluate", "--model", "{tmp}/model.pt", "--data-file", "{tmp}/in.csv", *EVALUATE_ID_AND_SMILES],
        prepare=_model_and_molecules,
        message=r"has 2 task\(s\) \['id', 'smiles'\], the model predicts 1 ",
        check=_not_written("m.json"),
    ),
    # --- the torch thread default: the cores actually free, recorded with the reason
    Fault(
        "train-threads-default-free-cores",
        ["train", *TINY],
        env=NO_THREAD_SETTINGS,
        exit_code=0,
        check=_threads_recorded("free cores"),
        slow=True,  # a whole training; the fast set keeps train-threads-given (the same record, one thread)
    ),
    Fault(
        "train-threads-given",
        ["train", *TINY, "--threads", "1"],
        env=NO_THREAD_SETTINGS,
        exit_code=0,
        check=_threads_recorded("threads", threads=1),
    ),
    Fault(
        "train-threads-from-omp-num-threads",
        ["train", *TINY],
        env={"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "ACTIVE"},  # the user's wait policy is kept
        exit_code=0,
        check=_threads_recorded("OMP_NUM_THREADS", threads=1, policy="ACTIVE"),
        slow=True,  # a whole training, as train-threads-given in the fast set
    ),
]


@pytest.mark.parametrize("fault", params(ROWS))
def test_fault(fault: Fault, workspace: Workspace) -> None:
    assert_contract(fault, run_fault(fault, workspace))

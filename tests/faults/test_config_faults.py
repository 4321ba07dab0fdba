"""Fault rows: configs, flags, sweep YAMLs and tuning inputs that greenft used to run silently, or record as if
they had applied (issue 12, "silent wrong configs and tuning results").

Every refusal happens before any work: the rows check that no run folder appeared beside the prior run. The
warning rows train tiny real runs (or tune on the prior run's curve) and read what greenft recorded.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from fault_harness import Fault, Outcome, Workspace, assert_contract, digest, params, run_fault

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TINY = ["--limit", "120", "--max-epochs", "1", "--threads", "1", "--layers", "2", "--emb-dim", "16"]
"""Sizes that keep a row short even if greenft wrongly started training (a regression of a refusal)."""
QUIET = ["--rule", "none", "--meter", "wallclock", "--set", "logging.system_metrics=false"]


def train(*args: str) -> list[str]:
    return ["train", *TINY, "--runs-dir", "{runs}", *args]


def files(**contents: str | bytes) -> Callable[[Workspace], None]:
    """A ``prepare`` writing each ``name=content`` into the workspace; ``__`` in a name stands for a dot."""

    def prepare(workspace: Workspace) -> None:
        for name, content in contents.items():
            workspace.write(name.replace("__", "."), content)

    return prepare


def nothing_new(outcome: Outcome) -> None:
    """Refused before any work: no run folder, state or log appeared in the runs folder."""
    new = sorted(set(digest(outcome.workspace.runs)) - set(outcome.workspace.prior))
    assert not new, f"files written although the command was refused: {new[:5]}"


def floats_in(value: Any) -> Iterator[float]:
    if isinstance(value, float):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from floats_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from floats_in(item)


def assert_tidy(value: Any, where: str) -> None:
    """No float artefact such as 0.8200000000000001: every float is its own 15-significant-digit decimal."""
    for number in floats_in(value):
        if math.isfinite(number):
            assert float(f"{number:.15g}") == number, f"{where}: float artefact {number!r}"


def new_run_config(outcome: Outcome, runs: str = "new") -> dict[str, Any]:
    (config,) = (outcome.workspace.root / runs).glob("**/greenft_config.json")
    loaded: dict[str, Any] = json.loads(config.read_text())
    return loaded


# ----------------------------------------------------------------------------------------- tiny checkpoint


def tiny_gin_checkpoint(workspace: Workspace) -> None:
    """A real greenft-format GIN encoder of 2 layers x 16, written as ``greenft pretrain`` writes one."""
    from greenft.models.graph_layouts import graph_encoder
    from greenft.models.greenft_format import save_encoder

    save_encoder(graph_encoder("gin", 2, 16, 0.0), workspace.path("gin-2x16.pt"), "gin", {"test": "faults"})


def checkpoint_sizes_recorded(outcome: Outcome) -> None:
    model = new_run_config(outcome)["model"]
    assert (model["num_layers"], model["emb_dim"]) == (2, 16), f"recorded {model} for a 2 x 16 checkpoint"
    assert (model["num_heads"], model["max_length"]) == (None, 128), f"graph run recorded {model}"
    assert re.search(
        r"^warning: model\.num_layers = 4 \(--layers\), model\.emb_dim = 32 .*has num_layers 2, "
        r"emb_dim 16",
        outcome.output,
        re.M,
    ), outcome.output[-2000:]


def random_init_is_random(outcome: Outcome) -> None:
    config = new_run_config(outcome)
    derived = config["derived"]["model"]
    assert derived["init"] == "random", f"--random-init with a checkpoint trained from {derived['init']}"
    assert derived["architecture_from"].endswith("gin-2x16.pt") and config["model"]["num_layers"] == 2


def fixture_with_template_config(workspace: Workspace) -> None:
    """A config made from a template naming a built-in dataset, with the user's own file added."""
    shutil.copy(FIXTURES / "bbb_small.csv", workspace.path("mols.csv"))
    workspace.write(
        "c.yaml", "data:\n  dataset: bbbp\n  file: mols.csv\n  smiles_column: smiles\n  target_columns: [bbb]\n"
    )


def recorded_dataset_is_file(outcome: Outcome) -> None:
    config = new_run_config(outcome)
    assert config["data"]["dataset"] == "file", f"trained on mols.csv, recorded {config['data']}"
    assert config["derived"]["dataset"]["path"].endswith("mols.csv"), config["derived"]["dataset"]


# ------------------------------------------------------------------------------------------------ tuning


@cache
def regression_runs() -> Path:
    """One tiny finished full-budget regression run (trained once per session), for pooling with the prior."""
    root = Path(tempfile.mkdtemp(prefix="greenft-faults-regression-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DISABLE_GIT="true")
    args = ["--dataset", "b3db-regression", "--limit", "120", "--max-epochs", "2", "--threads", "1"]
    small = ["--layers", "2", "--emb-dim", "16", "--rule", "none", "--set", "logging.system_metrics=false"]
    done = subprocess.run(
        [sys.executable, "-m", "greenft", "train", *args, *small, "--runs-dir", str(root / "runs")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return root / "runs"


def pooled_source(workspace: Workspace) -> None:
    shutil.copytree(workspace.runs, workspace.path("pool/classification"), symlinks=True)
    shutil.copytree(regression_runs(), workspace.path("pool/regression"), symlinks=True)


def tune_outputs_warn_and_tidy(count: str) -> Callable[[Outcome], None]:
    def check(outcome: Outcome) -> None:
        out = outcome.workspace.path("tune")
        report = (out / "tune_report.md").read_text()
        assert f"**Warning:** tuned on {count} complete curve(s)" in report, report[:1500]
        best = yaml.safe_load((out / "best_configs.yaml").read_text())
        assert any(f"tuned on {count} complete curve(s)" in w for w in best["warnings"]), best["warnings"]
        assert_tidy(best, "best_configs.yaml")

    return check


def pooled_warning_in_report(outcome: Outcome) -> None:
    tune_outputs_warn_and_tidy("2")(outcome)
    report = outcome.workspace.path("tune/tune_report.md").read_text()
    assert "**Warning:** pooled curves of different task types" in report


TUNE = ["tune", "--out", "{tmp}/tune", "--trials", "6", "--seed", "1", "--cache-dir", "{tmp}/cache"]

# ------------------------------------------------------------------------------------------- sweep files

SWEEP_STEPS = """\
name: q-grid
method: random
run_cap: 1
parameters:
  dataset: {value: b3db}
  limit: {value: 120}
  max_epochs: {value: 1}
  threads: {value: 1}
  num_layers: {value: 2}
  emb_dim: {value: 16}
  meter: {value: wallclock}
  logging.system_metrics: {value: false}
  alpha: {distribution: q_uniform, min: 0.5, max: 1.0, q: 0.01}
  beta: {distribution: q_uniform, min: 0.1, max: 0.5, q: 0.01}
  lr: {distribution: q_log_uniform_values, min: 0.0001, max: 0.01, q: 0.0001}
"""
"""W&B's engine proposes alpha = 0.8300000000000001 and lr = 0.0029000000000000002 for this sweep's first trial
(the controller seeds it from the sweep id, i.e. from this text: change a character and the draw changes)."""


def sweep(parameters: str, method: str = "grid") -> str:
    return f"method: {method}\nparameters:\n{parameters}"


def stepped_values_recorded_tidy(outcome: Outcome) -> None:
    (state_file,) = outcome.workspace.path("sweepruns/sweeps").glob("*/state.json")
    state = json.loads(state_file.read_text())
    (trial,) = state["trials"]
    assert (trial["params"]["alpha"], trial["params"]["lr"]) == (0.83, 0.0029), trial["params"]
    assert_tidy(trial["params"], "sweep state params")
    assert_tidy(trial["wandb_config"], "sweep state wandb_config")
    config = new_run_config(outcome, "sweepruns")
    assert (config["stopping"]["alpha"], config["optim"]["lr"], config["stopping"]["rule"]) == (0.83, 0.0029, "anges")
    assert_tidy({k: config[k] for k in ("optim", "stopping")}, "run config")


SWEEP_VALIDATE = ["sweep", "validate", "{tmp}/s.yaml"]

ROWS: list[Fault] = [
    # -------------------------------------------------------------------------------- trial config files
    Fault(
        "cfg-empty-file",
        train("--config", "{tmp}/c.yaml"),
        message=r"c\.yaml: the config file has no settings",
        prepare=files(c__yaml=b""),
        check=nothing_new,
    ),
    Fault(
        "cfg-only-comments",
        train("--config", "{tmp}/c.yaml"),
        message=r"c\.yaml: .*no settings .*comments",
        prepare=files(c__yaml="# a template, all commented out\n# data:\n#   dataset: bbbp\n"),
        check=nothing_new,
    ),
    Fault(
        "cfg-empty-mapping",
        train("--config", "{tmp}/c.yaml"),
        message=r"no settings",
        prepare=files(c__yaml="{}\n"),
        check=nothing_new,
    ),
    Fault(
        "cfg-yaml-list",
        train("--config", "{tmp}/c.yaml"),
        message=r"c\.yaml: expected a mapping.*found list",
        prepare=files(c__yaml="- data\n- optim\n"),
        check=nothing_new,
    ),
    Fault(
        "cfg-yaml-scalar",
        train("--config", "{tmp}/c.yaml"),
        message=r"c\.yaml: expected a mapping.*found int",
        prepare=files(c__yaml="42\n"),
        check=nothing_new,
    ),
    Fault(
        "cfg-unknown-section",
        train("--config", "{tmp}/c.yaml"),
        message=r"c\.yaml\): datta: the trial config has no field 'datta'; did you mean 'data'\?",
        prepare=files(c__yaml="datta:\n  dataset: bbbp\n"),
        check=nothing_new,
    ),
    Fault(
        "cfg-unknown-field",
        train("--config", "{tmp}/c.yaml"),
        message=r"optim\.learning_rate: optim has no field 'learning_rate'",
        prepare=files(c__yaml="optim:\n  learning_rate: 0.01\n"),
        check=nothing_new,
    ),
    Fault(
        "cfg-two-bad-values-one-line",
        train("--config", "{tmp}/c.yaml"),
        message=r"optim\.lr = -1: .*greater than 0; optim\.batch_size = 0: .*greater than or equal to 1",
        prepare=files(c__yaml="optim:\n  lr: -1\n  batch_size: 0\n"),
        check=nothing_new,
    ),
    Fault(
        "cfg-wrong-type",
        train("--config", "{tmp}/c.yaml"),
        message=r"optim\.lr = 'fast': .*valid number",
        prepare=files(c__yaml="optim:\n  lr: fast\n"),
        check=nothing_new,
    ),
    Fault(
        "cfg-rule-field-of-another-rule",
        train("--config", "{tmp}/c.yaml"),
        message=r"stopping rule 'patience' has no field 'alpha'; it belongs to rule 'anges'",
        prepare=files(c__yaml="stopping:\n  rule: patience\n  alpha: 0.5\n"),
        check=nothing_new,
    ),
    Fault(
        "cfg-file-and-builtin-dataset-flags",
        train(
            "--dataset", "bbbp", "--data-file", "{tmp}/mols.csv", "--smiles-column", "smiles", "--target-column", "y"
        ),
        message=r"command line: dataset = 'bbbp' and data file = '.*mols\.csv' name two datasets; give one",
        check=nothing_new,
    ),
    Fault(
        "cfg-file-beside-builtin-name-recorded-as-file",
        [
            "train",
            "--config",
            "{tmp}/c.yaml",
            "--max-epochs",
            "1",
            "--threads",
            "1",
            "--layers",
            "2",
            "--emb-dim",
            "16",
            "--split",
            "random",
            "--runs-dir",
            "{tmp}/new",
            *QUIET,
        ],
        exit_code=0,
        message=r"(?m)^warning: data\.dataset = 'bbbp' not applied: data\.file 'mols\.csv' is the dataset",
        prepare=fixture_with_template_config,
        check=recorded_dataset_is_file,
    ),
    # ----------------------------------------------------------------------------- flags and --set values
    Fault(
        "cfg-alpha-above-1",
        train("--alpha", "1.5"),
        message=r"stopping\.anges-pp\.alpha = 1\.5: .*less than or equal to 1",
        check=nothing_new,
    ),
    Fault(
        "cfg-beta-negative",
        train("--beta", "-1"),
        message=r"stopping\.anges-pp\.beta = -1\.0: .*greater than or equal to 0",
        check=nothing_new,
    ),
    Fault("cfg-max-epochs-0", train("--max-epochs", "0"), message=r"optim\.max_epochs = 0", check=nothing_new),
    Fault("cfg-batch-size-0", train("--batch-size", "0"), message=r"optim\.batch_size = 0", check=nothing_new),
    Fault("cfg-lr-negative", train("--lr", "-0.1"), message=r"optim\.lr = -0\.1: .*greater than 0", check=nothing_new),
    Fault(
        "cfg-split-fractions-not-summing-to-1",
        train("--set", "data.split_fractions=[0.5,0.5,0.5]"),
        message=r"data\.split_fractions = \[0\.5, 0\.5, 0\.5\]: train/val/test fractions must be >= 0 and sum to 1",
        check=nothing_new,
    ),
    Fault(
        "cfg-split-file-and-split-column",
        train("--split-file", "s.json", "--split-column", "set"),
        message=r"data: split_file = 's\.json' and split_column = 'set' both give the split; give one",
        check=nothing_new,
    ),
    Fault(
        "cfg-split-file-missing",
        train("--split-file", "nope.json"),
        message=r"split file \(data\.split_file\) not found: nope\.json",
        check=nothing_new,
    ),
    Fault(
        "cfg-split-file-bad-json",
        train("--split-file", "s.json"),
        message=r"s\.json: not valid JSON",
        prepare=files(s__json='{"train": [0, 1], "val": [2'),
        check=nothing_new,
    ),
    Fault(
        "cfg-split-file-overlapping-parts",
        train("--split-file", "s.json"),
        message=r"s\.json: index 1 is in both 'train' and 'val'; each row may be in one part once",
        prepare=files(s__json='{"train": [0, 1], "val": [1], "test": [2]}'),
        check=nothing_new,
    ),
    Fault(
        "cfg-split-index-past-the-list",
        train("--split-file", "s.json", "--split-index", "1"),
        message=r"data\.split_index = 1: s\.json holds 1 split\(s\) \(indices 0\.\.0\)",
        prepare=files(s__json='[{"train": [0], "val": [1], "test": [2]}]'),
        check=nothing_new,
    ),
    Fault(
        "cfg-test-file-missing",
        train("--test-file", "nope.csv"),
        message=r"data\.test_file: test file not found: nope\.csv",
        check=nothing_new,
    ),
    Fault(
        "cfg-set-misspelt-path",
        train("--set", "optim.lrr=0.1"),
        message=r"unknown setting 'optim\.lrr': optim has no field 'lrr' .*did you mean 'optim\.lr'\?",
        check=nothing_new,
    ),
    Fault(
        "cfg-set-misspelt-section",
        train("--set", "stoping.alpha=0.5"),
        message=r"no field 'stoping' .*did you mean 'stopping\.alpha'\?",
        check=nothing_new,
    ),
    Fault(
        "cfg-set-misspelt-flat-name",
        train("--set", "alpa=0.5"),
        message=r"unknown setting 'alpa'.*did you mean 'alpha'\?",
        check=nothing_new,
    ),
    Fault(
        "cfg-set-wrong-type",
        train("--set", "alpha=abc"),
        message=r"stopping\.anges-pp\.alpha = 'abc': .*valid number",
        check=nothing_new,
    ),
    Fault(
        "cfg-rule-and-foreign-parameter",
        train("--rule", "patience", "--alpha", "0.5"),
        message=r"setting 'alpha' \(stopping\.patience\.alpha\) is a parameter of stopping rule 'anges', "
        r"but the rule is 'patience'",
        check=nothing_new,
    ),
    Fault(
        "cfg-target-column-on-builtin",
        train("--dataset", "b3db", "--target-column", "logBB"),
        message=r"target_columns = \['logBB'\] applies to a dataset file .*built-in dataset 'b3db'",
        check=nothing_new,
    ),
    Fault(
        "cfg-task-type-unlike-builtin",
        train("--dataset", "b3db", "--task-type", "regression"),
        message=r"task_type = 'regression' does not fit b3db \(classification\)",
        check=nothing_new,
    ),
    # ------------------------------------------------------------- values a dependency would replace or refuse
    Fault(
        "cfg-country-unknown-to-codecarbon",
        train("--country", "XYZ"),
        message=r"tracking\.country_iso_code = 'XYZ': CodeCarbon has no energy mix .*world average",
        check=nothing_new,
    ),
    Fault(
        "cfg-wandb-project-with-slash",
        train("--project", "team/greenft"),
        message=r"logging\.project = 'team/greenft': W&B project names cannot contain",
        check=nothing_new,
    ),
    Fault(
        "cfg-wandb-project-blank",
        train("--project", " "),
        message=r"logging\.project = ' ': .*'uncategorized'",
        check=nothing_new,
    ),
    Fault(
        "cfg-wandb-tag-too-long",
        train("--set", "logging.tags=[" + "t" * 70 + "]"),
        message=r"logging\.tags = .*W&B tags have 1 to 64 characters",
        check=nothing_new,
    ),
    Fault(
        "cfg-device-cuda-without-gpu",
        train("--device", "cuda"),
        env={"CUDA_VISIBLE_DEVICES": ""},
        message=r"device = 'cuda': torch sees no CUDA GPU",
        check=nothing_new,
    ),
    Fault(
        "cfg-checkpoint-format-without-checkpoint",
        train("--model", "gin", "--checkpoint-format", "hu2020"),
        message=r"model\.checkpoint_format = 'hu2020' \(--checkpoint-format\) needs a checkpoint",
        check=nothing_new,
    ),
    Fault(
        "cfg-checkpoint-format-on-transformer",
        train("--model", "smiles-transformer", "--checkpoint-format", "molclr"),
        message=r"model\.checkpoint_format = 'molclr' .*applies to graph checkpoints only",
        check=nothing_new,
    ),
    # ------------------------------------------------------- options a checkpoint overrides: what trained is recorded
    Fault(
        "cfg-checkpoint-sizes-recorded-as-trained",
        [
            "train",
            "--model",
            "gin",
            "--checkpoint",
            "{tmp}/gin-2x16.pt",
            "--layers",
            "4",
            "--emb-dim",
            "32",
            "--heads",
            "8",
            "--max-length",
            "64",
            "--limit",
            "120",
            "--max-epochs",
            "1",
            "--threads",
            "1",
            "--runs-dir",
            "{tmp}/new",
            *QUIET,
        ],
        exit_code=0,
        message=r"warning: model\.num_heads = 8 \(--heads\), model\.max_length = 64 \(--max-length\) "
        r"not applied: 'gin' is a graph model",
        prepare=tiny_gin_checkpoint,
        check=checkpoint_sizes_recorded,
    ),
    Fault(
        "cfg-random-init-with-graph-checkpoint",
        [
            "train",
            "--model",
            "gin",
            "--checkpoint",
            "{tmp}/gin-2x16.pt",
            "--random-init",
            "--limit",
            "120",
            "--max-epochs",
            "1",
            "--threads",
            "1",
            "--runs-dir",
            "{tmp}/new",
            *QUIET,
        ],
        exit_code=0,
        prepare=tiny_gin_checkpoint,
        check=random_init_is_random,
    ),
    # --------------------------------------------------------------------------------------- sweep YAMLs
    Fault(
        "cfg-sweep-empty", SWEEP_VALIDATE, message=r"s\.yaml: the sweep file has no settings", prepare=files(s__yaml="")
    ),
    Fault("cfg-sweep-only-comments", SWEEP_VALIDATE, message=r"no settings", prepare=files(s__yaml="# method: grid\n")),
    Fault(
        "cfg-sweep-list",
        SWEEP_VALIDATE,
        message=r"expected a mapping \(method, parameters, \.\.\.\), found list",
        prepare=files(s__yaml="- method: grid\n"),
    ),
    Fault(
        "cfg-sweep-misspelt-top-level",
        SWEEP_VALIDATE,
        message=r"not a valid W&B sweep config: Additional properties .*'paramters' was unexpected",
        prepare=files(s__yaml="method: grid\nparamters:\n  lr: {value: 0.01}\n"),
    ),
    Fault(
        "cfg-sweep-alpha-out-of-range",
        SWEEP_VALIDATE,
        message=r"parameters\.alpha = 1\.5: .*stopping\.anges-pp\.alpha = 1\.5: .*less than or equal to 1",
        prepare=files(s__yaml=sweep("  alpha: {values: [0.5, 1.5]}\n")),
    ),
    Fault(
        "cfg-sweep-warmup-negative",
        SWEEP_VALIDATE,
        message=r"parameters\.warmup = -1: .*greater than or equal to 0",
        prepare=files(s__yaml=sweep("  warmup: {values: [2, -1]}\n")),
    ),
    Fault(
        "cfg-sweep-batch-size-0",
        SWEEP_VALIDATE,
        message=r"parameters\.batch_size = 0: .*optim\.batch_size = 0",
        prepare=files(s__yaml=sweep("  batch_size: {value: 0}\n")),
    ),
    Fault(
        "cfg-sweep-unknown-dotted-path",
        SWEEP_VALIDATE,
        message=r"parameters\.optim\.lrr = 0\.1: unknown sweep parameter 'optim\.lrr'.*did you mean 'optim\.lr'\?",
        prepare=files(s__yaml=sweep("  optim.lrr: {values: [0.1]}\n")),
    ),
    Fault(
        "cfg-sweep-wrong-type",
        SWEEP_VALIDATE,
        message=r"parameters\.lr = 'fast': .*valid number",
        prepare=files(s__yaml=sweep("  lr: {value: fast}\n")),
    ),
    Fault(
        "cfg-sweep-rule-and-foreign-parameter",
        SWEEP_VALIDATE,
        message=r"the combination .* is not a valid trial: sweep parameter 'alpha' .*is a parameter of stopping rule "
        r"'anges', but the rule is 'patience'",
        prepare=files(s__yaml=sweep("  rule: {value: patience}\n  alpha: {values: [0.5, 0.9]}\n")),
    ),
    Fault(
        "cfg-sweep-run-empty-base-config",
        ["sweep", "run", "{tmp}/s.yaml", "--config", "{tmp}/c.yaml", "--runs-dir", "{runs}"],
        message=r"c\.yaml: the config file has no settings",
        prepare=files(s__yaml=SWEEP_STEPS, c__yaml=b""),
        check=nothing_new,
    ),
    Fault(
        "cfg-sweep-stepped-values-recorded-tidy",
        ["sweep", "run", "{tmp}/s.yaml", "--runs-dir", "{tmp}/sweepruns", "--threads", "1"],
        exit_code=0,
        prepare=files(s__yaml=SWEEP_STEPS),
        check=stepped_values_recorded_tidy,
        slow=True,
    ),
    # --------------------------------------------------------------------------------------------- tuning
    Fault(
        "cfg-tune-live-empty-config",
        ["tune", "--live", "--config", "{tmp}/c.yaml", "--out", "{tmp}/tune", "--trials", "1"],
        message=r"c\.yaml: the config file has no settings",
        prepare=files(c__yaml=b""),
        check=nothing_new,
    ),
    Fault(
        "cfg-tune-one-curve-warns",
        [*TUNE, "--source", "{runs}"],
        exit_code=0,
        message=r"(?m)^warning: tuned on 1 complete curve\(s\) \(b3db: roc_auc\), fewer than 3",
        check=tune_outputs_warn_and_tidy("1"),
    ),
    Fault(
        "cfg-tune-pooled-task-types-warns",
        [*TUNE, "--source", "{tmp}/pool"],
        exit_code=0,
        message=r"(?m)^warning: pooled curves of different task types: 1 classification \(b3db: roc_auc\); "
        r"1 regression \(b3db-regression: rmse\)",
        prepare=pooled_source,
        check=pooled_warning_in_report,
        slow=True,  # tunes on two real shadow runs; cfg-tune rows above keep the warning path fast
    ),
]


@pytest.mark.parametrize("fault", params(ROWS))
def test_fault(fault: Fault, workspace: Workspace) -> None:
    assert_contract(fault, run_fault(fault, workspace))

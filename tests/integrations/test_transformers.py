"""GreenStoppingCallback in a real ``transformers.Trainer`` (CPU): a tiny RoBERTa on SMILES of a BBBP sample.

What is checked is what the callback promises: exact AN-GES stops the Trainer, the run's files are greenft's
schema and a replay of the logged curve (``greenft.analysis``) gives the same stop and decisions, ``deploy: best``
hands the best evaluation's weights back to the model, step-granularity evaluations are greenft epochs, a
checkpoint's JSON state resumes the rule where it was, and bad arguments are refused in one line.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

pytest.importorskip("accelerate", reason="the Hugging Face Trainer needs accelerate (pip install 'greenft[hf]')")

from transformers import (
    DataCollatorWithPadding,
    RobertaConfig,
    RobertaForSequenceClassification,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

from greenft.agents.deploy import cpu_state_dict
from greenft.analysis import curve_from_record, read_runs
from greenft.analysis.reader import parse_source
from greenft.analysis.replay import replay
from greenft.data import get_dataset_spec, load_molecules, make_split
from greenft.data.registry import SplitKind
from greenft.integrations.transformers import (
    KEPT_WEIGHTS_FILE,
    CallbackConfigError,
    GreenStoppingCallback,
    find_callback,
)
from greenft.models.sequence.tokenizers import BOS_ID, EOS_ID, PAD_ID, MolTokenizer, split_smiles
from greenft.schema import DEPLOYED_MODEL_FILE, METER_FILE, Point, key, point_key
from greenft.schema.history import EPOCH_COLUMNS
from greenft.schema.summary import AT_EPOCH, STATUS, STOP_REASON
from greenft.stopping import AnGesConfig, MetricDirection, Phase

README = Path(__file__).parents[2] / "README.md"
MAX_LENGTH = 64


def bbbp(limit: int = 240, seed: int = 0) -> tuple[Any, list[dict[str, Any]], list[dict[str, Any]]]:
    """A SMILES tokenizer built on the sample (no hub) and tokenised scaffold-split train / validation rows."""
    molecules = load_molecules(get_dataset_spec("bbbp"), limit=limit)
    split = make_split(molecules.smiles, SplitKind.SCAFFOLD, seed, (0.8, 0.2, 0.0))
    tokenizer = MolTokenizer.build("smiles", (split_smiles(s) for s in molecules.smiles), max_length=MAX_LENGTH)
    hf = tokenizer.to_hf()

    def rows(indices: Any) -> list[dict[str, Any]]:
        encoded = [hf(molecules.smiles[i], truncation=True) for i in indices]
        return [{**e, "labels": int(molecules.labels[i, 0])} for e, i in zip(encoded, indices, strict=True)]

    return hf, rows(split.train), rows(split.val)


def tiny_roberta(vocab_size: int, seed: int = 0) -> RobertaForSequenceClassification:
    torch.manual_seed(seed)
    config = RobertaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=MAX_LENGTH + PAD_ID + 2,
        pad_token_id=PAD_ID,
        bos_token_id=BOS_ID,
        eos_token_id=EOS_ID,
        num_labels=2,
    )
    return RobertaForSequenceClassification(config)


def roc_auc(prediction: Any) -> dict[str, float]:
    logits, labels = prediction
    scores = torch.softmax(torch.as_tensor(logits), dim=-1)[:, 1].numpy()
    return {"roc_auc": float(roc_auc_score(labels, scores))}


def arguments(tmp_path: Path, epochs: int, **kwargs: Any) -> TrainingArguments:
    settings: dict[str, Any] = {
        "output_dir": str(tmp_path / "hf"),
        "num_train_epochs": epochs,
        "eval_strategy": "epoch",
        "logging_strategy": "epoch",
        "save_strategy": "no",
        "per_device_train_batch_size": 32,
        "per_device_eval_batch_size": 64,
        "learning_rate": 1e-3,
        "report_to": [],
        "disable_tqdm": True,
        "use_cpu": True,
        "seed": 0,
        "dataloader_num_workers": 0,
    }
    return TrainingArguments(**{**settings, **kwargs})


def trainer(
    tmp_path: Path, epochs: int, callbacks: list[TrainerCallback], data: Any, seed: int = 0, **kwargs: Any
) -> Trainer:
    tokenizer, train, val = data
    return Trainer(
        model=tiny_roberta(tokenizer.vocab_size, seed),
        args=arguments(tmp_path, epochs, **kwargs),
        train_dataset=train,
        eval_dataset=val,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=roc_auc,
        callbacks=callbacks,
    )


def green(tmp_path: Path, **kwargs: Any) -> GreenStoppingCallback:
    settings: dict[str, Any] = {
        "output_dir": tmp_path / "runs",
        "tracking": {"measure_power_secs": 1.0},
        "run_config": {"data": {"dataset": "bbbp"}, "seed": 0},
        "verbose": False,
    }
    return GreenStoppingCallback("eval_roc_auc", **{**settings, **kwargs})


class Snapshots(TrainerCallback):
    """The model's weights at every evaluation (what each logged greenft epoch describes)."""

    def __init__(self) -> None:
        self.states: list[dict[str, torch.Tensor]] = []

    def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.states.append(cpu_state_dict(kwargs["model"]))


@pytest.fixture(scope="module")
def data() -> Any:
    return bbbp()


def test_exact_anges_stops_the_trainer_and_its_curve_replays_to_the_same_decisions(
    tmp_path: Path, data: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    callback = green(tmp_path, rule={"name": "anges"}, verbose=True)
    fit = trainer(tmp_path, 30, [callback], data, learning_rate=3e-3)
    fit.train()

    assert callback.stopped_epoch is not None, [e.decisions for e in callback.epochs]
    assert len(callback.epochs) == callback.stopped_epoch < 30
    assert round(fit.state.epoch or 0) == callback.stopped_epoch  # the Trainer stopped at the rule's evaluation
    assert callback.live_label == "anges_a0.9_b0.2_w3"
    stated = f"greenft anges_a0.9_b0.2_w3 stops at evaluation {callback.stopped_epoch}: {callback.stop_reason}"
    assert stated in capsys.readouterr().out

    records = read_runs(parse_source(tmp_path / "runs"), cache_dir=None)
    assert len(records) == 1
    record = records[0]
    assert record.state == "finished" and record.summary[STATUS] == "finished"
    assert record.dataset == "bbbp" and record.metric == "roc_auc"
    assert record.config["integration"] == "transformers" and record.config["optim"]["granularity"] == "epoch"
    assert record.config["derived"]["meter"]["meter"] == "codecarbon-offline"
    assert callback.files_dir is not None and (callback.files_dir / METER_FILE).is_file()
    rows = [row for row in record.history if "epoch" in row]
    assert [row["epoch"] for row in rows] == list(range(1, callback.stopped_epoch + 1))
    assert set(rows[0]) == {key(c.template, "roc_auc") for c in EPOCH_COLUMNS}
    assert rows[-1]["stop/decision"] == "stop" and all(r["stop/decision"] == "continue" for r in rows[:-1])
    emissions = [row["emissions/cumulative_kg"] for row in rows]
    assert all(b > a for a, b in itertools.pairwise(emissions))  # CodeCarbon measured every one
    # the logged numbers are the Trainer's own: its eval history, and the training loss it logged per epoch
    evals = [h for h in fit.state.log_history if "eval_roc_auc" in h]
    assert [row["val/roc_auc"] for row in rows] == pytest.approx([h["eval_roc_auc"] for h in evals])
    assert [row["val/loss"] for row in rows] == pytest.approx([h["eval_loss"] for h in evals])
    train_losses = [h["loss"] for h in fit.state.log_history if "loss" in h]
    assert [row["train/loss"] for row in rows] == pytest.approx(train_losses)

    replayed = replay(curve_from_record(record), AnGesConfig())
    assert replayed.triggered and replayed.stop_epoch == callback.stopped_epoch
    assert replayed.decisions == tuple(e.decisions[callback.live_label] for e in callback.epochs)
    assert record.summary[STOP_REASON] == callback.stop_reason == replayed.reason
    assert record.summary[point_key(Point.STOP, AT_EPOCH)] == callback.stopped_epoch


def test_deploy_best_hands_back_the_best_evaluations_weights(tmp_path: Path, data: Any) -> None:
    snapshots = Snapshots()
    callback = green(tmp_path, rule="none", tracking={"meter": "wallclock"}, shadow_rules=["patience"])
    fit = trainer(tmp_path, 5, [callback, snapshots], data, learning_rate=1e-2)
    fit.train()

    vals = [e.val_metric for e in callback.epochs]
    assert len(vals) == 5 and len(snapshots.states) == 5
    expected = int(np.argmax(vals))
    final = cpu_state_dict(fit.model)
    for name, value in snapshots.states[expected].items():
        assert torch.equal(final[name], value), name
    if expected != 4:  # the last weights differ from the deployed ones: the load really happened
        assert any(not torch.equal(final[n], v) for n, v in snapshots.states[4].items())
    assert callback.files_dir is not None
    saved = torch.load(callback.files_dir / DEPLOYED_MODEL_FILE, weights_only=True)
    assert saved["epoch"] == expected + 1 and saved["deploy"] == "best"
    assert callback.summary is not None and callback.summary[point_key(Point.DEPLOYED, AT_EPOCH)] == expected + 1
    rows = read_runs(parse_source(tmp_path / "runs"), cache_dir=None)[0].history
    assert all("shadow/patience_p5_d0.0/decision" in row for row in rows)


def test_step_evaluations_are_greenft_epochs_and_a_checkpoint_resumes_the_rule(tmp_path: Path, data: Any) -> None:
    """eval_strategy='steps': one evaluation every 3 steps is one greenft epoch (the budget counts evaluations);
    the checkpoint's JSON state carries the rule, ledger and epochs into a resumed train()."""
    steps = {"eval_strategy": "steps", "eval_steps": 3, "logging_strategy": "steps", "logging_steps": 3}
    saving = {"save_strategy": "steps", "save_steps": 6, "restore_callback_states_from_checkpoint": True}
    first = green(tmp_path, rule="patience_p20_d0.0", tracking={"meter": "wallclock"})
    fit = trainer(tmp_path, 2, [first], data, max_steps=12, **steps, **saving)
    fit.train()
    assert [e.epoch for e in first.epochs] == [1, 2, 3, 4]  # 12 steps / every 3
    [config] = [r.config for r in read_runs(parse_source(tmp_path / "runs"), cache_dir=None)]
    assert config["optim"] == {"max_epochs": 4, "granularity": "steps"}  # the rule's budget: 4 evaluations
    checkpoint = tmp_path / "hf" / "checkpoint-6"
    assert (checkpoint / "trainer_state.json").is_file()
    assert first.files_dir is not None  # JSON holds no tensors: the weights kept at the checkpoint sit beside the run
    assert (first.files_dir / KEPT_WEIGHTS_FILE.format(epoch=2)).is_file()

    again = trainer(tmp_path, 2, [green(tmp_path, rule="patience_p20_d0.0")], data, max_steps=12, **steps, **saving)
    again.train(resume_from_checkpoint=str(checkpoint))
    resumed = find_callback(again)  # the Trainer restored a copy of the callback (the checkpoint's arguments)
    assert resumed.files_dir is not None and resumed.files_dir != first.files_dir  # a new greenft run
    assert [e.epoch for e in resumed.epochs] == [1, 2, 3, 4]
    assert [e.val_metric for e in resumed.epochs] == pytest.approx([e.val_metric for e in first.epochs])
    assert resumed.epochs[1].fit.emissions_kg == first.epochs[1].fit.emissions_kg  # the ledger came back
    rule = resumed.rules["patience_p20_d0.0"]
    assert rule.last_epoch == 4
    # Evaluation 3 was compared with evaluation 2's reference and best: the restored state, not a fresh rule.
    assert resumed.epochs[2].decisions["patience_p20_d0.0"].phase is not Phase.FIRST
    runs = read_runs(parse_source(tmp_path / "runs"), cache_dir=None)
    assert len(runs) == 2 and all([row["epoch"] for row in run.history] == [1, 2, 3, 4] for run in runs)
    # each run's files hold its whole curve, and replaying each gives the decisions of the callback that logged it
    logged = {tuple(e.decisions["patience_p20_d0.0"] for e in callback.epochs) for callback in (first, resumed)}
    assert {replay(curve_from_record(run), resumed.rule_config).decisions for run in runs} == logged


def test_arguments_that_cannot_work_are_refused_in_one_line(tmp_path: Path, data: Any) -> None:
    with pytest.raises(CallbackConfigError, match=r"monitor = 'eval_acc'.*pass metric="):
        GreenStoppingCallback("eval_acc")
    with pytest.raises(CallbackConfigError, match="mode = 'min': roc_auc is better maximised, mode 'max'"):
        GreenStoppingCallback("eval_roc_auc", mode="min")
    callback = GreenStoppingCallback("eval_rmse")
    assert callback.metric == "rmse" and callback.direction is MetricDirection.MINIMIZE
    assert callback.live_label.startswith("anges-pp")  # greenft's default live rule
    with pytest.raises(CallbackConfigError, match=r"eval_strategy = 'no': .*'epoch'") as no_eval:
        trainer(tmp_path, 1, [green(tmp_path)], data, eval_strategy="no").train()
    assert "\n" not in str(no_eval.value)
    missing = GreenStoppingCallback("eval_auc", metric="roc_auc", output_dir=tmp_path / "m", verbose=False)
    with pytest.raises(CallbackConfigError, match=r"monitor = 'eval_auc': .*eval_roc_auc"):
        trainer(tmp_path, 1, [missing], data).train()
    record = read_runs(parse_source(tmp_path / "m"), cache_dir=None)[0]
    assert record.summary[STATUS] == "failed" and record.history == []


def test_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: Any) -> None:
    """The README's Hugging Face example, executed with a model and datasets of this file."""
    text = README.read_text()
    section = text[text.index("## Use greenft's stopping in your own Hugging Face training") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    monkeypatch.chdir(tmp_path)
    tokenizer, train, val = data
    namespace: dict[str, Any] = {
        "model": tiny_roberta(tokenizer.vocab_size),
        "train_dataset": train,
        "eval_dataset": val,
        "compute_metrics": roc_auc,
        "data_collator": DataCollatorWithPadding(tokenizer),
    }
    source = code.group(1).replace("num_train_epochs=30", "num_train_epochs=3")
    exec(compile(source, "README.md", "exec"), namespace)
    [summary] = list((tmp_path / "runs").rglob("greenft_summary.json"))
    assert not math.isnan(namespace["green"].epochs[-1].val_metric) and summary.is_file()


@pytest.mark.slow  # W&B's start and close: over 10 s on a loaded 2-core box
def test_rows_go_to_the_trainers_wandb_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: Any) -> None:
    """With report_to="wandb" greenft's rows (shadow columns included) and summary go to the Trainer's W&B run;
    greenft opens no second W&B run."""
    import wandb

    from conftest import wait_for_wandb_exit
    from greenft.analysis import find_offline_runs, read_offline_run

    for name, value in {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DISABLE_GIT": "true"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_PROJECT", "greenft-hf-test")
    wandb.teardown()  # W&B's process-wide settings keep the WANDB_DIR of an earlier test's run: read it again
    callback = green(tmp_path, rule="patience_p1_d0.0", shadow_rules=["anges"], shadow=True, wandb_mode="offline")
    fit = trainer(tmp_path, 3, [callback], data, report_to=["wandb"], learning_rate=1e-2)
    fit.train()
    wandb.finish()

    assert len(callback.epochs) == 3  # shadow: the whole budget, whatever the rules say
    assert not find_offline_runs(tmp_path / "runs")  # greenft's own files only, no second W&B run
    [run_file] = find_offline_runs(tmp_path / "wandb")
    wait_for_wandb_exit(run_file)
    logged = [row for row in read_offline_run(run_file).history if "stop/decision" in row]
    assert [row["epoch"] for row in logged] == [1, 2, 3]
    assert all("shadow/anges_a0.9_b0.2_w3/decision" in row for row in logged)
    local = read_runs(parse_source(tmp_path / "runs"), cache_dir=None)[0]
    assert [row["val/roc_auc"] for row in local.history] == pytest.approx([row["val/roc_auc"] for row in logged])
    assert callback.summary is not None and "shadow/anges_a0.9_b0.2_w3/stop_epoch" in callback.summary

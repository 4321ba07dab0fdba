"""GreenStopping in a real ``lightning.Trainer`` (CPU): an MLP on Morgan fingerprints of a BBBP sample.

What is checked is what the callback promises: exact AN-GES stops the trainer and says why, the run's files are
greenft's schema and ``greenft.analysis`` reads them like a greenft run, a replay of the logged curve gives the
same decisions, a checkpoint resumes the rule where it was, and ``deploy: best`` hands over the best epoch's
weights.
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

pytest.importorskip("lightning", reason="the lightning extra is not installed (pip install 'greenft[lightning]')")

import lightning as L
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator
from sklearn.metrics import roc_auc_score
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from greenft.agents.deploy import cpu_state_dict
from greenft.analysis import curve_from_record, read_runs
from greenft.analysis.reader import parse_source
from greenft.analysis.replay import replay
from greenft.data import get_dataset_spec, load_molecules, make_split
from greenft.data.registry import SplitKind
from greenft.integrations.lightning import CallbackConfigError, GreenStopping
from greenft.schema import DEPLOYED_MODEL_FILE, METER_FILE, Point, key, point_key
from greenft.schema.history import EPOCH_COLUMNS
from greenft.schema.summary import AT_EPOCH, STATUS, STOP_REASON
from greenft.stopping import AnGesConfig, MetricDirection, Phase

README = Path(__file__).parents[2] / "README.md"


def bbbp_loaders(
    limit: int = 400, seed: int = 0, fractions: tuple[float, float, float] = (0.8, 0.2, 0.0)
) -> tuple[DataLoader[Any], ...]:
    """1024-bit Morgan fingerprints of a scaffold-split BBBP sample: training, validation (and test) loaders."""
    molecules = load_molecules(get_dataset_spec("bbbp"), limit=limit)
    split = make_split(molecules.smiles, SplitKind.SCAFFOLD, seed, fractions)
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    features = np.stack([generator.GetFingerprintAsNumPy(Chem.MolFromSmiles(s)) for s in molecules.smiles])
    x = torch.tensor(features, dtype=torch.float32)
    y = torch.tensor(molecules.labels[:, 0], dtype=torch.float32)

    def part(indices: Any, shuffle: bool) -> DataLoader[Any]:
        index = torch.as_tensor(list(indices))
        return DataLoader(TensorDataset(x[index], y[index]), batch_size=64, shuffle=shuffle)

    loaders = part(split.train, True), part(split.val, False)
    return (*loaders, part(split.test, False)) if len(split.test) else loaders


class FingerprintMLP(L.LightningModule):
    """Logs ``val/roc_auc`` and ``val_loss`` per validation run, as a user's module would."""

    def __init__(self, lr: float = 3e-3, test: DataLoader[Any] | None = None) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(1024, 128), nn.ReLU(), nn.Linear(128, 1))
        self.lr = lr
        self.test = test  # scored at each validation end and logged as test/roc_auc (greenft's analysis-only test)
        self._val: list[tuple[torch.Tensor, torch.Tensor]] = []

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        return nn.functional.binary_cross_entropy_with_logits(self.net(x).squeeze(-1), y)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        self._val.append((self.net(x).squeeze(-1), y))

    def on_validation_epoch_end(self) -> None:
        logits = torch.cat([p for p, _ in self._val])
        y = torch.cat([t for _, t in self._val])
        self._val.clear()
        self.log("val_loss", nn.functional.binary_cross_entropy_with_logits(logits, y))
        self.log("val/roc_auc", float(roc_auc_score(y.numpy(), logits.numpy())))
        if self.test is not None:
            with torch.no_grad():
                pairs = [(self.net(x).squeeze(-1), t) for x, t in self.test]
            scores, labels = torch.cat([p for p, _ in pairs]), torch.cat([t for _, t in pairs])
            self.log("test/roc_auc", float(roc_auc_score(labels.numpy(), scores.numpy())))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr)


def trainer(tmp_path: Path, max_epochs: int, callbacks: list[Callback], **kwargs: Any) -> L.Trainer:
    settings: dict[str, Any] = {
        "accelerator": "cpu",
        "devices": 1,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "logger": False,
        "enable_checkpointing": any(isinstance(c, ModelCheckpoint) for c in callbacks),
        "default_root_dir": tmp_path,
        "num_sanity_val_steps": 0,
    }
    return L.Trainer(max_epochs=max_epochs, callbacks=callbacks, **{**settings, **kwargs})


class Snapshots(Callback):
    """The module's weights at the end of every validation run (what each logged epoch describes)."""

    def __init__(self) -> None:
        self.states: list[dict[str, torch.Tensor]] = []

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self.states.append(cpu_state_dict(pl_module))


def green(tmp_path: Path, **kwargs: Any) -> GreenStopping:
    settings: dict[str, Any] = {
        "output_dir": tmp_path / "runs",
        "tracking": {"measure_power_secs": 1.0},
        "run_config": {"data": {"dataset": "bbbp"}, "seed": 0},
        "verbose": False,
    }
    return GreenStopping("val/roc_auc", **{**settings, **kwargs})


def test_exact_anges_stops_the_trainer_and_its_curve_replays_to_the_same_decisions(tmp_path: Path) -> None:
    L.seed_everything(0, workers=True)
    train, val = bbbp_loaders()
    callback = green(tmp_path, rule={"name": "anges"})
    fit = trainer(tmp_path, 25, [callback])
    fit.fit(FingerprintMLP(lr=1e-2), train, val)

    assert callback.stopped_epoch is not None, [e.decisions for e in callback.epochs]
    assert fit.current_epoch == callback.stopped_epoch < 25  # the trainer stopped at the rule's epoch
    assert len(callback.epochs) == callback.stopped_epoch
    assert callback.live_label == "anges_a0.9_b0.2_w3"

    records = read_runs(parse_source(tmp_path / "runs"), cache_dir=None)
    assert len(records) == 1
    record = records[0]
    assert record.state == "finished" and record.summary[STATUS] == "finished"
    assert record.dataset == "bbbp" and record.metric == "roc_auc"
    assert record.config["derived"]["meter"]["meter"] == "codecarbon-offline"  # greenft's trainer's meter
    assert callback.files_dir is not None and (callback.files_dir / METER_FILE).is_file()
    rows = [row for row in record.history if "epoch" in row]
    assert [row["epoch"] for row in rows] == list(range(1, callback.stopped_epoch + 1))
    assert set(rows[0]) == {key(c.template, "roc_auc") for c in EPOCH_COLUMNS}
    assert rows[-1]["stop/decision"] == "stop" and all(r["stop/decision"] == "continue" for r in rows[:-1])
    emissions = [row["emissions/cumulative_kg"] for row in rows]
    assert all(b > a for a, b in itertools.pairwise(emissions))  # CodeCarbon measured every epoch
    assert all(row["test/roc_auc"] is None or math.isnan(row["test/roc_auc"]) for row in rows)  # no test_monitor

    curve = curve_from_record(record)
    replayed = replay(curve, AnGesConfig())
    assert replayed.triggered and replayed.stop_epoch == callback.stopped_epoch
    live = [e.decisions[callback.live_label] for e in callback.epochs]
    assert replayed.decisions == tuple(live)  # every number of every epoch, not only the stop
    assert record.summary[STOP_REASON] == callback.stop_reason == replayed.reason
    assert record.summary[point_key(Point.STOP, AT_EPOCH)] == callback.stopped_epoch


def test_a_checkpoint_resumes_the_rule_ledger_and_epochs(tmp_path: Path) -> None:
    L.seed_everything(0, workers=True)
    train, val = bbbp_loaders()
    checkpoints = ModelCheckpoint(dirpath=tmp_path / "ckpt", filename="{epoch}", save_top_k=-1, every_n_epochs=1)
    first = green(tmp_path / "a", rule="patience_p20_d0.0")
    trainer(tmp_path, 3, [first, checkpoints]).fit(FingerprintMLP(), train, val)
    saved = torch.load(tmp_path / "ckpt" / "epoch=1.ckpt", weights_only=False)["callbacks"]
    state = next(v for k, v in saved.items() if k.startswith("GreenStopping"))
    assert [e["epoch"] for e in state["epochs"]] == [1, 2]  # saved after the callback's epoch 2, not before
    rule_state = state["rules"]["patience_p20_d0.0"]
    assert rule_state["last_epoch"] == 2

    resumed = green(tmp_path / "b", rule="patience_p20_d0.0")
    trainer(tmp_path, 4, [resumed]).fit(FingerprintMLP(), train, val, ckpt_path=tmp_path / "ckpt" / "epoch=1.ckpt")
    assert [e.epoch for e in resumed.epochs] == [1, 2, 3, 4]
    assert [e.val_metric for e in resumed.epochs[:2]] == [e.val_metric for e in first.epochs[:2]]
    rule = resumed.rules["patience_p20_d0.0"]
    assert rule.last_epoch == 4
    # Epoch 3 was compared with epoch 2's reference and best: the restored state, not a fresh rule's "first epoch".
    assert resumed.epochs[2].decisions["patience_p20_d0.0"].phase is not Phase.FIRST
    fit_kg = [e.fit.emissions_kg for e in resumed.epochs]
    assert fit_kg[2] > fit_kg[1] == first.epochs[1].fit.emissions_kg  # the ledger carried on from the checkpoint
    # The resumed run's own files hold the whole curve, and a replay of it gives the callback's decisions.
    record = read_runs(parse_source(tmp_path / "b" / "runs"), cache_dir=None)[0]
    assert [row["epoch"] for row in record.history if "epoch" in row] == [1, 2, 3, 4]
    replayed = replay(curve_from_record(record), resumed.rule_config)
    assert replayed.decisions == tuple(e.decisions["patience_p20_d0.0"] for e in resumed.epochs)


@pytest.mark.parametrize("deploy", ["best", "last"])
def test_deploy_hands_over_the_deployed_epochs_weights(tmp_path: Path, deploy: str) -> None:
    L.seed_everything(1, workers=True)
    train, val, test = bbbp_loaders(limit=300, seed=1, fractions=(0.7, 0.15, 0.15))
    snapshots = Snapshots()
    callback = green(
        tmp_path, rule="none", deploy=deploy, tracking={"meter": "wallclock"}, shadow_rules=["patience"],
        test_monitor="test/roc_auc",
    )  # fmt: skip
    module = FingerprintMLP(lr=3e-2, test=test)  # overfits fast: the last epoch is rarely the best
    trainer(tmp_path, 6, [callback, snapshots]).fit(module, train, val)

    vals = [e.val_metric for e in callback.epochs]
    expected = int(np.argmax(vals)) if deploy == "best" else len(vals) - 1
    final = cpu_state_dict(module)
    for name, value in snapshots.states[expected].items():
        assert torch.equal(final[name], value), name
    assert callback.files_dir is not None
    saved = torch.load(callback.files_dir / DEPLOYED_MODEL_FILE, weights_only=True)
    assert saved["epoch"] == expected + 1 and saved["deploy"] == deploy
    tests = [e.test_metric for e in callback.epochs]
    assert all(0.0 <= t <= 1.0 for t in tests) and saved["test_metric"] == tests[expected]  # test_monitor read
    assert callback.summary is not None
    assert callback.summary[point_key(Point.DEPLOYED, AT_EPOCH)] == expected + 1
    # the shadow rule is fed and logged beside the live one (live mode: no shadow summary keys)
    rows = read_runs(parse_source(tmp_path / "runs"), cache_dir=None)[0].history
    assert len(rows) == 6 and all("shadow/patience_p5_d0.0/decision" in row for row in rows)  # stops at 6 earliest


def test_arguments_that_cannot_work_are_refused_in_one_line() -> None:
    with pytest.raises(CallbackConfigError, match=r"monitor = 'val_acc'.*pass metric="):
        GreenStopping("val_acc")
    with pytest.raises(CallbackConfigError, match="mode = 'min': roc_auc is better maximised, mode 'max'"):
        GreenStopping("val/roc_auc", mode="min")
    callback = GreenStopping("val_rmse")
    assert callback.metric == "rmse" and callback.direction is MetricDirection.MINIMIZE
    assert callback.live_label.startswith("anges-pp")  # greenft's default live rule


def test_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's Lightning example, executed with a module and loaders of this file."""
    text = README.read_text()
    section = text[text.index("## Use greenft's stopping in your own Lightning training") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    monkeypatch.chdir(tmp_path)
    L.seed_everything(0, workers=True)
    train_loader, val_loader = bbbp_loaders(limit=200)
    namespace: dict[str, Any] = {"model": FingerprintMLP(), "train_loader": train_loader, "val_loader": val_loader}
    exec(compile(code.group(1).replace("max_epochs=30", "max_epochs=4"), "README.md", "exec"), namespace)
    assert list((tmp_path / "runs").rglob("greenft_summary.json"))


@pytest.mark.slow  # W&B's start and close: about 14 s on a loaded 2-core box
def test_rows_go_to_the_trainers_wandb_logger_with_shadow_rules_beside_the_live_one(tmp_path: Path) -> None:
    """With a WandbLogger the rows (shadow columns included) go to its run; greenft opens no second W&B run."""
    from lightning.pytorch.loggers import WandbLogger

    from conftest import wait_for_wandb_exit
    from greenft.analysis import find_offline_runs, read_offline_run

    L.seed_everything(0, workers=True)
    train, val = bbbp_loaders(limit=200)
    logger = WandbLogger(project="greenft-lightning-test", save_dir=str(tmp_path / "wandb"), offline=True)
    callback = green(tmp_path, rule="patience_p1_d0.0", shadow_rules=["anges"], shadow=True)
    fit = trainer(tmp_path, 3, [callback], logger=logger)
    fit.fit(FingerprintMLP(lr=3e-2), train, val)
    logger.experiment.finish()

    assert fit.current_epoch == 3  # shadow: the whole budget, whatever the rules say
    assert not find_offline_runs(tmp_path / "runs")  # greenft's own files only, no second W&B run
    [run_file] = find_offline_runs(tmp_path / "wandb")
    wait_for_wandb_exit(run_file)
    logged = [row for row in read_offline_run(run_file).history if "stop/decision" in row]
    assert [row["epoch"] for row in logged] == [1, 2, 3]
    assert all("shadow/anges_a0.9_b0.2_w3/decision" in row for row in logged)
    local = read_runs(parse_source(tmp_path / "runs"), cache_dir=None)[0]
    assert [row["val/roc_auc"] for row in local.history] == pytest.approx([row["val/roc_auc"] for row in logged])
    assert callback.summary is not None and callback.summary["mode"] == "shadow"
    assert "shadow/anges_a0.9_b0.2_w3/stop_epoch" in callback.summary


def test_a_monitor_the_module_never_logs_fails_the_fit_in_one_line_and_closes_the_run(tmp_path: Path) -> None:
    train, val = bbbp_loaders(limit=150)
    callback = GreenStopping("val/auc", metric="roc_auc", output_dir=tmp_path / "runs", tracking={"meter": "wallclock"})
    expected = r"monitor = 'val/auc': the module logged no such metric during validation \(logged: .*val/roc_auc"
    with pytest.raises(CallbackConfigError, match=expected):
        trainer(tmp_path, 2, [callback]).fit(FingerprintMLP(), train, val)
    record = read_runs(parse_source(tmp_path / "runs"), cache_dir=None)[0]
    assert record.summary[STATUS] == "failed" and record.history == []

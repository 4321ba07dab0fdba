"""Issue 15's acceptance for the Lightning callback: chemprop's own ``MPNN`` in a ``lightning.Trainer``.

chemprop is greenft's optional ``chemprop`` extra (``pip install 'greenft[chemprop]'``: chemprop 2.2, since 2.3's
``cuik_molmaker_pin`` pins an older RDKit than greenft's), installed in the development environment; where it is
not installed this test is skipped. It trains 20 epochs at most, hence slow::

    python -m pytest -m slow tests/integrations/test_lightning_chemprop.py

The same model trained inside greenft's own loop is the ``chemprop-dmpnn`` family
(tests/models/test_chemprop_family.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("lightning", reason="the lightning extra is not installed (pip install 'greenft[lightning]')")
pytest.importorskip("chemprop", reason="the chemprop extra is not installed (pip install 'greenft[chemprop]')")

import lightning as L
from typer.testing import CliRunner

from greenft.analysis import curve_from_record, read_runs
from greenft.analysis.reader import parse_source
from greenft.analysis.replay import replay
from greenft.cli import app
from greenft.data import get_dataset_spec, load_molecules, make_split
from greenft.data.registry import SplitKind
from greenft.integrations.lightning import GreenStopping
from greenft.stopping import AnGesConfig

pytestmark = pytest.mark.slow


def test_chemprop_mpnn_stops_by_exact_anges_and_greenft_analyze_reads_the_run(tmp_path: Path) -> None:
    from chemprop import data, featurizers, models, nn

    L.seed_everything(0, workers=True)
    molecules = load_molecules(get_dataset_spec("bbbp"), limit=400)
    split = make_split(molecules.smiles, SplitKind.SCAFFOLD, 0, (0.8, 0.2, 0.0))
    featurizer = featurizers.SimpleMoleculeMolGraphFeaturizer()

    def dataset(indices: list[int]) -> data.MoleculeDataset:
        points = [data.MoleculeDatapoint.from_smi(molecules.smiles[i], molecules.labels[i]) for i in indices]
        return data.MoleculeDataset(points, featurizer)

    train = data.build_dataloader(dataset(list(split.train)), num_workers=0, seed=0)
    val = data.build_dataloader(dataset(list(split.val)), num_workers=0, shuffle=False)
    mpnn = models.MPNN(
        nn.BondMessagePassing(), nn.MeanAggregation(), nn.BinaryClassificationFFN(), metrics=[nn.BinaryAUROC()]
    )
    green = GreenStopping(
        "val/roc",  # chemprop logs BinaryAUROC as val/roc: greenft's roc_auc
        metric="roc_auc",
        rule="anges",
        output_dir=tmp_path / "runs",
        tracking={"measure_power_secs": 1.0},
        run_config={"data": {"dataset": "bbbp"}, "model": {"name": "chemprop-dmpnn"}, "seed": 0},
        verbose=False,
    )
    trainer = L.Trainer(
        max_epochs=20,
        accelerator="cpu",
        devices=1,
        callbacks=[green],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(mpnn, train, val)

    assert green.stopped_epoch is not None and green.stopped_epoch < 20
    assert trainer.current_epoch == green.stopped_epoch
    record = read_runs(parse_source(tmp_path / "runs"), cache_dir=None)[0]
    replayed = replay(curve_from_record(record), AnGesConfig())
    assert replayed.stop_epoch == green.stopped_epoch
    assert replayed.decisions == tuple(e.decisions[green.live_label] for e in green.epochs)
    assert record.model == "chemprop-dmpnn" and record.summary["stop/reason"] == green.stop_reason

    out = tmp_path / "report"
    args = ["analyze", "--source", str(tmp_path / "runs"), "--out", str(out), "--cache-dir", str(tmp_path / "cache")]
    result = CliRunner().invoke(app, [*args, "--no-png", "--no-html", "--no-grid"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    matched = re.search(r"replay reproduced (\d+)/(\d+) logged stops", result.output)
    assert matched is not None and matched[1] == matched[2] == "1", result.output
    assert (out / "report.md").stat().st_size > 0

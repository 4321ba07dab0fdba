"""A resumed pretraining run's CodeCarbon emissions.csv: one row per session, summing to the checkpoint's total."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from pretrain_helpers import TINY_SIZES, tiny_corpus

from greenft.pretrain.runner import PretrainInterrupted, pretrain


def test_a_resumed_runs_emissions_csv_sums_to_the_checkpoints_emissions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sessions measure disjoint stretches: their rows (one each, CodeCarbon's update mode) sum to the
    provenance's emissions_kg (all sessions), labelled greenft-pretrain / the run's name."""
    monkeypatch.setenv("HOME", str(tmp_path))  # no user CodeCarbon configuration: greenft's default grid
    for key in [k for k in os.environ if k.lower().startswith("codecarbon_")]:
        monkeypatch.delenv(key)
    settings = {**TINY_SIZES, "vocab_size": 200, "min_frequency": 1, "meter": "codecarbon", "save_every": 2}
    run_dir = tmp_path / "run"
    with pytest.raises(PretrainInterrupted):
        pretrain("ecfp-mlm", run_dir, corpus=tiny_corpus(), steps=4, stop_after=2, **settings)
    resumed = pretrain("ecfp-mlm", run_dir, corpus=tiny_corpus(), resume=True)
    assert resumed.provenance["sessions"] == 2
    with (run_dir / "emissions.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 and len({row["run_id"] for row in rows}) == 2
    assert {(row["project_name"], row["experiment_id"]) for row in rows} == {("greenft-pretrain", "run")}
    total = sum(float(row["emissions"]) for row in rows)
    assert total == pytest.approx(resumed.provenance["emissions_kg"], rel=0.01)
    assert sum(float(row["energy_consumed"]) for row in rows) == pytest.approx(
        resumed.provenance["energy_kwh"], rel=0.01
    )

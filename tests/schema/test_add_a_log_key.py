"""Adding a log key touches the schema module only.

A key is one entry in a table of ``greenft.schema`` (``history.EPOCH_COLUMNS`` for a per-epoch key,
``summary.RUN_COLUMNS`` for a summary key). Here one entry is appended to each table, exactly what editing
those tuples does, and a real trial then logs both keys to its epoch log, W&B and its summary; the analysis
reads them back, as numbers, into its records and tables; and a sweep file may name them. Nothing outside
the schema is changed. (docs/logging.md must list a real new key too: ``test_logging_doc`` enforces that.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import small_trial, wait_for_wandb_exit
from greenft.agents import TrialConfig, run_trial
from greenft.analysis import read_offline_run
from greenft.analysis.reader import epochs_frame, read_runs, runs_frame
from greenft.schema import find_key, history, read_jsonl, read_summary, summary
from greenft.schema.columns import Column
from greenft.schema.history import EpochView
from greenft.schema.summary import SummaryFacts

EPOCH_KEY = "extra/loss_x2"  # a new namespace too: W&B charts it against epoch without further set-up
SUMMARY_KEY = "total/kg_per_epoch"


def loss_x2(view: EpochView) -> float:
    return 2.0 * view.record.train_loss


def kg_per_epoch(facts: SummaryFacts) -> float:
    return facts.last.fit.emissions_kg / facts.last.epoch


@pytest.fixture
def extended_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history, "EPOCH_COLUMNS", (*history.EPOCH_COLUMNS, Column(EPOCH_KEY, float, loss_x2)))
    extra = Column(SUMMARY_KEY, float, kg_per_epoch, lambda f: f.trained)
    monkeypatch.setattr(summary, "RUN_COLUMNS", (*summary.RUN_COLUMNS, extra))


@pytest.mark.usefixtures("extended_schema")
def test_a_key_added_to_the_schema_reaches_the_logs_and_the_analysis(tmp_path: Path) -> None:
    config = TrialConfig.model_validate(small_trial(tmp_path, optim={"max_epochs": 2}))
    result = run_trial(config)

    rows = read_jsonl(result.files_dir / "greenft_epochs.jsonl")
    assert [row[EPOCH_KEY] for row in rows] == [2.0 * e.train_loss for e in result.epochs]
    written = read_summary(result.run_path)
    assert written is not None and written[SUMMARY_KEY] == pytest.approx(result.epochs[-1].fit.emissions_kg / 2)

    (record,) = read_runs(tmp_path / "runs", cache_dir=tmp_path / "cache")
    assert [row[EPOCH_KEY] for row in record.history] == [row[EPOCH_KEY] for row in rows]
    assert record.summary[SUMMARY_KEY] == written[SUMMARY_KEY]
    assert EPOCH_KEY in epochs_frame([record]).columns
    assert f"summary.{SUMMARY_KEY}" in runs_frame([record]).columns
    found = find_key(EPOCH_KEY)
    assert found is not None and found.per_epoch  # a sweep may early-terminate on it

    wait_for_wandb_exit(result.run_path)
    wandb_run = read_offline_run(result.run_path)
    assert [row[EPOCH_KEY] for row in wandb_run.history] == [row[EPOCH_KEY] for row in rows]
    assert wandb_run.summary[SUMMARY_KEY] == written[SUMMARY_KEY]

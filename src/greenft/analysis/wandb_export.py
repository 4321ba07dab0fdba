"""Log an analysis back to W&B, in a run of its own: the trade-off table, the Pareto scatter, the report folder.

Why: greenft's users look at W&B, and ``greenft analyze`` computed everything only into a local folder. The
analysis run (``job_type: analysis``, in the source runs' project) carries

* the trade-off table (``tradeoff_summary.csv``, read back from the folder so the Table *is* the file's rows) as a
  ``wandb.Table`` under :data:`TABLE_KEY`;
* the Pareto scatter (one point per strategy and model/dataset: emissions saved % against the deployed test
  metric vs best-val (hindsight), the headline pair) as a custom chart with W&B's own ``wandb/scatter/v0`` spec
  under :data:`PARETO_KEY`; its table also holds ``strategy`` and a ``label`` per point;
* the whole report folder as an Artifact of type :data:`ARTIFACT_TYPE` (versioned: re-running adds a version);
* headline numbers in its summary (:func:`headline`).

In offline mode (a local source) everything is in the run's ``run-<id>.wandb`` and ``files/``, so ``wandb sync``
uploads it later. With ``--write-back`` (opt-in, a ``wandb:`` source), :func:`write_back` also adds each run's
replayed trade-off numbers to that run's summary through the public API (unverified here: no W&B server on the
test machines). Every key is spelled in :mod:`greenft.schema.analysis_keys`.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greenft.analysis.compute import Analysis
from greenft.analysis.reader import Source
from greenft.analysis.tradeoff import Comparison
from greenft.schema.analysis_keys import (
    ANALYSIS_CURVES,
    ANALYSIS_REPLAY_CHECKED,
    ANALYSIS_REPLAY_MATCHED,
    ANALYSIS_RUNS,
    ANALYSIS_SKIPPED,
    PARETO_KEY,
    STRATEGY_EMISSIONS_SAVED,
    STRATEGY_TEST_VS_BEST_VAL,
    STRATEGY_WITHIN_1PCT,
    TABLE_KEY,
    WRITE_BACK_EMISSIONS_SAVED,
    WRITE_BACK_STOP_EPOCH,
    WRITE_BACK_TEST_VS_BEST_VAL,
    fill,
)
from greenft.stopping import rule_label

__all__ = [
    "ARTIFACT_TYPE",
    "JOB_TYPE",
    "PARETO_KEY",
    "TABLE_KEY",
    "TRADEOFF_FILE",
    "WANDB_DIR",
    "ExportTarget",
    "Exported",
    "export_analysis",
    "export_target",
    "headline",
    "report_files",
    "write_back",
    "write_back_values",
]

JOB_TYPE = "analysis"
# TABLE_KEY, PARETO_KEY and every other key: greenft.schema.analysis_keys (re-exported here)
PARETO_SPEC = "wandb/scatter/v0"  # a spec W&B ships (wandb.plot.scatter's): fields x and y
ARTIFACT_TYPE = "report"
TRADEOFF_FILE = "tradeoff_summary.csv"
WANDB_DIR = "wandb"  # <out>/wandb: where the analysis run's W&B folder goes; left out of the artifact
DEFAULT_PROJECT = "greenft"  # the trainer's default project (logging.project)
PARETO_X = "emissions_saved_pct"
PARETO_Y = "test_vs_best_val_pct"


@dataclass(frozen=True)
class ExportTarget:
    """Where the analysis run goes: W&B project (and entity), mode, and the ``dir`` given to ``wandb.init`` (the
    report folder: W&B puts its run folder under ``<dir>/wandb``)."""

    project: str
    entity: str | None
    mode: str  # online | offline
    directory: Path


@dataclass(frozen=True)
class Exported:
    """The analysis run that was logged: its id, its local folder (``offline-run-...``/``run-...``), its URL, the
    artifact's name, and the entity and project it went to."""

    run_id: str
    run_dir: Path
    url: str | None
    artifact: str
    entity: str | None = None
    project: str | None = None


def export_target(source: Source, projects: Iterable[str | None], out_dir: Path) -> ExportTarget | None:
    """The analysis run's place, or None when ``WANDB_MODE=disabled`` (W&B switched off: nothing is logged).

    A ``wandb:`` source: its entity and project, online unless ``WANDB_MODE=offline``. A local source: the one
    project its runs logged to (else ``greenft``), offline unless ``WANDB_MODE=online``.
    """
    mode = os.environ.get("WANDB_MODE", "").strip().lower()
    if mode == "disabled":
        return None
    directory = out_dir  # wandb.init(dir=out) writes out/wandb/<run folder>
    if source.kind == "wandb" and source.project:
        return ExportTarget(source.project, source.entity, "offline" if mode == "offline" else "online", directory)
    found = {p for p in projects if p}
    project = found.pop() if len(found) == 1 else DEFAULT_PROJECT
    return ExportTarget(project, None, "online" if mode == "online" else "offline", directory)


def report_files(out_dir: Path) -> list[Path]:
    """The report folder's files, sorted: everything but the analysis run's own W&B folder and hidden entries."""
    skip = out_dir / WANDB_DIR
    found = [p for p in out_dir.rglob("*") if p.is_file() and skip not in p.parents]
    return sorted(p for p in found if not any(part.startswith(".") for part in p.relative_to(out_dir).parts))


def _number(value: float) -> float | None:
    return value if math.isfinite(value) else None


def headline(analysis: Analysis) -> dict[str, Any]:
    """The analysis run's summary: counts, then per metric and strategy the mean CO2 saved, the mean deployed
    test metric vs best-val (hindsight) and how many runs stayed within 1 % (``tradeoff_overall.csv``'s rows)."""
    out: dict[str, Any] = {
        ANALYSIS_RUNS: len(analysis.records),
        ANALYSIS_CURVES: len(analysis.curves),
        ANALYSIS_SKIPPED: len(analysis.skipped),
        ANALYSIS_REPLAY_MATCHED: analysis.replay_matched,
        ANALYSIS_REPLAY_CHECKED: len(analysis.replay_checks),
    }
    for row in analysis.overall:
        where = {"metric": str(row.key.get("metric")), "strategy": row.strategy}
        out[fill(STRATEGY_EMISSIONS_SAVED, **where)] = _number(row.emissions_saved_pct.mean)
        out[fill(STRATEGY_TEST_VS_BEST_VAL, **where)] = _number(row.test_vs_best_val_pct.mean)
        out[fill(STRATEGY_WITHIN_1PCT, **where)] = row.within_text()
    return out


def _artifact_name(out_dir: Path) -> str:
    """``greenft-report-<folder>``: W&B allows letters, digits, ``-``, ``_`` and ``.`` in artifact names."""
    return "greenft-report-" + (re.sub(r"[^A-Za-z0-9._-]+", "-", out_dir.resolve().name).strip("-.") or "report")


def _pareto_rows(analysis: Analysis) -> tuple[list[str], list[list[Any]]]:
    columns = ["label", "strategy", "model", "dataset", PARETO_X, PARETO_Y, "on_deployed_front", "n_runs"]
    rows = [
        [
            f"{p.strategy} ({p.model}/{p.dataset})",
            p.strategy,
            p.model,
            p.dataset,
            _number(p.emissions_saved_pct),
            _number(p.test_vs_best_val_pct),
            p.on_deployed_front,
            p.n_runs,
        ]
        for p in analysis.pareto_relative
    ]
    return columns, rows


def export_analysis(analysis: Analysis, out_dir: Path, target: ExportTarget) -> Exported:
    """Log the written report folder ``out_dir`` of ``analysis`` as one W&B run (see the module docstring)."""
    import pandas as pd
    import wandb

    target.directory.mkdir(parents=True, exist_ok=True)
    config = {
        "source": analysis.source,
        "out": str(out_dir.resolve()),
        "rules": [rule_label(r) for r in analysis.rules],
        "runs": [r.run_id for r in analysis.records],
    }
    run = wandb.init(
        project=target.project,
        entity=target.entity,
        job_type=JOB_TYPE,
        dir=str(target.directory),
        mode=target.mode,  # type: ignore[arg-type]  # validated above: online | offline
        name=f"analysis {out_dir.resolve().name}",
        config=config,
        reinit="create_new",
        settings=wandb.Settings(silent=True, x_disable_stats=True),
    )
    try:
        table = wandb.Table(dataframe=pd.read_csv(out_dir / TRADEOFF_FILE))
        columns, rows = _pareto_rows(analysis)
        chart = wandb.plot_table(
            PARETO_SPEC,
            wandb.Table(dataframe=pd.DataFrame(rows, columns=columns)),
            {"x": PARETO_X, "y": PARETO_Y},
            {"title": "CO2 saved (%) vs test metric vs best-val (hindsight) (%), per strategy"},
        )
        run.log({TABLE_KEY: table, PARETO_KEY: chart})
        artifact = wandb.Artifact(_artifact_name(out_dir), type=ARTIFACT_TYPE, metadata=config)
        for path in report_files(out_dir):
            artifact.add_file(str(path), name=path.relative_to(out_dir).as_posix())
        run.log_artifact(artifact)
        run.summary.update(headline(analysis))
        exported = Exported(run.id, Path(run.dir).parent, run.url, artifact.name, run.entity or None, run.project)
    finally:
        run.finish()
    return exported


def write_back_values(comparisons: Iterable[Comparison]) -> dict[str, dict[str, Any]]:
    """``{run id: summary values}``: each replayed rule's stop epoch, CO2 saved % and deployed test metric vs
    best-val (hindsight), under ``analysis/<rule label>/...`` (:data:`~greenft.schema.analysis_keys.WRITE_BACK_KEYS`;
    the same numbers as ``tradeoff_runs.csv``)."""
    out: dict[str, dict[str, Any]] = {}
    for c in comparisons:
        if c.kind != "rule":
            continue
        values = out.setdefault(c.run_id, {})
        values[fill(WRITE_BACK_STOP_EPOCH, rule=c.strategy)] = c.stop_epoch
        values[fill(WRITE_BACK_EMISSIONS_SAVED, rule=c.strategy)] = _number(c.emissions_saved_pct)
        values[fill(WRITE_BACK_TEST_VS_BEST_VAL, rule=c.strategy)] = _number(c.test_vs_best_val_pct)
    return out


def write_back(source: Source, values: Mapping[str, Mapping[str, Any]], api: Any = None) -> int:
    """Add ``values`` to the summaries of the source's runs on the W&B server; returns how many runs were updated.

    Unverified: needs a W&B server (``wandb.Api().run(path).summary.update`` persists at once).
    """
    if source.kind != "wandb" or not values:
        return 0
    if api is None:
        import wandb

        api = wandb.Api(timeout=30)
    for run_id, update in values.items():
        api.run(f"{source.entity}/{source.project}/{run_id}").summary.update(dict(update))
    return len(values)

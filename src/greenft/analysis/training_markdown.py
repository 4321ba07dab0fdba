"""The "Training parameters" section of ``report.md``: renders a :class:`~greenft.analysis.training_params.
TrainingStudy` (pure: text only; the numbers are computed in :mod:`greenft.analysis.training_params`).

Apart from :mod:`greenft.analysis.markdown` so the section of a training sweep (the seed's W&B study of batch
size, epochs and lr) has one home, and the page renderer only asks for it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from greenft.analysis.blocks import Block, Figures, Heading, Table, Text, to_markdown
from greenft.analysis.training_params import TrainingRun, TrainingStudy, figure_name, value_text

__all__ = ["TRAINING_TITLE", "training_blocks", "training_section"]

TRAINING_TITLE = "Training parameters"


def _num(value: Any, digits: int = 3) -> str:
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "-"
        value += 0.0  # -0.0 (a zero change) prints as 0
        return f"{value:.{digits}g}" if abs(value) < 1e-3 or abs(value) >= 1e4 else f"{value:.{digits}f}"
    return str(value)


def _stop_cell(run: TrainingRun, which: str, named: bool = False) -> str:
    row = run.anges if which == "anges" else run.live
    if row is None:
        return "-" if which == "anges" else "exact AN-GES"
    name = f"{row.strategy} " if named else ""
    saved_kg = row.full_emissions_kg - row.emissions_kg
    early = "" if row.triggered else " (no early stop)"
    return (
        f"{name}epoch {row.stop_epoch}{early}: saved {_num(saved_kg, 2)} kg ({_num(row.emissions_saved_pct, 1)} %), "
        f"test vs best-val {_num(row.test_vs_best_val_pct, 2)} %"
    )


def training_section(study: TrainingStudy, pngs: Sequence[Path] = ()) -> list[str]:
    """The section's Markdown lines (:func:`training_blocks` rendered); empty when there is nothing to show."""
    blocks = training_blocks(study, pngs)
    return to_markdown(blocks).split("\n") if blocks else []


def training_blocks(study: TrainingStudy, pngs: Sequence[Path] = ()) -> list[Block]:
    """The section's blocks; none when no group's runs differ in a training parameter (and nothing to note)."""
    if not study.active and not study.notes:
        return []
    out: list[Block] = [Heading(2, TRAINING_TITLE), Text(_TEXT)]
    for (model, dataset), params in study.parameters.items():
        runs = study.runs[(model, dataset)]
        out.append(Heading(3, f"{model} on {dataset} ({len(runs)} complete runs, metric {runs[0].metric})"))
        out.append(
            Text(
                "Varying: "
                + "; ".join(
                    f"`{p.name}` ({len(p.values)} values, {_num(p.values[0])} … {_num(p.values[-1])})" for p in params
                )
                + "."
            )
        )
        rows = [
            (c.parameter, c.target, str(c.n_runs), _num(c.pearson), _num(c.pearson_log10), _num(c.spearman),
             _num(c.fanova), _num(c.forest))
            for c in study.correlations
            if (c.model, c.dataset) == (model, dataset)
        ]  # fmt: skip
        if rows:
            columns = ("parameter", "target", "runs", "Pearson", "Pearson log10", "Spearman", "fANOVA", "forest (W&B)")
            out.append(Table(columns, tuple(rows)))
        names = [p.name for p in params]
        lives = {r.live.strategy if r.live is not None else "anges" for r in runs}
        one = len(lives) == 1  # the usual case: one live rule for the whole sweep, named in the header
        live = f"live rule {next(iter(lives))}" if one else "live rule (per run)"
        header = ("run", *names, "budget", f"best val {runs[0].metric} (epoch)", "kg full budget", "exact AN-GES", live)
        body = []
        for run in sorted(runs, key=lambda r: [str(r.params.get(n)) for n in names]):
            row = [run.run_id, *(value_text(run.params.get(n)) for n in names), str(run.budget)]
            row += [
                f"{_num(run.best_val)} ({run.best_val_epoch or '-'})",
                _num(run.full_kg, 2),
                _stop_cell(run, "anges"),
            ]
            row.append(_stop_cell(run, "live", named=not one))
            body.append(tuple(row))
        out += [Text("Per run, each rule replayed against the run's own budget:"), Table(header, tuple(body))]
        expected = {figure_name(p.name, model, dataset) for p in params}
        figures = tuple((p.stem, p.name) for p in pngs if p.name in expected)
        if figures:
            caption = "Per-epoch validation curves grouped by each parameter (linear and log y): "
            out.append(Figures(figures, caption))
    if study.notes:
        out.append(Text("\n".join(f"- {note}" for note in study.notes)))
    return out


_TEXT = """\
Shown when the complete runs of a model and dataset differ in training parameters (a training sweep, such as
the seed's W&B study of batch size, epochs and learning rate). The varying parameters are found from the run
configs (bookkeeping such as names, tags and measured values left out). For each numeric one, against four
targets per run (best validation metric over the budget, lowest validation loss, kg CO2-eq of the full budget
and kg CO2-eq at the exact AN-GES stop): **Pearson** r on the value, **Pearson log10** on log10 of the value
(only for positive ranges spanning a factor of 10, such as a learning rate), **Spearman** rho (monotone, on
ranks), and two importances over all numeric varying parameters together, each summing to 1 per target:
**fANOVA** (Optuna's evaluator: the share of variance each parameter explains) and **forest (W&B)**, the impurity
importance of a random forest fitted on the parameters (what W&B's parameter-importance panel shows). A
positive correlation with a metric that is minimised (RMSE, loss) means larger values do worse. Fewer than 5
runs: correlations only; with few runs all of these are indicative. The per-run table says where exact AN-GES
and the runs' live rule would have stopped each run (replayed on its logged curve against its own epoch budget,
which differs between runs when max_epochs is swept), the kg and share of the full budget saved, and the test
metric of the checkpoint deployed at the stop vs best-val (hindsight), positive = better. Tables:
`training_params.csv`, `training_runs.csv`."""

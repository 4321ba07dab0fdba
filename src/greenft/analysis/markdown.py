"""The trade-off report as Markdown: one readable page of tables, definitions and embedded figures.

Why its own module: the page is long prose and table layout, which changes for readers; the numbers it shows
are computed in :mod:`greenft.analysis.compute` and only formatted here. Pure: returns strings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from greenft.analysis.baseline_table import WorthRow
from greenft.analysis.blocks import Block, Figures, Heading, Slot, Table, Text, table, to_markdown
from greenft.analysis.compute import Analysis
from greenft.analysis.fronts import RelativePoint, by_group
from greenft.analysis.inference_markdown import inference_sections
from greenft.analysis.rule_grid_markdown import rule_grid_blocks
from greenft.analysis.tradeoff import (
    BEST_TEST,
    BEST_VAL,
    FULL_BUDGET,
    HINDSIGHT_1PCT,
    WITHIN_PCT,
    AggregateRow,
    Comparison,
    count_by,
)
from greenft.analysis.training_markdown import training_blocks
from greenft.schema.history import EMISSIONS
from greenft.stopping import AnGesConfig, effective_threshold_fraction, rule_label

__all__ = ["markdown_table", "render_markdown", "report_blocks"]


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table (``|`` in cells escaped); floats with 2 decimals, NaN as ``-``."""
    return to_markdown([table(header, rows)]).rstrip("\n")


def _strategy_name(strategy: str) -> str:
    return {FULL_BUDGET: "full budget"}.get(strategy, strategy)


def _stopped_early(r: AggregateRow) -> str:
    """Share of runs the rule stopped before the budget's end; stops at its last epoch (which save nothing) are
    named apart, never counted as stops."""
    if not math.isfinite(r.stop_rate):
        return "-"
    at_budget = f" (+{r.stopped_at_budget} at the last epoch)" if r.stopped_at_budget else ""
    return f"{100 * r.stop_rate:.0f} %{at_budget}"


_WITHIN = f"within {WITHIN_PCT:g} % of {BEST_VAL}"
SUMMARY_HEADER = (
    "strategy",
    "runs",
    "stopped early",
    "emissions saved %",
    f"test vs {BEST_VAL} %, best-so-far deployed",
    _WITHIN,
    f"test vs {BEST_VAL} %, stop-epoch weights",
    "test vs last epoch %, best-so-far deployed",
    "test vs last epoch %, stop-epoch weights",
    "val vs last epoch %",
    "epochs saved",
)


def _summary_table(rows: Sequence[AggregateRow]) -> Table:
    order = {"budget": 0, "rule": 1, "hindsight": 2}
    body = []
    for r in sorted(rows, key=lambda r: (order.get(r.kind, 9), r.strategy)):
        body.append(
            [
                _strategy_name(r.strategy),
                str(r.n_runs),
                _stopped_early(r),
                r.emissions_saved_pct.text(),
                r.test_vs_best_val_pct.text(2),
                r.within_text(),
                r.test_vs_best_val_last_pct.text(2),
                r.deployed_metric_change_pct.text(2),
                r.metric_change_pct.text(2),
                r.val_metric_change_pct.text(2),
                r.epochs_saved.text(1),
            ]
        )
    return table(SUMMARY_HEADER, body)


def render_markdown(analysis: Analysis, pngs: Sequence[Path] = (), html: Path | None = None) -> str:
    """The whole report as one Markdown page."""
    return to_markdown(report_blocks(analysis, pngs, html))


def report_blocks(analysis: Analysis, pngs: Sequence[Path] = (), html: Path | None = None) -> list[Block]:
    """The report's content, once, for both pages (``report.md`` and ``report.html``, :mod:`greenft.analysis.blocks`).

    ``Slot`` blocks mark where the HTML page puts its interactive figures: ``pareto:<model>:<dataset>``,
    ``grid:<model>:<dataset>``, ``importance``.
    """
    a = analysis
    source = f"Source: `{a.source}`. Runs read: {len(a.records)}; complete curves analysed: {len(a.curves)}."
    if html is not None:
        source += f"\nInteractive version: [{html.name}]({html.name})."
    out: list[Block] = [Heading(1, "greenft trade-off report"), Text(source), Text(_DEFINITIONS)]

    out.append(Heading(2, "Trade-off per model and dataset"))
    out.append(
        Text(
            "Mean ± sample standard deviation over the runs (seeds, and training hyperparameters when the source "
            f"is a training sweep). The first quality column is the headline: the test metric of the checkpoint a "
            f"run deploys (the best-so-far validation epoch at its stop) against {BEST_VAL}; '{_WITHIN}' counts "
            "the runs where that loses at most 1 %. 'stopped early': share of runs where the rule stopped before "
            "the budget's last epoch (a stop at the last epoch saves nothing and is named apart)."
        )
    )
    for (model, dataset), rows in by_group(a.summary).items():
        n = max(r.n_runs for r in rows)
        out += [Heading(3, f"{model} on {dataset} ({n} runs, metric {_metric_of(a, model, dataset)})")]
        out.append(_summary_table(rows))
    if len(a.groups) > 1:
        out.append(Heading(3, "All datasets, by metric"))
        for metric in sorted({str(r.key["metric"]) for r in a.overall}):
            out += [Text(f"Metric {metric}:"), _summary_table([r for r in a.overall if r.key["metric"] == metric])]

    out.append(Heading(2, "Per run"))
    out.append(
        Text(
            "Each cell: the stop epoch, '→ d' when the checkpoint deployed (best-so-far validation epoch) is "
            f"another epoch d, and its test metric change vs {BEST_VAL} (positive = better)."
        )
    )
    out.append(_per_run_table(a))

    out.append(Heading(2, "Replay reproduces the logged stops"))
    checks = a.replay_checks
    matched = a.replay_matched
    out.append(
        Text(
            f"Each rule a run logged a stop for was replayed on that run's logged curve with the rule classes of "
            f"`greenft.stopping`: **{matched} of {len(checks)}** logged stop epochs reproduced exactly."
        )
    )
    mismatches = [c.as_dict() for c in checks if not c.match]
    if mismatches:
        out.append(table(list(mismatches[0]), [list(c.values()) for c in mismatches]))

    out += [Heading(2, "AN-GES with alpha 0.9, beta 0.2 stops at the first non-improving epoch"), Text(_K_TEXT)]
    out += [_k_table(a), _anges_stop_table(a)]

    out += [Heading(2, "Pareto fronts"), Text(_PARETO_TEXT)]
    for (model, dataset), points in _by_model_dataset(a.pareto_relative).items():
        deployed = sorted((r for r in points if r.on_deployed_front), key=lambda r: r.emissions_saved_pct)
        out.append(Heading(3, f"{model} on {dataset}: non-dominated configs, best-so-far deployed (mean over runs)"))
        out.append(_front_table(deployed))
        front = sorted((r for r in points if r.on_front), key=lambda r: r.emissions_saved_pct)
        out.append(Heading(3, f"{model} on {dataset}: non-dominated configs, stop-epoch weights vs last epoch"))
        out.append(_front_table(front))
        hv = [h for h in a.hypervolumes if (h.model, h.dataset) == (model, dataset)]
        if hv:
            ref = hv[0]
            out.append(
                Text(
                    f"Hypervolume (reference: {ref.reference_saved_pct:.0f} % saved, "
                    f"{ref.reference_metric_change_pct:.2f} % metric change; larger is better): "
                    + ", ".join(f"{h.family} {h.hypervolume:.1f} ({h.configs} configs)" for h in hv)
                    + "."
                )
            )
        out.append(Slot(f"pareto:{model}:{dataset}"))

    out += rule_grid_blocks(a.rule_grid)

    out += [Heading(2, "Hyperparameter importance (training sweeps)"), Text(_IMPORTANCE_TEXT)]
    if a.importance.entries:
        out.append(
            table(
                ["model", "dataset", "target", "parameter", "runs", "Spearman", "fANOVA importance"],
                [
                    [r.model, r.dataset, r.target, r.parameter, r.n_runs, r.spearman, r.importance]
                    for r in a.importance.entries
                ],
            )
        )
    if a.importance.notes:
        out.append(Text("\n".join(f"- {note}" for note in a.importance.notes)))
    out.append(Slot("importance"))

    out += training_blocks(a.training, pngs)  # a training sweep: the seed's batch size / epochs / lr study

    if a.worth:
        out += [Heading(2, "Is fine-tuning worth its CO2? Cheap baselines beside the runs"), Text(_WORTH_TEXT)]
        out.append(_worth_table(a.worth))

    for section in inference_sections(a):  # the seed thesis' life-cycle tables (training, use, precision)
        out += [Heading(2, section.title), Text(section.text)]
        out += [table(header, rows) for header, rows in section.tables]

    if a.skipped:
        out.append(Heading(2, "Runs not used for trade-offs"))
        out.append(Text("\n".join(f"- `{run_id}`: {why}" for run_id, why in a.skipped)))

    if pngs:
        out += [Heading(2, "Figures"), Figures(tuple((p.stem, p.name) for p in pngs))]
    return out


_WORTH_TEXT = (
    "The cheap baselines of `greenft baseline` (Morgan fingerprints with a random forest or ridge model, and the "
    "mean / majority predictor) on the same dataset and split kind, beside each model's strategies (the full "
    "budget and each headline rule, with the weights each deploys). Test metric and training kg CO2-eq: mean ± "
    "sample sd over seeds (n). 'beats best baseline': the mean test metric is better than the best baseline's; "
    "'kg / baseline': the strategy's training kg over that baseline's fit kg."
)


def _pm(mean: float, sd: float, digits: int) -> str:
    if not math.isfinite(mean):
        return "n/a"
    return f"{mean:.{digits}f} ± {sd:.{digits}f}" if math.isfinite(sd) else f"{mean:.{digits}f}"


def _worth_table(rows: Sequence[WorthRow]) -> Table:
    def yes_no(value: bool | None) -> str:
        return "" if value is None else ("yes" if value else "no")

    return table(
        [
            "dataset",
            "split",
            "metric",
            "kind",
            "model / strategy or baseline",
            "n",
            "test",
            "kg CO2-eq",
            "beats best baseline",
            "kg / baseline",
        ],
        [
            [
                r.dataset,
                r.split,
                r.metric,
                r.kind,
                r.name,
                r.n,
                _pm(r.test_mean, r.test_sd, 3),
                _pm(r.kg_mean, r.kg_sd, 7),
                yes_no(r.beats_best_baseline),
                "" if r.kg_ratio_to_best_baseline is None else f"{r.kg_ratio_to_best_baseline:.0f}x",
            ]
            for r in rows
        ],
    )


def _front_table(points: Sequence[RelativePoint]) -> Table:
    """A front's configs with both quality references (the headline first), within counts and epochs saved."""
    header = [
        "strategy",
        "emissions saved %",
        f"test vs {BEST_VAL} %, best-so-far deployed",
        _WITHIN,
        "test vs last epoch %, stop-epoch weights",
        "epochs saved",
    ]
    rows = [
        [r.strategy, r.emissions_saved_pct, r.test_vs_best_val_pct, r.within_1pct, r.metric_change_pct, r.epochs_saved]
        for r in points
    ]
    return table(header, rows)


def _metric_of(a: Analysis, model: str, dataset: str) -> str:
    for c in a.curves:
        if (c.model, c.dataset) == (model, dataset):
            return c.metric
    return "?"


def _by_model_dataset(rows: Iterable[RelativePoint]) -> dict[tuple[str, str], list[RelativePoint]]:
    out: dict[tuple[str, str], list[RelativePoint]] = {}
    for row in rows:
        out.setdefault((row.model, row.dataset), []).append(row)
    return out


def _per_run_table(a: Analysis) -> Table:
    labels = [rule_label(r) for r in a.rules]
    strategies = [*labels, BEST_TEST, BEST_VAL, HINDSIGHT_1PCT]
    header = ["run", "model", "dataset", "seed", "epochs", *strategies]
    body = []
    by_run: dict[str, dict[str, Comparison]] = {}
    for c in a.comparisons:
        by_run.setdefault(c.run_id, {})[c.strategy] = c
    for curve in a.curves:
        rows = by_run.get(curve.run_id, {})

        def stop(name: str, rows: dict[str, Comparison] = rows) -> str:
            row = rows.get(name)
            if row is None:
                return "-"
            mark = ""
            if row.kind == "rule" and not row.triggered:
                mark = " (at the last epoch)" if row.stopped_at_budget else " (never)"
            deployed = f" → {row.deployed_epoch}" if row.deployed_epoch != row.stop_epoch else ""
            change = row.test_vs_best_val_pct
            verdict = f" ({change:+.2f} %)" if math.isfinite(change) else ""
            return f"{row.stop_epoch}{mark}{deployed}{verdict}"

        body.append(
            [
                curve.run_id,
                curve.model,
                curve.dataset,
                "-" if curve.seed is None else str(curve.seed),
                str(curve.n_epochs),
                *(stop(name) for name in strategies),
            ]
        )
    return table(header, body)


def _k_table(a: Analysis) -> Table:
    rows = []
    for rule in [*a.rules, *a.grid]:
        if isinstance(rule, AnGesConfig):
            try:
                k: float = effective_threshold_fraction(rule.alpha, rule.beta)
            except ValueError:
                k = math.nan
            rows.append([rule_label(rule), rule.alpha, rule.beta, rule.warmup, f"{k:.4f}" if math.isfinite(k) else "-"])
    return table(["config", "alpha", "beta", "W", "k = beta(1-alpha)/(1-alpha*beta)"], rows)


def _anges_stop_table(a: Analysis) -> Table:
    rows = []
    for label in dict.fromkeys(c.label for c in a.anges_checks):
        checks = [c for c in a.anges_checks if c.label == label]
        counts = count_by(checks, lambda c: c.category)
        stops = sum(v for k, v in counts.items() if k != "never")
        first = counts.get("first_non_improving", 0)
        rows.append(
            [
                label,
                str(len(checks)),
                str(stops),
                str(sum(c.at_last_epoch for c in checks)),
                str(first),
                f"{100 * first / stops:.0f} %" if stops else "-",
                str(counts.get("improving_epoch", 0)),
                str(counts.get("later_non_improving", 0)),
                str(counts.get("non_finite", 0)),
                str(counts.get("never", 0)),
            ]
        )
    header = [
        "config",
        "runs",
        "stops",
        "of which at the last epoch (save nothing)",
        "at first non-improving epoch",
        "share of stops",
        "at an improving epoch",
        "at a later non-improving epoch",
        "non-finite metric",
        "never stopped",
    ]
    return table(header, rows)


_DEFINITIONS = f"""\
Definitions (emissions are relative to the same run's full budget, its last epoch):

- **{BEST_VAL}**: the run's best validation epoch over the whole budget (ties: earliest), the checkpoint a
  careful user who trains the full budget deploys. **The headline quality column compares against it.**
  **{BEST_TEST}**: the epoch with the best test metric (ties: earliest), the limit no rule can beat.
  **{HINDSIGHT_1PCT}**: per run, the earliest epoch whose best-so-far checkpoint has a test metric within
  {WITHIN_PCT:g} % of {BEST_VAL}'s (that checkpoint itself always qualifies, so it is never later than the best
  validation epoch): the most CO2 a rule deploying best-so-far could save at that quality. All three need the
  future or the test set; their emissions are those of stopping right there.
- **emissions saved %** = 100 · (E_full − E_stop) / E_full, with E the cumulative training emissions
  (`{EMISSIONS}`: train + validation, what the rule sees; test-set evaluation excluded).
- **metric change %** = 100 · (m − m_ref) / |m_ref| for ROC-AUC, 100 · (m_ref − m) / |m_ref| for
  RMSE/MAE: **positive = better** than the reference ({BEST_VAL}, or the last epoch of the budget). "best-so-far
  deployed" is the test metric of the best validation epoch up to the stop (the weights a run keeps in memory
  and deploys: `greenft.schema.deployed_index`), "stop-epoch weights" that of the stop epoch itself; "val" is
  the validation metric at the stop epoch vs the last epoch.
- **{_WITHIN}**: runs whose deployed checkpoint loses at most {WITHIN_PCT:g} % against {BEST_VAL},
  over the runs where the change is defined.
- **stopped early**: the rule stopped before the budget's last epoch. A rule that said stop at the last epoch
  saved nothing: it is not counted as stopped (the count is shown apart, and the per-run table marks it).
- **epochs saved** = N_full − stop epoch.
- Rules are replayed on the logged curves with `greenft.stopping.build_rule`, i.e. the live rules' own code."""

_K_TEXT = """\
AN-GES updates the EMA with the current AER before comparing, so "stop if AER_i < beta · EMA_i" is the same as
"stop if AER_i < k · EMA_{i−1}" with k = beta(1 − alpha)/(1 − alpha · beta) (`effective_threshold_fraction`).
With the defaults k ≈ 0.0244: once the EMA is positive, any epoch that does not improve the validation metric
(AER ≤ 0) stops the run. The second table counts where the replayed AN-GES stops fell: at the first epoch after
warm-up (i ≥ max(W, 2)) whose validation metric did not improve on the previous epoch, or elsewhere."""

_PARETO_TEXT = """\
Relative fronts: each strategy's mean emissions saved % against its mean test-metric change % over the runs of
a dataset (both higher is better), over the headline rules and a grid of AN-GES (alpha, beta, W) and patience
configs. Two fronts, one per way of judging quality: the first with the checkpoint a run deploys (best-so-far)
against best-val (hindsight), the headline; the second with the stop epoch's own weights against the last
epoch (the axes of the figures and of the hypervolumes). Hindsight strategies (best-test (limit), best-val
(hindsight), hindsight-1%) are references, not candidates. A config is on a front when no other is at least as
good on both axes and better on one (ties are all kept; NaN never counts). `pareto_absolute.csv` has the
per-run front in kg CO2-eq vs test metric."""

_IMPORTANCE_TEXT = """\
For runs that differ in training hyperparameters (a training sweep): Spearman rank correlation of each
varying parameter with the best validation metric (sign-corrected so that higher is better for RMSE too) and
with the training emissions, and fANOVA importance (share of variance explained, Optuna's evaluator).
Groups with fewer than 5 runs or no varying parameter are skipped. With few runs these numbers are indicative
only."""

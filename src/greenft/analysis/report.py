"""The trade-off report: from runs to tables (CSV + Markdown), Pareto fronts, replay checks and plots.

:func:`analyze` does the computing (replays, comparisons, fronts, importance) on records already read, and
:func:`write_report` writes the folder ``greenft analyze`` produces:

``report.md`` (everything in one readable page, figures embedded), ``report.html`` (interactive plotly),
``*.png`` (matplotlib), and the tables ``runs.csv``, ``epochs.csv``, ``tradeoff_runs.csv``,
``tradeoff_summary.csv``, ``tradeoff_overall.csv``, ``grid_summary.csv``, ``pareto_relative.csv``,
``pareto_absolute.csv``, ``replay_check.csv``, ``anges_stops.csv``, ``importance.csv``.

Which runs count: a trade-off needs the *complete* curve (every epoch of the budget), so shadow runs and
full-budget runs are used, as are live runs whose rule never fired; a live run that stopped early is listed as
skipped (its replay check still runs: replaying its own rule must reproduce its stop).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greenft.analysis.importance import ImportanceResult, hyperparameter_importance
from greenft.analysis.pareto import Sense, hypervolume_2d, pareto_mask
from greenft.analysis.records import Curve, CurveError, RunRecord, curve_from_record
from greenft.analysis.replay import ReplayResult, RuleConfig, RuleSpecError, parse_rule, replay
from greenft.analysis.tradeoff import (
    BEST_VAL,
    FULL_BUDGET,
    ORACLE,
    AggregateRow,
    AngesStopCheck,
    Comparison,
    aggregate,
    classify_anges_stop,
    compare_curve,
    count_by,
)
from greenft.stopping import RULES, AnGesConfig, PatienceConfig, effective_threshold_fraction, rule_label

__all__ = [
    "Analysis",
    "ReportFiles",
    "analyze",
    "default_grid",
    "default_rules",
    "markdown_table",
    "write_report",
]


def default_rules() -> list[RuleConfig]:
    """The seed's defaults: AN-GES (alpha 0.9, beta 0.2, W 3) and patience 5, the baseline it is compared with."""
    return [AnGesConfig(), PatienceConfig(patience=5)]


def default_grid() -> list[RuleConfig]:
    """Extra configs for the Pareto front: an AN-GES alpha x beta grid and a range of patiences."""
    grid: list[RuleConfig] = [AnGesConfig(alpha=a, beta=b, warmup=3) for a in (0.5, 0.7, 0.9) for b in (0.1, 0.2, 0.5)]
    grid += [AnGesConfig(alpha=0.9, beta=0.2, warmup=w) for w in (2, 4, 5)]
    grid += [PatienceConfig(patience=p) for p in (1, 2, 3, 5)]
    return grid


def _dedup(rules: Iterable[RuleConfig]) -> list[RuleConfig]:
    seen: dict[str, RuleConfig] = {}
    for rule in rules:
        seen.setdefault(rule_label(rule), rule)
    return list(seen.values())


def _logged_rules(records: Sequence[RunRecord]) -> list[RuleConfig]:
    """Rules the runs recorded themselves (``derived.rules``), so their logged stops are in the tables too."""
    found: list[RuleConfig] = []
    for record in records:
        labels = (record.config.get("derived") or {}).get("rules") or []
        for label in labels if isinstance(labels, list) else []:
            try:
                found.append(parse_rule(str(label)))
            except RuleSpecError:
                continue
    return found


@dataclass
class Analysis:
    """Everything the report shows, computed from the runs (no files written)."""

    source: str
    records: list[RunRecord]
    curves: list[Curve]
    skipped: list[tuple[str, str]]
    rules: list[RuleConfig]
    grid: list[RuleConfig]
    comparisons: list[Comparison]
    grid_comparisons: list[Comparison]
    replays: dict[str, dict[str, ReplayResult]]
    replay_checks: list[dict[str, Any]]
    anges_checks: list[AngesStopCheck]
    importance: ImportanceResult
    summary: list[AggregateRow] = field(default_factory=list)
    overall: list[AggregateRow] = field(default_factory=list)
    grid_summary: list[AggregateRow] = field(default_factory=list)
    pareto_relative: list[dict[str, Any]] = field(default_factory=list)
    pareto_absolute: list[dict[str, Any]] = field(default_factory=list)
    hypervolumes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def groups(self) -> list[tuple[str, str]]:
        """(model, dataset) pairs with at least one usable curve, sorted."""
        return sorted({(c.model, c.dataset) for c in self.curves})


def analyze(
    records: Sequence[RunRecord],
    rules: Sequence[RuleConfig | str] | None = None,
    *,
    grid: Sequence[RuleConfig | str] | None = None,
    source: str = "",
) -> Analysis:
    """Replay every rule on every complete curve and compute the comparisons, fronts and checks.

    ``rules`` are the headline rules (default: the seed's AN-GES and patience 5, plus every rule the runs
    logged); ``grid`` adds configs shown only on the Pareto front (default :func:`default_grid`; pass ``[]``
    to skip).
    """
    headline = _dedup([*(parse_rule(r) for r in (rules if rules is not None else default_rules()))])
    if rules is None:
        headline = _dedup([*headline, *_logged_rules(records)])
    headline_labels = {rule_label(r) for r in headline}
    grid_rules = [r for r in _dedup(parse_rule(g) for g in (grid if grid is not None else default_grid()))]
    grid_rules = [r for r in grid_rules if rule_label(r) not in headline_labels]

    curves, skipped, checks = [], [], []
    for record in records:
        try:
            curve = curve_from_record(record)
        except CurveError as err:
            skipped.append((record.run_id, str(err)))
            continue
        checks.extend(_replay_checks(record, curve))
        if record.state not in ("finished",):
            skipped.append((record.run_id, f"state {record.state!r}: only finished runs give a full curve"))
        elif not curve.complete:
            skipped.append(
                (record.run_id, f"curve has {curve.n_epochs} of {curve.budget} epochs (a live run that stopped)")
            )
        else:
            curves.append(curve)

    comparisons: list[Comparison] = []
    grid_comparisons: list[Comparison] = []
    replays: dict[str, dict[str, ReplayResult]] = {}
    anges_checks: list[AngesStopCheck] = []
    for curve in curves:
        per_run: dict[str, ReplayResult] = {}
        comparisons.extend(compare_curve(curve, headline, replays=per_run))
        replays[curve.run_id] = per_run
        grid_comparisons.extend(compare_curve(curve, grid_rules, hindsight=False)[1:])
        for rule in headline:
            if isinstance(rule, AnGesConfig):
                anges_checks.append(classify_anges_stop(curve, rule, per_run[rule_label(rule)]))

    analysis = Analysis(
        source=source,
        records=list(records),
        curves=curves,
        skipped=skipped,
        rules=headline,
        grid=grid_rules,
        comparisons=comparisons,
        grid_comparisons=grid_comparisons,
        replays=replays,
        replay_checks=checks,
        anges_checks=anges_checks,
        importance=hyperparameter_importance(records),
    )
    analysis.summary = aggregate(comparisons, ("model", "dataset"))
    analysis.overall = aggregate(comparisons, ("metric",))
    analysis.grid_summary = aggregate([*comparisons, *grid_comparisons], ("model", "dataset"))
    _fronts(analysis)
    return analysis


def _replay_checks(record: RunRecord, curve: Curve) -> list[dict[str, Any]]:
    """Replay each rule the run logged a stop for, and compare with the logged stop epoch.

    Shadow runs log ``shadow/<label>/stop_epoch`` (None: never stopped) for every rule; a live run logs
    ``stop/rule``, ``stop/epoch`` and ``stop/triggered``. A mismatch would mean replay is not the live rule.
    """
    out = []
    logged: dict[str, int | None] = {}
    for key, value in record.summary.items():
        if key.startswith("shadow/") and key.endswith("/stop_epoch"):
            logged[key.removeprefix("shadow/").removesuffix("/stop_epoch")] = value
    live = record.summary.get("stop/rule")
    if isinstance(live, str) and live not in logged and "stop/triggered" in record.summary:
        logged[live] = record.summary.get("stop/epoch") if record.summary.get("stop/triggered") else None
    for label, epoch in sorted(logged.items()):
        try:
            config = parse_rule(label)
        except RuleSpecError:
            continue
        result = replay(curve, config)
        replayed = result.stop_epoch if result.triggered else None
        expected = int(epoch) if isinstance(epoch, int | float) and not isinstance(epoch, bool) else None
        out.append(
            {
                "run_id": record.run_id,
                "mode": record.mode,
                "rule": label,
                "logged_stop_epoch": expected,
                "replayed_stop_epoch": replayed,
                "match": expected == replayed,
            }
        )
    return out


# --------------------------------------------------------------------------------------------------- fronts


def _family(strategy: str) -> str:
    """A replayed rule's label as its rule's name (``anges_a0.5_b0.1_w3`` -> ``anges``); other strategies as is."""
    fields = RULES.label_fields(strategy)
    return str(fields["rule"]) if fields is not None else strategy


def _fronts(analysis: Analysis) -> None:
    """Relative fronts (mean saved % vs mean metric change %, per strategy) and absolute ones (per run x rule)."""
    headline = {rule_label(r) for r in analysis.rules}
    for (model, dataset), rows in _by_group(analysis.grid_summary).items():
        achievable = [r for r in rows if r.kind in ("budget", "rule") and r.emissions_saved_pct.n > 0]
        points = [(r.emissions_saved_pct.mean, r.metric_change_pct.mean) for r in achievable]
        mask = pareto_mask(points, ("max", "max"))
        for row, on in zip(achievable, mask, strict=True):
            analysis.pareto_relative.append(
                {
                    "model": model,
                    "dataset": dataset,
                    "strategy": row.strategy,
                    "family": _family(row.strategy),
                    "headline": row.strategy in headline or row.kind == "budget",
                    "n_runs": row.n_runs,
                    "emissions_saved_pct": row.emissions_saved_pct.mean,
                    "emissions_saved_pct_std": row.emissions_saved_pct.std,
                    "metric_change_pct": row.metric_change_pct.mean,
                    "metric_change_pct_std": row.metric_change_pct.std,
                    "epochs_saved": row.epochs_saved.mean,
                    "on_front": on,
                }
            )
        for row in rows:
            if row.kind == "hindsight":
                analysis.pareto_relative.append(
                    {
                        "model": model,
                        "dataset": dataset,
                        "strategy": row.strategy,
                        "family": "hindsight",
                        "headline": True,
                        "n_runs": row.n_runs,
                        "emissions_saved_pct": row.emissions_saved_pct.mean,
                        "emissions_saved_pct_std": row.emissions_saved_pct.std,
                        "metric_change_pct": row.metric_change_pct.mean,
                        "metric_change_pct_std": row.metric_change_pct.std,
                        "epochs_saved": row.epochs_saved.mean,
                        "on_front": False,
                    }
                )
        # Hypervolume per rule family against a common reference: 0 % saved (the full budget) and 1 point
        # below the worst mean metric change of any achievable config.
        if points:
            worst = min(p[1] for p in points if math.isfinite(p[1])) if any(math.isfinite(p[1]) for p in points) else 0
            reference = (0.0, min(0.0, worst) - 1.0)
            for family in ("anges", "patience"):
                fam = [p for r, p in zip(achievable, points, strict=True) if _family(r.strategy) == family]
                if fam:
                    analysis.hypervolumes.append(
                        {
                            "model": model,
                            "dataset": dataset,
                            "family": family,
                            "configs": len(fam),
                            "reference_saved_pct": reference[0],
                            "reference_metric_change_pct": reference[1],
                            "hypervolume": hypervolume_2d(fam, reference, ("max", "max")),
                        }
                    )
    comparisons = [c for c in analysis.comparisons if c.kind in ("budget", "rule")]
    for (model, dataset), runs in _by_group_comparisons(comparisons).items():
        sense: Sense = "max" if runs[0].metric == "roc_auc" else "min"
        absolute = [(c.emissions_kg, c.test_metric) for c in runs]
        for comp, on in zip(runs, pareto_mask(absolute, ("min", sense)), strict=True):
            analysis.pareto_absolute.append(
                {
                    "model": model,
                    "dataset": dataset,
                    "run_id": comp.run_id,
                    "seed": comp.seed,
                    "strategy": comp.strategy,
                    "stop_epoch": comp.stop_epoch,
                    "emissions_kg": comp.emissions_kg,
                    "test_metric": comp.test_metric,
                    "metric": comp.metric,
                    "on_front": on,
                }
            )


def _by_group(rows: Iterable[AggregateRow]) -> dict[tuple[str, str], list[AggregateRow]]:
    out: dict[tuple[str, str], list[AggregateRow]] = {}
    for row in rows:
        out.setdefault((str(row.key["model"]), str(row.key["dataset"])), []).append(row)
    return out


def _by_group_comparisons(rows: Iterable[Comparison]) -> dict[tuple[str, str], list[Comparison]]:
    out: dict[tuple[str, str], list[Comparison]] = {}
    for row in rows:
        out.setdefault((row.model, row.dataset), []).append(row)
    return out


# --------------------------------------------------------------------------------------------------- writing


@dataclass
class ReportFiles:
    """Paths of what :func:`write_report` wrote."""

    out_dir: Path
    markdown: Path
    html: Path | None
    tables: list[Path]
    pngs: list[Path]


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "-"
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.3e}"
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table (``|`` in cells escaped); floats with 2 decimals, NaN as ``-``."""

    def cell(value: Any) -> str:
        return (value if isinstance(value, str) else _fmt(value)).replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _strategy_name(strategy: str) -> str:
    return {
        FULL_BUDGET: "full budget",
        ORACLE: "oracle (best test, hindsight)",
        BEST_VAL: "best val epoch (hindsight)",
    }.get(strategy, strategy)


def _summary_table(rows: Sequence[AggregateRow]) -> str:
    order = {"budget": 0, "rule": 1, "hindsight": 2}
    body = []
    for r in sorted(rows, key=lambda r: (order.get(r.kind, 9), r.strategy)):
        body.append(
            [
                _strategy_name(r.strategy),
                str(r.n_runs),
                f"{100 * r.stop_rate:.0f} %" if math.isfinite(r.stop_rate) else "-",
                r.emissions_saved_pct.text(),
                r.metric_change_pct.text(2),
                r.val_metric_change_pct.text(2),
                r.epochs_saved.text(1),
            ]
        )
    header = [
        "strategy",
        "runs",
        "rule fired",
        "emissions saved %",
        "test metric change %",
        "val metric change %",
        "epochs saved",
    ]
    return markdown_table(header, body)


def write_report(
    analysis: Analysis,
    out_dir: Path,
    *,
    png: bool = True,
    html: bool = True,
    max_curves: int = 12,
) -> ReportFiles:
    """Write the report folder (see the module docstring); returns the paths written."""
    import pandas as pd

    from greenft.analysis.reader import epochs_frame, runs_frame

    out_dir.mkdir(parents=True, exist_ok=True)
    tables: list[Path] = []

    def table(name: str, rows: Sequence[dict[str, Any]] | pd.DataFrame) -> Path:
        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
        path = out_dir / name
        frame.to_csv(path, index=False)
        tables.append(path)
        return path

    table("runs.csv", runs_frame(analysis.records))
    table("epochs.csv", epochs_frame(analysis.records))
    table("tradeoff_runs.csv", [c.as_dict() for c in analysis.comparisons])
    table("tradeoff_summary.csv", [r.as_flat_dict() for r in analysis.summary])
    table("tradeoff_overall.csv", [r.as_flat_dict() for r in analysis.overall])
    table("grid_summary.csv", [r.as_flat_dict() for r in analysis.grid_summary])
    table("pareto_relative.csv", analysis.pareto_relative)
    table("pareto_absolute.csv", analysis.pareto_absolute)
    table("hypervolume.csv", analysis.hypervolumes)
    table("replay_check.csv", analysis.replay_checks)
    table("anges_stops.csv", [c.__dict__ for c in analysis.anges_checks])
    table("importance.csv", analysis.importance.rows)

    pngs: list[Path] = []
    html_path: Path | None = None
    if png or html:
        from greenft.analysis import plots

        if png:
            pngs = plots.write_pngs(analysis, out_dir, max_curves=max_curves)
        if html:
            html_path = plots.write_html(analysis, out_dir / "report.html", max_curves=max_curves)
    markdown = out_dir / "report.md"
    markdown.write_text(render_markdown(analysis, pngs, html_path))
    return ReportFiles(out_dir, markdown, html_path, tables, pngs)


def render_markdown(analysis: Analysis, pngs: Sequence[Path] = (), html: Path | None = None) -> str:
    """The whole report as one Markdown page."""
    a = analysis
    out: list[str] = ["# greenft trade-off report", ""]
    out.append(f"Source: `{a.source}`. Runs read: {len(a.records)}; complete curves analysed: {len(a.curves)}.")
    if html is not None:
        out.append(f"Interactive version: [{html.name}]({html.name}).")
    out += ["", _DEFINITIONS, ""]

    out += ["## Trade-off per model and dataset", ""]
    out.append(
        "Mean ± sample standard deviation over the runs (seeds, and training hyperparameters when the source is "
        "a training sweep). 'rule fired': share of runs where the rule stopped before the budget."
    )
    for (model, dataset), rows in _by_group(a.summary).items():
        n = max(r.n_runs for r in rows)
        out += ["", f"### {model} on {dataset} ({n} runs, metric {_metric_of(a, model, dataset)})", ""]
        out.append(_summary_table(rows))
    if len(a.groups) > 1:
        out += ["", "### All datasets, by metric"]
        for metric in sorted({str(r.key["metric"]) for r in a.overall}):
            out += ["", f"Metric {metric}:", "", _summary_table([r for r in a.overall if r.key["metric"] == metric])]

    out += ["", "## Per run", ""]
    out.append(_per_run_table(a))

    out += ["", "## Replay reproduces the logged stops", ""]
    checks = a.replay_checks
    matched = sum(1 for c in checks if c["match"])
    out.append(
        f"Each rule a run logged a stop for was replayed on that run's logged curve with the rule classes of "
        f"`greenft.stopping`: **{matched} of {len(checks)}** logged stop epochs reproduced exactly."
    )
    mismatches = [c for c in checks if not c["match"]]
    if mismatches:
        out += ["", markdown_table(list(mismatches[0]), [list(c.values()) for c in mismatches])]

    out += ["", "## AN-GES with alpha 0.9, beta 0.2 stops at the first non-improving epoch", "", _K_TEXT, ""]
    out.append(_k_table(a))
    out += ["", _anges_stop_table(a)]

    out += ["", "## Pareto fronts", "", _PARETO_TEXT, ""]
    for (model, dataset), points in _group_dicts(a.pareto_relative).items():
        front = sorted((r for r in points if r["on_front"]), key=lambda r: r["emissions_saved_pct"])
        out += [f"### {model} on {dataset}: non-dominated configs (mean over runs)", ""]
        out.append(
            markdown_table(
                ["strategy", "emissions saved %", "test metric change %", "epochs saved"],
                [[r["strategy"], r["emissions_saved_pct"], r["metric_change_pct"], r["epochs_saved"]] for r in front],
            )
        )
        hv = [h for h in a.hypervolumes if (h["model"], h["dataset"]) == (model, dataset)]
        if hv:
            ref = hv[0]
            out += [
                "",
                f"Hypervolume (reference: {ref['reference_saved_pct']:.0f} % saved, "
                f"{ref['reference_metric_change_pct']:.2f} % metric change; larger is better): "
                + ", ".join(f"{h['family']} {h['hypervolume']:.1f} ({h['configs']} configs)" for h in hv)
                + ".",
                "",
            ]

    out += ["## Hyperparameter importance (training sweeps)", "", _IMPORTANCE_TEXT, ""]
    if a.importance.rows:
        out.append(
            markdown_table(
                ["model", "dataset", "target", "parameter", "runs", "Spearman", "fANOVA importance"],
                [
                    [r["model"], r["dataset"], r["target"], r["parameter"], r["n_runs"], r["spearman"], r["importance"]]
                    for r in a.importance.rows
                ],
            )
        )
    if a.importance.notes:
        out.append("")
        out += [f"- {note}" for note in a.importance.notes]

    if a.skipped:
        out += ["", "## Runs not used for trade-offs", ""]
        out += [f"- `{run_id}`: {why}" for run_id, why in a.skipped]

    if pngs:
        out += ["", "## Figures", ""]
        out += [f"![{p.stem}]({p.name})" for p in pngs]
    out.append("")
    return "\n".join(out)


def _metric_of(a: Analysis, model: str, dataset: str) -> str:
    for c in a.curves:
        if (c.model, c.dataset) == (model, dataset):
            return c.metric
    return "?"


def _group_dicts(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault((str(row["model"]), str(row["dataset"])), []).append(row)
    return out


def _per_run_table(a: Analysis) -> str:
    labels = [rule_label(r) for r in a.rules]
    header = ["run", "model", "dataset", "seed", "epochs", *(f"{label} stop" for label in labels), "oracle", "best val"]
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
            mark = "" if row.kind != "rule" or row.triggered else " (never)"
            return f"{row.stop_epoch}{mark}"

        body.append(
            [
                curve.run_id,
                curve.model,
                curve.dataset,
                "-" if curve.seed is None else str(curve.seed),
                str(curve.n_epochs),
                *(stop(label) for label in labels),
                stop(ORACLE),
                stop(BEST_VAL),
            ]
        )
    return markdown_table(header, body)


def _k_table(a: Analysis) -> str:
    rows = []
    for rule in [*a.rules, *a.grid]:
        if isinstance(rule, AnGesConfig):
            try:
                k: float = effective_threshold_fraction(rule.alpha, rule.beta)
            except ValueError:
                k = math.nan
            rows.append([rule_label(rule), rule.alpha, rule.beta, rule.warmup, f"{k:.4f}" if math.isfinite(k) else "-"])
    return markdown_table(["config", "alpha", "beta", "W", "k = beta(1-alpha)/(1-alpha*beta)"], rows)


def _anges_stop_table(a: Analysis) -> str:
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
        "at first non-improving epoch",
        "share of stops",
        "at an improving epoch",
        "at a later non-improving epoch",
        "non-finite metric",
        "never stopped",
    ]
    return markdown_table(header, rows)


_DEFINITIONS = """\
Definitions (every number is relative to the same run's full budget, its last epoch):

- **emissions saved %** = 100 · (E_full − E_stop) / E_full, with E the cumulative training emissions
  (`emissions/cumulative_kg`: train + validation, what the rule sees; test-set evaluation excluded).
- **metric change %** = 100 · (m_stop − m_full) / |m_full| for ROC-AUC, 100 · (m_full − m_stop) / |m_full| for
  RMSE/MAE: **positive = better** than the full budget. "test" uses the test metric at the stop epoch (the
  weights a run stopped there would deploy), "val" the validation metric.
- **epochs saved** = N_full − stop epoch.
- **oracle**: the epoch with the best test metric in hindsight (ties: earliest), the limit no rule can beat.
  **best val epoch**: the epoch with the best validation metric in hindsight, the checkpoint a user keeping the
  best-validation weights deploys (that user still pays the full budget; the emissions shown are those of
  stopping right there).
- Rules are replayed on the logged curves with `greenft.stopping.build_rule`, i.e. the live rules' own code."""

_K_TEXT = """\
AN-GES updates the EMA with the current AER before comparing, so "stop if AER_i < beta · EMA_i" is the same as
"stop if AER_i < k · EMA_{i−1}" with k = beta(1 − alpha)/(1 − alpha · beta) (`effective_threshold_fraction`).
With the defaults k ≈ 0.0244: once the EMA is positive, any epoch that does not improve the validation metric
(AER ≤ 0) stops the run. The second table counts where the replayed AN-GES stops fell: at the first epoch after
warm-up (i ≥ max(W, 2)) whose validation metric did not improve on the previous epoch, or elsewhere."""

_PARETO_TEXT = """\
Relative front: each strategy's mean emissions saved % against its mean test-metric change % over the runs of
a dataset (both higher is better), over the headline rules and a grid of AN-GES (alpha, beta, W) and patience
configs; hindsight strategies (oracle, best val) are shown for reference but are not candidates. A config is
on the front when no other is at least as good on both axes and better on one (ties are all kept; NaN never
counts). `pareto_absolute.csv` has the per-run front in kg CO2-eq vs test metric."""

_IMPORTANCE_TEXT = """\
For runs that differ in training hyperparameters (a training sweep): Spearman rank correlation of each
varying parameter with the best validation metric (sign-corrected so that higher is better for RMSE too) and
with the training emissions, and fANOVA importance (share of variance explained, Optuna's evaluator).
Groups with fewer than 5 runs or no varying parameter are skipped. With few runs these numbers are indicative
only."""

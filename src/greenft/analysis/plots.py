"""Figures of the trade-off report: static PNGs (matplotlib, Agg) and one interactive HTML page (plotly).

Per (model, dataset):

* ``pareto_relative_*``: every strategy's mean emissions saved % vs mean test-metric change % (error bars: one
  standard deviation over runs), the non-dominated configs joined by a line; left panel: the deployed
  (best-so-far) checkpoint vs best-val (hindsight), right panel: the stop epoch's weights vs the last epoch;
* ``pareto_absolute_*``: every (run, strategy) in kg CO2-eq vs test metric, with the front;
* ``curves_*``: per run, validation and test metric per epoch, cumulative emissions on a second axis, and a
  vertical mark where each rule stopped (and the best-test (limit) / best-val (hindsight) epochs);
* ``aer_ema_*``: per run, the replayed AN-GES AER, EMA and threshold beta*EMA per epoch, with its stop.

The HTML page (:func:`write_html`) is the report's blocks rendered by :mod:`greenft.analysis.html_page` (every
table of ``report.md``), with the interactive Pareto figures (:mod:`greenft.analysis.pareto_plotly`: labelled
points, runs as points rather than error bars), the stopping-rule grid's views and importance bars
(:mod:`greenft.analysis.grid_plotly`) and the per-epoch curves and AN-GES traces drawn here. It embeds plotly.js
once (no CDN: the machines this runs on may have no internet).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display on servers and CI

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from greenft.analysis.compute import Analysis
from greenft.analysis.fronts import FAMILIES, AbsolutePoint, RelativePoint
from greenft.analysis.importance import ImportanceRow
from greenft.analysis.records import Curve
from greenft.analysis.replay import ReplayResult, finite_or_nan
from greenft.analysis.rule_grid import RuleImportance
from greenft.analysis.tradeoff import BEST_TEST, BEST_VAL, FULL_BUDGET, hindsight_epoch
from greenft.schema import METRIC_DIRECTIONS
from greenft.stopping import AnGesConfig, MetricDirection, rule_label

__all__ = ["write_html", "write_pngs"]

_COLORS = ["tab:red", "tab:blue", "tab:orange", "tab:cyan", "tab:brown", "tab:pink", "tab:olive"]
_HINDSIGHT_STYLE = {BEST_TEST: ("tab:green", ":"), BEST_VAL: ("tab:purple", "-.")}
_FAMILY_MARKER = {"anges": "o", "patience": "s", "full_budget": "X", "hindsight": "*"}


def _slug(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", "_".join(parts)).strip("-")


def _metric_axis(curve: Curve) -> str:
    better = "higher" if curve.direction is MetricDirection.MAXIMIZE else "lower"
    return f"{curve.metric} ({better} is better)"


def _rule_colors(analysis: Analysis) -> dict[str, str]:
    return {rule_label(r): _COLORS[i % len(_COLORS)] for i, r in enumerate(analysis.rules)}


def _stops(analysis: Analysis, curve: Curve) -> list[tuple[str, int, str, str, bool]]:
    """``(label, epoch, color, linestyle, fired)`` for each headline rule and the hindsight epochs; ``fired``: the
    rule stopped before the budget's last epoch (a stop at the last epoch saves nothing and is drawn faint)."""
    colors = _rule_colors(analysis)
    out = []
    for label, result in analysis.replays.get(curve.run_id, {}).items():
        fired = result.triggered and result.stop_epoch < curve.n_epochs
        out.append((label, result.stop_epoch, colors.get(label, "black"), "--", fired))
    for name, values in ((BEST_TEST, curve.test), (BEST_VAL, curve.val)):
        epoch = hindsight_epoch(values, curve.direction)
        if epoch is not None:
            color, style = _HINDSIGHT_STYLE[name]
            out.append((name, epoch, color, style, True))
    return out


def _grid(n: int, width: float = 4.6, height: float = 3.3) -> tuple[Figure, list[Axes]]:
    cols = min(3, max(1, n))
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows + 0.9), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _curves_png(analysis: Analysis, curves: Sequence[Curve], path: Path, title: str) -> Path:
    fig, axes = _grid(len(curves))
    handles: dict[str, Any] = {}
    for ax, curve in zip(axes, curves, strict=True):
        epochs = list(curve.epochs)
        (val_line,) = ax.plot(epochs, curve.val, "-o", color="black", ms=3, label=f"val {curve.metric}")
        (test_line,) = ax.plot(epochs, curve.test, "-", color="gray", lw=1.2, label=f"test {curve.metric}")
        handles.setdefault("val", val_line)
        handles.setdefault("test", test_line)
        ax.set_xlabel("epoch")
        ax.set_ylabel(_metric_axis(curve))
        twin = ax.twinx()
        (em_line,) = twin.plot(epochs, curve.emissions_kg, ":", color="tab:olive", lw=1.2)
        twin.set_ylabel("cumulative kg CO2-eq", color="tab:olive", fontsize=8)
        twin.tick_params(axis="y", labelsize=7, colors="tab:olive")
        handles.setdefault("emissions", em_line)
        stops = _stops(analysis, curve)
        for offset, (label, epoch, color, style, fired) in enumerate(stops):
            shift = (offset - (len(stops) - 1) / 2) * 0.06  # coinciding stops stay visible side by side
            line = ax.axvline(epoch + shift, color=color, ls=style, lw=1.6, alpha=0.9 if fired else 0.35)
            on_test = label == BEST_TEST  # a test-metric optimum: mark it on the test curve
            y = curve.test[epoch - 1] if on_test else curve.val[epoch - 1]
            ax.plot([epoch], [y], marker="v", color=color, ms=7, zorder=5)
            hindsight = label in (BEST_TEST, BEST_VAL)
            handles.setdefault(label if fired or hindsight else f"{label} (no early stop: budget)", line)
        seed = "" if curve.seed is None else f" seed {curve.seed}"
        ax.set_title(f"{curve.run_id}{seed}", fontsize=9)
        ax.grid(alpha=0.3)
    labels = {
        "val": "validation metric (what rules see)",
        "test": "test metric",
        "emissions": "cumulative emissions (right axis)",
        BEST_TEST: f"{BEST_TEST}: best test epoch",
        BEST_VAL: f"{BEST_VAL}: best validation epoch",
    }
    fig.legend(
        list(handles.values()),
        [labels.get(k, f"stop: {k}") for k in handles],
        loc="lower center",
        ncol=min(4, len(handles)),
        fontsize=8,
        frameon=False,
    )
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.1, 1, 0.96))
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _anges_replays(analysis: Analysis, curve: Curve) -> list[tuple[AnGesConfig, ReplayResult]]:
    per_run = analysis.replays.get(curve.run_id, {})
    return [
        (r, per_run[rule_label(r)]) for r in analysis.rules if isinstance(r, AnGesConfig) and rule_label(r) in per_run
    ]


def _aer_png(analysis: Analysis, curves: Sequence[Curve], path: Path, title: str) -> Path | None:
    if not any(_anges_replays(analysis, c) for c in curves):
        return None
    fig, axes = _grid(len(curves))
    for ax, curve in zip(axes, curves, strict=True):
        for config, result in _anges_replays(analysis, curve)[:2]:
            epochs = [d.epoch for d in result.decisions]
            aer = [finite_or_nan(d.aer) for d in result.decisions]
            ema = [finite_or_nan(d.ema) for d in result.decisions]
            thr = [finite_or_nan(d.threshold) for d in result.decisions]
            tag = "" if config == AnGesConfig() else f" [{result.label}]"
            ax.plot(epochs, aer, "-o", ms=3, color="tab:red", label=f"AER{tag}")
            ax.plot(epochs, ema, "-s", ms=3, color="tab:blue", label=f"EMA{tag}")
            ax.plot(epochs, thr, "--^", ms=3, color="tab:cyan", label=f"threshold beta*EMA{tag}")
            if result.triggered:
                ax.axvline(result.stop_epoch, color="tab:red", ls="--", lw=1.4, label=f"AN-GES stop{tag}")
        ax.axhline(0.0, color="black", lw=0.6)
        ax.set_yscale("symlog", linthresh=1e-2)
        ax.set_xlabel("epoch")
        ax.set_ylabel("AER = %dPerf / %dEmis (symlog)")
        seed = "" if curve.seed is None else f" seed {curve.seed}"
        ax.set_title(f"{curve.run_id}{seed}", fontsize=9)
        ax.set_xlim(0.5, curve.n_epochs + 0.5)
        ax.grid(alpha=0.3)
    by_label: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            by_label.setdefault(label, handle)
    fig.legend(list(by_label.values()), list(by_label), loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.08, 1, 0.96))
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _pareto_relative_png(rows: list[RelativePoint], path: Path, title: str) -> Path:
    """Two panels, one per way of judging quality: the deployed (best-so-far) checkpoint vs best-val
    (hindsight), the headline, and the stop epoch's weights vs the last epoch."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(15.0, 5.6))
    _pareto_panel(
        left,
        rows,
        lambda r: (r.test_vs_best_val_pct, r.test_vs_best_val_pct_std, r.on_deployed_front),
        f"test change vs {BEST_VAL} (%), best-so-far deployed  (+ = better)",
    )
    _pareto_panel(
        right,
        rows,
        lambda r: (r.metric_change_pct, r.metric_change_pct_std, r.on_front),
        "test change vs last epoch (%), stop-epoch weights  (+ = better)",
    )
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _pareto_panel(
    ax: Axes, rows: list[RelativePoint], y_of: Callable[[RelativePoint], tuple[float, float, bool]], ylabel: str
) -> None:
    """One relative front: ``y_of`` gives a point's (mean change, its std, on this front)."""
    for family in FAMILIES:
        members = [r for r in rows if r.family == family]
        if not members:
            continue
        xs = [r.emissions_saved_pct for r in members]
        ys = [y_of(r)[0] for r in members]
        xerr = [_nz(r.emissions_saved_pct_std) for r in members]
        yerr = [_nz(y_of(r)[1]) for r in members]
        name = {"anges": "AN-GES configs", "patience": "patience configs", "full_budget": "full budget"}.get(
            family, "hindsight (best-test (limit), best-val (hindsight), hindsight-1%)"
        )
        ax.errorbar(
            xs,
            ys,
            xerr=xerr,
            yerr=yerr,
            fmt=_FAMILY_MARKER.get(family, "o"),
            ms=8 if family != "hindsight" else 13,
            alpha=0.8,
            capsize=2,
            elinewidth=0.6,
            label=name,
        )
    front = sorted((r for r in rows if y_of(r)[2]), key=lambda r: r.emissions_saved_pct)
    if front:
        ax.plot(
            [r.emissions_saved_pct for r in front],
            [y_of(r)[0] for r in front],
            "-",
            color="black",
            lw=1.2,
            label="Pareto front (non-dominated)",
        )
    # Configs that land on the same point (common: AN-GES variants that all stop at the first flat epoch) get
    # one label, "name (+n identical)", instead of a pile of overprinted text.
    at_point: dict[tuple[float, float], list[RelativePoint]] = {}
    for r in rows:
        at_point.setdefault((round(r.emissions_saved_pct, 9), round(y_of(r)[0], 9)), []).append(r)
    for (x, y), members in at_point.items():
        shown = [r for r in members if r.headline] or [r for r in members if y_of(r)[2]]
        if not shown:
            continue
        extra = len(members) - 1
        text = shown[0].strategy + (f" (+{extra} identical)" if extra else "")
        ax.annotate(text, (x, y), textcoords="offset points", xytext=(5, 5), fontsize=7)
    ax.axhline(0.0, color="gray", lw=0.6)
    ax.set_xlabel("emissions saved vs full budget (%)  → better")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")


def _pareto_absolute_png(rows: list[AbsolutePoint], path: Path, title: str) -> Path:
    fig, ax = plt.subplots(figsize=(8.2, 5.6))
    strategies = list(dict.fromkeys(r.strategy for r in rows))
    for i, strategy in enumerate(strategies):
        members = [r for r in rows if r.strategy == strategy]
        color = "black" if strategy == FULL_BUDGET else _COLORS[i % len(_COLORS)]
        ax.scatter(
            [r.emissions_kg for r in members],
            [r.test_metric for r in members],
            label=strategy,
            color=color,
            marker="X" if strategy == FULL_BUDGET else "o",
            alpha=0.75,
        )
    front = sorted((r for r in rows if r.on_front), key=lambda r: r.emissions_kg)
    if front:
        ax.plot(
            [r.emissions_kg for r in front],
            [r.test_metric for r in front],
            "-",
            color="black",
            lw=1.0,
            label="Pareto front",
        )
    metric = rows[0].metric if rows else "metric"
    better = "higher" if METRIC_DIRECTIONS.get(metric) is MetricDirection.MAXIMIZE else "lower"
    ax.set_xlabel("training emissions at the stop (kg CO2-eq)  ← better")
    ax.set_ylabel(f"test {metric} at the stop ({better} is better)")
    ax.set_title(title)
    ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 3))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _importance_png(rows: list[ImportanceRow], path: Path) -> Path | None:
    if not rows:
        return None
    groups = list(dict.fromkeys((r.model, r.dataset, r.target) for r in rows))
    fig, axes = _grid(len(groups), width=5.0, height=3.0)
    for ax, (model, dataset, target) in zip(axes, groups, strict=True):
        members = [r for r in rows if (r.model, r.dataset, r.target) == (model, dataset, target)]
        names = [r.parameter for r in members]
        ax.barh(names, [r.spearman for r in members], color="tab:blue", alpha=0.7, label="Spearman rho")
        ax.barh(
            names,
            [finite_or_nan(r.importance) for r in members],
            color="tab:orange",
            alpha=0.5,
            height=0.4,
            label="fANOVA importance",
        )
        ax.axvline(0, color="black", lw=0.6)
        ax.set_xlim(-1.05, 1.05)
        ax.set_xlabel("Spearman rho / importance share")
        ax.set_ylabel("training hyperparameter")
        ax.set_title(f"{model} on {dataset}: {target}", fontsize=9)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _group_curves(analysis: Analysis, max_curves: int) -> dict[tuple[str, str], list[Curve]]:
    out: dict[tuple[str, str], list[Curve]] = {}
    for curve in analysis.curves:
        members = out.setdefault((curve.model, curve.dataset), [])
        if len(members) < max_curves:
            members.append(curve)
    return out


def write_pngs(analysis: Analysis, out_dir: Path, *, max_curves: int = 12) -> list[Path]:
    """All static figures; per-epoch figures show the first ``max_curves`` runs of each (model, dataset)."""
    written: list[Path] = []
    for (model, dataset), curves in sorted(_group_curves(analysis, max_curves).items()):
        where = f"{model} on {dataset}"
        rel = [r for r in analysis.pareto_relative if (r.model, r.dataset) == (model, dataset)]
        if rel:
            written.append(
                _pareto_relative_png(
                    rel, out_dir / f"pareto_relative_{_slug(model, dataset)}.png", f"{where}: CO2 saved vs metric"
                )
            )
        absolute = [r for r in analysis.pareto_absolute if (r.model, r.dataset) == (model, dataset)]
        if absolute:
            written.append(
                _pareto_absolute_png(
                    absolute, out_dir / f"pareto_absolute_{_slug(model, dataset)}.png", f"{where}: every run x rule"
                )
            )
        written.append(
            _curves_png(
                analysis,
                curves,
                out_dir / f"curves_{_slug(model, dataset)}.png",
                f"{where}: per-epoch metric and emissions, with each rule's stop",
            )
        )
        aer = _aer_png(analysis, curves, out_dir / f"aer_ema_{_slug(model, dataset)}.png", f"{where}: AN-GES traces")
        if aer is not None:
            written.append(aer)
    imp = _importance_png(analysis.importance.entries, out_dir / "importance.png")
    if imp is not None:
        written.append(imp)
    from greenft.analysis.training_plots import write_training_pngs

    written += write_training_pngs(analysis.training, analysis.curves, out_dir)  # runs differing in training params
    return written


# ------------------------------------------------------------------------------------------------------ HTML


def _plotly_figures(analysis: Analysis, max_curves: int) -> list[tuple[str, str, Any]]:
    """``(slot, heading, figure)``: the Pareto and grid figures go to their sections' slots
    (:func:`greenft.analysis.markdown.report_blocks`), the per-epoch ones to the page's last section (slot "")."""
    import plotly.graph_objects as go  # type: ignore[import-untyped]
    from plotly.subplots import make_subplots  # type: ignore[import-untyped]

    from greenft.analysis.grid_plotly import grid_figures, importance_figure
    from greenft.analysis.pareto_plotly import pareto_figures

    figures: list[tuple[str, str, Any]] = []
    for model, dataset in analysis.groups:
        figures += [(f"pareto:{model}:{dataset}", h, f) for h, f in pareto_figures(analysis, model, dataset)]
        figures += [(f"grid:{model}:{dataset}", h, f) for h, f in grid_figures(analysis.rule_grid, model, dataset)]
    importances: tuple[tuple[str, Sequence[RuleImportance] | Sequence[ImportanceRow], str], ...] = (
        ("rule_importance", analysis.rule_grid.importance, "Stopping-rule parameters: importance for each outcome"),
        ("importance", analysis.importance.entries, "Training hyperparameters: importance for each target"),
    )
    for slot, entries, title in importances:
        bars = importance_figure(title, entries)
        if bars is not None:
            figures.append((slot, title, bars))
    colors = _rule_colors(analysis)
    for (model, dataset), curves in sorted(_group_curves(analysis, max_curves).items()):
        where = f"{model} on {dataset}"
        cols = min(3, len(curves))
        rows = math.ceil(len(curves) / cols)
        fig = make_subplots(
            rows=rows,
            cols=cols,
            subplot_titles=[c.run_id + ("" if c.seed is None else f" seed {c.seed}") for c in curves],
            specs=[[{"secondary_y": True}] * cols for _ in range(rows)],
        )
        shown: set[str] = set()
        for index, curve in enumerate(curves):
            r, c = index // cols + 1, index % cols + 1
            epochs = list(curve.epochs)
            for name, values, color in (("val", curve.val, "black"), ("test", curve.test, "gray")):
                fig.add_trace(
                    go.Scatter(
                        x=epochs,
                        y=list(values),
                        mode="lines+markers",
                        name=f"{name} {curve.metric}",
                        line={"color": color},
                        legendgroup=name,
                        showlegend=name not in shown,
                    ),
                    row=r,
                    col=c,
                )
                shown.add(name)
            fig.add_trace(
                go.Scatter(
                    x=epochs,
                    y=list(curve.emissions_kg),
                    mode="lines",
                    name="cumulative kg CO2-eq",
                    line={"color": "olive", "dash": "dot"},
                    legendgroup="em",
                    showlegend="em" not in shown,
                ),
                row=r,
                col=c,
                secondary_y=True,
            )
            shown.add("em")
            for label, epoch, color, _style, fired in _stops(analysis, curve):
                plotly_color = colors.get(label, color).removeprefix("tab:")
                fig.add_trace(
                    go.Scatter(
                        x=[epoch],
                        y=[curve.val[epoch - 1]],
                        mode="markers",
                        marker={"symbol": "triangle-down", "size": 12, "color": plotly_color},
                        name=f"stop: {label}",
                        legendgroup=label,
                        showlegend=label not in shown,
                        hovertext=f"{label}: epoch {epoch}" + ("" if fired else " (no early stop: budget)"),
                    ),
                    row=r,
                    col=c,
                )
                shown.add(label)
            fig.update_xaxes(title_text="epoch", row=r, col=c)
            fig.update_yaxes(title_text=curve.metric, row=r, col=c, secondary_y=False)
        fig.update_layout(title=f"{where}: per-epoch curves and stops", height=330 * rows + 120)
        figures.append(("", f"Curves: {where}", fig))
        traces = [(curve, _anges_replays(analysis, curve)) for curve in curves]
        if any(t for _, t in traces):
            fig = make_subplots(rows=rows, cols=cols, subplot_titles=[c.run_id for c in curves])
            shown = set()
            for index, (_curve, pairs) in enumerate(traces):
                r, c = index // cols + 1, index % cols + 1
                for _config, result in pairs[:1]:
                    epochs = [d.epoch for d in result.decisions]
                    for name, trace, color in (
                        ("AER", [finite_or_nan(d.aer) for d in result.decisions], "red"),
                        ("EMA", [finite_or_nan(d.ema) for d in result.decisions], "blue"),
                        ("beta*EMA", [finite_or_nan(d.threshold) for d in result.decisions], "lightblue"),
                    ):
                        fig.add_trace(
                            go.Scatter(
                                x=epochs,
                                y=trace,
                                mode="lines+markers",
                                name=f"{name} ({result.label})",
                                line={"color": color},
                                legendgroup=name,
                                showlegend=name not in shown,
                            ),
                            row=r,
                            col=c,
                        )
                        shown.add(name)
                    if result.triggered:
                        fig.add_vline(x=result.stop_epoch, line_dash="dash", line_color="red", row=r, col=c)
                fig.update_xaxes(title_text="epoch", row=r, col=c)
                fig.update_yaxes(title_text="AER", row=r, col=c)
            fig.update_layout(title=f"{where}: AN-GES AER / EMA / threshold (dashed: stop)", height=330 * rows + 120)
            figures.append(("", f"AN-GES traces: {where}", fig))
    return figures


def _nz(value: float) -> float:
    return value if math.isfinite(value) else 0.0


def write_html(analysis: Analysis, path: Path, *, max_curves: int = 12, pngs: Sequence[Path] = ()) -> Path:
    """One self-contained HTML page: every table and paragraph of ``report.md`` (the same blocks,
    :func:`greenft.analysis.markdown.report_blocks`), tables sortable, plotly.js inlined once, each interactive
    figure in its section (``pngs``: the static figures beside it, linked at the end)."""
    from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

    from greenft.analysis.html_page import render_html
    from greenft.analysis.markdown import report_blocks

    figures: dict[str, list[tuple[str, str]]] = {}
    for slot, heading, fig in _plotly_figures(analysis, max_curves):
        figures.setdefault(slot, []).append((heading, fig.to_html(full_html=False, include_plotlyjs=False)))
    intro = (
        "The same tables and text as [report.md](report.md), with interactive figures; click a table's header to "
        "sort it (numbers as numbers), hover a point for its numbers."
    )
    page = render_html(report_blocks(analysis, pngs), figures, plotly_js=get_plotlyjs(), intro=intro)
    path.write_text(page, encoding="utf-8")
    return path

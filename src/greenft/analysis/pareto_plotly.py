"""The interactive Pareto figures of ``report.html``: every point labelled, runs (seeds) as small points with the
spread on hover, coinciding configs merged into one labelled marker, labels placed so they do not overprint.

Why not error bars: with a handful of seeds the standard deviations span the whole plot and hide the front they
are meant to qualify. Each run's own point, drawn small and faint around the config's mean, shows the spread
without covering the means; the numbers (sd, min, max, n) are in the hover text. Why merged markers: AN-GES
configs often stop at the same epoch on every run, so a dozen configs land on one point; one marker labelled
"name (+n identical)" with all names on hover reads better than a dozen overprinted labels.

Labels are plotly annotations with a thin leader line; their placement is deterministic (:func:`place_labels`:
greedy, in order of x, the nearest offset whose estimated text box overlaps least with the labels already placed
and the markers), so the same analysis always gives the same page.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from greenft.analysis.compute import Analysis
from greenft.analysis.fronts import FAMILIES, AbsolutePoint, RelativePoint
from greenft.analysis.tradeoff import BEST_VAL, AggregateRow, Comparison, Spread
from greenft.schema import METRIC_DIRECTIONS
from greenft.stopping import MetricDirection

__all__ = [
    "CO2_SAVED_AXIS",
    "KG_AXIS",
    "OFFSETS",
    "annotation_anchor",
    "cluster_label",
    "pareto_figures",
    "place_labels",
]

CO2_SAVED_AXIS = "emissions saved vs full budget (%)"
KG_AXIS = "training emissions at the stop (kg CO2-eq)"
FAMILY_COLORS = {"anges": "#d62728", "patience": "#1f77b4", "full_budget": "#111111", "hindsight": "#9467bd"}
_OTHER_COLORS = ("#ff7f0e", "#2ca02c", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
FAMILY_SYMBOLS = {"anges": "circle", "patience": "square", "full_budget": "x", "hindsight": "star"}
#: Label offsets in pixels from the point, nearest first: the four diagonals, then further out (a leader line
#: joins a label to its point).
_DIAGONALS = ((1, -1), (1, 1), (-1, -1), (-1, 1))
OFFSETS: tuple[tuple[int, int], ...] = (
    *((sx * r, sy * r) for r in (10, 28, 48, 70) for sx, sy in _DIAGONALS),
    *((0, -60), (0, 60), (0, -90), (0, 90)),
)
CHAR_PX, LINE_PX = 6.0, 14.0  # a 10 px sans-serif label, per character and per line


def family_color(family: str, families: Sequence[str]) -> str:
    if family in FAMILY_COLORS:
        return FAMILY_COLORS[family]
    others = [f for f in families if f not in FAMILY_COLORS]
    return _OTHER_COLORS[others.index(family) % len(_OTHER_COLORS)] if family in others else "#7f7f7f"


@dataclass(frozen=True)
class _Panel:
    title: str
    y_title: str
    mean: Callable[[RelativePoint], float]
    on_front: Callable[[RelativePoint], bool]
    per_run: Callable[[Comparison], float]
    spread: Callable[[AggregateRow], Spread]


PANELS = (
    _Panel(
        f"best-so-far deployed vs {BEST_VAL} (the headline)",
        f"test change vs {BEST_VAL} (%), best-so-far deployed (+ = better)",
        lambda r: r.test_vs_best_val_pct,
        lambda r: r.on_deployed_front,
        lambda c: c.test_vs_best_val_pct,
        lambda a: a.test_vs_best_val_pct,
    ),
    _Panel(
        "stop-epoch weights vs the last epoch",
        "test change vs last epoch (%), stop-epoch weights (+ = better)",
        lambda r: r.metric_change_pct,
        lambda r: r.on_front,
        lambda c: c.metric_change_pct,
        lambda a: a.metric_change_pct,
    ),
)


def cluster_label(members: Sequence[RelativePoint], on_front: Callable[[RelativePoint], bool]) -> str:
    """The one label of configs at the same point: up to two headline rules' names (``a / b``), else a front
    member's, else the first; ``(+n identical)`` counts the others (all are named on hover)."""
    shown = [r for r in members if r.headline][:2] or [r for r in members if on_front(r)][:1] or list(members)[:1]
    extra = len(members) - len(shown)
    return " / ".join(r.strategy for r in shown) + (f" (+{extra} identical)" if extra else "")


def place_labels(
    points: Sequence[tuple[float, float, str]],
    extent: Sequence[tuple[float, float]] = (),
    size: tuple[float, float] = (520.0, 400.0),
) -> list[tuple[int, int]]:
    """A pixel offset ``(ax, ay)`` (plotly annotation: ``ay`` > 0 is down) per ``(x, y, text)`` for its label.

    Greedy, in order of x: of the offsets in :data:`OFFSETS` (nearest first), the one whose estimated text box
    (``size``: the plot area in pixels, over the range of the points and of ``extent``, other points drawn)
    overlaps least with the labels placed so far and the markers, and stays on the plot; ties keep the nearer.
    Empty texts get ``(0, 0)`` and take no room."""
    if not points:
        return []
    where = [(x, y) for x, y, _ in points] + list(extent)
    xs = [x for x, _ in where if math.isfinite(x)] or [0.0]
    ys = [y for _, y in where if math.isfinite(y)] or [0.0]
    x_span, y_span = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    width, height = size

    def pixel(x: float, y: float) -> tuple[float, float]:
        return (x - min(xs)) / x_span * width, (1 - (y - min(ys)) / y_span) * height

    boxes = [(px - 5, py - 5, px + 5, py + 5) for px, py in (pixel(x, y) for x, y in where) if math.isfinite(px + py)]
    out = [(0, 0)] * len(points)
    for index in sorted(range(len(points)), key=lambda i: (points[i][0], points[i][1])):
        x, y, text = points[index]
        if not text or not math.isfinite(x + y):
            continue
        px, py = pixel(x, y)
        text_width, text_height = CHAR_PX * len(text) + 4, LINE_PX
        best: tuple[float, tuple[int, int], tuple[float, float, float, float]] | None = None
        for ax, ay in OFFSETS:
            left = px + ax if ax > 0 else px + ax - text_width if ax < 0 else px - text_width / 2
            top = py + ay - text_height if ay < 0 else py + ay
            box = (left, top, left + text_width, top + text_height)
            off_plot = text_width * text_height - _overlap(box, (-20.0, -10.0, width + 20.0, height + 10.0))
            cost = sum(_overlap(box, other) for other in boxes) + 4 * off_plot
            if best is None or cost < best[0] - 1e-9:
                best = (cost, (ax, ay), box)
        assert best is not None
        out[index] = best[1]
        boxes.append(best[2])
    return out


def annotation_anchor(offset: tuple[int, int]) -> dict[str, str]:
    """Where an annotation's text box hangs from the end of its leader line (the box :func:`place_labels`
    estimated)."""
    ax, ay = offset
    x = "left" if ax > 0 else "right" if ax < 0 else "center"
    return {"xanchor": x, "yanchor": "bottom" if ay < 0 else "top"}


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return width * height if width > 0 and height > 0 else 0.0


def _spread_text(name: str, s: Spread | None, digits: int) -> str:
    if s is None or s.n == 0:
        return f"{name}: -"
    sd = f" ± {s.std:.{digits}f}" if math.isfinite(s.std) else ""
    return f"{name}: {s.mean:.{digits}f}{sd} [min {s.min:.{digits}f}, max {s.max:.{digits}f}], n {s.n}"


def _hover(members: Sequence[RelativePoint], rows: dict[str, AggregateRow], panel: _Panel) -> str:
    lines = []
    for r in members[:8]:
        row = rows.get(r.strategy)
        saved = _spread_text("saved %", row.emissions_saved_pct if row else None, 1)
        quality = _spread_text("quality %", panel.spread(row) if row else None, 2)
        lines.append(f"<b>{r.strategy}</b><br>{saved}<br>{quality}")
    if len(members) > 8:
        lines.append(f"... and {len(members) - 8} more at this point")
    return "<br>".join(lines)


def _families(points: Sequence[RelativePoint]) -> list[str]:
    present = list(dict.fromkeys(r.family for r in points))
    return [f for f in FAMILIES if f in present] + [f for f in present if f not in FAMILIES]


def _relative_figure(
    where: str, points: list[RelativePoint], rows: dict[str, AggregateRow], runs: list[Comparison]
) -> Any:
    import plotly.graph_objects as go  # type: ignore[import-untyped]
    from plotly.subplots import make_subplots  # type: ignore[import-untyped]

    families = _families(points)
    fig = make_subplots(rows=1, cols=2, subplot_titles=[p.title for p in PANELS], horizontal_spacing=0.09)
    family_of_strategy = {r.strategy: r.family for r in points}
    for col, panel in enumerate(PANELS, start=1):
        clusters: dict[tuple[float, float], list[RelativePoint]] = {}
        for r in points:
            if math.isfinite(r.emissions_saved_pct) and math.isfinite(panel.mean(r)):
                clusters.setdefault((round(r.emissions_saved_pct, 6), round(panel.mean(r), 6)), []).append(r)
        keys = list(clusters)
        labels = [cluster_label(clusters[k], panel.on_front) for k in keys]
        extent = [(c.emissions_saved_pct, panel.per_run(c)) for c in runs]
        featured = {r.strategy for r in points if r.headline or panel.on_front(r)}
        every = [c for c in runs if c.strategy in family_of_strategy]
        finite_x = [c.emissions_saved_pct for c in every if math.isfinite(c.emissions_saved_pct)] or [0.0]
        for shown, name in ((True, "runs (seeds): headline and front configs"), (False, "runs (seeds): other configs")):
            chosen = _runs_once([c for c in every if (c.strategy in featured) == shown], panel.per_run)
            xs = _jitter([(c.emissions_saved_pct, panel.per_run(c)) for c, _ in chosen], max(finite_x) - min(finite_x))
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=[panel.per_run(c) for c, _ in chosen],
                    mode="markers",
                    name=name,
                    legendgroup=name,
                    showlegend=col == 1,
                    visible=True if shown else "legendonly",
                    marker={
                        "size": 5,
                        "opacity": 0.45,
                        "color": [family_color(family_of_strategy[c.strategy], families) for c, _ in chosen],
                    },
                    customdata=[
                        [
                            c.strategy + (f" and {n - 1} other configs" if n > 1 else ""),
                            c.run_id,
                            "-" if c.seed is None else c.seed,
                            c.emissions_saved_pct,
                            panel.per_run(c),
                        ]
                        for c, n in chosen
                    ],
                    hovertemplate="%{customdata[0]}<br>run %{customdata[1]} (seed %{customdata[2]})<br>"
                    "saved %{customdata[3]:.1f} %<br>quality %{customdata[4]:.2f} %<extra></extra>",
                ),
                row=1,
                col=col,
            )
        front = sorted((r for r in points if panel.on_front(r)), key=lambda r: r.emissions_saved_pct)
        fig.add_trace(
            go.Scatter(
                x=[r.emissions_saved_pct for r in front],
                y=[panel.mean(r) for r in front],
                mode="lines",
                name="Pareto front (non-dominated)",
                legendgroup="front",
                showlegend=col == 1,
                line={"color": "black", "width": 1.5},
                hoverinfo="skip",
            ),
            row=1,
            col=col,
        )
        for family in families:
            mine = [k for k in keys if _cluster_family(clusters[k], panel) == family]
            if not mine:
                continue
            fig.add_trace(
                go.Scatter(
                    x=[k[0] for k in mine],
                    y=[k[1] for k in mine],
                    mode="markers",
                    name=_family_name(family),
                    legendgroup=family,
                    showlegend=col == 1,
                    marker={
                        "size": [13 if any(panel.on_front(r) for r in clusters[k]) else 9 for k in mine],
                        "symbol": FAMILY_SYMBOLS.get(family, "diamond"),
                        "color": family_color(family, families),
                        "line": {"width": 1, "color": "white"},
                    },
                    hovertext=[_hover(clusters[k], rows, panel) for k in mine],
                    hoverinfo="text",
                ),
                row=1,
                col=col,
            )
        colors = [family_color(_cluster_family(clusters[k], panel), families) for k in keys]
        items = [(k[0], k[1], t, c) for k, t, c in zip(keys, labels, colors, strict=True)]
        _annotate(fig, items, extent, (520.0, 400.0), row=1, col=col)
        fig.add_hline(y=0.0, line={"color": "gray", "width": 0.6}, row=1, col=col)
        fig.update_xaxes(title_text=CO2_SAVED_AXIS + "  → better", row=1, col=col)
        fig.update_yaxes(title_text=panel.y_title, row=1, col=col)
    fig.update_layout(
        title=f"{where}: emissions saved vs test-metric change (labelled: config means over the runs; small points:"
        " each run)",
        height=620,
        legend={"orientation": "h", "y": -0.18},
        margin={"t": 90},
    )
    return fig


def _annotate(
    fig: Any,
    items: Sequence[tuple[float, float, str, str]],
    extent: Sequence[tuple[float, float]],
    size: tuple[float, float],
    **where: int,
) -> None:
    """One annotation per ``(x, y, label, colour)``, at the offset :func:`place_labels` picks, with a leader line."""
    offsets = place_labels([(x, y, text) for x, y, text, _ in items], extent, size)
    axes: dict[str, Any] = dict(where) if where else {"xref": "x", "yref": "y"}
    for (x, y, text, color), offset in zip(items, offsets, strict=True):
        fig.add_annotation(
            x=x,
            y=y,
            text=text,
            ax=offset[0],
            ay=offset[1],
            showarrow=True,
            arrowhead=0,
            arrowwidth=0.7,
            arrowcolor=color,
            font={"size": 10, "color": color},
            bgcolor="rgba(255,255,255,0.6)",
            **annotation_anchor(offset),
            **axes,
        )


def _cluster_family(members: Sequence[RelativePoint], panel: _Panel) -> str:
    label = cluster_label(members, panel.on_front)
    return next(r.family for r in members if label.startswith(r.strategy))


def _family_name(family: str) -> str:
    return {
        "anges": "AN-GES configs",
        "patience": "patience configs",
        "full_budget": "full budget",
        "hindsight": "hindsight references (not achievable)",
    }.get(family, f"{family} configs")


def _runs_once(runs: Sequence[Comparison], y_of: Callable[[Comparison], float]) -> list[tuple[Comparison, int]]:
    """Each run's point once per distinct position (configs that stop a run at the same epoch give the same
    point), with how many configs share it."""
    seen: dict[tuple[str, float, float], list[Comparison]] = {}
    for c in runs:
        seen.setdefault((c.run_id, round(c.emissions_saved_pct, 6), round(y_of(c), 6)), []).append(c)
    return [(members[0], len(members)) for members in seen.values()]


def _jitter(points: Sequence[tuple[float, float]], x_span: float) -> list[float]:
    """x of each point, runs at the very same position spread evenly over 2 % of the x span, deterministically
    (hover shows the true values)."""
    groups: dict[tuple[float, float], list[int]] = {}
    for i, (x, y) in enumerate(points):
        groups.setdefault((round(x, 6), round(y, 6)), []).append(i)
    xs = [x for x, _ in points]
    width = 0.02 * (x_span or 1.0)
    for members in groups.values():
        if len(members) > 1:
            for k, i in enumerate(members):
                xs[i] += (k / (len(members) - 1) - 0.5) * width
    return xs


def _absolute_figure(where: str, points: list[AbsolutePoint]) -> Any:
    import plotly.graph_objects as go

    metric = points[0].metric
    better = "higher" if METRIC_DIRECTIONS.get(metric) is MetricDirection.MAXIMIZE else "lower"
    fig = go.Figure()
    strategies = list(dict.fromkeys(p.strategy for p in points))
    for i, strategy in enumerate(strategies):
        mine = [p for p in points if p.strategy == strategy]
        color = "#111111" if strategy == "full_budget" else _OTHER_COLORS[i % len(_OTHER_COLORS)]
        fig.add_trace(
            go.Scatter(
                x=[p.emissions_kg for p in mine],
                y=[p.test_metric for p in mine],
                mode="markers",
                name=strategy,
                marker={
                    "size": 8,
                    "opacity": 0.75,
                    "color": color,
                    "symbol": "x" if strategy == "full_budget" else "circle",
                },
                customdata=[[p.run_id, "-" if p.seed is None else p.seed, p.stop_epoch] for p in mine],
                hovertemplate=f"{strategy}<br>run %{{customdata[0]}} (seed %{{customdata[1]}}), stop epoch "
                f"%{{customdata[2]}}<br>%{{x:.3e}} kg CO2-eq<br>test {metric} %{{y:.4f}}<extra></extra>",
            )
        )
    front = sorted((p for p in points if p.on_front), key=lambda p: p.emissions_kg)
    fig.add_trace(
        go.Scatter(
            x=[p.emissions_kg for p in front],
            y=[p.test_metric for p in front],
            mode="lines",
            name="Pareto front (labelled points)",
            line={"color": "black", "width": 1.2},
            hoverinfo="skip",
        )
    )
    at: dict[tuple[float, float], list[AbsolutePoint]] = {}
    for p in front:  # strategies that stop a run at the same epoch share a point: one label for them
        at.setdefault((p.emissions_kg, p.test_metric), []).append(p)
    labels = [
        f"{members[0].strategy} (run {members[0].run_id})"
        + (f" (+{len(members) - 1} identical)" if len(members) > 1 else "")
        for members in at.values()
    ]
    extent = [(p.emissions_kg, p.test_metric) for p in points]
    _annotate(fig, [(k[0], k[1], t, "#111111") for k, t in zip(at, labels, strict=True)], extent, (900.0, 380.0))
    fig.update_layout(
        title=f"{where}: every run x rule, absolute (front points labelled)",
        xaxis_title=KG_AXIS + "  ← better",
        yaxis_title=f"test {metric} at the stop ({better} is better)",
        xaxis={"exponentformat": "e"},
        height=520,
    )
    return fig


def pareto_figures(analysis: Analysis, model: str, dataset: str) -> list[tuple[str, Any]]:
    """``(heading, figure)`` for a (model, dataset): the relative fronts (both quality references) and the absolute
    front in kg CO2-eq."""
    where = f"{model} on {dataset}"
    out: list[tuple[str, Any]] = []
    rel = [r for r in analysis.pareto_relative if (r.model, r.dataset) == (model, dataset)]
    if rel:
        rows = {
            r.strategy: r
            for r in analysis.grid_summary
            if (r.key.get("model"), r.key.get("dataset")) == (model, dataset)
        }
        runs = [
            c for c in [*analysis.comparisons, *analysis.grid_comparisons] if (c.model, c.dataset) == (model, dataset)
        ]
        out.append((f"Pareto fronts (interactive): {where}", _relative_figure(where, rel, rows, runs)))
    absolute = [p for p in analysis.pareto_absolute if (p.model, p.dataset) == (model, dataset)]
    if absolute:
        out.append((f"Absolute front (interactive): {where}", _absolute_figure(where, absolute)))
    return out

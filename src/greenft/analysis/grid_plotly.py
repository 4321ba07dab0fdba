"""The interactive views of the stopping-rule grid in ``report.html``: parallel coordinates (every varying
parameter of a rule against CO2 saved and quality, one line per config), heat maps of the grid (two parameters
against each other, the others fixed; colour CO2 saved or quality, each cell's text both), and bar charts of the
parameters' importance (the rule grid's and the training sweep's).

Numbers come from :mod:`greenft.analysis.rule_grid` and :mod:`greenft.analysis.importance`; plotly is imported
when a figure is drawn.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

from greenft.analysis.importance import ImportanceRow
from greenft.analysis.rule_grid import GridPoint, RuleGrid, RuleImportance
from greenft.analysis.tradeoff import BEST_VAL

__all__ = ["complete_members", "grid_figures", "heat_map_axes", "importance_figure"]

QUALITY_AXIS = f"test vs {BEST_VAL} (%), deployed"
MAX_FACETS = 3
_LINES = [[0.0, "#c0392b"], [0.5, "#555555"], [1.0, "#1e8449"]]


def _short(name: str) -> str:
    return {"warmup": "W (warmup)", "alpha": "alpha", "beta": "beta"}.get(name, name)


def _parcoords(where: str, rule: str, members: list[GridPoint], names: list[str]) -> Any:
    import plotly.graph_objects as go  # type: ignore[import-untyped]

    quality = [p.test_vs_best_val_pct.mean for p in members]
    dims = [{"label": _short(n), "values": [p.params[n] for p in members]} for n in names]
    dims.append({"label": "CO2 saved (%)", "values": [p.emissions_saved_pct.mean for p in members]})
    dims.append({"label": "quality change (%)", "values": quality})
    fig = go.Figure(
        go.Parcoords(
            line={
                "color": [q if math.isfinite(q) else 0.0 for q in quality],
                "colorscale": _LINES,
                "cmid": 0.0,  # no change: gray; losses red, gains green (a pale middle would vanish on white)
                "showscale": True,
                "colorbar": {"title": {"text": "quality<br>change %"}},
            },
            dimensions=dims,
        )
    )
    fig.update_layout(
        title=f"{where}, {rule}: each config's parameters against mean CO2 saved and quality change "
        f"({len(members)} configs; drag along an axis to filter)",
        height=460,
        margin={"l": 80, "r": 80, "t": 100},
    )
    return fig


def heat_map_axes(members: Sequence[GridPoint], names: Sequence[str]) -> tuple[str, str, list[dict[str, float]]]:
    """The two parameters whose grid, with the other varying ones held at one value, fills the most cells, and the
    values of the others for each facet worth drawing (at least 4 cells, most cells first, at most
    :data:`MAX_FACETS`)."""
    best: tuple[int, str, str] | None = None
    for x, y in itertools.permutations(names, 2):
        score = max(_cells(members, names, x, y).values(), default=0)
        if best is None or score > best[0]:
            best = (score, x, y)
    assert best is not None
    _, x, y = best
    cells = _cells(members, names, x, y)
    rest = _rest(names, x, y)
    facets = sorted((k for k, v in cells.items() if v >= 4), key=lambda k: -cells[k])[:MAX_FACETS]
    return x, y, [dict(zip(rest, k, strict=True)) for k in facets]


def _rest(names: Sequence[str], x: str, y: str) -> list[str]:
    return [n for n in names if n not in (x, y)]


def _cells(members: Sequence[GridPoint], names: Sequence[str], x: str, y: str) -> dict[tuple[float, ...], int]:
    """Distinct (x, y) cells per combination of the other varying parameters' values."""
    groups: dict[tuple[float, ...], set[tuple[float, float]]] = {}
    for p in members:
        key = tuple(p.params[n] for n in _rest(names, x, y))
        groups.setdefault(key, set()).add((p.params[x], p.params[y]))
    return {k: len(v) for k, v in groups.items()}


def _fixed(p: GridPoint, fixed: dict[str, float]) -> bool:
    return all(p.params.get(k) == v for k, v in fixed.items())


def _heat_map(where: str, rule: str, members: list[GridPoint], names: list[str]) -> Any | None:
    from plotly.subplots import make_subplots  # type: ignore[import-untyped]

    x, y, facets = heat_map_axes(members, names)
    if not facets:
        return None
    import plotly.graph_objects as go

    titles = []
    for fixed in facets:
        at = ", ".join(f"{_short(k)} = {v:g}" for k, v in fixed.items()) or "all configs"
        titles += [f"colour: CO2 saved % ({at})", f"colour: quality change % ({at})"]
    fig = make_subplots(rows=len(facets), cols=2, subplot_titles=titles, horizontal_spacing=0.16)
    for row, fixed in enumerate(facets, start=1):
        cell = {(p.params[x], p.params[y]): p for p in members if _fixed(p, fixed)}
        xs = sorted({k[0] for k in cell})
        ys = sorted({k[1] for k in cell})

        def grid_of(value: Any, xs: list[float] = xs, ys: list[float] = ys, cell: dict[Any, GridPoint] = cell) -> Any:
            return [[value(cell[(a, b)]) if (a, b) in cell else None for a in xs] for b in ys]

        text = grid_of(
            lambda p: f"saved {p.emissions_saved_pct.mean:.1f} %<br>quality {p.test_vs_best_val_pct.mean:+.2f} %"
        )
        for col, (z, scale, label) in enumerate(
            (
                (grid_of(lambda p: p.emissions_saved_pct.mean), "Greens", "saved %"),
                (grid_of(lambda p: p.test_vs_best_val_pct.mean), "RdYlGn", "quality %"),
            ),
            start=1,
        ):
            fig.add_trace(
                go.Heatmap(
                    x=[f"{v:g}" for v in xs],
                    y=[f"{v:g}" for v in ys],
                    z=z,
                    text=text,
                    texttemplate="%{text}",
                    colorscale=scale,
                    colorbar={
                        "title": {"text": label},
                        "x": 0.43 if col == 1 else 1.0,
                        "len": 1 / len(facets),
                        "y": 1 - (row - 0.5) / len(facets),
                    },
                    hovertemplate=f"{_short(x)} %{{x}}, {_short(y)} %{{y}}<br>%{{text}}<extra></extra>",
                ),
                row=row,
                col=col,
            )
            fig.update_xaxes(title_text=_short(x), type="category", row=row, col=col)
            fig.update_yaxes(title_text=_short(y), type="category", row=row, col=col)
    fig.update_layout(
        title=f"{where}, {rule}: the grid of {_short(x)} x {_short(y)} (cell: mean over the runs)",
        height=380 * len(facets) + 120,
    )
    return fig


def complete_members(members: Sequence[GridPoint], names: Sequence[str]) -> list[GridPoint]:
    """The configs that set every parameter in ``names`` to a finite number.

    Why: one rule's configs may differ in an optional field (anges-pp with and without ``warmup_fraction``);
    the union of their parameters varies, but a config without one has no point on that axis or heat-map cell.
    The figures draw the configs that have them all (the tables list every config)."""
    return [p for p in members if all(math.isfinite(p.params.get(n, math.nan)) for n in names)]


def grid_figures(grid: RuleGrid, model: str, dataset: str) -> list[tuple[str, Any]]:
    """``(heading, figure)`` per rule of a (model, dataset) with a varying parameter: parallel coordinates, and a
    heat map when two parameters vary; over the configs that set every varying parameter
    (:func:`complete_members`)."""
    where = f"{model} on {dataset}"
    out: list[tuple[str, Any]] = []
    for g_model, g_dataset, rule in grid.groups():
        if (g_model, g_dataset) != (model, dataset):
            continue
        names = grid.varying(model, dataset, rule)
        members = complete_members(grid.members(model, dataset, rule), names)
        names = [n for n in names if len({p.params[n] for p in members}) > 1]
        if not names or len(members) < 2:
            continue
        out.append((f"Parameters against outcomes: {where}, {rule}", _parcoords(where, rule, members, names)))
        if len(names) >= 2:
            heat = _heat_map(where, rule, members, names)
            if heat is not None:
                out.append((f"Heat map of the grid: {where}, {rule}", heat))
    return out


def importance_figure(
    title: str, rows: Sequence[RuleImportance] | Sequence[ImportanceRow], y_title: str = "parameter"
) -> Any | None:
    """Horizontal bars of Spearman rho and fANOVA importance per parameter, one panel per (group, outcome)."""
    if not rows:
        return None
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    def group(r: RuleImportance | ImportanceRow) -> str:
        rule = f", {r.rule}" if isinstance(r, RuleImportance) else ""
        return f"{r.model} on {r.dataset}{rule}: {r.target}"

    groups = list(dict.fromkeys(group(r) for r in rows))
    cols = min(2, len(groups))
    n_rows = math.ceil(len(groups) / cols)
    fig = make_subplots(rows=n_rows, cols=cols, subplot_titles=groups, horizontal_spacing=0.18)
    for index, name in enumerate(groups):
        members = [r for r in rows if group(r) == name]
        params = [_short(r.parameter) for r in members]
        for label, values, color in (
            ("Spearman rho", [r.spearman for r in members], "#1f77b4"),
            ("fANOVA importance", [r.importance for r in members], "#ff7f0e"),
        ):
            fig.add_trace(
                go.Bar(
                    y=params,
                    x=[v if math.isfinite(v) else None for v in values],
                    orientation="h",
                    name=label,
                    legendgroup=label,
                    showlegend=index == 0,
                    marker={"color": color},
                    text=[f"{v:.2f}" if math.isfinite(v) else "-" for v in values],
                    textposition="outside",
                ),
                row=index // cols + 1,
                col=index % cols + 1,
            )
        fig.update_xaxes(
            range=[-1.25, 1.25], title_text="rho / importance share", row=index // cols + 1, col=index % cols + 1
        )
        fig.update_yaxes(title_text=y_title, row=index // cols + 1, col=index % cols + 1)
    fig.update_layout(title=title, barmode="group", height=300 * n_rows + 120)
    return fig

"""One rule's replayed configs may differ in an optional field (anges-pp with and without warmup_fraction): the
grid's varying parameters are the union, and a config without one must not crash the importance, the figures
or report.html (review of issue 18, item 2: KeyError in rule_grid and grid_plotly)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hand_curves import as_record, make

from greenft.analysis.compute import analyze
from greenft.analysis.grid_plotly import complete_members, grid_figures
from greenft.analysis.rule_grid import rule_grid
from greenft.analysis.tradeoff import spread
from greenft.analysis.writing import write_report
from greenft.stopping import AnGesPPConfig, rule_label

_CURVES = [
    make([0.60, 0.70, 0.75, 0.74, 0.76, 0.76, 0.77, 0.77], [0.50, 0.60, 0.70, 0.72, 0.80, 0.78, 0.79, 0.79],
         run_id="s0", seed=0),
    make([0.55, 0.65, 0.66, 0.70, 0.69, 0.72, 0.72, 0.73], [0.52, 0.63, 0.64, 0.69, 0.70, 0.71, 0.74, 0.73],
         run_id="s1", seed=1),
]  # fmt: skip
# Six configs without a warm-up fraction (alpha x warmup) and six with one (alpha x fraction): 12 >= MIN_CONFIGS.
_WITHOUT = [AnGesPPConfig(alpha=a, warmup=w) for a in (0.5, 0.7, 0.9) for w in (1, 3)]
_WITH = [AnGesPPConfig(alpha=a, warmup=1, warmup_fraction=f) for a in (0.5, 0.7, 0.9) for f in (0.25, 0.5)]


def test_configs_with_and_without_an_optional_field_give_a_grid_figures_and_a_report(tmp_path: Path) -> None:
    analysis = analyze([as_record(c) for c in _CURVES], rules=[], grid=[*_WITHOUT, *_WITH], source="hand-made")
    grid = analysis.rule_grid
    varying = grid.varying("gin", "b3db", "anges-pp")
    assert set(varying) == {"alpha", "warmup", "warmup_fraction"}
    members = grid.members("gin", "b3db", "anges-pp")
    assert {p.strategy for p in members} == {rule_label(c) for c in [*_WITHOUT, *_WITH]}
    assert sum("warmup_fraction" in p.params for p in members) == len(_WITH)
    assert {p.strategy for p in complete_members(members, varying)} == {rule_label(c) for c in _WITH}
    figures = dict(grid_figures(grid, "gin", "b3db"))
    parcoords = figures["Parameters against outcomes: gin on b3db, anges-pp"].data[0]
    # warmup is 1 in every complete config: it no longer varies there, so it is no axis.
    assert [d.label for d in parcoords.dimensions][:2] == ["alpha", "warmup_fraction"]
    assert all(math.isfinite(v) for d in parcoords.dimensions[:2] for v in d.values)
    write_report(analysis, tmp_path, png=False)
    page = (tmp_path / "report.html").read_text()
    assert "Parameters against outcomes: gin on b3db, anges-pp" in page


def test_the_importance_ranks_over_the_configs_that_set_every_varying_parameter() -> None:
    analysis = analyze([as_record(c) for c in _CURVES], rules=[], grid=[*_WITHOUT, *_WITH], source="hand-made")
    points = {p.strategy: p for p in analysis.rule_grid.points}
    # Outcomes set by hand: CO2 saved = 10 * alpha, so alpha ranks +1 wherever it is ranked.
    rows = [
        r.__class__(**{**r.__dict__, "emissions_saved_pct": spread([10.0 * points[r.strategy].params["alpha"]])})
        for r in analysis.grid_summary
        if r.strategy in points
    ]
    grid = rule_grid(rows, set())
    saved = {r.parameter: r for r in grid.importance if r.target == "emissions_saved_pct"}
    assert saved["alpha"].configs == len(_WITH)  # the six without a fraction are NaN there: dropped
    assert saved["alpha"].spearman == pytest.approx(1.0)
    assert math.isnan(saved["warmup"].spearman)  # warmup is 1 in all six: constant

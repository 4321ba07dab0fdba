"""The report section "Stopping-rule grid": each replayed rule config's parameters beside its outcomes, and the
parameters' importance (numbers from :mod:`greenft.analysis.rule_grid`; blocks only, pure).

Apart from :mod:`greenft.analysis.markdown` so the page renderer only asks for the section, as it does for the
training and life-cycle sections.
"""

from __future__ import annotations

from greenft.analysis.blocks import Block, Heading, Slot, Text, table
from greenft.analysis.rule_grid import MIN_CONFIGS, RuleGrid
from greenft.analysis.tradeoff import BEST_VAL

__all__ = ["GRID_TITLE", "rule_grid_blocks"]

GRID_TITLE = "Stopping-rule grid: parameters against CO2 saved and quality"

_TEXT = f"""\
Every rule config replayed (the headline rules and the grid: AN-GES alpha, beta and W = `warmup`, patience, and
any other rule or option in the grid), with its parameters read back from its label, against the mean over the
runs of the emissions saved % and of the headline quality change (the deployed best-so-far checkpoint's test
metric vs {BEST_VAL}, %, positive = better), ± the sample standard deviation. The importance table ranks, per
rule with at least {MIN_CONFIGS} configs, each parameter that varies: Spearman rank correlation with the outcome
(sign included) and fANOVA importance (share of the variance of the configs' means it explains, Optuna's
evaluator). The HTML page draws the same rows as parallel coordinates and as heat maps of the grid."""


def rule_grid_blocks(grid: RuleGrid) -> list[Block]:
    """The section's blocks; none when no rule config was replayed."""
    if not grid.points:
        return []
    out: list[Block] = [Heading(2, GRID_TITLE), Text(_TEXT)]
    groups = list(dict.fromkeys((model, dataset) for model, dataset, _rule in grid.groups()))
    for model, dataset in groups:
        out.append(Heading(3, f"{model} on {dataset}"))
        for g_model, g_dataset, rule in grid.groups():
            if (g_model, g_dataset) != (model, dataset):
                continue
            members = grid.members(model, dataset, rule)
            names = grid.varying(model, dataset, rule)
            header = ["config", *names, "runs", "emissions saved %", f"test vs {BEST_VAL} %, best-so-far deployed"]
            rows = [
                [
                    p.strategy + (" (headline)" if p.headline else ""),
                    *(p.params.get(n) for n in names),
                    p.n_runs,
                    p.emissions_saved_pct.text(),
                    p.test_vs_best_val_pct.text(2),
                ]
                for p in members
            ]
            out.append(table(header, [[f"{v:g}" if isinstance(v, float) else v for v in r] for r in rows]))
        out.append(Slot(f"grid:{model}:{dataset}"))
    if grid.importance:
        out.append(Heading(3, "Which parameter matters"))
        out.append(
            table(
                ["model", "dataset", "rule", "outcome", "parameter", "configs", "Spearman", "fANOVA importance"],
                [
                    [r.model, r.dataset, r.rule, r.target, r.parameter, r.configs, r.spearman, round(r.importance, 3)]
                    for r in grid.importance
                ],
            )
        )
        out.append(Slot("rule_importance"))
    if grid.notes:
        out.append(Text("\n".join(f"- {note}" for note in grid.notes)))
    return out

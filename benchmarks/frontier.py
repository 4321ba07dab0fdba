"""Frontier benchmark, report stage: every candidate stopping configuration replayed on full-budget shadow curves.

Why replay: a shadow run trains its whole budget and logs, per epoch, everything a rule sees (validation metric,
validation loss, their bootstrap standard errors, cumulative emissions) and the test metric the analysis judges
with. :func:`greenft.analysis.compare_curve` feeds those numbers to the real rule classes, so one grid of runs
scores any number of configurations without training again, and exactly as the live rule would have stopped.

Inputs: a runs directory filled by ``greenft sweep run sweeps/frontier-cpu.yaml`` (and its pretrained arm,
``sweeps/frontier-cpu-pretrained.yaml``), or the GPU grid ``sweeps/frontier-gpu.yaml``. Only finished runs whose
curve reaches its budget are used; the report says how many it used out of how many it found (and planned), so a
partial grid gives a partial, labelled report.

Per strategy (a rule with a deploy policy, the full budget, or a hindsight reference), over the runs:

* **CO2 saved %**: median of ``100 * (E_full - E_stop) / E_full`` (cumulative train + validation emissions);
* **quality change %**: median of the headline, the test metric of the deployed weights vs best-val (hindsight)
  (the full run's best-validation checkpoint), positive = better. Deploy ``best`` hands over the best-so-far
  checkpoint at the stop (:func:`greenft.schema.deployed_index`), deploy ``last`` the stop epoch's weights;
* **within 1 %**: runs whose deployed weights lose at most 1 % vs best-val (hindsight), ``a/b``;
* **% of limit**: ratio of medians, ``100 * median CO2 saved (strategy) / median CO2 saved (hindsight-1%)``.
  hindsight-1% is the earliest stop whose best-so-far checkpoint is within 1 % of best-val (hindsight): the most
  any best-so-far rule can save at that quality. A ratio of medians, not a median of per-run ratios, because a
  run whose best validation epoch is its first has a limit of ~0 and its ratio is undefined or explodes;
* **front**: whether the (median CO2 saved, median quality change) point is on the Pareto front of all
  candidates (both maximised); the hypervolume of that front, and of each rule family's, against the reference
  point (0 % saved, ``--hv-floor`` % quality) is printed under the table.

The co2budget rule is not a candidate: its budget is an absolute kg CO2 per run, so one value cannot mean the
same on a 1 s and a 100 s epoch; its use is "never exceed what I can afford", not a quality trade-off.

Acceptance (issue 13), answered in plain words under the table: which candidate (if any) saves more CO2 than
``patience 5, best-so-far deploy`` at a median quality loss of at most 1 %; and whether any candidate has at
least 90 % of runs within 1 % while its median saving is at least 90 % of the hindsight limit's.

Writes ``OUT/table.md``, ``OUT/table.csv`` (every strategy for all runs, per family and per dataset) and
``OUT/settings.json``; prints the table with the machine load. With ``--tune`` (and a ``greenft tune`` that has
``--leave-datasets-out``) it first runs the held-out tuning; a ``held_out.json`` found (``--held-out``) is shown
as the held-out table, else the report says "held-out tuning: not run".

Usage::

    python benchmarks/frontier.py --runs /work/frontier-runs
    python benchmarks/frontier.py --runs runs-gpu --out benchmarks/results/frontier-gpu --planned 270
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greenft.analysis import compare_curve, curve_from_record, hypervolume_2d, pareto_mask, read_runs
from greenft.analysis.records import Curve, CurveError
from greenft.analysis.replay import RuleConfig, parse_rule
from greenft.analysis.tradeoff import BEST_TEST, BEST_VAL, FULL_BUDGET, HINDSIGHT_1PCT, WITHIN_PCT, is_within
from greenft.stopping import rule_label

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "benchmarks" / "results" / "frontier-cpu"
PLANNED_CPU = 54  # 6 datasets x 3 families x 3 seeds

#: The candidates, in table order. Exact AN-GES first (its defaults, then the issue's (0.5, 0.1, 5)), each
#: anges-pp pre-processor alone, combinations, rules watching the validation loss, patience and patience-pp.
CANDIDATES: tuple[dict[str, Any], ...] = (
    {"rule": "anges"},
    {"rule": "anges", "alpha": 0.5, "beta": 0.1, "warmup": 5},
    {"rule": "anges-pp", "smoothing": 0.6},
    {"rule": "anges-pp", "window": 3},
    {"rule": "anges-pp", "consecutive": 3},
    {"rule": "anges-pp", "deadband": True},
    {"rule": "anges-pp", "warmup_fraction": 0.25},
    {"rule": "anges-pp", "smoothing": 0.6, "consecutive": 2},
    {"rule": "anges-pp", "deadband": True, "consecutive": 2},
    {"rule": "anges-pp", "smoothing": 0.6, "window": 3, "consecutive": 3},
    {"rule": "anges-pp", "smoothing": 0.6, "deadband": True, "consecutive": 3, "warmup_fraction": 0.25},
    {"rule": "anges", "monitor": "loss"},
    {"rule": "anges-pp", "smoothing": 0.6, "consecutive": 2, "monitor": "loss"},
    {"rule": "patience", "patience": 3},
    {"rule": "patience", "patience": 5},
    {"rule": "patience", "patience": 10},
    {"rule": "patience", "patience": 5, "monitor": "loss"},
    {"rule": "patience-pp", "patience": 3, "smoothing": 0.6},
    {"rule": "patience-pp", "patience": 5, "smoothing": 0.6},
)
BASELINE = ({"rule": "patience", "patience": 5}, "best")
DEPLOYS = ("best", "last")
HV_FLOOR = -25.0  # quality axis of the hypervolume's reference point (percent vs best-val (hindsight))
ACCEPT_WITHIN_FRACTION = 0.9
ACCEPT_LIMIT_PCT = 90.0


@dataclass(frozen=True)
class Outcome:
    """One strategy on one run: what it saved and what the weights it hands over score vs best-val (hindsight)."""

    run_id: str
    family: str
    dataset: str
    strategy: str
    kind: str  # budget | rule | hindsight
    deploy: str  # best | last | "" (hindsight references deploy their own epoch)
    triggered: bool
    saved_pct: float
    quality_pct: float


@dataclass(frozen=True)
class Row:
    """One strategy over a group of runs (the table's row)."""

    group: str
    strategy: str
    kind: str
    deploy: str
    runs: int
    stopped_early: int
    saved_median: float
    quality_median: float
    within: int
    judged: int
    limit_pct: float
    on_front: bool

    @property
    def name(self) -> str:
        return f"{self.strategy} [{self.deploy}]" if self.deploy else self.strategy

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "strategy": self.strategy,
            "deploy": self.deploy,
            "kind": self.kind,
            "runs": self.runs,
            "stopped_early": self.stopped_early,
            "co2_saved_median_pct": self.saved_median,
            "quality_change_median_pct": self.quality_median,
            "within_1pct": self.within,
            "judged": self.judged,
            "pct_of_hindsight_1pct_saving": self.limit_pct,
            "on_front": self.on_front,
        }


def candidate_rules() -> list[RuleConfig]:
    return [parse_rule(dict(spec)) for spec in CANDIDATES]


def baseline_label() -> str:
    return rule_label(parse_rule(dict(BASELINE[0])))


def load_curves(runs_dir: Path) -> tuple[list[Curve], list[tuple[str, str]]]:
    """Complete curves of the finished runs under ``runs_dir``, and ``(run id, why)`` for every run left out."""
    curves: list[Curve] = []
    skipped: list[tuple[str, str]] = []
    for record in read_runs(runs_dir, use_cache=False):
        try:
            curve = curve_from_record(record)
        except CurveError as err:
            skipped.append((record.run_id, str(err)))
            continue
        if record.state != "finished":
            skipped.append((record.run_id, f"state {record.state}"))
        elif not curve.complete:
            skipped.append((record.run_id, f"{curve.n_epochs} of {curve.budget} epochs"))
        else:
            curves.append(curve)
    return curves, skipped


def outcomes(curve: Curve, rules: Sequence[RuleConfig]) -> list[Outcome]:
    """Every strategy on one curve: rules and the full budget under both deploys, and the hindsight references."""
    out: list[Outcome] = []
    for row in compare_curve(curve, rules):
        base = {"run_id": curve.run_id, "family": curve.model, "dataset": curve.dataset, "strategy": row.strategy}
        if row.kind == "hindsight":
            out.append(
                Outcome(
                    **base,
                    kind=row.kind,
                    deploy="",
                    triggered=False,
                    saved_pct=row.emissions_saved_pct,
                    quality_pct=row.test_vs_best_val_pct,
                )
            )
            continue
        for deploy, quality in (("best", row.test_vs_best_val_pct), ("last", row.test_vs_best_val_last_pct)):
            out.append(
                Outcome(
                    **base,
                    kind=row.kind,
                    deploy=deploy,
                    triggered=row.triggered,
                    saved_pct=row.emissions_saved_pct,
                    quality_pct=quality,
                )
            )
    return out


def _median(values: Iterable[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return statistics.median(finite) if finite else math.nan


def _ratio(saved: float, limit: float) -> float:
    """``100 * saved / limit``; NaN when either is undefined or the limit saves nothing."""
    return 100.0 * saved / limit if math.isfinite(saved) and math.isfinite(limit) and limit > 0 else math.nan


def summarise(items: Sequence[Outcome], group: str) -> list[Row]:
    """One row per strategy (and deploy) over ``items``, in first-seen order; the front over the rule rows."""
    keyed: dict[tuple[str, str], list[Outcome]] = {}
    for item in items:
        keyed.setdefault((item.strategy, item.deploy), []).append(item)
    limit = _median(o.saved_pct for o in keyed.get((HINDSIGHT_1PCT, ""), []))
    rows = []
    for (strategy, deploy), group_items in keyed.items():
        saved = _median(o.saved_pct for o in group_items)
        judged = [o for o in group_items if math.isfinite(o.quality_pct)]
        rows.append(
            Row(
                group=group,
                strategy=strategy,
                kind=group_items[0].kind,
                deploy=deploy,
                runs=len(group_items),
                stopped_early=sum(o.triggered for o in group_items),
                saved_median=saved,
                quality_median=_median(o.quality_pct for o in group_items),
                within=sum(is_within(o.quality_pct, WITHIN_PCT) for o in judged),
                judged=len(judged),
                limit_pct=_ratio(saved, limit),
                on_front=False,
            )
        )
    candidates = [i for i, r in enumerate(rows) if r.kind != "hindsight"]
    mask = pareto_mask([(rows[i].saved_median, rows[i].quality_median) for i in candidates], ("max", "max"))
    for i, on in zip(candidates, mask, strict=True):
        if on:
            r = rows[i]
            rows[i] = Row(**{**r.__dict__, "on_front": True})
    return rows


def hypervolume(rows: Iterable[Row], floor: float) -> float:
    points = [(r.saved_median, r.quality_median) for r in rows]
    return hypervolume_2d(points, (0.0, floor), ("max", "max"))


def rule_family(strategy: str) -> str:
    """Which family a candidate label belongs to, for the per-family hypervolumes."""
    if "_mloss" in strategy:
        return "monitor: loss"
    for prefix in ("anges-pp", "anges_pp", "patience-pp", "patience_pp", "anges", "patience"):
        if strategy.startswith(prefix):
            return {"anges_pp": "anges-pp", "patience_pp": "patience-pp"}.get(prefix, prefix)
    return strategy


# ----------------------------------------------------------------------------------------------- acceptance


def _baseline(rows: Sequence[Row]) -> Row | None:
    """The row the acceptance compares with: patience 5, best-so-far deploy."""
    return next(
        (r for r in rows if r.kind == "rule" and r.strategy == baseline_label() and r.deploy == BASELINE[1]), None
    )


def acceptance(rows: Sequence[Row]) -> list[str]:
    """The two questions of issue 13, answered with the numbers."""
    rules = [r for r in rows if r.kind == "rule"]
    base = _baseline(rows)
    lines: list[str] = []
    if base is None:
        return ["acceptance: the baseline (patience 5, best-so-far deploy) is not in the table"]
    better = [r for r in rules if r.quality_median >= -WITHIN_PCT and r.saved_median > base.saved_median]
    better.sort(key=lambda r: -r.saved_median)
    head = (
        f"1. Saves more CO2 than {base.name} ({_f(base.saved_median)} % saved, {_f(base.quality_median)} % median "
        f"quality, {base.within}/{base.judged} within 1 %) at <= 1 % median quality loss: "
    )
    if better:
        top = better[0]
        lines.append(
            head + f"YES, {len(better)} configuration(s); most: {top.name} ({_f(top.saved_median)} % saved, "
            f"{_f(top.quality_median)} % quality, {top.within}/{top.judged} within 1 %, "
            f"{_f(top.limit_pct)} % of the hindsight-1% saving)."
        )
        others = ", ".join(f"{r.name} ({_f(r.saved_median)} %)" for r in better[1:6])
        if others:
            lines.append(f"   Also: {others}{' ...' if len(better) > 6 else ''}.")
    else:
        lines.append(head + "NO configuration does.")
    good = [
        r
        for r in rules
        if r.judged and r.within / r.judged >= ACCEPT_WITHIN_FRACTION and r.limit_pct >= ACCEPT_LIMIT_PCT
    ]
    head = "2. >= 90 % of runs within 1 % while saving >= 90 % of the hindsight-1% CO2 (median): "
    if good:
        lines.append(head + "YES: " + ", ".join(f"{r.name} ({r.within}/{r.judged}, {_f(r.limit_pct)} %)" for r in good))
    else:
        scored = [r for r in rules if r.judged and math.isfinite(r.limit_pct)]
        closest = max(
            scored,
            key=lambda r: min(r.within / r.judged / ACCEPT_WITHIN_FRACTION, r.limit_pct / ACCEPT_LIMIT_PCT),
            default=None,
        )
        most_within = max(scored, key=lambda r: (r.within / r.judged, r.limit_pct), default=None)
        text = head + "NO candidate."
        if closest is not None and most_within is not None:
            text += (
                f" Closest: {closest.name} ({closest.within}/{closest.judged} within 1 %, {_f(closest.limit_pct)} % of "
                f"the limit); most runs within 1 %: {most_within.name} ({most_within.within}/{most_within.judged}, "
                f"{_f(most_within.limit_pct)} % of the limit)."
            )
        lines.append(text)
    return lines


# --------------------------------------------------------------------------------------------------- held out


def run_held_out_tuning(runs_dir: Path, tune_out: Path) -> str:
    """``greenft tune ... --leave-datasets-out --max-loss 1`` when this greenft has the option; says what it did."""
    greenft = [sys.executable, "-m", "greenft"]
    helped = subprocess.run([*greenft, "tune", "--help"], capture_output=True, text=True, check=False)
    if "--leave-datasets-out" not in helped.stdout:
        return "held-out tuning: not run (this greenft tune has no --leave-datasets-out)"
    source = "--runs" if "--runs " in helped.stdout else "--source"
    command = [*greenft, "tune", source, str(runs_dir), "--out", str(tune_out), "--leave-datasets-out"]
    command += ["--max-loss", "1", "--seed", "0"]  # seeded: the held-out table reproduces
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return f"held-out tuning: failed (exit {done.returncode}): {(done.stderr or done.stdout).strip()[-300:]}"
    return f"held-out tuning: ran `{' '.join(command[2:])}`"


def held_out_lines(path: Path | None) -> list[str]:
    """The held-out table from ``held_out.json`` (per fold, then pooled), or the line saying it was not run.

    The file is ``greenft tune --leave-datasets-out``'s: ``{"folds": [{held_out, tuned_on, pick: {label, config},
    runs, co2_saved_median_pct, quality_change_median_pct, within_1pct, fallback, ...}], "pooled": {folds, runs,
    co2_saved_median_pct, quality_change_median_pct, within_1pct, fallbacks}, "max_loss_pct", ...}``.
    """
    if path is None or not path.is_file():
        return ["held-out tuning: not run" + (f" (no {path})" if path is not None else "")]
    data = json.loads(path.read_text())
    folds: list[dict[str, Any]] = data if isinstance(data, list) else list(data.get("folds", []))
    header = [
        "held out",
        "tuned on",
        "pick",
        "runs",
        "CO2 saved % (median)",
        "quality % (median)",
        "within 1 %",
        "fallback",
    ]
    limits = ""
    if isinstance(data, dict) and "max_loss_pct" in data:
        limits = f" Max loss {data['max_loss_pct']} %, tuned on the {data.get('tuned_on_metric', 'val')} metric."
    lines = [
        f"Held-out tuning (`{path.name}`): tuned on the other datasets, judged on the held-out one.{limits}",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for fold in folds:
        pick = fold.get("pick") or {}
        tuned = fold.get("tuned_on", "")
        cells = [
            fold.get("held_out", ""),
            ", ".join(tuned) if isinstance(tuned, list) else str(tuned),
            pick.get("label", "") if isinstance(pick, dict) else str(pick),
            fold.get("runs", ""),
            _f(_num(fold.get("co2_saved_median_pct"))),
            _f(_num(fold.get("quality_change_median_pct"))),
            fold.get("within_1pct", ""),
            fold.get("fallback", ""),
        ]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    pooled = data.get("pooled") if isinstance(data, dict) else None
    if isinstance(pooled, dict):
        fallbacks = f"{pooled.get('fallbacks', '')}/{pooled.get('folds', '')}"
        cells = [
            "pooled",
            f"{pooled.get('folds', '')} folds",
            "",
            pooled.get("runs", ""),
            _f(_num(pooled.get("co2_saved_median_pct"))),
            _f(_num(pooled.get("quality_change_median_pct"))),
            pooled.get("within_1pct", ""),
            fallbacks,
        ]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return lines


def held_out_acceptance(rows: Sequence[Row], path: Path | None) -> list[str]:
    """The acceptance's own question asked of the held-out table: do the picks, each tuned on the other datasets,
    save more CO2 than patience 5 with best-so-far deploy at <= 1 % median quality loss (pooled held-out runs)?"""
    head = "3. Held-out (each dataset's pick tuned on the other datasets; pooled over the held-out runs): "
    if path is None or not path.is_file():
        return [head + "not answered: held-out tuning not run."]
    pooled = json.loads(path.read_text(encoding="utf-8")).get("pooled", {})
    base = next(
        (r for r in rows if r.kind == "rule" and r.strategy == baseline_label() and r.deploy == BASELINE[1]), None
    )
    saved, quality = _num(pooled.get("co2_saved_median_pct")), _num(pooled.get("quality_change_median_pct"))
    if base is None or not (math.isfinite(saved) and math.isfinite(quality)):
        return [head + "not answered: the pooled row or the baseline is missing."]
    verdict = "YES" if quality >= -WITHIN_PCT and saved > base.saved_median else "NO"
    return [
        head + f"{verdict}: {_f(saved)} % saved at {_f(quality)} % median quality, {pooled.get('within_1pct', '?')} "
        f"within 1 %, against {base.name}'s {_f(base.saved_median)} % at {_f(base.quality_median)} % "
        f"({base.within}/{base.judged})."
    ]


def _held_out_section(held_out: Path | None, tune_note: str | None) -> list[str]:
    """The tuning note (when ``--tune`` ran) and the table; one "not run" line when neither exists."""
    found = held_out is not None and held_out.is_file()
    if tune_note and not found:
        return [tune_note]
    return [*([tune_note, ""] if tune_note else []), *held_out_lines(held_out)]


# ---------------------------------------------------------------------------------------------------- output


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _f(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else "-"


def markdown_table(rows: Sequence[Row], with_group: bool = False) -> list[str]:
    header = [
        *(["group"] if with_group else []),
        "strategy [deploy]",
        "runs",
        "stopped early",
        "CO2 saved % (median)",
        "quality change % (median, test vs best-val (hindsight))",
        "within 1 %",
        "% of hindsight-1% saving",
        "front",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [
            *([r.group] if with_group else []),
            r.name,
            str(r.runs),
            str(r.stopped_early) if r.kind == "rule" else "-",
            _f(r.saved_median),
            _f(r.quality_median),
            f"{r.within}/{r.judged}",
            _f(r.limit_pct, 0),
            "yes" if r.on_front else "",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def load_text() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min) on {os.cpu_count()} cores"


def report(
    runs_dir: Path,
    out: Path,
    planned: int,
    floor: float,
    held_out: Path | None,
    tune_note: str | None,
    note: str | None = None,
) -> tuple[str, list[Row]]:
    curves, skipped = load_curves(runs_dir)
    if not curves:
        raise SystemExit(f"{runs_dir}: no finished full-budget run to report on ({len(skipped)} skipped)")
    rules = candidate_rules()
    items = [o for curve in curves for o in outcomes(curve, rules)]
    overall = summarise(items, "all")
    breakdown: list[Row] = []
    for attribute in ("family", "dataset"):
        for value in sorted({getattr(o, attribute) for o in items}):
            breakdown += summarise([o for o in items if getattr(o, attribute) == value], f"{attribute}={value}")

    candidates = [r for r in overall if r.kind != "hindsight"]
    families: dict[str, list[Row]] = {}
    for r in candidates:
        if r.kind == "rule":
            families.setdefault(rule_family(r.strategy), []).append(r)
    hv_all = hypervolume(candidates, floor)
    hv_limit = hypervolume([r for r in overall if r.strategy == HINDSIGHT_1PCT], floor)
    hv_text = ", ".join(f"{name} {hypervolume(rows, floor):.0f}" for name, rows in families.items())

    counts: dict[str, int] = {}
    for curve in curves:
        counts[curve.model] = counts.get(curve.model, 0) + 1
    used = ", ".join(f"{model} {n}" for model, n in sorted(counts.items()))
    partial = len(curves) < planned
    status = (
        f"{len(curves)} of {planned} planned runs used ({used}); {len(skipped)} run(s) found but left out"
        + (" (unfinished or incomplete)" if skipped else "")
        + ("; PARTIAL GRID" if partial else "")
    )
    lines = [
        "# Frontier benchmark",
        "",
        f"Runs: `{runs_dir}`. {status}. Report made under {load_text()}.",
        "",
        *([note, ""] if note else []),
        "Quality change = test metric of the deployed weights vs best-val (hindsight) (the full run's "
        "best-validation checkpoint), positive = better; `[best]` deploys the best-so-far checkpoint at the stop, "
        "`[last]` the stop epoch's weights. % of hindsight-1% saving = ratio of medians. Front = Pareto front of "
        "all candidates on (median CO2 saved, median quality).",
        "",
        *markdown_table(overall),
        "",
        f"Hypervolume of the (CO2 saved %, quality %) front, reference (0 %, {floor:g} %): all candidates "
        f"{hv_all:.0f}; per family: {hv_text}; hindsight-1% alone {hv_limit:.0f}.",
        "",
        "## Acceptance",
        "",
        *acceptance(overall),
        *held_out_acceptance(overall, held_out),
        "",
        "## Held-out tuning",
        "",
        *_held_out_section(held_out, tune_note),
        "",
        "## Appendix: per family and per dataset",
        "",
        "Selected strategies (every strategy of every group is in table.csv).",
        "",
        *markdown_table([r for r in breakdown if _selected(r, overall)], with_group=True),
    ]
    if skipped:
        lines += ["", "Left out: " + "; ".join(f"{run} ({why})" for run, why in skipped[:20])]
    text = "\n".join(lines) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(text)
    with (out / "table.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(overall[0].as_dict()))
        writer.writeheader()
        writer.writerows(r.as_dict() for r in [*overall, *breakdown])
    settings = {
        "runs_dir": str(runs_dir),
        "runs_used": len(curves),
        "runs_left_out": len(skipped),
        "planned": planned,
        "families": counts,
        "datasets": sorted({c.dataset for c in curves}),
        "candidates": [dict(c) for c in CANDIDATES],
        "deploys": list(DEPLOYS),
        "baseline": {"rule": BASELINE[0], "deploy": BASELINE[1]},
        "within_pct": WITHIN_PCT,
        "hypervolume_reference": [0.0, floor],
        "limit_ratio": "ratio of medians: median CO2 saved / median CO2 saved of hindsight-1%",
        "load_at_report": load_text(),
        "note": note,
        "held_out": str(held_out) if held_out is not None and held_out.is_file() else None,
    }
    (out / "settings.json").write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n")
    return text, overall


def _selected(row: Row, overall: Sequence[Row]) -> bool:
    """Appendix rows: the baseline, exact AN-GES, the overall front's rules and the hindsight references."""
    front = {(r.strategy, r.deploy) for r in overall if r.on_front and r.kind == "rule"}
    exact = rule_label(parse_rule({"rule": "anges"}))
    return (
        (row.strategy, row.deploy) in front
        or (row.strategy == baseline_label() and row.deploy == BASELINE[1])
        or (row.strategy == exact and row.deploy == "best")
        or row.strategy in (HINDSIGHT_1PCT, BEST_VAL, BEST_TEST)
        or (row.strategy == FULL_BUDGET and row.deploy == "last")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, required=True, help="runs directory of the frontier sweeps")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--planned", type=int, default=PLANNED_CPU, help="runs the grid plans (partial-grid note)")
    parser.add_argument("--hv-floor", type=float, default=HV_FLOOR, help="quality %% of the hypervolume reference")
    parser.add_argument("--held-out", type=Path, help="held_out.json of greenft tune --leave-datasets-out")
    parser.add_argument("--note", help="a line for the report and settings.json (how the grid ran, its load)")
    parser.add_argument("--tune", action="store_true", help="run the held-out tuning first (when greenft has it)")
    args = parser.parse_args(argv)
    held_out: Path | None = args.held_out
    tune_note = None
    if args.tune:
        tune_out = args.runs / "frontier-tune"
        tune_note = run_held_out_tuning(args.runs, tune_out)
        held_out = held_out or tune_out / "held_out.json"
        if (tune_out / "held_out.json").is_file() and args.out.resolve() != tune_out.resolve():
            args.out.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(tune_out / "held_out.json", args.out / "held_out.json")
    text, _ = report(args.runs, args.out, args.planned, args.hv_floor, held_out, tune_note, args.note)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The trade-off analysis of a set of runs, computed: replays, comparisons, aggregates, fronts, checks.

:func:`analyze` turns records already read into an :class:`Analysis`; :mod:`greenft.analysis.markdown` renders
it and :mod:`greenft.analysis.writing` writes the report folder. Nothing here touches files.

Which runs count: a trade-off needs the *complete* curve (every epoch of the budget), so shadow runs and
full-budget runs are used, as are live runs whose rule never fired; a live run that stopped early is listed as
skipped (its replay check still runs: replaying its own rule must reproduce its stop).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from greenft.analysis.baseline_table import WorthRow, worth_rows
from greenft.analysis.fronts import AbsolutePoint, Hypervolume, RelativePoint, compute_fronts
from greenft.analysis.importance import ImportanceResult, hyperparameter_importance
from greenft.analysis.inference_tables import (
    BreakEvenRow,
    MeasuredBreakEven,
    PhaseRow,
    PhaseRun,
    PrecisionTableRow,
    break_even_rows,
    measured_break_even,
    phase_rows,
    phase_run,
    precision_table,
)
from greenft.analysis.records import Curve, CurveError, RunRecord, curve_from_record
from greenft.analysis.replay import ReplayResult, RuleConfig, RuleSpecError, parse_rule, replay
from greenft.analysis.rule_grid import RuleGrid, rule_grid
from greenft.analysis.tradeoff import (
    AggregateRow,
    AngesStopCheck,
    Comparison,
    aggregate,
    classify_anges_stop,
    compare_curve,
)
from greenft.analysis.training_params import TrainingStudy, training_study
from greenft.schema import METRIC_DIRECTIONS, Point, RunStatus, point_key, shadow_stop_epochs
from greenft.schema.baseline import BaselineReport
from greenft.schema.inference import PrecisionRow
from greenft.schema.summary import AT_EPOCH, STOP_RULE, STOP_TRIGGERED
from greenft.stopping import AnGesConfig, PatienceConfig, rule_label

__all__ = ["Analysis", "ReplayCheck", "analyze", "default_grid", "default_rules"]


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


@dataclass(frozen=True)
class ReplayCheck:
    """A rule's logged stop on a run next to its replayed stop (one row of ``replay_check.csv``)."""

    run_id: str
    mode: str | None
    rule: str
    logged_stop_epoch: int | None
    replayed_stop_epoch: int | None
    match: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


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
    replay_checks: list[ReplayCheck]
    anges_checks: list[AngesStopCheck]
    importance: ImportanceResult
    summary: list[AggregateRow] = field(default_factory=list)
    overall: list[AggregateRow] = field(default_factory=list)
    grid_summary: list[AggregateRow] = field(default_factory=list)
    pareto_relative: list[RelativePoint] = field(default_factory=list)
    pareto_absolute: list[AbsolutePoint] = field(default_factory=list)
    hypervolumes: list[Hypervolume] = field(default_factory=list)
    phase_runs: list[PhaseRun] = field(default_factory=list)  # training / evaluation / inference, per run
    phases: list[PhaseRow] = field(default_factory=list)  # ... per model and dataset
    break_even: list[BreakEvenRow] = field(default_factory=list)
    precision: list[PrecisionTableRow] = field(default_factory=list)  # from --precision-table files
    break_even_measured: list[MeasuredBreakEven] = field(default_factory=list)  # break-even x measured precision
    worth: list[WorthRow] = field(default_factory=list)  # fine-tuning beside the cheap baselines (--baseline files)
    training: TrainingStudy = field(default_factory=TrainingStudy)  # runs differing in training parameters
    rule_grid: RuleGrid = field(default_factory=RuleGrid)  # each replayed rule config's parameters vs outcomes

    @property
    def replay_matched(self) -> int:
        """How many logged stops the replay reproduced exactly (of ``len(replay_checks)``): the console, report.md
        and the analysis run's summary each state it."""
        return sum(1 for c in self.replay_checks if c.match)

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
    precision_rows: Sequence[PrecisionRow] = (),
    baseline_reports: Sequence[BaselineReport] = (),
) -> Analysis:
    """Replay every rule on every complete curve and compute the comparisons, fronts and checks.

    ``rules`` are the headline rules (default: the seed's AN-GES and patience 5, plus every rule the runs
    logged); ``grid`` adds configs shown only on the Pareto front (default :func:`default_grid`; pass ``[]``
    to skip). ``precision_rows`` (``greenft quantize``'s measurements) feed the precision trade-off table;
    the per-phase and break-even tables come from the runs (:mod:`greenft.analysis.inference_tables`).
    ``baseline_reports`` (``greenft baseline``'s files) put the cheap baselines beside the fine-tuned runs of the
    same dataset and split (:mod:`greenft.analysis.baseline_table`).
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
        checks.extend(replay_checks(record, curve))
        if record.state != RunStatus.FINISHED:
            why = f" ({record.note})" if record.note else ""  # a killed run, a file cut mid-record: named
            skipped.append((record.run_id, f"state {record.state!r}: only finished runs give a full curve{why}"))
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
    fronts = compute_fronts(analysis.grid_summary, analysis.comparisons, headline_labels)
    analysis.pareto_relative, analysis.pareto_absolute = fronts.relative, fronts.absolute
    analysis.hypervolumes = fronts.hypervolumes
    analysis.rule_grid = rule_grid(analysis.grid_summary, headline_labels)
    analysis.phase_runs = [run for run in map(phase_run, records) if run is not None]
    analysis.phases = phase_rows(analysis.phase_runs)
    analysis.break_even = break_even_rows(analysis.phase_runs, comparisons)
    analysis.precision = precision_table(precision_rows)
    analysis.break_even_measured = measured_break_even(analysis.break_even, analysis.precision, analysis.phases)
    run_splits = {r.run_id: str(r.config["data"]["split"]) for r in records if _has_split(r.config)}
    analysis.worth = worth_rows(comparisons, run_splits, baseline_reports, METRIC_DIRECTIONS)
    analysis.training = training_study(records, curves)
    return analysis


def _has_split(config: dict[str, Any]) -> bool:
    data = config.get("data")
    return isinstance(data, dict) and isinstance(data.get("split"), str)


def logged_stops(summary: dict[str, Any]) -> dict[str, Any]:
    """``{rule label: logged stop epoch or None}``: every shadow rule, else the live rule of a live run."""
    logged = shadow_stop_epochs(summary)
    live = summary.get(STOP_RULE)
    if isinstance(live, str) and live not in logged and STOP_TRIGGERED in summary:
        logged[live] = summary.get(point_key(Point.STOP, AT_EPOCH)) if summary.get(STOP_TRIGGERED) else None
    return logged


def replay_checks(record: RunRecord, curve: Curve) -> list[ReplayCheck]:
    """Replay each rule the run logged a stop for, and compare with the logged stop epoch.

    A mismatch would mean replay is not the live rule.
    """
    out = []
    for label, epoch in sorted(logged_stops(record.summary).items()):
        try:
            config = parse_rule(label)
        except RuleSpecError:
            continue
        result = replay(curve, config)
        replayed = result.stop_epoch if result.triggered else None
        expected = int(epoch) if isinstance(epoch, int | float) and not isinstance(epoch, bool) else None
        out.append(ReplayCheck(record.run_id, record.mode, label, expected, replayed, expected == replayed))
    return out

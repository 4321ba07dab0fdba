"""Tune stopping rules with Optuna: minimise CO2, keep the quality of the weights a stopped run deploys.

Why replay: every trial of a live tuning sweep trains models and emits CO2 to find out where a rule would stop.
A shadow run already holds its full curve, so the same question is answered by replaying the rule on logged
curves (:func:`greenft.analysis.replay.replay`, the live rule's own code) in microseconds: 200 trials over a
dozen curves take seconds and emit next to nothing (``benchmarks/tuning_co2.py`` measures both).

The space (:mod:`greenft.analysis.search_space`): the rule first (exact ``anges`` always among them), then only
its parameters, W and patience ranges scaled to the curves' budget. Objectives per trial, medians over the curves
(:mod:`greenft.analysis.tuning_score`):

1. **CO2 spent %** of the full budget (``100 - median CO2 saved %``), minimised;
2. **quality change %** of the deployed (best-so-far) weights vs the full run's best-val (hindsight)
   checkpoint, maximised. By default on the *validation* metric (``metric_split="val"``): tuning on the test
   set would leak it into the choice; the test headline of every reported config is shown beside it.

Beside the knee of the front, :func:`constrained_pick` picks the config saving the most CO2 within a quality
loss (``--max-loss``); :mod:`greenft.analysis.held_out` scores picks on datasets they were not tuned on.

The study is multi-objective (``directions=["minimize", "maximize"]``), seeded (NSGA-II by default, or TPE),
stored in a journal file in the output directory by default (readable by ``optuna-dashboard <file>``), or in any
RDB URL (``sqlite:///tune.db``, ``postgresql://...``) so several workers can share one study.

``--live`` runs real trials instead (:func:`tune_live`): each Optuna trial trains one model per seed with the
proposed AN-GES rule live, and the objectives are the mean training emissions (kg) and the mean validation
metric at the stop (sign-flipped for RMSE/MAE so that higher is better). Slow and emitting, but it needs no
logged curves.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from greenft.analysis.config_claims import open_claims
from greenft.analysis.fresh_proposals import MAX_ATTEMPTS_PER_TRIAL, FreshProposals, RepeatedProposal
from greenft.analysis.optuna_storage import (
    DASHBOARD_INSTALL,
    StorageError,
    check_storage,
    dashboard_command,
    make_storage,
    mask_credentials,
    open_rdb_storage,
    storage_errors,
)
from greenft.analysis.records import METRIC_DIRECTIONS, Curve
from greenft.analysis.report import markdown_table
from greenft.analysis.search_space import SearchSpace, config_of, rule_name, stopping_section
from greenft.analysis.tradeoff import BEST_VAL, WITHIN_PCT, is_within
from greenft.analysis.tuning_score import ConfigScore, score_config
from greenft.schema import Point, point_key
from greenft.schema.codec import tidy
from greenft.schema.summary import AT_EPOCH, AT_TEST, AT_VAL, METRIC, TOTAL_EMISSIONS
from greenft.stopping import AnGesConfig, MetricDirection, RuleConfig, effective_threshold_fraction, rule_label

if TYPE_CHECKING:
    import optuna

    from greenft.agents.config import TrialConfig

__all__ = [
    "DEFAULT_STUDY",
    "SearchSpace",
    "StorageError",
    "TuneResult",
    "check_storage",
    "constrained_pick",
    "curve_budget",
    "curve_warnings",
    "make_sampler",
    "make_storage",
    "mask_credentials",
    "new_seed",
    "open_rdb_storage",
    "tune_by_replay",
    "tune_live",
    "write_tuning_outputs",
]

DEFAULT_STUDY = "greenft-anges"
DEFAULT_MAX_LOSS = 1.0
"""``--max-loss``: the median quality loss (percent, vs best-val (hindsight)) the constrained pick may take."""
#: Called after every finished trial with (trials done in this call, trials asked for).
TrialProgress = Callable[[int, int], None]


def _progress_callback(
    progress: TrialProgress | None, n_trials: int
) -> Callable[[optuna.Study, optuna.trial.FrozenTrial], None]:
    """An Optuna callback reporting (trials done, trials asked) to ``progress`` after each finished trial, and
    ending the call after ``n_trials`` of them (a rejected repeat, see :class:`FreshProposals`, is not one)."""
    from optuna.trial import TrialState

    done = 0

    def callback(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        nonlocal done
        if trial.state != TrialState.COMPLETE:
            return
        done += 1
        if progress is not None:
            progress(done, n_trials)
        if done >= n_trials:
            study.stop()

    return callback


def _reject_repeat(study: optuna.Study, fresh: FreshProposals, label: str) -> None:
    """Inside an objective: raise :class:`RepeatedProposal` (a fresh config queued) for a config ``study``
    already finished, by this worker or, once synced, by another."""
    from optuna.trial import TrialState

    fresh.learn(t.user_attrs.get("label") for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    fresh.check(label, lambda params, attrs: study.enqueue_trial(params, user_attrs=attrs))


def _optimize_fresh(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], tuple[float, float]],
    n_trials: int,
    callback: Callable[[optuna.Study, optuna.trial.FrozenTrial], None],
) -> None:
    """Run until ``callback`` (a :func:`_progress_callback`) stops the study after ``n_trials`` scored trials;
    rejected repeats end FAILED and do not count, with :data:`MAX_ATTEMPTS_PER_TRIAL` as the bound."""
    study.optimize(
        objective,
        n_trials=n_trials * MAX_ATTEMPTS_PER_TRIAL,
        callbacks=[callback],
        catch=(RepeatedProposal,),
        gc_after_trial=False,
    )


def make_sampler(name: Literal["nsga2", "tpe", "random"], seed: int) -> optuna.samplers.BaseSampler:
    """A seeded multi-objective sampler: NSGA-II (fast, the default), multi-objective TPE, or random."""
    import optuna

    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=40)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=20)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(f"unknown sampler {name!r}: use nsga2, tpe or random")


@dataclass
class TuneResult:
    """What a tuning run found, for the console, the Markdown report and the YAML outputs."""

    mode: str  # replay | live
    study_name: str
    storage: str
    sampler: str
    metric_split: str
    n_trials_run: int
    n_trials_total: int
    elapsed_s: float
    objective_names: tuple[str, str]
    pareto: list[dict[str, Any]] = field(default_factory=list)
    defaults: dict[str, Any] = field(default_factory=dict)
    recommended: dict[str, Any] | None = None
    curves: int = 0
    notes: list[str] = field(default_factory=list)
    trial_params: list[dict[str, Any]] = field(default_factory=list)  # every trial of the study, in order
    seed: int | None = None  # this worker's sampler seed (drawn fresh unless given)
    worker: str = ""  # this worker's id in the study (trial user attribute ``worker``)
    trials_from_others: int = 0  # trials other workers added to the study during this call
    repeats_rejected: int = 0  # proposals of configs the study already held, replaced (see fresh_proposals)
    claimed_elsewhere: int = 0  # of those, configs another worker had claimed first (see config_claims)
    warnings: list[str] = field(default_factory=list)  # why to read the recommendation with care (curve_warnings)
    rules: tuple[str, ...] = ("anges",)  # the rules the space offered
    budget: int | None = None  # the curves' epoch budget the W/patience ranges were scaled to
    max_loss: float = DEFAULT_MAX_LOSS  # --max-loss, percent
    constrained: dict[str, Any] | None = None  # the constrained pick (constrained_pick), None when none qualifies
    constrained_note: str = ""  # why there is no constrained pick, in plain words
    held_out: Any = None  # a greenft.analysis.held_out.HeldOut with --leave-datasets-out
    dashboard: str | None = None  # `optuna-dashboard <storage>` for a stored study; None in memory (dashboard_command)


MIN_CURVES = 3
"""Fewer complete curves than this and ``greenft tune`` warns: a rule tuned on one or two runs fits their noise."""

_TASK_OF_DIRECTION = {MetricDirection.MAXIMIZE: "classification", MetricDirection.MINIMIZE: "regression"}


def curve_warnings(curves: Sequence[Curve]) -> list[str]:
    """Why a recommendation from ``curves`` should be read with care, one sentence each (empty when none).

    * Fewer than :data:`MIN_CURVES` curves: the front and its knee describe where *these* runs happened to
      plateau; another seed moves them.
    * Classification and regression curves pooled: each trial's objective averages a ROC-AUC change (higher is
      better) with an RMSE/MAE change (lower is better) over runs whose curves have different shapes, and the
      config recommended for the mix may suit neither. greenft warns rather than tuning each type apart, so the
      study stays the one the user named; ``--tag`` or one source per task type tunes them apart.
    """
    out: list[str] = []

    def where(group: Sequence[Curve]) -> str:
        pairs = sorted({f"{c.dataset}: {c.metric}" for c in group})
        return ", ".join(pairs)

    if len(curves) < MIN_CURVES:
        out.append(
            f"tuned on {len(curves)} complete curve(s) ({where(curves)}), fewer than {MIN_CURVES}: the "
            "recommendation fits these runs' noise; train more shadow runs (other seeds or datasets) before "
            "trusting it"
        )
    by_task: dict[str, list[Curve]] = {}
    for curve in curves:
        by_task.setdefault(_TASK_OF_DIRECTION.get(curve.direction, curve.metric), []).append(curve)
    if len(by_task) > 1:
        parts = "; ".join(f"{len(group)} {task} ({where(group)})" for task, group in sorted(by_task.items()))
        out.append(
            f"pooled curves of different task types: {parts}; one config is recommended for the mix, which may "
            "suit neither: tune each task type apart (--tag, or one --source per type)"
        )
    return out


def _score_dict(config: RuleConfig, score: ConfigScore, space: SearchSpace, split: str) -> dict[str, Any]:
    """One config's row: label, rule, its searched parameters, the objectives (medians) and the mean columns."""
    k = math.nan
    alpha, beta = getattr(config, "alpha", None), getattr(config, "beta", None)
    if alpha is not None and beta is not None:
        with suppress(ValueError):
            k = effective_threshold_fraction(alpha, beta)
    stopping = stopping_section(config, space.params_of(rule_name(config)))
    means = score.means
    return {
        "label": rule_label(config),
        "rule": rule_name(config),
        **{name: value for name, value in stopping.items() if name != "rule"},
        "stopping": stopping,
        "k": k,
        "runs": score.runs,
        "co2_saved_median_pct": score.co2_saved_median_pct,
        "quality_change_median_pct": score.quality(split),
        "val_vs_best_val_median_pct": score.val_vs_best_val_median_pct,
        "test_vs_best_val_median_pct": score.test_vs_best_val_median_pct,
        "within_1pct": score.within_text,
        "emissions_spent_pct": means.emissions_spent_pct,
        "emissions_saved_pct": means.emissions_saved_pct,
        "val_metric_change_pct": means.val_metric_change_pct,
        "test_metric_change_pct": means.metric_change_pct,
        "epochs_saved": means.epochs_saved,
        "stop_rate": means.stop_rate,
        "test_vs_best_val_pct": means.test_vs_best_val_pct,
    }


def _quiet_optuna() -> None:
    import optuna

    optuna.logging.set_verbosity(logging.WARNING)
    optimize_logger = logging.getLogger("optuna.study._optimize")  # a logger's filter sees only its own records
    if not any(isinstance(f, _RepeatsNotWarned) for f in optimize_logger.filters):
        optimize_logger.addFilter(_RepeatsNotWarned())


class _RepeatsNotWarned(logging.Filter):
    """Drops Optuna's "Trial N failed" warning for a rejected repeat: it is the intended outcome, counted in
    :attr:`TuneResult.repeats_rejected`, not a failure to show the user."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return RepeatedProposal.__name__ not in message and not message.endswith("failed with value None.")


def _set_metric_names(study: optuna.Study, names: list[str]) -> None:
    """Name the objectives (shown by optuna-dashboard); the API is flagged experimental, hence the filter."""
    import warnings

    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(names)


def new_seed() -> int:
    """A fresh sampler seed for one worker (31 bits from ``os.urandom``).

    Why not a fixed default: workers that share a study and start with the same seed propose the same
    configs in the same order (a shared study does not change a random or NSGA-II first generation), so a
    second worker would mostly repeat the first one's trials. The seed is reported (console, report, YAML) and
    ``seed=N`` / ``--seed N`` repeats a worker's proposals.
    """
    return int.from_bytes(os.urandom(4), "little") & 0x7FFFFFFF


def _worker_id() -> str:
    """This process's name in the study (trial user attribute ``worker``): pid plus random bits, unique even
    across machines and pid reuse, so a worker can tell its own stored trials from the others'."""
    return f"{os.getpid()}-{secrets.token_hex(4)}"


def _open_study(
    store: optuna.storages.BaseStorage | None,
    study_name: str,
    sampler: optuna.samplers.BaseSampler,
    shown: str,
) -> tuple[optuna.Study, bool]:
    """The study and whether this call created it.

    Creating is tried first and a duplicate name means "load it": the storage's unique study name decides
    which of several workers starting together is the creator, so exactly one of them enqueues the defaults
    (``create_study(load_if_exists=True)`` cannot say who created it, and every worker that found the study
    empty would enqueue them).
    """
    import optuna
    from optuna.study import StudyDirection

    directions = [StudyDirection.MINIMIZE, StudyDirection.MAXIMIZE]
    if store is None:
        return optuna.create_study(directions=directions, sampler=sampler), True
    with storage_errors(shown, "opening the study"):
        try:
            store.create_new_study(directions, study_name)
            created = True
        except optuna.exceptions.DuplicatedStudyError:
            created = False
        study = optuna.load_study(study_name=study_name, storage=store, sampler=sampler)
    if list(study.directions) != directions:
        raise StorageError(
            f"storage {shown}: study {study_name!r} exists with other objectives "
            f"({', '.join(d.name.lower() for d in study.directions)}); choose another --study-name"
        )
    return study, created


def tune_by_replay(
    curves: Sequence[Curve],
    out_dir: Path,
    *,
    n_trials: int = 200,
    storage: str | None = None,
    study_name: str = DEFAULT_STUDY,
    sampler: Literal["nsga2", "tpe", "random"] = "nsga2",
    seed: int | None = None,
    space: SearchSpace | None = None,
    metric_split: Literal["val", "test"] = "val",
    progress: TrialProgress | None = None,
    per_trial_writes: bool = False,
    max_loss: float = DEFAULT_MAX_LOSS,
    sync_every: int = 10,
) -> TuneResult:
    """Multi-objective search over ``space`` (the rules and their parameters, W and patience ranges scaled to the
    curves' budget, :func:`curve_budget`), each trial scored by replay on ``curves``
    (:func:`greenft.analysis.tuning_score.score_config`): minimise the median CO2 spent %, maximise the median
    quality change of the deployed weights vs best-val (hindsight) on ``metric_split``.

    The exact AN-GES defaults (0.9, 0.2, 3) are enqueued as the first trial by whichever worker creates the
    study, so they are always among the evaluated points. With an existing study (same storage and name) the new
    trials are added to it. ``seed`` None (the default) draws a fresh seed (:func:`new_seed`), reported in the result.

    Several workers (processes or machines with the same ``storage`` and ``study_name``, journal file or RDB)
    share one study. By default each worker runs the study in memory and *syncs* it with the storage every
    ``sync_every`` finished trials and at the end: it writes the trials it finished since the last sync and
    reads in the trials the other workers wrote (trial user attribute ``worker`` tells them apart), so every
    sampler builds on everyone's results, at most ``sync_every`` trials late. Why not run the trials on the
    shared study itself (``per_trial_writes=True``, Optuna's usual way): a running trial costs about ten
    storage operations (creation, three parameters, user attributes, values, state; each fsynced in a journal,
    committed in a database) where a finished trial is written in one, and a replay trial itself takes ~2 ms
    of CPU, so the tuning would mostly spend its time and energy on the storage. 200 trials, per-trial writes
    vs synced, on this project's 2-core CI machine: journal file 11.4 s vs 2.1 s, SQLite 104 s vs 30 s,
    PostgreSQL 53 s vs 23 s. Nothing is lost between syncs: the last sync also runs when the call is
    interrupted or fails, and a trial is written only by the worker that ran it (no copies, no gaps).
    ``per_trial_writes=True`` runs every trial on the stored study (to watch a study live on a dashboard).
    No config is scored twice, across workers too: each one is claimed in the storage before it is scored
    (:mod:`greenft.analysis.config_claims`), and a config another worker claimed first is a repeat even before
    the sync brings its trial; the sync teaches the samplers, the claim is the guarantee.
    """
    import optuna
    from optuna.trial import TrialState

    if not curves:
        raise ValueError("no complete curves to tune on (shadow or full-budget runs are needed)")
    if sync_every < 1:
        raise ValueError(f"sync_every must be at least 1, not {sync_every}")
    budget = curve_budget(curves)
    space = (space or SearchSpace()).for_budget(budget)
    seed = new_seed() if seed is None else seed
    worker = _worker_id()
    _quiet_optuna()
    store, where = make_storage(storage, out_dir)
    names = list(objective_names(metric_split))
    persistent, created = _open_study(store, study_name, make_sampler(sampler, seed), where)
    with storage_errors(where, "naming the objectives"):
        _set_metric_names(persistent, names)
    if per_trial_writes or store is None:
        study = persistent
    else:
        study = optuna.create_study(directions=["minimize", "maximize"], sampler=make_sampler(sampler, seed))
        _set_metric_names(study, names)
    seen: set[int] = set()  # stored trials (by storage id) already in the in-memory study or written from it
    mine: list[optuna.trial.FrozenTrial] = []  # trials finished here, not yet written

    def sync() -> None:
        """Write this worker's new trials, then read in the trials other workers finished since last time."""
        if study is persistent:
            return
        with storage_errors(where, "syncing the study"):
            persistent.add_trials(mine)
            mine.clear()
            for trial in persistent.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
                if trial._trial_id in seen:
                    continue
                seen.add(trial._trial_id)
                if trial.user_attrs.get("worker") != worker:
                    study.add_trial(trial)

    claims = open_claims(storage, out_dir, store, study_name, created, worker, where)  # before any trial
    sync()
    stored_before = len(study.trials)
    if created and space.contains(space.defaults_params()):
        study.enqueue_trial(space.defaults_params())
    cache: dict[str, ConfigScore] = {}
    fresh = space.fresh_proposals(seed, claims)

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        config = space.suggest(trial)
        label = rule_label(config)
        _reject_repeat(study, fresh, label)
        score = cache.get(label)
        if score is None:
            score = cache[label] = score_config(curves, config)
        trial.set_user_attr("label", label)
        trial.set_user_attr("test_vs_best_val_median_pct", score.test_vs_best_val_median_pct)
        trial.set_user_attr("val_vs_best_val_median_pct", score.val_vs_best_val_median_pct)
        trial.set_user_attr("epochs_saved", score.means.epochs_saved)
        trial.set_user_attr("worker", worker)
        trial.set_user_attr("sampler_seed", seed)
        return 100.0 - score.co2_saved_median_pct, score.quality(metric_split)

    report = _progress_callback(progress, n_trials)

    def callback(run: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if study is not persistent and trial.state == TrialState.COMPLETE:
            mine.append(trial)
            if len(mine) >= sync_every:
                sync()
        report(run, trial)

    start = time.perf_counter()
    try:
        with storage_errors(where, "running trials"):
            _optimize_fresh(study, objective, n_trials, callback)
    except BaseException:
        with suppress(StorageError):  # Ctrl-C or a failure: keep what finished, report the first error
            sync()
        raise
    sync()
    elapsed = time.perf_counter() - start
    with storage_errors(where, "reading the study"):
        total = len(persistent.get_trials(deepcopy=False))

    result = TuneResult(
        mode="replay",
        study_name=study_name,
        storage=where,
        dashboard=dashboard_command(storage, where),
        sampler=sampler,
        metric_split=metric_split,
        n_trials_run=n_trials,
        n_trials_total=total,
        elapsed_s=elapsed,
        objective_names=objective_names(metric_split),
        curves=len(curves),
        seed=seed,
        worker=worker,
        trials_from_others=sum(
            1
            for t in study.trials[stored_before:]
            if t.state == TrialState.COMPLETE and t.user_attrs.get("worker") != worker
        ),
        repeats_rejected=fresh.repeats_rejected,
        claimed_elsewhere=fresh.claimed_elsewhere,
        rules=space.rules,
        budget=budget,
        max_loss=max_loss,
    )
    defaults = AnGesConfig()
    result.defaults = _score_dict(
        defaults, cache.get(rule_label(defaults)) or score_config(curves, defaults), space, metric_split
    )
    result.pareto = _pareto_configs(study, curves, space, metric_split)
    result.trial_params = [dict(t.params) for t in study.trials if t.params and t.state == TrialState.COMPLETE]
    result.warnings = curve_warnings(curves)
    _compare_with_defaults(result)
    result.constrained, result.constrained_note = constrained_pick(result.pareto, max_loss, metric_split)
    return result


def objective_names(metric_split: str) -> tuple[str, str]:
    """The study's two objectives: median CO2 spent % (minimised), median deployed-vs-best-val change on the split
    (maximised)."""
    return "co2_spent_median_pct", f"{metric_split}_vs_best_val_median_pct"


def curve_budget(curves: Sequence[Curve]) -> int:
    """The epoch budget the search ranges scale with: the curves' largest ``max_epochs`` (their length where a
    run did not log its budget)."""
    return max((c.budget if c.budget is not None else c.n_epochs) for c in curves)


def constrained_pick(
    pareto: Sequence[dict[str, Any]], max_loss: float, metric_split: str = "val"
) -> tuple[dict[str, Any] | None, str]:
    """Among the Pareto rows, the one that saves the most CO2 (median) with a median quality loss of at most
    ``max_loss`` percent (ties: the better quality, then the earlier row); ``(None, why)`` when none qualifies.

    The quality is the objective's (``quality_change_median_pct``, deployed weights vs best-val (hindsight) on
    ``metric_split``), judged by :func:`greenft.analysis.tradeoff.is_within`, the report's "within" test.
    """
    qualifying = [
        r
        for r in pareto
        if is_within(r["quality_change_median_pct"], max_loss) and math.isfinite(r["co2_saved_median_pct"])
    ]
    if not qualifying:
        best = max(
            (r["quality_change_median_pct"] for r in pareto if math.isfinite(r["quality_change_median_pct"])),
            default=math.nan,
        )
        return None, (
            f"no Pareto config keeps the median {metric_split} quality loss vs {BEST_VAL} within {max_loss:g} % "
            f"(the best loses {-best:.2f} %); use the knee, or allow more loss with --max-loss"
        )
    pick = max(qualifying, key=lambda r: (r["co2_saved_median_pct"], r["quality_change_median_pct"]))
    return pick, ""


def _pareto_configs(
    study: optuna.Study, curves: Sequence[Curve], space: SearchSpace, metric_split: str
) -> list[dict[str, Any]]:
    """The study's Pareto-optimal trials, one row per distinct trade-off.

    Many configs give the same stops on a handful of curves, so trials are grouped by their objective values;
    each group is represented by the config closest to its rule's defaults, exact AN-GES first
    (:meth:`SearchSpace.distance_to_defaults`: the smallest change that buys that trade-off) and reports how many
    trials landed there.
    """
    groups: dict[tuple[float, float], list[Any]] = {}
    for trial in study.best_trials:
        if trial.values is None:
            continue
        key = (round(trial.values[0], 9), round(trial.values[1], 9))
        groups.setdefault(key, []).append(trial)
    rows = []
    for (_spent, _change), trials in sorted(groups.items()):
        best = min(trials, key=lambda t: (space.distance_to_defaults(t.params), t.number))
        config = config_of(best.params)
        row = _score_dict(config, score_config(curves, config), space, metric_split)
        row["trials_here"] = len(trials)
        row["trial"] = best.number
        rows.append(row)
    return rows


def _compare_with_defaults(result: TuneResult) -> None:
    """Deltas vs the defaults, the dominance flag, and the recommended (knee) config, on the objectives."""
    d = result.defaults
    saved, change = "co2_saved_median_pct", "quality_change_median_pct"
    for row in result.pareto:
        row["delta_saved_pct_points"] = row[saved] - d[saved]
        row["delta_metric_pct_points"] = row[change] - d[change]
        better_or_equal = row[saved] >= d[saved] and row[change] >= d[change]
        strictly = row[saved] > d[saved] or row[change] > d[change]
        row["dominates_defaults"] = bool(better_or_equal and strictly)
    finite = [r for r in result.pareto if math.isfinite(r[saved]) and math.isfinite(r[change])]
    if not finite:
        return
    # Knee: the front point closest to the utopia corner (most saved, best metric) after scaling each
    # objective to the front's range; with a single point, that point.
    xs = [r[saved] for r in finite]
    ys = [r[change] for r in finite]
    span_x, span_y = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0

    def distance(r: dict[str, Any]) -> float:
        return math.hypot((max(xs) - r[saved]) / span_x, (max(ys) - r[change]) / span_y)

    result.recommended = min(finite, key=distance)


# -------------------------------------------------------------------------------------------------- live mode


def tune_live(
    base: TrialConfig,
    out_dir: Path,
    *,
    seeds: Sequence[int] = (0,),
    n_trials: int = 10,
    storage: str | None = None,
    study_name: str = f"{DEFAULT_STUDY}-live",
    sampler: Literal["nsga2", "tpe", "random"] = "tpe",
    seed: int | None = None,
    space: SearchSpace | None = None,
    progress: TrialProgress | None = None,
    runner: Callable[[TrialConfig], Any] | None = None,
) -> TuneResult:
    """Each trial trains one live run per seed with the proposed AN-GES rule (see the module docstring).

    ``runner`` defaults to :func:`greenft.agents.run_trial`; its result's ``summary`` must follow
    docs/logging.md (``total/emissions_kg``, ``metric``, ``stop/val_<metric>``, ``stop/test_<metric>``).
    Trials run on the stored study itself (a live trial takes minutes, its storage writes nothing); the
    sampler ``seed`` is drawn fresh per worker unless given, as in :func:`tune_by_replay`.
    """
    from optuna.trial import TrialState

    if runner is None:
        from greenft.agents import run_trial

        runner = run_trial
    run = runner
    space = (space or SearchSpace()).for_budget(base.optim.max_epochs)
    seed = new_seed() if seed is None else seed
    worker = _worker_id()
    _quiet_optuna()
    store, where = make_storage(storage, out_dir)
    study, created = _open_study(store, study_name, make_sampler(sampler, seed), where)
    with storage_errors(where, "naming the objectives"):
        _set_metric_names(study, ["emissions_kg", "val_metric_oriented"])
    claims = open_claims(storage, out_dir, store, study_name, created, worker, where)  # before any trial
    if created and space.contains(space.defaults_params()):
        study.enqueue_trial(space.defaults_params())

    fresh = space.fresh_proposals(seed, claims)

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        config = space.suggest(trial)
        _reject_repeat(study, fresh, rule_label(config))
        emissions, vals, tests, epochs = [], [], [], []
        for s in seeds:
            trial_config = base.model_copy(update={"stopping": config, "seed": s, "mode": "live"})
            summary = run(trial_config).summary
            metric = str(summary.get(METRIC))
            sign = -1.0 if METRIC_DIRECTIONS.get(metric) is MetricDirection.MINIMIZE else 1.0
            emissions.append(float(summary.get(TOTAL_EMISSIONS, math.nan)))
            vals.append(sign * float(summary.get(point_key(Point.STOP, AT_VAL, metric), math.nan)))
            tests.append(float(summary.get(point_key(Point.STOP, AT_TEST, metric), math.nan)))
            epochs.append(float(summary.get(point_key(Point.STOP, AT_EPOCH), math.nan)))
        trial.set_user_attr("label", rule_label(config))
        trial.set_user_attr("test_metric_mean", sum(tests) / len(tests))
        trial.set_user_attr("stop_epoch_mean", sum(epochs) / len(epochs))
        trial.set_user_attr("worker", worker)
        trial.set_user_attr("sampler_seed", seed)
        return sum(emissions) / len(emissions), sum(vals) / len(vals)

    callback = _progress_callback(progress, n_trials)
    start = time.perf_counter()
    with storage_errors(where, "running trials"):
        _optimize_fresh(study, objective, n_trials, callback)
    result = TuneResult(
        mode="live",
        study_name=study_name,
        storage=where,
        dashboard=dashboard_command(storage, where),
        sampler=sampler,
        metric_split="val",
        n_trials_run=n_trials,
        n_trials_total=len(study.trials),
        elapsed_s=time.perf_counter() - start,
        objective_names=("emissions_kg", "val_metric_oriented"),
        seed=seed,
        worker=worker,
        repeats_rejected=fresh.repeats_rejected,
        claimed_elsewhere=fresh.claimed_elsewhere,
    )

    def live_row(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
        values = trial.values or [math.nan, math.nan]
        config = config_of(trial.params)
        stopping = stopping_section(config, space.params_of(rule_name(config)))
        return {
            "label": trial.user_attrs.get("label"),
            "rule": rule_name(config),
            **{name: value for name, value in stopping.items() if name != "rule"},
            "stopping": stopping,
            "emissions_kg": values[0],
            "val_metric_oriented": values[1],
            "test_metric_mean": trial.user_attrs.get("test_metric_mean"),
            "stop_epoch_mean": trial.user_attrs.get("stop_epoch_mean"),
            "trial": trial.number,
        }

    finished = [t for t in study.trials if t.values is not None and t.state == TrialState.COMPLETE]
    default_label = rule_label(AnGesConfig())
    for trial in finished:
        if trial.user_attrs.get("label") == default_label:
            result.defaults = live_row(trial)
            break
    result.pareto = [live_row(t) for t in study.best_trials if t.values is not None]
    result.pareto.sort(key=lambda r: r["emissions_kg"])
    result.notes.append(
        "live trials: objectives are absolute (mean kg CO2-eq of training, mean validation metric at the stop, "
        "negated for RMSE/MAE); no full-budget reference is trained"
    )
    return result


# ---------------------------------------------------------------------------------------------------- outputs


def _yaml_stopping(row: dict[str, Any]) -> dict[str, Any]:
    """A row's ``stopping:`` section, ready to paste into a trial config."""
    return dict(row["stopping"])


def _picks(result: TuneResult) -> dict[str, Any]:
    """The knee and the constrained pick, each with its stopping section (best_configs.yaml)."""

    def pick(row: dict[str, Any] | None) -> dict[str, Any] | None:
        if row is None:
            return None
        keys = ("label", "co2_saved_median_pct", "quality_change_median_pct", "test_vs_best_val_median_pct")
        return {"stopping": _yaml_stopping(row), **{k: row[k] for k in keys}, "within_1pct": row["within_1pct"]}

    constrained = pick(result.constrained)
    return {
        "recommended": pick(result.recommended),
        "constrained": constrained
        if constrained is not None
        else {"none_qualifies": result.constrained_note or "no replay result"},
        "max_loss_pct": result.max_loss,
    }


def write_tuning_outputs(
    result: TuneResult,
    out_dir: Path,
    *,
    datasets: Sequence[str] = (),
    seeds: Sequence[int] = (),
) -> list[Path]:
    """``tune_pareto.csv``, ``tune_report.md``, ``best_configs.yaml``, ``recommended_trial.yaml`` and a W&B sweep
    ``sweep_anges_pareto.yaml`` that re-runs the Pareto configs (and the defaults) live over ``datasets`` x
    ``seeds``: a replay-tuned rule should be confirmed by real runs before it is trusted."""
    import pandas as pd
    import yaml

    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    pareto_csv = out_dir / "tune_pareto.csv"
    pd.DataFrame(tidy([{k: v for k, v in r.items() if k != "stopping"} for r in result.pareto])).to_csv(
        pareto_csv, index=False
    )
    written.append(pareto_csv)

    pareto = [
        {"stopping": _yaml_stopping(r), **{k: v for k, v in r.items() if k != "stopping" and k not in r["stopping"]}}
        for r in result.pareto
    ]
    configs = {
        "study": {
            "name": result.study_name,
            "storage": mask_credentials(result.storage),  # a TuneResult built by hand may hold a raw URL
            "mode": result.mode,
            "sampler": result.sampler,
            "seed": result.seed,
            "worker": result.worker,
        },
        "objectives": list(result.objective_names),
        "warnings": list(result.warnings),
        "defaults": {k: v for k, v in result.defaults.items() if k != "stopping"},
        **(_picks(result) if result.mode == "replay" else {"recommended": None}),
        "pareto": pareto,
    }
    best = out_dir / "best_configs.yaml"
    best.write_text(yaml.safe_dump(_plain(configs), sort_keys=False))
    written.append(best)
    if result.recommended is not None:
        trial_yaml = out_dir / "recommended_trial.yaml"
        trial_yaml.write_text(
            "# The stopping rule chosen by `greenft tune` (the Pareto knee; the --max-loss pick is in\n"
            "# best_configs.yaml under `constrained`); use with\n"
            "#   greenft train --config recommended_trial.yaml --dataset ...\n"
            + yaml.safe_dump({"stopping": _yaml_stopping(result.recommended)}, sort_keys=False)
        )
        written.append(trial_yaml)
    stopping_values = [_yaml_stopping(r) for r in result.pareto]
    default_stopping = {"rule": "anges", "alpha": 0.9, "beta": 0.2, "warmup": 3}
    if default_stopping not in stopping_values:
        stopping_values.append(default_stopping)
    sweep: dict[str, Any] = {
        "name": f"{result.study_name}-confirm",
        "method": "grid",
        "metric": {"name": TOTAL_EMISSIONS, "goal": "minimize"},
        "parameters": {"stopping": {"values": stopping_values}},
    }
    if datasets:
        sweep["parameters"]["dataset"] = {"values": list(datasets)}
    if seeds:
        sweep["parameters"]["seed"] = {"values": list(seeds)}
    sweep_yaml = out_dir / "sweep_anges_pareto.yaml"
    sweep_yaml.write_text(
        "# W&B sweep re-running the replay-tuned Pareto configs (and the defaults) live. `stopping` is a dotted\n"
        "# TrialConfig path that greenft.sweeps.trial_config_from_sweep accepts; each value is one whole rule.\n"
        + yaml.safe_dump(_plain(sweep), sort_keys=False)
    )
    written.append(sweep_yaml)
    md = out_dir / "tune_report.md"
    md.write_text(render_tuning_markdown(result))
    written.append(md)
    return written


def _plain(value: Any) -> Any:
    """NaN -> None, tuples -> lists and floats at 15 significant digits (:func:`~greenft.schema.codec.tidy`:
    no ``0.8200000000000001``), so the YAML is plain and portable."""
    if isinstance(value, float):
        return tidy(value) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def render_tuning_markdown(result: TuneResult) -> str:
    lines = [f"# Stopping-rule tuning ({result.mode})", ""]
    lines.append(
        f"Study `{result.study_name}` in `{mask_credentials(result.storage)}` ({result.sampler} sampler, seed "
        f"{result.seed}): {result.n_trials_run} trials in {result.elapsed_s:.1f} s, {result.n_trials_total} in the "
        "study"
        + (f" ({result.trials_from_others} added meanwhile by other workers)" if result.trials_from_others else "")
        + f"; {result.repeats_rejected} proposals of configs the study already held were replaced by fresh ones "
        f"({result.claimed_elsewhere} of them claimed first by another worker)"
        + (f", scored by replay on {result.curves} curves" if result.mode == "replay" else "")
        + f". Objectives: minimise {result.objective_names[0]}, maximise {result.objective_names[1]}."
    )
    lines.append("")
    if result.dashboard is not None:
        masked = " (the password is masked: give it yourself)" if "***" in result.dashboard else ""
        lines += [f"Browse the study: `{result.dashboard}`{masked} (`{DASHBOARD_INSTALL}`).", ""]
    for warning in result.warnings:
        lines += [f"**Warning:** {warning}.", ""]
    if result.mode == "replay":
        lines += _replay_markdown(result)
    else:
        header = ["config", "mean kg CO2-eq", "mean val metric (oriented)", "mean test metric", "mean stop epoch"]
        rows = [
            [r["label"], r["emissions_kg"], r["val_metric_oriented"], r["test_metric_mean"], r["stop_epoch_mean"]]
            for r in result.pareto
        ]
        lines += ["## Pareto-optimal configs", "", markdown_table(header, rows)]
    for note in result.notes:
        lines += ["", f"Note: {note}"]
    lines.append("")
    return "\n".join(lines)


def _replay_markdown(result: TuneResult) -> list[str]:
    split = result.metric_split
    lines = [
        f"Rules searched: {', '.join(result.rules)}; W and patience ranges scaled to the curves' budget of "
        f"{result.budget} epochs. Quality = the deployed (best-so-far) weights vs {BEST_VAL}, median over the "
        f"curves, on the **{split}** metric (the objective); the test headline is shown beside it.",
        "",
    ]
    header = [
        "config",
        "CO2 saved % (median)",
        f"{split} vs {BEST_VAL} % (median, objective)",
        f"test vs {BEST_VAL} % (median, headline)",
        f"within {WITHIN_PCT:g} % of {BEST_VAL} (test)",
        "CO2 saved % (mean)",
        "test vs last epoch % (mean)",
        "epochs saved (mean)",
        "Δ saved vs defaults (pp)",
        "Δ quality vs defaults (pp)",
        "dominates defaults",
        "trials here",
    ]
    rows = [
        [
            r["label"],
            r["co2_saved_median_pct"],
            r["quality_change_median_pct"],
            r["test_vs_best_val_median_pct"],
            r["within_1pct"],
            r["emissions_saved_pct"],
            r["test_metric_change_pct"],
            r["epochs_saved"],
            r["delta_saved_pct_points"],
            r["delta_metric_pct_points"],
            r["dominates_defaults"],
            str(r["trials_here"]),
        ]
        for r in result.pareto
    ]
    d = result.defaults
    lines += ["## Pareto-optimal configs vs the defaults (exact AN-GES)", "", markdown_table(header, rows), ""]
    lines.append(
        f"Defaults `{d['label']}`: CO2 saved {d['co2_saved_median_pct']:.1f} % (median), {split} vs {BEST_VAL} "
        f"{d['quality_change_median_pct']:.2f} %, test vs {BEST_VAL} {d['test_vs_best_val_median_pct']:.2f} % "
        f"(within {WITHIN_PCT:g} %: {d['within_1pct']})."
    )
    lines += ["", "## Picks (stopping sections in best_configs.yaml)", ""]
    for title, row in (
        ("Knee of the front", result.recommended),
        (f"Constrained (--max-loss {result.max_loss:g})", result.constrained),
    ):
        if row is None:
            why = result.constrained_note if row is result.constrained else "no finite front"
            lines.append(f"- {title}: **none** — {why}.")
        else:
            lines.append(
                f"- {title}: `{row['label']}`: CO2 saved {row['co2_saved_median_pct']:.1f} % (median), {split} vs "
                f"{BEST_VAL} {row['quality_change_median_pct']:.2f} %, test vs {BEST_VAL} "
                f"{row['test_vs_best_val_median_pct']:.2f} % (within {WITHIN_PCT:g} %: {row['within_1pct']})."
            )
    if result.held_out is not None:
        lines += ["", *result.held_out.markdown_lines()]
    return lines

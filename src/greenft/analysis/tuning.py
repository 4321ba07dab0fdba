"""Tune AN-GES (alpha, beta, W) with Optuna: minimise emissions, maximise the retained metric.

Why replay: every trial of a live tuning sweep trains models and emits CO2 to find out where a rule would stop.
A shadow run already holds its full curve, so the same question is answered by replaying the rule on logged
curves (:func:`greenft.analysis.replay.replay`, the live rule's own code) in microseconds: 200 trials over a
dozen curves take seconds and emit next to nothing (``benchmarks/tuning_co2.py`` measures both).

Objectives per trial, averaged over the curves (each curve weighs the same):

1. **emissions spent %** of the full budget (``100 - emissions saved %``), minimised;
2. **metric change %** vs the full budget (positive = better), maximised. By default on the *validation*
   metric (``metric_split="val"``): tuning the rule on the test set would leak it into the choice; the test
   change of the chosen configs is reported beside it.

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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from greenft.analysis.records import METRIC_DIRECTIONS, Curve
from greenft.analysis.report import markdown_table
from greenft.analysis.tradeoff import RuleScore, score_rule
from greenft.schema import Point, point_key
from greenft.schema.summary import AT_EPOCH, AT_TEST, AT_VAL, METRIC, TOTAL_EMISSIONS
from greenft.stopping import AnGesConfig, MetricDirection, effective_threshold_fraction, rule_label

if TYPE_CHECKING:
    import optuna

    from greenft.agents.config import TrialConfig

__all__ = [
    "DEFAULT_STUDY",
    "SearchSpace",
    "TuneResult",
    "make_sampler",
    "make_storage",
    "tune_by_replay",
    "tune_live",
    "write_tuning_outputs",
]

DEFAULT_STUDY = "greenft-anges"
JOURNAL_FILE = "optuna_journal.log"
#: Called after every finished trial with (trials done in this call, trials asked for).
TrialProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class SearchSpace:
    """Ranges searched; alpha and beta on a grid of ``step`` (0.01 by default), W (``warmup``) an integer.

    The grid keeps the configs readable (``anges_a0.57_b0.93_w2``, not 16 digits) and loses nothing that
    matters: a stop epoch does not move for a change of alpha or beta below 0.01 except on knife-edge curves.
    """

    alpha: tuple[float, float] = (0.0, 1.0)
    beta: tuple[float, float] = (0.0, 1.0)
    warmup: tuple[int, int] = (2, 6)
    step: float | None = 0.01

    def suggest(self, trial: optuna.Trial) -> AnGesConfig:
        return AnGesConfig(
            alpha=round(trial.suggest_float("alpha", *self.alpha, step=self.step), 10),
            beta=round(trial.suggest_float("beta", *self.beta, step=self.step), 10),
            warmup=trial.suggest_int("warmup", *self.warmup),
        )


def _progress_callback(
    progress: TrialProgress | None, n_trials: int
) -> Callable[[optuna.Study, optuna.trial.FrozenTrial], None]:
    """An Optuna callback reporting (trials done, trials asked) to ``progress`` after each trial."""
    done = 0

    def callback(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, n_trials)

    return callback


def make_storage(storage: str | None, out_dir: Path) -> tuple[Any, str]:
    """The Optuna storage and a description of it.

    ``None``: a journal file ``out_dir/optuna_journal.log`` (append-only, safe for several local processes, no
    database needed). A URL with ``://`` (``sqlite:///...``, ``postgresql://...``, ``mysql://...``) is handed
    to Optuna as an RDB storage. ``"memory"``: in-process only (fastest; nothing kept, no dashboard). Any other
    string is taken as a journal file path.
    """
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    if storage in ("memory", ":memory:"):
        return None, "memory (not persisted)"
    if storage is not None and "://" in storage:
        return storage, storage
    path = Path(storage) if storage is not None else out_dir / JOURNAL_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(path))), str(path)


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


def _score_dict(config: AnGesConfig, score: RuleScore) -> dict[str, Any]:
    try:
        k = effective_threshold_fraction(config.alpha, config.beta)
    except ValueError:
        k = math.nan
    return {
        "label": rule_label(config),
        "alpha": config.alpha,
        "beta": config.beta,
        "warmup": config.warmup,
        "k": k,
        "emissions_spent_pct": score.emissions_spent_pct,
        "emissions_saved_pct": score.emissions_saved_pct,
        "val_metric_change_pct": score.val_metric_change_pct,
        "test_metric_change_pct": score.metric_change_pct,
        "epochs_saved": score.epochs_saved,
        "stop_rate": score.stop_rate,
    }


def _quiet_optuna() -> None:
    import optuna

    optuna.logging.set_verbosity(logging.WARNING)


def _set_metric_names(study: optuna.Study, names: list[str]) -> None:
    """Name the objectives (shown by optuna-dashboard); the API is flagged experimental, hence the filter."""
    import warnings

    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(names)


def _distance_to_defaults(params: dict[str, Any], space: SearchSpace) -> float:
    """How far a config is from the seed's defaults, each parameter scaled to its search range."""
    d = AnGesConfig()
    parts = [
        (float(params["alpha"]) - d.alpha) / max(space.alpha[1] - space.alpha[0], 1e-12),
        (float(params["beta"]) - d.beta) / max(space.beta[1] - space.beta[0], 1e-12),
        (float(params["warmup"]) - d.warmup) / max(space.warmup[1] - space.warmup[0], 1),
    ]
    return math.sqrt(sum(p * p for p in parts))


def tune_by_replay(
    curves: Sequence[Curve],
    out_dir: Path,
    *,
    n_trials: int = 200,
    storage: str | None = None,
    study_name: str = DEFAULT_STUDY,
    sampler: Literal["nsga2", "tpe", "random"] = "nsga2",
    seed: int = 0,
    space: SearchSpace | None = None,
    metric_split: Literal["val", "test"] = "val",
    progress: TrialProgress | None = None,
    per_trial_writes: bool | None = None,
) -> TuneResult:
    """Multi-objective search over (alpha, beta, W), each trial scored by replay on ``curves``.

    The defaults (0.9, 0.2, 3) are enqueued as the first trial of a new study so they are always among the
    evaluated points. With an existing study (same storage and name) the new trials are added to it.

    ``per_trial_writes`` (default: on for RDB URLs, off for the journal file): write every trial to the storage
    as it runs, so concurrent workers sample with each other's results. Off, the study runs in memory (seeded
    with the trials already stored) and the new trials are appended in one batch at the end: a replay trial
    takes microseconds while a journal write is fsynced, so this makes local tuning ~20x faster and greener.
    """
    import optuna

    if not curves:
        raise ValueError("no complete curves to tune on (shadow or full-budget runs are needed)")
    space = space or SearchSpace()
    _quiet_optuna()
    store, where = make_storage(storage, out_dir)
    names = ["emissions_spent_pct", f"{metric_split}_metric_change_pct"]
    persistent = optuna.create_study(
        study_name=study_name,
        storage=store,
        directions=["minimize", "maximize"],
        sampler=make_sampler(sampler, seed),
        load_if_exists=True,
    )
    _set_metric_names(persistent, names)
    if per_trial_writes is None:
        per_trial_writes = isinstance(store, str)  # an RDB URL: several workers may share the study
    if per_trial_writes or store is None:
        study = persistent
    else:
        study = optuna.create_study(directions=["minimize", "maximize"], sampler=make_sampler(sampler, seed))
        _set_metric_names(study, names)
        study.add_trials(persistent.trials)
    stored_before = len(study.trials)
    if not study.trials:
        defaults = AnGesConfig()
        study.enqueue_trial({"alpha": defaults.alpha, "beta": defaults.beta, "warmup": defaults.warmup})
    cache: dict[str, RuleScore] = {}

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        config = space.suggest(trial)
        label = rule_label(config)
        score = cache.get(label)
        if score is None:
            score = cache[label] = score_rule(curves, config)
        trial.set_user_attr("label", label)
        trial.set_user_attr("test_metric_change_pct", score.metric_change_pct)
        trial.set_user_attr("val_metric_change_pct", score.val_metric_change_pct)
        trial.set_user_attr("epochs_saved", score.epochs_saved)
        change = score.val_metric_change_pct if metric_split == "val" else score.metric_change_pct
        return score.emissions_spent_pct, change

    callback = _progress_callback(progress, n_trials)
    start = time.perf_counter()
    study.optimize(objective, n_trials=n_trials, callbacks=[callback], gc_after_trial=False)
    if study is not persistent:
        persistent.add_trials(study.trials[stored_before:])  # one batch: the journal is fsynced per write
    elapsed = time.perf_counter() - start

    result = TuneResult(
        mode="replay",
        study_name=study_name,
        storage=where,
        sampler=sampler,
        metric_split=metric_split,
        n_trials_run=n_trials,
        n_trials_total=len(persistent.trials),
        elapsed_s=elapsed,
        objective_names=("emissions_spent_pct", f"{metric_split}_metric_change_pct"),
        curves=len(curves),
    )
    defaults = AnGesConfig()
    result.defaults = _score_dict(defaults, score_rule(curves, defaults))
    result.pareto = _pareto_configs(study, curves, space)
    result.trial_params = [dict(t.params) for t in study.trials if t.params]
    _compare_with_defaults(result)
    return result


def _pareto_configs(study: optuna.Study, curves: Sequence[Curve], space: SearchSpace) -> list[dict[str, Any]]:
    """The study's Pareto-optimal trials, one row per distinct trade-off.

    Many (alpha, beta, W) give the same stops on a handful of curves, so trials are grouped by their objective
    values; each group is represented by the config closest to the defaults (the smallest change that buys
    that trade-off) and reports how many trials landed there.
    """
    groups: dict[tuple[float, float], list[Any]] = {}
    for trial in study.best_trials:
        if trial.values is None:
            continue
        key = (round(trial.values[0], 9), round(trial.values[1], 9))
        groups.setdefault(key, []).append(trial)
    rows = []
    for (_spent, _change), trials in sorted(groups.items()):
        best = min(trials, key=lambda t: (_distance_to_defaults(t.params, space), t.number))
        config = AnGesConfig(alpha=best.params["alpha"], beta=best.params["beta"], warmup=best.params["warmup"])
        row = _score_dict(config, score_rule(curves, config))
        row["trials_here"] = len(trials)
        row["trial"] = best.number
        rows.append(row)
    return rows


def _compare_with_defaults(result: TuneResult) -> None:
    """Deltas vs the defaults, the dominance flag, and the recommended (knee) config."""
    d = result.defaults
    change_key = f"{result.metric_split}_metric_change_pct"
    for row in result.pareto:
        row["delta_saved_pct_points"] = row["emissions_saved_pct"] - d["emissions_saved_pct"]
        row["delta_metric_pct_points"] = row[change_key] - d[change_key]
        better_or_equal = row["emissions_saved_pct"] >= d["emissions_saved_pct"] and row[change_key] >= d[change_key]
        strictly = row["emissions_saved_pct"] > d["emissions_saved_pct"] or row[change_key] > d[change_key]
        row["dominates_defaults"] = bool(better_or_equal and strictly)
    finite = [r for r in result.pareto if math.isfinite(r["emissions_saved_pct"]) and math.isfinite(r[change_key])]
    if not finite:
        return
    # Knee: the front point closest to the utopia corner (most saved, best metric) after scaling each
    # objective to the front's range; with a single point, that point.
    xs = [r["emissions_saved_pct"] for r in finite]
    ys = [r[change_key] for r in finite]
    span_x, span_y = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0

    def distance(r: dict[str, Any]) -> float:
        return math.hypot((max(xs) - r["emissions_saved_pct"]) / span_x, (max(ys) - r[change_key]) / span_y)

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
    seed: int = 0,
    space: SearchSpace | None = None,
    progress: TrialProgress | None = None,
    runner: Callable[[TrialConfig], Any] | None = None,
) -> TuneResult:
    """Each trial trains one live run per seed with the proposed AN-GES rule (see the module docstring).

    ``runner`` defaults to :func:`greenft.agents.run_trial`; its result's ``summary`` must follow
    docs/logging.md (``total/emissions_kg``, ``metric``, ``stop/val_<metric>``, ``stop/test_<metric>``).
    """
    import optuna

    if runner is None:
        from greenft.agents import run_trial

        runner = run_trial
    run = runner
    space = space or SearchSpace()
    _quiet_optuna()
    store, where = make_storage(storage, out_dir)
    study = optuna.create_study(
        study_name=study_name,
        storage=store,
        directions=["minimize", "maximize"],
        sampler=make_sampler(sampler, seed),
        load_if_exists=True,
    )
    _set_metric_names(study, ["emissions_kg", "val_metric_oriented"])
    if not study.trials:
        defaults = AnGesConfig()
        study.enqueue_trial({"alpha": defaults.alpha, "beta": defaults.beta, "warmup": defaults.warmup})

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        config = space.suggest(trial)
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
        return sum(emissions) / len(emissions), sum(vals) / len(vals)

    callback = _progress_callback(progress, n_trials)
    start = time.perf_counter()
    study.optimize(objective, n_trials=n_trials, callbacks=[callback], gc_after_trial=False)
    result = TuneResult(
        mode="live",
        study_name=study_name,
        storage=where,
        sampler=sampler,
        metric_split="val",
        n_trials_run=n_trials,
        n_trials_total=len(study.trials),
        elapsed_s=time.perf_counter() - start,
        objective_names=("emissions_kg", "val_metric_oriented"),
    )

    def live_row(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
        values = trial.values or [math.nan, math.nan]
        return {
            "label": trial.user_attrs.get("label"),
            "alpha": trial.params["alpha"],
            "beta": trial.params["beta"],
            "warmup": trial.params["warmup"],
            "emissions_kg": values[0],
            "val_metric_oriented": values[1],
            "test_metric_mean": trial.user_attrs.get("test_metric_mean"),
            "stop_epoch_mean": trial.user_attrs.get("stop_epoch_mean"),
            "trial": trial.number,
        }

    finished = [t for t in study.trials if t.values is not None]
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
    return {"rule": "anges", "alpha": float(row["alpha"]), "beta": float(row["beta"]), "warmup": int(row["warmup"])}


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
    pd.DataFrame(result.pareto).to_csv(pareto_csv, index=False)
    written.append(pareto_csv)

    pareto = [
        {"stopping": _yaml_stopping(r), **{k: v for k, v in r.items() if k not in ("alpha", "beta", "warmup")}}
        for r in result.pareto
    ]
    configs = {
        "study": {"name": result.study_name, "storage": result.storage, "mode": result.mode},
        "objectives": list(result.objective_names),
        "defaults": result.defaults,
        "recommended": None if result.recommended is None else {"stopping": _yaml_stopping(result.recommended)},
        "pareto": pareto,
    }
    best = out_dir / "best_configs.yaml"
    best.write_text(yaml.safe_dump(_plain(configs), sort_keys=False))
    written.append(best)
    if result.recommended is not None:
        trial_yaml = out_dir / "recommended_trial.yaml"
        trial_yaml.write_text(
            "# AN-GES parameters chosen by `greenft tune` (the Pareto knee); use with\n"
            "#   greenft train --config recommended_trial.yaml --dataset ...\n"
            + yaml.safe_dump({"stopping": _yaml_stopping(result.recommended)}, sort_keys=False)
        )
        written.append(trial_yaml)
    stopping_values = [_yaml_stopping(r) for r in result.pareto]
    default_stopping = _yaml_stopping({"alpha": 0.9, "beta": 0.2, "warmup": 3})
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
    """NaN -> None and tuples -> lists, so the YAML is plain and portable."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def render_tuning_markdown(result: TuneResult) -> str:
    lines = [f"# AN-GES tuning ({result.mode})", ""]
    lines.append(
        f"Study `{result.study_name}` in `{result.storage}` ({result.sampler} sampler): {result.n_trials_run} trials "
        f"in {result.elapsed_s:.1f} s, {result.n_trials_total} in the study"
        + (f", scored by replay on {result.curves} curves" if result.mode == "replay" else "")
        + f". Objectives: minimise {result.objective_names[0]}, maximise {result.objective_names[1]}."
    )
    lines.append("")
    if result.mode == "replay":
        header = [
            "config",
            "k",
            "emissions saved %",
            "val metric change %",
            "test metric change %",
            "epochs saved",
            "Δ saved vs defaults (pp)",
            f"Δ {result.metric_split} metric vs defaults (pp)",
            "dominates defaults",
            "trials here",
        ]
        rows = [
            [
                r["label"],
                r["k"],
                r["emissions_saved_pct"],
                r["val_metric_change_pct"],
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
        lines += ["## Pareto-optimal configs vs the defaults", "", markdown_table(header, rows), ""]
        lines.append(
            f"Defaults `{d['label']}` (k = {d['k']:.4f}): emissions saved {d['emissions_saved_pct']:.1f} %, "
            f"val metric change {d['val_metric_change_pct']:.2f} %, test metric change "
            f"{d['test_metric_change_pct']:.2f} %, epochs saved {d['epochs_saved']:.2f}."
        )
        if result.recommended is not None:
            r = result.recommended
            lines.append("")
            lines.append(
                f"Recommended (knee of the front): `{r['label']}`: saved {r['emissions_saved_pct']:.1f} %, "
                f"val {r['val_metric_change_pct']:.2f} %, test {r['test_metric_change_pct']:.2f} %."
            )
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

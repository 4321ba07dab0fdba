"""The CO2 of tuning AN-GES by replay vs what the equivalent live sweep would emit.

Why: replaying a rule on logged curves is only worth it if it is much greener than training with each
candidate rule. This benchmark tunes (alpha, beta, W) by replay (``greenft.analysis.tuning.tune_by_replay``,
Optuna, default 200 trials) under a CodeCarbon meter, and prices the same sweep done live from the very
curves it used: a live trial with config c on curve j trains until c's stop epoch, so it emits the curve's
cumulative training emissions at that epoch (plus greenft's per-epoch test evaluation, shown apart).

Printed (and written with ``--json``):

* **replay tuning**: kg CO2-eq, kWh and seconds measured around the Optuna study (the only new cost);
* **curves**: what the shadow runs that produced the curves emitted (paid once, reusable by every study);
* **equivalent live sweep**: sum over trials and curves of the emissions up to each replayed stop;
* the ratios live / replay and live / (replay + curves).

On a machine without a power sensor (containers, this project's CI) CodeCarbon estimates CPU power from load
(greenft's meter says so); the curves' emissions were estimated the same way, so the ratio is consistent.

Usage::

    python benchmarks/tuning_co2.py --source RUNS_DIR [--trials 200] [--json out.json]
    python benchmarks/tuning_co2.py --source /tmp/sweep --make-runs   # first train a small shadow sweep there
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from greenft.analysis.reader import read_runs
from greenft.analysis.records import CurveError, RunRecord, curve_from_record
from greenft.analysis.replay import replay
from greenft.analysis.tuning import tune_by_replay
from greenft.stopping import AnGesConfig

console = Console()


def make_runs(root: Path, datasets: list[str], seeds: list[int], epochs: int, limit: int) -> None:
    """A small shadow sweep (the acceptance setting): 2x32 GIN, ``limit`` molecules, one thread."""
    from greenft.agents import TrialConfig, run_trial

    for dataset in datasets:
        for seed in seeds:
            start = time.perf_counter()
            config = TrialConfig.model_validate(
                {
                    "seed": seed,
                    "threads": 1,
                    "mode": "shadow",
                    "data": {"dataset": dataset, "limit": limit},
                    "model": {"num_layers": 2, "emb_dim": 32, "dropout": 0.0},
                    "optim": {"max_epochs": epochs, "batch_size": 64},
                    "tracking": {"measure_power_secs": 1.0},
                    "logging": {"runs_dir": str(root), "system_metrics": False, "group": "tuning-co2"},
                }
            )
            result = run_trial(config)
            console.print(
                f"  trained {dataset} seed {seed}: {len(result.epochs)} epochs in {time.perf_counter() - start:.1f} s"
            )


def _test_eval_at(record: RunRecord) -> dict[int, float]:
    out: dict[int, float] = {}
    for row in record.history:
        epoch, value = row.get("epoch"), row.get("emissions/test_eval_cumulative_kg")
        if isinstance(epoch, int) and isinstance(value, int | float):
            out[epoch] = float(value)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True, help="directory of shadow runs (W&B offline)")
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--make-runs", action="store_true", help="train a small shadow sweep into --source first")
    parser.add_argument("--datasets", default="b3db,freesolv")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_SILENT", "true")
    logging.getLogger("codecarbon").setLevel(logging.ERROR)

    if args.make_runs:
        console.print(f"training a shadow sweep into {args.source}")
        make_runs(
            args.source, args.datasets.split(","), [int(s) for s in args.seeds.split(",")], args.epochs, args.limit
        )

    records = read_runs(args.source, use_cache=False)
    pairs = []
    for record in records:
        try:
            curve = curve_from_record(record)
        except CurveError:
            continue
        if record.state == "finished" and curve.complete:
            pairs.append((record, curve))
    if not pairs:
        console.print(f"[red]no complete curves under {args.source}[/] (use --make-runs)")
        return 2
    curves = [c for _, c in pairs]

    from greenft.tracking import CodeCarbonMeter

    measured: dict[str, tuple[float, float, float]] = {}  # storage -> (kg, kWh, wall s)
    trial_params: list[dict[str, Any]] = []
    result = None
    for storage in ("journal", "memory"):
        with tempfile.TemporaryDirectory() as tmp:
            meter = CodeCarbonMeter(measure_power_secs=1.0)
            meter.start()
            start = time.perf_counter()
            result = tune_by_replay(
                curves,
                Path(tmp),
                n_trials=args.trials,
                seed=args.seed,
                storage=None if storage == "journal" else "memory",
                study_name="co2-benchmark",
            )
            wall = time.perf_counter() - start
            reading = meter.stop()
        measured[storage] = (reading.emissions_kg, reading.energy_kwh, wall)
        trial_params = result.trial_params  # same seed, same trials in both storages
    meter_info = meter.describe()

    # The live sweep: every trial trains every curve's (dataset, seed) until its replayed stop.
    live_train = live_test_eval = 0.0
    live_epochs = 0
    test_eval = {record.run_id: _test_eval_at(record) for record, _ in pairs}
    distinct: set[tuple[float, float, int]] = set()
    for params in trial_params:
        config = AnGesConfig(alpha=params["alpha"], beta=params["beta"], warmup=params["warmup"])
        distinct.add((config.alpha, config.beta, config.warmup))
        for curve in curves:
            stop = replay(curve, config)
            live_train += stop.emissions_kg
            live_test_eval += test_eval[curve.run_id].get(stop.stop_epoch, 0.0)
            live_epochs += stop.stop_epoch
    curves_train = sum(c.emissions_kg[-1] for c in curves)
    curves_test_eval = sum(max(test_eval[r.run_id].values(), default=0.0) for r, _ in pairs)
    replay_kg, replay_kwh, wall = measured["journal"]
    memory_kg, memory_kwh, memory_wall = measured["memory"]

    rows: list[tuple[str, float, str]] = [
        (
            "replay tuning, journal storage (measured)",
            replay_kg,
            f"{args.trials} trials, {wall:.1f} s wall, {replay_kwh:.2e} kWh",
        ),
        (
            "replay tuning, in-memory (measured)",
            memory_kg,
            f"{args.trials} trials, {memory_wall:.1f} s wall, {memory_kwh:.2e} kWh",
        ),
        ("curves: shadow runs (paid once)", curves_train, f"{len(curves)} runs, test-eval {curves_test_eval:.2e} kg"),
        (
            "equivalent live sweep (training)",
            live_train,
            f"{len(trial_params)} trials x {len(curves)} runs, {live_epochs} epochs; test-eval {live_test_eval:.2e} kg",
        ),
    ]
    table = Table(title="CO2 of tuning AN-GES: replay vs live")
    for column in ("what", "kg CO2-eq", "detail"):
        table.add_column(column)
    for name, kg, detail in rows:
        table.add_row(name, f"{kg:.3e}", detail)
    console.print(table)
    ratio = live_train / replay_kg if replay_kg > 0 else math.inf
    ratio_all = live_train / (replay_kg + curves_train) if replay_kg + curves_train > 0 else math.inf
    console.print(
        f"live sweep / replay tuning: {ratio:,.0f}x;  live sweep / (replay + the shadow runs): {ratio_all:,.1f}x; "
        f"distinct configs tried: {len(distinct)}"
    )
    console.print(f"meter: {meter_info.get('meter')} — {meter_info.get('note')}", soft_wrap=True)
    if args.json is not None:
        payload: dict[str, Any] = {
            "trials": args.trials,
            "curves": len(curves),
            "replay_tuning_kg": replay_kg,
            "replay_tuning_kwh": replay_kwh,
            "replay_tuning_s": wall,
            "replay_tuning_memory_kg": memory_kg,
            "replay_tuning_memory_s": memory_wall,
            "curves_kg": curves_train,
            "curves_test_eval_kg": curves_test_eval,
            "live_sweep_kg": live_train,
            "live_sweep_test_eval_kg": live_test_eval,
            "live_sweep_epochs": live_epochs,
            "ratio_live_over_replay": ratio,
            "ratio_live_over_replay_plus_curves": ratio_all,
            "distinct_configs": len(distinct),
            "pareto": result.pareto if result is not None else [],
            "meter": meter_info,
        }
        args.json.write_text(json.dumps(payload, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())

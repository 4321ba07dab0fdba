"""What the comparison benchmarks share: one shadow trial -> one result row, and the resumable JSON-lines file.

``chemprop_comparison.py`` and ``third_seed_comparison.py`` both run greenft trials in *shadow* mode with the exact
AN-GES rule (the full budget trains; the rule records where it would have stopped), so one run gives the test
metric at the best validation epoch, at the AN-GES stop and at the full budget, with the kg CO2-eq spent to reach
each. Rows are appended (flushed and fsynced) run by run, so an interrupted grid keeps every finished run and a
rerun skips them.
"""

from __future__ import annotations

import json
import math
import os
import statistics
from pathlib import Path
from typing import Any


def shadow_row(trial: dict[str, Any], where: str) -> dict[str, Any]:
    """Run one trial (a trial-config dict in shadow mode) and read the comparison's figures from its summary."""
    from greenft.agents.config import parse_trial_config
    from greenft.agents.trial import run_trial
    from greenft.schema import Point, point_key
    from greenft.schema.summary import AT_EMISSIONS, AT_EPOCH, AT_TEST, AT_TIME, STOP_TRIGGERED

    config = parse_trial_config(trial, where)
    epochs = int(trial["optim"]["max_epochs"])
    load = os.getloadavg()[0]
    result = run_trial(config)
    s, m = result.summary, result.metric.value
    fired = bool(s.get(STOP_TRIGGERED))
    return {
        "status": result.status,
        "metric": m,
        "epochs": epochs,
        "best_epoch": s.get(point_key(Point.BEST, AT_EPOCH)),
        "best_test": s.get(point_key(Point.BEST, AT_TEST, m)),
        "anges_epoch": s.get(point_key(Point.STOP, AT_EPOCH)) if fired else None,
        "anges_test": s.get(point_key(Point.STOP, AT_TEST, m)),
        "anges_kg": s.get(point_key(Point.STOP, AT_EMISSIONS)),
        "full_test": s.get(point_key(Point.FULL, AT_TEST, m)),
        "full_kg": s.get(point_key(Point.FULL, AT_EMISSIONS)),
        "s_per_epoch": (s.get(point_key(Point.FULL, AT_TIME)) or math.nan) / epochs,
        "load_before": load,
        "load_after": os.getloadavg()[0],
        "run_dir": str(result.files_dir),
    }


def read_runs(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def append_run(path: Path, row: dict[str, Any]) -> None:
    """One JSON line, flushed and fsynced, so an interrupted grid keeps every finished run."""
    with path.open("a") as handle:
        handle.write(json.dumps(row, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def finished_groups(runs: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The finished runs by (dataset, arm), one per seed: the first in the file (a rerun's duplicate is ignored)."""
    groups: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}
    for run in runs:
        if run.get("status") == "finished":
            groups.setdefault((run["dataset"], run["arm"]), {}).setdefault(int(run["seed"]), run)
    return {key: list(by_seed.values()) for key, by_seed in groups.items()}


def num(value: Any) -> float:
    """A float, or NaN for a missing / non-numeric cell."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def mean_sd(values: list[float], scale: float, digits: int) -> tuple[str, float, float]:
    """``"mean ± sd"`` over the finite values (scaled), with the numbers; ``"–"`` when none is finite."""
    finite = [v * scale for v in values if math.isfinite(v)]
    if not finite:
        return "–", math.nan, math.nan
    mean = statistics.fmean(finite)
    sd = statistics.stdev(finite) if len(finite) > 1 else 0.0
    return f"{mean:.{digits}f} ± {sd:.{digits}f}", mean, sd


def markdown_table(rows: list[dict[str, str]]) -> list[str]:
    if not rows:
        return []
    header = list(rows[0])
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *["| " + " | ".join(row[h] for h in header) + " |" for row in rows],
    ]

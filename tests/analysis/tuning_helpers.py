"""Hand-made curves for the tuning tests, and a ``tune_by_replay`` worker process for the tests that run
several workers on one storage at once (kept free of torch so that a worker starts in a second or two):

    python tuning_helpers.py STORAGE OUT TRIALS BARRIER_DIR WORKERS [SEED [SYNC_EVERY]]

The worker imports first, then waits at a file barrier (BARRIER_DIR, WORKERS) so that workers started together
reach the storage at the same moment (the first-start races need that), tunes on :func:`curves`, and prints its
result as one JSON line. A storage error is printed as ``error: <message>`` with exit code 2.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import optuna

from greenft.analysis.fresh_proposals import REPLACES_REPEAT
from greenft.analysis.records import Curve
from greenft.analysis.tuning import StorageError, tune_by_replay
from greenft.stopping import MetricDirection


def curves() -> list[Curve]:
    """Curves where the defaults stop at a first noisy dip, and a more patient config keeps improving."""
    shapes = [
        [0.60, 0.70, 0.74, 0.73, 0.78, 0.80, 0.81, 0.81],
        [0.55, 0.65, 0.70, 0.72, 0.71, 0.76, 0.77, 0.77],
        [0.62, 0.66, 0.69, 0.70, 0.705, 0.70, 0.70, 0.69],
    ]
    return [
        Curve(
            run_id=f"c{i}",
            metric="roc_auc",
            direction=MetricDirection.MAXIMIZE,
            val=tuple(v),
            test=tuple(x - 0.02 for x in v),
            emissions_kg=tuple(float(e) for e in range(1, 9)),
            budget=8,
            dataset="b3db",
            model="gin",
            seed=i,
        )
        for i, v in enumerate(shapes)
    ]


def wait_for_all(barrier: Path, workers: int, timeout_s: float = 240.0) -> None:
    """Start together: say "ready" once Optuna is imported, then wait until every worker has.

    A fixed start time could pass before a worker on a loaded machine had even imported Optuna; this barrier
    holds however slow the start is.
    """
    import optuna  # noqa: F401  # the slow import, done before the start

    barrier.mkdir(parents=True, exist_ok=True)
    (barrier / f"ready-{os.getpid()}").touch()
    deadline = time.monotonic() + timeout_s
    while len(list(barrier.glob("ready-*"))) < workers and time.monotonic() < deadline:
        time.sleep(0.01)


def main(argv: list[str]) -> int:
    storage, out, trials, barrier, workers = argv[0], Path(argv[1]), int(argv[2]), Path(argv[3]), int(argv[4])
    seed = int(argv[5]) if len(argv) > 5 else None
    sync_every = int(argv[6]) if len(argv) > 6 else 10
    wait_for_all(barrier, workers)
    try:
        # A replay trial on these tiny curves takes well under a millisecond: without a pause per trial one worker
        # can finish all of its trials before the other has opened the study, and nothing is left to share.
        result = tune_by_replay(
            curves(),
            out,
            n_trials=trials,
            storage=storage,
            seed=seed,
            progress=lambda done, total: time.sleep(0.03),
            sync_every=sync_every,
        )
    except StorageError as err:
        print(f"error: {err}")
        return 2
    print(
        json.dumps(
            {
                "seed": result.seed,
                "worker": result.worker,
                "storage": result.storage,
                "n_trials_total": result.n_trials_total,
                "trials_from_others": result.trials_from_others,
                "repeats_rejected": result.repeats_rejected,
                "claimed_elsewhere": result.claimed_elsewhere,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


def is_queued_default(trial: optuna.trial.FrozenTrial) -> bool:
    """The defaults the study's creator queued, not a fresh config queued in place of a rejected repeat."""
    return trial.system_attrs.get("fixed_params") is not None and REPLACES_REPEAT not in trial.user_attrs

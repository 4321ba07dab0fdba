"""``greenft tune`` workers on a real PostgreSQL server (started here, in a temp dir): the acceptance of issue 10.

Two worker processes started at the same moment on a fresh database must both finish (Optuna's schema is created
once, under greenft's advisory lock), lose no trial, draw distinct seeds (unlike the old default, seed 0 for every
worker, which made the second worker propose the first one's configs again), store no config twice (each is
claimed in the database before it is scored), and write no password anywhere.
Slow (several ``greenft tune`` processes, a few minutes on 2 cores); skipped, with the reason, where no PostgreSQL
server binaries or no psycopg driver exist. ``scripts/postgres-check.sh`` runs the same check with repeats.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest
from postgres_server import PostgresServer, find_bin_dir, server_user, start
from tuning_helpers import is_queued_default
from typer.testing import CliRunner

from conftest import small_trial
from greenft.agents import TrialConfig, run_trial
from greenft.cli import app

pytestmark = pytest.mark.slow
TRIALS = 100
DEFAULTS = {"rule": "anges", "alpha": 0.9, "beta": 0.2, "warmup": 3}  # the space has several rules by default


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    bin_dir, run_as = find_bin_dir(), server_user()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) found: install postgresql or set PG_BIN")
    if run_as is None:
        pytest.skip("running as root and there is no 'postgres' user to run the server as (set PG_USER)")
    pytest.importorskip("psycopg", reason="PostgreSQL driver missing: pip install 'greenft[postgres]'")
    srv = start(bin_dir, run_as)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three small shadow runs (8-epoch curves, W&B disabled): what replay tuning reads."""
    tmp = tmp_path_factory.mktemp("pg-runs")
    for seed in range(3):
        config = small_trial(tmp, seed=seed, mode="shadow", optim={"max_epochs": 8}, logging={"wandb_mode": "disabled"})
        run_trial(TrialConfig.model_validate(config))
    return tmp / "runs"


def tune_together(runs: Path, url: str, out: Path, seeds: list[int | None], trials: int) -> list[str]:
    """``greenft tune`` worker processes started at the same moment on ``url``; their outputs, all exit 0."""
    procs = []
    for i, seed in enumerate(seeds):
        args = ["--source", str(runs), "--out", str(out / f"w{i}"), "--cache-dir", str(out / "cache")]
        args += ["--storage", url, "--trials", str(trials)] + ([] if seed is None else ["--seed", str(seed)])
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "greenft", "tune", *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env={**os.environ, "COLUMNS": "200"},
            )
        )
    outputs = []
    for proc in procs:
        output, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"a worker crashed:\n{output}"
        outputs.append(output)
    return outputs


def trials_of(url: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name="greenft-anges", storage=url).trials


def config_of(trial: optuna.trial.FrozenTrial) -> tuple[tuple[str, Any], ...]:
    """A trial's config: the rule and every parameter it drew (the search space is conditional on the rule)."""
    return tuple(sorted(trial.params.items()))


def duplicates(trials: list[optuna.trial.FrozenTrial]) -> int:
    """Trials whose config an earlier trial of the study already had."""
    keys = [config_of(t) for t in trials]
    return len(keys) - len(set(keys))


def repeats_rejected(output: str) -> tuple[int, int]:
    """The counts a ``greenft tune`` worker prints: proposals of configs its study held, replaced by fresh ones,
    and how many of those another worker had claimed first (not yet synced)."""
    match = re.search(r"; (\d+) repeated proposals replaced by fresh configs \((\d+) of them claimed first", output)
    assert match, output
    return int(match.group(1)), int(match.group(2))


def replaced(outputs: list[str]) -> int:
    return sum(repeats_rejected(output)[0] for output in outputs)


def first_proposals_shared(trials: list[optuna.trial.FrozenTrial], n: int = 15) -> int:
    """How many of worker A's first ``n`` sampled configs worker B also sampled among its first ``n``."""
    by_worker: dict[str, list[tuple[tuple[str, Any], ...]]] = {}
    for t in trials:
        if not is_queued_default(t):
            by_worker.setdefault(t.user_attrs["worker"], []).append(config_of(t))
    first, second = (set(keys[:n]) for keys in by_worker.values())
    return len(first & second)


def test_two_workers_on_a_fresh_postgres_database(server: PostgresServer, runs: Path, tmp_path: Path) -> None:
    two = server.create_database("two_fresh")
    outputs = tune_together(runs, two, tmp_path / "two", [None, None], TRIALS)
    trials = trials_of(two)
    assert len(trials) == 2 * TRIALS and all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    workers = {t.user_attrs["worker"] for t in trials}
    seeds = {t.user_attrs["sampler_seed"] for t in trials}
    assert len(workers) == 2 and len(seeds) == 2  # a fresh seed per worker
    for worker in workers:
        assert sum(t.user_attrs["worker"] == worker for t in trials) == TRIALS
    enqueued = [t.params for t in trials if is_queued_default(t)]
    assert enqueued == [DEFAULTS]  # exactly one worker created the study and enqueued the defaults

    # The same two workers with the old default (both seed 0), and one worker doing all the trials alone.
    same = server.create_database("two_same_seed")
    same_outputs = tune_together(runs, same, tmp_path / "same", [0, 0], TRIALS)
    one = server.create_database("one_alone")
    one_outputs = tune_together(runs, one, tmp_path / "one", [None], 2 * TRIALS)
    outputs += same_outputs + one_outputs
    same_trials, one_trials = trials_of(same), trials_of(one)
    assert len(same_trials) == len(one_trials) == 2 * TRIALS
    shared = {"fresh seeds": first_proposals_shared(trials), "same seed": first_proposals_shared(same_trials)}
    assert shared["fresh seeds"] <= 1, shared
    stored = {"two fresh": duplicates(trials), "two same seed": duplicates(same_trials), "one": duplicates(one_trials)}
    # Proposals of a config the study held: scored and stored (a repeat between two syncs of two workers) or
    # rejected before scoring and replaced (what each worker prints).
    proposed = {
        "two fresh": stored["two fresh"] + replaced(outputs[:2]),
        "two same seed": stored["two same seed"] + replaced(same_outputs),
        "one": stored["one"] + replaced(one_outputs),
    }
    claimed_elsewhere = {
        "two fresh": sum(repeats_rejected(o)[1] for o in outputs[:2]),
        "two same seed": sum(repeats_rejected(o)[1] for o in same_outputs),
    }
    print(
        f"in {2 * TRIALS} trials: stored repeats {stored}; repeated proposals {proposed}, of which claimed first by "
        f"the other worker {claimed_elsewhere}; first 15 shared {shared}"
    )
    # No study stores a config twice: a worker alone rejects its sampler's repeats before scoring them, and two
    # workers claim each config in the database first (greenft.analysis.config_claims), so a proposal of a config
    # the other worker scored since the last sync is a repeat too.
    assert stored == {"two fresh": 0, "two same seed": 0, "one": 0}, stored
    # Fewer repeated proposals with fresh seeds than with one seed shared: the same-seed pair proposes the same
    # first configs (each one's second proposal loses its claim), the fresh-seeded pair does not.
    assert proposed["two fresh"] < proposed["two same seed"], proposed

    # No password in any file written or any line printed.
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "best_configs.yaml" for p in files) and any(p.name == "tune_report.md" for p in files)
    for path in files:
        assert server.password not in path.read_text(errors="replace"), path
    for output in outputs:
        assert server.password not in output
    assert f"postgresql://greenft:***@127.0.0.1:{server.port}/two_fresh" in outputs[0]


@pytest.mark.parametrize(
    ("database", "password", "expected"),
    [
        ("tune_errors", "wrong-password", 'password authentication failed for user "greenft"'),
        ("no_such_database", None, 'database "no_such_database" does not exist'),
    ],
)
def test_wrong_password_or_database_is_one_line(
    server: PostgresServer, tmp_path: Path, database: str, password: str | None, expected: str
) -> None:
    if database == "tune_errors":
        server.create_database(database)
    url = server.url(database, password)
    args = ["tune", "--source", str(tmp_path), "--out", str(tmp_path / "out"), "--storage", url]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "100"})
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and expected in lines[0], result.output
    assert server.password not in lines[0] and (password is None or password not in lines[0])
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())

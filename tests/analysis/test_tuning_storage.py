"""Optuna storages for ``greenft tune``: seeds per worker, masked credentials, one-line storage errors, and several
worker processes on one journal file or SQLite database (the PostgreSQL server test is in
``test_tuning_postgres.py``, marked slow)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml
from optuna.storages.journal import JournalFileSymlinkLock
from tuning_helpers import curves, is_queued_default
from typer.testing import CliRunner

from greenft.analysis.optuna_storage import _journal_lock
from greenft.analysis.tuning import (
    StorageError,
    make_storage,
    mask_credentials,
    open_rdb_storage,
    tune_by_replay,
    write_tuning_outputs,
)
from greenft.cli import app

HELPERS = Path(__file__).with_name("tuning_helpers.py")
DEFAULTS = {"alpha": 0.9, "beta": 0.2, "warmup": 3}
runner = CliRunner()


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def stored_trials(storage: str, tmp_path: Path) -> list[optuna.trial.FrozenTrial]:
    store, _ = make_storage(storage, tmp_path)
    assert store is not None
    return optuna.load_study(study_name="greenft-anges", storage=store).trials


def key(trial: optuna.trial.FrozenTrial) -> tuple[float, float, int]:
    return trial.params["alpha"], trial.params["beta"], trial.params["warmup"]


# ------------------------------------------------------------------------------------------------------ seeds


def test_each_worker_draws_its_own_seed_and_a_given_seed_repeats(tmp_path: Path) -> None:
    first = tune_by_replay(curves(), tmp_path / "a", n_trials=12, storage="memory")
    second = tune_by_replay(curves(), tmp_path / "b", n_trials=12, storage="memory")
    assert isinstance(first.seed, int) and isinstance(second.seed, int) and first.seed != second.seed
    assert first.trial_params[1:] != second.trial_params[1:]  # after the enqueued defaults, other proposals
    again = [tune_by_replay(curves(), tmp_path / "c", n_trials=12, storage="memory", seed=7) for _ in range(2)]
    assert again[0].seed == again[1].seed == 7 and again[0].trial_params == again[1].trial_params

    # The seed is recorded with every stored trial and in the output files.
    journal = str(tmp_path / "study.log")
    result = tune_by_replay(curves(), tmp_path / "d", n_trials=5, storage=journal)
    trials = stored_trials(journal, tmp_path)
    assert {t.user_attrs["sampler_seed"] for t in trials} == {result.seed}
    assert {t.user_attrs["worker"] for t in trials} == {result.worker}
    write_tuning_outputs(result, tmp_path / "d")
    study = yaml.safe_load((tmp_path / "d" / "best_configs.yaml").read_text())["study"]
    assert study["seed"] == result.seed and study["worker"] == result.worker
    assert f"seed {result.seed}" in (tmp_path / "d" / "tune_report.md").read_text()


def test_a_second_worker_never_spends_trials_on_the_first_ones_configs(tmp_path: Path) -> None:
    """The old default (every worker seed 0) made a second worker propose, and score, the first one's configs
    again. Same seed or not, its repeats are now rejected before they are scored and replaced by fresh configs:
    no stored trial repeats another, and with the same seed the second worker's sampler is seen repeating."""
    overlap, rejected = {}, {}
    for name, seed in (("same", 0), ("fresh", None)):
        journal = str(tmp_path / f"{name}.log")
        for _ in range(2):  # one after the other: each one's first proposals come from its own seed
            result = tune_by_replay(curves(), tmp_path / name, n_trials=16, storage=journal, seed=seed)
        rejected[name] = result.repeats_rejected  # the second worker's
        trials = stored_trials(journal, tmp_path)
        assert len(trials) == 32 and all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
        assert len({key(t) for t in trials}) == 32  # every stored trial a config of its own
        by_worker: dict[str, set[tuple[float, float, int]]] = {}
        for trial in trials:
            if not is_queued_default(trial):
                by_worker.setdefault(trial.user_attrs["worker"], set()).add(key(trial))
        first, second = by_worker.values()
        overlap[name] = len(first & second)
    assert overlap == {"same": 0, "fresh": 0}, overlap
    assert rejected["same"] >= 10 and rejected["fresh"] <= 1, rejected


# ------------------------------------------------------------------------------------------------ credentials


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://greenft:s3cret@db:5432/tune", "postgresql://greenft:***@db:5432/tune"),
        ("postgresql+psycopg2://greenft:s3%40cret@db/tune", "postgresql+psycopg2://greenft:***@db/tune"),
        ("mysql+pymysql://u:s3cret@h/d?charset=utf8mb4", "mysql+pymysql://u:***@h/d?charset=utf8mb4"),
        ("postgresql://u@h/d?password=s3cret&sslmode=require", "postgresql://u@h/d?password=***&sslmode=require"),
        ("postgresql://u:s3cret@h:notaport/d", "postgresql://u:***@h:notaport/d"),  # SQLAlchemy cannot parse it
        ("sqlite:////tmp/tune.db", "sqlite:////tmp/tune.db"),
        ("tune/optuna_journal.log", "tune/optuna_journal.log"),
    ],
)
def test_credentials_are_masked(url: str, shown: str) -> None:
    assert mask_credentials(url) == shown
    assert mask_credentials(shown) == shown  # masking twice changes nothing


def test_output_files_never_hold_the_password(tmp_path: Path) -> None:
    result = tune_by_replay(curves(), tmp_path, n_trials=10, storage="memory")
    result.storage = "postgresql://greenft:s3cret-pw@db:5432/tune"  # as a caller might fill it in by hand
    files = write_tuning_outputs(result, tmp_path, datasets=["b3db"], seeds=[0])
    assert len(files) == 5
    for path in files:
        assert "s3cret-pw" not in path.read_text(), path
    assert "postgresql://greenft:***@db:5432/tune" in (tmp_path / "best_configs.yaml").read_text()


# ------------------------------------------------------------------------------------------- one-line errors


def tune_cli(tmp_path: Path, storage: str) -> tuple[int, list[str]]:
    """``greenft tune`` with a storage; the source does not exist: the storage is checked before any run is read."""
    args = ["tune", "--source", str(tmp_path / "no-runs"), "--out", str(tmp_path / "out"), "--storage", storage]
    result = runner.invoke(app, args, env={"COLUMNS": "100"})
    return result.exit_code, [line for line in result.output.splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("storage", "expected"),
    [
        ("postgresql://greenft:s3cret-pw@127.0.0.1:{port}/tune", ["cannot connect", "Connection refused"]),
        ("sqlite:///{tmp}/missing/dir/tune.db", ["unable to open database file", "does the directory"]),
        ("nosuchdb://greenft:s3cret-pw@host/tune", ["unknown database dialect 'nosuchdb'"]),
        ("{tmp}/a-file/journal.log", ["journal file", "a-file is not a directory"]),
    ],
)
def test_storage_errors_are_one_line_with_the_url_masked(tmp_path: Path, storage: str, expected: list[str]) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    storage = storage.format(port=closed_port(), tmp=tmp_path)
    code, lines = tune_cli(tmp_path, storage)
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith("error: ") and "Traceback" not in lines[0]
    assert "s3cret-pw" not in lines[0] and mask_credentials(storage) in lines[0]
    for text in expected:
        assert text in lines[0]


def test_a_missing_driver_names_the_extra_to_install(tmp_path: Path) -> None:
    """psycopg (3), the driver of ``postgresql://``, made unimportable in a fresh interpreter as if not installed;
    a driver that is really not installed here (pymysql) takes the same path."""
    code = textwrap.dedent(
        """
        import sys
        sys.modules["psycopg"] = None  # `import psycopg` now fails as it does where the package is missing
        from greenft.analysis.tuning import StorageError, open_rdb_storage
        try:
            open_rdb_storage("postgresql://greenft:s3cret-pw@127.0.0.1:5432/tune")
        except StorageError as err:
            print(err)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    message = out.stdout.strip()
    assert "pip install 'greenft[postgres]'" in message and "no module 'psycopg'" in message
    assert "s3cret-pw" not in message and len(message.splitlines()) == 1
    pytest.importorskip("sqlalchemy.dialects.mysql")
    try:
        import pymysql  # noqa: F401
    except ImportError:
        with pytest.raises(StorageError, match=r"mysql\+pymysql driver is not installed .*'pymysql'"):
            open_rdb_storage("mysql+pymysql://u:s3cret-pw@127.0.0.1/d")


def test_any_sqlalchemy_url_is_accepted(tmp_path: Path) -> None:
    for url in (f"sqlite:///{tmp_path / 'a.db'}", f"sqlite+pysqlite:///{tmp_path / 'b.db'}"):
        result = tune_by_replay(curves(), tmp_path, n_trials=3, storage=url, study_name="s")
        assert result.storage == url and len(optuna.load_study(study_name="s", storage=url).trials) == 3


# ------------------------------------------------------------------------------------- several workers at once


def run_workers(
    storage: str, tmp_path: Path, trials: int, seeds: list[int | None], sync_every: int | None = None
) -> list[dict[str, Any]]:
    """Worker processes (``tuning_helpers.py``) that all reach ``storage`` at the same moment (a file barrier);
    ``sync_every`` needs every seed given."""
    barrier = tmp_path / "barrier"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HELPERS.parent), os.environ.get("PYTHONPATH", "")])}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(HELPERS),
                storage,
                str(tmp_path / f"out{i}"),
                str(trials),
                str(barrier),
                str(len(seeds)),
            ]
            + ([] if seed is None else [str(seed)])
            + ([] if sync_every is None else [str(sync_every)]),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i, seed in enumerate(seeds)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"worker crashed:\n{out}\n{err}"
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


@pytest.mark.parametrize("kind", ["journal", "sqlite"])
def test_two_workers_started_together_share_one_study(tmp_path: Path, kind: str) -> None:
    storage = str(tmp_path / "study.log") if kind == "journal" else f"sqlite:///{tmp_path / 'study.db'}"
    results = run_workers(storage, tmp_path, trials=40, seeds=[None, None])
    trials = stored_trials(storage, tmp_path)
    assert len(trials) == 80 and all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)  # none lost
    assert len({r["seed"] for r in results}) == 2 and len({r["worker"] for r in results}) == 2
    for result in results:  # each worker's 40 trials are in the study, recorded with its seed
        mine = [t for t in trials if t.user_attrs["worker"] == result["worker"]]
        assert len(mine) == 40 and {t.user_attrs["sampler_seed"] for t in mine} == {result["seed"]}
    enqueued = [t for t in trials if is_queued_default(t)]
    assert len(enqueued) == 1 and enqueued[0].params == DEFAULTS  # the creator alone enqueued the defaults
    # The workers saw each other's trials while running: the one finishing last read in the other's.
    assert max(r["trials_from_others"] for r in results) > 0
    assert max(r["n_trials_total"] for r in results) == 80
    assert len({t.user_attrs["label"] for t in trials}) == 80  # no config stored twice (claimed before scored)


@pytest.mark.slow  # two tune subprocesses: ~11 s on a journal, ~30 s on SQLite (fast: test_config_claims.py)
@pytest.mark.parametrize("kind", ["journal", "sqlite"])
def test_two_same_seed_workers_that_never_sync_still_store_no_config_twice(tmp_path: Path, kind: str) -> None:
    """The claim, not the sync, is the guarantee: two workers with one seed propose the same configs, and with
    no sync until their last trial each one learns nothing of the other's trials while it runs. Without the claim
    in the shared storage both would score (and store) their common proposals; with it, the second proposal of
    each is a repeat, replaced by a fresh config."""
    storage = str(tmp_path / "study.log") if kind == "journal" else f"sqlite:///{tmp_path / 'study.db'}"
    results = run_workers(storage, tmp_path, trials=25, seeds=[5, 5], sync_every=1000)
    trials = stored_trials(storage, tmp_path)
    assert len(trials) == 50 and all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert len({t.user_attrs["label"] for t in trials}) == 50, [t.user_attrs["label"] for t in trials]
    assert sum(r["claimed_elsewhere"] for r in results) > 0  # a claim lost to the other worker was the check


def test_an_interrupted_worker_keeps_the_trials_it_finished(tmp_path: Path) -> None:
    def stop_after_15(done: int, total: int) -> None:
        if done == 15:
            raise KeyboardInterrupt

    journal = str(tmp_path / "study.log")
    with pytest.raises(KeyboardInterrupt):
        tune_by_replay(curves(), tmp_path, n_trials=40, storage=journal, progress=stop_after_15)
    assert len(stored_trials(journal, tmp_path)) == 15


def test_the_journal_uses_a_file_lock_that_works_here(tmp_path: Path) -> None:
    path = tmp_path / "study.log"
    path.touch()
    lock = _journal_lock(path)
    assert isinstance(lock, JournalFileSymlinkLock)  # this file system makes symlinks
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study.log"]  # the probe is gone


def test_storage_error_is_a_value_error() -> None:
    """Callers of the Python API that caught ValueError for bad arguments keep working."""
    assert issubclass(StorageError, ValueError)

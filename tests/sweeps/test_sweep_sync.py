"""`greenft sweep sync`: an offline sweep becomes a W&B sweep made from the same YAML, linking its runs.

What runs for real here: W&B's offline writer (the trials' run files), greenft's state file, the CLI, W&B's sweep
schema (the `sweeps` library), wandb 0.31's own `wandb sync` (uploading over HTTP and writing its
``.wandb.synced`` markers), its login check, ``wandb.sweep(..., prior_runs=...)`` and the state change
``wandb sweep --stop`` makes. What stands in: the W&B server only (tests/sweeps/wandb_graphql_standin.py, an
HTTP server at ``WANDB_BASE_URL`` answering the GraphQL operations with the server's shapes). Not verified here:
what the real server does with them (it links the runs, the sweep page shows them); docs say so.

The fast tests build a sweep's state with real offline W&B runs written once per module; the slow ones run a
real two-trial `greenft sweep run` first (about 75 s on a busy 2-core machine), the CLI in its own process, and
the login check against a closed port (its timeout).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner
from wandb_graphql_standin import DEFAULT_ENTITY, StandInServer

from conftest import wait_for_wandb_exit
from greenft.cli import app
from greenft.sweeps.spec import SweepSpec, load_sweep_spec, sweep_engine
from greenft.sweeps.state import Attempt, StateStore, SweepState, TrialRecord, sweep_dir
from greenft.sweeps.sync import SweepSyncError, plan_sync, upload

runner = CliRunner()
ENV = {"COLUMNS": "250"}
FAKE_KEY = "a" * 40  # a key of the right shape: wandb.sweep logs in with it without asking the (stand-in) server

TINY: dict[str, Any] = {
    "name": "tiny",
    "project": "greenft-test",
    "method": "grid",
    "metric": {"name": "stop/val_roc_auc", "goal": "maximize"},
    "parameters": {
        "model": {"value": "gin"},
        "dataset": {"value": "b3db"},
        "seed": {"values": [0, 1, 2]},
        "limit": {"value": 120},
        "num_layers": {"value": 2},
        "emb_dim": {"value": 16},
        "max_epochs": {"value": 2},
        "tracking.measure_power_secs": {"value": 1.0},
        "logging.system_metrics": {"value": False},
    },
}


def _offline_run(runs: Path, spec: SweepSpec, seed: int) -> tuple[str, Path]:
    """A real offline W&B run as a sweep trial logs it (group = sweep name, tag sweep:<id>)."""
    import wandb

    run = wandb.init(mode="offline", dir=runs, project="greenft-test", group=spec.name, tags=[f"sweep:{spec.sweep_id}"])
    run.config.update({"seed": seed})
    run.log({"val/roc_auc": 0.5 + seed / 10})
    run.finish()
    run_dir = next((runs / "wandb").glob(f"offline-run-*-{run.id}"))
    wait_for_wandb_exit(run_dir)
    return run.id, run_dir


def _trial(index: int, status: str, run: tuple[str, Path] | None) -> TrialRecord:
    attempt = Attempt(number=1, status=status, run_id=run[0] if run else None, run_path=str(run[1]) if run else None)
    seed = TINY["parameters"]["seed"]["values"][index]
    return TrialRecord(
        index=index, params={"seed": seed}, wandb_config={"seed": {"value": seed}}, status=status, attempts=[attempt]
    )


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Three real offline runs of the TINY sweep, written once per module (W&B's start-up is the slow part)."""
    folder = tmp_path_factory.mktemp("sync-runs")
    file = folder / "tiny.yaml"
    file.write_text(yaml.safe_dump(TINY, sort_keys=False))
    spec = load_sweep_spec(file)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WANDB_MODE", "offline")
        ids = [_offline_run(folder / "runs", spec, seed)[0] for seed in (0, 1, 2)]
    return folder, ids


@pytest.fixture
def offline_sweep(tmp_path: Path, three_runs: tuple[Path, list[str]]) -> tuple[Path, Path, list[str]]:
    """A YAML and its runs folder: trials t0000 and t0002 finished (real runs), t0001 crashed (a run, not synced)."""
    source, ids = three_runs
    file = tmp_path / "tiny.yaml"
    shutil.copy(source / "tiny.yaml", file)
    runs = tmp_path / "runs"
    shutil.copytree(source / "runs", runs, symlinks=True)
    spec = load_sweep_spec(file)
    made = [(run_id, next((runs / "wandb").glob(f"offline-run-*-{run_id}"))) for run_id in ids]
    state = SweepState(
        sweep_id=spec.sweep_id,
        name=spec.name,
        method=spec.method,
        file=str(file),
        config=spec.raw,
        trials=[_trial(0, "finished", made[0]), _trial(1, "crashed", made[1]), _trial(2, "finished", made[2])],
    )
    StateStore(sweep_dir(runs, spec.name, spec.sweep_id)).save(state)
    return file, runs, [ids[0], ids[2]]


def _dry_run_config(output: str) -> dict[str, Any]:
    block = output.split("sweep config:\n", 1)[1].split("dry run:", 1)[0]
    loaded = yaml.safe_load(block)
    assert isinstance(loaded, dict)
    return loaded


def test_dry_run_lists_the_finished_runs_and_the_yaml_as_the_sweep_config(offline_sweep: Any) -> None:
    file, runs, finished = offline_sweep
    before = sorted(p.name for p in runs.rglob("*"))
    result = runner.invoke(app, ["sweep", "sync", str(file), "--runs-dir", str(runs), "--dry-run"], env=ENV)
    assert result.exit_code == 0, result.output
    listed = [line.split()[1] for line in result.output.splitlines() if line.startswith("  t0")]
    assert listed == finished  # t0001 crashed: reported, neither uploaded nor linked
    assert "not uploaded nor linked (not finished): t0001 crashed" in result.output
    assert f"-m wandb sync --project greenft-test {runs}/wandb/" in result.output
    assert f"linking runs (prior_runs): {', '.join(finished)};" in result.output
    config = _dry_run_config(result.output)
    assert config == yaml.safe_load(file.read_text())
    assert sweep_engine().schema_violations_from_proposed_config(config) == []  # W&B's own sweep schema
    assert sorted(p.name for p in runs.rglob("*")) == before  # touched nothing

    # wandb's marker of an uploaded run (what `wandb sync` writes, beside the run file) -> skipped on a rerun
    marker = next(runs.glob(f"wandb/*-{finished[0]}")) / f"run-{finished[0]}.wandb.synced"
    marker.touch()
    result = runner.invoke(app, ["sweep", "sync", str(file), "--runs-dir", str(runs), "--dry-run"], env=ENV)
    assert result.exit_code == 0, result.output
    assert "upload 1 run(s)" in result.output and f"{finished[0]} " in result.output
    assert f"{finished[0]}: already on W&B (skipped)" in result.output
    assert f"linking runs (prior_runs): {', '.join(finished)};" in result.output  # still linked to the sweep


def test_a_yaml_that_does_not_match_the_sweep_state_is_refused(offline_sweep: Any, tmp_path: Path) -> None:
    file, runs, _ = offline_sweep
    edited = tmp_path / "edited" / "tiny.yaml"
    edited.parent.mkdir()
    changed = {**TINY, "parameters": {**TINY["parameters"], "max_epochs": {"value": 3}}}
    edited.write_text(yaml.safe_dump(changed, sort_keys=False))
    result = runner.invoke(app, ["sweep", "sync", str(edited), "--runs-dir", str(runs), "--dry-run"], env=ENV)
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert out.startswith("error: ") and "does not match the sweep run under" in out
    assert f"sweep id {load_sweep_spec(file).sweep_id}" in out and "Traceback" not in result.output

    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({**TINY, "name": "never-run"}, sort_keys=False))
    result = runner.invoke(app, ["sweep", "sync", str(other), "--runs-dir", str(runs), "--dry-run"], env=ENV)
    assert result.exit_code == 2 and "has not run under" in result.output


def test_a_run_of_another_sweep_in_the_state_is_refused(offline_sweep: Any) -> None:
    file, runs, _ = offline_sweep
    spec = load_sweep_spec(file)
    store = StateStore(sweep_dir(runs, spec.name, spec.sweep_id))
    state = store.load()
    import wandb

    stranger = wandb.init(mode="offline", dir=runs, project="greenft-test", tags=["sweep:00000000"])
    stranger.finish()
    stranger_dir = next((runs / "wandb").glob(f"offline-run-*-{stranger.id}"))
    wait_for_wandb_exit(stranger_dir)
    state.trials[2].attempts[0].run_id, state.trials[2].attempts[0].run_path = stranger.id, str(stranger_dir)
    store.save(state)
    with pytest.raises(SweepSyncError, match=r"does not carry the tag sweep:"):
        plan_sync(spec, runs)


def test_no_server_is_one_line_before_anything_is_uploaded(
    offline_sweep: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file, runs, _ = offline_sweep
    before = sorted(p.name for p in runs.rglob("*"))
    result = runner.invoke(app, ["sweep", "sync", str(file), "--runs-dir", str(runs)], env=ENV)  # WANDB_MODE=offline
    assert result.exit_code == 2 and result.output.startswith("error: WANDB_MODE=offline"), result.output
    assert "nothing was uploaded" in result.output

    monkeypatch.delenv("WANDB_MODE")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.netrc, no wandb settings: never logged in
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "home" / "wandb-config"))
    result = runner.invoke(app, ["sweep", "sync", str(file), "--runs-dir", str(runs)], env=ENV)
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "W&B is not reachable or not logged in" in result.output and "wandb login" in result.output
    assert sorted(p.name for p in runs.rglob("*")) == before  # no .wandb.synced marker, no sync state


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[StandInServer]:
    """The HTTP stand-in for the W&B server, with wandb pointed at it and a key of the right shape."""
    monkeypatch.delenv("WANDB_MODE")
    for name in ("WANDB_ENTITY", "WANDB_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "home" / "wandb-config"))
    monkeypatch.setenv("WANDB_API_KEY", FAKE_KEY)
    with StandInServer() as standin:
        monkeypatch.setenv("WANDB_BASE_URL", standin.url)
        yield standin
    import wandb

    wandb.teardown()  # the in-process CLI logged wandb's singleton in with the stand-in's key: not for later tests


def _in_process(monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    """The CLI in this process. wandb.sweep sets WANDB_ENTITY/WANDB_PROJECT in os.environ: set here to the same
    values first, so that the test's monkeypatch puts them back afterwards."""
    monkeypatch.setenv("WANDB_ENTITY", "me")
    monkeypatch.setenv("WANDB_PROJECT", "greenft-test")
    return runner.invoke(app, ["sweep", "sync", *args], env=ENV)


def _greenft(*args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in its own process (wandb.sweep sets WANDB_ENTITY/WANDB_PROJECT in its process' environment)."""
    command = [sys.executable, "-m", "greenft", "sweep", "sync", *args]
    env = {**os.environ, "COLUMNS": "250"}
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=240)


def test_the_runs_are_uploaded_then_the_sweep_is_created_from_the_yaml_linking_them(
    offline_sweep: Any, server: StandInServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    file, runs, finished = offline_sweep
    tag = f"sweep:{load_sweep_spec(file).sweep_id}"
    command = [str(file), "--runs-dir", str(runs), "--entity", "me"]
    done = _in_process(monkeypatch, *command)
    assert done.exit_code == 0, done.output
    state = server.state
    assert state.unknown == []
    # wandb's own sync uploaded exactly the finished trials' runs, with the sweep's tag, and marked them synced
    uploaded = state.runs[("me", "greenft-test")]
    assert sorted(uploaded) == sorted(finished) and all(run["tags"] == [tag] for run in uploaded.values())
    for run_id in finished:
        assert (next(runs.glob(f"wandb/*-{run_id}")) / f"run-{run_id}.wandb.synced").exists()
    # then the sweep: the same YAML, the runs linked (they existed when it was created), left FINISHED
    assert list(state.sweeps) == ["sw000001"]
    sweep = state.sweeps["sw000001"]
    assert yaml.safe_load(sweep["config"]) == yaml.safe_load(file.read_text())
    assert sweep["prior_runs_requested"] == finished and sweep["runs"] == finished
    assert (sweep["entity"], sweep["project"], sweep["state"]) == ("me", "greenft-test", "FINISHED")
    last_upload = max(i for i, op in enumerate(state.operations) if op == "UpsertBucket")
    assert state.operations.index("UpsertSweep") > last_upload
    out = " ".join(done.output.split())
    assert "not uploaded nor linked (not finished): t0001 crashed" in out
    assert "created sweep me/greenft-test/sw000001" in out
    assert f"sweep page: {server.url}/me/greenft-test/sweeps/sw000001" in out  # the URL wandb makes from the host

    # recorded beside the state: the same sync again would make a second W&B sweep of the same runs
    result = runner.invoke(app, ["sweep", "sync", *command], env=ENV)
    assert result.exit_code == 2 and "was synced to W&B already as me/greenft-test/sw000001" in result.output
    dry = runner.invoke(app, ["sweep", "sync", *command, "--dry-run"], env=ENV)
    assert "synced before as W&B sweep me/greenft-test/sw000001" in dry.output and "upload 0 run(s)" in dry.output
    # another project: the runs went to greenft-test only, wandb's marker notwithstanding: they go up again
    elsewhere = runner.invoke(app, ["sweep", "sync", *command, "--project", "elsewhere", "--dry-run"], env=ENV)
    assert elsewhere.exit_code == 0, elsewhere.output
    assert "upload 2 run(s) to me/elsewhere" in elsewhere.output
    assert "sync --project elsewhere --entity me --include-synced" in elsewhere.output
    assert "synced before" not in elsewhere.output
    assert list(state.sweeps) == ["sw000001"]

    again = _in_process(monkeypatch, *command, "--new-sweep")
    assert again.exit_code == 0, again.output
    assert list(state.sweeps) == ["sw000001", "sw000002"] and state.sweeps["sw000002"]["runs"] == finished
    spec = load_sweep_spec(file)
    record = json.loads((sweep_dir(runs, spec.name, spec.sweep_id) / "wandb-sweeps.json").read_text())
    assert [(r["path"], r["runs"]) for r in record] == [(f"me/greenft-test/sw00000{i}", finished) for i in (1, 2)]


def test_a_sweep_left_running_is_named_with_the_command_that_stops_it(
    offline_sweep: Any, server: StandInServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    file, runs, finished = offline_sweep
    server.refuse_state_change = True
    result = _in_process(monkeypatch, str(file), "--runs-dir", str(runs), "--entity", "me")
    assert result.exit_code == 2
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("error: sweep me/greenft-test/sw000001 was created with its runs, but its state could")
    assert "run `wandb sweep --stop me/greenft-test/sw000001`" in " ".join(result.output.split())
    assert server.state.sweeps["sw000001"]["state"] == "PENDING" and server.state.sweeps["sw000001"]["runs"] == finished
    spec = load_sweep_spec(file)
    record = json.loads((sweep_dir(runs, spec.name, spec.sweep_id) / "wandb-sweeps.json").read_text())
    assert [(r["path"], r["state"]) for r in record] == [("me/greenft-test/sw000001", "state not set")]
    again = _in_process(monkeypatch, str(file), "--runs-dir", str(runs), "--entity", "me")  # created: not twice
    assert again.exit_code == 2 and "synced to W&B already" in again.output


@pytest.mark.slow
def test_the_real_cli_process_syncs_to_the_default_entity(offline_sweep: Any, server: StandInServer) -> None:
    """`greenft sweep sync` as a user runs it (its own process, no --entity: the key's default entity)."""
    file, runs, finished = offline_sweep
    done = _greenft(str(file), "--runs-dir", str(runs))
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(server.state.runs[(DEFAULT_ENTITY, "greenft-test")]) == sorted(finished)
    sweep = server.state.sweeps["sw000001"]
    assert (sweep["entity"], sweep["runs"], sweep["state"]) == (DEFAULT_ENTITY, finished, "FINISHED")
    assert f"created sweep {DEFAULT_ENTITY}/greenft-test/sw000001" in " ".join(done.stdout.split())


def test_runs_not_uploaded_stop_before_the_sweep_is_created(offline_sweep: Any, server: StandInServer) -> None:
    """``wandb sync`` that leaves a run without its marker (here it cannot authenticate: no key) must not be
    followed by a sweep whose prior_runs filter would match nothing."""
    file, runs, _ = offline_sweep
    plan = plan_sync(load_sweep_spec(file), runs)
    with pytest.raises(SweepSyncError, match="the sweep was not created"):
        upload(plan, {**os.environ, "WANDB_API_KEY": ""})
    assert server.state.operations == [] and server.state.sweeps == {}


@pytest.mark.slow
def test_a_real_offline_sweep_dry_run_lists_its_runs(tmp_path: Path) -> None:
    """The real `greenft sweep run` (2 trials, real workers), then the real CLI's dry run and its refusals."""
    file = tmp_path / "tiny.yaml"
    two = {**TINY, "parameters": {**TINY["parameters"], "seed": {"values": [0, 1]}}}
    file.write_text(yaml.safe_dump(two, sort_keys=False))
    runs = tmp_path / "runs"
    env = {**os.environ, "COLUMNS": "250"}
    greenft = [sys.executable, "-m", "greenft", "sweep"]
    done = subprocess.run(
        [*greenft, "run", str(file), "--runs-dir", str(runs), "--threads", "1"],
        env=env, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    from greenft.analysis import find_offline_runs, read_offline_run

    spec = load_sweep_spec(file)
    tagged = [read_offline_run(f) for f in find_offline_runs(runs)]
    expected = sorted(r.run_id for r in tagged if f"sweep:{spec.sweep_id}" in r.tags)
    assert len(expected) == 2
    dry = subprocess.run(
        [*greenft, "sync", str(file), "--runs-dir", str(runs), "--project", "P", "--dry-run"],
        env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert dry.returncode == 0, dry.stdout + dry.stderr
    listed = [line.split()[1] for line in dry.stdout.splitlines() if line.startswith("  t0")]
    assert sorted(listed) == expected
    assert _dry_run_config(dry.stdout) == yaml.safe_load(file.read_text())
    assert sweep_engine().schema_violations_from_proposed_config(_dry_run_config(dry.stdout)) == []

    file.write_text(yaml.safe_dump({**two, "description": "edited"}, sort_keys=False))
    refused = subprocess.run(
        [*greenft, "sync", str(file), "--runs-dir", str(runs), "--dry-run"],
        env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert refused.returncode == 2 and refused.stdout.startswith("error: ") and "does not match" in refused.stdout


@pytest.mark.slow
def test_an_unreachable_server_is_one_line_before_anything_is_uploaded(
    offline_sweep: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key but no server (a closed port): wandb's login check gives up after its timeout (about 25 s here)."""
    file, runs, _ = offline_sweep
    before = sorted(p.name for p in runs.rglob("*"))
    monkeypatch.delenv("WANDB_MODE")
    monkeypatch.setenv("WANDB_API_KEY", FAKE_KEY)
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")
    result = runner.invoke(app, ["sweep", "sync", str(file), "--runs-dir", str(runs)], env=ENV)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: W&B is not reachable or not logged in (server http://127.0.0.1:9)")
    assert len(result.output.strip().splitlines()) == 1
    assert sorted(p.name for p in runs.rglob("*")) == before

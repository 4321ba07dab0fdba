"""``greenft sweep sync``: turn a sweep run here offline into a W&B sweep on a server, with the same YAML.

``wandb sync`` alone uploads the trials of an offline sweep as loose runs: W&B's sweep page, its parallel
coordinates over the sweep's parameters and its run counts exist only for runs a server-side sweep owns. W&B
links runs that already exist to a new sweep through ``prior_runs`` (``wandb sweep -R RUN_ID``): wandb 0.31.0's
``wandb.sweep(config, prior_runs=[...])`` sends ``priorRunsFilters = {"$or": [{"name": run_id}, ...]}`` in its
``upsertSweep`` mutation (``wandb/apis/public/sweeps.py``), a filter the server evaluates over the project's runs
when it creates the sweep. Hence the order here, each step only once the one before it succeeded:

1. :func:`plan_sync` reads the sweep's state file (what ``greenft sweep run`` recorded: every trial, its status,
   its run id and directory) and refuses a YAML whose content is not the one that sweep ran (its id is a hash of
   the content, :func:`greenft.sweeps.spec.sweep_id_of`); every run must carry the sweep's tag.
2. :func:`check_server` makes sure W&B is reachable and logged in *before* anything is uploaded: ``wandb sync``
   without credentials prints "Not authenticated." and exits 0, which a script would take for success.
3. :func:`upload` runs the venv's own ``wandb sync --project P [--entity E] DIRS`` (the documented CLI; its Python
   entry point ``wandb.cli.beta_sync`` is marked beta), then checks wandb's ``run-<id>.wandb.synced`` markers,
   which is also how a second ``greenft sweep sync`` skips runs already uploaded.
4. :func:`create_sweep` creates the sweep from the YAML with ``prior_runs`` = the run ids, then sets its state to
   ``FINISHED`` (what ``wandb sweep --stop`` does) so no ``wandb agent`` picks it up and runs more trials. wandb's
   ``_upsert_sweep`` takes a ``state`` too, but ``wandb.sweep`` does not pass one (the server creates the sweep
   PENDING); the state is a second mutation, the very one ``wandb sweep --stop`` sends, made before the sweep's id
   is printed, so no agent can have been pointed at it in between.

Only finished trials are uploaded and linked; crashed, preempted and pending ones are reported, not hidden. Each
sweep created is recorded in ``wandb-sweeps.json`` beside the state file: syncing the same sweep to the same
project again is refused (it would make a second W&B sweep of the same runs) unless asked for (``--new-sweep``,
e.g. once more trials finished).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

import yaml

from greenft.errors import UserError
from greenft.io import atomic_write_json
from greenft.sweeps.spec import SweepSpec, canonical_json
from greenft.sweeps.state import StateStore, SweepState, now, one_line, sweep_dir

FINAL_STATE: Final = "FINISHED"
"""The state the new sweep is left in: W&B's "stopped" (``wandb sweep --stop``); agents get no new trials."""

RECORD_FILE = "wandb-sweeps.json"
"""Beside the sweep's state: the W&B sweeps created from it, so a second sync does not create a duplicate."""

SERVER_TIMEOUT_S = 20
"""How long the login check waits for the server (it answers in well under a second when reachable)."""


class SweepSyncError(UserError):
    """The sweep cannot be synced as asked (no state for this YAML, a run missing, W&B not reachable, ...)."""


@dataclass(frozen=True)
class TrialRun:
    """One finished trial's W&B run.

    ``on_server``: logged online, or marked synced by wandb (``run-<id>.wandb.synced``) and not recorded as
    uploaded to another project only. ``marked``: wandb's marker exists (a re-upload needs ``--include-synced``).
    """

    trial_id: str
    run_id: str
    run_dir: Path
    on_server: bool
    marked: bool = False


@dataclass(frozen=True)
class SyncPlan:
    """Everything ``greenft sweep sync`` will do, computed without touching the network or any file."""

    spec: SweepSpec
    state_path: Path
    project: str
    entity: str | None
    runs: tuple[TrialRun, ...]
    unfinished: tuple[str, ...]
    """``"t0003 crashed"``, ...: trials that are not uploaded nor linked."""
    created_before: tuple[dict[str, Any], ...] = ()
    """The W&B sweeps already created from this sweep into the same project (:data:`RECORD_FILE`)."""

    @property
    def record_path(self) -> Path:
        return self.state_path.with_name(RECORD_FILE)

    @property
    def to_upload(self) -> list[TrialRun]:
        return [run for run in self.runs if not run.on_server]

    @property
    def prior_runs(self) -> list[str]:
        return [run.run_id for run in self.runs]

    @property
    def sweep_config(self) -> dict[str, Any]:
        """The YAML's own content: what ``wandb sweep FILE`` would send, and what the sweep page shows."""
        return dict(self.spec.raw)

    def sync_command(self) -> list[str]:
        """The ``wandb sync`` command line, run with this interpreter's wandb (the venv greenft runs in)."""
        command = [sys.executable, "-m", "wandb", "sync", "--project", self.project]
        if self.entity:
            command += ["--entity", self.entity]
        if any(run.marked for run in self.to_upload):  # synced to another project before: wandb would skip it
            command.append("--include-synced")
        return command + [str(run.run_dir) for run in self.to_upload]


def _mismatch(spec: SweepSpec, runs_dir: Path) -> SweepSyncError:
    """No state for this YAML's content: name the states of a sweep with the same name (an edited YAML)."""
    expected = sweep_dir(runs_dir, spec.name, spec.sweep_id)
    prefix = expected.name.rsplit("-", 1)[0]  # "frontier-cpu" must not find "frontier-cpu-pretrained-<id>"
    found = expected.parent.glob(f"{prefix}-*/state.json")
    others = sorted(p.parent for p in found if p.parent.name.rsplit("-", 1)[0] == prefix)
    if others:
        listed = ", ".join(f"{p.name} (sweep id {p.name.rsplit('-', 1)[-1]})" for p in others)
        return SweepSyncError(
            f"{spec.path}: does not match the sweep run under {runs_dir}: this file's content is sweep id "
            f"{spec.sweep_id}, the state there is {listed}; sync the YAML the sweep ran with (its content is kept "
            "in that state.json under 'config'), unchanged"
        )
    return SweepSyncError(
        f"{spec.path}: sweep {spec.name} ({spec.sweep_id}) has not run under {runs_dir} (no {expected / 'state.json'});"
        f" run `greenft sweep run {spec.path}` first, or pass the --runs-dir it used"
    )


def _run_dir(run_path: str | None, run_id: str, runs_dir: Path) -> Path | None:
    """The run's directory: as recorded (relative to where the sweep ran), else under ``runs_dir/wandb``."""
    candidates = [Path(run_path)] if run_path else []
    if run_path:
        candidates.append(runs_dir / "wandb" / Path(run_path).name)
    candidates += sorted((runs_dir / "wandb").glob(f"*-{run_id}"))
    return next((c for c in candidates if (c / f"run-{run_id}.wandb").is_file()), None)


def _trial_runs(state: SweepState, runs_dir: Path) -> tuple[list[TrialRun], list[str]]:
    from greenft.analysis.wandb_files import read_offline_run

    runs: list[TrialRun] = []
    unfinished: list[str] = []
    tag = f"sweep:{state.sweep_id}"
    for trial in state.trials:
        attempt = trial.last_attempt
        if trial.status != "finished" or attempt is None or not attempt.run_id:
            unfinished.append(f"{trial.trial_id} {trial.status}")
            continue
        run_dir = _run_dir(attempt.run_path, attempt.run_id, runs_dir)
        if run_dir is None:
            raise SweepSyncError(
                f"trial {trial.trial_id}: its run {attempt.run_id} ({attempt.run_path}) is not under "
                f"{runs_dir / 'wandb'}; pass the --runs-dir the sweep ran with (run files cannot be moved apart)"
            )
        try:
            recorded = read_offline_run(run_dir)
        except (OSError, ValueError) as err:
            raise SweepSyncError(f"trial {trial.trial_id}: run {run_dir} cannot be read: {err}") from None
        if tag not in recorded.tags:
            raise SweepSyncError(
                f"trial {trial.trial_id}: run {run_dir} does not carry the tag {tag} (its tags: "
                f"{', '.join(recorded.tags) or 'none'}); it is not this sweep's run"
            )
        marker = run_dir / f"run-{attempt.run_id}.wandb.synced"
        online = not run_dir.name.startswith("offline-")  # logged with --wandb-mode online: already on the server
        runs.append(TrialRun(trial.trial_id, attempt.run_id, run_dir, on_server=online, marked=marker.exists()))
    return runs, unfinished


def plan_sync(spec: SweepSpec, runs_dir: Path, project: str | None = None, entity: str | None = None) -> SyncPlan:
    """What syncing ``spec``'s offline sweep under ``runs_dir`` uploads and creates (nothing is touched).

    Project and entity default as in ``greenft sweep create``: the YAML's ``project``/``entity`` (which the
    trials logged to), else project ``greenft`` and the user's default entity.
    """
    store = StateStore(sweep_dir(runs_dir, spec.name, spec.sweep_id))
    if not store.exists():
        raise _mismatch(spec, runs_dir)
    state = store.load()
    if state.sweep_id != spec.sweep_id or canonical_json(state.config) != canonical_json(spec.raw):
        raise SweepSyncError(
            f"{spec.path}: does not match {store.path} (sweep {state.name}, id {state.sweep_id}): the YAML's content "
            "differs from the one the sweep ran with; sync that YAML, unchanged"
        )
    runs, unfinished = _trial_runs(state, runs_dir)
    if not runs:
        listed = ", ".join(unfinished) or "no trials"
        raise SweepSyncError(f"sweep {spec.name} ({spec.sweep_id}) has no finished trial to sync ({listed})")
    project, entity = spec.wandb_project(project), spec.wandb_entity(entity)
    records = read_records(store.path.with_name(RECORD_FILE))
    before = [
        record
        for record in records
        if record.get("project") == project and (entity is None or record.get("entity") in (entity, None))
    ]
    here = {run_id for record in before for run_id in record.get("runs", [])}
    elsewhere = {run_id for record in records for run_id in record.get("runs", [])} - here
    # wandb's marker does not say where a run went: one this command uploaded to another project only goes up again
    runs = [replace(r, on_server=r.on_server or (r.marked and r.run_id not in elsewhere)) for r in runs]
    return SyncPlan(
        spec=spec,
        state_path=store.path,
        project=project,
        entity=entity,
        runs=tuple(runs),
        unfinished=tuple(unfinished),
        created_before=tuple(before),
    )


def read_records(path: Path) -> list[dict[str, Any]]:
    """The sweeps recorded in ``path``; a missing file is none, an unreadable one a one-line error."""
    if not path.exists():
        return []
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SweepSyncError(
            f"{path}: unreadable record of the W&B sweeps made from this sweep ({err}); move it away to sync again"
        ) from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise SweepSyncError(f"{path}: expected a JSON list of sweeps; move it away to sync again")
    return records


def refuse_duplicate(plan: SyncPlan) -> None:
    """A W&B sweep of this sweep exists in the project already: one line naming it and the way to make another."""
    if plan.created_before:
        last = plan.created_before[-1]
        raise SweepSyncError(
            f"sweep {plan.spec.name} ({plan.spec.sweep_id}) was synced to W&B already as {last.get('path')} "
            f"({last.get('created_at')}, {len(last.get('runs', []))} runs; {plan.record_path}); pass --new-sweep to "
            "create another W&B sweep of it (e.g. after more trials finished)"
        )


def describe_plan(plan: SyncPlan) -> list[str]:
    """The dry run's lines: the runs, the exact ``wandb sync`` command, the sweep and its config (as YAML)."""
    where = f"{plan.entity or '(your default entity)'}/{plan.project}"
    lines = [
        f"sweep {plan.spec.name} ({plan.spec.sweep_id}, {plan.spec.method}) from {plan.spec.path}, "
        f"state {plan.state_path}: {len(plan.runs)} finished trial(s), {len(plan.unfinished)} not finished"
    ]
    if plan.unfinished:
        lines.append(f"not uploaded nor linked (not finished): {', '.join(plan.unfinished)}")
    for record in plan.created_before:
        lines.append(f"synced before as W&B sweep {record.get('path')} ({record.get('created_at')}); see --new-sweep")
    upload = plan.to_upload
    lines.append(f"upload {len(upload)} run(s) to {where} with wandb's own sync:")
    lines += [f"  {run.trial_id} {run.run_id} {run.run_dir}" for run in upload]
    if upload:
        lines.append("  $ " + " ".join(plan.sync_command()))
    for run in plan.runs:
        if run.on_server:
            lines.append(f"  {run.trial_id} {run.run_id} {run.run_dir}: already on W&B (skipped)")
    lines.append(
        f"create a W&B sweep in {where} linking runs (prior_runs): {', '.join(plan.prior_runs)}; "
        f"then set its state to {FINAL_STATE} (no agent starts trials on it)"
    )
    lines.append("sweep config:")
    lines.append(yaml.safe_dump(plan.sweep_config, sort_keys=False, default_flow_style=False).rstrip())
    return lines


def check_server(environ: Mapping[str, str] | None = None) -> None:
    """Refuse, in one line and before any upload, when W&B is offline or not logged in or not reachable."""
    from greenft.agents.run_log import WandbSettingsError, check_wandb_environment

    env = os.environ if environ is None else environ
    mode = env.get("WANDB_MODE")
    if mode in ("offline", "dryrun", "disabled"):
        raise SweepSyncError(
            f"WANDB_MODE={mode} in the environment: syncing needs a W&B server; unset it (the trials stay offline "
            "files until synced) and run `wandb login`; nothing was uploaded"
        )
    try:
        check_wandb_environment(env)
    except WandbSettingsError as err:
        raise SweepSyncError(str(err)) from None
    import wandb

    try:
        wandb.Api(timeout=SERVER_TIMEOUT_S)  # verifies the API key with the server (wandb 0.31)
    except Exception as err:  # UsageError (no key), AuthenticationError (refused or unreachable), CommError, ...
        reason = one_line(err).rstrip(".") or type(err).__name__
        server = env.get("WANDB_BASE_URL", "wandb's default server")
        raise SweepSyncError(
            f"W&B is not reachable or not logged in (server {server}): {type(err).__name__}: {reason}; run "
            "`wandb login` (or set WANDB_API_KEY / WANDB_BASE_URL); nothing was uploaded"
        ) from None


def upload(plan: SyncPlan, environ: Mapping[str, str] | None = None) -> None:
    """``wandb sync`` the runs not yet on the server; raises when any of them is not marked synced afterwards."""
    pending = plan.to_upload
    if not pending:
        return
    env = dict(os.environ if environ is None else environ)
    for run in pending:  # a marker left from an upload elsewhere must not pass for this one
        run.run_dir.joinpath(f"run-{run.run_id}.wandb.synced").unlink(missing_ok=True)
    completed = subprocess.run(plan.sync_command(), env=env, check=False)
    missing = [run for run in pending if not _synced_since(run)]
    if completed.returncode != 0 or missing:
        listed = ", ".join(f"{run.trial_id} {run.run_id}" for run in missing) or "none"
        raise SweepSyncError(
            f"wandb sync exited with {completed.returncode}; runs not marked synced: {listed}; the sweep was not "
            "created (its runs must exist on the server first); run the same command again (synced runs are skipped)"
        )


def _synced_since(run: TrialRun) -> bool:
    return (run.run_dir / f"run-{run.run_id}.wandb.synced").exists()


@dataclass(frozen=True)
class CreatedSweep:
    sweep_id: str
    path: str
    url: str | None


def create_sweep(plan: SyncPlan) -> CreatedSweep:
    """Create the sweep from the YAML, linking the uploaded runs, and set it to :data:`FINAL_STATE`.

    Raises :class:`SweepSyncError` when the sweep is not created; when it is created but its state cannot be
    set, the error says so and names the ``wandb sweep --stop`` command that finishes the job.
    """
    import wandb

    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):  # wandb prints "Create sweep with ID" / "Sweep URL" itself
            sweep_id = wandb.sweep(
                sweep=plan.sweep_config, entity=plan.entity, project=plan.project, prior_runs=plan.prior_runs
            )
    except Exception as err:  # UsageError, CommError, ...: all mean "not created"
        reason = one_line(err)
        raise SweepSyncError(
            f"the runs are uploaded but W&B did not create the sweep ({type(err).__name__}: {reason}); run the "
            "same command again (uploaded runs are skipped)"
        ) from None
    entity = plan.entity or os.environ.get("WANDB_ENTITY")  # wandb.sweep sets it to the sweep's entity
    path = "/".join(part for part in (entity, plan.project, sweep_id) if part)
    url = next(
        (line.split(":", 1)[1].strip() for line in printed.getvalue().splitlines() if line.startswith("Sweep URL:")),
        None,
    )
    created = CreatedSweep(sweep_id=sweep_id, path=path, url=url)
    failure = None
    try:
        _set_state(sweep_id, entity, plan.project)
    except Exception as err:
        failure = one_line(err)
    _record(plan, created, entity, "state not set" if failure else FINAL_STATE)  # created: recorded either way
    if failure:
        raise SweepSyncError(
            f"sweep {path} was created with its runs, but its state could not be set to {FINAL_STATE} ({failure}); "
            f"run `wandb sweep --stop {path}` so that no agent starts trials on it"
        )
    return created


def _record(plan: SyncPlan, created: CreatedSweep, entity: str | None, state: str) -> None:
    entry = {
        "path": created.path,
        "url": created.url,
        "entity": entity,
        "project": plan.project,
        "sweep_id": created.sweep_id,
        "state": state,
        "runs": plan.prior_runs,
        "created_at": now(),
    }
    try:
        atomic_write_json(plan.record_path, [*read_records(plan.record_path), entry], indent=1)
    except OSError as err:
        raise SweepSyncError(
            f"sweep {created.path} was created with its runs, but {plan.record_path} could not be written ({err}): "
            "a later sync will not know it and would create another"
        ) from None


def _set_state(sweep_id: str, entity: str | None, project: str) -> None:
    """What ``wandb sweep --stop`` runs (wandb's CLI calls this very function; it has no public Python API)."""
    import wandb
    from wandb.apis.public.sweeps import _set_sweep_state

    _set_sweep_state(wandb.Api(), sweep_id, FINAL_STATE, entity=entity, project=project)


def sync_sweep(
    plan: SyncPlan,
    environ: Mapping[str, str] | None = None,
    *,
    new_sweep: bool = False,
    report: Callable[[str], None] | None = None,
) -> CreatedSweep:
    """Check the server, upload, create the linked sweep: in this order, each step only after the one before.

    ``report`` gets the line naming the trials left out, once the server check passed (a failed check is the
    command's only line)."""
    if not new_sweep:
        refuse_duplicate(plan)
    check_server(environ)
    if plan.unfinished and report is not None:
        report(f"not uploaded nor linked (not finished): {', '.join(plan.unfinished)}")
    upload(plan, environ)
    return create_sweep(plan)

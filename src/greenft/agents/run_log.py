"""One code path for logging a trial: W&B (offline by default, online after ``wandb login``) plus a local
JSON-lines copy of every epoch.

The local copy is flushed and fsynced at every epoch, so whatever happens later (Ctrl-C, a crash, a killed
agent) the epochs already logged stay readable, with or without W&B. Offline W&B runs can be uploaded later
with ``wandb sync <run dir>``.

Where the run goes is checked before W&B starts: the runs folder must take a file (else one line naming it), and
a W&B run that landed anywhere else (wandb falls back to a temporary directory when it cannot write the folder
it was given) is closed and refused, never reported. A write that fails mid-run (a full disk) cuts no epoch
line in half: the epoch log is rolled back to its last complete line and the error names the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from greenft.agents.config import LoggingConfig
from greenft.errors import UserError
from greenft.io import OutputError, atomic_write_text, ensure_writable_directory, output_error, output_errors
from greenft.schema import CONFIG_FILE, EPOCHS_FILE, SUMMARY_FILE, history_prefixes, to_json_value
from greenft.schema.history import EPOCH


class WandbUnavailableError(UserError, RuntimeError):
    """W&B could not start the run (no API key, server unreachable, key refused).

    Raised before any epoch is trained, so nothing is lost; the message is one line that says which server and
    what to do, instead of wandb's own multi-screen traceback.
    """


class WandbSettingsError(UserError, ValueError):
    """A ``WANDB_*`` environment variable that wandb would reject with a multi-line validation error."""


RUNS_FOLDER = "runs folder (--runs-dir, logging.runs_dir)"
WANDB_MODES = ("online", "offline", "shared", "disabled", "dryrun", "run")
"""The values wandb accepts in ``WANDB_MODE``, exactly as written (it rejects ``OFFLINE`` and `` offline``)."""


def check_wandb_environment(environ: Mapping[str, str] | None = None) -> None:
    """Refuse a ``WANDB_MODE`` wandb would reject: wandb reads it even when greenft passes the mode itself.

    Called by every command that starts W&B before its heavy work (and by :class:`RunLog`, for library callers),
    so a typo in the environment costs one line, not a data load and a pydantic traceback.
    """
    env = os.environ if environ is None else environ
    mode = env.get("WANDB_MODE")
    if mode is not None and mode not in WANDB_MODES:
        raise WandbSettingsError(
            f"WANDB_MODE={mode!r} in the environment: expected one of {', '.join(WANDB_MODES)} (lower case); fix "
            "or unset it (greenft train's --wandb-mode sets the mode of its own runs)"
        )


def check_run_outputs(settings: LoggingConfig) -> None:
    """What a command checks before loading data or a model: the runs folder can be written and, when W&B will
    start, its environment is one wandb accepts. Both raise one-line user errors."""
    ensure_writable_directory(settings.runs_dir, RUNS_FOLDER)
    if settings.wandb_mode != "disabled":
        check_wandb_environment()


def _settings_failure(err: Exception) -> WandbSettingsError:
    """wandb's pydantic error on its settings (read from ``WANDB_*`` variables) as one line naming each one."""
    problems = []
    for entry in getattr(err, "errors", lambda: [])():
        field = ".".join(str(part) for part in entry.get("loc", ()))
        problems.append(f"{field} = {entry.get('input')!r}: {entry.get('msg')} (WANDB_{field.upper()}?)")
    detail = "; ".join(problems) or " ".join(str(err).split())
    return WandbSettingsError(f"W&B rejected its settings from the environment: {detail}")


def _wandb_failure(err: Exception, mode: str) -> WandbUnavailableError:
    reason = " ".join(str(err).split()) or type(err).__name__
    server = os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")
    return WandbUnavailableError(
        f"W&B could not start an {mode} run (server {server}): {reason} -- run `wandb login` (or set "
        "WANDB_API_KEY), or log offline (--wandb-mode offline; WANDB_MODE=offline under an agent) and upload "
        "later with `wandb sync`"
    )


class RunLog:
    """Open a W&B run (or a plain directory when W&B is disabled) and log epochs and the summary to it."""

    def __init__(self, settings: LoggingConfig, config: dict[str, Any]) -> None:
        self.settings = settings
        self._run: Any = None
        self.epochs_logged = 0
        ensure_writable_directory(settings.runs_dir, RUNS_FOLDER)
        if settings.wandb_mode == "disabled":
            stamp = time.strftime("%Y%m%d_%H%M%S")
            self.files_dir = settings.runs_dir / f"greenft-run-{stamp}-{os.getpid()}"
            suffix = 1
            while True:  # a sweep worker runs many trials per process: two may start within one second
                try:
                    self.files_dir.mkdir(parents=True, exist_ok=False)
                    break
                except FileExistsError:
                    suffix += 1
                    self.files_dir = settings.runs_dir / f"greenft-run-{stamp}-{os.getpid()}-{suffix}"
            self.run_id = self.files_dir.name
            self.run_path = self.files_dir
        else:
            check_wandb_environment()
            from pydantic import ValidationError
            from wandb.errors import AuthenticationError, CommError, UsageError

            try:
                self._run = self._init_wandb(settings, config)
            except (AuthenticationError, CommError, UsageError) as err:
                raise _wandb_failure(err, settings.wandb_mode) from None
            except ValidationError as err:
                raise _settings_failure(err) from None
            self.files_dir = Path(self._run.dir)
            self.run_id = str(self._run.id)
            self.run_path = self.files_dir.parent
            self._refuse_elsewhere(settings.runs_dir)
            self._run.define_metric(EPOCH)
            for prefix in history_prefixes():
                self._run.define_metric(f"{prefix}/*", step_metric=EPOCH)
        self._config = dict(config)
        self._epochs_path = self.files_dir / EPOCHS_FILE
        self._epochs = -1  # a raw descriptor: a failed append is cut back to the last whole line (log_epoch)
        try:
            with output_errors(self._epochs_path):
                self._epochs = os.open(self._epochs_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            self.write_json(CONFIG_FILE, self._config)
        except BaseException:
            if self._epochs >= 0:
                os.close(self._epochs)
            self._close_wandb(exit_code=1)
            raise

    def _refuse_elsewhere(self, runs_dir: Path) -> None:
        """Close and refuse a W&B run that is not under ``runs_dir``: wandb falls back to a temporary folder when
        it cannot write the one it was given (a race with :func:`ensure_writable_directory`, or its own check
        disagreeing), and a run there would be lost with the next reboot while greenft reported it done."""
        if self.run_path.resolve().is_relative_to(Path(runs_dir).resolve()):
            return
        self._close_wandb(exit_code=1)
        raise OutputError(
            f"{RUNS_FOLDER} {runs_dir}: W&B would not write there and put the run in {self.run_path} instead; "
            "choose a folder greenft can write"
        )

    def _close_wandb(self, exit_code: int) -> None:
        if self._run is not None:
            run, self._run = self._run, None
            with contextlib.suppress(Exception):  # already failing: the first error is the one to report
                run.finish(exit_code=exit_code)

    @staticmethod
    def _init_wandb(settings: LoggingConfig, config: dict[str, Any]) -> Any:
        import wandb

        return wandb.init(
            project=settings.project,
            entity=settings.entity,
            group=settings.group,
            tags=settings.tags or None,
            name=settings.name,
            dir=str(settings.runs_dir),
            mode=settings.wandb_mode,
            config=config,
            job_type="finetune",
            settings=wandb.Settings(silent=True, console="off", x_disable_stats=not settings.system_metrics),
        )

    @property
    def wandb_run(self) -> Any:
        return self._run

    def write_json(self, name: str, payload: Any) -> Path:
        """A JSON file in the run's files directory, written atomically."""
        text = json.dumps(to_json_value(payload), indent=2, sort_keys=True, default=str)
        return atomic_write_text(self.files_dir / name, text)

    def log_epoch(self, row: dict[str, Any]) -> None:
        """Append one epoch line (fsynced) to the local log, then log it to W&B.

        A write that fails part-way (a full disk) is rolled back to the last complete line, so the file keeps
        every earlier epoch and never a half line; the error names the file and how many epochs it holds.
        """
        line = (json.dumps(to_json_value(row), default=str) + "\n").encode("utf-8")
        size = os.fstat(self._epochs).st_size
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(self._epochs, view) :]
            os.fsync(self._epochs)
        except OSError as err:
            with contextlib.suppress(OSError):
                os.ftruncate(self._epochs, size)
            raise self._write_failure(err, self._epochs_path) from None
        self.epochs_logged += 1
        if self._run is not None:
            self._run.log(row)

    def _write_failure(self, err: OSError, path: Path) -> Exception:
        converted = output_error(err, path)
        if converted is None:
            return err
        kept = f"{self.epochs_logged} epoch(s) logged before are kept in {self._epochs_path}"
        return OutputError(f"{converted}; {kept}; the run did not finish", converted.errno)

    def update_config(self, entries: dict[str, Any]) -> None:
        """Replace top-level config entries learnt after the start (e.g. ``derived`` once the meter is known),
        in W&B and in ``greenft_config.json`` alike, so the local config is the full run config."""
        self._config.update(entries)
        self.write_json(CONFIG_FILE, self._config)
        if self._run is not None:
            self._run.config.update(entries, allow_val_change=True)

    def update_summary(self, summary: dict[str, Any]) -> None:
        if self._run is not None:
            self._run.summary.update(summary)

    def log_model(self, path: Path, name: str, metadata: Mapping[str, Any]) -> None:
        """An online run: ``path`` as a W&B model Artifact linked to the run (offline runs: nothing here, the
        summary records the path and ``wandb sync`` uploads the files directory).

        Best effort with a warning: the file is on disk whatever W&B answers, and a refused upload must not
        cost the run its closing records.
        """
        if self._run is None or self.settings.wandb_mode != "online":
            return
        import warnings

        import wandb

        from greenft.errors import GreenftWarning

        try:
            artifact = wandb.Artifact(name, type="model", metadata=dict(metadata))
            artifact.add_file(str(path))
            self._run.log_artifact(artifact)
        except Exception as err:  # wandb raises many types (network, validation): the file itself is kept
            warnings.warn(GreenftWarning(f"{path.name} not logged as a W&B artifact: {err}"), stacklevel=2)

    def mark_preempting(self) -> None:
        """Tell W&B this run is being preempted: with a non-zero exit code a W&B sweep then re-queues it.

        Best effort: the summary and the exit record still have to be written, whatever W&B answers.
        """
        if self._run is not None:
            with contextlib.suppress(Exception):  # never lose the run's closing records over a status hint
                self._run.mark_preempting()

    def finish(self, summary: dict[str, Any], exit_code: int = 0) -> None:
        """Write the summary (to W&B and, atomically, to greenft's file) and close W&B.

        No waiting for W&B's ``.wandb`` file to close: wandb-core finishes it asynchronously, and nothing of
        greenft reads it for runs greenft wrote (analysis reads ``greenft_*.json`` first). W&B is closed even when
        the summary cannot be written (a full disk), with a failing exit code, and the write error is raised.
        """
        self.update_summary(summary)
        try:
            self.write_json(SUMMARY_FILE, summary)
        except OSError as err:
            os.close(self._epochs)
            self._close_wandb(exit_code=exit_code or 1)
            raise self._write_failure(err, self.files_dir / SUMMARY_FILE) from None
        os.close(self._epochs)
        if self._run is not None:
            self._run.finish(exit_code=exit_code)

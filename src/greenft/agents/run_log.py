"""One code path for logging a trial: W&B (offline by default, online after ``wandb login``) plus a local
JSON-lines copy of every epoch.

The local copy is flushed and fsynced at every epoch, so whatever happens later (Ctrl-C, a crash, a killed
agent) the epochs already logged stay readable, with or without W&B. Offline W&B runs can be uploaded later
with ``wandb sync <run dir>``.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

from greenft.agents.config import LoggingConfig
from greenft.errors import UserError
from greenft.io import atomic_write_text
from greenft.schema import CONFIG_FILE, EPOCHS_FILE, SUMMARY_FILE, history_prefixes, to_json_value
from greenft.schema.history import EPOCH


class WandbUnavailableError(UserError, RuntimeError):
    """W&B could not start the run (no API key, server unreachable, key refused).

    Raised before any epoch is trained, so nothing is lost; the message is one line that says which server and
    what to do, instead of wandb's own multi-screen traceback.
    """


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
        settings.runs_dir.mkdir(parents=True, exist_ok=True)
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
            from wandb.errors import AuthenticationError, CommError, UsageError

            try:
                self._run = self._init_wandb(settings, config)
            except (AuthenticationError, CommError, UsageError) as err:
                raise _wandb_failure(err, settings.wandb_mode) from None
            self._run.define_metric(EPOCH)
            for prefix in history_prefixes():
                self._run.define_metric(f"{prefix}/*", step_metric=EPOCH)
            self.files_dir = Path(self._run.dir)
            self.run_id = str(self._run.id)
            self.run_path = self.files_dir.parent
        self._config = dict(config)
        self._epochs = (self.files_dir / EPOCHS_FILE).open("a", encoding="utf-8")
        self.write_json(CONFIG_FILE, self._config)

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
        self._epochs.write(json.dumps(to_json_value(row), default=str) + "\n")
        self._epochs.flush()
        os.fsync(self._epochs.fileno())
        if self._run is not None:
            self._run.log(row)

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
        greenft reads it for runs greenft wrote (analysis reads ``greenft_*.json`` first).
        """
        self.update_summary(summary)
        self.write_json(SUMMARY_FILE, summary)
        self._epochs.close()
        if self._run is not None:
            self._run.finish(exit_code=exit_code)

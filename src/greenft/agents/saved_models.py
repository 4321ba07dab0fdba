"""The saved models a trial leaves behind: ``model_best.pt`` and ``model_stop.pt`` (greenft.models.saved).

Why beside :mod:`greenft.agents.deploy` rather than in it: ``deployed_model.pt`` is a bare dict of weights that
the analysis and older scripts read as it is; a saved model is a different contract (a header that rebuilds the
model on a box without the checkpoint or the dataset). Both are written at the same moments: when training ends,
and after an interrupt or a failure once an epoch finished.

Which epochs, and why two: ``stop`` is the live rule's stop (in shadow mode training goes on past it, so its
weights are copied when the rule stops; a rule that never stopped, an external stop or an interrupt: the last
finished epoch), the weights AN-GES's CO2 figures describe; ``best`` is the best validation epoch up to that stop
(:func:`greenft.schema.deployed_index` with ``best``, the one definition the summary and replays use), usually
the better model. Copies are CPU state dicts taken after an epoch finished, so a run interrupted mid-epoch never
saves half-trained weights, and their metrics are the logged ones of that epoch: nothing extra is evaluated.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from greenft import __version__
from greenft.agents.config import TrialConfig
from greenft.agents.deploy import EpochWeights
from greenft.agents.fit import TargetScaler
from greenft.agents.run_log import RunLog
from greenft.data import LabelledMolecules
from greenft.errors import GreenftWarning
from greenft.models.base import BuiltModel
from greenft.models.saved import (
    SAVED_MODEL_FORMAT,
    SAVED_MODEL_VERSION,
    SavedModelError,
    SavedModelHeader,
    rebuild_parts,
    save_state,
)
from greenft.schema import Deploy, deployed_index
from greenft.schema.inputs import EpochLike
from greenft.schema.keys import BEST_MODEL_FILE, STOP_MODEL_FILE
from greenft.schema.summary import (
    MODEL_BEST_EPOCH,
    MODEL_BEST_FILE,
    MODEL_BEST_FILE_BYTES,
    MODEL_PARAMETERS,
    MODEL_STOP_EPOCH,
    MODEL_STOP_FILE,
    MODEL_STOP_FILE_BYTES,
)
from greenft.stopping import MetricDirection
from greenft.tracking.grid import COUNTRY_KEY

__all__ = ["MODEL_FILES", "SavedModelKeeper"]

MODEL_FILES = {"best": BEST_MODEL_FILE, "stop": STOP_MODEL_FILE}
_SUMMARY_KEYS = {
    "best": (MODEL_BEST_FILE, MODEL_BEST_FILE_BYTES, MODEL_BEST_EPOCH),
    "stop": (MODEL_STOP_FILE, MODEL_STOP_FILE_BYTES, MODEL_STOP_EPOCH),
}


def header_fields(
    config: TrialConfig, model_section: dict[str, Any], built: BuiltModel, molecules: LabelledMolecules, scaler: Any
) -> dict[str, Any]:
    """The header entries every saved model of this trial shares (the epoch's own are added at saving).

    Raises :class:`SavedModelError` for a model a saved file cannot rebuild (a hub model)."""
    vocabulary, encoder_config = rebuild_parts(built.model)
    spec = molecules.spec
    return {
        "format": SAVED_MODEL_FORMAT,
        "version": SAVED_MODEL_VERSION,
        "greenft_version": __version__,
        "family": config.model.name,
        "model": {**model_section, "checkpoint": None},
        "vocabulary": vocabulary,
        "encoder_config": encoder_config,
        "num_tasks": molecules.num_tasks,
        "task_names": list(spec.target_columns),
        "task_type": spec.task_type.value,
        "classes": list(spec.classes) or None,
        "metric": spec.metric.value,
        "dataset": spec.name,
        "target_mean": [float(v) for v in scaler.mean.tolist()],
        "target_std": [float(v) for v in scaler.std.tolist()],
        "parameters": int(built.info["parameters"]),
        "training_config": config.model_dump(mode="json"),
    }


class SavedModelKeeper:
    """Keeps CPU copies of the ``best`` and ``stop`` weights while training and writes them as saved models.

    Call :meth:`observe` after each finished epoch; once the live rule has stopped (shadow mode trains on) the
    copies are frozen, so both files describe the run as the live rule ended it.
    """

    def __init__(
        self,
        save_models: str,
        direction: MetricDirection,
        config: TrialConfig,
        model_section: dict[str, Any],
        built: BuiltModel,
        molecules: LabelledMolecules,
        scaler: TargetScaler,
    ) -> None:
        self.which = [w for w in ("best", "stop") if save_models in (w, "both")]
        self.direction = direction
        self.parameters = int(built.info["parameters"])
        self.fields: dict[str, Any] = {}
        if self.which:
            try:
                self.fields = header_fields(config, model_section, built, molecules, scaler)
            except SavedModelError as err:
                warnings.warn(GreenftWarning(f"{' and '.join(self._names())} not written: {err}"), stacklevel=2)
                self.which = []
        self.index: dict[str, int] = {}  # which -> 0-based index of the kept epoch
        self.state: dict[str, dict[str, torch.Tensor]] = {}
        self.frozen = False
        self.written: dict[str, Path] = {}
        self.write_failed = False

    def record_grid(self, meter_info: dict[str, Any]) -> None:
        """Keep the training meter's country in the saved models' headers (inference measures on that grid)."""
        if self.which and meter_info.get(COUNTRY_KEY):
            self.fields["grid_country_iso_code"] = str(meter_info[COUNTRY_KEY])

    def _names(self) -> list[str]:
        return [MODEL_FILES[w] for w in self.which]

    def observe(self, weights: EpochWeights, val_metrics: Sequence[float], live_stopped: bool) -> None:
        """The epoch ``len(val_metrics)`` has just finished with these weights."""
        if self.frozen or not self.which:
            return
        end = len(val_metrics) - 1
        wanted = {"stop": end} if "stop" in self.which else {}
        if "best" in self.which:
            wanted["best"] = deployed_index(val_metrics, self.direction, end, Deploy.BEST)
        for which, index in wanted.items():
            if self.index.get(which) != index:  # a moved epoch is always this one (never looks ahead)
                self.index[which], self.state[which] = index, weights()
        self.frozen = live_stopped

    def header(self, which: str, record: EpochLike, log: RunLog) -> SavedModelHeader:
        return SavedModelHeader.model_validate(
            {
                **self.fields,
                "which": which,
                "epoch": record.epoch,
                "val_metric": float(record.val_metric),
                "test_metric": float(record.test_metric),
                "emissions_kg": float(record.fit.emissions_kg),
                "energy_kwh": float(record.fit.energy_kwh),
                "run_id": log.run_id,
                "run_path": str(log.run_path),
            }
        )

    def save(self, log: RunLog, epochs: Sequence[EpochLike]) -> dict[str, Path]:
        """Write the kept models into the run's files; nothing when no epoch finished."""
        for which, index in self.index.items():
            path = Path(log.files_dir) / MODEL_FILES[which]
            try:
                self.written[which] = save_state(path, self.state[which], self.header(which, epochs[index], log))
            except OSError:
                self.write_failed = True
                raise
        return dict(self.written)

    def save_after_error(self, log: RunLog, epochs: Sequence[EpochLike]) -> dict[str, Path]:
        """:meth:`save` for a run being interrupted or failing: a failed write is a warning (the interrupt or
        failure on its way is what the user must see); not tried again when the run failed writing them."""
        if self.write_failed:
            return dict(self.written)
        try:
            return self.save(log, epochs)
        except OSError as err:
            warnings.warn(GreenftWarning(f"{' / '.join(self._names())} not saved: {err}"), stacklevel=2)
            return dict(self.written)

    def publish(self, log: RunLog) -> None:
        """Online W&B runs: each written file as a model Artifact of the run (offline, the summary has paths)."""
        for which, path in self.written.items():
            skip = {"vocabulary", "encoder_config"}  # long, and in the file itself
            header = {k: v for k, v in self.fields.items() if k not in skip} | {"which": which}
            header["epoch"] = self.index[which] + 1
            log.log_model(path, f"{log.run_id}-model_{which}", header)

    def summary(self) -> dict[str, Any]:
        """The ``model/*`` summary entries (greenft.schema.summary): parameters, and each file's path and size."""
        out: dict[str, Any] = {MODEL_PARAMETERS: self.parameters}
        for which, path in self.written.items():
            file_key, bytes_key, epoch_key = _SUMMARY_KEYS[which]
            out[file_key] = str(path.resolve())
            out[bytes_key] = path.stat().st_size
            out[epoch_key] = self.index[which] + 1
        return out

"""The weights a run hands over: an in-memory copy of the deployed epoch, saved once when training ends.

Why a copy in memory: a rule only notices a plateau after one or more epochs that did not improve, and on a small
noisy validation set those epochs are often worse than the best one. Keeping the best-validation weights so far
(``deploy: best``) undoes them at no extra CO2: a CPU clone of the state_dict when the deployed epoch moves,
no extra training and no extra evaluation. Which epoch is deployed is :func:`greenft.schema.deployed_index`,
the one definition the summary (``deployed/*``) and the analysis' replays use too, so the saved file, the
summary and a replay always name the same epoch.

Why a copy for ``deploy: last`` too: a run interrupted in the middle of an epoch has half-trained weights in the
model; the last *finished* epoch's weights are the ones its logged metrics describe.

The file (:data:`greenft.schema.DEPLOYED_MODEL_FILE`) is a plain dict of tensors, numbers and strings, loadable
with ``torch.load(path, weights_only=True)``, written atomically (:func:`greenft.io.atomic_save`): a reader
sees no file or a whole one.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from greenft.errors import GreenftWarning
from greenft.io import atomic_save
from greenft.schema import DEPLOYED_MODEL_FILE, Deploy, deployed_index
from greenft.schema.inputs import EpochLike
from greenft.stopping import MetricDirection

__all__ = ["DEPLOYED_KEYS", "DeployKeeper", "EpochWeights", "cpu_state_dict"]

DEPLOYED_KEYS = ("state_dict", "epoch", "deploy", "metric", "val_metric", "test_metric")
"""The entries of the saved dict: the weights, the deployed epoch (1-based), the policy, the metric's name and
that epoch's logged validation and test metric."""


def cpu_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of the model's weights (a real copy even when the model is on the CPU)."""
    return {name: value.detach().to("cpu", copy=True) for name, value in model.state_dict().items()}


class EpochWeights:
    """One finished epoch's weights, copied to the CPU on first use and then shared.

    Why: the deploy keeper and the saved-model keeper (:mod:`greenft.agents.saved_models`) often keep the same
    epoch; a copy is a whole model's worth of memory and time, so it is taken once per epoch, not once per keeper.
    """

    def __init__(self, model: nn.Module) -> None:
        self._model = model
        self._state: dict[str, torch.Tensor] | None = None

    def __call__(self) -> dict[str, torch.Tensor]:
        if self._state is None:
            self._state = cpu_state_dict(self._model)
        return self._state


class DeployKeeper:
    """Follows the deployed epoch while training and keeps a copy of its weights.

    Call :meth:`observe` after each finished epoch with every epoch's validation metric so far; the copy is
    refreshed only when the deployed epoch moves.
    """

    def __init__(self, deploy: Deploy | str, direction: MetricDirection) -> None:
        self.deploy = Deploy(deploy)
        self.direction = direction
        self.index: int | None = None  # 0-based index of the kept epoch
        self.state: dict[str, torch.Tensor] | None = None
        self.write_failed = False  # the file system refused the file once: not tried again after the error

    def observe(self, weights: EpochWeights, val_metrics: Sequence[float]) -> None:
        """The epoch ``len(val_metrics)`` has just finished with these weights."""
        end = len(val_metrics) - 1
        index = deployed_index(val_metrics, self.direction, end, self.deploy)
        if index != self.index:
            if index != end:  # deployed_index never looks ahead: a moved epoch can only be this one
                raise AssertionError(f"deployed epoch moved to {index + 1}, not to the epoch just trained ({end + 1})")
            self.index, self.state = index, weights()

    def payload(self, epochs: Sequence[EpochLike], metric: str) -> dict[str, Any]:
        """The dict saved to the file, the metrics read from the kept epoch's logged record."""
        if self.index is None or self.state is None:
            raise ValueError("no epoch finished: there are no weights to deploy")
        record = epochs[self.index]
        return {
            "state_dict": self.state,
            "epoch": record.epoch,
            "deploy": self.deploy.value,
            "metric": metric,
            "val_metric": float(record.val_metric),
            "test_metric": float(record.test_metric),
        }

    def save(self, files_dir: Path, epochs: Sequence[EpochLike], metric: str) -> Path | None:
        """Write the kept weights to ``files_dir``; None (and no file) when no epoch finished."""
        if self.index is None:
            return None
        payload = self.payload(epochs, metric)
        try:
            return atomic_save(Path(files_dir) / DEPLOYED_MODEL_FILE, lambda handle: torch.save(payload, handle))
        except OSError:
            self.write_failed = True
            raise

    def save_after_error(self, files_dir: Path, epochs: Sequence[EpochLike], metric: str) -> Path | None:
        """:meth:`save` for a run that is being interrupted or has failed: what it had, best so far.

        A write that fails here is a warning, not an error: the interrupt or the failure already on its way is
        what the user must see. Not tried again when the run failed because :meth:`save` could not write.
        """
        if self.write_failed:
            return None
        try:
            return self.save(files_dir, epochs, metric)
        except OSError as err:  # OutputError included: a full or read-only disk
            warnings.warn(GreenftWarning(f"{DEPLOYED_MODEL_FILE} not saved: {err}"), stacklevel=2)
            return None

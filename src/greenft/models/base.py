"""What a model family provides to the trainer: a model, a featurisation and a batch loader.

The trainer is family-agnostic: it asks the family to encode molecules into items (cached where that pays),
to batch them, and to build a model whose ``forward(batch)`` returns one output per task. Every batch has a
``y`` tensor (molecules x tasks, NaN = missing label) and a ``to(device)`` method. Graph families (GIN, GCN)
and sequence families (SMILES/SELFIES transformers) differ only behind this interface.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from greenft.models.config import LrSchedule, ModelConfig
from greenft.models.errors import CheckpointError


@dataclass
class BuiltModel:
    model: nn.Module
    init: str  # "random" or "pretrained:<path>"
    info: dict[str, Any]  # logged to the run config: parameters, architecture, checkpoint format/provenance
    applied: dict[str, Any] = field(default_factory=dict)
    """``model`` options whose value the checkpoint decided (greenft.models.applied): the run config records
    these instead of the values given, so it describes the model that trained."""


REBUILD_EXTRA_ATTRIBUTE = "rebuild_extra"
"""A model may carry this attribute (a JSON-able dict): what its family's :meth:`ModelFamily.build_for_weights` needs
beyond the model section (e.g. which graph encoder a dual-view checkpoint held). A saved model stores it in its
header's ``encoder_config`` under :data:`REBUILD_EXTRA_KEY`."""
REBUILD_EXTRA_KEY = "greenft_rebuild"


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class ModelFamily(ABC):
    """One family of models sharing a featurisation (e.g. Hu et al. graphs, SMILES tokens)."""

    name: str
    description: str
    default_lr_schedule: LrSchedule = "constant"
    """The schedule a trial uses when ``optim.lr_schedule`` is unset: a family that imitates another tool's
    training (chemprop's D-MPNN) trains with that tool's schedule unless the config says otherwise."""

    @abstractmethod
    def build(self, config: ModelConfig, num_tasks: int) -> BuiltModel:
        """A fresh model (random init, or the encoder from ``config.checkpoint``)."""

    @abstractmethod
    def encode(self, smiles: list[str], labels: np.ndarray, cache_dir: Path | None = None) -> Sequence[Any]:
        """One item per molecule, labels attached."""

    @abstractmethod
    def loader(
        self, items: Sequence[Any], batch_size: int, shuffle: bool, generator: torch.Generator | None = None
    ) -> Iterable[Any]:
        """Batches of items; each batch has ``.y`` and ``.to(device)``."""

    def build_for_weights(
        self,
        config: ModelConfig,
        num_tasks: int,
        vocabulary: list[str] | None,
        encoder_config: dict[str, Any] | None,
    ) -> nn.Module:
        """The architecture a saved model's weights fit (random weights), with no checkpoint, data or network.

        ``config`` is the model section the trained run recorded (the checkpoint's decided sizes applied, see
        :mod:`greenft.models.applied`); ``vocabulary`` and ``encoder_config`` are what a sequence model needs
        beyond it (its tokens in id order, its transformers config). Why not :meth:`build`: ``build`` reads the
        pretrained checkpoint, which a user's box that only received the saved file does not have.
        """
        raise CheckpointError(f"model {self.name!r} cannot be rebuilt from a saved file (no weights-only builder)")

    needs_structures: bool = False
    """A 3D family: its items come from each molecule's :class:`~greenft.data.structures.Structure` (atoms and
    coordinates, :meth:`encode_structures`), not from SMILES; see :func:`greenft.models.items.encode_items`."""

    def encode_structures(self, structures: Sequence[Any], labels: np.ndarray) -> Sequence[Any]:
        """3D families: one item per molecule from its structure, labels attached."""
        raise NotImplementedError(f"model {self.name!r} reads SMILES, not structures")

    def fit_target_baseline(
        self, model: nn.Module, train_items: Sequence[Any], mean: torch.Tensor, std: torch.Tensor
    ) -> None:
        """Fit what the model's output keeps fixed from the training split, after the trainer has standardised the
        targets with ``mean`` and ``std``. Nothing by default; schnet fits its composition baseline here."""
        return None

    def encode_unlabelled(self, smiles: list[str], num_tasks: int) -> Sequence[Any]:
        """Items for inference: NaN labels. Families with a disk cache override this to skip it, since a
        prediction run featurises each molecule once and must not fill the user's cache with its inputs."""
        return self.encode(smiles, np.full((len(smiles), num_tasks), np.nan))

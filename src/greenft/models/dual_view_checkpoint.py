"""The dual-view checkpoint (``greenft pretrain dual-view``): a sequence checkpoint and a graph checkpoint in one.

Why one directory holding two ordinary greenft checkpoints rather than a format of its own: each half stays
readable by the code that already reads its kind (:func:`greenft.models.sequence.checkpoint.read_sequence_checkpoint`,
``RobertaModel.from_pretrained``, the one graph loader), so ``dual-view-seq`` *is* a pretrained sequence model and
``dual-view-graph`` a pretrained graph model, and the tools that inspect those work on the halves unchanged::

    checkpoint/
      greenft_checkpoint.json   {"format": "greenft-dual-view", "version": 1, "sequence_tokens", "graph_model",
                                 "sequence": {...architecture}, "graph": {...architecture},
                                 "provenance": {objective, losses' final values, corpus, steps, emissions_kg, ...}}
      sequence/                 greenft sequence checkpoint (RobertaForMaskedLM + vocabulary)
      graph/                    greenft graph checkpoint (encoder.pt + greenft_checkpoint.json)
      consistency.pt            the projection W (Linear(2 graph width -> sequence width)) of the consistency loss

Written like the others: into a temporary sibling directory, then renamed into place. Pretraining (above this
layer) writes it through :func:`write_dual_view_checkpoint`; the families read it through
:func:`read_dual_view_checkpoint`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from greenft.io import atomic_save, read_json, write_directory_atomically
from greenft.models.checkpoint_paths import default_checkpoint_dir, missing_checkpoint_error, resolve_checkpoint_dir
from greenft.models.config import ModelConfig
from greenft.models.errors import CheckpointError
from greenft.models.sequence.checkpoint import write_json

DUAL_VIEW_FORMAT = "greenft-dual-view"
DUAL_VIEW_VERSION = 1
DUAL_VIEW_RECIPE = "dual-view"  # the `greenft pretrain` recipe whose default location the families read
META_FILE = "greenft_checkpoint.json"
SEQUENCE_SUBDIR = "sequence"
GRAPH_SUBDIR = "graph"
PROJECTION_FILE = "consistency.pt"


@dataclass(frozen=True)
class DualViewCheckpoint:
    path: Path
    meta: dict[str, Any]

    @property
    def sequence_dir(self) -> Path:
        return self.path / SEQUENCE_SUBDIR

    @property
    def graph_dir(self) -> Path:
        return self.path / GRAPH_SUBDIR

    @property
    def graph_model(self) -> str:
        return str(self.meta["graph_model"])

    @property
    def graph_sizes(self) -> tuple[int, int]:
        graph = self.meta["graph"]
        return int(graph["num_layers"]), int(graph["emb_dim"])

    @property
    def provenance(self) -> dict[str, Any]:
        return dict(self.meta.get("provenance", {}))

    @property
    def format(self) -> str:
        return f"{DUAL_VIEW_FORMAT}/v{DUAL_VIEW_VERSION}"


def write_dual_view_checkpoint(
    target: Path,
    write_sequence: Callable[[Path], Any],
    write_graph: Callable[[Path], Any],
    projection: dict[str, torch.Tensor],
    meta: dict[str, Any],
) -> Path:
    """Write both halves (each writer receives its sub-directory), W and the top-level metadata, atomically."""

    def write(directory: Path) -> None:
        write_sequence(directory / SEQUENCE_SUBDIR)
        write_graph(directory / GRAPH_SUBDIR)
        state = {k: v.detach().cpu() for k, v in projection.items()}
        atomic_save(directory / PROJECTION_FILE, lambda handle: torch.save(state, handle))
        write_json(directory / META_FILE, {"format": DUAL_VIEW_FORMAT, "version": DUAL_VIEW_VERSION, **meta})

    return write_directory_atomically(Path(target), write)


def read_dual_view_checkpoint(path: Path) -> DualViewCheckpoint:
    """Check a dual-view checkpoint directory (a run directory resolves to its ``checkpoint/``)."""
    path = resolve_checkpoint_dir(Path(path))
    meta_path = path / META_FILE
    if not meta_path.is_file():
        raise CheckpointError(
            f"{path}: no {META_FILE}; not a dual-view checkpoint (made by `greenft pretrain {DUAL_VIEW_RECIPE}`)"
        )
    meta = read_json(meta_path, "checkpoint metadata", CheckpointError)
    if not isinstance(meta, dict) or meta.get("format") != DUAL_VIEW_FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise CheckpointError(
            f"{meta_path}: format is {found!r}, expected {DUAL_VIEW_FORMAT!r} (made by `greenft pretrain "
            f"{DUAL_VIEW_RECIPE}`)"
        )
    if meta.get("version") != DUAL_VIEW_VERSION:
        raise CheckpointError(f"{meta_path}: version {meta.get('version')!r} is not supported")
    for key in ("graph_model", "graph", "sequence_tokens"):
        if key not in meta:
            raise CheckpointError(f"{meta_path}: field {key!r} is missing")
    checkpoint = DualViewCheckpoint(path, meta)
    for sub in (checkpoint.sequence_dir, checkpoint.graph_dir):
        if not sub.is_dir():
            raise CheckpointError(f"{path}: the {sub.name}/ half of the dual-view checkpoint is missing")
    return checkpoint


def dual_view_checkpoint(config: ModelConfig) -> DualViewCheckpoint:
    """``model.checkpoint`` or the default location of ``greenft pretrain dual-view``; a one-line error naming the
    pretrain command when neither holds one."""
    if config.checkpoint is not None:
        return read_dual_view_checkpoint(config.checkpoint)
    path = default_checkpoint_dir(DUAL_VIEW_RECIPE)
    if not (path / META_FILE).is_file():
        raise missing_checkpoint_error(DUAL_VIEW_RECIPE, path)
    return read_dual_view_checkpoint(path)

"""``schnet``: SchNet (Schütt et al. 2017/2018) on 3D structures, PyTorch Geometric's implementation.

Why PyG's and not SchNetPack 2 (the seed's toolbox): SchNetPack 2.2.0 needs Python >= 3.12 and 2.1.1 pins
``sympy<=1.12`` while torch 2.13.0 needs ``sympy>=1.13.3``, so pip resolves it by replacing torch (measured with
``pip install --dry-run``; docs/models.md, "schnet"). PyG's ``SchNet`` is the same architecture (embedding,
``num_layers`` interaction blocks of continuous-filter convolutions over Gaussian-expanded distances with a cosine
cutoff, atom-wise MLP, readout) and is already a dependency.

Neighbour list: PyG's ``radius_graph`` needs ``pyg-lib`` or ``torch-cluster`` (neither installs here), and caps
neighbours at 32 (which breaks permutation invariance on large molecules), so :class:`PairwiseNeighbours` forms
every pair within each molecule in plain torch and keeps those closer than ``min(cutoff, neighbor_cutoff)``:
QM9 molecules have at most 29 atoms, so all pairs are cheap.

Targets: the trainer standardises each target with the train split's mean and std (as for every family); on top,
:meth:`SchNetFamily.fit_target_baseline` fits a *composition baseline*, each target regressed by least squares on
the molecule's element counts over the train split, fixed in the model (buffers, saved with the weights). The
network then learns the residual scaled to unit variance. SchNetPack does the same in two steps (QM9's atom
reference energies, then a per-atom mean); fitting both lets one rule serve every target and every dataset.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch_geometric
from torch import nn
from torch_geometric.nn.models import SchNet

from greenft.data.structures import Structure
from greenft.models.applied import options_of_other_families
from greenft.models.base import BuiltModel, ModelFamily, count_parameters
from greenft.models.batching import CollatingLoader
from greenft.models.config import ModelConfig
from greenft.models.errors import ModelOptionError

MAX_Z = 100
"""Atomic numbers the embedding and the baseline cover (SchNetPack's and PyG's default)."""
READOUTS = {"mean": "mean", "sum": "add", "max": "max"}
"""``model.pooling`` -> PyG's readout: sum is SchNet's own choice for extensive targets (energies)."""


@dataclass(frozen=True)
class StructureItem:
    z: torch.Tensor  # (n,) long
    pos: torch.Tensor  # (n, 3) float32
    y: torch.Tensor  # (1, tasks), NaN = missing


@dataclass
class StructureBatch:
    """Molecules' atoms concatenated (``batch``: each atom's molecule), with ``y`` and ``to(device)``."""

    z: torch.Tensor
    pos: torch.Tensor
    batch: torch.Tensor
    y: torch.Tensor
    num_graphs: int

    def to(self, device: torch.device | str) -> StructureBatch:
        return StructureBatch(
            self.z.to(device), self.pos.to(device), self.batch.to(device), self.y.to(device), self.num_graphs
        )


def collate(items: list[StructureItem]) -> StructureBatch:
    counts = torch.tensor([len(item.z) for item in items])
    return StructureBatch(
        torch.cat([item.z for item in items]),
        torch.cat([item.pos for item in items]),
        torch.repeat_interleave(torch.arange(len(items)), counts),
        torch.cat([item.y for item in items]),
        len(items),
    )


def structure_item(structure: Structure, labels: np.ndarray) -> StructureItem:
    return StructureItem(
        torch.as_tensor(structure.z, dtype=torch.long),
        torch.as_tensor(structure.pos, dtype=torch.float32),
        torch.as_tensor(labels, dtype=torch.float32).reshape(1, -1),
    )


class PairwiseNeighbours(nn.Module):
    """Every ordered pair of distinct atoms of the same molecule closer than ``radius`` (atoms of a molecule must
    be contiguous, as :func:`collate` makes them): ``(edge_index, distances)`` as PyG's SchNet expects."""

    def __init__(self, radius: float) -> None:
        super().__init__()
        self.radius = radius

    def forward(self, pos: torch.Tensor, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        counts = torch.bincount(batch)
        starts = torch.cumsum(counts, 0) - counts
        per_atom = counts[batch]  # each atom pairs with every atom of its molecule (itself dropped below)
        row = torch.repeat_interleave(torch.arange(len(batch), device=pos.device), per_atom)
        first = torch.repeat_interleave(torch.cumsum(per_atom, 0) - per_atom, per_atom)
        col = starts[batch[row]] + torch.arange(len(row), device=pos.device) - first
        keep = row != col
        row, col = row[keep], col[keep]
        distance = (pos[row] - pos[col]).norm(dim=-1)
        near = distance < self.radius
        return torch.stack([row[near], col[near]]), distance[near]


class SchNetModel(nn.Module):
    """PyG's SchNet with ``num_tasks`` outputs, plus the composition baseline (buffers; zero until fitted):
    ``output = scale * schnet(z, pos) + sum_atoms offset[z] + shift`` in the trainer's standardised units."""

    def __init__(self, config: ModelConfig, num_tasks: int) -> None:
        super().__init__()
        radius = min(config.cutoff, config.neighbor_cutoff or config.cutoff)
        self.net = SchNet(
            hidden_channels=config.emb_dim,
            num_filters=config.emb_dim,
            num_interactions=config.num_layers,
            num_gaussians=config.num_rbf,
            cutoff=config.cutoff,
            interaction_graph=PairwiseNeighbours(radius),
            readout=READOUTS[config.pooling],
        )
        self.net.lin2 = nn.Linear(config.emb_dim // 2, num_tasks)  # PyG's head has one output
        nn.init.xavier_uniform_(self.net.lin2.weight)
        nn.init.zeros_(self.net.lin2.bias)
        self.offset: torch.Tensor
        self.scale: torch.Tensor
        self.shift: torch.Tensor
        self.register_buffer("offset", torch.zeros(MAX_Z, num_tasks))
        self.register_buffer("scale", torch.ones(num_tasks))
        self.register_buffer("shift", torch.zeros(num_tasks))

    def forward(self, batch: StructureBatch) -> torch.Tensor:
        learned: torch.Tensor = self.net(batch.z, batch.pos, batch.batch)
        baseline = torch.zeros_like(learned).index_add_(0, batch.batch, self.offset[batch.z])
        return learned * self.scale + baseline + self.shift


def composition_baseline(
    counts: np.ndarray, labels: np.ndarray, mean: np.ndarray, std: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per task, least squares of the labels on element counts plus an intercept (labelled molecules only), in the
    trainer's standardised units: (offset per element (Z x tasks), shift, scale of the residual)."""
    tasks = labels.shape[1]
    offset, shift, scale = np.zeros((counts.shape[1], tasks)), np.zeros(tasks), np.ones(tasks)
    design = np.hstack([counts, np.ones((len(counts), 1))])
    for task in range(tasks):
        labelled = ~np.isnan(labels[:, task])
        if labelled.sum() < 2:
            continue
        target = (labels[labelled, task] - mean[task]) / std[task]
        coef, *_ = np.linalg.lstsq(design[labelled], target, rcond=None)
        residual = target - design[labelled] @ coef
        offset[:, task], shift[task] = coef[:-1], coef[-1]
        spread = float(residual.std())
        scale[task] = spread if spread > 1e-8 else 1.0
    return offset, shift, scale


class SchNetFamily(ModelFamily):
    name = "schnet"
    description = "SchNet on 3D coordinates (PyTorch Geometric; datasets with coordinates: qm9)"
    needs_structures = True

    def build(self, config: ModelConfig, num_tasks: int) -> BuiltModel:
        if config.checkpoint is not None:
            raise ModelOptionError(
                f"model.checkpoint = '{config.checkpoint}' (--checkpoint): 'schnet' has no pretrained weights to "
                "load; it starts from random weights (leave the option out)"
            )
        applied = options_of_other_families(config, self.name, graph=True, has_checkpoint=False, three_d=True)
        model = SchNetModel(config, num_tasks)
        info: dict[str, Any] = {
            "family": self.name,
            "implementation": f"torch_geometric.nn.models.SchNet (PyG {torch_geometric.__version__}), "
            "pairwise neighbour list in torch",
            "init": "random",
            "num_layers": config.num_layers,
            "emb_dim": config.emb_dim,
            "cutoff": config.cutoff,
            "num_rbf": config.num_rbf,
            "neighbor_cutoff": min(config.cutoff, config.neighbor_cutoff or config.cutoff),
            "readout": READOUTS[config.pooling],
            "parameters": count_parameters(model),
        }
        return BuiltModel(model, "random", info, applied)

    def encode(self, smiles: list[str], labels: np.ndarray, cache_dir: Any = None) -> Sequence[StructureItem]:
        raise ModelOptionError(f"model {self.name!r} needs 3D coordinates: train it on a dataset that has them (qm9)")

    def encode_structures(self, structures: Sequence[Any], labels: np.ndarray) -> Sequence[StructureItem]:
        return [structure_item(s, row) for s, row in zip(structures, labels, strict=True)]

    def encode_unlabelled(self, smiles: list[str], num_tasks: int) -> Sequence[StructureItem]:
        """Items from RDKit conformers (ETKDG + MMFF, seeded: greenft.data.conformers); ValueError for a molecule
        RDKit cannot embed, which ``greenft predict`` reports by row."""
        from greenft.data.conformers import conformer_structure  # RDKit: only when predicting from SMILES

        missing = np.full(num_tasks, np.nan)
        return [structure_item(conformer_structure(text), missing) for text in smiles]

    def loader(
        self, items: Sequence[Any], batch_size: int, shuffle: bool, generator: torch.Generator | None = None
    ) -> Iterable[Any]:
        return CollatingLoader(items, batch_size, shuffle, generator, collate)

    def build_for_weights(
        self,
        config: ModelConfig,
        num_tasks: int,
        vocabulary: list[str] | None,
        encoder_config: dict[str, Any] | None,
    ) -> nn.Module:
        return SchNetModel(config, num_tasks)

    def fit_target_baseline(
        self, model: nn.Module, train_items: Sequence[Any], mean: torch.Tensor, std: torch.Tensor
    ) -> None:
        """The composition baseline (module docstring) from the train split, written into the model's buffers."""
        assert isinstance(model, SchNetModel)
        counts = np.zeros((len(train_items), MAX_Z))
        for row, item in enumerate(train_items):
            np.add.at(counts[row], item.z.numpy(), 1.0)
        labels = torch.cat([item.y for item in train_items]).numpy().astype(np.float64)
        offset, shift, scale = composition_baseline(
            counts, labels, mean.double().cpu().numpy(), std.double().cpu().numpy()
        )
        device = model.offset.device
        with torch.no_grad():
            model.offset.copy_(torch.as_tensor(offset, dtype=torch.float32, device=device))
            model.shift.copy_(torch.as_tensor(shift, dtype=torch.float32, device=device))
            model.scale.copy_(torch.as_tensor(scale, dtype=torch.float32, device=device))

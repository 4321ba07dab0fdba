"""``gin-rich``: a GIN trained from scratch on chemprop-like atom and bond features (no published layout).

Why it exists: greenft's default ``gin`` keeps the Hu et al. 2020 layout so published checkpoints load, and that
layout tells a random-init model only each atom's element and chirality (docs/chemprop_comparison.md measures what
that costs against chemprop's D-MPNN). This family changes what can be changed without touching that layout: the
graphs come from :data:`greenft.data.featurize_rich.RICH` (133 atom floats, 13 bond floats), a linear layer maps
them to the hidden width, and each layer is a GINE convolution (Hu et al.'s GIN with the bond features added to
every message). Batch norm, ReLU and dropout between layers are as in :class:`greenft.models.graph_encoder.
GraphEncoder`, pooled by ``model.pooling`` into a linear head, as ``gin``: the features are the one change
(the ablation in docs/chemprop_comparison.md found them to be what closes most of the gap; a sum+mean readout and
an MLP head did not help at this budget).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn
from torch_geometric.data import Batch, Data
from torch_geometric.loader import DataLoader
from torch_geometric.nn import GINEConv, global_add_pool, global_max_pool, global_mean_pool

from greenft.data.featurize_rich import ATOM_DIM, BOND_DIM, RICH
from greenft.data.graph_cache import featurise
from greenft.data.rdkit_quiet import rdkit_quiet
from greenft.models.applied import options_of_other_families
from greenft.models.base import BuiltModel, ModelFamily, count_parameters
from greenft.models.config import ModelConfig
from greenft.models.errors import ModelOptionError

Readout = Literal["mean", "sum", "max", "sum+mean"]
Head = Literal["linear", "mlp"]


class RichGINEncoder(nn.Module):
    """Linear atom encoder, then ``num_layers`` GINE layers (bond features projected and added to each message)."""

    def __init__(self, num_layers: int, emb_dim: int, dropout: float) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        self.num_layers, self.emb_dim, self.dropout = num_layers, emb_dim, dropout
        self.atom_encoder = nn.Linear(ATOM_DIM, emb_dim)
        self.gnns = nn.ModuleList(
            [
                GINEConv(
                    nn.Sequential(nn.Linear(emb_dim, 2 * emb_dim), nn.ReLU(), nn.Linear(2 * emb_dim, emb_dim)),
                    train_eps=True,
                    edge_dim=BOND_DIM,
                )
                for _ in range(num_layers)
            ]
        )
        self.batch_norms = nn.ModuleList([nn.BatchNorm1d(emb_dim) for _ in range(num_layers)])

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        h = self.atom_encoder(x)
        for layer, (conv, norm) in enumerate(zip(self.gnns, self.batch_norms, strict=True)):
            h = norm(conv(h, edge_index, edge_attr))
            if layer < self.num_layers - 1:
                h = torch.relu(h)
            h = nn.functional.dropout(h, self.dropout, training=self.training)
        return h  # type: ignore[no-any-return]


def _readout(nodes: torch.Tensor, batch: torch.Tensor, readout: Readout) -> torch.Tensor:
    if readout == "sum+mean":
        return torch.cat([global_add_pool(nodes, batch), global_mean_pool(nodes, batch)], dim=1)
    pool = {"mean": global_mean_pool, "sum": global_add_pool, "max": global_max_pool}[readout]
    out: torch.Tensor = pool(nodes, batch)
    return out


class RichGraphModel(nn.Module):
    """Encoder -> readout -> head (linear, or chemprop's FFN shape: one hidden layer of the encoder's width)."""

    def __init__(self, encoder: RichGINEncoder, num_tasks: int, readout: Readout, head: Head) -> None:
        super().__init__()
        self.gnn, self.readout = encoder, readout
        width = encoder.emb_dim * (2 if readout == "sum+mean" else 1)
        if head == "linear":
            self.head: nn.Module = nn.Linear(width, num_tasks)
        else:
            self.head = nn.Sequential(
                nn.Linear(width, encoder.emb_dim),
                nn.ReLU(),
                nn.Dropout(encoder.dropout),
                nn.Linear(encoder.emb_dim, num_tasks),
            )

    def forward(self, batch: Batch) -> torch.Tensor:
        nodes = self.gnn(batch.x, batch.edge_index, batch.edge_attr)
        out: torch.Tensor = self.head(_readout(nodes, batch.batch, self.readout))
        return out


class RichGraphFamily(ModelFamily):
    """A random-init GINE on :data:`~greenft.data.featurize_rich.RICH` graphs, pooled, with a linear or MLP head.

    ``readout=None`` (``gin-rich``) reads ``model.pooling`` like every graph model (mean, sum or max). A fixed
    ``readout`` (``sum+mean`` included) is for the ablation of benchmarks/chemprop_comparison.py, which registers
    such variants in its own process: there ``model.pooling`` does not apply and the model info records the readout.
    """

    def __init__(self, name: str, head: Head, description: str, readout: Readout | None = None) -> None:
        self.name, self.head, self.fixed_readout = name, head, readout
        self.description = f"{description} ({RICH.name} featuriser: {RICH.description})"

    def _model(self, config: ModelConfig, num_tasks: int) -> RichGraphModel:
        readout: Readout
        if self.fixed_readout is not None:
            readout = self.fixed_readout
        elif config.pooling == "norm":
            raise ModelOptionError(
                f"model.pooling = 'norm' (--pooling): chemprop's aggregation; {self.name!r} takes mean, sum or max"
            )
        else:
            readout = config.pooling
        encoder = RichGINEncoder(config.num_layers, config.emb_dim, config.dropout)
        return RichGraphModel(encoder, num_tasks, readout, self.head)

    def build(self, config: ModelConfig, num_tasks: int) -> BuiltModel:
        if config.checkpoint is not None:
            raise ModelOptionError(
                f"model {self.name!r} has no pretrained checkpoints (its features are not a published layout); "
                "leave --checkpoint out, or use gin / gcn / gin-molclr / gcn-molclr for a checkpoint"
            )
        applied = options_of_other_families(config, self.name, graph=True, has_checkpoint=False)
        model = self._model(config, num_tasks)
        info: dict[str, Any] = {
            "family": self.name,
            "featurizer": RICH.name,
            "init": "random",
            "num_layers": config.num_layers,
            "emb_dim": config.emb_dim,
            "readout": model.readout,
            "head": self.head,
            "parameters": count_parameters(model),
        }
        return BuiltModel(model, "random", info, applied)

    def encode(self, smiles: list[str], labels: np.ndarray, cache_dir: Path | None = None) -> Sequence[Data]:
        return featurise(smiles, labels, cache_dir, RICH)

    def build_for_weights(
        self,
        config: ModelConfig,
        num_tasks: int,
        vocabulary: list[str] | None,
        encoder_config: dict[str, Any] | None,
    ) -> nn.Module:
        return self._model(config, num_tasks)

    def encode_unlabelled(self, smiles: list[str], num_tasks: int) -> Sequence[Data]:
        graphs = []
        with rdkit_quiet():
            for text in smiles:
                graph = RICH.smiles_to_graph(text)
                graph.y = torch.full((1, num_tasks), float("nan"))
                graphs.append(graph)
        return graphs

    def loader(
        self, items: Sequence[Any], batch_size: int, shuffle: bool, generator: torch.Generator | None = None
    ) -> Iterable[Any]:
        loader: Iterable[Any] = DataLoader(list(items), batch_size, shuffle=shuffle, generator=generator)
        return loader

"""A GIN encoder in the layout of Hu et al. 2020 (pretrain-gnns), plus pooling and a task head.

Parameter names follow the published checkpoints (``x_embedding1``, ``x_embedding2``, ``gnns.<i>.mlp``,
``gnns.<i>.edge_embedding1/2``, ``batch_norms.<i>``) so that an encoder state dict saved by those authors, or
by ``greenft pretrain``, loads by name with nothing missing or unexpected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch_geometric.data import Batch, Data
from torch_geometric.loader import DataLoader
from torch_geometric.nn import MessagePassing, global_add_pool, global_max_pool, global_mean_pool
from torch_geometric.utils import add_self_loops

from greenft.data.featurize import (
    NUM_ATOM_TYPES,
    NUM_BOND_DIRECTIONS,
    NUM_BOND_TYPES,
    NUM_CHIRALITY_TAGS,
    SELF_LOOP_BOND,
)
from greenft.data.graph_cache import featurise
from greenft.models.base import BuiltModel, ModelFamily, count_parameters
from greenft.models.config import ModelConfig


class GINConv(MessagePassing):  # type: ignore[misc]
    """GIN layer with bond-type and bond-direction embeddings added to each message (Hu et al. 2020)."""

    def __init__(self, emb_dim: int) -> None:
        super().__init__(aggr="add")
        self.mlp = nn.Sequential(nn.Linear(emb_dim, 2 * emb_dim), nn.ReLU(), nn.Linear(2 * emb_dim, emb_dim))
        self.edge_embedding1 = nn.Embedding(NUM_BOND_TYPES, emb_dim)
        self.edge_embedding2 = nn.Embedding(NUM_BOND_DIRECTIONS, emb_dim)
        nn.init.xavier_uniform_(self.edge_embedding1.weight)
        nn.init.xavier_uniform_(self.edge_embedding2.weight)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        edge_index, _ = add_self_loops(edge_index, num_nodes=x.size(0))
        loops = torch.zeros(x.size(0), 2, dtype=edge_attr.dtype, device=edge_attr.device)
        loops[:, 0] = SELF_LOOP_BOND
        edge_attr = torch.cat([edge_attr, loops], dim=0)
        edge_embeddings = self.edge_embedding1(edge_attr[:, 0]) + self.edge_embedding2(edge_attr[:, 1])
        aggregated: torch.Tensor = self.propagate(edge_index, x=x, edge_attr=edge_embeddings)
        out: torch.Tensor = self.mlp(aggregated)
        return out

    def message(self, x_j: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        return x_j + edge_attr


class GraphEncoder(nn.Module):
    """The encoder layout Hu et al. and MolCLR share (GIN and GCN alike), hence their checkpoints' key names.

    Atom type + chirality embeddings (``x_embedding1``/``x_embedding2``), then ``num_layers`` message-passing
    layers (``gnns.<i>``), each followed by batch norm (``batch_norms.<i>``), ReLU between layers and dropout;
    the last layer's node embeddings are the output (JK "last"). Subclasses choose the layer and vocabularies.
    """

    def __init__(
        self,
        num_layers: int,
        emb_dim: int,
        dropout: float,
        num_atom_types: int,
        num_chirality_tags: int,
        make_layer: Callable[[int], nn.Module],
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        self.num_layers, self.emb_dim, self.dropout = num_layers, emb_dim, dropout
        self.x_embedding1 = nn.Embedding(num_atom_types, emb_dim)
        self.x_embedding2 = nn.Embedding(num_chirality_tags, emb_dim)
        nn.init.xavier_uniform_(self.x_embedding1.weight)
        nn.init.xavier_uniform_(self.x_embedding2.weight)
        self.gnns = nn.ModuleList([make_layer(emb_dim) for _ in range(num_layers)])
        self.batch_norms = nn.ModuleList([nn.BatchNorm1d(emb_dim) for _ in range(num_layers)])

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        h = self.x_embedding1(x[:, 0]) + self.x_embedding2(x[:, 1])
        for layer, (conv, norm) in enumerate(zip(self.gnns, self.batch_norms, strict=True)):
            h = norm(conv(h, edge_index, edge_attr))
            if layer < self.num_layers - 1:
                h = torch.relu(h)
            h = nn.functional.dropout(h, self.dropout, training=self.training)
        return h  # type: ignore[no-any-return]


class GINEncoder(GraphEncoder):
    """The Hu et al. 2020 GIN encoder: :class:`GraphEncoder` with GIN layers and Hu et al.'s vocabularies."""

    def __init__(self, num_layers: int = 5, emb_dim: int = 300, dropout: float = 0.0) -> None:
        super().__init__(num_layers, emb_dim, dropout, NUM_ATOM_TYPES, NUM_CHIRALITY_TAGS, GINConv)


_POOLS = {"mean": global_mean_pool, "sum": global_add_pool, "max": global_max_pool}


class GraphPropertyModel(nn.Module):
    """Encoder -> graph pooling -> linear head with one output per task (logits or standardised values)."""

    def __init__(self, encoder: GraphEncoder, num_tasks: int, pooling: str = "mean") -> None:
        super().__init__()
        if pooling not in _POOLS:
            raise ValueError(f"pooling must be one of {sorted(_POOLS)}, got {pooling!r}")
        self.gnn = encoder
        self.pooling = pooling
        self.head = nn.Linear(encoder.emb_dim, num_tasks)

    def forward(self, batch: Batch) -> torch.Tensor:
        nodes = self.gnn(batch.x, batch.edge_index, batch.edge_attr)
        out: torch.Tensor = self.head(_POOLS[self.pooling](nodes, batch.batch))
        return out


class GinFamily(ModelFamily):
    """``gin``: Hu et al. 2020 graphs and GIN encoder; loads greenft or raw published encoder checkpoints."""

    name = "gin"
    description = "GIN encoder, Hu et al. 2020 layout (atom/chirality + bond type/direction embeddings)"

    def build(self, config: ModelConfig, num_tasks: int) -> BuiltModel:
        from greenft.models.checkpoint import load_into_encoder, read_checkpoint

        info: dict[str, Any] = {"family": self.name}
        num_layers, emb_dim = config.num_layers, config.emb_dim
        if config.checkpoint is not None:
            loaded = read_checkpoint(config.checkpoint)
            num_layers, emb_dim = loaded.architecture.num_layers, loaded.architecture.emb_dim
            encoder = GINEncoder(num_layers, emb_dim, config.dropout)
            load_into_encoder(loaded, encoder)
            init = f"pretrained:{loaded.path}"
            info.update(checkpoint_format=loaded.format, checkpoint_provenance=loaded.provenance)
        else:
            encoder = GINEncoder(num_layers, emb_dim, config.dropout)
            init = "random"
        model = GraphPropertyModel(encoder, num_tasks, config.pooling)
        info.update(init=init, num_layers=num_layers, emb_dim=emb_dim, parameters=count_parameters(model))
        return BuiltModel(model, init, info)

    def encode(self, smiles: list[str], labels: np.ndarray, cache_dir: Path | None = None) -> Sequence[Data]:
        return featurise(smiles, labels, cache_dir)

    def loader(
        self, items: Sequence[Any], batch_size: int, shuffle: bool, generator: torch.Generator | None = None
    ) -> Iterable[Any]:
        loader: Iterable[Any] = DataLoader(list(items), batch_size, shuffle=shuffle, generator=generator)
        return loader

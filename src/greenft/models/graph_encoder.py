"""The body every greenft graph model shares: the encoder layout of the published GNNs, pooling and a task head.

Hu et al. 2020 and MolCLR built their GIN and GCN encoders the same way and named the parameters alike, which is
what lets one loader (:mod:`greenft.models.published`) map any of their checkpoints by key name. The layers
(:mod:`greenft.models.gin`, :mod:`greenft.models.gcn`) and vocabularies differ; this skeleton does not.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch_geometric.data import Batch
from torch_geometric.nn import global_add_pool, global_max_pool, global_mean_pool


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

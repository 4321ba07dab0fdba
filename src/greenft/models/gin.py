"""A GIN encoder in the layout of Hu et al. 2020 (pretrain-gnns), plus pooling and a task head.

Parameter names follow the published checkpoints (``x_embedding1``, ``x_embedding2``, ``gnns.<i>.mlp``,
``gnns.<i>.edge_embedding1/2``, ``batch_norms.<i>``) so that an encoder state dict saved by those authors, or
by ``greenft pretrain``, loads by name with nothing missing or unexpected.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import MessagePassing, global_add_pool, global_max_pool, global_mean_pool
from torch_geometric.utils import add_self_loops

from greenft.data.featurize import (
    NUM_ATOM_TYPES,
    NUM_BOND_DIRECTIONS,
    NUM_BOND_TYPES,
    NUM_CHIRALITY_TAGS,
    SELF_LOOP_BOND,
)


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


class GINEncoder(nn.Module):
    """Atom embeddings, ``num_layers`` GIN layers with batch norm, ReLU between layers, dropout; last-layer JK."""

    def __init__(self, num_layers: int = 5, emb_dim: int = 300, dropout: float = 0.0) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        self.num_layers, self.emb_dim, self.dropout = num_layers, emb_dim, dropout
        self.x_embedding1 = nn.Embedding(NUM_ATOM_TYPES, emb_dim)
        self.x_embedding2 = nn.Embedding(NUM_CHIRALITY_TAGS, emb_dim)
        nn.init.xavier_uniform_(self.x_embedding1.weight)
        nn.init.xavier_uniform_(self.x_embedding2.weight)
        self.gnns = nn.ModuleList([GINConv(emb_dim) for _ in range(num_layers)])
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

    def __init__(self, encoder: GINEncoder, num_tasks: int, pooling: str = "mean") -> None:
        super().__init__()
        if pooling not in _POOLS:
            raise ValueError(f"pooling must be one of {sorted(_POOLS)}, got {pooling!r}")
        self.gnn = encoder
        self.pooling = pooling
        self.head = nn.Linear(encoder.emb_dim, num_tasks)

    def forward(
        self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor, batch: torch.Tensor
    ) -> torch.Tensor:
        nodes = self.gnn(x, edge_index, edge_attr)
        out: torch.Tensor = self.head(_POOLS[self.pooling](nodes, batch))
        return out

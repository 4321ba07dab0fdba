"""GIN encoders in the layouts of Hu et al. 2020 (pretrain-gnns) and MolCLR (Wang et al. 2022).

Parameter names follow the published checkpoints (``x_embedding1``, ``x_embedding2``, ``gnns.<i>.mlp``,
``gnns.<i>.edge_embedding1/2``, ``batch_norms.<i>``) so that an encoder state dict saved by those authors, or
by ``greenft pretrain``, loads by name with nothing missing or unexpected. The skeleton around the layers
(embeddings, batch norms, pooling, head) is :mod:`greenft.models.graph_encoder`.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import add_self_loops

from greenft.data.featurize import (
    NUM_ATOM_TYPES,
    NUM_BOND_DIRECTIONS,
    NUM_BOND_TYPES,
    NUM_CHIRALITY_TAGS,
    SELF_LOOP_BOND,
)
from greenft.data.featurize_molclr import MOLCLR_NUM_ATOM_TYPES, MOLCLR_NUM_BOND_TYPES
from greenft.models.graph_encoder import GraphEncoder


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


class GINEncoder(GraphEncoder):
    """The Hu et al. 2020 GIN encoder: :class:`GraphEncoder` with GIN layers and Hu et al.'s vocabularies."""

    def __init__(self, num_layers: int = 5, emb_dim: int = 300, dropout: float = 0.0) -> None:
        super().__init__(num_layers, emb_dim, dropout, NUM_ATOM_TYPES, NUM_CHIRALITY_TAGS, GINConv)


class MolclrGINEncoder(GINEncoder):
    """MolCLR's GIN (``models/ginet_finetune.py``): Hu et al.'s GIN layer with MolCLR's vocabularies.

    The layer is the same (MLP 300 -> 600 -> 300 after summing ``x_j + bond embedding`` over edges with
    self-loops); only the tables differ: 119 atom types (mask 118) and 5 bond types (self-loop 4, no mask).
    """

    def __init__(self, num_layers: int = 5, emb_dim: int = 300, dropout: float = 0.0) -> None:
        super().__init__(num_layers, emb_dim, dropout)
        self.x_embedding1 = nn.Embedding(MOLCLR_NUM_ATOM_TYPES, emb_dim)
        nn.init.xavier_uniform_(self.x_embedding1.weight)
        for conv in self.gnns:
            conv.edge_embedding1 = nn.Embedding(MOLCLR_NUM_BOND_TYPES, emb_dim)
            nn.init.xavier_uniform_(conv.edge_embedding1.weight)

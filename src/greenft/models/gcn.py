"""GCN encoders in the two published layouts: Hu et al. 2020 (pretrain-gnns) and MolCLR (Wang et al. 2022).

Both embed atoms (type + chirality) and, per layer, bonds (type + direction), add a self-loop of bond type 4
to every atom, and stack ``num_layers`` convolutions with batch norm, ReLU between layers and dropout (no ReLU
after the last layer). They differ in what a layer computes, and those differences are what their published
weights were trained with, so we reproduce each exactly (our own code, read from the authors' repositories):

* **Hu et al.** (``snap-stanford/pretrain-gnns``, ``chem/model.py``, ``GCNConv``): ``h = Linear(x)``; the
  message along edge j -> i is ``norm_ji * (h_j + e_ji)`` with ``e`` a bond embedding as wide as the layer
  (vocabularies: 6 bond types incl. self-loop 4 and mask 5, 3 directions) and the symmetric normalisation
  ``norm_ji = deg(j)^-1/2 * deg(i)^-1/2`` over the graph *with* self-loops; messages are summed. Parameters:
  ``gnns.<i>.linear``, ``gnns.<i>.edge_embedding1/2``. Atom vocabulary 120 (118 elements, other, mask).
* **MolCLR** (``yuyangw/MolCLR``, ``models/gcn_finetune.py``, ``GCNConv``): ``h = x @ W`` (``W`` stored as
  ``gnns.<i>.weight``, in x out), the message is ``h_j + e_ji`` where the bond embedding is a *scalar*
  (width 1, broadcast over the features; 5 bond types incl. self-loop 4, 3 directions); messages are summed
  and ``gnns.<i>.bias`` added. The authors' layer computes a GCN normalisation but discards it (the
  ``gcn_norm`` result is assigned to an unused name), so the published weights were trained *without*
  normalisation, and we do not normalise either. Atom vocabulary 119 (118 elements, mask).

Parameter names are the authors', so their state dicts load by name with nothing missing or unexpected.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import add_self_loops, degree

from greenft.data.featurize import NUM_ATOM_TYPES, NUM_BOND_DIRECTIONS, NUM_BOND_TYPES, NUM_CHIRALITY_TAGS
from greenft.data.featurize_molclr import (
    MOLCLR_NUM_ATOM_TYPES,
    MOLCLR_NUM_BOND_DIRECTIONS,
    MOLCLR_NUM_BOND_TYPES,
    MOLCLR_NUM_CHIRALITY_TAGS,
)
from greenft.models.graph_encoder import GraphEncoder

SELF_LOOP_BOND = 4  # the same index in both vocabularies

GcnLayout = Literal["hu2020", "molclr"]


def _with_self_loops(
    edge_index: torch.Tensor, edge_attr: torch.Tensor, num_nodes: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Append one self-loop per atom (bond type 4, direction 0) after the chemical edges, as both authors do."""
    edge_index, _ = add_self_loops(edge_index, num_nodes=num_nodes)
    loops = torch.zeros(num_nodes, 2, dtype=edge_attr.dtype, device=edge_attr.device)
    loops[:, 0] = SELF_LOOP_BOND
    return edge_index, torch.cat([edge_attr, loops], dim=0)


class HuGCNConv(MessagePassing):  # type: ignore[misc]
    """Hu et al.'s GCN layer: symmetric-normalised sum of ``Linear(x_j) + bond embedding``."""

    def __init__(self, emb_dim: int) -> None:
        super().__init__(aggr="add")
        self.linear = nn.Linear(emb_dim, emb_dim)
        self.edge_embedding1 = nn.Embedding(NUM_BOND_TYPES, emb_dim)
        self.edge_embedding2 = nn.Embedding(NUM_BOND_DIRECTIONS, emb_dim)
        nn.init.xavier_uniform_(self.edge_embedding1.weight)
        nn.init.xavier_uniform_(self.edge_embedding2.weight)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        edge_index, edge_attr = _with_self_loops(edge_index, edge_attr, x.size(0))
        edge_embeddings = self.edge_embedding1(edge_attr[:, 0]) + self.edge_embedding2(edge_attr[:, 1])
        row, col = edge_index
        deg_inv_sqrt = degree(row, x.size(0), dtype=x.dtype).pow(-0.5)
        deg_inv_sqrt = deg_inv_sqrt.masked_fill(torch.isinf(deg_inv_sqrt), 0.0)
        norm = deg_inv_sqrt[row] * deg_inv_sqrt[col]
        out: torch.Tensor = self.propagate(edge_index, x=self.linear(x), edge_attr=edge_embeddings, norm=norm)
        return out

    def message(self, x_j: torch.Tensor, edge_attr: torch.Tensor, norm: torch.Tensor) -> torch.Tensor:
        return norm.view(-1, 1) * (x_j + edge_attr)


class MolclrGCNConv(MessagePassing):  # type: ignore[misc]
    """MolCLR's GCN layer: unnormalised sum of ``x_j @ W + scalar bond embedding``, plus a bias."""

    def __init__(self, emb_dim: int) -> None:
        super().__init__(aggr="add")
        self.weight = nn.Parameter(torch.empty(emb_dim, emb_dim))
        self.bias = nn.Parameter(torch.zeros(emb_dim))
        nn.init.xavier_uniform_(self.weight)  # MolCLR: uniform(+-sqrt(6 / (in + out))), i.e. Glorot
        self.edge_embedding1 = nn.Embedding(MOLCLR_NUM_BOND_TYPES, 1)
        self.edge_embedding2 = nn.Embedding(MOLCLR_NUM_BOND_DIRECTIONS, 1)
        nn.init.xavier_uniform_(self.edge_embedding1.weight)
        nn.init.xavier_uniform_(self.edge_embedding2.weight)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        edge_index, edge_attr = _with_self_loops(edge_index, edge_attr, x.size(0))
        edge_embeddings = self.edge_embedding1(edge_attr[:, 0]) + self.edge_embedding2(edge_attr[:, 1])
        out: torch.Tensor = self.propagate(edge_index, x=x @ self.weight, edge_attr=edge_embeddings)
        return out + self.bias

    def message(self, x_j: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        return x_j + edge_attr  # (edges x emb) + (edges x 1): the scalar bond term is broadcast


class GCNEncoder(GraphEncoder):
    """:class:`GraphEncoder` with GCN layers, in the Hu et al. or the MolCLR layout (layer and vocabularies)."""

    def __init__(
        self, num_layers: int = 5, emb_dim: int = 300, dropout: float = 0.0, layout: GcnLayout = "hu2020"
    ) -> None:
        if layout not in ("hu2020", "molclr"):
            raise ValueError(f"GCN layout must be 'hu2020' or 'molclr', got {layout!r}")
        atoms = NUM_ATOM_TYPES if layout == "hu2020" else MOLCLR_NUM_ATOM_TYPES
        chirality = NUM_CHIRALITY_TAGS if layout == "hu2020" else MOLCLR_NUM_CHIRALITY_TAGS
        conv = HuGCNConv if layout == "hu2020" else MolclrGCNConv
        super().__init__(num_layers, emb_dim, dropout, atoms, chirality, conv)
        self.layout = layout

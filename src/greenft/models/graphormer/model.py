"""A Graphormer-style graph transformer (Ying et al. 2021, "Do Transformers Really Perform Bad for Graph
Representation?"), from PyTorch parts: transformers 5 no longer ships Graphormer.

Graphormer's ingredients, each a few lines below:

* **centrality encoding**: learned in-degree and out-degree embeddings added to each atom's embedding (the sum of
  its categorical feature embeddings); for molecules the two degrees are equal, as in Graphormer on OGB;
* **spatial encoding**: a learned scalar per attention head for the hop distance of each atom pair, added to the
  attention logits (distances from :data:`MAX_DISTANCE` up share a bucket; atoms in different fragments get a
  bucket of their own);
* **edge encoding**: for each pair, the bonds along a shortest path (its first ``MAX_PATH_EDGES``), each bond's
  feature embeddings (one scalar per head, averaged over its features) mixed by a learned heads x heads matrix
  per path position, then averaged over the path: Graphormer's ``multi_hop`` formulation;
* **[VNode] graph token**: a learned token attending to and attended by every atom, with its own learned
  "virtual distance" bias per head; its final state is the molecule's representation (the readout).

The layers are pre-LayerNorm (attention, then a GELU feed-forward network of the model's width, as
Graphormer-base has), each with residual connections, and a final LayerNorm. Parameters start as Graphormer's
do (normal, std 0.02; biases 0). Padded positions are masked out as attention keys, so they never change a
real atom's state; their own rows are computed and ignored.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional

from greenft.data.featurize_graphormer import ATOM_FEATURE_SIZES, BOND_FEATURE_SIZES
from greenft.models.graphormer.batch import MAX_PATH_EDGES, GraphormerBatch, PaddedGraphs

MAX_DEGREE = 16
"""Degrees from here up share the last degree embedding (heavy atoms have at most 6 bonds in practice)."""
MAX_DISTANCE = 32
"""Hop distances from here up share one spatial bucket (Graphormer keeps up to 512; molecules are small)."""
_FAR = MAX_DISTANCE + 1
_UNREACHABLE = MAX_DISTANCE + 2
_SPATIAL_BUCKETS = MAX_DISTANCE + 3  # 0 unused (padded pairs are never embedded), d + 1, far, unreachable


def default_num_heads(emb_dim: int) -> int:
    """8 heads when the width allows (Graphormer-slim: 80 wide, 8 heads), else 4, else 1."""
    return next(heads for heads in (8, 4, 1) if emb_dim % heads == 0)


def spatial_bucket(distance: torch.Tensor) -> torch.Tensor:
    """Embedding index of each hop distance: d + 1 below :data:`MAX_DISTANCE`, then one far and one unreachable
    bucket (distance -1: atoms in different fragments)."""
    bucket = distance.clamp(max=MAX_DISTANCE) + 1
    bucket = torch.where(distance >= MAX_DISTANCE, torch.full_like(distance, _FAR), bucket)
    return torch.where(distance < 0, torch.full_like(distance, _UNREACHABLE), bucket)


class GraphAttentionBias(nn.Module):
    """Per-head attention logit biases for the graph token + atoms: spatial, edge and virtual-distance terms."""

    def __init__(self, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.spatial = nn.Embedding(_SPATIAL_BUCKETS, num_heads, padding_idx=0)
        self.bond_features = nn.ModuleList([nn.Embedding(size, num_heads) for size in BOND_FEATURE_SIZES])
        self.path_position = nn.Parameter(torch.empty(MAX_PATH_EDGES, num_heads, num_heads))
        self.virtual_distance = nn.Embedding(1, num_heads)

    def forward(self, batch: PaddedGraphs) -> torch.Tensor:
        """``B x heads x (N+1) x (N+1)`` biases; padded keys are ``-inf``. Computed on the real atom pairs only."""
        b, n = batch.node_mask.shape
        heads = self.num_heads
        spatial = self.spatial(spatial_bucket(batch.pair_distance))  # P x H
        bond = torch.stack([table(batch.edge_attr[:, k]) for k, table in enumerate(self.bond_features)]).mean(0)
        bond = torch.cat([bond.new_zeros(1, heads), bond])  # row 0: no edge
        # each bond's heads mixed by the matrix of every path position it could sit at: L x (E+1) x H
        per_position = torch.einsum("eh,lhk->lek", bond, self.path_position)
        positions = torch.arange(MAX_PATH_EDGES, device=bond.device)
        gathered = per_position[positions, batch.pair_path]  # P x L x H
        length = (batch.pair_path > 0).sum(-1, keepdim=True).clamp(min=1)
        atoms = bond.new_zeros(b * n * n, heads)
        atoms[batch.pair_index] = spatial + gathered.sum(-2) / length
        bias = bond.new_zeros(b, n + 1, n + 1, heads)
        bias[:, 1:, 1:] = atoms.view(b, n, n, heads)
        virtual = self.virtual_distance.weight.view(1, 1, heads)
        bias[:, 0, :] = bias[:, 0, :] + virtual
        bias[:, 1:, 0] = bias[:, 1:, 0] + virtual
        keys = torch.cat([batch.node_mask.new_ones(b, 1), batch.node_mask], dim=1)  # graph token always a key
        bias = bias.masked_fill(~keys.view(b, 1, n + 1, 1), float("-inf"))
        return bias.permute(0, 3, 1, 2).contiguous()


class GraphormerLayer(nn.Module):
    """Pre-LN self-attention with an additive bias, then a pre-LN feed-forward network; residuals around each."""

    def __init__(self, emb_dim: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.dropout = dropout
        self.attention_norm = nn.LayerNorm(emb_dim)
        self.qkv = nn.Linear(emb_dim, 3 * emb_dim)
        self.out = nn.Linear(emb_dim, emb_dim)
        self.ffn_norm = nn.LayerNorm(emb_dim)
        self.ffn = nn.Sequential(
            nn.Linear(emb_dim, emb_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(emb_dim, emb_dim)
        )

    def forward(self, h: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, s, d = h.shape
        q, k, v = self.qkv(self.attention_norm(h)).view(b, s, 3, self.num_heads, d // self.num_heads).unbind(2)
        p = self.dropout if self.training else 0.0
        # no dropout on the attention probabilities (Graphormer has 0.1): on a CPU the B x heads x N x N mask
        # cost about 15% of a BBBP epoch (measured); model.dropout applies to the states instead
        attended = functional.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=bias
        )
        h = h + functional.dropout(self.out(attended.transpose(1, 2).reshape(b, s, d)), p, self.training)
        return h + functional.dropout(self.ffn(self.ffn_norm(h)), p, self.training)


class GraphormerEncoder(nn.Module):
    """Atoms (+ centrality) and the graph token through ``num_layers`` biased attention layers: ``B x (N+1) x D``,
    position 0 the graph token."""

    def __init__(self, num_layers: int, emb_dim: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        if emb_dim % num_heads:
            raise ValueError(f"model.emb_dim = {emb_dim} is not divisible by model.num_heads = {num_heads}")
        self.num_layers, self.emb_dim, self.num_heads, self.dropout = num_layers, emb_dim, num_heads, dropout
        self.atom_features = nn.ModuleList([nn.Embedding(size, emb_dim) for size in ATOM_FEATURE_SIZES])
        self.in_degree = nn.Embedding(MAX_DEGREE, emb_dim)
        self.out_degree = nn.Embedding(MAX_DEGREE, emb_dim)
        self.graph_token = nn.Embedding(1, emb_dim)
        self.attention_bias = GraphAttentionBias(num_heads)
        self.layers = nn.ModuleList([GraphormerLayer(emb_dim, num_heads, dropout) for _ in range(num_layers)])
        self.final_norm = nn.LayerNorm(emb_dim)
        self.apply(_init)

    def forward(self, batch: PaddedGraphs) -> torch.Tensor:
        atoms = torch.stack([table(batch.x[..., k]) for k, table in enumerate(self.atom_features)]).sum(0)
        atoms = atoms + self.in_degree(batch.in_degree.clamp(max=MAX_DEGREE - 1))
        atoms = atoms + self.out_degree(batch.out_degree.clamp(max=MAX_DEGREE - 1))
        token = self.graph_token.weight.view(1, 1, -1).expand(atoms.shape[0], 1, -1)
        h = functional.dropout(torch.cat([token, atoms], dim=1), self.dropout, self.training)
        bias = self.attention_bias(batch)
        for layer in self.layers:
            h = layer(h, bias)
        out: torch.Tensor = self.final_norm(h)
        return out


def _init(module: nn.Module) -> None:
    """Graphormer's initialisation: weights and embeddings normal(0, 0.02), biases 0, padding rows 0."""
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, std=0.02)
        if module.padding_idx is not None:
            with torch.no_grad():
                module.weight[module.padding_idx].zero_()
    elif isinstance(module, GraphAttentionBias):
        nn.init.normal_(module.path_position, std=0.02)


class GraphormerModel(nn.Module):
    """Encoder -> the graph token's final state -> dropout + linear head, one output per task."""

    def __init__(self, encoder: GraphormerEncoder, num_tasks: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.emb_dim, num_tasks)

    def forward(self, batch: GraphormerBatch) -> torch.Tensor:
        token = torch.cat([self.encoder(chunk)[:, 0] for chunk in batch.chunks])[batch.restore]
        out: torch.Tensor = self.head(functional.dropout(token, self.encoder.dropout, self.training))
        return out

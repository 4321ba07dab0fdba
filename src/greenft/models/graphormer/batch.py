"""Graphormer items (one per molecule, structure precomputed) and padded batches with a node mask.

An item holds what the attention biases need, computed once when a dataset is encoded: in/out degrees, the
hop distance of every atom pair and the bonds along one shortest path per pair (greenft.data.shortest_paths).
A batch is cut into chunks of :data:`CHUNK` molecules of similar size (the batch's molecules sorted by atom
count), each padded to its largest molecule (dynamic padding); ``node_mask`` says which positions are atoms, and
the model gives padded positions no attention weight, so a molecule's output does not depend on what it is
batched with, and the chunks' outputs are put back in the batch's order. Why chunks: attention costs the square
of the padded size, and one large molecule padded a random batch of 64 to its size: on BBBP the padded pairs were
6.8x the real ones (2.3x with chunks of 16; 1.6x with 8, at more per-chunk overhead). The batch itself (which
molecules share a gradient step) is the loader's, unchanged. The pair terms (distance, path) are kept for real
atom pairs only, as a flat list with each pair's position in the chunk's ``B x N x N`` grid. Path entries become
indices into the chunk's concatenated bond features (+1, 0 = no edge), so each bond is embedded once and gathered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import torch
from torch_geometric.data import Data
from torch_geometric.utils import degree

from greenft.data.shortest_paths import shortest_paths
from greenft.models.batching import CollatingLoader

MAX_PATH_EDGES = 5
"""Edges of a shortest path the edge encoding averages (Graphormer's ``multi_hop_max_dist`` for molecules)."""
CHUNK = 16
"""Molecules per padded chunk of a batch (see the module docstring)."""


@dataclass(frozen=True)
class GraphormerItem:
    x: torch.Tensor  # atoms x atom features, long
    edge_attr: torch.Tensor  # directed edges x bond features, long
    in_degree: torch.Tensor  # atoms, long
    out_degree: torch.Tensor  # atoms, long
    distance: torch.Tensor  # atoms x atoms, int16: hops, -1 across fragments
    path_edges: torch.Tensor  # atoms x atoms x MAX_PATH_EDGES, int16: edge row of the k-th path edge, -1 none
    y: torch.Tensor  # 1 x tasks, NaN = missing label

    @property
    def num_nodes(self) -> int:
        return int(self.x.shape[0])


def graphormer_item(graph: Data) -> GraphormerItem:
    """The item of one featurised graph (``x``, ``edge_index``, ``edge_attr``, ``y``)."""
    n = int(graph.x.shape[0])
    if n > torch.iinfo(torch.int16).max or graph.edge_index.shape[1] > torch.iinfo(torch.int16).max:
        raise ValueError(f"a molecule of {n} atoms is too large for the graphormer family (int16 pair tables)")
    distance, path_edges = shortest_paths(graph.edge_index.numpy(), n, MAX_PATH_EDGES)
    return GraphormerItem(
        x=graph.x,
        edge_attr=graph.edge_attr,
        in_degree=degree(graph.edge_index[1], n, dtype=torch.long),
        out_degree=degree(graph.edge_index[0], n, dtype=torch.long),
        distance=torch.from_numpy(distance).to(torch.int16),
        path_edges=torch.from_numpy(path_edges).to(torch.int16),
        y=graph.y,
    )


@dataclass
class PaddedGraphs:
    """Molecules padded to ``N`` atoms: what :class:`greenft.models.graphormer.model.GraphormerEncoder` takes."""

    x: torch.Tensor  # B x N x atom features (0 on padding)
    node_mask: torch.Tensor  # B x N, bool: True = atom
    in_degree: torch.Tensor  # B x N
    out_degree: torch.Tensor  # B x N
    pair_index: torch.Tensor  # P: flat position (b * N + i) * N + j of each real atom pair (i, j) of molecule b
    pair_distance: torch.Tensor  # P: hops, -1 across fragments
    pair_path: torch.Tensor  # P x MAX_PATH_EDGES: row of ``edge_attr`` + 1 of each path edge, 0 = none
    edge_attr: torch.Tensor  # all directed edges of the chunk x bond features

    def to(self, device: torch.device | str) -> PaddedGraphs:
        return PaddedGraphs(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass
class GraphormerBatch:
    """What :class:`greenft.models.graphormer.model.GraphormerModel` takes: size-sorted padded chunks, the
    permutation that puts their rows back in the batch's order, and ``y`` (molecules x tasks, batch order)."""

    chunks: list[PaddedGraphs]
    restore: torch.Tensor  # row i of the batch is row restore[i] of the chunks' outputs, concatenated
    y: torch.Tensor

    def to(self, device: torch.device | str) -> GraphormerBatch:
        return GraphormerBatch([chunk.to(device) for chunk in self.chunks], self.restore.to(device), self.y.to(device))

    def __len__(self) -> int:
        return int(self.y.shape[0])


def collate(items: Sequence[GraphormerItem], chunk: int = CHUNK) -> GraphormerBatch:
    """The batch of ``items`` in chunks of ``chunk`` molecules of similar size (sorted by atoms, stable)."""
    order = sorted(range(len(items)), key=lambda i: items[i].num_nodes)
    chunks = [pad([items[i] for i in order[start : start + chunk]]) for start in range(0, len(items), chunk)]
    restore = torch.argsort(torch.tensor(order))
    return GraphormerBatch(chunks, restore, torch.cat([item.y for item in items]))


def pad(items: Sequence[GraphormerItem]) -> PaddedGraphs:
    """``items`` padded to the largest of them."""
    size = max(item.num_nodes for item in items)
    b = len(items)
    x = torch.zeros((b, size, items[0].x.shape[1]), dtype=torch.long)
    node_mask = torch.zeros((b, size), dtype=torch.bool)
    in_degree = torch.zeros((b, size), dtype=torch.long)
    out_degree = torch.zeros((b, size), dtype=torch.long)
    pair_index, pair_distance, pair_path = [], [], []
    offset = 0
    for index, item in enumerate(items):
        n = item.num_nodes
        x[index, :n] = item.x
        node_mask[index, :n] = True
        in_degree[index, :n] = item.in_degree
        out_degree[index, :n] = item.out_degree
        atoms = torch.arange(n)
        pair_index.append(((index * size + atoms).view(-1, 1) * size + atoms.view(1, -1)).reshape(-1))
        pair_distance.append(item.distance.reshape(-1).long())
        path = item.path_edges.reshape(n * n, MAX_PATH_EDGES).long()
        pair_path.append(torch.where(path >= 0, path + offset + 1, 0))
        offset += int(item.edge_attr.shape[0])
    return PaddedGraphs(
        x=x,
        node_mask=node_mask,
        in_degree=in_degree,
        out_degree=out_degree,
        pair_index=torch.cat(pair_index),
        pair_distance=torch.cat(pair_distance),
        pair_path=torch.cat(pair_path),
        edge_attr=torch.cat([item.edge_attr for item in items]),
    )


class GraphormerLoader(CollatingLoader[GraphormerItem, GraphormerBatch]):
    """Re-iterable padded batches (a new shuffle per pass when ``shuffle``), like a DataLoader without workers."""

    def __init__(
        self, items: Sequence[GraphormerItem], batch_size: int, shuffle: bool, generator: torch.Generator | None = None
    ) -> None:
        super().__init__(items, batch_size, shuffle, generator, collate)

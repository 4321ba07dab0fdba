"""MolCLR-style contrastive pretraining of a graph encoder: two augmented views, NT-Xent.

Wang et al. 2022 ("Molecular contrastive learning of representations via graph neural networks", MolCLR):
each molecule graph is augmented twice; an encoder + mean pooling + projection head maps both views to
vectors, and the NT-Xent loss (normalised temperature-scaled cross entropy, SimCLR) pulls the two views of a
molecule together and pushes the other 2(B-1) views of the batch away. Augmentations (MolCLR's three):

* **atom masking**: ``max(1, floor(rate * atoms))`` atoms get the encoder's mask atom type (the last row of its
  atom table: 119 in Hu et al.'s vocabulary) and chirality 0;
* **bond deletion**: ``floor(rate * bonds)`` chemical bonds are removed (both directed edges);
* **subgraph removal**: a connected subgraph of ``max(1, floor(rate * atoms))`` atoms grown by breadth-first
  search from a random atom is masked and every bond touching it removed.

Each view draws one strategy from ``strategies``; the default ``("mask+delete", "subgraph")`` is MolCLR's
"integration": atom masking and bond deletion together, or subgraph removal. The rate is MolCLR's 0.25.
Atom count never changes (the view stays the same molecule to the pooling), edges always stay paired.

The encoder is any greenft graph encoder (``forward(x, edge_index, edge_attr) -> node embeddings`` with
``num_layers``/``emb_dim``), so one loop pretrains ``gin`` and ``gcn`` alike.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn
from torch_geometric.data import Batch, Data
from torch_geometric.nn import global_mean_pool

from greenft.models.graph_encoder import GraphEncoder

STRATEGIES: tuple[str, ...] = ("mask+delete", "subgraph", "mask", "delete")
DEFAULT_STRATEGIES: tuple[str, ...] = ("mask+delete", "subgraph")


def _view(graph: Data, x: torch.Tensor, keep: torch.Tensor | None) -> Data:
    if keep is None:
        return Data(x=x, edge_index=graph.edge_index, edge_attr=graph.edge_attr)
    return Data(x=x, edge_index=graph.edge_index[:, keep], edge_attr=graph.edge_attr[keep])


def _pick(n: int, k: int, generator: torch.Generator) -> torch.Tensor:
    return torch.randperm(n, generator=generator)[:k]


def _masked(x: torch.Tensor, atoms: torch.Tensor, mask_index: int) -> torch.Tensor:
    out = x.clone()
    out[atoms, 0] = mask_index
    out[atoms, 1] = 0
    return out


def _bond_ids(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """One id per chemical bond, shared by its two directed edges."""
    low = torch.minimum(edge_index[0], edge_index[1])
    high = torch.maximum(edge_index[0], edge_index[1])
    return low * num_nodes + high


def mask_atoms(graph: Data, rate: float, generator: torch.Generator, mask_index: int) -> Data:
    n = int(graph.x.shape[0])
    atoms = _pick(n, max(1, math.floor(rate * n)), generator)
    return _view(graph, _masked(graph.x, atoms, mask_index), None)


def delete_bonds(graph: Data, rate: float, generator: torch.Generator) -> Data:
    n = int(graph.x.shape[0])
    ids = _bond_ids(graph.edge_index, n)
    bonds = torch.unique(ids)
    k = math.floor(rate * len(bonds))
    if k == 0:
        return _view(graph, graph.x, None)
    dropped = bonds[_pick(len(bonds), k, generator)]
    return _view(graph, graph.x, ~torch.isin(ids, dropped))


def remove_subgraph(graph: Data, rate: float, generator: torch.Generator, mask_index: int) -> Data:
    n = int(graph.x.shape[0])
    size = max(1, math.floor(rate * n))
    neighbours: list[list[int]] = [[] for _ in range(n)]
    for a, b in graph.edge_index.t().tolist():
        neighbours[a].append(b)
    start = int(torch.randint(n, (1,), generator=generator))
    chosen: list[int] = []
    seen = {start}
    queue = deque([start])
    while queue and len(chosen) < size:
        atom = queue.popleft()
        chosen.append(atom)
        for other in neighbours[atom]:
            if other not in seen:
                seen.add(other)
                queue.append(other)
    atoms = torch.tensor(chosen, dtype=torch.long)
    inside = torch.zeros(n, dtype=torch.bool)
    inside[atoms] = True
    keep = ~(inside[graph.edge_index[0]] | inside[graph.edge_index[1]])
    return _view(graph, _masked(graph.x, atoms, mask_index), keep)


def augment(graph: Data, strategy: str, rate: float, generator: torch.Generator, mask_index: int) -> Data:
    """One augmented view of ``graph`` (a new Data; the input is never modified)."""
    if strategy == "mask":
        return mask_atoms(graph, rate, generator, mask_index)
    if strategy == "delete":
        return delete_bonds(graph, rate, generator)
    if strategy == "mask+delete":
        return delete_bonds(mask_atoms(graph, rate, generator, mask_index), rate, generator)
    if strategy == "subgraph":
        return remove_subgraph(graph, rate, generator, mask_index)
    raise ValueError(f"unknown augmentation {strategy!r}; known: {', '.join(STRATEGIES)}")


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """NT-Xent over a batch of view pairs: row i of ``z1`` and of ``z2`` are positives, all else negatives."""
    if z1.shape != z2.shape:
        raise ValueError(f"view embeddings differ in shape: {tuple(z1.shape)} vs {tuple(z2.shape)}")
    batch = z1.shape[0]
    z = nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    similarity = z @ z.t() / temperature
    similarity = similarity.masked_fill(torch.eye(2 * batch, dtype=torch.bool, device=z.device), float("-inf"))
    targets = torch.cat([torch.arange(batch, 2 * batch), torch.arange(batch)]).to(z.device)
    return nn.functional.cross_entropy(similarity, targets)


class ContrastiveModel(nn.Module):
    """Graph encoder -> mean pooling -> projection head (Linear, ReLU, Linear), as in MolCLR/SimCLR."""

    def __init__(self, encoder: GraphEncoder, projection_dim: int | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        width = encoder.emb_dim
        self.projection = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, projection_dim or width))

    def embed(self, batch: Batch) -> torch.Tensor:
        """The mean-pooled graph representation before the projection head (what dual-view aligns)."""
        nodes = self.encoder(batch.x, batch.edge_index, batch.edge_attr)
        pooled: torch.Tensor = global_mean_pool(nodes, batch.batch)
        return pooled

    def forward(self, batch: Batch) -> torch.Tensor:
        out: torch.Tensor = self.projection(self.embed(batch))
        return out


def mask_index_of(encoder: nn.Module) -> int:
    """The masked-atom type of an encoder: the last row of its atom-type table (Hu et al.: 119)."""
    table = getattr(encoder, "x_embedding1", None)
    if not isinstance(table, nn.Embedding):
        raise ValueError(f"{type(encoder).__name__} has no x_embedding1 atom table; cannot mask atoms")
    return int(table.num_embeddings) - 1


class ContrastiveTask:
    """The contrastive objective over featurised corpus graphs; what :func:`run_pretraining` steps through."""

    def __init__(
        self,
        graphs: Sequence[Data],
        encoder: GraphEncoder,
        save_encoder: Callable[[nn.Module, Any, dict[str, Any]], Any],
        architecture: dict[str, Any],
        temperature: float = 0.1,
        rate: float = 0.25,
        strategies: Sequence[str] = DEFAULT_STRATEGIES,
    ) -> None:
        unknown = [s for s in strategies if s not in STRATEGIES]
        if unknown or not strategies:
            raise ValueError(f"unknown augmentation(s) {unknown}; choose from {', '.join(STRATEGIES)}")
        self.graphs = list(graphs)
        self.model = ContrastiveModel(encoder)
        self.encoder = encoder
        self.save_encoder = save_encoder
        self.architecture = architecture
        self.temperature = temperature
        self.rate = rate
        self.strategies = tuple(strategies)
        self.mask_index = mask_index_of(encoder)

    @property
    def num_examples(self) -> int:
        return len(self.graphs)

    def views(self, indices: Sequence[int], generator: torch.Generator) -> tuple[Batch, Batch]:
        pairs: list[list[Data]] = [[], []]
        for index in indices:
            for view in pairs:
                pick = int(torch.randint(len(self.strategies), (1,), generator=generator))
                view.append(augment(self.graphs[index], self.strategies[pick], self.rate, generator, self.mask_index))
        return Batch.from_data_list(pairs[0]), Batch.from_data_list(pairs[1])

    def loss(self, indices: Sequence[int], generator: torch.Generator, device: torch.device) -> torch.Tensor:
        first, second = self.views(indices, generator)
        return nt_xent(self.model(first.to(device)), self.model(second.to(device)), self.temperature)

    def save(self, target: Any, provenance: dict[str, Any]) -> Any:
        return self.save_encoder(self.encoder, target, provenance)

    def describe(self) -> dict[str, Any]:
        return {
            **self.architecture,
            "objective": "contrastive (NT-Xent over two augmented views, MolCLR-style)",
            "temperature": self.temperature,
            "augmentation_rate": self.rate,
            "augmentations": list(self.strategies),
        }

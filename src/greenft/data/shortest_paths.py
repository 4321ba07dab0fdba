"""All-pairs shortest paths of a molecular graph: hop distances and the edges along one shortest path per pair.

What Graphormer's attention biases are made of: the spatial encoding embeds the hop distance between two atoms,
the edge encoding averages the bonds met along a shortest path between them. Computed once per molecule when
a dataset is encoded, not per batch, with numpy: a breadth-first search of all sources at once (one boolean
matrix product per hop), then each pair's path walked from its start, always stepping to the *lowest-numbered*
neighbour that is one hop closer to the end. That rule decides which path a pair gets when several are
shortest (across a ring), from the atom numbering alone, so graphs numbered canonically
(greenft.data.featurize_graphormer) always get the same paths. (scipy's ``shortest_path`` did the same job 2x
slower on BBBP, most of it building its sparse matrices, and leaves its tie-break unspecified.) No torch here.
"""

from __future__ import annotations

import numpy as np

UNREACHABLE = -1
"""The distance of two atoms in different fragments (a salt's ions): no path joins them."""
NO_EDGE = -1
"""A path slot past the end of the path (or of the kept prefix)."""


def hop_distances(adjacency: np.ndarray) -> np.ndarray:
    """Hops between every pair of nodes of a symmetric boolean ``adjacency`` (n x n); :data:`UNREACHABLE` across
    components."""
    n = adjacency.shape[0]
    distance = np.full((n, n), UNREACHABLE, dtype=np.int64)
    np.fill_diagonal(distance, 0)
    visited = np.eye(n, dtype=bool)
    frontier = visited.copy()  # frontier[k, j]: node k is (hops - 1) from node j
    links = adjacency.astype(np.float32)
    for hops in range(1, n):
        frontier = ((links @ frontier.astype(np.float32)) > 0) & ~visited
        if not frontier.any():
            break
        distance[frontier] = hops
        visited |= frontier
    return distance


def shortest_paths(edge_index: np.ndarray, num_nodes: int, max_path_edges: int) -> tuple[np.ndarray, np.ndarray]:
    """``(distance, path_edges)`` for a graph of ``num_nodes`` atoms with directed edges ``edge_index`` (2 x E),
    every bond present in both directions.

    ``distance[i, j]``: hops from atom i to atom j (0 on the diagonal, :data:`UNREACHABLE` across fragments).
    ``path_edges[i, j, k]``: the column of ``edge_index`` of the k-th edge on a shortest path from i to j, for the
    first ``max_path_edges`` edges of it (Graphormer's ``multi_hop_max_dist``); :data:`NO_EDGE` beyond. Both int64.
    """
    if max_path_edges < 1:
        raise ValueError(f"max_path_edges must be >= 1, got {max_path_edges}")
    n = num_nodes
    path_edges = np.full((n, n, max_path_edges), NO_EDGE, dtype=np.int64)
    sources, targets = np.asarray(edge_index[0], dtype=np.int64), np.asarray(edge_index[1], dtype=np.int64)
    adjacency = np.zeros((n, n), dtype=bool)
    adjacency[sources, targets] = True
    edge_id = np.full((n, n), NO_EDGE, dtype=np.int64)
    edge_id[sources, targets] = np.arange(len(sources))
    distance = hop_distances(adjacency)
    if n == 0:
        return distance, path_edges
    # closer[i, k, j]: k is a neighbour of i one hop closer to j; the first such k (lowest number) is the step
    closer = adjacency[:, :, None] & (distance[None, :, :] == distance[:, None, :] - 1)
    step = closer.argmax(axis=1)  # n x n; meaningless where i == j or j is unreachable (never used there)
    rows, cols = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")  # rows = i (start), cols = j (end)
    reachable = distance >= 0
    current = rows.copy()
    for position in range(max_path_edges):
        active = reachable & (current != cols)
        if not active.any():
            break
        after = np.where(active, step[current, cols], current)
        path_edges[..., position] = np.where(active, edge_id[current, after], NO_EDGE)
        current = after
    return distance, path_edges

"""All-pairs shortest paths of a molecular graph: hop distances and the edges along one shortest path per pair.

What Graphormer's attention biases are made of: the spatial encoding embeds the hop distance between two atoms,
the edge encoding averages the bonds met along a shortest path between them. Computed once per molecule when
a dataset is encoded (scipy's breadth-first search over the graph's adjacency, vectorised path walk), not per
batch. Which shortest path a pair gets when there are several is decided by the search on the adjacency matrix
alone, so a graph whose atoms are numbered canonically (greenft.data.featurize_graphormer) always gets the same
ones. Pure numpy/scipy: no torch here.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path

UNREACHABLE = -1
"""The distance of two atoms in different fragments (a salt's ions): no path joins them."""
NO_EDGE = -1
"""A path slot past the end of the path (or of the kept prefix)."""


def shortest_paths(edge_index: np.ndarray, num_nodes: int, max_path_edges: int) -> tuple[np.ndarray, np.ndarray]:
    """``(distance, path_edges)`` for a graph of ``num_nodes`` atoms with directed edges ``edge_index`` (2 x E).

    ``distance[i, j]``: hops from atom i to atom j (0 on the diagonal, :data:`UNREACHABLE` across fragments).
    ``path_edges[i, j, k]``: the column of ``edge_index`` of the k-th edge on a shortest path from i to j, for the
    first ``max_path_edges`` edges of it (Graphormer's ``multi_hop_max_dist``); :data:`NO_EDGE` beyond. Both int64.
    """
    if max_path_edges < 1:
        raise ValueError(f"max_path_edges must be >= 1, got {max_path_edges}")
    n = num_nodes
    distance = np.full((n, n), UNREACHABLE, dtype=np.int64)
    path_edges = np.full((n, n, max_path_edges), NO_EDGE, dtype=np.int64)
    if n == 0:
        return distance, path_edges
    sources, targets = np.asarray(edge_index[0], dtype=np.int64), np.asarray(edge_index[1], dtype=np.int64)
    edge_id = np.full((n, n), NO_EDGE, dtype=np.int64)
    edge_id[sources, targets] = np.arange(len(sources))
    adjacency = csr_matrix((np.ones(len(sources)), (sources, targets)), shape=(n, n))
    hops, parent = shortest_path(adjacency, directed=True, unweighted=True, return_predecessors=True)
    reachable = np.isfinite(hops)
    distance[reachable] = hops[reachable].astype(np.int64)
    # parent[j, u]: the atom before u on the search tree rooted at j, i.e. the next atom after u on a shortest
    # path from u to j; walking it from u = i reaches j in distance[i, j] steps along edges of the graph
    rows, cols = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")  # rows = i (start), cols = j (end)
    current = rows.copy()
    for step in range(max_path_edges):
        active = reachable & (current != cols)
        if not active.any():
            break
        after = np.where(active, parent[cols, current], current)
        path_edges[..., step] = np.where(active, edge_id[current, after], NO_EDGE)
        current = after
    return distance, path_edges

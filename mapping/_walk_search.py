"""The search behind :func:`mapping.network.network_costs`: bounded Dijkstra on the network's core.

A walking network has many dead ends: cul-de-sacs, paths into parks and estates. With the
branches that lead only to them they form trees hanging off the rest of the network, and a
shortest path enters such a tree only to reach a node in it. So the search runs on the
*core*, the 2-core (what is left after removing nodes with one neighbour, again and again;
Seidman 1983), and a point in a hanging tree is charged its way along the tree to the core
node the tree hangs from, its *root*. Two points in one tree meet at their lowest common
ancestor, not at the root: their pairs are corrected so. On the real north London extract a
third of the nodes hang in trees, and the search takes about a third less time.

:func:`core_of` finds the core once per network (``prepare_network``); :func:`network_pairs`
runs each query on it. A component with no cycle keeps one node as its core, so every node
has a root.

Seidman, S. B. (1983). Network structure and minimum degree. *Social Networks*, 5(3),
269-287.
"""

from __future__ import annotations

from typing import Final, NamedTuple

import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra

# Dense Dijkstra output per chunk of sources: at most this many float64 cells (~40 MB).
_CHUNK_CELLS: Final = 5_000_000

Pairs = list[tuple[np.ndarray, np.ndarray, np.ndarray]]


class Core(NamedTuple):
    """A network's core and the trees hanging off it (see the module docstring)."""

    adjacency: csr_array
    """Edge lengths in metres among the core nodes, in node order."""
    root: np.ndarray
    """Per node: the position in ``adjacency`` of the core node its tree hangs from (its own on the core)."""
    to_root: np.ndarray
    """Per node: metres along its tree to its root (0 on the core)."""
    parent: np.ndarray
    """Per node: the next node towards its root (-1 on the core)."""
    depth: np.ndarray
    """Per node: edges between it and its root (0 on the core)."""

    def meeting_points(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Give the lowest common ancestor of each pair of nodes ``a[i]``, ``b[i]`` (same root)."""
        a, b = a.copy(), b.copy()
        apart = a != b
        while apart.any():
            deeper_a = apart & (self.depth[a] >= self.depth[b])
            deeper_b = apart & (self.depth[b] >= self.depth[a])
            a[deeper_a] = self.parent[a[deeper_a]]
            b[deeper_b] = self.parent[b[deeper_b]]
            apart = a != b
        return a


def core_of(adjacency: csr_array) -> Core:
    """Give the core of a symmetric adjacency matrix and how every other node hangs off it.

    Nodes with one neighbour are peeled off, again and again, each remembering the
    neighbour it hung from; what remains is the core. A component that peels away
    entirely (a tree) keeps its last node as its core.
    """
    n = adjacency.shape[0]
    indptr, indices, lengths = (adjacency.indptr.tolist(), adjacency.indices.tolist(),
                                adjacency.data.tolist())
    degree = np.diff(adjacency.indptr).tolist()
    peeled = [False] * n
    parent = [-1] * n
    step = [0.0] * n
    order: list[int] = []
    stack = [v for v in range(n) if degree[v] == 1]
    while stack:
        v = stack.pop()
        if degree[v] != 1:
            continue  # the last node of a tree: it stays, as that tree's core
        peeled[v] = True
        degree[v] = 0
        order.append(v)
        for k in range(indptr[v], indptr[v + 1]):
            u = indices[k]
            if not peeled[u]:
                parent[v], step[v] = u, lengths[k]
                degree[u] -= 1
                if degree[u] == 1:
                    stack.append(u)
                break
    on_core = ~np.array(peeled, dtype=bool)
    core_nodes = np.flatnonzero(on_core)
    root = np.full(n, -1, dtype=np.intp)
    root[core_nodes] = np.arange(len(core_nodes))
    to_root = np.zeros(n)
    depth = np.zeros(n, dtype=np.intp)
    for v in reversed(order):  # every node after the one it hangs from
        p = parent[v]
        root[v], to_root[v], depth[v] = root[p], to_root[p] + step[v], depth[p] + 1
    core = csr_array(adjacency[core_nodes][:, core_nodes])
    return Core(core, root, to_root, np.array(parent, dtype=np.intp), depth)


def network_pairs(core: Core, d_node: np.ndarray, d_snap: np.ndarray, s_node: np.ndarray,
                  s_snap: np.ndarray, cutoff_m: float) -> Pairs:
    """Give (demand point, supply point, metres) arrays of the pairs within ``cutoff_m``.

    ``d_node``/``s_node``: the node each point snaps to, ``d_snap``/``s_snap``: how far.
    Each point stands at its root, ``snap + to_root`` away; Dijkstra runs once per distinct
    root on one side, and only root pairs within reach are expanded to the points at them,
    so memory follows the answer's size rather than demand × supply. Walking is two-way
    (the adjacency is symmetric), so the search starts from whichever side has fewer
    distinct roots: usually the supply sites.
    """
    d_off, s_off = d_snap + core.to_root[d_node], s_snap + core.to_root[s_node]
    d_roots = _Roots.of(core.root[d_node], d_off)
    s_roots = _Roots.of(core.root[s_node], s_off)
    if len(d_roots.nodes) < len(s_roots.nodes):
        found = [(d, s, metres) for s, d, metres in
                 _root_pairs(core.adjacency, s_roots, d_roots, cutoff_m)]
    else:
        found = _root_pairs(core.adjacency, d_roots, s_roots, cutoff_m)
    d_root, s_root = d_roots.root, s_roots.root
    pairs = []
    for d, s, metres in found:
        # Two points in one tree meet at their lowest common ancestor, not at the root.
        one_tree = (d_root[d] == s_root[s]) & (core.depth[d_node[d]] > 0) & (core.depth[s_node[s]] > 0)
        if one_tree.any():
            meet = core.meeting_points(d_node[d[one_tree]], s_node[s[one_tree]])
            metres[one_tree] -= 2 * core.to_root[meet]
        within = metres <= cutoff_m
        pairs.append((d[within], s[within], metres[within]))
    return pairs


class _Roots(NamedTuple):
    """Points by root: each point's root and offset, the distinct roots, the points at each."""

    root: np.ndarray
    off: np.ndarray
    nodes: np.ndarray
    members: _Groups

    @classmethod
    def of(cls, root: np.ndarray, off: np.ndarray) -> _Roots:
        nodes, group = np.unique(root, return_inverse=True)
        return cls(root, off, nodes, _Groups.of(group, len(nodes)))


def _root_pairs(adjacency: csr_array, targets: _Roots, sources: _Roots, cutoff_m: float) -> Pairs:
    """Search from the distinct roots of the source points; give (target point, source point, metres).

    Every pair whose roots are within reach is given, as ``off + path + off``: the caller
    corrects pairs within one tree, then applies the cut-off.
    """
    # A path longer than the cut-off less the two smallest offsets cannot make a pair, so
    # the search stops there (plus 1 µm, so rounding never drops a pair the exact test keeps).
    # Never below 0: two points in one tree may be within reach of each other however far
    # both are from their root.
    slack = max(0.0, cutoff_m - float(sources.off.min()) - float(targets.off.min())) + 1e-6
    step = max(1, _CHUNK_CELLS // adjacency.shape[0])
    pairs = []
    for start in range(0, len(sources.nodes), step):
        block = dijkstra(adjacency, directed=True, limit=slack,
                         indices=sources.nodes[start:start + step])[:, targets.nodes]
        row, col = np.nonzero(block <= slack)
        path = block[row, col]
        # Root pairs -> point pairs: every source point at the root, then every target point.
        by_source, s_point = sources.members.expand(row + start)
        by_target, t_point = targets.members.expand(col[by_source])
        s_point = s_point[by_target]
        pairs.append((t_point, s_point,
                      path[by_source][by_target] + sources.off[s_point] + targets.off[t_point]))
    return pairs


class _Groups(NamedTuple):
    """Points grouped by their root: ``members[first[g]:first[g] + size[g]]``."""

    members: np.ndarray
    first: np.ndarray
    size: np.ndarray

    @classmethod
    def of(cls, group: np.ndarray, n_groups: int) -> _Groups:
        size = np.bincount(group, minlength=n_groups)
        return cls(np.argsort(group, kind="stable"), np.cumsum(size) - size, size)

    def expand(self, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Give, for every member of every group in ``groups``, its entry's index and the member."""
        n = self.size[groups]
        entry = np.repeat(np.arange(len(groups)), n)
        offset = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
        return entry, self.members[self.first[groups][entry] + offset]

"""The search behind :func:`mapping.access.network.network_costs`: bounded Dijkstra on the junctions.

A walking network has many dead ends (cul-de-sacs, paths into parks and estates) and long
runs of nodes with two neighbours (bends, crossings of other ways). Neither needs to be
searched node by node:

- Dead ends, with the branches that lead only to them, form trees hanging off the rest of
  the network, the *core* (the 2-core: what is left after removing nodes with one
  neighbour, again and again; Seidman 1983). A shortest path enters a tree only to reach a
  node in it, so a point in a tree is charged its way along the tree to the core node the
  tree hangs from, its *root*. Two points in one tree meet at their lowest common ancestor
  instead, and their pairs are corrected so.
- In the core, the nodes with other than two neighbours are *junctions*; the runs of
  two-neighbour nodes between them are *chains*, each searched as one edge (the shortest
  of parallel chains). A root on a chain reaches the rest of the network through the
  chain's two end junctions: in the search graph a chain node has an edge out to each
  end and none in, so a search from it goes straight to the junctions, and it is reached
  through the nearer end. Two roots on one chain are also reached along it.

On the real north London extract a third of the nodes hang in trees and another fifth lie
on chains: the search settles about 40% as many nodes as on the whole graph. The answer is
the same: every way through a tree or chain is one the full search would walk, and the
tests check it pair by pair against networkx.

:func:`core_of` finds the core, chains and junctions once per network
(``prepare_network``); :func:`network_pairs` runs each query on them. A component with no
cycle keeps one node as its core, and a cycle with no junction has one node taken as its
junction, so every node has a root and every root a junction.

Seidman, S. B. (1983). Network structure and minimum degree. *Social Networks*, 5(3),
269-287.
"""

from __future__ import annotations

from typing import Final, NamedTuple

import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra

# Dense Dijkstra output per chunk of sources: at most this many float64 cells (1 MB). Small
# blocks stay in the CPU cache and are reused by the allocator: with blocks of several MB,
# touching fresh pages (a page fault each) took a third of the time on a virtual machine.
_CHUNK_CELLS: Final = 1 << 17

# A pair this close to the cut-off is taken as on it (see network_pairs).
_TIE_M: Final = 1e-6

Pairs = list[tuple[np.ndarray, np.ndarray, np.ndarray]]


class Core(NamedTuple):
    """A network's junctions, chains and hanging trees (see the module docstring)."""

    adjacency: csr_array
    """The search graph, over the core nodes in order: metres between junctions joined by a
    chain or an edge (the shortest), and from each chain node to its chain's ends (nothing
    leads into a chain node, so a search from one goes straight to the junctions)."""
    root: np.ndarray
    """Per node: the core node its tree hangs from (its own on the core), numbered in core order."""
    to_root: np.ndarray
    """Per node: metres along its tree to its root (0 on the core)."""
    parent: np.ndarray
    """Per node: the next node towards its root (-1 on the core)."""
    depth: np.ndarray
    """Per node: edges between it and its root (0 on the core)."""
    chain: np.ndarray
    """Per core node: its chain's number (-1 at a junction)."""
    ends: np.ndarray
    """Per core node, shape (core nodes, 2): its chain's end nodes (at a junction: itself, twice)."""
    to_ends: np.ndarray
    """Per core node, shape (core nodes, 2): metres along its chain to each end (0 at a junction)."""

    def meeting_points(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Give the lowest common ancestor of each pair of nodes ``a[i]``, ``b[i]`` (same root).

        One step up the trees per pass: as many passes as the deepest tree is deep (a
        handful of edges on a simplified street network).
        """
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
    """Give the junctions, chains and hanging trees of a symmetric adjacency matrix.

    Nodes with one neighbour are peeled off, again and again, each remembering the
    neighbour it hung from; what remains is the core. A component that peels away
    entirely (a tree) keeps its last node as its core. The core's chains are then walked
    from each junction (:func:`_chains`).
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
    core_nodes = np.flatnonzero(~np.array(peeled, dtype=bool))
    root = np.full(n, -1, dtype=np.intp)
    root[core_nodes] = np.arange(len(core_nodes))
    to_root = np.zeros(n)
    depth = np.zeros(n, dtype=np.intp)
    for v in reversed(order):  # every node after the one it hangs from
        p = parent[v]
        root[v], to_root[v], depth[v] = root[p], to_root[p] + step[v], depth[p] + 1
    search, chain, ends, to_ends = _chains(csr_array(adjacency[core_nodes][:, core_nodes]))
    return Core(search, root, to_root, np.array(parent, dtype=np.intp), depth, chain, ends, to_ends)


def _chains(core: csr_array) -> tuple[csr_array, np.ndarray, np.ndarray, np.ndarray]:
    """Give the search graph and, per core node, its chain, its chain's ends and how far they are.

    Every chain is walked once, from the junction at one end to the junction at the other.
    Nodes left unwalked lie on cycles with no junction: one node of each becomes one.
    """
    n = core.shape[0]
    indptr, indices, lengths = core.indptr.tolist(), core.indices.tolist(), core.data.tolist()
    junction = (np.diff(core.indptr) != 2).tolist()
    chain = [-1] * n
    near, to_near = [0] * n, [0.0] * n  # per chain node: the end it was walked from, how far
    start_of: list[int] = []  # per chain: the two ends and its length
    end_of: list[int] = []
    length_of: list[float] = []

    def walk(start: int) -> None:
        for k in range(indptr[start], indptr[start + 1]):
            prev, here, run = start, indices[k], lengths[k]
            if junction[here] or chain[here] >= 0:
                continue  # an edge between junctions, or a chain walked from its other end
            number = len(start_of)
            while not junction[here]:
                chain[here], near[here], to_near[here] = number, start, run
                first = indptr[here]
                on = first if indices[first] != prev else first + 1
                prev, here, run = here, indices[on], run + lengths[on]
            start_of.append(start)
            end_of.append(here)
            length_of.append(run)

    for v in range(n):
        if junction[v]:
            walk(v)
    for v in range(n):
        if chain[v] < 0 and not junction[v]:
            junction[v] = True  # a cycle with no junction: this node stands for one
            walk(v)
    chains = np.array(chain, dtype=np.intp)
    inside = np.flatnonzero(chains >= 0)
    number = chains[inside]
    ends = np.repeat(np.arange(n, dtype=np.intp)[:, None], 2, axis=1)
    ends[inside, 0] = np.array(near, dtype=np.intp)[inside]
    ends[inside, 1] = np.array(end_of, dtype=np.intp)[number]
    to_ends = np.zeros((n, 2))
    to_ends[inside, 0] = np.array(to_near)[inside]
    to_ends[inside, 1] = np.array(length_of)[number] - to_ends[inside, 0]
    walked = (np.array(start_of, dtype=np.intp), np.array(end_of, dtype=np.intp), np.array(length_of))
    search = _search_graph(core, np.array(junction, dtype=bool), walked, inside, ends, to_ends)
    return search, chains, ends, to_ends


def _search_graph(core: csr_array, junction: np.ndarray, walked: tuple[np.ndarray, np.ndarray, np.ndarray],
                  inside: np.ndarray, ends: np.ndarray, to_ends: np.ndarray) -> csr_array:
    """Give the search graph (:attr:`Core.adjacency`) from the chains walked and the core's edges.

    Between junctions: the core's own edges and each chain both ways, the shortest of
    parallel ones (a chain that loops back to its junction is no way between junctions).
    From each chain node: an edge to each end of its chain, one to a loop's one end, the
    shorter way round.
    """
    n = core.shape[0]
    edges = core.tocoo()
    direct = junction[edges.row] & junction[edges.col]
    start, end, length = walked
    apart = start != end
    a = np.concatenate([edges.row[direct], start[apart], end[apart]])
    b = np.concatenate([edges.col[direct], end[apart], start[apart]])
    metres = np.concatenate([edges.data[direct], length[apart], length[apart]])
    order = np.lexsort((metres, b, a))
    a, b, metres = a[order], b[order], metres[order]
    first = np.ones(len(a), dtype=bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    loop = ends[inside, 0] == ends[inside, 1]
    out_to = np.where(loop[:, None], ends[inside, :1], ends[inside])
    out_metres = np.where(loop[:, None], to_ends[inside].min(axis=1, keepdims=True), to_ends[inside])
    keep = np.ones((len(inside), 2), dtype=bool)
    keep[loop, 1] = False
    rows = np.concatenate([a[first], np.repeat(inside, 2).reshape(-1, 2)[keep]])
    cols = np.concatenate([b[first], out_to[keep]])
    data = np.concatenate([metres[first], out_metres[keep]])
    return csr_array((data, (rows, cols)), shape=(n, n))


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
        found = [(d, s, metres) for s, d, metres in _root_pairs(core, s_roots, d_roots, cutoff_m)]
    else:
        found = _root_pairs(core, d_roots, s_roots, cutoff_m)
    d_root, s_root = d_roots.root, s_roots.root
    pairs = []
    for d, s, metres in found:
        # Two points in one tree meet at their lowest common ancestor, not at the root.
        one_tree = (d_root[d] == s_root[s]) & (core.depth[d_node[d]] > 0) & (core.depth[s_node[s]] > 0)
        if one_tree.any():
            meet = core.meeting_points(d_node[d[one_tree]], s_node[s[one_tree]])
            metres[one_tree] -= 2 * core.to_root[meet]
        # Sums taken along a chain or down a tree can differ from a node-by-node search's in
        # the last digits (~1e-13 m): a pair within 1 µm of the cut-off is on it, not beyond.
        within = metres <= cutoff_m + _TIE_M
        pairs.append((d[within], s[within], np.minimum(metres[within], cutoff_m)))
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


def _root_pairs(core: Core, targets: _Roots, sources: _Roots, cutoff_m: float) -> Pairs:
    """Search from the distinct roots of the source points; give (target point, source point, metres).

    Every pair whose roots are within reach is given, as ``off + path + off``: the caller
    corrects pairs within one tree, then applies the cut-off.
    """
    # A path longer than the cut-off less the two smallest offsets cannot make a pair, so
    # the search stops there (plus the 1 µm allowed for rounding).
    # Never below 0: two points in one tree may be within reach of each other however far
    # both are from their root.
    slack = max(0.0, cutoff_m - float(sources.off.min()) - float(targets.off.min())) + _TIE_M
    t_ends, t_to_ends = core.ends[targets.nodes], core.to_ends[targets.nodes]
    t_chain = core.chain[targets.nodes]
    on_chain = np.flatnonzero(t_chain >= 0)
    step = max(1, _CHUNK_CELLS // core.adjacency.shape[0])
    pairs = []
    for start in range(0, len(sources.nodes), step):
        chunk = slice(start, start + step)
        reach = dijkstra(core.adjacency, directed=True, limit=slack, indices=sources.nodes[chunk])
        # A root is reached through the nearer of its chain's two ends (at a junction: itself).
        block = reach[:, t_ends[:, 0]]
        block += t_to_ends[:, 0]
        other = reach[:, t_ends[on_chain, 1]]
        other += t_to_ends[on_chain, 1]
        block[:, on_chain] = np.minimum(block[:, on_chain], other, out=other)
        # Two roots on one chain are also reached along it.
        s_nodes = sources.nodes[chunk]
        row, col = np.nonzero((core.chain[s_nodes][:, None] == t_chain) & (t_chain >= 0))
        if len(row):
            along = np.abs(core.to_ends[s_nodes[row], 0] - t_to_ends[col, 0])
            block[row, col] = np.minimum(block[row, col], along)
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

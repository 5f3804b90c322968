"""The search behind a lot design: seeded ReCom short bursts over an adjacency graph.

Private to :mod:`mapping.lots.design`, which turns areas into the graph and the best plan
back into lots. The search reports how it is going (:class:`SearchProgress`, once per
burst) and stops when asked (:class:`DesignCancelled`), so a page can show progress and
offer a Cancel button; it does no I/O.
"""

from __future__ import annotations

import math
import random
import time
import warnings
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

import networkx as nx
import pandas as pd

from mapping.errors import MappingError

Progress = Callable[[str], None]


class DesignCancelled(MappingError, RuntimeError):
    """The search was asked to stop before it finished (the page's Cancel button)."""


@dataclass(frozen=True)
class LotSettings:
    """How a design is searched; one line of help per field."""

    bursts: int = 60
    """Short bursts per attempt; each starts from the best plan so far."""

    burst_length: int = 10
    """ReCom steps in one burst."""

    attempts: int = 10
    """Fresh starting plans to try while the tolerance is not met."""

    patience: int = 15
    """Bursts without improvement after which an attempt stops (a local optimum)."""

    tree_attempts: int = 200
    """Spanning trees drawn for one balanced split before giving up on it."""

    max_seconds: float | None = None
    """Time limit of the search in seconds (``None``: none); at the limit the best design so far
    is returned with a note. The web page uses 20 s so a request cannot hold a server thread."""


@dataclass(frozen=True)
class SearchProgress:
    """How far a search has got: sent once per burst, and when an attempt ends."""

    step: int
    """ReCom steps taken so far, over all attempts."""
    steps: int
    """Most steps the search may take (attempts × bursts × burst length); it often stops
    sooner, when the tolerance is met or a local optimum is reached."""
    attempt: int
    """The fresh starting plan being improved (1-based)."""
    attempts: int
    """Most attempts the search may make."""
    deviation: float
    """Largest deviation from the ideal total of the best plan so far, as a share."""
    cut_edges: int
    """Cut edges of the best plan so far (fewer is more compact)."""
    seconds: float
    """Seconds since the search started."""
    max_seconds: float | None
    """The time limit, or ``None``."""

    @property
    def share_done(self) -> float:
        """Give the larger of the steps' and the clock's share of their limits, 0 to 1."""
        clock = self.seconds / self.max_seconds if self.max_seconds else 0.0
        return min(1.0, max(self.step / self.steps if self.steps else 0.0, clock))


def _gerrychain() -> dict[str, Any]:
    # GerryChain sets warnings.simplefilter("once") when imported; keep that to itself.
    with warnings.catch_warnings():
        from gerrychain import Graph, Partition
        from gerrychain.optimization import SingleMetricOptimizer
        from gerrychain.partition.initial_partition_generators import recursive_tree_part
        from gerrychain.proposals.tree_proposals import _candidate_district_pairs
        from gerrychain.tree.bipartition_tree import (
            PopulationBalanceError,
            ReselectException,
            bipartition_tree,
        )
    return {"Graph": Graph, "Partition": Partition, "Optimizer": SingleMetricOptimizer,
            "recursive_tree_part": recursive_tree_part, "pairs": _candidate_district_pairs,
            "Reselect": ReselectException, "BalanceError": PopulationBalanceError,
            "bipartition_tree": bipartition_tree}


Report = Callable[[SearchProgress], None]


def search(graph: nx.Graph, *, k: int, tolerance: float, seed: int,
           start: pd.Series | None, settings: LotSettings, say: Progress,
           report: Report | None = None, cancelled: Callable[[], bool] | None = None
           ) -> tuple[dict[str, Hashable], bool]:
    """Give the best assignment (node → part) found by seeded ReCom short bursts, and whether
    the search stopped at its time limit.

    ``report`` is called once per burst with a :class:`SearchProgress`; ``cancelled`` is
    asked before every step, and when it gives True the search raises
    :class:`DesignCancelled` (cancelling never changes what a seed gives: it gives nothing).
    """
    gc = _gerrychain()
    began = time.monotonic()
    deadline = math.inf if settings.max_seconds is None else began + settings.max_seconds
    stop = cancelled or (lambda: False)

    def late() -> bool:
        return time.monotonic() > deadline or stop()

    # Integer nodes 0..n-1 in sorted code order: GerryChain may move the graph to rustworkx,
    # whose node ids are insertion positions, so these ids survive that move unchanged.
    codes = sorted(graph.nodes)
    index = {code: i for i, code in enumerate(codes)}
    numbered: nx.Graph = nx.Graph()
    numbered.add_nodes_from((i, {"m": graph.nodes[c]["m"]}) for i, c in enumerate(codes))
    numbered.add_edges_from(sorted((min(index[a], index[b]), max(index[a], index[b]))
                                   for a, b in graph.edges))
    gc_graph = gc["Graph"].from_networkx(numbered)
    total = sum(d["m"] for _, d in numbered.nodes(data=True))
    target = total / k
    rng = random.Random(seed)
    split = partial(gc["bipartition_tree"], max_attempts=settings.tree_attempts,
                    warn_attempts=10 ** 9, allow_pair_reselection=True)

    def totals(partition: Any) -> list[float]:
        return [sum(partition.graph.node_data(n)["m"] for n in nodes)
                for nodes in partition.parts.values()]

    def excess(partition: Any) -> float:
        return sum(max(0.0, abs(t / target - 1) - tolerance) for t in totals(partition))

    def score(partition: Any) -> float:
        # Balance first (any excess outweighs every cut edge), then compactness.
        return excess(partition) * 1e6 + len(partition["cut_edges"])

    def propose(partition: Any, *, rng: random.Random) -> Any:
        # ReCom with two kinds of split: halves of the pair's total (spreads imbalance
        # between neighbours), or one lot at the ideal (pushes the excess on).
        if late():
            return partition  # out of time: the remaining steps do nothing
        for pair in gc["pairs"](partition, "district_pairs", rng):
            nodes = partition.parts[pair[0]] | partition.parts[pair[1]]
            pair_total = sum(partition.graph.node_data(n)["m"] for n in nodes)
            one_sided = rng.random() < 0.5
            try:
                side = split(partition.graph.subgraph(nodes), pop_col="m",
                             pop_target=target if one_sided else pair_total / 2,
                             epsilon=tolerance, single_district_cut=one_sided, rng=rng)
            except (gc["Reselect"], KeyError):
                continue  # no balanced split of this pair (KeyError: GerryChain, tiny pairs)
            return partition.flip({n: (pair[0] if n in side else pair[1]) for n in nodes})
        return partition

    def initial() -> dict[Hashable, Hashable]:
        epsilon = tolerance
        while True:
            for _ in range(3):
                if stop():
                    raise DesignCancelled("the design was cancelled")
                if late():
                    return _tree_split(numbered, k, rng)
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        return dict(gc["recursive_tree_part"](
                            gc_graph, list(range(k)), target, "m", epsilon,
                            bipartition_tree_fn=partial(gc["bipartition_tree"],
                                                        max_attempts=settings.tree_attempts // 4,
                                                        warn_attempts=10 ** 9),
                            rng=rng))
                except (RuntimeError, ValueError, KeyError, gc["BalanceError"]):
                    continue  # no balanced split on these trees: draw again, then widen
            if epsilon >= 0.9:
                return _tree_split(numbered, k, rng)
            epsilon = min(epsilon * 1.5 + 0.02, 0.9)

    def deviation(partition: Any) -> float:
        return max(abs(t / target - 1) for t in totals(partition))

    best: dict[Hashable, Hashable] | None = None
    best_score = math.inf
    best_seen: tuple[float, float, int] | None = None  # score, deviation, cut edges
    stale = 0
    stopped = False
    attempts = 1 if start is not None else settings.attempts
    steps = attempts * settings.bursts * settings.burst_length
    done = 0

    def tell(attempt: int, partition: Any) -> None:
        nonlocal best_seen
        here = (score(partition), deviation(partition), len(partition["cut_edges"]))
        if best_seen is None or here[0] < best_seen[0]:
            best_seen = here
        if report is not None:
            report(SearchProgress(step=done, steps=steps, attempt=attempt, attempts=attempts,
                                  deviation=best_seen[1], cut_edges=best_seen[2],
                                  seconds=time.monotonic() - began,
                                  max_seconds=settings.max_seconds))

    for attempt in range(attempts):
        if stop():
            raise DesignCancelled("the design was cancelled")
        if start is not None:
            first: dict[Hashable, Hashable] = {index[c]: str(start[c]) for c in codes}
        else:
            first = initial()
        partition = gc["Partition"](gc_graph, first)
        optimiser = gc["Optimizer"](propose, [], partition, score, maximize=False, rng=rng)
        last, still = math.inf, 0
        for step, _part in enumerate(
                optimiser.short_bursts(settings.burst_length, settings.bursts), start=1):
            if stop():
                raise DesignCancelled("the design was cancelled")
            if late():
                stopped = True
                break
            done += 1
            if step % settings.burst_length:
                continue
            tell(attempt + 1, optimiser.best_part)
            # Stop an attempt that has not improved for `patience` bursts: a local optimum.
            current = float(optimiser.best_score)
            still = still + 1 if current >= last else 0
            last = min(last, current)
            if still >= settings.patience:
                break
        found = optimiser.best_part
        found_score = score(found)
        say(f"attempt {attempt + 1}: largest deviation {deviation(found):.1%}, "
            f"{len(found['cut_edges'])} cut edges")
        tell(attempt + 1, found)
        if found_score < best_score:
            best, best_score, stale = dict(found.assignment.to_dict()), found_score, 0
        else:
            stale += 1
        if stopped or excess(found) == 0 or stale >= 3:
            break  # out of time, met, or three fresh starts in a row found nothing better
    if best is None:  # attempts >= 1, so only if nothing ran
        raise RuntimeError("no design was searched")
    return {codes[cast(int, n)]: p for n, p in best.items()}, stopped


def _tree_split(graph: nx.Graph, k: int, rng: random.Random) -> dict[Hashable, Hashable]:
    """Give k contiguous parts when no balanced start exists: cut the heaviest part's random
    spanning tree at its most even edge, k - 1 times (each part stays one piece)."""
    parts: list[set[int]] = [set(graph.nodes)]
    while len(parts) < k:
        splittable = [p for p in parts if len(p) > 1]
        part = max(splittable, key=lambda p: sum(graph.nodes[n]["m"] for n in p))
        sub = graph.subgraph(part).copy()
        for a, b in sorted(sub.edges):
            sub.edges[a, b]["w"] = rng.random()
        tree = nx.minimum_spanning_tree(sub, weight="w")
        total = sum(graph.nodes[n]["m"] for n in part)
        best_side: set[int] | None = None
        best_gap = math.inf
        for a, b in sorted(tree.edges):
            tree.remove_edge(a, b)
            side = nx.node_connected_component(tree, a)
            tree.add_edge(a, b)
            gap = abs(total / 2 - sum(graph.nodes[n]["m"] for n in side))
            if gap < best_gap:
                best_side, best_gap = set(side), gap
        if best_side is None:
            break
        parts.remove(part)
        parts += [best_side, part - best_side]
    return {n: i for i, p in enumerate(parts) for n in p}

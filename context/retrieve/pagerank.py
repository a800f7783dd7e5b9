"""Personalised PageRank over a weighted directed graph (aider's repo-map ranking).

The graph is ``{node: {neighbour: weight}}``; rank flows along edges in proportion to their
weights, and the random jump lands on the personalisation nodes (the cursor's file and what it
uses). Dangling nodes jump the same way. Deterministic: nodes are processed in sorted order.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["pagerank"]


def pagerank(
    graph: Mapping[str, Mapping[str, float]],
    personalization: Mapping[str, float] | None = None,
    damping: float = 0.85,
    iterations: int = 100,
    tol: float = 1e-10,
) -> dict[str, float]:
    """Stationary rank of every node (sums to 1). Unknown personalisation nodes are ignored."""
    nodes = sorted(set(graph) | {n for edges in graph.values() for n in edges})
    if not nodes:
        return {}
    pos = {n: i for i, n in enumerate(nodes)}
    size = len(nodes)
    src, dst, w = [], [], []
    for a, edges in graph.items():
        for b, weight in edges.items():
            if weight > 0 and a != b:
                src.append(pos[a])
                dst.append(pos[b])
                w.append(float(weight))
    src_a, dst_a, w_a = np.array(src, int), np.array(dst, int), np.array(w, float)
    out_sum = np.bincount(src_a, weights=w_a, minlength=size)
    jump = _jump_vector(nodes, pos, personalization)
    dangling = out_sum == 0
    share = np.divide(w_a, out_sum[src_a], out=np.zeros_like(w_a), where=out_sum[src_a] > 0)
    rank = jump.copy()
    for _ in range(iterations):
        flow = np.bincount(dst_a, weights=rank[src_a] * share, minlength=size)
        new = damping * (flow + rank[dangling].sum() * jump) + (1.0 - damping) * jump
        done = np.abs(new - rank).sum() < tol
        rank = new
        if done:
            break
    rank /= rank.sum()
    return {n: float(rank[i]) for i, n in enumerate(nodes)}


def _jump_vector(
    nodes: list[str], pos: Mapping[str, int], personalization: Mapping[str, float] | None
) -> np.ndarray:
    jump = np.zeros(len(nodes))
    for node, weight in (personalization or {}).items():
        if node in pos and weight > 0:
            jump[pos[node]] += weight
    if jump.sum() == 0:
        jump[:] = 1.0
    return jump / jump.sum()

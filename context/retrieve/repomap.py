"""The repo map: files ranked by personalised PageRank over the file graph, shown as outlines.

aider's algorithm: the graph links files that share identifiers (the index's ``file_graph``);
the random jump lands on the cursor's file and the files it imports, so rank concentrates
around what the cursor is working with. The compiled graph is cached per index generation;
only as many outlines are rendered as the budget can use.
"""

from __future__ import annotations

from collections.abc import Mapping

from .candidate import Candidate
from .lru import Lru
from .pagerank import RankGraph
from .view import WorkspaceView

__all__ = ["RepoMap", "rank_files"]


def rank_files(graph: RankGraph, seeds: Mapping[str, float]) -> list[tuple[str, float]]:
    """Files by personalised rank, best first (ties by path)."""
    return sorted(graph.rank(seeds, tol=1e-7).items(), key=lambda kv: (-kv[1], kv[0]))


class RepoMap:
    """Ranked outlines of the workspace's files for a cursor's file."""

    def __init__(self, view: WorkspaceView) -> None:
        self.view = view
        self._graphs: Lru[RankGraph] = Lru(2)

    def _graph(self) -> RankGraph | None:
        graph = self.view.graph()
        if not graph:
            return None
        return self._graphs.get_or(self.view.generation(), lambda: RankGraph(graph))

    def warm(self) -> None:
        """Build this generation's rank graph now (the file graph is the slow part)."""
        self._graph()

    def candidates(self, path: str, seeds: Mapping[str, float], max_files: int) -> list[Candidate]:
        """One outline candidate for each of the ``max_files`` best files other than ``path``."""
        graph = self._graph()
        if graph is None:
            return []
        out: list[Candidate] = []
        for other, rank in rank_files(graph, {path: 1.0, **seeds}):
            if len(out) >= max_files:
                break
            if other == path:
                continue
            text, start, end = self.view.outline_text(other)
            if text:
                out.append(Candidate("repo_map", "repo_map", other, start, end, text, rank))
        return out

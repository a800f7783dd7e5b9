"""The repo map: files ranked by personalised PageRank over the file graph, shown as outlines.

aider's algorithm: the graph links files that share identifiers (the index's ``file_graph``);
the random jump lands on the cursor's file and the files it imports, so rank concentrates
around what the cursor is working with. Ranks are cached per (file, generation).
"""

from __future__ import annotations

from collections.abc import Mapping

from .candidate import Candidate
from .pagerank import pagerank
from .snippets import outline_text
from .view import WorkspaceView

__all__ = ["rank_files", "repo_map"]


def rank_files(
    graph: Mapping[str, Mapping[str, float]], seeds: Mapping[str, float]
) -> list[tuple[str, float]]:
    """Files by personalised rank, best first (ties by path)."""
    ranks = pagerank(graph, seeds)
    return sorted(ranks.items(), key=lambda kv: (-kv[1], kv[0]))


def repo_map(
    view: WorkspaceView, path: str, seeds: Mapping[str, float], max_files: int = 400
) -> list[Candidate]:
    """One outline candidate per ranked file other than ``path``, best first."""
    graph = view.graph()
    if not graph:
        return []
    out: list[Candidate] = []
    for other, rank in rank_files(graph, {path: 1.0, **seeds}):
        if other == path:
            continue
        outline = view.outline(other)
        lines = view.lines(other)
        text = outline_text(lines, outline)
        if not text:
            continue
        out.append(Candidate("repo_map", "repo_map", other, outline[0].start_line,
                             max(s.end_line for s in outline), text, rank))
        if len(out) >= max_files:
            break
    return out

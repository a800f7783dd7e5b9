"""The similar-windows source: BM25 over line windows of the files the user works with.

The pool is the files the user recently edited (EditRing), the files the current file imports,
and the current file as indexed (outside what the prompt already shows); the query is the enclosing
scope's identifiers, so the result stays put while a line is being typed.
"""

from __future__ import annotations

from collections.abc import Sequence

from .candidate import Candidate
from .lru import Lru
from .query import Query
from .similar import Bm25, Shard, windows
from .view import WorkspaceView

__all__ = ["SimilarSource"]


class SimilarSource:
    """BM25 over windows of a pool of files, with the windows and the index cached."""

    def __init__(self, view: WorkspaceView, size: int = 20, stride: int = 10) -> None:
        self.view, self.size, self.stride = view, size, stride
        self._shards: Lru[Shard] = Lru(2048)

    def shard(self, path: str) -> Shard:
        """The windows of ``path`` with their BM25 statistics, cached by the file's content
        (so a new cursor location only scores, and an index generation change re-windows
        only the files that changed)."""
        text = "".join(self.view.lines(path))
        return self._shards.get_or(
            (path, len(text), hash(text)),
            lambda: Shard.of(windows(path, text, self.size, self.stride)))

    def candidates(self, q: Query, pool: Sequence[str], k: int = 16) -> list[Candidate]:
        """The ``k`` windows most similar to the scope, best first."""
        terms = q.scope_ids or q.file_ids
        if not terms:
            return []
        bm25 = Bm25.from_shards([self.shard(p) for p in pool])
        out = []
        for score, w in bm25.top(terms, k + 4):
            if w.path == q.path and q.scope and w.start_line <= q.scope[1] and \
                    q.scope[0] <= w.end_line:
                continue
            out.append(Candidate("similar", "similar", w.path, w.start_line, w.end_line, w.text,
                                 score, contiguous=True, volatile=True))
        return out[:k]

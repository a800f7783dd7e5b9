"""Similar windows: sliding line windows scored against a query by Jaccard or BM25.

RepoCoder's baseline (Jaccard over identifier sets of 20-line windows, stride 10) and a BM25
ranking over the same windows. Windows are computed per file text and can be cached by the
caller; scoring is plain Python over precomputed sets, fast enough for a few thousand windows.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .text import identifier_list, jaccard, join_lines, lines_of

__all__ = ["Bm25", "Shard", "Window", "jaccard_top", "windows"]


@dataclass(frozen=True)
class Window:
    """Lines ``start_line..end_line`` (inclusive) of ``path`` with their identifier bag."""

    path: str
    start_line: int
    end_line: int
    text: str
    terms: tuple[str, ...]

    @property
    def term_set(self) -> frozenset[str]:
        """The identifiers of the window, as a set."""
        return frozenset(self.terms)


def windows(path: str, text: str, size: int = 20, stride: int = 10) -> list[Window]:
    """Windows of ``size`` lines every ``stride`` lines (the last one may be shorter)."""
    lines = lines_of(text)
    out: list[Window] = []
    for start in range(0, max(len(lines), 1), stride):
        chunk = lines[start : start + size]
        if not chunk or not "".join(chunk).strip():
            continue
        body = join_lines(chunk)
        out.append(Window(path, start, start + len(chunk) - 1, body, tuple(identifier_list(body))))
        if start + size >= len(lines):
            break
    return out


def jaccard_top(query: Iterable[str], pool: Sequence[Window], k: int) -> list[tuple[float, Window]]:
    """The ``k`` windows most similar to ``query`` by Jaccard (ties: path, then line)."""
    q = frozenset(query)
    scored = [(jaccard(q, w.term_set), w) for w in pool]
    scored = [s for s in scored if s[0] > 0.0]
    scored.sort(key=lambda s: (-s[0], s[1].path, s[1].start_line))
    return scored[:k]


@dataclass(frozen=True)
class Shard:
    """The BM25 statistics of one file's windows: lengths and postings (term -> (window, tf)).
    Built once per file text and shared by every pool that contains the file."""

    pool: tuple[Window, ...]
    lengths: tuple[int, ...]
    postings: dict[str, list[tuple[int, int]]]

    @classmethod
    def of(cls, pool: Sequence[Window]) -> Shard:
        """The statistics of ``pool``."""
        postings: dict[str, list[tuple[int, int]]] = {}
        for i, w in enumerate(pool):
            for term, f in Counter(w.terms).items():
                postings.setdefault(term, []).append((i, f))
        return cls(tuple(pool), tuple(len(w.terms) for w in pool), postings)


class Bm25:
    """Okapi BM25 over a fixed pool of windows (k1=1.2, b=0.75), with postings lists so a
    query touches only the windows that contain its terms. The pool may be given as shards
    (``from_shards``): collection statistics are then combined per query term, so a pool of
    cached per-file shards costs nothing to assemble."""

    def __init__(self, pool: Sequence[Window], k1: float = 1.2, b: float = 0.75) -> None:
        self._init([Shard.of(pool)] if pool else [], k1, b)

    @classmethod
    def from_shards(cls, shards: Sequence[Shard], k1: float = 1.2, b: float = 0.75) -> Bm25:
        """BM25 over the union of ``shards`` (equal to ``Bm25`` over their windows)."""
        self = cls.__new__(cls)
        self._init([s for s in shards if s.pool], k1, b)
        return self

    def _init(self, shards: list[Shard], k1: float, b: float) -> None:
        self.k1, self.b = k1, b
        self._shards = shards
        self.pool = [w for s in shards for w in s.pool]
        self._n = len(self.pool)
        total = sum(sum(s.lengths) for s in shards)
        self._avg = total / self._n if self._n else 0.0

    def _norm(self, n: int) -> float:
        return self.k1 * (1.0 - self.b + self.b * n / self._avg) if self._avg else self.k1

    def _idf(self, term: str) -> float | None:
        df = sum(len(s.postings.get(term, ())) for s in self._shards)
        if not df:
            return None
        return math.log(1.0 + (self._n - df + 0.5) / (df + 0.5))

    def scores(self, query: Iterable[str]) -> dict[int, float]:
        """BM25 score of every window matching a query term (distinct terms counted once)."""
        out: dict[int, float] = {}
        for term in set(query):
            idf = self._idf(term)
            if idf is None:
                continue
            base = 0
            for shard in self._shards:
                for i, f in shard.postings.get(term, ()):
                    norm = self._norm(shard.lengths[i])
                    j = base + i
                    out[j] = out.get(j, 0.0) + idf * f * (self.k1 + 1.0) / (f + norm)
                base += len(shard.pool)
        return out

    def score(self, query: Iterable[str], i: int) -> float:
        """BM25 score of window ``i`` for the query terms."""
        return self.scores(query).get(i, 0.0)

    def top(self, query: Iterable[str], k: int) -> list[tuple[float, Window]]:
        """The ``k`` best windows for ``query`` (score > 0; ties: path, then line)."""
        scored = [(s, self.pool[i]) for i, s in self.scores(query).items() if s > 0.0]
        scored.sort(key=lambda s: (-s[0], s[1].path, s[1].start_line))
        return scored[:k]

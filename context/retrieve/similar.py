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
from itertools import chain

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
    blocks = _block_terms(lines, stride) if size % stride == 0 else None
    out: list[Window] = []
    for start in range(0, max(len(lines), 1), stride):
        chunk = lines[start : start + size]
        if not chunk or not "".join(chunk).strip():
            continue
        body = join_lines(chunk)
        if blocks is not None:
            first = start // stride
            terms = tuple(chain.from_iterable(blocks[first : first + size // stride]))
        else:
            terms = tuple(identifier_list(body))
        out.append(Window(path, start, start + len(chunk) - 1, body, terms))
        if start + size >= len(lines):
            break
    return out


def _block_terms(lines: Sequence[str], stride: int) -> list[list[str]]:
    """Identifiers of each run of ``stride`` lines (identifiers never span lines, so a
    window's identifiers are its blocks' identifiers in order)."""
    return [identifier_list("".join(lines[i : i + stride]))
            for i in range(0, len(lines), stride)]


def jaccard_top(query: Iterable[str], pool: Sequence[Window], k: int) -> list[tuple[float, Window]]:
    """The ``k`` windows most similar to ``query`` by Jaccard (ties: path, then line)."""
    q = frozenset(query)
    scored = [(jaccard(q, w.term_set), w) for w in pool]
    scored = [s for s in scored if s[0] > 0.0]
    scored.sort(key=lambda s: (-s[0], s[1].path, s[1].start_line))
    return scored[:k]


@dataclass(frozen=True)
class Shard:
    """The BM25 statistics of one file's windows: each window's term counts and the file's
    document frequencies. Built once per file text (with C-level counting) and shared by
    every pool that contains the file."""

    pool: tuple[Window, ...]
    counts: tuple[Counter[str], ...]
    df: Counter[str]

    @classmethod
    def of(cls, pool: Sequence[Window]) -> Shard:
        """The statistics of ``pool``."""
        counts = tuple(Counter(w.terms) for w in pool)
        return cls(tuple(pool), counts, Counter(chain.from_iterable(counts)))


class Bm25:
    """Okapi BM25 over a fixed pool of windows (k1=1.2, b=0.75). Each window's term counts
    are intersected (in C) with the query's terms, so a query only does arithmetic for the
    windows and terms that match. The pool may be given as shards (``from_shards``):
    collection statistics are combined per query term, so a pool of cached per-file shards
    costs nothing to assemble."""

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
        total = sum(len(w.terms) for w in self.pool)
        self._avg = total / self._n if self._n else 0.0

    def _norm(self, n: int) -> float:
        return self.k1 * (1.0 - self.b + self.b * n / self._avg) if self._avg else self.k1

    def scores(self, query: Iterable[str]) -> dict[int, float]:
        """BM25 score of every window matching a query term (distinct terms counted once)."""
        terms = set(query)
        idf = {}
        for term in terms:
            df = sum(s.df.get(term, 0) for s in self._shards)
            if df:
                idf[term] = math.log(1.0 + (self._n - df + 0.5) / (df + 0.5))
        out: dict[int, float] = {}
        j = 0
        for shard in self._shards:
            for w, tf in zip(shard.pool, shard.counts, strict=True):
                common = tf.keys() & idf.keys()
                if common:
                    out[j] = self._window_score(tf, common, idf, len(w.terms))
                j += 1
        return out

    def _window_score(self, tf: Counter[str], terms: set[str], idf: dict[str, float],
                      length: int) -> float:
        norm = self._norm(length)
        total = 0.0
        for term in sorted(terms):
            f = tf[term]
            total += idf[term] * f * (self.k1 + 1.0) / (f + norm)
        return total

    def score(self, query: Iterable[str], i: int) -> float:
        """BM25 score of window ``i`` for the query terms."""
        return self.scores(query).get(i, 0.0)

    def top(self, query: Iterable[str], k: int) -> list[tuple[float, Window]]:
        """The ``k`` best windows for ``query`` (score > 0; ties: path, then line)."""
        scored = [(s, self.pool[i]) for i, s in self.scores(query).items() if s > 0.0]
        scored.sort(key=lambda s: (-s[0], s[1].path, s[1].start_line))
        return scored[:k]

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

__all__ = ["Bm25", "Window", "jaccard_top", "windows"]


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


class Bm25:
    """Okapi BM25 over a fixed pool of windows (k1=1.2, b=0.75)."""

    def __init__(self, pool: Sequence[Window], k1: float = 1.2, b: float = 0.75) -> None:
        self.pool = list(pool)
        self.k1, self.b = k1, b
        self._tf = [Counter(w.terms) for w in self.pool]
        self._len = [len(w.terms) for w in self.pool]
        self._avg = (sum(self._len) / len(self._len)) if self._len else 0.0
        df: Counter[str] = Counter()
        for tf in self._tf:
            df.update(tf.keys())
        n = len(self.pool)
        self._idf = {t: math.log(1.0 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}

    def score(self, query: Iterable[str], i: int) -> float:
        """BM25 score of window ``i`` for the query terms (each distinct term counted once)."""
        tf, length = self._tf[i], self._len[i]
        norm = self.k1 * (1.0 - self.b + self.b * length / self._avg) if self._avg else self.k1
        total = 0.0
        for term in set(query):
            f = tf.get(term, 0)
            if f:
                total += self._idf[term] * f * (self.k1 + 1.0) / (f + norm)
        return total

    def top(self, query: Iterable[str], k: int) -> list[tuple[float, Window]]:
        """The ``k`` best windows for ``query`` (score > 0; ties: path, then line)."""
        terms = frozenset(query)
        scored = [(self.score(terms, i), w) for i, w in enumerate(self.pool)]
        scored = [s for s in scored if s[0] > 0.0]
        scored.sort(key=lambda s: (-s[0], s[1].path, s[1].start_line))
        return scored[:k]

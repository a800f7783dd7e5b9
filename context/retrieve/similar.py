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
    """Okapi BM25 over a fixed pool of windows (k1=1.2, b=0.75), with postings lists so a
    query touches only the windows that contain its terms."""

    def __init__(self, pool: Sequence[Window], k1: float = 1.2, b: float = 0.75) -> None:
        self.pool = list(pool)
        self.k1, self.b = k1, b
        lengths = [len(w.terms) for w in self.pool]
        avg = (sum(lengths) / len(lengths)) if lengths else 0.0
        self._norm = [k1 * (1.0 - b + b * n / avg) if avg else k1 for n in lengths]
        self._postings: dict[str, list[tuple[int, int]]] = {}
        for i, w in enumerate(self.pool):
            for term, f in Counter(w.terms).items():
                self._postings.setdefault(term, []).append((i, f))
        n = len(self.pool)
        self._idf = {t: math.log(1.0 + (n - len(p) + 0.5) / (len(p) + 0.5))
                     for t, p in self._postings.items()}

    def scores(self, query: Iterable[str]) -> dict[int, float]:
        """BM25 score of every window matching a query term (distinct terms counted once)."""
        out: dict[int, float] = {}
        for term in set(query):
            idf = self._idf.get(term)
            if idf is None:
                continue
            for i, f in self._postings[term]:
                out[i] = out.get(i, 0.0) + idf * f * (self.k1 + 1.0) / (f + self._norm[i])
        return out

    def score(self, query: Iterable[str], i: int) -> float:
        """BM25 score of window ``i`` for the query terms."""
        return self.scores(query).get(i, 0.0)

    def top(self, query: Iterable[str], k: int) -> list[tuple[float, Window]]:
        """The ``k`` best windows for ``query`` (score > 0; ties: path, then line)."""
        scored = [(s, self.pool[i]) for i, s in self.scores(query).items() if s > 0.0]
        scored.sort(key=lambda s: (-s[0], s[1].path, s[1].start_line))
        return scored[:k]

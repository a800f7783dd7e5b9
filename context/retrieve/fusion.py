"""Fusing the sources' ranked lists: weighted reciprocal-rank fusion, span merging, echo filter.

Reciprocal-rank fusion (Cormack et al.) only looks at ranks, so sources with incomparable scores
(BM25, PageRank, hand-set priorities) can be mixed; a weight per source says how much each one
is trusted for a request kind. Ties are broken by path and line so the result is deterministic.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace

from .candidate import Candidate
from .text import lines_of

__all__ = ["drop_echoes", "drop_visible", "merge_overlaps", "rrf"]


_VIEWS = frozenset({"definition", "outline", "repo_map", "usage", "similar"})
"""Kinds that only show a file's current text (a covering span makes them redundant; diffs and
edits are not)."""


def _order(c: Candidate) -> tuple:
    return (-c.score, c.path or "", c.start_line, c.end_line, c.kind, c.text)


def rrf(
    ranked: Mapping[str, Sequence[Candidate]], weights: Mapping[str, float], k: float = 20.0
) -> list[Candidate]:
    """Fuse per-source lists (each best first) into one list, best first.

    A candidate's fused score is the sum over the lists it appears in of
    ``weight(source) / (k + rank)`` (rank from 1); identical spans are counted once.
    """
    fused: dict[tuple, Candidate] = {}
    for source in sorted(ranked):
        weight = weights.get(source, 0.0)
        if weight <= 0:
            continue
        for rank, cand in enumerate(ranked[source], start=1):
            key = (cand.path, cand.start_line, cand.end_line, cand.text)
            gain = weight / (k + rank)
            old = fused.get(key)
            fused[key] = replace(cand, score=gain if old is None else old.score + gain)
    return sorted(fused.values(), key=_order)


def _short(c: Candidate) -> str | None:
    """What stands for ``c`` when its span does not fit: its brief, or a definition's text."""
    return c.brief or (c.text if c.kind == "definition" else None)


def _merge_two(a: Candidate, b: Candidate) -> Candidate:
    """Union of two overlapping contiguous spans of one file (``a`` starts first). The union
    keeps a brief: the better part's, else a definition's (so a definition merged into a long
    window still fits a tight budget as itself)."""
    extra = lines_of(b.text)[a.end_line - b.start_line + 1 :]
    text = a.text + "".join(extra)
    best, other = (a, b) if a.score >= b.score else (b, a)
    brief = _short(best) or _short(other)
    kind = best.kind if _short(best) or not _short(other) else other.kind
    return replace(
        best,
        kind=kind,
        start_line=a.start_line,
        end_line=max(a.end_line, b.end_line),
        text=text if text.endswith("\n") else text + "\n",
        score=max(a.score, b.score),
        brief=brief,
    )


def merge_overlaps(cands: Iterable[Candidate]) -> list[Candidate]:
    """Merge overlapping or adjacent contiguous spans of the same file; drop elided candidates
    (signatures, outlines) whose span lies inside a kept contiguous one. Best first."""
    items = list(cands)
    spans: dict[str, list[Candidate]] = {}
    for c in items:
        if c.contiguous and c.path is not None:
            spans.setdefault(c.path, []).append(c)
    merged: list[Candidate] = []
    for path in sorted(spans):
        run: Candidate | None = None
        for c in sorted(spans[path], key=lambda c: (c.start_line, c.end_line)):
            if run is not None and c.start_line <= run.end_line + 1:
                run = _merge_two(run, c)
                continue
            if run is not None:
                merged.append(run)
            run = c
        if run is not None:
            merged.append(run)
    by_path: dict[str, list[int]] = {}
    for i, m in enumerate(merged):
        by_path.setdefault(m.path or "", []).append(i)

    def cover(c: Candidate) -> int | None:
        return next((i for i in by_path.get(c.path or "", ()) if merged[i].start_line <=
                     c.start_line and c.end_line <= merged[i].end_line), None)

    rest = []
    for c in items:
        if c.contiguous and c.path is not None:
            continue
        at = cover(c) if c.kind in _VIEWS else None
        if at is None:
            rest.append(c)
        elif c.score > merged[at].score:  # the span ranks as its best part, which stands in
            merged[at] = _absorb(merged[at], c)  # for it when the whole does not fit
    return sorted(merged + rest, key=_order)


def _absorb(span: Candidate, part: Candidate) -> Candidate:
    """``span`` ranked as ``part`` (an elided view inside it, ranked higher), with ``part``'s
    short form as its brief (a long window around a definition still fits as the definition)."""
    short = _short(part)
    return replace(span, score=part.score, brief=short or span.brief,
                   kind=part.kind if short else span.kind)


def drop_echoes(
    cands: Iterable[Candidate], local_lines: Collection[str], threshold: float = 0.5
) -> list[Candidate]:
    """Drop candidates whose non-blank lines mostly (``>= threshold``) repeat ``local_lines``
    (the stripped lines around the cursor): such snippets make the model echo them."""
    local = {s for s in (x.strip() for x in local_lines) if s}
    kept = []
    for c in cands:
        body = [s for s in (x.strip() for x in c.text.splitlines()) if s]
        if body and sum(s in local for s in body) / len(body) >= threshold:
            continue
        kept.append(c)
    return kept


def drop_visible(
    cands: Iterable[Candidate], path: str, spans: Sequence[tuple[int, int]]
) -> list[Candidate]:
    """Drop candidates of ``path`` that overlap a span already shown (the prefix/suffix)."""

    def overlaps(c: Candidate) -> bool:
        return any(c.start_line <= e and s <= c.end_line for s, e in spans)

    return [c for c in cands if c.path != path or not overlaps(c)]

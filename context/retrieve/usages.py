"""Callers and usages of the enclosing function: a few lines around each reference elsewhere."""

from __future__ import annotations

from .candidate import Candidate
from .query import Query
from .text import join_lines
from .view import WorkspaceView

__all__ = ["usages"]


def usages(
    view: WorkspaceView, q: Query, max_refs: int = 12, context: int = 3
) -> list[Candidate]:
    """Windows of ``context`` lines around references to the enclosing function's name,
    outside the enclosing scope; the nearest files (same directory first) come first."""
    if not q.scope_name or len(q.scope_name) < 3:
        return []
    refs = sorted(
        view.references(q.scope_name, limit=200),
        key=lambda r: (_dir_distance(q.path, r.path), r.path, r.line),
    )
    out: list[Candidate] = []
    for rank, ref in enumerate(refs):
        if ref.path == q.path and q.scope and q.scope[0] <= ref.line <= q.scope[1]:
            continue
        lines = view.lines(ref.path)
        if not lines:
            continue
        start, end = max(0, ref.line - context), min(len(lines) - 1, ref.line + context)
        text = join_lines(lines[start : end + 1])
        out.append(Candidate("usage", "usages", ref.path, start, end, text, 1.0 / (1 + rank),
                             contiguous=True))
        if len(out) >= max_refs:
            break
    return out


def _dir_distance(a: str, b: str) -> int:
    pa, pb = a.split("/")[:-1], b.split("/")[:-1]
    common = 0
    for x, y in zip(pa, pb, strict=False):
        if x != y:
            break
        common += 1
    return len(pa) + len(pb) - 2 * common

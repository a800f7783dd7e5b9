"""Callers and usages of the enclosing function: a few lines around each reference elsewhere."""

from __future__ import annotations

from .candidate import Candidate
from .query import Query
from .text import join_lines
from .view import WorkspaceView

__all__ = ["usages"]


def usages(
    view: WorkspaceView, q: Query, max_refs: int = 12, context: int = 3, scan: int = 32
) -> list[Candidate]:
    """Windows of ``context`` lines around references to the enclosing function's name,
    outside the enclosing scope; the nearest files (same directory first) come first.
    Only the first ``scan`` references are asked for: positions are found on demand, and a
    name used in many files would otherwise cost a parse of each at a new cursor location."""
    if not q.scope_name or len(q.scope_name) < 3 or _ambiguous(view, q.scope_name):
        return []
    refs = sorted(
        view.references(q.scope_name, limit=scan),
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


def _ambiguous(view: WorkspaceView, name: str, max_files: int = 3) -> bool:
    """Whether ``name`` is defined in more than ``max_files`` files (``close``, ``run``,
    ``__init__``): its references are then mostly callers of other functions, and finding
    their positions costs a parse of every file that defines it."""
    defs = view.definitions(name, None, limit=4 * max_files)
    return len({d.path for d in defs}) > max_files


def _dir_distance(a: str, b: str) -> int:
    pa, pb = a.split("/")[:-1], b.split("/")[:-1]
    common = 0
    for x, y in zip(pa, pb, strict=False):
        if x != y:
            break
        common += 1
    return len(pa) + len(pb) - 2 * common

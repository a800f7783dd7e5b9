"""Code flow: how the code around the cursor came to be and what the user is doing now.

From the history room: uncommitted hunks, recent commits touching the cursor's scope (with
their messages), recent diffs of co-changed files, blame of the scope; from the editor: the
user's recent edits (EditRing) away from the cursor. Each source degrades to nothing when its
provider is missing.
"""

from __future__ import annotations

import time
from typing import Any

from .candidate import Candidate
from .providers import EditRingLike, HistoryLike, guarded
from .query import Query

__all__ = [
    "blame_candidates",
    "cochange_candidates",
    "commit_candidates",
    "edit_candidates",
    "scope_commit_candidates",
    "uncommitted_candidates",
]


def _hunk_span(h: Any) -> tuple[int, int]:
    start = max(0, int(h.new_start) - 1)
    return start, start + max(0, int(h.new_lines) - 1)


def _text(body: str) -> str:
    return body if body.endswith("\n") else body + "\n"


def uncommitted_candidates(history: HistoryLike | None, q: Query, limit: int = 12) -> list[
    Candidate
]:
    """Uncommitted hunks, other files first (this file's are in the buffer already)."""
    if history is None or not getattr(history, "available", True):
        return []
    hunks = guarded("uncommitted", lambda: list(history.uncommitted(None)), [])
    hunks.sort(key=lambda h: (h.path == q.path, h.path, h.new_start))
    out = []
    for i, h in enumerate(hunks[:limit]):
        s, e = _hunk_span(h)
        out.append(Candidate("uncommitted", "flow", h.path, s, e, _text(h.text), 1.0 / (1 + i)))
    return out


def commit_candidates(history: HistoryLike | None, q: Query, limit: int = 3) -> list[Candidate]:
    """Recent commits touching the enclosing scope, then recent diffs of co-changed files."""
    return scope_commit_candidates(history, q, limit) + cochange_candidates(history, q.path)


def scope_commit_candidates(history: HistoryLike | None, q: Query, limit: int = 3) -> list[
    Candidate
]:
    """Recent commits touching the enclosing scope (the whole file outside any scope)."""
    if history is None or not getattr(history, "available", True):
        return []
    start, end = q.scope if q.scope else (None, None)
    changes = guarded("commits_touching",
                      lambda: list(history.commits_touching(q.path, start, end, limit)), [])
    out = [_change(c, "commit", 2.0 - i / 10) for i, c in enumerate(changes)]
    return [c for c in out if c is not None]


def cochange_candidates(history: HistoryLike | None, path: str, files: int = 5) -> list[
    Candidate
]:
    """The latest diff of each of the ``files`` files most often changed with ``path``."""
    if history is None or not getattr(history, "available", True):
        return []
    out = []
    co = guarded("cochanged", lambda: list(history.cochanged(path, files)), [])
    for i, other in enumerate(co):
        recent = guarded("commits_touching",
                         lambda o=other: list(history.commits_touching(o.path, limit=1)), [])
        out += [_change(c, "cochange", 1.0 - i / 10) for c in recent]
    return [c for c in out if c is not None]


def _change(change: Any, kind: str, score: float) -> Candidate | None:
    hunks = tuple(change.hunks)
    if not hunks:
        return None
    commit = change.commit
    head = f"# commit {str(commit.id)[:10]}: {commit.summary}\n"
    body = "".join(_text(h.text) for h in hunks[:4])
    s, _ = _hunk_span(hunks[0])
    _, e = _hunk_span(hunks[min(3, len(hunks) - 1)])
    return Candidate(kind, "flow", change.path, s, max(s, e), head + body, score)


def blame_candidates(history: HistoryLike | None, q: Query, limit: int = 4) -> list[Candidate]:
    """Who last changed the enclosing scope and why: one line per blamed commit."""
    if history is None or q.scope is None or not getattr(history, "available", True):
        return []
    entries = guarded("blame", lambda: list(history.blame(q.path, *q.scope)), [])
    lines, seen = [], set()
    for e in sorted(entries, key=lambda e: (e.age_s, e.start_line)):
        commit = e.commit
        cid = str(getattr(commit, "id", commit))
        if cid in seen:
            continue
        seen.add(cid)
        summary = getattr(commit, "summary", "")
        days = int(e.age_s // 86400)
        lines.append(f"# lines {e.start_line + 1}-{e.end_line + 1}: {summary} ({days}d ago)\n")
        if len(lines) >= limit:
            break
    if not lines:
        return []
    return [Candidate("blame", "flow", q.path, q.scope[0], q.scope[1], "".join(lines), 1.0)]


def edit_candidates(ring: EditRingLike | None, q: Query, limit: int = 8,
                    max_age_s: float = 1800.0) -> list[Candidate]:
    """The user's recent edits away from the enclosing scope, newest first, as small diffs."""
    if ring is None:
        return []
    since = time.time() - max_age_s
    edits = guarded("edit_ring", lambda: list(ring.recent(limit * 3, None, since)), [])
    out = []
    for e in edits:
        if e.path == q.path and q.scope and e.start_line <= q.scope[1] and \
                q.scope[0] <= e.end_line:
            continue
        minus = "".join(f"-{x}\n" for x in e.before.splitlines())
        plus = "".join(f"+{x}\n" for x in e.after.splitlines())
        if not (minus or plus):
            continue
        out.append(Candidate("edit", "flow", e.path, e.start_line, e.end_line,
                             f"@@ -{e.start_line + 1} +{e.start_line + 1} @@\n{minus}{plus}",
                             1.0 / (1 + len(out)), volatile=True))
        if len(out) >= limit:
            break
    return out

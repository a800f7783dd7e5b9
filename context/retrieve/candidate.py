"""The value every retrieval source produces: a candidate section with a score.

Sources name themselves in ``kind``; fusion uses it to look up per-request-kind weights.
``contiguous`` says the text is exactly lines ``start_line..end_line`` of ``path`` (so two
overlapping candidates of the same file can be merged into one span).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SOURCES", "Candidate"]

SOURCES = ("definitions", "usages", "repo_map", "similar", "flow")
"""The retrieval sources, by name (each can be switched off per request kind)."""


@dataclass(frozen=True)
class Candidate:
    """A piece of context: where it comes from, its text, and how useful its source thinks it is.

    ``kind`` is the section kind it becomes (definition, usage, repo_map, similar, uncommitted,
    edit, commit, cochange, blame); ``source`` is the retrieval source that produced it.
    """

    kind: str
    source: str
    path: str | None
    start_line: int
    end_line: int
    text: str
    score: float
    contiguous: bool = False
    brief: str | None = None
    """A shorter rendering (e.g. the signature alone) to use when ``text`` does not fit."""
    volatile: bool = False
    """Depends on the enclosing scope's contents (changes as lines are typed), so it is placed
    after the file-level material in the prompt."""

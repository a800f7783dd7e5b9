"""Retrieval: candidate context for a cursor from the index, the history and the editor.

Sources (each a function of a ``Query``): definitions of what the cursor uses, usages of the
enclosing function, a PageRank repo map, similar windows (BM25), code flow (uncommitted hunks,
commits, co-changes, blame, recent edits). ``Retriever`` runs them (each in ``SourceRunner``'s
pool, under a request's ``Deadline``), fuses their rankings (RRF), merges overlapping spans and
caches the result per query.
"""

from __future__ import annotations

from .candidate import SOURCES, Candidate
from .current import Cursor, cut_prefix, cut_suffix, enclosing_headers, scope_span
from .definitions import DefinitionLimits, definitions, resolve_symbol
from .fusion import drop_echoes, drop_visible, merge_overlaps, rrf
from .lru import Lru
from .pagerank import RankGraph, pagerank
from .providers import EditRingLike, HistoryLike, IndexLike
from .pyimports import Binding, parse_imports, resolve_module
from .query import Query, make_query
from .repomap import RepoMap, rank_files
from .retriever import FLOW_UNITS, BuildCancelled, Retriever
from .runner import Deadline, SourceRunner, SourceStat
from .similar import Bm25, Window, jaccard_top, windows
from .view import WorkspaceView

__all__ = [
    "FLOW_UNITS",
    "SOURCES",
    "Binding",
    "Bm25",
    "BuildCancelled",
    "Candidate",
    "Cursor",
    "Deadline",
    "DefinitionLimits",
    "EditRingLike",
    "HistoryLike",
    "IndexLike",
    "Lru",
    "Query",
    "RankGraph",
    "RepoMap",
    "Retriever",
    "SourceRunner",
    "SourceStat",
    "Window",
    "WorkspaceView",
    "cut_prefix",
    "cut_suffix",
    "definitions",
    "drop_echoes",
    "drop_visible",
    "enclosing_headers",
    "jaccard_top",
    "make_query",
    "merge_overlaps",
    "pagerank",
    "parse_imports",
    "rank_files",
    "resolve_module",
    "resolve_symbol",
    "rrf",
    "scope_span",
    "windows",
]

"""The retriever: runs the enabled sources for a query, fuses them, caches the result.

The cache key is the query (which ignores the cursor line) plus the index generation, so the
keystrokes of one line reuse one retrieval and the prompt before the cursor stays byte-identical.
The user's recent edits are the one volatile source; they are read fresh on every request.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from .candidate import Candidate
from .definitions import DefinitionLimits, definitions
from .flow import blame_candidates, commit_candidates, edit_candidates, uncommitted_candidates
from .fusion import merge_overlaps, rrf
from .lru import Lru
from .providers import EditRingLike, HistoryLike, IndexLike, guarded
from .pyimports import resolve_module
from .query import Query
from .repomap import RepoMap
from .similar_source import SimilarSource
from .usages import usages
from .view import WorkspaceView

__all__ = ["BuildCancelled", "Retriever"]

log = logging.getLogger(__name__)


class BuildCancelled(Exception):
    """The request's cancel token was tripped while its prompt was being built."""


_SOURCE_ORDER = ("definitions", "usages", "similar", "repo_map", "flow")


def _check(cancel: Any) -> None:
    if cancel is not None and cancel.cancelled:
        raise BuildCancelled("prompt build cancelled")


class Retriever:
    """Candidates for a query from the index, the history and the edit ring (any may be None)."""

    def __init__(
        self,
        index: IndexLike | None,
        history: HistoryLike | None = None,
        edit_ring: EditRingLike | None = None,
        ttl_s: float = 30.0,
        limits: DefinitionLimits | None = None,
    ) -> None:
        self.view = WorkspaceView(index, ttl_s)
        self.history = history
        self.edit_ring = edit_ring
        self.limits = limits or DefinitionLimits()
        self.similar = SimilarSource(self.view)
        self.repo_map = RepoMap(self.view)
        self._ranked: Lru[dict[str, list[Candidate]]] = Lru(256)
        self._fused: Lru[tuple[Candidate, ...]] = Lru(64)
        self._sources: Lru[list[Candidate]] = Lru(1024)

    def retrieve(
        self,
        q: Query,
        weights: Mapping[str, float],
        rrf_k: float = 20.0,
        cancel: Any = None,
        room: int = 8192,
    ) -> tuple[Candidate, ...]:
        """Fused, merged candidates for ``q``, best first (sources with weight 0 are skipped).
        ``room`` (tokens) bounds how much of the repo map is rendered."""
        enabled = frozenset(s for s, w in weights.items() if w > 0)
        map_files = min(400, max(8, 1 << max(0, (room // 64).bit_length())))
        key = (self.view.generation(), q, enabled, map_files)
        ranked = self._ranked.get(key)
        if ranked is None:
            ranked = self._run_sources(q, enabled, cancel, map_files)
            self._ranked.put(key, ranked)
        edits = tuple(edit_candidates(self.edit_ring, q)) if "flow" in enabled else ()
        fused_key = (key, edits, tuple(sorted(weights.items())), rrf_k)
        fused = self._fused.get(fused_key)
        if fused is None:
            if edits:
                ranked = {**ranked, "flow": ranked.get("flow", []) + list(edits)}
            fused = tuple(merge_overlaps(rrf(ranked, weights, rrf_k)))
            self._fused.put(fused_key, fused)
        return fused

    def import_targets(self, q: Query) -> list[str]:
        """Workspace files the query's file imports, in import order, each once."""
        files = self.view.files()
        out: list[str] = []
        for b in q.bindings:
            target = resolve_module(b.module, q.path, files)
            if target and target != q.path and target not in out:
                out.append(target)
        if not q.python:
            for edge in self.view.imports(q.path):
                target = getattr(edge, "target", None)
                if target and target not in out:
                    out.append(target)
        return out

    def _recent_paths(self) -> list[str]:
        if self.edit_ring is None:
            return []
        edits = guarded("edit_ring", lambda: list(self.edit_ring.recent(50)), [])
        return list(dict.fromkeys(e.path for e in edits))

    def _run_sources(self, q: Query, enabled: frozenset[str], cancel: Any, map_files: int) -> dict[
        str, list[Candidate]
    ]:
        """Each enabled source's list, cached per source: only the repo map depends on the
        room, so another budget (or request kind) at the same cursor reuses the others."""
        ranked: dict[str, list[Candidate]] = {}
        gen = self.view.generation()
        for source in _SOURCE_ORDER:
            if source in enabled:
                _check(cancel)
                key = (gen, q, source, map_files if source == "repo_map" else 0)
                ranked[source] = self._sources.get_or(
                    key, lambda s=source: self._run_source(s, q, map_files))
        return ranked

    def _run_source(self, source: str, q: Query, map_files: int) -> list[Candidate]:
        if source == "definitions":
            return definitions(self.view, q, self.limits)
        if source == "usages":
            return usages(self.view, q)
        targets = self.import_targets(q)
        if source == "similar":
            pool = list(dict.fromkeys([*self._recent_paths()[:8], *targets[:8], q.path]))
            return self.similar.candidates(q, pool)
        if source == "repo_map":
            return self.repo_map.candidates(q.path, {t: 0.5 for t in targets}, map_files)
        flow = uncommitted_candidates(self.history, q) + commit_candidates(self.history, q)
        flow += blame_candidates(self.history, q)
        return sorted(flow, key=lambda c: (-c.score, c.path or "", c.start_line))

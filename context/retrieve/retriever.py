"""The retriever: runs the enabled sources for a query, fuses them, caches the result.

Each source is split into *units* (``definitions``, ``usages``, ``similar``, ``repo_map``,
``flow_uncommitted``, ``flow_commits``, ``flow_cochange``, ``flow_blame``), and each unit runs off
the request path in ``SourceRunner``'s pool, keyed by exactly what it reads: the index generation,
git's HEAD (history units), the query (which ignores the cursor line) or only its file. A
request with a deadline (a keystroke) uses the units that are ready by then and leaves the rest
out; they finish in the background and the next request uses them. A request without one
(chat, fixes, the CLI) waits for all. ``prewarm`` starts a file's slow, cursor-independent work
(blame, co-change, the import graph, the repo map) when the file is opened or HEAD moves; these
warm-ups wait while a completion is in flight (``SourceRunner.hold``).
The user's recent edits are the one volatile source; they are read fresh on every request.
When a new cursor's ``definitions`` are not ready by the deadline, the file-level (not
volatile) definitions last computed for the same file stand in for them, so the stable part of
the prompt does not come and go with the scope's lookups.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from .candidate import Candidate
from .definitions import DefinitionLimits, definitions
from .flow import (
    blame_candidates,
    cochange_candidates,
    edit_candidates,
    scope_commit_candidates,
    uncommitted_candidates,
)
from .fusion import merge_overlaps, rrf
from .lru import Lru
from .providers import EditRingLike, HistoryLike, IndexLike, guarded
from .pyimports import resolve_module
from .query import Query
from .repomap import RepoMap
from .runner import Deadline, SourceRunner
from .similar_source import SimilarSource
from .usages import usages
from .view import WorkspaceView

__all__ = ["BuildCancelled", "Retriever"]

log = logging.getLogger(__name__)


class BuildCancelled(Exception):
    """The request's cancel token was tripped while its prompt was being built."""


_SOURCE_ORDER = ("definitions", "usages", "similar", "repo_map", "flow")
FLOW_UNITS = ("flow_uncommitted", "flow_commits", "flow_cochange", "flow_blame")
"""The code-flow source's units (each is cached and timed on its own)."""


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
        runner: SourceRunner[list[Candidate]] | None = None,
    ) -> None:
        self.view = WorkspaceView(index, ttl_s)
        self.history = history
        self.edit_ring = edit_ring
        self.limits = limits or DefinitionLimits()
        self.similar = SimilarSource(self.view)
        self.repo_map = RepoMap(self.view)
        self.runner: SourceRunner[list[Candidate]] = runner or SourceRunner()
        self._fused: Lru[tuple[Candidate, ...]] = Lru(64)
        self._file_level: Lru[list[Candidate]] = Lru(64)
        self._head_seen: str | None = None
        self._ingests: dict[str | None, Any] = {}
        self._blamed: Lru[bool] = Lru(32)
        self.last_missing: tuple[str, ...] = ()
        """The units the last request went without (they were not ready by its deadline)."""

    def retrieve(
        self,
        q: Query,
        weights: Mapping[str, float],
        rrf_k: float = 20.0,
        cancel: Any = None,
        room: int = 8192,
        deadline: Deadline | None = None,
    ) -> tuple[Candidate, ...]:
        """Fused, merged candidates for ``q``, best first (sources with weight 0 are skipped).
        ``room`` (tokens) bounds how much of the repo map is rendered. With a ``deadline``
        only the units ready by then are used (the others are in ``last_missing``)."""
        enabled = frozenset(s for s, w in weights.items() if w > 0)
        map_files = min(400, max(8, 1 << max(0, (room // 64).bit_length())))
        head = self.head()
        if head != self._head_seen:
            if self._head_seen is not None:
                self._head_moved(head, q.path)
            self._head_seen = head
        ranked, missing = self._run_sources(q, enabled, cancel, map_files,
                                            deadline or Deadline(None), head)
        self.last_missing = missing
        key = (self.view.generation(), head, q, enabled, map_files, missing)
        edits = tuple(edit_candidates(self.edit_ring, q)) if "flow" in enabled else ()
        fused_key = (key, edits, tuple(sorted(weights.items())), rrf_k)
        fused = self._fused.get(fused_key)
        if fused is None:
            if edits:
                ranked = {**ranked, "flow": ranked.get("flow", []) + list(edits)}
            fused = tuple(merge_overlaps(rrf(ranked, weights, rrf_k)))
            self._fused.put(fused_key, fused)
        return fused

    def head(self) -> str | None:
        """git's HEAD for the history units' keys (None without history)."""
        if self.history is None or not hasattr(self.history, "head"):
            return None
        return guarded("head", lambda: self.history.head(), None)

    def prewarm(self, path: str) -> None:
        """Start the slow work for ``path`` that does not depend on the cursor, in the
        background: the blame of the file, its co-changes, the file graph and repo map."""
        gen, head = self.view.generation(), self.head()
        self.runner.submit("repo_map", (gen, "repo_map.graph"), self._warm_graph, warm=True)
        if self.history is not None:
            self.runner.submit("flow_cochange", (head, "flow_cochange", path),
                               lambda: (self._after_ingest(head),
                                        cochange_candidates(self.history, path))[1],
                               warm=True)
            self.runner.submit("flow_blame", (gen, head, "flow_blame_file", path),
                               lambda: self._warm_blame(path), warm=True)

    def _head_moved(self, head: str | None, path: str) -> None:
        """A commit (or checkout): bring the history store up to the new HEAD in the
        background (only new commits are read), then warm ``path`` again. The history units
        of the new HEAD wait for that ingest, so none is cached from a stale store."""
        ingest = getattr(self.history, "ingest", None)
        if ingest is not None:
            def run() -> list[Candidate]:
                guarded("ingest", ingest, None)
                return []

            self._ingests = {head: self.runner.submit("history_ingest",
                                                      (head, "history_ingest"), run)}
        self.prewarm(path)

    def _after_ingest(self, head: str | None) -> None:
        pending = self._ingests.get(head)
        if pending is not None:
            guarded("ingest", pending.result, None)

    def _blame_ready(self, path: str, gen: int, head: str | None) -> bool:
        """Whether the file's blame is computed (a region's blame is then a quick slice);
        when it is not, its computation is started (a keystroke never waits for it)."""
        if self._blamed.get((head, path)):  # once ready, ready for this HEAD (no file reads)
            return True
        ready = getattr(self.history, "blame_ready", None)
        if ready is None or guarded("blame_ready", lambda: ready(path), False):
            self._blamed.put((head, path), True)
            return True
        self.runner.submit("flow_blame", (gen, head, "flow_blame_file", path),
                           lambda: self._warm_blame(path), warm=True)
        return False

    def _warm_blame(self, path: str) -> list[Candidate]:
        warm = getattr(self.history, "warm_blame", None)
        if warm is not None:
            guarded("warm_blame", lambda: warm(path), None)
        return []

    def _warm_graph(self) -> list[Candidate]:
        self.repo_map.warm()
        return []

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

    def _units(self, q: Query, enabled: frozenset[str], map_files: int, head: str | None,
               gen: int) -> list[tuple[str, str, tuple[Any, ...], Any]]:
        """(source, unit, key, make) for each enabled unit; a key holds what its unit reads."""
        units: list[tuple[str, str, tuple[Any, ...], Any]] = []
        for source in _SOURCE_ORDER:
            if source not in enabled:
                continue
            if source == "flow":
                units += self._flow_units(q, gen, head)
            elif source == "repo_map":
                units.append((source, source, (gen, source, q.path, q.bindings, map_files),
                              lambda: self._repo_map(q, map_files)))
            else:
                units.append((source, source, (gen, source, q),
                              lambda s=source: self._run_source(s, q)))
        return units

    def _flow_units(self, q: Query, gen: int, head: str | None) -> list[
        tuple[str, str, tuple[Any, ...], Any]
    ]:
        h = self.history

        def after_ingest(make: Any) -> Any:
            return lambda: (self._after_ingest(head), make())[1]

        return [(source, unit, key, after_ingest(make)) for source, unit, key, make in [
            ("flow", "flow_uncommitted", (gen, head, "flow_uncommitted", q.path),
             lambda: uncommitted_candidates(h, q)),
            ("flow", "flow_blame", (gen, head, "flow_blame", q.path, q.scope),
             lambda: blame_candidates(h, q)),
            ("flow", "flow_commits", (gen, head, "flow_commits", q.path, q.scope),
             lambda: scope_commit_candidates(h, q)),
            ("flow", "flow_cochange", (head, "flow_cochange", q.path),
             lambda: cochange_candidates(h, q.path)),
        ]]

    def _run_sources(self, q: Query, enabled: frozenset[str], cancel: Any, map_files: int,
                     deadline: Deadline, head: str | None) -> tuple[
        dict[str, list[Candidate]], tuple[str, ...]
    ]:
        """Each enabled source's list from its units (all started first, then collected until
        the deadline), and the units that were missing."""
        gen = self.view.generation()
        units = self._units(q, enabled, map_files, head, gen)
        slots = [key[1:] if key[0] == gen else None for _, _, key, _ in units]
        if deadline.at is not None:  # all start before any is awaited
            self.runner.submit_for_request([
                (unit, key, make, slot)
                for (_, unit, key, make), slot in zip(units, slots, strict=True)
                if unit != "flow_blame" or self._blame_ready(q.path, gen, head)])
        ranked: dict[str, list[Candidate]] = {}
        missing = []
        for (source, unit, key, make), slot in zip(units, slots, strict=True):
            _check(cancel)
            if deadline.at is not None and unit == "flow_blame" and \
                    not self._blame_ready(q.path, gen, head):
                self.runner.missed(unit)  # the file's blame is still being computed
                missing.append(unit)
                continue
            found = self.runner.get(unit, key, make, deadline, slot)
            if found is None:
                missing.append(unit)
                found = self._file_level.get(q.path) if unit == "definitions" else None
                if not found:
                    continue
            ranked.setdefault(source, []).extend(found)
        if "flow" in ranked:
            ranked["flow"] = sorted(ranked["flow"],
                                    key=lambda c: (-c.score, c.path or "", c.start_line))
        return ranked, tuple(missing)

    def _repo_map(self, q: Query, map_files: int) -> list[Candidate]:
        seeds = {t: 0.5 for t in self.import_targets(q)}
        return self.repo_map.candidates(q.path, seeds, map_files)

    def _run_source(self, source: str, q: Query) -> list[Candidate]:
        if source == "definitions":
            found = definitions(self.view, q, self.limits)
            self._file_level.put(q.path, [c for c in found if not c.volatile])
            return found
        if source == "usages":
            return usages(self.view, q)
        targets = self.import_targets(q)
        pool = list(dict.fromkeys([*self._recent_paths()[:8], *targets[:8], q.path]))
        return self.similar.candidates(q, pool)

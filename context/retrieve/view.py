"""A cached, read-only view of the workspace index for one retrieval generation.

Keystrokes ask the same questions over and over (the file list, a module's outline, a file's
lines); the answers are cached per *generation*: the index's own ``generation`` counter when it
has one, else a time bucket of ``ttl_s`` seconds, so edits elsewhere show up within that time.
"""

from __future__ import annotations

import time
from typing import Any

from .lru import Lru
from .providers import IndexLike, guarded
from .snippets import outline_text
from .text import lines_of

__all__ = ["WorkspaceView"]


class WorkspaceView:
    """Memoised access to an index (or to nothing: ``index=None`` answers empty)."""

    def __init__(self, index: IndexLike | None, ttl_s: float = 30.0,
                 clock: Any = time.monotonic) -> None:
        self.index = index
        self.ttl_s = ttl_s
        self.clock = clock
        self._cache: Lru[Any] = Lru(4096)
        self._slow: dict[tuple, tuple[float, Any]] = {}

    def generation(self) -> int:
        """Changes when cached answers must be recomputed."""
        gen = getattr(self.index, "generation", None)
        if isinstance(gen, int):
            return gen
        return int(time.monotonic() // self.ttl_s)

    def _memo(self, key: tuple, what: str, call: Any, default: Any) -> Any:
        if self.index is None:
            return default
        full = (self.generation(), *key)
        hit = self._cache.get(full)
        if hit is not None:
            return hit
        value = guarded(what, call, default)
        self._cache.put(full, value)
        return value

    def memo(self, key: tuple, make: Any) -> Any:
        """``make()`` cached under ``key`` for this generation (for derived per-file values)."""
        full = (self.generation(), "derived", *key)
        hit = self._cache.get(full)
        if hit is None:
            hit = make()
            self._cache.put(full, hit)
        return hit

    def memo_hint(self, key: tuple, make: Any, max_age_s: float = 60.0) -> Any:
        """``make()`` for a workspace-wide ranking hint (counts over every file): reused across
        generations for up to ``max_age_s`` seconds, since each keystroke makes a generation
        and a hint a few edits old ranks the same; exact answers use :meth:`memo`."""
        hit = self._slow.get(key)
        now = self.clock()
        if hit is not None and now - hit[0] < max_age_s:
            return hit[1]
        value = make()
        self._slow[key] = (now, value)
        return value

    def files(self) -> frozenset[str]:
        """Every indexed file."""
        return self._memo(("files",), "files", lambda: frozenset(self.index.files()), frozenset())

    def lines(self, path: str) -> tuple[str, ...]:
        """Lines of a file (with newlines); empty when unknown."""

        def read() -> tuple[str, ...]:
            text = self.index.file_text(path)
            return tuple(lines_of(text)) if text else ()

        return self._memo(("lines", path), "file_text", read, ())

    def outline(self, path: str) -> tuple[Any, ...]:
        """The file's symbols (SymbolDef), in file order."""
        return self._memo(
            ("outline", path), "outline", lambda: tuple(self.index.outline(path)), ()
        )

    def definitions(self, name: str, from_path: str | None, limit: int = 5) -> tuple[Any, ...]:
        """Definitions of ``name``, best first for ``from_path``. A name with at most one
        definition needs no ranking: its answer is shared by every file (ranking costs the
        index an import-graph walk per file, the bulk of a new cursor location's lookups)."""
        if from_path is not None:
            few = self._memo(
                ("defs", name, None, 2),
                "definitions",
                lambda: tuple(self.index.definitions(name, from_path=None, limit=2)),
                (),
            )
            if len(few) < 2:
                return few[:limit]
        return self._memo(
            ("defs", name, from_path, limit),
            "definitions",
            lambda: tuple(self.index.definitions(name, from_path=from_path, limit=limit)),
            (),
        )

    def references(self, name: str, limit: int = 200) -> tuple[Any, ...]:
        """References to ``name`` anywhere."""
        return self._memo(
            ("refs", name, limit),
            "references",
            lambda: tuple(self.index.references(name, limit)),
            (),
        )

    def imports(self, path: str) -> tuple[Any, ...]:
        """Import edges of a file (ImportEdge)."""
        return self._memo(("imports", path), "imports", lambda: tuple(self.index.imports(path)), ())

    def graph(self) -> dict[str, dict[str, float]]:
        """The weighted file graph of the workspace."""
        return self._memo(("graph",), "file_graph", lambda: dict(self.index.file_graph()), {})

    def outline_text(self, path: str) -> tuple[str, int, int]:
        """The file's outline text and the span it covers ("" when it has no symbols)."""

        def render() -> tuple[str, int, int]:
            outline = self.outline(path)
            if not outline:
                return "", 0, 0
            text = outline_text(self.lines(path), outline)
            return text, outline[0].start_line, max(s.end_line for s in outline)

        return self._memo(("outline_text", path), "outline", render, ("", 0, 0))

"""``WorkspaceIndex``: the persisted, always-fresh tree-sitter index of one workspace.

``refresh`` lists the workspace, re-reads only files whose (size, mtime_ns) changed, re-parses
only those whose content digest changed, and drops files that are gone. With many files the
parsing runs in a process pool, largest files first, and each worker writes the facts of its
chunk of files to the store itself (only small results travel back). Open buffers win over the
disk: ``update_buffer`` re-parses incrementally from the previous tree, and ``refresh`` leaves
buffered paths alone. A watchdog observer
(``start_watching``) batches external changes. One writer and many readers may share an
instance (one lock around the connection); several instances (processes) may share a store.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import multiprocessing
import os
import sqlite3
import stat
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from itertools import repeat
from pathlib import Path
from typing import Any, Protocol

import tree_sitter

from context import store
from context.index import db, queries
from context.index.chunks import BufferExtractor
from context.index.edits import diff_edit
from context.index.extract import (
    Facts,
    FileResult,
    content_hash,
    ensure_utf8,
    read_and_extract,
)
from context.index.graph import IdentifierGraph
from context.index.languages import get_parser, language_for_path
from context.index.model import ImportEdge, IndexStats, Reference, Scope, SymbolDef
from context.index.refs import RefPositions
from context.index.resolve import Resolver
from context.index.walk import Listing, Walker

log = logging.getLogger(__name__)

__all__ = ["WorkspaceIndex", "prepare_workers"]

POOL_MIN_FILES = 48
_BATCH = 200
_IMPORT_WEIGHT = 1.0
_PATCH_LIMIT = 64  # more changed files than this: drop derived caches instead of patching


class _Cancel(Protocol):
    @property
    def cancelled(self) -> bool: ...


@dataclass
class _Buffer:
    text: str
    data: bytes
    language: str | None
    tree: tree_sitter.Tree | None
    extractor: BufferExtractor | None = None
    facts: Facts | None = None
    digest: str = ""


@dataclass(frozen=True)
class _Task:
    abs_path: str
    rel: str
    language: str
    max_bytes: int
    known_digest: str | None
    size: int = 0


def _run_task(task: _Task) -> FileResult:
    return read_and_extract(task.abs_path, task.rel, task.language, task.max_bytes,
                            task.known_digest)


_worker_conns: dict[str, sqlite3.Connection] = {}


def _worker_store(path: str) -> sqlite3.Connection:
    """A worker process's own connection to the store (never one inherited through fork)."""
    conn = _worker_conns.get(path)
    if conn is None:
        conn = sqlite3.connect(path, timeout=60.0, isolation_level=None)
        conn.execute("PRAGMA synchronous=NORMAL")
        _worker_conns[path] = conn
    return conn


def _run_chunk(chunk: tuple[_Task, ...], store_path: str) -> list[FileResult]:
    """In a worker: extract a chunk of files and write their facts to the store in one
    transaction, so that facts never travel back to the main process (results come back
    without them, marked ``stored``)."""
    results = [_run_task(task) for task in chunk]
    parsed = [(task, r) for task, r in zip(chunk, results, strict=True) if r.facts is not None]
    if not parsed:
        return results
    conn = _worker_store(store_path)
    with db.transaction(conn):
        for task, r in parsed:
            db.write_facts(conn, r.path, task.language, r.digest, r.size, r.mtime_ns, r.facts)
    return [replace(r, facts=None, stored=True) if r.facts is not None else r for r in results]


def prepare_workers() -> None:
    """Start the forkserver that the index's process pool uses in a process with threads (the
    language server), with the index modules preloaded, so that the first cold index neither
    waits for a fresh interpreter nor re-imports the grammars in every worker. Idempotent;
    call it early, off the event loop."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return
    from multiprocessing import forkserver

    multiprocessing.set_forkserver_preload([__name__])
    forkserver.ensure_running()


def _largest_first(tasks: list[_Task]) -> list[_Task]:
    """Big files first, so that no worker is left with a big file at the end of a cold index
    while the others idle."""
    return sorted(tasks, key=lambda task: task.size, reverse=True)


class WorkspaceIndex:
    """The index of one workspace (see docs/CONTRACTS.md for the API)."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        store_path: str | os.PathLike[str] | None = None,
        max_file_bytes: int = 1_000_000,
        exclude: Iterable[str] = (),
        workers: int | None = None,
        use_git: bool = True,
    ) -> None:
        self.root = Path(root).resolve()
        self.store_path = Path(store_path) if store_path else store.store_path(self.root)
        self.max_file_bytes = max_file_bytes
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self.use_git = use_git
        self._walker = Walker(self.root, tuple(exclude))
        self._lock = threading.RLock()
        self._conn, self._rebuilt = db.open_store(self.store_path)
        self._buffers: dict[str, _Buffer] = {}
        self._parsers: dict[str, tree_sitter.Parser] = {}
        self._generation = 0
        self._cache_key: tuple[int, int] | None = None
        self._resolver: Resolver | None = None
        self._graph: IdentifierGraph | None = None
        self._import_cache: dict[str, set[str]] | None = None
        self._watcher: Any = None
        self._positions = RefPositions(self.root, max_file_bytes, self._buffer_positions,
                                       self._parser)
        self.last_listing_method = ""

    # -- refresh --------------------------------------------------------------------------
    def refresh(self, progress: Callable[[int, int], None] | None = None,
                cancel: _Cancel | None = None) -> IndexStats:
        """Bring the stored index up to date with the disk; returns what it found."""
        started = time.perf_counter()
        listing = self._list()
        skipped: Counter[str] = Counter(listing.skipped)
        with self._lock:
            stored = db.stored_files(self._conn)
            buffered = set(self._buffers)
        gone = [p for p in stored if p not in listing.files and p not in buffered]
        tasks, stale = self._plan(listing, stored, buffered, skipped)
        removed = self._remove_paths(gone + stale)
        bulk = not stored and len(tasks) >= POOL_MIN_FILES
        with self._bulk_load() if bulk else contextlib.nullcontext():
            parsed = self._read_all(tasks, skipped, progress, cancel)
        self._changed(parsed, new_files=any(p not in stored for p in parsed), removed=removed)
        rebuilt, self._rebuilt = self._rebuilt, False
        return self._stats(skipped, time.perf_counter() - started, rebuilt, len(parsed), removed)

    @contextlib.contextmanager
    def _bulk_load(self) -> Iterator[None]:
        """A cold index fills empty tables: without secondary indexes until it is done."""
        with self._lock:
            db.drop_indexes(self._conn)
        try:
            yield
        finally:
            with self._lock:
                db.build_indexes(self._conn)

    def _list(self) -> Listing:
        listing = self._walker.git_files() if self.use_git else None
        if listing is None:
            listing = self._walker.walk()
        self.last_listing_method = listing.method
        return listing

    def _plan(self, listing: Listing, stored: dict[str, db.StoredFile], buffered: set[str],
              skipped: Counter[str]) -> tuple[list[_Task], list[str]]:
        """Stat every listed file: those whose (size, mtime_ns) changed are read again."""
        tasks: list[_Task] = []
        stale: list[str] = []
        for rel, language in listing.files.items():
            if rel in buffered:
                continue
            abs_path = str(self.root / rel)
            known = stored.get(rel)
            try:
                st = os.stat(abs_path)
            except FileNotFoundError:
                # git lists tracked files deleted from the worktree: gone, not skipped
                if os.path.lexists(abs_path):
                    skipped["bad_symlink"] += 1
                if known is not None:
                    stale.append(rel)
                continue
            except OSError as exc:
                skipped["symlink_loop" if exc.errno == errno.ELOOP else "unreadable"] += 1
                if known is not None:
                    stale.append(rel)
                continue
            if not stat.S_ISREG(st.st_mode):
                skipped["not_a_file"] += 1
                if known is not None:
                    stale.append(rel)
                continue
            if st.st_size > self.max_file_bytes:
                skipped["too_large"] += 1
                log.info("skipping %s: %d bytes is over the %d byte limit", rel, st.st_size,
                         self.max_file_bytes)
                if known is not None:
                    stale.append(rel)
                continue
            if known is not None and known[2] == st.st_size and known[3] == st.st_mtime_ns \
                    and known[4] == language:
                continue
            digest = known[1] if known is not None and known[4] == language else None
            tasks.append(_Task(abs_path, rel, language, self.max_file_bytes, digest,
                               st.st_size))
        return tasks, stale

    def _results(self, tasks: list[_Task]) -> Iterator[FileResult]:
        if len(tasks) < POOL_MIN_FILES or self.workers <= 1:
            yield from map(_run_task, tasks)
            return
        # fork is cheapest, but never fork a process that has other threads running (the
        # server, which warms a forkserver up at start: ``prepare_workers``). Workers open
        # their own store connections; a forked one never uses the connection it inherited.
        method = "fork" if threading.active_count() == 1 else "forkserver"
        context = multiprocessing.get_context(method)
        tasks = _largest_first(tasks)
        size = max(1, min(8, len(tasks) // (self.workers * 16)))
        chunks = [tuple(tasks[i:i + size]) for i in range(0, len(tasks), size)]
        done = 0
        try:
            with ProcessPoolExecutor(max_workers=self.workers, mp_context=context) as pool:
                for results in pool.map(_run_chunk, chunks, repeat(str(self.store_path))):
                    done += len(results)
                    yield from results
        except (BrokenProcessPool, OSError, sqlite3.Error) as exc:
            log.warning("index worker pool failed (%s); parsing the remaining %d files here",
                        exc, len(tasks) - done)
            yield from map(_run_task, tasks[done:])

    def _read_all(self, tasks: list[_Task], skipped: Counter[str],
                  progress: Callable[[int, int], None] | None, cancel: _Cancel | None) -> int:
        parsed: list[str] = []
        batch: list[FileResult] = []
        results = self._results(tasks)
        try:
            for done, result in enumerate(results, 1):
                batch.append(result)
                if len(batch) >= _BATCH:
                    parsed += self._write_batch(batch, skipped)
                    batch = []
                if progress is not None:
                    progress(done, len(tasks))
                if cancel is not None and cancel.cancelled:
                    log.info("index refresh cancelled after %d of %d files", done, len(tasks))
                    break
        finally:
            if hasattr(results, "close"):
                results.close()
        parsed += self._write_batch(batch, skipped)
        return parsed

    def _write_batch(self, batch: list[FileResult], skipped: Counter[str]) -> list[str]:
        """Store a batch of results in one transaction; returns the paths (re)parsed."""
        parsed: list[str] = []
        drop: list[str] = []
        with self._lock, db.transaction(self._conn):
            for result in batch:
                if result.path in self._buffers:
                    if result.stored:  # a worker wrote over the open buffer's entry
                        self._store_buffer(result.path)
                    continue
                if result.status == "skipped":
                    skipped[result.reason] += 1
                    self._log_skip(result)
                    drop.append(result.path)
                elif result.status == "unchanged":
                    db.write_stat(self._conn, result.path, result.size, result.mtime_ns)
                elif result.facts is not None or result.stored:
                    if result.replaced:
                        log.warning("%s is not valid UTF-8; decoded with replacement",
                                    result.path)
                    if result.facts is not None:
                        language = language_for_path(result.path) or ""
                        db.write_facts(self._conn, result.path, language, result.digest,
                                       result.size, result.mtime_ns, result.facts)
                    parsed.append(result.path)
            db.remove_files(self._conn, drop)
        return parsed

    def _store_buffer(self, path: str) -> None:
        """Write an open buffer's facts again (inside the caller's transaction)."""
        buffer = self._buffers[path]
        if buffer.facts is not None and buffer.language is not None:
            db.write_facts(self._conn, path, buffer.language, buffer.digest, -1, -1,
                           buffer.facts)

    @staticmethod
    def _log_skip(result: FileResult) -> None:
        if result.reason == "too_large":
            log.info("skipping %s: %d bytes is over the size limit", result.path, result.size)
        elif result.reason == "vanished":
            log.info("skipping %s: deleted while being read", result.path)
        else:
            log.info("skipping %s: %s", result.path, result.reason)

    def _remove_paths(self, paths: list[str]) -> int:
        if not paths:
            return 0
        with self._lock, db.transaction(self._conn):
            return db.remove_files(self._conn, paths)

    def _stats(self, skipped: Counter[str], seconds: float, rebuilt: bool, parsed: int,
               removed: int) -> IndexStats:
        with self._lock:
            c = self._conn
            languages = dict(c.execute(
                "SELECT language, count(*) FROM idx_files GROUP BY language ORDER BY language"))
            symbols = c.execute("SELECT count(*) FROM idx_defs WHERE kind != 'impl'").fetchone()
            refs = c.execute("SELECT coalesce(sum(count), 0) FROM idx_refs").fetchone()
        return IndexStats(
            files=sum(languages.values()), symbols=int(symbols[0]), refs=int(refs[0]),
            languages=languages, skipped=dict(sorted(skipped.items())), seconds=seconds,
            rebuilt=rebuilt, parsed=parsed, removed=removed,
        )

    # -- buffers --------------------------------------------------------------------------
    def _parser(self, language: str) -> tree_sitter.Parser:
        parser = self._parsers.get(language)
        if parser is None:
            parser = self._parsers[language] = get_parser(language)
        return parser

    def update_buffer(self, path: str, text: str) -> None:
        """The editor's text for a path replaces the disk's until ``close_buffer``."""
        data, _ = ensure_utf8(text.encode("utf-8", "surrogateescape"))
        language = language_for_path(path)
        with self._lock:
            old = self._buffers.get(path)
            if old is not None and old.data == data:
                return
            buffer = _Buffer(text, data, language, None)
            if language is not None:
                self._reparse(path, language, old, buffer)
            self._buffers[path] = buffer

    def _reparse(self, path: str, language: str, old: _Buffer | None, new: _Buffer) -> None:
        """Parse incrementally from the old tree (edited to match), extract, store."""
        old_tree = None
        if old is not None and old.tree is not None and old.language == language:
            edit = diff_edit(old.data, new.data)
            if edit is not None:
                old_tree = old.tree
                old_tree.edit(edit.start_byte, edit.old_end_byte, edit.new_end_byte,
                              edit.start_point, edit.old_end_point, edit.new_end_point)
            new.extractor = old.extractor
        parser = self._parser(language)
        new.tree = (parser.parse(new.data, old_tree) if old_tree is not None
                    else parser.parse(new.data))
        if new.extractor is None:
            new.extractor = BufferExtractor(language)
        new.facts = new.extractor.facts(new.tree, new.data)
        new.digest = content_hash(new.data)
        with db.transaction(self._conn):
            if old is not None and old.facts is not None and old.language == language and \
                    db.write_delta(self._conn, path, old.digest, new.digest, old.facts, new.facts):
                known = True
            else:
                known = queries.file_id(self._conn, path) is not None
                db.write_facts(self._conn, path, language, new.digest, -1, -1, new.facts)
        if known:
            self._buffer_changed(path)
        else:
            self._touch()

    def _changed(self, paths: list[str], new_files: bool, removed: int) -> None:
        """Keep derived caches right after files were re-parsed or removed."""
        if new_files or removed or len(paths) > _PATCH_LIMIT:
            self._touch()  # the file set changed (or too much did): rebuild lazily
            return
        with self._lock:
            for path in paths:
                self._buffer_changed(path)

    def _buffer_changed(self, path: str) -> None:
        """Update the derived caches for one edited file instead of dropping them."""
        cache = self._import_cache  # resolving may drop the cache; patch the one we saw
        if cache is not None:
            targets = self._resolved_targets(path)
            if targets:
                cache[path] = targets
            else:
                cache.pop(path, None)
        graph = self._graph
        if graph is not None:
            fid = queries.file_id(self._conn, path)
            if fid is not None:
                graph.update_file(self._conn, fid)

    def close_buffer(self, path: str) -> None:
        """Forget the editor's text; the disk's content is indexed again."""
        with self._lock:
            if self._buffers.pop(path, None) is None:
                return
            language = self._walker.wanted(path)
            abs_path = self.root / path
            if language is None or not abs_path.is_file():
                self._remove_paths([path])
                self._touch()
                return
            result = read_and_extract(str(abs_path), path, language, self.max_file_bytes, None)
            parsed = self._write_batch([result], Counter())
            if parsed:
                self._changed(parsed, new_files=False, removed=0)
            else:
                self._touch()

    def remove(self, path: str) -> None:
        """Drop a path (buffer and stored entry)."""
        with self._lock:
            self._buffers.pop(path, None)
            if self._remove_paths([path]):
                self._touch()

    def reindex_paths(self, paths: Iterable[str]) -> None:
        """Re-read some files from disk (the watcher's entry point); gone files are removed."""
        tasks: list[_Task] = []
        gone: list[str] = []
        with self._lock:
            buffered = set(self._buffers)
        for rel in paths:
            if rel in buffered:
                continue
            language = self._walker.wanted(rel)
            abs_path = self.root / rel
            if language is None or not abs_path.is_file() or self._walker.escapes(rel):
                gone.append(rel)
                continue
            tasks.append(_Task(str(abs_path), rel, language, self.max_file_bytes, None))
        removed = self._remove_paths(gone)
        with self._lock:
            known = {p for p in (t.rel for t in tasks) if queries.file_id(self._conn, p)}
        parsed = self._read_all(tasks, Counter(), None, None)
        self._changed(parsed, new_files=any(p not in known for p in parsed), removed=removed)

    # -- caches ---------------------------------------------------------------------------
    def _touch(self) -> None:
        with self._lock:
            self._generation += 1
            self._resolver = None
            self._graph = None
            self._import_cache = None

    def _fresh_caches(self) -> None:
        """Drop derived caches when this or another connection changed the store."""
        version = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        key = (self._generation, version)
        if key != self._cache_key:
            self._cache_key = key
            self._resolver = None
            self._graph = None
            self._import_cache = None

    def _get_resolver(self) -> Resolver:
        self._fresh_caches()
        if self._resolver is None:
            self._resolver = Resolver(self.files(), self._read_root_file)
        return self._resolver

    def _read_root_file(self, rel: str) -> str | None:
        try:
            return (self.root / rel).read_text("utf-8", errors="replace")
        except (OSError, ValueError):
            return None

    # -- queries --------------------------------------------------------------------------
    def files(self) -> list[str]:
        """Indexed paths, sorted."""
        with self._lock:
            return [row[0] for row in self._conn.execute(
                "SELECT path FROM idx_files ORDER BY path")]

    def file_text(self, path: str) -> str | None:
        """The open buffer's text, else the file's text on disk, else None."""
        with self._lock:
            buffer = self._buffers.get(path)
        if buffer is not None:
            return buffer.text
        try:
            data = (self.root / path).read_bytes()
        except OSError:
            return None
        return data.decode("utf-8", "replace")

    def definitions(self, name: str, from_path: str | None = None,
                    limit: int = 20) -> list[SymbolDef]:
        """Definitions of a name, nearest (by imports, then directories) to ``from_path`` first."""
        with self._lock:
            found = queries.definitions_named(self._conn, name)
            if not found:
                return []
            imported: set[str] = set()
            importers: set[str] = set()
            second: set[str] = set()
            if from_path is not None:
                imported = {e.target for e in self.imports(from_path) if e.target}
                for target in imported:
                    second.update(e.target for e in self.imports(target) if e.target)
                importers = self._importers_of(from_path)
        found.sort(key=lambda s: queries.rank_key(
            s, queries.proximity(from_path, s.path, imported, importers, second)))
        return found[:limit]

    def _importers_of(self, path: str) -> set[str]:
        graph = self._import_graph()
        return {src for src, dsts in graph.items() if path in dsts}

    def _resolved_targets(self, path: str) -> set[str]:
        resolver = self._get_resolver()
        rows = self._conn.execute(
            "SELECT i.module, i.names, i.kind FROM idx_imports i JOIN idx_files f "
            "ON f.id = i.file_id WHERE f.path = ?", (path,)).fetchall()
        return {target for module, names, kind in rows
                for _, target in resolver.resolve(path, module, names, kind)
                if target is not None and target != path}

    def _import_graph(self) -> dict[str, set[str]]:
        resolver = self._get_resolver()
        if self._import_cache is not None:
            return self._import_cache
        graph: dict[str, set[str]] = {}
        for src, module, names, kind in self._conn.execute(
            "SELECT f.path, i.module, i.names, i.kind FROM idx_imports i "
            "JOIN idx_files f ON f.id = i.file_id"
        ):
            for _, target in resolver.resolve(src, module, names, kind):
                if target is not None and target != src:
                    graph.setdefault(src, set()).add(target)
        self._import_cache = graph
        return graph

    def imports(self, path: str) -> list[ImportEdge]:
        """What a file imports, resolved to workspace files where possible."""
        with self._lock:
            resolver = self._get_resolver()
            rows = self._conn.execute(
                "SELECT i.module, i.names, i.line, i.kind FROM idx_imports i "
                "JOIN idx_files f ON f.id = i.file_id WHERE f.path = ? ORDER BY i.line",
                (path,),
            ).fetchall()
            return [ImportEdge(path, module, target, int(line))
                    for raw, names, line, kind in rows
                    for module, target in resolver.resolve(path, raw, names, kind)]

    def references(self, name: str, limit: int = 200) -> list[Reference]:
        """Occurrences of an identifier (not its definitions' names), with enclosing scopes.
        Positions are found on demand in the files that use the name (see ``refs``)."""
        with self._lock:
            return queries.references_named(self._conn, name, limit, self._positions.of)

    def _buffer_positions(self, path: str) -> tuple[str, dict[str, bytes]] | None:
        """An open buffer's (digest, identifier positions), or None."""
        buffer = self._buffers.get(path)
        if buffer is None or buffer.facts is None:
            return None
        return buffer.digest, buffer.facts.refs

    def scope_chain(self, path: str, line: int, col: int) -> list[Scope]:
        """The functions/classes/... enclosing a position, outermost first."""
        with self._lock:
            return queries.scope_chain(self._conn, path, line, col)

    def symbols_in(self, path: str) -> list[SymbolDef]:
        """Every definition of a file, in source order."""
        with self._lock:
            return [s for s, _, _ in queries.file_defs(self._conn, path) if s.kind != "impl"]

    def outline(self, path: str) -> list[SymbolDef]:
        """A file's shape: definitions not nested in functions, signatures only (no docs)."""
        out: list[SymbolDef] = []
        open_functions: list[int] = []
        for symbol in self.symbols_in(path):
            while open_functions and open_functions[-1] < symbol.start_line:
                open_functions.pop()
            if open_functions:
                continue
            out.append(SymbolDef(symbol.path, symbol.name, symbol.qualname, symbol.kind,
                                 symbol.language, symbol.start_line, symbol.end_line,
                                 symbol.signature, ""))
            if symbol.kind in ("function", "method"):
                open_functions.append(symbol.end_line)
        return out

    def identifiers(self, path: str) -> set[str]:
        """Names a file references or defines."""
        with self._lock:
            return queries.identifiers(self._conn, path)

    def file_graph(self) -> dict[str, dict[str, float]]:
        """File -> file -> weight: imports plus shared identifiers (for PageRank)."""
        with self._lock:
            self._fresh_caches()
            if self._graph is None:
                self._graph = IdentifierGraph(self._conn)
            graph = self._graph.by_path()
            for src, targets in self._import_graph().items():
                row = graph.setdefault(src, {})
                for target in targets:
                    row[target] = row.get(target, 0.0) + _IMPORT_WEIGHT
            return graph

    # -- watching and lifetime ------------------------------------------------------------
    def start_watching(self) -> None:
        """Follow external changes to the workspace (batched) until ``stop_watching``."""
        from context.index.watch import Watcher

        with self._lock:
            if self._watcher is None:
                watcher = Watcher(self, self._walker)
                if watcher.start():
                    self._watcher = watcher

    def stop_watching(self) -> None:
        with self._lock:
            watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Wait until the watcher has applied every change it saw (for tools and tests)."""
        watcher = self._watcher
        return True if watcher is None else bool(watcher.wait_idle(timeout_s))

    def close(self) -> None:
        """Stop watching and close the store."""
        self.stop_watching()
        with self._lock:
            try:
                self._conn.close()
            except sqlite3.Error as exc:
                log.warning("closing the index store failed: %s", exc)

    def __enter__(self) -> WorkspaceIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

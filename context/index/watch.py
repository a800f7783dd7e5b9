"""A watchdog observer that feeds external changes to the index in batches.

Events are collected until the workspace has been quiet for a moment (or a batch has waited
long enough), then applied at once: a few files are re-read one by one; directory moves and
deletes, ``.gitignore`` edits and large bursts (a ``git checkout`` of thousands of files) run a
full refresh, which re-reads only what changed. Deleted and renamed files leave nothing behind.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from context.index.walk import VENDORED_DIRS, Walker

if TYPE_CHECKING:
    from context.index.workspace import WorkspaceIndex

log = logging.getLogger(__name__)

__all__ = ["Watcher"]

QUIET_S = 0.2
MAX_WAIT_S = 2.0
FULL_REFRESH_OVER = 300
_IGNORED_EVENTS = frozenset({"opened", "closed", "closed_no_write"})


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in _IGNORED_EVENTS:
            return
        paths = [event.src_path]
        if getattr(event, "dest_path", ""):
            paths.append(event.dest_path)
        for raw in paths:
            path = os.fsdecode(raw)
            self.watcher.note(path, event.is_directory and event.event_type != "modified")


class Watcher:
    """Owns the observer and the thread that applies batches to a ``WorkspaceIndex``."""

    def __init__(self, index: WorkspaceIndex, walker: Walker) -> None:
        self.index = index
        self.walker = walker
        self.root = index.root
        self._cond = threading.Condition()
        self._pending: set[str] = set()
        self._full = False
        self._busy = False
        self._first_at = 0.0
        self._last_at = 0.0
        self._stopping = False
        self._observer = Observer()
        self._handler = _Handler(self)
        self._watched: set[str] = set()
        self._thread = threading.Thread(target=self._loop, name="codeflow-index-watch",
                                        daemon=True)

    def start(self) -> bool:
        """Start observing; False (logged) when the OS refuses (e.g. inotify watch limit).

        The root is watched on its own and each top-level folder recursively, except vendored
        ones (`.git`, `node_modules`, `.venv`, ...): their churn would overflow the OS queue.
        """
        try:
            self._observer.schedule(self._handler, str(self.root), recursive=False)
            for entry in os.scandir(self.root):
                if entry.is_dir(follow_symlinks=False) and entry.name not in VENDORED_DIRS:
                    self._watch_dir(entry.path)
            self._observer.start()
        except OSError as exc:
            log.warning("cannot watch %s for changes (%s); the index refreshes only on request",
                        self.root, exc)
            return False
        self._thread.start()
        return True

    def _watch_dir(self, path: str) -> None:
        """Watch one top-level folder recursively (once)."""
        if path not in self._watched:
            self._watched.add(path)
            self._observer.schedule(self._handler, path, recursive=True)

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._observer.is_alive():
            self._observer.stop()
            self._observer.join(timeout=5)
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def note(self, abs_path: str, structural: bool) -> None:
        """Record one changed path (called on the observer's thread)."""
        try:
            rel = Path(abs_path).relative_to(self.root).as_posix()
        except ValueError:
            return
        parts = rel.split("/")
        if rel == "." or any(p in VENDORED_DIRS for p in parts):
            return
        if structural and len(parts) == 1 and os.path.isdir(abs_path):
            try:  # a new top-level folder: watch it too
                self._watch_dir(abs_path)
            except OSError as exc:
                log.warning("cannot watch %s (%s)", abs_path, exc)
        with self._cond:
            now = time.monotonic()
            if not self._pending and not self._full:
                self._first_at = now
            self._last_at = now
            if structural or parts[-1] == ".gitignore":
                self._full = True
            else:
                self._pending.add(rel)
            self._cond.notify_all()

    def _take(self) -> tuple[set[str], bool] | None:
        with self._cond:
            while not self._stopping:
                if self._pending or self._full:
                    now = time.monotonic()
                    quiet = now - self._last_at >= QUIET_S
                    waited = now - self._first_at >= MAX_WAIT_S
                    if quiet or waited:
                        batch, full = self._pending, self._full
                        self._pending, self._full = set(), False
                        self._busy = True
                        return batch, full
                    self._cond.wait(QUIET_S / 2)
                else:
                    self._cond.wait()
            return None

    def _loop(self) -> None:
        while True:
            taken = self._take()
            if taken is None:
                return
            paths, full = taken
            try:
                self._apply(paths, full)
            except (sqlite3.Error, OSError) as exc:
                log.warning("applying %d file changes to the index failed: %s", len(paths), exc)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _apply(self, paths: set[str], full: bool) -> None:
        if full or len(paths) > FULL_REFRESH_OVER:
            self.walker.gitignore.clear()
            stats = self.index.refresh()
            log.info("index refreshed after external changes: %d parsed, %d removed",
                     stats.parsed, stats.removed)
            return
        self.index.reindex_paths(sorted(paths))

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until no change is pending or being applied; False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._pending or self._full or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

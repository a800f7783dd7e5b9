"""Blame of HEAD's version of a file, computed once per (HEAD, path) and sliced per region.

A whole-file ``git blame --porcelain`` of a long-lived file walks its whole history (seconds for
a 10K-line file with thousands of commits), so it is bounded: the walk stops at the
``max_commits``-th newest commit that touched the file (``bound``, found in the history store);
lines older than that are left out (git blames them on the boundary). It runs once per
(HEAD, path), off the request path (``History.warm_blame``), and every cursor region is a slice
of it. A new HEAD (a commit) is blamed incrementally when a blame of an ancestor is cached:
``git blame OLD..NEW`` walks only the new commits, and the lines it leaves on the boundary
(``OLD``) take OLD's blame of the line they were there. The bound is not moved then: lines
blamed before stay (a whole run would leave out those older than the new bound).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace

from .gitcli import Git, GitError
from .parse import BlameLine, parse_blame

log = logging.getLogger(__name__)

__all__ = ["BlameCache"]


@dataclass(frozen=True)
class _Key:
    head: str
    path: str


class BlameCache:
    """Runs and caches whole-file blames of HEAD's version of files, keyed by (HEAD, path).

    HEAD's blob of a path is fixed by (HEAD, path), so the key is the (HEAD, path, blob) key
    without reading the blob. Uncommitted edits never invalidate it: the caller maps work tree
    lines to HEAD lines through the uncommitted hunks first. Concurrent callers for one key
    share one ``git blame``.
    """

    def __init__(self, git: Git, capacity: int = 32, prefix: str = "") -> None:
        self.git = git
        self.prefix = prefix  # the workspace's dir in the repository ("" or ending with "/")
        self.capacity = capacity
        self.runs = 0
        self.incremental_runs = 0
        self._cache: OrderedDict[_Key, dict[int, BlameLine]] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[_Key, threading.Lock] = {}

    def cached(self, head: str, path: str) -> dict[int, BlameLine] | None:
        """The file's blame if it is already computed for this HEAD."""
        with self._lock:
            return self._cache.get(_Key(head, path))

    def file_lines(self, head: str, path: str, bound: str | None = None) -> dict[int, BlameLine]:
        """Blame of HEAD's version of ``path``, by 1-based line (lines older than ``bound``,
        a commit, are left out)."""
        key = _Key(head, path)
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            found = self.cached(head, path)
            if found is None:
                found = self._incremental(head, path)
            if found is None:
                found = self._run(head, path, bound)
                with self._lock:
                    self._cache[key] = found
                    while len(self._cache) > self.capacity:
                        self._cache.popitem(last=False)
            with self._lock:
                self._key_locks.pop(key, None)
        return found

    def _run(self, head: str, path: str, bound: str | None) -> dict[int, BlameLine]:
        self.runs += 1
        rev = f"{bound}..{head}" if bound else head
        try:
            out = self.git.run(["blame", "--porcelain", rev, "--", path])
        except GitError as exc:
            log.info("history: blame of %s failed: %s", path, exc)
            return {}
        lines = parse_blame(out.decode("utf-8", "replace"))
        return {b.final_line: b for b in lines if b.sha != bound}

    def _ancestor_blame(self, head: str, path: str) -> tuple[str, dict[int, BlameLine]] | None:
        """The newest cached blame of ``path`` at another HEAD, if any."""
        with self._lock:
            for key in reversed(self._cache):
                if key.path == path and key.head != head and self._cache[key]:
                    return key.head, self._cache[key]
        return None

    def _incremental(self, head: str, path: str) -> dict[int, BlameLine] | None:
        """HEAD's blame from a cached blame of an ancestor and ``git blame OLD..HEAD``; None
        when there is none, or when a line's origin cannot be read off OLD's blame (a line
        that came through a merge of older history, or a file renamed since OLD)."""
        found = self._ancestor_blame(head, path)
        if found is None:
            return None
        old_head, old = found
        if not self.git.is_ancestor(old_head, head):
            return None
        try:
            out = self.git.run(["blame", "--porcelain", f"{old_head}..{head}", "--", path])
        except GitError as exc:
            log.info("history: incremental blame of %s failed: %s", path, exc)
            return None
        self.runs += 1
        self.incremental_runs += 1
        lines: dict[int, BlameLine] = {}
        for b in parse_blame(out.decode("utf-8", "replace")):
            if not b.boundary:
                lines[b.final_line] = b
                continue
            if b.sha != old_head or (b.orig_path and b.orig_path != self.prefix + path):
                return None
            before = old.get(b.orig_line)
            if before is not None:  # absent: older than the bound of OLD's blame
                lines[b.final_line] = replace(before, final_line=b.final_line)
        return lines

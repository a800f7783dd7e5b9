"""Blame of HEAD's version of a file, cached by (HEAD, path).

``git blame --porcelain HEAD`` runs once per (HEAD, file) for files up to ``whole_file_lines``
lines and the answer is sliced for each cursor region; longer files are blamed per range.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass

from .gitcli import Git, GitError
from .parse import BlameLine, parse_blame

log = logging.getLogger(__name__)

__all__ = ["BlameCache"]


@dataclass(frozen=True)
class _Key:
    head: str
    path: str
    span: tuple[int, int] | None


class BlameCache:
    """Runs and caches blames of HEAD's version of files, keyed by (HEAD, path[, span]).

    HEAD's blob of a path is fixed by (HEAD, path), so the key is the (HEAD, path, blob) key
    without reading the blob. Uncommitted edits never invalidate it: the caller maps work tree
    lines to HEAD lines through the uncommitted hunks first.
    """

    def __init__(self, git: Git, capacity: int = 64, whole_file_lines: int = 5000) -> None:
        self.git = git
        self.capacity = capacity
        self.whole_file_lines = whole_file_lines
        self._cache: OrderedDict[_Key, dict[int, BlameLine]] = OrderedDict()
        self._lock = threading.Lock()

    def head_lines(
        self, head: str, path: str, start: int, end: int, file_lines: int
    ) -> dict[int, BlameLine]:
        """Blame of HEAD's lines ``start..end`` (1-based) of ``path``, by line number.

        Files up to ``whole_file_lines`` lines (``file_lines``, the work tree's count) are
        blamed whole once; longer ones per range.
        """
        whole = file_lines <= self.whole_file_lines
        key = _Key(head, path, None if whole else (start, end))
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
        found = self._run(head, path, None if whole else (start, end))
        with self._lock:
            self._cache[key] = found
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        return found

    def _run(self, head: str, path: str, span: tuple[int, int] | None) -> dict[int, BlameLine]:
        args = ["blame", "--porcelain"]
        if span is not None:
            args.append(f"-L{span[0]},{span[1]}")
        try:
            out = self.git.run([*args, head, "--", path])
        except GitError as exc:
            log.info("history: blame of %s failed: %s", path, exc)
            return {}
        return {b.final_line: b for b in parse_blame(out.decode("utf-8", "replace"))}

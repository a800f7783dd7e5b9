"""Blame of the current file (work tree version), cached by (HEAD, path, blob id).

``git blame --porcelain`` runs once per file version for files up to ``whole_file_lines``
lines and the answer is sliced for each cursor region; longer files are blamed per range.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from dataclasses import dataclass

from .gitcli import Git, GitError
from .parse import BlameLine, parse_blame

log = logging.getLogger(__name__)

__all__ = ["BlameCache", "blob_id"]


def blob_id(data: bytes) -> str:
    """The id git gives to a blob with this content."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass(frozen=True)
class _Key:
    head: str
    path: str
    blob: str
    span: tuple[int, int] | None


class BlameCache:
    """Runs and caches blames; ``lines`` answers 1-based inclusive ranges."""

    def __init__(self, git: Git, capacity: int = 64, whole_file_lines: int = 5000) -> None:
        self.git = git
        self.capacity = capacity
        self.whole_file_lines = whole_file_lines
        self._cache: OrderedDict[_Key, list[BlameLine]] = OrderedDict()

    def lines(self, head: str, path: str, data: bytes, start: int, end: int) -> list[BlameLine]:
        """Blame lines ``start..end`` (1-based, clamped to the file) of the work tree file."""
        total = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
        end = min(end, total)
        if start > end:
            return []
        whole = total <= self.whole_file_lines
        key = _Key(head, path, blob_id(data), None if whole else (start, end))
        found = self._cache.get(key)
        if found is None:
            found = self._run(path, None if whole else (start, end))
            self._cache[key] = found
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        return [b for b in found if start <= b.final_line <= end]

    def _run(self, path: str, span: tuple[int, int] | None) -> list[BlameLine]:
        args = ["blame", "--porcelain"]
        if span is not None:
            args.append(f"-L{span[0]},{span[1]}")
        try:
            out = self.git.run([*args, "--", path])
        except GitError as exc:
            log.info("history: blame of %s failed: %s", path, exc)
            return []
        return parse_blame(out.decode("utf-8", "replace"))

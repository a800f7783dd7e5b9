"""Identifier positions on demand, for ``WorkspaceIndex.references``.

A cold index stores only how often each file uses each name (``idx_refs``); where the uses are is
found again when a ``references`` query needs it, from the few files (in path order, bounded by
the query's limit) whose stored names include the one asked for. An open buffer already has its
positions (``BufferExtractor`` keeps them). A file on disk is first searched as bytes: every
occurrence of the name is a substring match, so when the file still has its indexed content,
does not define the name, and the name occurs exactly as often as the index counted, the
matches are the occurrences (no parse). Otherwise it is parsed, once per content digest, and its
positions kept in an LRU cache.
"""

from __future__ import annotations

import logging
from array import array
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tree_sitter

from context.index.extract import Columns, content_hash, ensure_utf8, ref_positions

log = logging.getLogger(__name__)

__all__ = ["CACHE_FILES", "RefPositions"]

CACHE_FILES = 512  # a few MB: positions of ~600 occurrences per file on average
CACHE_MATCHES = 4096  # (file, name) answers of the byte search

# name -> packed (line, col) pairs of one file
Positions = dict[str, bytes]


class RefPositions:
    """Positions of identifiers per file: from open buffers, else from a byte search of the
    file on disk where that is exact, else from parsing it (both kept in LRU caches).

    ``buffered(path)`` returns an open buffer's (digest, positions) or None; ``parser(language)``
    returns a parser this thread may use. Not thread-safe: the caller holds its lock.
    """

    def __init__(
        self,
        root: Path,
        max_file_bytes: int,
        buffered: Callable[[str], tuple[str, Positions] | None],
        parser: Callable[[str], tree_sitter.Parser],
        capacity: int = CACHE_FILES,
    ) -> None:
        self.root = root
        self.max_file_bytes = max_file_bytes
        self._buffered = buffered
        self._parser = parser
        self._capacity = capacity
        self._cache: OrderedDict[tuple[str, str], Positions] = OrderedDict()
        self._matches: OrderedDict[tuple[str, str, str], bytes] = OrderedDict()
        self.parsed = 0  # files parsed so far (for tests and benchmarks)
        self.matched = 0  # files answered by the byte search, without a parse

    def of(self, path: str, language: str, digest: str, name: str, count: int,
           defined: bool) -> bytes:
        """Packed (line, col)s of ``name`` in ``path`` as indexed with ``digest``, where the
        index counted ``count`` occurrences and ``defined`` says whether the file defines a
        symbol of that name (empty if the file cannot be read)."""
        buffer = self._buffered(path)
        if buffer is not None and buffer[0] == digest:
            return buffer[1].get(name, b"")
        found = _lru_get(self._cache, (path, digest))
        if found is not None:
            return found.get(name, b"")
        matched = _lru_get(self._matches, (path, digest, name))
        if matched is not None:
            return matched
        data = self._read(path)
        if data is None:
            return b""
        if name and not defined and content_hash(data) == digest:
            matched = _matches(data, name.encode("utf-8"), count)
            if matched is not None:
                self.matched += 1
                _lru_put(self._matches, (path, digest, name), matched, CACHE_MATCHES)
                return matched
        found = self._parse(data, language)
        _lru_put(self._cache, (path, digest), found, self._capacity)
        return found.get(name, b"")

    def clear(self) -> None:
        self._cache.clear()
        self._matches.clear()

    def _read(self, path: str) -> bytes | None:
        try:
            with open(self.root / path, "rb") as f:
                data = f.read(self.max_file_bytes + 1)
        except OSError as exc:
            log.info("references: cannot read %s (%s)", path, exc)
            return None
        if len(data) > self.max_file_bytes or b"\0" in data:
            return None
        return data

    def _parse(self, data: bytes, language: str) -> Positions:
        data, _ = ensure_utf8(data)
        self.parsed += 1
        return ref_positions(language, data, self._parser(language))


def _lru_get(cache: OrderedDict, key: tuple) -> Any:
    value = cache.get(key)
    if value is not None:
        cache.move_to_end(key)
    return value


def _lru_put(cache: OrderedDict, key: tuple, value: object, capacity: int) -> None:
    cache[key] = value
    if len(cache) > capacity:
        cache.popitem(last=False)


def _matches(data: bytes, name: bytes, count: int) -> bytes | None:
    """The packed (line, col)s of the (overlapping) byte matches of ``name`` when there are
    exactly ``count`` of them, else None. Every identifier occurrence is a match, so equal
    numbers mean the matches are exactly the occurrences (in a file that defines no symbol of
    that name: definitions' own names are matches but not occurrences)."""
    offsets: list[int] = []
    at = data.find(name)
    while at >= 0:
        if len(offsets) == count:
            return None
        offsets.append(at)
        at = data.find(name, at + 1)
    if len(offsets) != count:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None  # the index saw the text with replacements: let the parse decide
    cols = Columns(data)
    packed = array("I")
    line, line_start, previous = 0, 0, 0
    for at in offsets:
        newlines = data.count(b"\n", previous, at)
        if newlines:
            line += newlines
            line_start = data.rfind(b"\n", previous, at) + 1
        previous = at
        packed.append(line)
        packed.append(cols.col(line, at - line_start))
    return packed.tobytes()

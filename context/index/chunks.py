"""Extraction for open buffers, chunk by chunk, so a keystroke costs little.

A buffer is cut into chunks: top-level nodes (with their leading comments), and the members of
large classes and other bodies (two levels deep). A chunk's facts are kept with lines relative to
its first line and keyed by its text and enclosing scope, so after an edit only the chunk that
changed is extracted again; the others are reused and shifted. The result equals
``extract.extract`` on the whole text (the tests check this over random edits).
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

import tree_sitter

from context.index.extract import Columns, DefRow, Facts, ImportRow, facts_in
from context.index.model import SCOPE_KINDS

__all__ = ["BufferExtractor"]

# Nodes that belong with the node after them (leading comments, attributes).
_LEADING = frozenset({"comment", "line_comment", "block_comment", "attribute_item", "decorator"})
# Wrappers whose inner definition carries the body.
_UNWRAP = {"decorated_definition": "definition", "export_statement": "declaration",
           "template_declaration": ""}
_SPLIT_BYTES = 2048
_MAX_DEPTH = 2
_TOP = 1 << 62

# (qualname, kind) of the scope enclosing a chunk, or None at the top level
_Seed = tuple[str, str] | None


@dataclass(frozen=True)
class _Chunk:
    """Facts of a run of sibling nodes; lines relative to the chunk's first line."""

    defs: tuple[DefRow, ...]
    refs: tuple[tuple[str, bytes], ...]
    imports: tuple[ImportRow, ...]


def _groups(parent: tree_sitter.Node) -> list[tuple[int, int, int, tree_sitter.Node | None]]:
    """(start_byte, end_byte, start_row, node) of a node's children, each with the leading
    comments/attributes before it (a run of trailing comments has node None)."""
    groups: list[tuple[int, int, int, tree_sitter.Node | None]] = []
    pending: tuple[int, int] | None = None
    for child in parent.children:
        start, row = (pending if pending is not None else (child.start_byte, child.start_point[0]))
        if child.type in _LEADING:
            pending = (start, row)
            continue
        pending = None
        groups.append((start, child.end_byte, row, child))
    if pending is not None:
        last = parent.children[-1]
        groups.append((pending[0], last.end_byte, pending[1], None))
    return groups


def _unwrap(node: tree_sitter.Node) -> tree_sitter.Node:
    for _ in range(3):
        if node.type not in _UNWRAP:
            break
        field = _UNWRAP[node.type]
        inner = node.child_by_field_name(field) if field else node.named_child(
            node.named_child_count - 1)
        if inner is None:
            break
        node = inner
    return node


def _shift(blob: bytes, rows: int) -> array:
    values = array("I")
    values.frombytes(blob)
    if rows:
        values[0::2] = array("I", [v + rows for v in values[0::2]])
    return values


@dataclass(frozen=True)
class _Placed:
    """A chunk's facts at a given first row (absolute lines), reused while the row holds."""

    chunk: _Chunk
    row: int
    defs: tuple[DefRow, ...]
    refs: tuple[tuple[str, bytes], ...]
    imports: tuple[ImportRow, ...]


def _place(chunk: _Chunk, row: int) -> _Placed:
    return _Placed(
        chunk, row,
        tuple((d[0], d[1], d[2], d[3] + row, d[4], d[5] + row, *d[6:]) for d in chunk.defs),
        tuple((name, _shift(blob, row).tobytes() if row else blob) for name, blob in chunk.refs),
        tuple((i[0], i[1], i[2] + row, i[3]) for i in chunk.imports),
    )


@dataclass
class _Pass:
    """What one ``BufferExtractor.facts`` call accumulates."""

    root: tree_sitter.Node
    data: bytes
    cols: Columns
    cache: dict[tuple, _Placed]
    defs: list[DefRow]
    imports: list[ImportRow]
    refs: dict[str, list[bytes]]


class BufferExtractor:
    """Extraction for an open buffer: chunks (top-level nodes, and the members of large classes
    and other bodies) whose text did not change between edits reuse their facts, so a keystroke
    re-extracts only the chunk it touched (the parse itself is incremental through
    ``Tree.edit``). The result equals ``extract`` on the whole text."""

    def __init__(self, language: str, split_bytes: int = _SPLIT_BYTES) -> None:
        self.language = language
        self.split_bytes = split_bytes
        self._cache: dict[tuple, _Placed] = {}

    def facts(self, tree: tree_sitter.Tree, data: bytes) -> Facts:
        run = _Pass(tree.root_node, data, Columns(data), {}, [], [], {})
        self._walk(run, tree.root_node, None, 0)
        self._cache = run.cache
        merged = {name: b"".join(blobs) for name, blobs in run.refs.items()}
        return Facts(tuple(run.defs), merged, tuple(run.imports), data.count(b"\n") + 1)

    def _walk(self, run: _Pass, parent: tree_sitter.Node, seed: _Seed, depth: int) -> None:
        for start, end, row, node in _groups(parent):
            container = _unwrap(node) if node is not None else None
            body = container.child_by_field_name("body") if container is not None else None
            if (container is None or body is None or depth >= _MAX_DEPTH
                    or end - start <= self.split_bytes or body.named_child_count < 2
                    or body.start_byte <= start):
                self._piece(run, start, end, row, seed, ())
                continue
            first = body.named_child(0)
            extra = (container.end_point[0] - row, container.end_point[1],
                     first.text if first is not None else b"")
            header = self._piece(run, start, body.start_byte, row, seed, extra)
            inner = next(((d[1], d[2]) for d in header.chunk.defs
                          if d[2] in SCOPE_KINDS and d[3] == container.start_point[0] - row),
                         seed)
            self._walk(run, body, inner, depth + 1)
            if body.end_byte < end:
                self._piece(run, body.end_byte, end, body.end_point[0], seed, ())

    def _piece(self, run: _Pass, start: int, end: int, row: int, seed: _Seed,
               extra: tuple) -> _Placed:
        data = run.data
        line_start = data.rfind(b"\n", 0, start) + 1
        key = (data[line_start:start], data[start:end], seed, extra)
        placed = run.cache.get(key) or self._cache.get(key)
        if placed is None:
            placed = _place(self._extract(run, (start, end), row, seed), row)
        elif placed.row != row:
            placed = _place(placed.chunk, row)
        run.cache[key] = placed
        run.defs.extend(placed.defs)
        run.imports.extend(placed.imports)
        for name, blob in placed.refs:
            run.refs.setdefault(name, []).append(blob)
        return placed

    def _extract(self, run: _Pass, span: tuple[int, int], row: int, seed: _Seed) -> _Chunk:
        stack = [(_TOP, seed[0], seed[1])] if seed is not None else []
        defs, refs, imports = facts_in(self.language, run.root, run.data, run.cols, span, stack)
        return _Chunk(
            tuple((d[0], d[1], d[2], d[3] - row, d[4], d[5] - row, *d[6:]) for d in defs),
            tuple((name, _shift(blob, -row).tobytes() if row else blob)
                  for name, blob in refs.items()),
            tuple((i[0], i[1], i[2] - row, i[3]) for i in imports),
        )

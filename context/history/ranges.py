"""Line-range arithmetic over diff hunks: which hunks touch a range, and where it was before.

Lines here are 1-based inclusive, as in git's hunk headers. A hunk is broken into change
blocks (a run of removed lines followed by a run of added lines); a range is mapped from the
new side of a diff to the old side block by block. A line that a block replaced maps to the
lines it replaced, so the history of an edited line continues through its earlier versions;
lines that a block only added have no earlier version.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .values import Hunk

__all__ = ["Block", "blocks_of", "line_origins", "map_range_back", "touching"]


@dataclass(frozen=True)
class Block:
    """``removed`` old lines from ``old_first`` were replaced by ``added`` new lines from
    ``new_first``. For a pure insertion ``old_first`` is the old line after the insertion point;
    for a pure deletion ``new_first`` is the new line after it."""

    old_first: int
    removed: int
    new_first: int
    added: int


@functools.lru_cache(maxsize=16384)
def blocks_of(hunk: Hunk) -> tuple[Block, ...]:
    """The change blocks of one hunk, in order (memoised: hunks are immutable values)."""
    old_no = hunk.old_start + (1 if hunk.old_lines == 0 else 0)
    new_no = hunk.new_start + (1 if hunk.new_lines == 0 else 0)
    blocks: list[Block] = []
    start: tuple[int, int] | None = None
    removed = added = 0
    for line in hunk.text.split("\n")[1:]:
        tag = line[:1]
        if tag in ("-", "+"):
            if start is None:
                start = (old_no, new_no)
                removed = added = 0
            if tag == "-":
                if added:  # a "-" after "+" starts a new block
                    blocks.append(Block(start[0], removed, start[1], added))
                    start = (old_no, new_no)
                    removed = added = 0
                removed += 1
                old_no += 1
            else:
                added += 1
                new_no += 1
            continue
        if start is not None:
            blocks.append(Block(start[0], removed, start[1], added))
            start = None
        if tag == " ":
            old_no += 1
            new_no += 1
    if start is not None:
        blocks.append(Block(start[0], removed, start[1], added))
    return tuple(blocks)


def _all_blocks(hunks: Iterable[Hunk]) -> list[Block]:
    blocks = [b for h in hunks if not h.is_summary for b in blocks_of(h)]
    blocks.sort(key=lambda b: b.new_first)
    return blocks


def _block_touches(block: Block, start: int, end: int) -> bool:
    if block.added:
        return block.new_first <= end and block.new_first + block.added - 1 >= start
    return start <= block.new_first <= end + 1


def touching(hunks: Sequence[Hunk], start: int, end: int) -> list[Hunk]:
    """The hunks whose changed lines overlap new-side lines ``start..end``.

    A pure deletion touches the range when it sits inside it or right at its edges.
    """
    return [
        h
        for h in hunks
        if not h.is_summary and any(_block_touches(b, start, end) for b in blocks_of(h))
    ]


def _map_point(blocks: list[Block], line: int, first: bool) -> int:
    delta = 0
    for b in blocks:
        if b.added and b.new_first <= line < b.new_first + b.added:
            if b.removed:
                return b.old_first if first else b.old_first + b.removed - 1
            return b.old_first if first else b.old_first - 1
        if b.new_first + b.added <= line:
            delta += b.added - b.removed
        else:
            break
    return line - delta


def map_range_back(hunks: Sequence[Hunk], start: int, end: int) -> tuple[int, int] | None:
    """Map new-side lines ``start..end`` to the old side of ``hunks``' diff.

    Returns None when every line of the range was added by the diff (it has no past).
    """
    blocks = _all_blocks(hunks)
    old_start = _map_point(blocks, start, True)
    old_end = _map_point(blocks, end, False)
    if old_start > old_end:
        return None
    return old_start, old_end


def line_origins(hunks: Sequence[Hunk], start: int, end: int) -> list[int | None]:
    """For each new-side line ``start..end``: its old-side line, or None if the diff added it."""
    blocks = _all_blocks(hunks)
    out: list[int | None] = []
    for line in range(start, end + 1):
        delta = 0
        origin: int | None = None
        for b in blocks:
            if b.added and b.new_first <= line < b.new_first + b.added:
                break
            if b.new_first + b.added <= line:
                delta += b.added - b.removed
            else:
                origin = line - delta
                break
        else:
            origin = line - delta
        out.append(origin)
    return out

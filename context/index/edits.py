"""The single edit that turns one text into another, in the form ``Tree.edit`` wants.

The editor sends whole buffers (or we only keep whole buffers), so the edit is recovered from
the common prefix and suffix of the old and new bytes: one changed region, which is all
incremental parsing needs to reuse the untouched parts of the tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import AnyStr

__all__ = ["TextEdit", "common_prefix", "common_suffix", "diff_edit"]


@dataclass(frozen=True)
class TextEdit:
    """Byte offsets and (row, byte column) points of one replaced region."""

    start_byte: int
    old_end_byte: int
    new_end_byte: int
    start_point: tuple[int, int]
    old_end_point: tuple[int, int]
    new_end_point: tuple[int, int]


def _point(data: bytes, offset: int) -> tuple[int, int]:
    row = data.count(b"\n", 0, offset)
    line_start = data.rfind(b"\n", 0, offset) + 1
    return row, offset - line_start


def common_prefix(a: AnyStr, b: AnyStr) -> int:
    """Length of the common prefix of two texts (str or bytes)."""
    n = min(len(a), len(b))
    lo, hi = 0, n
    while lo < hi:  # binary search on slice equality: memcmp does the work
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def common_suffix(a: AnyStr, b: AnyStr, limit: int) -> int:
    """Length of the common suffix of two texts, at most ``limit``."""
    lo, hi = 0, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid:] == b[len(b) - mid:]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def diff_edit(old: bytes, new: bytes) -> TextEdit | None:
    """The edit from ``old`` to ``new``, or None when they are equal."""
    if old == new:
        return None
    start = common_prefix(old, new)
    suffix = common_suffix(old, new, min(len(old), len(new)) - start)
    old_end, new_end = len(old) - suffix, len(new) - suffix
    return TextEdit(start, old_end, new_end, _point(old, start), _point(old, old_end),
                    _point(new, new_end))

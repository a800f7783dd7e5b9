"""``EditRing``: the editor's own recent edits, newest last, merged while they are adjacent.

The server feeds it from ``didChange`` (``line_edit`` turns an LSP range change into the
whole-line edit that ``record`` takes). Lines are 0-based. ``record`` takes whole lines in
either of two conventions, chosen per call: every non-empty text ends with a newline ("" = no
lines; what ``line_edit`` returns), or the texts are lines joined by newlines without the last
one ("" = one empty line; what a plain prefix/suffix diff of two buffers gives). ``RecentEdit``
texts always end each line with a newline. An edit that lands on or next to the lines the
newest entry left behind (same file, within ``merge_window_s``) is merged into it, so typing
a function yields one entry, not one per keystroke. Older entries of the same file below an
edit are shifted so that their line numbers stay current. Thread-safe.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, replace

from .values import RecentEdit

__all__ = ["EditRing", "line_edit"]


def _split_pair(old: str, new: str) -> tuple[list[str], list[str]]:
    """Split an edit's texts into lines, in whichever of the two conventions the call uses."""
    terminated = all(not t or t.endswith("\n") for t in (old, new))
    if not terminated:  # whole lines without the last newline: "" is one empty line
        return old.split("\n"), new.split("\n")
    return old.split("\n")[:-1] if old else [], new.split("\n")[:-1] if new else []


def _text(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


@dataclass(frozen=True)
class _Entry:
    path: str
    start: int
    before: tuple[str, ...]
    after: tuple[str, ...]
    timestamp: float

    def recent(self) -> RecentEdit:
        end = self.start + len(self.after) - 1
        return RecentEdit(
            self.path,
            self.start,
            end,
            _text(list(self.before)),
            _text(list(self.after)),
            self.timestamp,
        )


def line_edit(
    old_doc: str,
    start_line: int,
    start_char: int,
    end_line: int,
    end_char: int,
    new_text: str,
) -> tuple[int, str, str]:
    """Turn a character-range change of ``old_doc`` into ``(start_line, old_text, new_text)``
    over whole lines, ready for ``EditRing.record``. Columns are code points."""
    lines = old_doc.split("\n")
    start_line = max(0, min(start_line, len(lines) - 1))
    end_line = max(start_line, min(end_line, len(lines) - 1))
    old = lines[start_line : end_line + 1]
    head = old[0][:start_char]
    tail = old[-1][end_char:]
    new = (head + new_text + tail).split("\n")
    return start_line, _text(old), _text(new)


class EditRing:
    """A bounded ring of recent edits across files, fed by the editor."""

    def __init__(self, capacity: int = 256, merge_window_s: float = 60.0) -> None:
        self.capacity = capacity
        self.merge_window_s = merge_window_s
        self._entries: deque[_Entry] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def record(
        self,
        path: str,
        start_line: int,
        old_text: str,
        new_text: str,
        timestamp: float | None = None,
    ) -> None:
        """Lines ``start_line..`` holding ``old_text`` were replaced by ``new_text``."""
        if old_text == new_text or start_line < 0:
            return
        when = time.time() if timestamp is None else timestamp
        before, after = _split_pair(old_text, new_text)
        edit = _Entry(path, start_line, tuple(before), tuple(after), when)
        with self._lock:
            last = self._entries[-1] if self._entries else None
            if last is not None and self._adjacent(last, edit):
                self._entries.pop()
                self._shift_older(edit)
                edit = _merge(last, edit)
                if edit.before == edit.after:
                    return
            else:
                self._shift_older(edit)
            self._entries.append(edit)

    def _adjacent(self, last: _Entry, edit: _Entry) -> bool:
        if last.path != edit.path or edit.timestamp - last.timestamp > self.merge_window_s:
            return False
        last_end = last.start + len(last.after)
        edit_end = edit.start + len(edit.before)
        return edit.start <= last_end and edit_end >= last.start

    def _shift_older(self, edit: _Entry) -> None:
        delta = len(edit.after) - len(edit.before)
        if not delta:
            return
        bottom = edit.start + len(edit.before)
        for i, entry in enumerate(self._entries):
            if entry.path == edit.path and entry.start >= bottom:
                self._entries[i] = replace(entry, start=entry.start + delta)

    def recent(
        self, limit: int = 20, path: str | None = None, since: float | None = None
    ) -> list[RecentEdit]:
        """The newest ``limit`` edits (optionally of one file, at or after ``since``)."""
        with self._lock:
            entries = list(self._entries)
        out: list[RecentEdit] = []
        for entry in reversed(entries):
            if path is not None and entry.path != path:
                continue
            if since is not None and entry.timestamp < since:
                continue
            out.append(entry.recent())
            if len(out) >= limit:
                break
        return out

    def clear(self, path: str | None = None) -> None:
        """Forget all edits, or those of one file (e.g. when it is closed or renamed)."""
        with self._lock:
            kept = [e for e in self._entries if path is not None and e.path != path]
            self._entries.clear()
            self._entries.extend(kept)


def _merge(last: _Entry, edit: _Entry) -> _Entry:
    """One entry for ``last`` followed by the touching or overlapping ``edit``."""
    last_end = last.start + len(last.after)  # exclusive, current coordinates
    edit_end = edit.start + len(edit.before)
    lo = min(last.start, edit.start)
    hi = max(last_end, edit_end)
    current = []
    for line_no in range(lo, hi):
        if last.start <= line_no < last_end:
            current.append(last.after[line_no - last.start])
        else:
            current.append(edit.before[line_no - edit.start])
    before = (
        list(edit.before[: max(0, last.start - edit.start)])
        + list(last.before)
        + list(edit.before[max(0, last_end - edit.start) :])
    )
    after = current[: edit.start - lo] + list(edit.after) + current[edit_end - lo :]
    return _Entry(last.path, lo, tuple(before), tuple(after), edit.timestamp)

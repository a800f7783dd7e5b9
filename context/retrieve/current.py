"""The current file around the cursor: enclosing headers, scope span, prefix/suffix cuts.

Works on the live buffer text (the index may lag behind a keystroke), by indentation, so it is
language-agnostic enough for Python and brace languages alike. Cuts are made at line boundaries
and quantised, so that the next keystroke usually cuts at the same line (KV-cache reuse).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .text import indent_of, lines_of

__all__ = [
    "Cursor",
    "cut_prefix",
    "cut_suffix",
    "enclosing_headers",
    "is_definition",
    "scope_span",
]

_DEF = re.compile(
    r"^\s*(?:export\s+|pub(?:\(\w+\))?\s+|public\s+|private\s+|protected\s+|static\s+)*"
    r"(?:async\s+def|def|class|function|fn|func|impl|struct|interface|enum|trait|module|namespace)\b"
)
_CLOSERS = (")", "]", "}", "#", "//", "/*", "*", "@", '"""', "'''")
_CONTINUATION = re.compile(r"^\s*(?:\{\s*$|where\b)")
"""Lines that continue a header rather than open a block: a brace on its own line, a Rust
``where`` clause (``fn f<T>(..)\nwhere\n    T: X,\n{``)."""


@dataclass(frozen=True)
class Cursor:
    """A position in a buffer split into lines (0-based line, code-point column)."""

    lines: tuple[str, ...]
    line: int
    character: int

    @classmethod
    def of(cls, text: str, line: int, character: int) -> Cursor:
        """Split ``text`` and clamp the position into it."""
        lines = tuple(lines_of(text)) or ("",)
        if text.endswith(("\n", "\r")):
            lines = lines + ("",)
        return cls.on(lines, line, character)

    @classmethod
    def on(cls, lines: tuple[str, ...], line: int, character: int) -> Cursor:
        """A cursor in already split ``lines`` (as ``of`` splits them), clamped into them."""
        line = max(0, min(line, len(lines) - 1))
        body = lines[line].rstrip("\r\n")
        return cls(lines, line, max(0, min(character, len(body))))

    @property
    def before(self) -> str:
        """Text of the cursor line before the cursor."""
        return self.lines[self.line][: self.character]

    @property
    def after(self) -> str:
        """Text of the cursor line from the cursor on (with its newline)."""
        return self.lines[self.line][self.character :]


def is_definition(line: str) -> bool:
    """True for a line that opens a function/class-like definition."""
    stripped = line.strip()
    if _DEF.match(line):
        return True
    return stripped.endswith("{") and "(" in stripped and not stripped.startswith(("if", "for"))


def _blank_level(cursor: Cursor) -> int:
    """The indentation a blank cursor line belongs to: the cursor's column, or deeper when the
    surrounding lines say so (a cursor at column 0 between two body lines is in the body)."""
    lines = cursor.lines
    prev = next((lines[i] for i in range(cursor.line - 1, -1, -1) if lines[i].strip()), "")
    nxt = next((lines[i] for i in range(cursor.line + 1, len(lines)) if lines[i].strip()), "")
    guess = indent_of(prev) + (4 if prev.rstrip().endswith((":", "{")) else 0)
    if nxt:
        guess = min(guess, indent_of(nxt))
    return max(cursor.character, guess)


def enclosing_headers(cursor: Cursor, definitions_only: bool = False) -> list[int]:
    """Lines of the blocks enclosing the cursor, outermost first (by indentation)."""
    line_text = cursor.lines[cursor.line]
    level = indent_of(line_text) if line_text.strip() else _blank_level(cursor)
    found: list[int] = []
    for i in range(cursor.line - 1, -1, -1):
        text = cursor.lines[i]
        if level == 0:
            break
        if not text.strip() or indent_of(text) >= level or \
                text.lstrip().startswith(_CLOSERS) or _CONTINUATION.match(text):
            continue
        level = indent_of(text)
        if not definitions_only or is_definition(text):
            found.append(i)
    return found[::-1]


def scope_span(cursor: Cursor) -> tuple[int, int] | None:
    """(first, last) line of the innermost definition enclosing the cursor, or None."""
    heads = enclosing_headers(cursor, definitions_only=True)
    if not heads:
        return None
    start = heads[-1]
    level = indent_of(cursor.lines[start])
    end = start
    for i in range(start + 1, len(cursor.lines)):
        text = cursor.lines[i]
        if text.strip() and indent_of(text) <= level and i > cursor.line:
            if not text.lstrip().startswith((")", "]", "}")):
                break
            end = i
            break
        if text.strip() or i <= cursor.line:
            end = i
    return start, max(end, cursor.line)


def cut_prefix(
    lines: Sequence[str], end: int, budget: int, count: Callable[[str], int], quantum: int = 16
) -> int:
    """First line of a prefix that ends before line ``end`` and costs at most ``budget``.

    The start is rounded up to a multiple of ``quantum`` lines (halved while it exceeds half
    the lines that fit) so it moves rarely while typing.
    """
    start, total = end, 0
    while start > 0:
        cost = count(lines[start - 1])
        if total + cost > budget:
            break
        total += cost
        start -= 1
    if start == 0:
        return 0
    while quantum > 1 and quantum > (end - start) // 2:
        quantum //= 2
    return min(end, -(-start // quantum) * quantum)


def cut_suffix(
    lines: Sequence[str], start: int, budget: int, count: Callable[[str], int], quantum: int = 8
) -> int:
    """One past the last line of a suffix that starts at line ``start`` and costs at most
    ``budget`` (rounded down to a multiple of ``quantum`` unless it reaches the end)."""
    stop, total = start, 0
    while stop < len(lines):
        cost = count(lines[stop])
        if total + cost > budget:
            break
        total += cost
        stop += 1
    if stop == len(lines):
        return stop
    return max(start, stop - stop % quantum)

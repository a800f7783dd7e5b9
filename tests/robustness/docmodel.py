"""The client's model of a document under LSP incremental sync (UTF-16 positions).

Written from the spec, independently of the server's line-based code, with the rules the server
is held to for positions a correct client would not send:

- lines end only at `\\n`, `\\r\\n` or `\\r` (a form feed, U+0085 or U+2028 is an ordinary char);
- a character past the end of its line means the end of the line (before its line ending);
- a line past the last line means the end of the document;
- a position inside a surrogate pair (between the two UTF-16 units of one astral character)
  means the position before that character;
- a range whose end comes before its start is read start-first (the two are swapped).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def lines_of(text: str) -> list[str]:
    """LSP lines of `text`, endings kept."""
    return _LINE.findall(text)


def body(line: str) -> str:
    """A line without its ending."""
    if line.endswith("\r\n"):
        return line[:-2]
    if line.endswith(("\n", "\r")):
        return line[:-1]
    return line


def units(text: str) -> int:
    """UTF-16 length."""
    return sum(2 if ord(c) > 0xFFFF else 1 for c in text)


def offset_of(text: str, line: int, character: int) -> int:
    """Code-point offset of an LSP (line, UTF-16 character) in `text`, with the rules above."""
    lines = lines_of(text)
    if line >= len(lines):
        return len(text)
    start = sum(len(x) for x in lines[:line])
    seen = 0
    for col, ch in enumerate(body(lines[line])):
        width = 2 if ord(ch) > 0xFFFF else 1
        if seen + width > character:
            return start + col
        seen += width
    return start + len(body(lines[line]))


def apply_change(text: str, change: dict[str, Any]) -> str:
    """Apply one `TextDocumentContentChangeEvent` (plain JSON) to `text`."""
    rng = change.get("range")
    if rng is None:
        return str(change["text"])
    a = offset_of(text, rng["start"]["line"], rng["start"]["character"])
    b = offset_of(text, rng["end"]["line"], rng["end"]["character"])
    a, b = min(a, b), max(a, b)
    return text[:a] + change["text"] + text[b:]


def end_position(text: str) -> tuple[int, int]:
    """The LSP position of the end of `text`."""
    lines = lines_of(text)
    if not lines:
        return 0, 0
    last = lines[-1]
    if body(last) != last:
        return len(lines), 0
    return len(lines) - 1, units(last)


@dataclass
class Doc:
    """One open document as the client sees it."""

    uri: str
    text: str
    version: int = 1

    def apply(self, changes: list[dict[str, Any]]) -> None:
        """Apply a didChange's content changes in order and bump the version."""
        for change in changes:
            self.text = apply_change(self.text, change)
        self.version += 1

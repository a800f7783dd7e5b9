"""A small lexer that finds brackets outside strings and comments, and bracket balance."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CLOSERS", "OPENERS", "Balance", "balance", "bracket_events", "code_part"]

OPENERS = "([{"
CLOSERS = ")]}"
PAIRS = {")": "(", "]": "[", "}": "{"}

_CHAR_LITERAL = re.compile(r"'(?:[^'\\\n]|\\[^'\n]{1,10})'")
_QUOTES = {
    "python": ('"', "'"),
    "javascript": ('"', "'", "`"),
    "typescript": ('"', "'", "`"),
    "tsx": ('"', "'", "`"),
    "go": ('"', "`"),
}
_CHAR_QUOTE_LANGUAGES = frozenset({"go", "rust", "java", "c", "cpp"})
_MULTILINE_QUOTES = frozenset({"`", '"""', "'''"})


@dataclass(frozen=True)
class Balance:
    """Bracket balance of a text: closers that match nothing and openers left open (positions)."""

    unmatched: tuple[int, ...]
    open: tuple[int, ...]


def _line_comment(language: str | None) -> str | None:
    return "#" if language == "python" else "//" if language else None


def _string_end(text: str, start: int, quote: str) -> int:
    """Index just past the string opened at ``start`` by ``quote`` (or where it breaks off)."""
    i = start + len(quote)
    multiline = quote in _MULTILINE_QUOTES
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text.startswith(quote, i):
            return i + len(quote)
        elif text[i] == "\n" and not multiline:
            return i
        else:
            i += 1
    return len(text)


def _skip(text: str, i: int, language: str | None) -> int:
    """If a string or comment starts at ``i``, the index past it; otherwise ``i``."""
    comment = _line_comment(language)
    if comment and text.startswith(comment, i):
        end = text.find("\n", i)
        return len(text) if end < 0 else end
    if language not in (None, "python") and text.startswith("/*", i):
        end = text.find("*/", i + 2)
        return len(text) if end < 0 else end + 2
    ch = text[i]
    if ch == "'" and language in _CHAR_QUOTE_LANGUAGES:
        match = _CHAR_LITERAL.match(text, i)
        return match.end() if match else i + 1
    if ch in _QUOTES.get(language or "", ('"', "'")):
        triple = ch * 3
        quote = triple if language == "python" and text.startswith(triple, i) else ch
        return _string_end(text, i, quote)
    return i


def bracket_events(text: str, language: str | None) -> list[tuple[int, str]]:
    """(index, bracket) for every bracket in ``text`` outside strings and comments."""
    events = []
    i = 0
    while i < len(text):
        after = _skip(text, i, language)
        if after != i:
            i = after
            continue
        if text[i] in OPENERS or text[i] in CLOSERS:
            events.append((i, text[i]))
        i += 1
    return events


def balance(text: str, language: str | None) -> Balance:
    """Unmatched closers and unclosed openers of ``text`` (a closer of the wrong kind matches
    nothing and leaves the opener open)."""
    stack: list[tuple[int, str]] = []
    unmatched: list[int] = []
    for index, ch in bracket_events(text, language):
        if ch in OPENERS:
            stack.append((index, ch))
        elif stack and stack[-1][1] == PAIRS[ch]:
            stack.pop()
        else:
            unmatched.append(index)
    return Balance(tuple(unmatched), tuple(index for index, _ in stack))


def code_part(line: str, language: str | None) -> str:
    """``line`` without a trailing line comment."""
    comment = _line_comment(language)
    i = 0
    while i < len(line):
        if comment and line.startswith(comment, i):
            return line[:i]
        after = _skip(line, i, language)
        i = after if after != i else i + 1
    return line

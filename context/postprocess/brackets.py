"""A regex lexer that finds brackets outside strings and comments, and bracket balance."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

__all__ = ["CLOSERS", "OPENERS", "Balance", "balance", "bracket_events", "code_part"]

OPENERS = "([{"
CLOSERS = ")]}"
PAIRS = {")": "(", "]": "[", "}": "{"}

_DOUBLE = r'"(?:[^"\\\n]|\\[\s\S])*"?'
_SINGLE = r"'(?:[^'\\\n]|\\[\s\S])*'?"
_CHAR = r"'(?:[^'\\\n]|\\[^'\n]{1,10})'"
_BLOCK = r"/\*[\s\S]*?(?:\*/|\Z)"
_SLASHES = r"(?P<c>//)[^\n]*"
_TOKENS = {
    "python": [r"(?P<c>\#)[^\n]*", r'"""[\s\S]*?(?:"""|\Z)', r"'''[\s\S]*?(?:'''|\Z)", _DOUBLE,
               _SINGLE],
    "javascript": [_SLASHES, _BLOCK, _DOUBLE, _SINGLE, r"`(?:[^`\\]|\\[\s\S])*`?"],
    "go": [_SLASHES, _BLOCK, _DOUBLE, r"`[^`]*`?", _CHAR],
    "c": [_SLASHES, _BLOCK, _DOUBLE, _CHAR],
    None: [_DOUBLE, _SINGLE],
}
_FAMILY = {"typescript": "javascript", "tsx": "javascript", "rust": "c", "java": "c", "cpp": "c"}


@dataclass(frozen=True)
class Balance:
    """Bracket balance of a text: closers that match nothing and openers left open (indices)."""

    unmatched: tuple[int, ...]
    open: tuple[int, ...]


@cache
def _lexer(language: str | None) -> re.Pattern[str]:
    family = _FAMILY.get(language or "", language)
    parts = _TOKENS.get(family, _TOKENS[None])
    return re.compile("|".join([*parts, r"(?P<b>[()\[\]{}])"]))


def bracket_events(text: str, language: str | None) -> list[tuple[int, str]]:
    """(index, bracket) for every bracket in ``text`` outside strings and comments."""
    return [(m.start(), m.group()) for m in _lexer(language).finditer(text) if m.group("b")]


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
    for match in _lexer(language).finditer(line):
        if "c" in match.groupdict() and match.group("c"):
            return line[: match.start()]
    return line

"""Small text helpers shared by the retrieval sources: identifiers, indentation, line spans."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

__all__ = [
    "KEYWORDS",
    "identifier_list",
    "identifiers",
    "indent_of",
    "jaccard",
    "join_lines",
    "lines_of",
]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

KEYWORDS = frozenset(
    """and as assert async await break case class const continue def del elif else except
    false finally fn for from func function global if impl import in is lambda let match mut
    new nonlocal none not null or package pass pub raise return self static struct super
    switch this true try type var while with yield int str bool float void char
    None True False""".split()
)
"""Words that say nothing about what code is about (kept out of queries and graphs)."""


LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def lines_of(text: str) -> list[str]:
    """Lines of ``text``, each keeping its newline (the last one may lack it). Lines end only
    at \\n, \\r\\n or \\r, as for LSP positions and Python's parser; ``str.splitlines`` would
    also break at \\f, \\v, \\x1c-\\x1e, \\x85, U+2028 and U+2029 and shift every line after."""
    return LINE.findall(text)


def identifier_list(text: str, min_len: int = 2) -> list[str]:
    """Identifiers in ``text`` in order of appearance, keywords dropped."""
    return [w for w in _IDENT.findall(text) if len(w) >= min_len and w not in KEYWORDS]


def identifiers(text: str, min_len: int = 2) -> frozenset[str]:
    """The set of identifiers in ``text``, keywords dropped."""
    return frozenset(identifier_list(text, min_len))


def indent_of(line: str) -> int:
    """Width of the leading whitespace of ``line`` (a tab counts as 4)."""
    body = line.lstrip(" \t")
    lead = line[: len(line) - len(body)]
    return len(lead) + 3 * lead.count("\t")


def jaccard(a: Iterable[str] | frozenset[str], b: Iterable[str] | frozenset[str]) -> float:
    """Jaccard similarity of two sets (0.0 when both are empty)."""
    sa, sb = frozenset(a), frozenset(b)
    union = len(sa | sb)
    return len(sa & sb) / union if union else 0.0


def join_lines(lines: Sequence[str]) -> str:
    """Join lines (with their newlines) and make sure the text ends with one newline."""
    text = "".join(lines)
    return text if not text or text.endswith("\n") else text + "\n"

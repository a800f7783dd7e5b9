"""Parse helpers for post-processing: per-thread parsers, error counts, the parsed window.

Grammars and the extension map come from ``context.index.languages`` (one loader for the project).
"""

from __future__ import annotations

import threading

import tree_sitter

from context.index import languages as index_languages

__all__ = [
    "BRACE_LANGUAGES",
    "LANGUAGES",
    "count_errors",
    "error_count",
    "get_language",
    "get_parser",
    "language_for_path",
    "parse",
    "window",
]

LANGUAGES = index_languages.LANGUAGES
BRACE_LANGUAGES = frozenset(LANGUAGES) - {"python"}

PREFIX_WINDOW_LINES = 200
SUFFIX_WINDOW_LINES = 100

_local = threading.local()


def language_for_path(path: str) -> str | None:
    """The language of ``path`` by its extension (case-insensitive, ``\\`` accepted), or None."""
    return index_languages.language_for_path(path.replace("\\", "/"))


def get_language(language: str) -> tree_sitter.Language | None:
    """The grammar for ``language``, or None when unsupported or its wheel is not installed."""
    try:
        return index_languages.get_language(language)
    except (ValueError, ImportError):
        return None


def get_parser(language: str | None) -> tree_sitter.Parser | None:
    """A parser for ``language`` owned by the calling thread (parsers are not thread-safe)."""
    grammar = get_language(language) if language else None
    if grammar is None:
        return None
    parsers = _local.__dict__.setdefault("parsers", {})
    if language not in parsers:
        parsers[language] = tree_sitter.Parser(grammar)
    return parsers[language]


def parse(language: str | None, text: str) -> tree_sitter.Tree | None:
    """Parse ``text``; None when there is no grammar for ``language``."""
    parser = get_parser(language)
    return None if parser is None else parser.parse(text.encode("utf-8"))


def window(prefix: str, suffix: str) -> tuple[str, str]:
    """The last lines of ``prefix`` and the first lines of ``suffix`` that get parsed."""
    head = prefix.rsplit("\n", PREFIX_WINDOW_LINES)
    tail = suffix.split("\n", SUFFIX_WINDOW_LINES)
    return "\n".join(head[-PREFIX_WINDOW_LINES:]), "\n".join(tail[:SUFFIX_WINDOW_LINES])


def count_errors(tree: tree_sitter.Tree) -> int:
    """Number of ERROR and MISSING nodes in ``tree``."""
    count = 0
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            count += 1
        if node.has_error:
            stack.extend(node.children)
    return count


def error_count(language: str | None, text: str) -> int | None:
    """ERROR + MISSING nodes in the parse of ``text``; None without a grammar."""
    tree = parse(language, text)
    return None if tree is None else count_errors(tree)

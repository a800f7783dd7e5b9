"""Tiny tree-sitter grammar loader (grammar wheels only) and parse helpers for post-processing.

Self-contained on purpose: ``context.index`` has its own loader; this package must not depend on it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache
from pathlib import PurePosixPath

import tree_sitter

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

LANGUAGES = ("python", "javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp")
BRACE_LANGUAGES = frozenset(LANGUAGES) - {"python"}

_EXTENSIONS = {
    ".py": "python", ".pyi": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "tsx",
    ".go": "go", ".rs": "rust", ".java": "java", ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp",
}

PREFIX_WINDOW_LINES = 200
SUFFIX_WINDOW_LINES = 100

_local = threading.local()


def language_for_path(path: str) -> str | None:
    """The language of ``path`` by its extension (case-insensitive), or None."""
    return _EXTENSIONS.get(PurePosixPath(path.replace("\\", "/")).suffix.lower())


def _grammar_factory(language: str) -> Callable[[], object] | None:
    if language == "python":
        import tree_sitter_python as mod
    elif language == "javascript":
        import tree_sitter_javascript as mod
    elif language in ("typescript", "tsx"):
        import tree_sitter_typescript as ts_mod

        return ts_mod.language_tsx if language == "tsx" else ts_mod.language_typescript
    elif language == "go":
        import tree_sitter_go as mod
    elif language == "rust":
        import tree_sitter_rust as mod
    elif language == "java":
        import tree_sitter_java as mod
    elif language == "c":
        import tree_sitter_c as mod
    elif language == "cpp":
        import tree_sitter_cpp as mod
    else:
        return None
    return mod.language


@cache
def get_language(language: str) -> tree_sitter.Language | None:
    """The cached grammar for ``language``, or None when unsupported or not installed."""
    try:
        factory = _grammar_factory(language)
    except ImportError:
        return None
    return None if factory is None else tree_sitter.Language(factory())


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

"""Languages the index knows: file extensions, grammars (from the installed wheels) and queries.

Grammars come only from the ``tree_sitter_<lang>`` wheels; nothing is downloaded. Each language
has two queries in ``queries/``: ``<lang>.scm`` (definitions and imports, run with matches) and
``<lang>.refs.scm`` (identifier occurrences, run with captures). TSX shares TypeScript's queries.
"""

from __future__ import annotations

import functools
import importlib
import re
from importlib import resources
from pathlib import PurePosixPath

import tree_sitter

__all__ = [
    "LANGUAGES",
    "capture_priority",
    "get_language",
    "get_parser",
    "get_query",
    "language_for_path",
    "ref_node_types",
]

LANGUAGES: tuple[str, ...] = (
    "python", "javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp",
)

_EXTENSIONS: dict[str, str] = {
    ".py": "python", ".pyi": "python", ".pyw": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".c++": "cpp",
    ".hh": "cpp", ".hpp": "cpp", ".hxx": "cpp", ".h++": "cpp", ".ipp": "cpp",
}

# language -> (wheel module, function returning the grammar pointer)
_GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
}

_QUERY_FILE: dict[str, str] = {lang: lang for lang in LANGUAGES} | {"tsx": "typescript"}
_REF_PATTERN = re.compile(r"\((\w+)\) @ref")


def language_for_path(path: str) -> str | None:
    """The language of a file by its extension (``a/b.tsx`` -> ``"tsx"``), or None."""
    suffix = PurePosixPath(path).suffix.lower()
    return _EXTENSIONS.get(suffix)


@functools.cache
def get_language(language: str) -> tree_sitter.Language:
    """The tree-sitter grammar of a language, from its installed wheel.

    Raises ``ValueError`` for an unknown language and ``ImportError`` when its wheel is missing.
    """
    if language not in _GRAMMARS:
        raise ValueError(f"unknown language {language!r}; known: {', '.join(LANGUAGES)}")
    module_name, func = _GRAMMARS[language]
    module = importlib.import_module(module_name)
    return tree_sitter.Language(getattr(module, func)())


def get_parser(language: str) -> tree_sitter.Parser:
    """A new parser for a language (parsers are not thread-safe: one per thread)."""
    return tree_sitter.Parser(get_language(language))


def _source(language: str, kind: str) -> str:
    stem = _QUERY_FILE[language] + (".refs" if kind == "refs" else "")
    return resources.files(__package__).joinpath("queries", f"{stem}.scm").read_text("utf-8")


@functools.cache
def get_query(language: str, kind: str = "tags") -> tree_sitter.Query:
    """The compiled query of a language: ``kind`` is ``"tags"``, ``"refs"`` or ``"all"`` (both,
    so that one pass over the tree finds definitions, imports and references)."""
    if kind == "all":
        source = _source(language, "tags") + "\n" + _source(language, "refs")
    else:
        source = _source(language, kind)
    return tree_sitter.Query(get_language(language), source)


@functools.cache
def capture_priority(language: str) -> dict[str, int]:
    """Capture name -> its order of first appearance in the ``all`` query (earlier wins when
    one node is captured as two kinds of definition)."""
    query = get_query(language, "all")
    return {query.capture_name(i): i for i in range(query.capture_count)}


@functools.cache
def ref_node_types(language: str) -> frozenset[str]:
    """The node types the refs query captures. Every refs pattern is a bare ``(type) @ref``, so
    a node is an identifier occurrence exactly when its type is one of these (raises
    ``ValueError`` for a refs query with any other kind of pattern)."""
    types: set[str] = set()
    for line in _source(language, "refs").splitlines():
        line = line.split(";", 1)[0].strip()
        if not line:
            continue
        match = _REF_PATTERN.fullmatch(line)
        if match is None:
            raise ValueError(f"{language} refs query: {line!r} is not a bare (type) @ref")
        types.add(match.group(1))
    return frozenset(types)

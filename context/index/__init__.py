"""The workspace index: tree-sitter definitions, references, imports and scopes, persisted.

``WorkspaceIndex`` is the entry point; see docs/CONTRACTS.md for its API. Grammars come from the
installed ``tree_sitter_<lang>`` wheels; queries live in ``queries/``.
"""

from __future__ import annotations

from context.index.languages import LANGUAGES, get_language, get_parser, language_for_path
from context.index.model import ImportEdge, IndexStats, Reference, Scope, SymbolDef
from context.index.workspace import WorkspaceIndex, prepare_workers

__all__ = [
    "LANGUAGES",
    "ImportEdge",
    "IndexStats",
    "Reference",
    "Scope",
    "SymbolDef",
    "WorkspaceIndex",
    "get_language",
    "get_parser",
    "language_for_path",
    "prepare_workers",
]

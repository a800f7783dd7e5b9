"""The values the index hands to other rooms (frozen dataclasses, see docs/CONTRACTS.md).

Paths are workspace-relative POSIX strings; lines are 0-based and spans inclusive; columns are
0-based code points.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["KINDS", "SCOPE_KINDS", "ImportEdge", "IndexStats", "Reference", "Scope", "SymbolDef"]

KINDS: frozenset[str] = frozenset({
    "function", "method", "class", "struct", "interface", "enum", "type", "variable",
    "constant", "module", "macro", "field",
})

# Kinds whose body encloses other code (they appear in scope chains and qualified names).
SCOPE_KINDS: frozenset[str] = frozenset({
    "function", "method", "class", "struct", "interface", "enum", "module", "impl",
})


@dataclass(frozen=True)
class SymbolDef:
    """A definition: where it is, what it is, its signature line(s) and doc/leading comment."""

    path: str
    name: str
    qualname: str
    kind: str
    language: str
    start_line: int
    end_line: int
    signature: str
    doc: str


@dataclass(frozen=True)
class Reference:
    """One identifier occurrence; ``scope`` is the qualname of its enclosing def ("" = file)."""

    path: str
    name: str
    line: int
    col: int
    scope: str


@dataclass(frozen=True)
class ImportEdge:
    """An import in ``path``; ``target`` is the workspace file it resolves to, or None."""

    path: str
    module: str
    target: str | None
    line: int


@dataclass(frozen=True)
class Scope:
    """An enclosing function/class/... of a position."""

    qualname: str
    kind: str
    start_line: int
    end_line: int


@dataclass(frozen=True)
class IndexStats:
    """What a refresh found. ``rebuilt``: the store was corrupt/foreign/old and was rebuilt."""

    files: int
    symbols: int
    refs: int
    languages: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    rebuilt: bool = False
    parsed: int = 0
    removed: int = 0

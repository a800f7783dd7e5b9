"""What the cursor is about, computed once per request from the live buffer.

Everything here deliberately ignores the cursor line itself: while the user types on one line
the query (and so the retrieved set, and the KV cache of the prompt before the cursor) stays
the same; it moves when a line is finished or the cursor enters another scope.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .current import Cursor, scope_span
from .pyimports import Binding, parse_imports
from .text import identifiers

__all__ = ["Query", "make_query"]

_ATTR = re.compile(r"\b([A-Za-z_][\w.]*)\.([A-Za-z_]\w*)")


@dataclass(frozen=True)
class Query:
    """The retrieval query for a cursor (hashable: used as a cache key)."""

    path: str
    python: bool
    scope: tuple[int, int] | None
    scope_name: str | None
    scope_ids: frozenset[str]
    scope_calls: frozenset[str]
    """Names called or capitalised in the scope (likely defined elsewhere)."""
    file_ids: frozenset[str]
    bindings: tuple[Binding, ...]
    attrs: frozenset[tuple[str, str, int]]
    """(receiver, attribute, line) uses outside the cursor line."""


def _scope_name(header: str) -> str | None:
    m = re.search(r"(?:def|class|function|fn|func)\s+([A-Za-z_]\w*)", header)
    return m.group(1) if m else None


def make_query(path: str, cursor: Cursor) -> Query:
    """Build the query for ``cursor`` in the buffer of ``path``."""
    lines = cursor.lines
    python = path.endswith((".py", ".pyi"))
    bindings = tuple(parse_imports("".join(lines))) if python else ()
    import_lines = {b.line for b in bindings}
    skip = import_lines | {cursor.line}
    span = scope_span(cursor)
    if span is not None:
        scope_text = "".join(lines[i] for i in range(span[0], span[1] + 1) if i != cursor.line)
        name = _scope_name(lines[span[0]])
    else:
        scope_text, name = "", None
    attrs = set()
    file_parts = []
    for i, text in enumerate(lines):
        if i in skip:
            continue
        file_parts.append(text)
        if "." in text:
            attrs.update((r, a, i) for r, a in _ATTR.findall(text))
    return Query(
        path=path,
        python=python,
        scope=span,
        scope_name=name,
        scope_ids=identifiers(scope_text),
        scope_calls=frozenset(n for n in identifiers(scope_text)
                              if n[0].isupper() or f"{n}(" in scope_text),
        file_ids=identifiers("".join(file_parts)),
        bindings=bindings,
        attrs=frozenset(attrs),
    )

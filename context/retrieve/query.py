"""What the cursor is about, computed once per request from the live buffer.

Everything here deliberately ignores the cursor line itself: while the user types on one line
the query (and so the retrieved set, and the KV cache of the prompt before the cursor) stays
the same; it moves when a line is finished or the cursor enters another scope.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .current import Cursor, scope_span
from .goimports import go_import_starts, is_go, parse_go_imports_at
from .javaimports import is_java, java_import_starts, parse_java_imports_at
from .jsimports import is_js, js_import_starts, parse_js_imports_at
from .lru import Lru
from .pyimports import Binding, import_starts, parse_imports_at
from .rustimports import is_rust, parse_rust_uses_at, rust_use_starts
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
    blocks: tuple[frozenset[str], ...] = ()
    """Identifiers of each 64-line block of the buffer (``file_ids`` by block): where a name
    is used, coarsely."""
    receivers: frozenset[tuple[str, str]] = frozenset()
    """(variable, type name) declared in the buffer (TS/Java/Go/Rust: ``s: Store``, ``Store s
    =``, ``func (s *Store)``, ``s = new Store(``, ``s: &mut Store``, ``let s = Store::new(``)
    and mentioned in the enclosing scope."""


def _scope_name(header: str) -> str | None:
    m = re.search(r"(?:def|class|function|fn|func)\s+([A-Za-z_]\w*)", header)
    return m.group(1) if m else None


_BLOCK = 64
BLOCK_LINES = _BLOCK
"""The lines of one of ``Query.blocks``."""
_BLOCKS: Lru[Any] = Lru(8192)
"""Per-block facts of buffers, keyed by the block's lines (and the lines it skips): a new
cursor in a long file re-reads only the blocks that changed."""


def _import_starts(lines: tuple[str, ...], kind: str = "py") -> list[int]:
    find = {"js": js_import_starts, "go": go_import_starts,
            "rust": rust_use_starts, "java": java_import_starts}.get(kind, import_starts)
    out: list[int] = []
    for start in range(0, len(lines), _BLOCK):
        block = lines[start : start + _BLOCK]
        found = _BLOCKS.get_or(("starts", kind, block), lambda b=block: tuple(find(b)))
        out += [start + i for i in found]
    return out


def _bindings(path: str, lines: tuple[str, ...]) -> tuple[Binding, ...]:
    """The import bindings of the buffer, for the languages whose imports bind names."""
    if path.endswith((".py", ".pyi")):
        return tuple(parse_imports_at(lines, _import_starts(lines)))
    if is_js(path):
        return tuple(parse_js_imports_at(lines, _import_starts(lines, "js")))
    if is_go(path):
        return tuple(parse_go_imports_at(lines, _import_starts(lines, "go")))
    if is_java(path):
        return tuple(parse_java_imports_at(lines, _import_starts(lines, "java")))
    if is_rust(path):
        return tuple(b for b in parse_rust_uses_at(lines, _import_starts(lines, "rust"))
                     if b.name is not None)
    return ()


_DECLS = {
    "js": re.compile(r"\b([A-Za-z_$][\w$]*)\s*[?!]?\s*:\s*([A-Z][\w$]*)\b"
                     r"|\b([A-Za-z_$][\w$]*)\s*=\s*new\s+([A-Z][\w$]*)\b"),
    "go": re.compile(r"[(,]\s*([a-z_]\w*)\s+\*?(?:[a-z_]\w*\.)?([A-Z]\w*)\s*[),]"
                     r"|\b([a-z_]\w*)\s*:=\s*&?(?:[a-z_]\w*\.)?([A-Z]\w*)\s*\{"),
    "java": re.compile(r"\b([A-Z]\w*)(?:<[^>;]*>)?\s+([a-z_]\w*)\s*[=;,)]"),
    "rust": re.compile(r"\b([a-z_]\w*)\s*:\s*&?(?:'\w+\s+)?(?:mut\s+)?(?:[a-z_]\w*::)*"
                       r"([A-Z]\w*)|\blet\s+(?:mut\s+)?([a-z_]\w*)\s*=\s*&?(?:[a-z_]\w*::)*"
                       r"([A-Z]\w*)\s*(?:::\s*\w+\s*\(|\{)"),
}


def _receivers(kind: str, lines: tuple[str, ...]) -> frozenset[tuple[str, str, int]]:
    """(variable, type, line) declarations of the buffer, per block from the cache."""
    pattern = _DECLS.get(kind)
    if pattern is None:
        return frozenset()
    out: set[tuple[str, str, int]] = set()
    for start in range(0, len(lines), _BLOCK):
        block = lines[start : start + _BLOCK]

        def scan(b: tuple[str, ...] = block) -> tuple[tuple[str, str, int], ...]:
            text = "".join(b)
            found = []
            for m in pattern.finditer(text):
                groups = [g for g in m.groups() if g]
                var, typ = (groups[1], groups[0]) if kind == "java" else (groups[0], groups[1])
                found.append((var, typ, text.count("\n", 0, m.start())))
            return tuple(found)

        out.update((v, t, start + i) for v, t, i in _BLOCKS.get_or(("decls", kind, block), scan))
    return frozenset(out)


def _in_scope(decls: frozenset[tuple[str, str, int]], scope_text: str,
              span: tuple[int, int] | None) -> frozenset[tuple[str, str]]:
    """(variable, type) of the declarations whose variable the scope's text mentions (short
    names included); a variable declared inside the scope has those declarations only."""
    if not decls or not scope_text:
        return frozenset()
    words = set(re.findall(r"[A-Za-z_$][\w$]*", scope_text))
    mentioned = [d for d in decls if d[0] in words]
    inside = {v for v, _, line in mentioned if span and span[0] <= line <= span[1]}
    return frozenset((v, t) for v, t, line in mentioned
                     if v not in inside or (span and span[0] <= line <= span[1]))


def _kind(path: str) -> str:
    if is_js(path):
        return "js"
    if is_go(path):
        return "go"
    if is_rust(path):
        return "rust"
    return "java" if path.endswith(".java") else ""


def _block_facts(block: tuple[str, ...], skip: tuple[int, ...]) -> tuple[
    frozenset[str], tuple[tuple[str, str, int], ...]
]:
    kept = [text for i, text in enumerate(block) if i not in skip]
    attrs = [(r, a, i) for i, text in enumerate(block) if i not in skip and "." in text
             for r, a in _ATTR.findall(text)]
    return identifiers("".join(kept)), tuple(attrs)


def _file_facts(lines: tuple[str, ...], skip: set[int]) -> tuple[
    tuple[frozenset[str], ...], frozenset[tuple[str, str, int]]
]:
    """Identifiers of the lines not in ``skip`` (per block) and their ``receiver.attr`` uses
    (with lines), block by block from the cache."""
    by_block: dict[int, list[int]] = {}
    for i in skip:
        by_block.setdefault(i // _BLOCK, []).append(i % _BLOCK)
    ids: list[frozenset[str]] = []
    attrs: list[tuple[str, str, int]] = []
    for start in range(0, len(lines), _BLOCK):
        block = lines[start : start + _BLOCK]
        rel = tuple(sorted(by_block.get(start // _BLOCK, ())))
        found, rel_attrs = _BLOCKS.get_or(("facts", block, rel),
                                          lambda b=block, r=rel: _block_facts(b, r))
        ids.append(found)
        attrs += [(r, a, start + i) for r, a, i in rel_attrs]
    return tuple(ids), frozenset(attrs)


def make_query(path: str, cursor: Cursor) -> Query:
    """Build the query for ``cursor`` in the buffer of ``path``."""
    lines = cursor.lines
    python = path.endswith((".py", ".pyi"))
    bindings = _bindings(path, lines)
    import_lines = {b.line for b in bindings}
    skip = import_lines | {cursor.line}
    span = scope_span(cursor)
    if span is not None:
        scope_text = "".join(lines[i] for i in range(span[0], span[1] + 1) if i != cursor.line)
        name = _scope_name(lines[span[0]])
    else:
        scope_text, name = "", None
    blocks, attrs = _file_facts(lines, skip)
    return Query(
        path=path,
        python=python,
        scope=span,
        scope_name=name,
        scope_ids=identifiers(scope_text),
        scope_calls=frozenset(n for n in identifiers(scope_text)
                              if n[0].isupper() or f"{n}(" in scope_text),
        file_ids=frozenset().union(*blocks),
        blocks=blocks,
        bindings=bindings,
        attrs=attrs,
        receivers=_in_scope(_receivers(_kind(path), (*lines[: cursor.line], "\n",
                                                     *lines[cursor.line + 1 :])), scope_text,
                            span),
    )

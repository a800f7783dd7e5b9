"""Rendering symbols as snippets: whole bodies when small, else signature + docstring (+ the
signatures of a class's members), and files as outlines (aider's repo-map view)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .candidate import Candidate
from .text import join_lines

__all__ = ["definition_candidate", "header_end", "outline_text"]

_OPENERS = (":", "{", "=>", "->")


def header_end(lines: Sequence[str], start: int, limit: int = 12) -> int:
    """Last line of the header (signature) that starts at ``start``."""
    depth = 0
    for i in range(start, min(len(lines), start + limit)):
        text = lines[i].split("#", 1)[0].rstrip()
        depth += sum(text.count(c) for c in "([{") - sum(text.count(c) for c in ")]}")
        if depth <= 0 and text.endswith((*_OPENERS, ";")):
            return i
    return start


def _docstring(lines: Sequence[str], after: int, max_lines: int) -> list[str]:
    if after + 1 >= len(lines):
        return []
    first = lines[after + 1].strip()
    quote = next((q for q in ('"""', "'''") if first.lstrip("rbuRBU").startswith(q)), None)
    if quote is None:
        return []
    out = []
    for i in range(after + 1, min(len(lines), after + 1 + max_lines)):
        out.append(lines[i])
        body = lines[i].strip()
        if (i > after + 1 and quote in body) or (i == after + 1 and body.count(quote) >= 2):
            return out
    indent = lines[after + 1][: len(lines[after + 1]) - len(lines[after + 1].lstrip())]
    return [*out, f"{indent}{quote}\n"]


def _members(outline: Sequence[Any], sym: Any) -> list[Any]:
    prefix = f"{sym.qualname}."
    return [
        s for s in outline
        if s.qualname.startswith(prefix) and "." not in s.qualname[len(prefix):]
        and s.kind in ("method", "function", "field", "variable", "constant", "class")
        and sym.start_line < s.start_line <= sym.end_line
    ]


def definition_candidate(
    lines: Sequence[str],
    sym: Any,
    score: float,
    outline: Sequence[Any] = (),
    whole_max_lines: int = 12,
    doc_max_lines: int = 4,
    max_members: int = 40,
    kind: str = "definition",
    source: str = "definitions",
) -> Candidate | None:
    """A candidate for a symbol: its whole text when short, else its signature and docstring
    (for a class, also up to ``max_members`` members' first lines) and an elision line."""
    start, end = sym.start_line, min(sym.end_line, len(lines) - 1)
    if start < 0 or start >= len(lines) or end < start:
        return None
    head = header_end(lines, start)
    pad = " " * (len(lines[start]) - len(lines[start].lstrip()) + 4)
    brief = join_lines([*lines[start : head + 1], f"{pad}...\n"]) if head < end else None
    if end - start + 1 <= whole_max_lines:
        text = join_lines(lines[start : end + 1])
        return Candidate(kind, source, sym.path, start, end, text, score, True, brief)
    body = list(lines[start : head + 1]) + _docstring(lines, head, doc_max_lines)
    if sym.kind == "class":
        for member in _members(outline, sym)[:max_members]:
            first = lines[member.start_line] if member.start_line < len(lines) else ""
            if first and first not in body:
                body.append(first)
    body.append(f"{pad}...\n")
    text = join_lines(body)
    return Candidate(kind, source, sym.path, start, end, text, score,
                     brief=brief if brief != text else None)


def outline_text(lines: Sequence[str], outline: Sequence[Any], max_symbols: int = 400) -> str:
    """The file as its symbols' first lines, in file order, each once (an outline)."""
    seen: set[int] = set()
    out: list[str] = []
    for sym in outline[:max_symbols]:
        if sym.start_line in seen or not 0 <= sym.start_line < len(lines):
            continue
        if sym.kind in ("variable", "field") and "." in sym.qualname:
            continue
        seen.add(sym.start_line)
        out.append(lines[sym.start_line])
    return join_lines(out)

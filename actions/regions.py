"""Regions: the part of a file a rewrite replaces, in the LSP line model.

`enclosing_function`/`function_named` find a definition (Python: `ast`, decorators included;
unparsable text: an indentation heuristic). `functions_around` parses only the top-level
statement around a line (a few lines) so that listing code actions stays cheap.
"""

from __future__ import annotations

import ast
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from .lines import bare_lines, line_col, lsp_lines

__all__ = [
    "Outlines",
    "Region",
    "enclosing_function",
    "function_named",
    "function_at",
    "functions_around",
    "has_docstring",
    "heuristic_region",
    "innermost",
    "python_functions",
    "region_text",
    "top_level_block",
]

DEF_LINE = re.compile(r"^([ \t]*)(?:async\s+def|def|class)\s+(\w+)", re.MULTILINE)


@dataclass(frozen=True)
class Region:
    """Lines start..end (0-based, inclusive) of a definition named `name`, indented by `indent`."""

    start_line: int
    end_line: int
    name: str
    indent: str


def _python_defs(text: str) -> list[ast.AST] | None:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return [n for n in ast.walk(tree) if isinstance(n, kinds)]


def _region_of(node: Any, lines: list[str]) -> Region:
    start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
    line = lines[start] if start < len(lines) else ""
    indent = line[: len(line) - len(line.lstrip())]
    return Region(start, node.end_lineno - 1, node.name, indent)


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip())


def _heuristic_region(lines: list[str], line: int) -> Region | None:
    """Nearest `def`/`class` at or above `line` and the lines indented under it."""
    for start in range(min(line, len(lines) - 1), -1, -1):
        match = DEF_LINE.match(lines[start])
        if match is None or (start < line and _block_end(lines, start) < line):
            continue
        return Region(start, _block_end(lines, start), match.group(2), match.group(1))
    return None


def _block_end(lines: list[str], start: int) -> int:
    base = _indent_of(lines[start])
    end = start
    for i in range(start + 1, len(lines)):
        if not lines[i].strip():
            continue
        if _indent_of(lines[i]) <= base and not lines[i].lstrip().startswith((")", "]")):
            break
        end = i
    return end


def enclosing_function(text: str, line: int, functions_only: bool = True) -> Region | None:
    """The innermost function (or class, unless `functions_only`) around `line` (0-based)."""
    lines = bare_lines(text)
    defs = _python_defs(text)
    if defs is None:
        return _heuristic_region(lines, line)
    best = None
    for node in defs:
        if functions_only and isinstance(node, ast.ClassDef):
            continue
        region = _region_of(node, lines)
        if region.start_line <= line <= region.end_line and (
            best is None or region.start_line >= best.start_line
        ):
            best = region
    return best


def function_named(text: str, name: str) -> Region | None:
    """The outermost definition called `name` in `text`."""
    lines = bare_lines(text)
    defs = _python_defs(text)
    if defs is None:
        found = [m for m in DEF_LINE.finditer(text) if m.group(2) == name]
        return _heuristic_region(lines, line_col(text, found[0].start())[0]) if found else None
    matches = [_region_of(n, lines) for n in defs if getattr(n, "name", None) == name]
    return min(matches, key=lambda r: len(r.indent)) if matches else None


def python_functions(text: str) -> tuple[tuple[Region, bool], ...] | None:
    """Every function of a Python text with whether it has a docstring, from one parse
    (None when the text does not parse)."""
    defs = _python_defs(text)
    if defs is None:
        return None
    lines = bare_lines(text)
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef)
    return tuple(
        (_region_of(n, lines), ast.get_docstring(n) is not None)  # type: ignore[arg-type]
        for n in defs
        if isinstance(n, kinds)
    )


def _starts_statement(line: str) -> bool:
    """Whether `line` starts a top-level statement (or is code at column 0 in a string)."""
    return bool(line) and line[0] not in " \t#)]}\r\n" and bool(line.strip())


def _decorators_above(lines: list[str], start: int) -> int:
    """`start` moved up over the decorators (one or more lines each) right above it."""
    while start > 0:
        k = start - 1
        while k > 0 and lines[k][:1] in (" ", "\t", ")", "]", "}") and lines[k].strip():
            k -= 1
        if not lines[k].startswith("@"):
            return start
        start = k
    return start


def top_level_block(lines: list[str], line: int) -> tuple[int, int] | None:
    """Lines [start, end) of the top-level statement holding `line` (decorators included):
    from the nearest line at or above it that starts at column 0 to the next such line."""
    if not lines:
        return None
    line = min(max(line, 0), len(lines) - 1)
    start = line
    while start > 0 and not _starts_statement(lines[start]):
        start -= 1
    if not _starts_statement(lines[start]):
        return None
    start = _decorators_above(lines, start)
    head = start  # past the decorators: the `def`/`class` line
    while head < len(lines) - 1 and (
        lines[head].startswith("@") or not _starts_statement(lines[head])
    ):
        head += 1
    end = max(line, head) + 1
    while end < len(lines) and not _starts_statement(lines[end]):
        end += 1
    return start, end


def functions_around(text: str, line: int) -> tuple[tuple[Region, bool], ...] | None:
    """The functions (with whether each has a docstring) of the top-level statement holding
    `line`, from a parse of that statement alone: a few lines instead of the whole file. None
    when it does not parse alone (a column-0 line inside a string, say): use `python_functions`.
    """
    lines = lsp_lines(text)
    block = top_level_block(lines, line)
    if block is None:
        return ()
    start, end = block
    before = sum(len(ln) for ln in lines[:start])
    if text.count('"""', 0, before) % 2 or text.count("'''", 0, before) % 2:
        return None  # the block may start inside a triple-quoted string
    try:
        tree = ast.parse("".join(lines[start:end]))
    except (SyntaxError, ValueError):
        return None
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, kinds):
            region = _region_of(node, lines[start:end])
            shifted = Region(
                region.start_line + start, region.end_line + start, region.name, region.indent
            )
            out.append((shifted, ast.get_docstring(node) is not None))
    return tuple(out)


def innermost(
    functions: tuple[tuple[Region, bool], ...], line: int
) -> tuple[Region, bool] | None:
    """The innermost of `functions` (as `python_functions` gives them) around `line`."""
    best = None
    for region, documented in functions:
        if region.start_line <= line <= region.end_line and (
            best is None or region.start_line >= best[0].start_line
        ):
            best = (region, documented)
    return best


def heuristic_region(text: str, line: int) -> Region | None:
    """The `def`/`class` block around `line` by indentation (for text that does not parse)."""
    return _heuristic_region(bare_lines(text), line)


def has_docstring(text: str, region: Region) -> bool:
    """Whether the definition at `region` starts with a docstring (Python only)."""
    defs = _python_defs(text) or []
    lines = bare_lines(text)
    for node in defs:
        if _region_of(node, lines) == region:
            return ast.get_docstring(node) is not None  # type: ignore[arg-type]
    return False


def region_text(text: str, region: Region) -> str:
    """The source lines of `region`, with their endings."""
    lines = lsp_lines(text)
    return "".join(lines[region.start_line : region.end_line + 1])


class Outlines:
    """The functions of the last few document texts, so that moving the cursor in an unchanged
    document does not parse it again (used from the CPU pool's threads)."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[str, tuple[str, Any]] = OrderedDict()

    def functions(self, uri: str, text: str) -> tuple[tuple[Region, bool], ...] | None:
        """`python_functions(text)`, parsed at most once per (uri, text)."""
        with self._lock:
            hit = self._items.get(uri)
            if hit is not None and (hit[0] is text or hit[0] == text):
                self._items.move_to_end(uri)
                return hit[1]
        functions = python_functions(text)
        with self._lock:
            self._items[uri] = (text, functions)
            self._items.move_to_end(uri)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return functions


def function_at(outlines: Outlines, uri: str, text: str, line: int) -> tuple[Region, bool] | None:
    """The function around `line` and whether it has a docstring: from a parse of the top-level
    statement holding `line`, else of the whole text (once per text)."""
    if not uri.endswith(".py"):
        region = enclosing_function(text, line)
        return (region, False) if region is not None else None
    functions = functions_around(text, line)
    if functions is None:
        functions = outlines.functions(uri, text)
    if functions is None:
        region = heuristic_region(text, line)
        return (region, False) if region is not None else None
    return innermost(functions, line)


"""Definitions of any indexed language from the tree-sitter index's extraction: the function,
method or class at the cursor as a `Region`, whether it is documented in its language's
convention, and where its documentation goes.

The index (`context.index.extract`) names and spans the definitions; this module widens each
span to what a rewrite must carry along (decorators, attributes, `export`, `template<>`) and
reads the documentation slot:
- Python: a docstring, the body's first statement;
- JavaScript/TypeScript (JSDoc), Java (Javadoc), C/C++: a `/** ... */` comment right above
  (C/C++ also take `///` and `//` comments);
- Rust: `///` lines right above (attributes may sit between); Go: `//` lines right above.
`place_doc` writes a plain-text documentation into that slot, in that convention.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import tree_sitter

from context.index import language_for_path
from context.index.extract import extract

from .lines import lsp_lines, newline_of
from .regions import Region

__all__ = [
    "DEFINITION_KINDS",
    "DOC_STYLE",
    "Definition",
    "DefinitionCache",
    "definition_at",
    "definition_named",
    "definitions",
    "defines",
    "language_of",
    "doc_edit",
    "doc_from_answer",
    "place_doc",
    "region_at",
]

DEFINITION_KINDS = frozenset({"function", "method", "class", "struct", "interface", "enum"})
FUNCTION_KINDS = frozenset({"function", "method"})
WRAPPERS = frozenset(
    {
        "decorated_definition",
        "export_statement",
        "template_declaration",
        "ambient_declaration",
        "variable_declarator",  # `const f = () => ...`: the declaration carries the doc
        "lexical_declaration",
        "variable_declaration",
    }
)
ABOVE = frozenset({"decorator", "attribute_item", "attribute"})
DOC_PREFIXES: dict[str, tuple[str, ...]] = {
    "javascript": ("/**",),
    "typescript": ("/**",),
    "tsx": ("/**",),
    "java": ("/**",),
    "rust": ("///", "/**"),
    "go": ("//", "/*"),
    "c": ("/**", "///", "//", "/*!"),
    "cpp": ("/**", "///", "//", "/*!"),
}


@dataclass(frozen=True)
class Definition:
    """A definition: its `region` (decorators/attributes included, doc comment not), `kind`,
    whether it is documented, and `doc_line`: where a new doc goes (the line it is inserted
    before; for Python the body's first line), with `doc_indent`."""

    region: Region
    kind: str
    language: str
    documented: bool
    doc_line: int
    doc_indent: str


def language_of(path: str) -> str | None:
    """The indexed language of a path (None when it is not one of them)."""
    return language_for_path(path)


def _node_at(
    root: tree_sitter.Node, row: tuple[int, int], end: tuple[int, int]
) -> tree_sitter.Node:
    node = root.descendant_for_point_range(row, end)
    assert node is not None
    while node.parent is not None and node.start_point == node.parent.start_point:
        if node.end_point == end:
            break
        node = node.parent
    return node


def _anchor(node: tree_sitter.Node) -> tree_sitter.Node:
    """The node a definition's text starts at: its wrappers (`export`, decorators...)."""
    while node.parent is not None and node.parent.type in WRAPPERS:
        node = node.parent
    return node


def _start_above(anchor: tree_sitter.Node) -> tuple[int, tree_sitter.Node | None]:
    """(first line with decorators/attributes above the anchor, the sibling before them)."""
    start, sibling = anchor.start_point[0], anchor.prev_named_sibling
    while sibling is not None and sibling.type in ABOVE and sibling.end_point[0] >= start - 1:
        start, sibling = sibling.start_point[0], sibling.prev_named_sibling
    return start, sibling


def _python_documented(node: tree_sitter.Node) -> tuple[bool, int | None]:
    """(has a docstring, the body's first line when it starts below the header)."""
    body = node.child_by_field_name("body")
    if body is None or body.named_child_count == 0:
        return False, None
    first = body.named_child(0)
    below = body.start_point[0] if body.start_point[0] > node.start_point[0] else None
    if first is None or first.type != "expression_statement":
        return False, below
    string = first.named_child(0)
    return string is not None and string.type == "string", below


def _comment_documented(language: str, sibling: tree_sitter.Node | None, start: int) -> bool:
    if sibling is None or "comment" not in sibling.type or sibling.end_point[0] < start - 1:
        return False
    text = (sibling.text or b"").decode("utf-8", "replace").lstrip()
    return text.startswith(DOC_PREFIXES.get(language, ("/**",)))


def _indent(lines: list[str], line: int) -> str:
    text = lines[line] if line < len(lines) else ""
    return text[: len(text) - len(text.lstrip(" \t"))]


def _definition(
    language: str, root: tree_sitter.Node, row: tuple, lines: list[str]
) -> Definition:
    name, _, kind, line, col, end_line, end_col = row[:7]
    node = _node_at(root, (line, col), (end_line, end_col))
    anchor = _anchor(node)
    start, sibling = _start_above(anchor)
    indent = _indent(lines, start)
    region = Region(start, max(end_line, anchor.end_point[0]), name, indent)
    if language == "python":
        documented, body_line = _python_documented(node)
        doc_line = body_line if body_line is not None else start
        return Definition(region, kind, language, documented, doc_line, _indent(lines, doc_line))
    documented = _comment_documented(language, sibling, start)
    return Definition(region, kind, language, documented, start, indent)


def definitions(text: str, language: str) -> tuple[Definition, ...]:
    """The functions, methods and classes (structs, interfaces, enums) of `text`."""
    facts, tree = extract(language, text.encode("utf-8", "surrogatepass"))
    lines = lsp_lines(text)
    return tuple(
        _definition(language, tree.root_node, row, lines)
        for row in facts.defs
        if row[2] in DEFINITION_KINDS
    )


def definition_at(
    found: tuple[Definition, ...], line: int, functions_only: bool = False
) -> Definition | None:
    """The innermost of `found` around `line` (functions and methods only, if asked)."""
    best = None
    for d in found:
        if functions_only and d.kind not in FUNCTION_KINDS:
            continue
        r = d.region
        if r.start_line <= line <= r.end_line and (
            best is None or r.start_line >= best.region.start_line
        ):
            best = d
    return best


def definition_named(found: tuple[Definition, ...], name: str) -> Definition | None:
    """The outermost definition called `name`."""
    named = [d for d in found if d.region.name == name]
    return min(named, key=lambda d: len(d.region.indent)) if named else None


class DefinitionCache:
    """The definitions of the last few (uri, text) pairs (used from the CPU pool's threads)."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[str, tuple[str, tuple[Definition, ...]]] = OrderedDict()

    def get(self, uri: str, text: str, language: str) -> tuple[Definition, ...]:
        """`definitions(text, language)`, computed at most once per (uri, text)."""
        with self._lock:
            hit = self._items.get(uri)
            if hit is not None and (hit[0] is text or hit[0] == text):
                self._items.move_to_end(uri)
                return hit[1]
        found = definitions(text, language)
        with self._lock:
            self._items[uri] = (text, found)
            self._items.move_to_end(uri)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return found


# ---- documentation ------------------------------------------------------------------------------
def _doc_lines(language: str, name: str, doc: str) -> list[str]:
    body = [ln.rstrip() for ln in doc.strip().splitlines()] or [""]
    if language == "python":
        if len(body) == 1:
            return [f'"""{body[0]}"""']
        return [f'"""{body[0]}', *body[1:], '"""']
    if language == "rust":
        return [f"/// {ln}".rstrip() for ln in body]
    if language == "go":
        if not body[0].startswith(name + " ") and name:
            body[0] = f"{name} {body[0][:1].lower()}{body[0][1:]}"
        return [f"// {ln}".rstrip() for ln in body]
    if len(body) == 1:
        return [f"/** {body[0]} */"]
    return ["/**", *(f" * {ln}".rstrip() for ln in body), " */"]


def place_doc(text: str, definition: Definition, doc: str) -> str:
    """`text` with `doc` (plain text) written into the definition's documentation slot."""
    lines = lsp_lines(text)
    nl = newline_of(text)
    indent = definition.doc_indent
    block = "".join(
        (indent + ln if ln else ln) + nl
        for ln in _doc_lines(definition.language, definition.region.name, doc)
    )
    at = min(definition.doc_line, len(lines))
    if at == len(lines) and lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += nl
    return "".join(lines[:at]) + block + "".join(lines[at:])


def doc_from_answer(answer: str) -> str:
    """The plain documentation text of a model answer: its code block (or the whole answer)
    without comment markers or docstring quotes."""
    from .diffs import code_block

    raw = code_block(answer) or answer
    out = []
    for line in raw.strip().splitlines():
        s = line.strip()
        if s.startswith("```"):
            continue  # the fence of an empty or unclosed block
        for mark in ('"""', "'''", "/**", "*/", "///", "//!", "//", "/*"):
            s = s.replace(mark, "") if mark in ('"""', "'''", "*/") else s.removeprefix(mark)
        s = s.strip()
        out.append(s.removeprefix("* ").removeprefix("*") if s.startswith("*") else s)
    return "\n".join(out).strip()


DOC_STYLE = {
    "python": "a docstring",
    "javascript": "a JSDoc comment",
    "typescript": "a TSDoc/JSDoc comment",
    "tsx": "a TSDoc/JSDoc comment",
    "rust": "a rustdoc `///` comment",
    "go": "a Go doc comment",
    "java": "a Javadoc comment",
    "c": "a Doxygen `/** */` comment",
    "cpp": "a Doxygen `/** */` comment",
}


def region_at(path: str, text: str, line: int, window: int = 5) -> Region:
    """The region a rewrite of `line` replaces: the innermost function or method around it
    (else class) in an indexed language, the enclosing Python function, or a window of lines."""
    from .regions import enclosing_function

    language = language_of(path)
    if language is not None and language != "python":
        found = definitions(text, language)
        hit = definition_at(found, line, functions_only=True) or definition_at(found, line)
        if hit is not None:
            return hit.region
    region = enclosing_function(text, line)
    if region is not None:
        return region
    last = max(len(lsp_lines(text)) - 1, 0)
    return Region(max(line - window, 0), min(line + window, last), "", "")


def defines(code: str, path: str, name: str) -> bool:
    """Whether `code` (an answer's block, in the language of `path`) defines `name`."""
    from .diffs import defined_name

    language = language_of(path)
    if language is None or language == "python":
        return defined_name(code) == name
    return any(d.region.name == name for d in definitions(code, language))


def doc_edit(text: str, language: str, line: int, answer: str) -> str | None:
    """`text` with a model answer's documentation placed above the definition at `line` (None
    when there is no definition there or no text in the answer)."""
    found = definition_at(definitions(text, language), line)
    doc = doc_from_answer(answer)
    return place_doc(text, found, doc) if found is not None and doc else None

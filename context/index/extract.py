"""Source bytes -> compact facts (definitions, references, imports) with tree-sitter queries.

This runs in worker processes during a cold index, so everything it returns is plain tuples and
bytes that pickle small. Definitions and imports come from the language's tags query (matches);
references from its refs query (captures); Python-side work is per definition, not per node.
``chunks.BufferExtractor`` does the same for an open buffer, chunk by chunk.
"""

from __future__ import annotations

import errno
import hashlib
import inspect
import logging
import os
import re
from array import array
from dataclasses import dataclass

import tree_sitter

from context.index.languages import get_parser, get_query
from context.index.model import SCOPE_KINDS

log = logging.getLogger(__name__)

__all__ = [
    "Columns", "DefRow", "Facts", "FileResult", "ImportRow", "extract", "read_and_extract",
    "refs_in", "tags_in",
]

# (name, qualname, kind, start_line, start_col, end_line, end_col, signature, doc)
DefRow = tuple[str, str, str, int, int, int, int, str, str]
# (module, names, line, kind)
ImportRow = tuple[str, str, int, str]

# (pattern index, kind, definition node, name node) of one definition match
_Found = tuple[int, str, tree_sitter.Node, tree_sitter.Node | None]

_MAX_SIGNATURE_LINES = 8
_MAX_SIGNATURE_CHARS = 600
_MAX_DOC_CHARS = 1200
_CONTAINER_KINDS = frozenset({"class", "struct", "interface", "impl", "enum"})
_WRAPPERS = frozenset({
    "decorated_definition", "export_statement", "template_declaration", "ambient_declaration",
})
_NAME_TYPES = frozenset({
    "identifier", "field_identifier", "qualified_identifier", "destructor_name",
    "operator_name", "type_identifier", "template_function",
})
_COMMENT_MARKERS = re.compile(r"^\s*(///?!?|/\*+|\*+/|\*|#+)\s?")


@dataclass(frozen=True)
class Facts:
    """What one file defines, references and imports. ``refs``: name -> packed (line, col)s."""

    defs: tuple[DefRow, ...]
    refs: dict[str, bytes]
    imports: tuple[ImportRow, ...]
    lines: int


@dataclass(frozen=True)
class FileResult:
    """The outcome of reading one file: status is "parsed", "unchanged" or "skipped"."""

    path: str
    status: str
    reason: str = ""
    size: int = 0
    mtime_ns: int = 0
    digest: str = ""
    facts: Facts | None = None
    replaced: bool = False


def content_hash(data: bytes) -> str:
    """The content key of a file's entry."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def read_and_extract(
    abs_path: str, rel: str, language: str, max_bytes: int, known_digest: str | None
) -> FileResult:
    """Read a file and extract its facts; never raises for bad files (returns "skipped")."""
    try:
        with open(abs_path, "rb") as f:
            st = os.fstat(f.fileno())
            if st.st_size > max_bytes:
                return FileResult(rel, "skipped", "too_large", st.st_size, st.st_mtime_ns)
            data = f.read(max_bytes + 1)
    except FileNotFoundError:
        return FileResult(rel, "skipped", "vanished")
    except IsADirectoryError:
        return FileResult(rel, "skipped", "not_a_file")
    except PermissionError:
        return FileResult(rel, "skipped", "unreadable")
    except OSError as exc:
        reason = "symlink_loop" if exc.errno == errno.ELOOP else "unreadable"
        return FileResult(rel, "skipped", reason)
    if len(data) > max_bytes:
        return FileResult(rel, "skipped", "too_large", len(data), st.st_mtime_ns)
    if b"\0" in data:
        return FileResult(rel, "skipped", "binary", st.st_size, st.st_mtime_ns)
    digest = content_hash(data)
    if digest == known_digest:
        return FileResult(rel, "unchanged", "", st.st_size, st.st_mtime_ns, digest)
    data, replaced = ensure_utf8(data)
    facts, _ = extract(language, data)
    return FileResult(rel, "parsed", "", st.st_size, st.st_mtime_ns, digest, facts, replaced)


def ensure_utf8(data: bytes) -> tuple[bytes, bool]:
    """The bytes as valid UTF-8 (invalid sequences replaced) and whether anything was replaced."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace").encode("utf-8"), True
    return data, False


def extract(
    language: str,
    data: bytes,
    old_tree: tree_sitter.Tree | None = None,
    parser: tree_sitter.Parser | None = None,
) -> tuple[Facts, tree_sitter.Tree]:
    """Parse (incrementally when ``old_tree`` was edited to match) and extract the facts."""
    parser = parser or get_parser(language)
    tree = parser.parse(data, old_tree) if old_tree is not None else parser.parse(data)
    root = tree.root_node
    cols = Columns(data)
    defs, name_starts, imports = tags_in(language, root, data, cols)
    refs = refs_in(language, root, name_starts, cols)
    facts = Facts(tuple(defs), refs, tuple(imports), data.count(b"\n") + 1)
    return facts, tree


class Columns:
    """Byte columns -> code point columns (identity for ASCII files)."""

    def __init__(self, data: bytes) -> None:
        self.ascii = data.isascii()
        self._lines: list[bytes] | None = None if self.ascii else data.split(b"\n")

    def col(self, row: int, byte_col: int) -> int:
        if self._lines is None or row >= len(self._lines):
            return byte_col
        return len(self._lines[row][:byte_col].decode("utf-8", "replace"))


def _text(node: tree_sitter.Node) -> str:
    raw = node.text
    return raw.decode("utf-8", "replace") if raw is not None else ""


def _cursor(language: str, kind: str, span: tuple[int, int] | None) -> tree_sitter.QueryCursor:
    cursor = tree_sitter.QueryCursor(get_query(language, kind))
    if span is not None:
        cursor.set_byte_range(span[0], span[1])
    return cursor


def tags_in(
    language: str, root: tree_sitter.Node, data: bytes, cols: Columns,
    span: tuple[int, int] | None = None, stack: list[tuple[int, str, str]] | None = None,
) -> tuple[list[DefRow], set[int], list[ImportRow]]:
    found: dict[tuple[int, int], _Found] = {}
    imports: list[ImportRow] = []
    for pattern, caps in _cursor(language, "tags", span).matches(root):
        for cap, nodes in caps.items():
            if span is not None and not span[0] <= nodes[0].start_byte < span[1]:
                continue
            if cap.startswith("definition.") or cap == "scope.impl":
                kind = "impl" if cap == "scope.impl" else cap.split(".", 1)[1]
                node = nodes[0]
                name_nodes = caps.get("name")
                name_node = name_nodes[0] if name_nodes else _declarator_name(node)
                if name_node is None:
                    continue
                key = (name_node.start_byte, node.start_byte if kind == "impl" else -1)
                if key not in found or found[key][0] > pattern:
                    found[key] = (pattern, kind, node, name_node)
            elif cap.startswith("import."):
                imports.extend(_imports(language, cap, nodes[0]))
    defs, name_starts = _nest(language, found, data, cols, stack or [])
    return defs, name_starts, imports


def _declarator_name(node: tree_sitter.Node) -> tree_sitter.Node | None:
    """The name node of a C/C++ function definition (through pointer/reference declarators)."""
    current = node.child_by_field_name("declarator")
    for _ in range(12):
        if current is None:
            return None
        if current.type in _NAME_TYPES:
            return current
        current = current.child_by_field_name("declarator") or current.child_by_field_name("name")
    return None


def _split_name(language: str, raw: str) -> tuple[str, str]:
    """("Foo::bar", ...) -> ("bar", "Foo"): the plain name and a qualifying prefix."""
    if "::" in raw and language in ("cpp", "c"):
        raw = re.sub(r"<[^<>]*>", "", raw)
        parts = [p for p in raw.split("::") if p]
        return (parts[-1] if parts else raw), ".".join(parts[:-1])
    if language == "rust" and "<" in raw:
        raw = raw.split("<", 1)[0]
    return raw, ""


def _nest(
    language: str,
    found: dict[tuple[int, int], _Found],
    data: bytes,
    cols: Columns,
    stack: list[tuple[int, str, str]],
) -> tuple[list[DefRow], set[int]]:
    """Order definitions, give them qualified names and method kinds from their nesting.

    ``stack`` holds the (end_byte, qualname, kind) of the scopes open around the definitions.
    """
    defs: list[DefRow] = []
    name_starts: set[int] = set()
    for _, kind, node, name_node in sorted(
        found.values(), key=lambda item: (item[2].start_byte, -item[2].end_byte)
    ):
        while stack and stack[-1][0] <= node.start_byte:
            stack.pop()
        if name_node is not None:
            name_starts.add(name_node.start_byte)
        name, prefix = _split_name(language, _text(name_node) if name_node else "")
        parent_q, parent_kind = (stack[-1][1], stack[-1][2]) if stack else ("", "")
        if kind == "function" and (parent_kind in _CONTAINER_KINDS or prefix):
            kind = "method"
        if language == "go" and kind == "method" and node.type == "method_declaration":
            prefix = _go_receiver(node)
        qual_parts = [p for p in (parent_q, prefix, name) if p]
        qualname = ".".join(qual_parts)
        sp, ep = node.start_point, node.end_point
        if ep[1] == 0 and ep[0] > sp[0]:  # the node ends with its newline (C macros)
            last = node.end_byte - 1
            ep = (ep[0] - 1, last - (data.rfind(b"\n", 0, last) + 1))
        defs.append((
            name, qualname, kind, sp[0], cols.col(sp[0], sp[1]), ep[0], cols.col(ep[0], ep[1]),
            _signature(node, kind, data), _doc(language, node),
        ))
        if kind in SCOPE_KINDS:
            stack.append((node.end_byte, qualname, kind))
    return defs, name_starts


def _go_receiver(node: tree_sitter.Node) -> str:
    receiver = node.child_by_field_name("receiver")
    if receiver is None:
        return ""
    words = re.findall(r"[A-Za-z_]\w*", _text(receiver).split("[", 1)[0])
    return words[-1] if words else ""


def _signature(node: tree_sitter.Node, kind: str, data: bytes) -> str:
    body = node.child_by_field_name("body")
    start, end = node.start_byte, node.end_byte
    if body is not None and body.start_byte > start and kind not in ("variable", "field"):
        end = body.start_byte
    end = min(end, start + _MAX_SIGNATURE_CHARS * 2)
    text = data[start:end].decode("utf-8", "replace")
    lines = text.split("\n")
    if body is None or kind in ("variable", "field", "constant", "type", "macro"):
        lines = lines[:1]
    text = "\n".join(line.rstrip() for line in lines[:_MAX_SIGNATURE_LINES]).rstrip()
    if text.endswith("{"):
        text = text[:-1].rstrip()
    return text[:_MAX_SIGNATURE_CHARS]


def _doc(language: str, node: tree_sitter.Node) -> str:
    if language == "python":
        doc = _python_docstring(node)
        if doc:
            return doc
    return _leading_comment(node)


def _python_docstring(node: tree_sitter.Node) -> str:
    body = node.child_by_field_name("body")
    if body is None or body.named_child_count == 0:
        return ""
    first = body.named_child(0)
    if first is None or first.type != "expression_statement":
        return ""
    string = first.named_child(0)
    if string is None or string.type != "string":
        return ""
    parts = [_text(c) for c in string.named_children if c.type == "string_content"]
    return inspect.cleandoc("".join(parts))[:_MAX_DOC_CHARS]


def _leading_comment(node: tree_sitter.Node) -> str:
    anchor = node
    while anchor.parent is not None and anchor.parent.type in _WRAPPERS:
        anchor = anchor.parent
    lines: list[str] = []
    expected_end = anchor.start_point[0]
    sibling = anchor.prev_sibling
    while sibling is not None:
        if sibling.type == "attribute_item" or sibling.type == "decorator":
            expected_end = sibling.start_point[0]
        elif "comment" in sibling.type and sibling.end_point[0] >= expected_end - 1:
            lines[:0] = _strip_comment(_text(sibling))
            expected_end = sibling.start_point[0]
        else:
            break
        sibling = sibling.prev_sibling
    return "\n".join(lines).strip()[:_MAX_DOC_CHARS]


def _strip_comment(text: str) -> list[str]:
    return [_COMMENT_MARKERS.sub("", line).rstrip().removesuffix("*/").rstrip()
            for line in text.split("\n")]


def _imports(language: str, cap: str, node: tree_sitter.Node) -> list[ImportRow]:
    line = node.start_point[0]
    if cap == "import.module":
        kind = {"go": "go", "java": "java", "c": "include", "cpp": "include"}.get(language, "path")
        return [(_text(node).strip("\"'`<>"), "", line, kind)]
    if cap == "import.mod":
        return [(_text(node), "", line, "rust_mod")]
    if cap == "import.use":
        return [(path, "", line, "rust_use") for path in expand_use(_text(node))]
    if cap == "import.stmt":
        return _python_import(node)
    return []


def _python_import(node: tree_sitter.Node) -> list[ImportRow]:
    line = node.start_point[0]
    if node.type == "import_statement":
        return [(_dotted(child), "", line, "py") for child in node.children_by_field_name("name")]
    module_node = node.child_by_field_name("module_name")
    if module_node is None:
        return []
    names = [_dotted(child) for child in node.children_by_field_name("name")]
    if any(child.type == "wildcard_import" for child in node.named_children):
        names.append("*")
    return [(_text(module_node).replace(" ", ""), ",".join(names), line, "pyfrom")]


def _dotted(node: tree_sitter.Node) -> str:
    if node.type == "aliased_import":
        inner = node.child_by_field_name("name")
        return _text(inner) if inner is not None else ""
    return _text(node)


def expand_use(text: str) -> list[str]:
    """Rust ``use`` argument -> full paths: ``a::{b, c::D as E}`` -> ``["a::b", "a::c::D"]``."""
    text = re.sub(r"\s+as\s+[A-Za-z_]\w*", "", text)
    text = re.sub(r"\s+", "", text)
    if "{" not in text:
        return [text]
    head, _, rest = text.partition("{")
    inner = rest[: rest.rfind("}")] if "}" in rest else rest
    out: list[str] = []
    for part in _split_top(inner):
        if part == "self":
            out.append(head.rstrip(":"))
        elif part:
            out.extend(head + sub for sub in expand_use(part))
    return out


def _split_top(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current = ""
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def refs_in(
    language: str, root: tree_sitter.Node, name_starts: set[int], cols: Columns,
    span: tuple[int, int] | None = None,
) -> dict[str, bytes]:
    grouped: dict[bytes, array] = {}
    for nodes in _cursor(language, "refs", span).captures(root).values():
        for node in nodes:
            start = node.start_byte
            if start in name_starts or (span is not None and not span[0] <= start < span[1]):
                continue
            row, col = node.start_point
            if not cols.ascii:
                col = cols.col(row, col)
            key = node.text or b""
            positions = grouped.get(key)
            if positions is None:
                positions = grouped[key] = array("I")
            positions.append(row)
            positions.append(col)
    return {k.decode("utf-8", "replace"): v.tobytes() for k, v in grouped.items()}

"""Source bytes -> compact facts (definitions, references, imports) with tree-sitter queries.

This runs in worker processes during a cold index, so everything it returns is plain tuples,
strings and ints that pickle small. One pass of the language's query (its tags and refs patterns
together, run with captures) finds definitions, their names, imports and identifier occurrences;
a name belongs to its nearest enclosing definition node. Python-side work is per definition;
identifier occurrences are only counted (in C) at index time: their positions are found again on
demand (``ref_positions``) for the few files a ``references`` query reads.
``chunks.BufferExtractor`` does the same for an open buffer, chunk by chunk (with positions).
"""

from __future__ import annotations

import errno
import hashlib
import inspect
import logging
import os
import re
from array import array
from collections import Counter
from dataclasses import dataclass
from operator import attrgetter

import tree_sitter

from context.index.languages import capture_priority, get_parser, get_query, ref_node_types
from context.index.model import SCOPE_KINDS

log = logging.getLogger(__name__)

__all__ = [
    "Columns", "DefRow", "Facts", "FileResult", "ImportRow", "extract", "facts_in",
    "read_and_extract", "ref_positions",
]

# (name, qualname, kind, start_line, start_col, end_line, end_col, signature, doc)
DefRow = tuple[str, str, str, int, int, int, int, str, str]
# (module, names, line, kind)
ImportRow = tuple[str, str, int, str]

# (priority, kind, definition node, name node) of one definition
_Found = tuple[int, str, tree_sitter.Node, tree_sitter.Node | None]

_MAX_NAME_DEPTH = 6  # how far above its name a definition node may be
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
_NODE_TEXT = attrgetter("text")
# a comment (or a Rust attribute / Python decorator, which the sibling walk steps over) may start
_COMMENT_BYTES = re.compile(rb"#|//|/\*|\*/|@|^\s*\*", re.MULTILINE)
_ONE_LINE_KINDS = frozenset({"variable", "field", "constant", "type", "macro"})


@dataclass(frozen=True)
class Facts:
    """What one file defines, references and imports. ``refs``: name -> packed (line, col)s,
    or, when only counts were extracted (a cold index), empty with ``counts`` set instead."""

    defs: tuple[DefRow, ...]
    refs: dict[str, bytes]
    imports: tuple[ImportRow, ...]
    lines: int
    counts: dict[str, int] | None = None

    def ref_counts(self) -> dict[str, int]:
        """Name -> number of occurrences (what the store keeps)."""
        if self.counts is not None:
            return self.counts
        return {name: len(blob) // 8 for name, blob in self.refs.items()}


@dataclass(frozen=True)
class FileResult:
    """The outcome of reading one file: status is "parsed", "unchanged" or "skipped";
    ``stored``: a worker process already wrote the facts to the store (they are not sent)."""

    path: str
    status: str
    reason: str = ""
    size: int = 0
    mtime_ns: int = 0
    digest: str = ""
    facts: Facts | None = None
    replaced: bool = False
    stored: bool = False


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
    facts, _ = extract(language, data, positions=False)
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
    *,
    positions: bool = True,
) -> tuple[Facts, tree_sitter.Tree]:
    """Parse (incrementally when ``old_tree`` was edited to match) and extract the facts;
    without ``positions`` identifier occurrences are only counted (``Facts.counts``)."""
    parser = parser or get_parser(language)
    tree = parser.parse(data, old_tree) if old_tree is not None else parser.parse(data)
    root = tree.root_node
    cols = Columns(data)
    lines = data.count(b"\n") + 1
    if not positions:
        defs, counts, imports = _counted_facts(language, root, data, cols)
        return Facts(tuple(defs), {}, tuple(imports), lines, counts), tree
    defs, refs, imports = facts_in(language, root, data, cols)
    return Facts(tuple(defs), refs, tuple(imports), lines), tree


def ref_positions(
    language: str, data: bytes, parser: tree_sitter.Parser | None = None
) -> dict[str, bytes]:
    """Identifier occurrences of a whole file (name -> packed (line, col)s), as ``extract``
    finds them, without the work on definitions (signatures, docs, qualified names)."""
    parser = parser or get_parser(language)
    caps = _cursor(language, None).captures(parser.parse(data).root_node)
    def_nodes, _ = _definitions_and_imports(language, caps, imports=False)
    found = _pair_names(caps.get("name", ()), def_nodes)
    names = [name for _, _, _, name in found.values() if name is not None]
    return _refs(caps.get("ref", ()), names, Columns(data))


def _counted_facts(
    language: str, root: tree_sitter.Node, data: bytes, cols: Columns
) -> tuple[list[DefRow], dict[str, int], list[ImportRow]]:
    """``facts_in`` for a whole tree, with identifier occurrences counted instead of placed."""
    caps = _cursor(language, None).captures(root)
    def_nodes, imports = _definitions_and_imports(language, caps)
    found = _pair_names(caps.get("name", ()), def_nodes)
    defs, def_names = _nest(language, found, data, cols, [])
    counts = _ref_counts(language, caps.get("ref", ()), def_names)
    imports.sort(key=lambda row: row[2])
    return defs, counts, imports


class Columns:
    """Byte columns -> code point columns (identity for ASCII files)."""

    def __init__(self, data: bytes) -> None:
        self.ascii = data.isascii()
        self._wide: dict[int, bytes] = {}  # the lines that are not ASCII
        if not self.ascii:
            self._wide = {row: line for row, line in enumerate(data.split(b"\n"))
                          if not line.isascii()}

    def col(self, row: int, byte_col: int) -> int:
        line = self._wide.get(row)
        if line is None:
            return byte_col
        return len(line[:byte_col].decode("utf-8", "replace"))


def _text(node: tree_sitter.Node) -> str:
    raw = node.text
    return raw.decode("utf-8", "replace") if raw is not None else ""


def _cursor(language: str, span: tuple[int, int] | None) -> tree_sitter.QueryCursor:
    cursor = tree_sitter.QueryCursor(get_query(language, "all"))
    if span is not None:
        cursor.set_byte_range(span[0], span[1])
    return cursor


def facts_in(
    language: str, root: tree_sitter.Node, data: bytes, cols: Columns,
    span: tuple[int, int] | None = None, stack: list[tuple[int, str, str]] | None = None,
) -> tuple[list[DefRow], dict[str, bytes], list[ImportRow]]:
    """Definitions, references and imports of a tree (or of the nodes starting in ``span``),
    from one pass of the language's query; ``stack`` = scopes open around the span."""
    caps = _cursor(language, span).captures(root)
    if span is not None:
        caps = {cap: [n for n in nodes if span[0] <= n.start_byte < span[1]]
                for cap, nodes in caps.items()}
    def_nodes, imports = _definitions_and_imports(language, caps)
    found = _pair_names(caps.get("name", ()), def_nodes)
    defs, def_names = _nest(language, found, data, cols, stack or [])
    refs = _refs(caps.get("ref", ()), def_names, cols)
    imports.sort(key=lambda row: row[2])
    return defs, refs, imports


def _definitions_and_imports(
    language: str, caps: dict[str, list[tree_sitter.Node]], imports: bool = True,
) -> tuple[dict[int, tuple[int, str, tree_sitter.Node]], list[ImportRow]]:
    """Definition nodes by node id -> (priority, kind, node), and the import rows."""
    priority = capture_priority(language)
    defs: dict[int, tuple[int, str, tree_sitter.Node]] = {}
    rows: list[ImportRow] = []
    for cap, nodes in caps.items():
        if cap.startswith("definition.") or cap == "scope.impl":
            kind = "impl" if cap == "scope.impl" else cap.split(".", 1)[1]
            rank = priority[cap]
            for node in nodes:
                known = defs.get(node.id)
                if known is None or known[0] > rank:
                    defs[node.id] = (rank, kind, node)
        elif imports and cap.startswith("import."):
            for node in nodes:
                rows.extend(_imports(language, cap, node))
    return defs, rows


def _pair_names(
    names: list[tree_sitter.Node], defs: dict[int, tuple[int, str, tree_sitter.Node]]
) -> dict[int, _Found]:
    """Each name belongs to its nearest enclosing definition node; definitions no name claimed
    (C/C++ functions) find theirs through their declarators."""
    found: dict[int, _Found] = {}
    claimed: set[int] = set()
    for name in names:
        owner = name.parent
        for _ in range(_MAX_NAME_DEPTH):
            if owner is None or owner.id in defs:
                break
            owner = owner.parent
        if owner is None or owner.id not in defs:
            continue
        rank, kind, node = defs[owner.id]
        found.setdefault(name.start_byte, (rank, kind, node, name))
        claimed.add(owner.id)
    for node_id, (rank, kind, node) in defs.items():
        if node_id in claimed:
            continue
        name = _declarator_name(node)
        if name is not None:
            found.setdefault(name.start_byte, (rank, kind, node, name))
    return found


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
    found: dict[int, _Found],
    data: bytes,
    cols: Columns,
    stack: list[tuple[int, str, str]],
) -> tuple[list[DefRow], list[tree_sitter.Node]]:
    """Order definitions, give them qualified names and method kinds from their nesting
    (returns the rows and the definitions' name nodes).

    ``stack`` holds the (end_byte, qualname, kind) of the scopes open around the definitions.
    """
    defs: list[DefRow] = []
    def_names: list[tree_sitter.Node] = []
    col = None if cols.ascii else cols.col
    for _, kind, node, name_node in sorted(found.values(), key=_def_order):
        start = node.start_byte
        while stack and stack[-1][0] <= start:
            stack.pop()
        if name_node is not None:
            def_names.append(name_node)
            raw = name_node.text
            name, prefix = _split_name(language, raw.decode("utf-8", "replace") if raw else "")
        else:
            name, prefix = "", ""
        parent_q, parent_kind = (stack[-1][1], stack[-1][2]) if stack else ("", "")
        if kind == "function" and (parent_kind in _CONTAINER_KINDS or prefix):
            kind = "method"
        if language == "go" and kind == "method" and node.type == "method_declaration":
            prefix = _go_receiver(node)
        qualname = ".".join([p for p in (parent_q, prefix, name) if p])
        sp, ep = node.start_point, node.end_point
        if ep[1] == 0 and ep[0] > sp[0]:  # the node ends with its newline (C macros)
            last = node.end_byte - 1
            ep = (ep[0] - 1, last - (data.rfind(b"\n", 0, last) + 1))
        sc, ec = (sp[1], ep[1]) if col is None else (col(sp[0], sp[1]), col(ep[0], ep[1]))
        defs.append((name, qualname, kind, sp[0], sc, ep[0], ec,
                     *_signature_and_doc(language, node, kind, data)))
        if kind in SCOPE_KINDS:
            stack.append((node.end_byte, qualname, kind))
    return defs, def_names


def _def_order(item: _Found) -> tuple[int, int]:
    node = item[2]
    return node.start_byte, -node.end_byte


def _go_receiver(node: tree_sitter.Node) -> str:
    receiver = node.child_by_field_name("receiver")
    if receiver is None:
        return ""
    words = re.findall(r"[A-Za-z_]\w*", _text(receiver).split("[", 1)[0])
    return words[-1] if words else ""


def _signature_and_doc(
    language: str, node: tree_sitter.Node, kind: str, data: bytes
) -> tuple[str, str]:
    """A definition's signature and its doc (looking its body up once for both)."""
    body = None if kind in _ONE_LINE_KINDS else node.child_by_field_name("body")
    doc = _python_docstring(body) if language == "python" else ""
    return _signature(node, body, kind, data), doc or _leading_comment(node, data)


def _signature(node: tree_sitter.Node, body: tree_sitter.Node | None, kind: str,
               data: bytes) -> str:
    start, end = node.start_byte, node.end_byte
    if body is not None and body.start_byte > start and kind not in ("variable", "field"):
        end = body.start_byte
    end = min(end, start + _MAX_SIGNATURE_CHARS * 2)
    if body is None or kind in _ONE_LINE_KINDS:  # only the first line: cut before decoding
        newline = data.find(b"\n", start, end)
        text = data[start:end if newline < 0 else newline].decode("utf-8", "replace").rstrip()
    else:
        chunk = data[start:end].rstrip()
        if b"\n" not in chunk:  # most signatures: one line
            text = chunk.decode("utf-8", "replace")
        else:
            lines = chunk.decode("utf-8", "replace").split("\n")
            text = "\n".join(line.rstrip() for line in lines[:_MAX_SIGNATURE_LINES]).rstrip()
    if text.endswith("{"):
        text = text[:-1].rstrip()
    return text[:_MAX_SIGNATURE_CHARS]


def _python_docstring(body: tree_sitter.Node | None) -> str:
    """The docstring at the start of a Python body, cleaned."""
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


def _leading_comment(node: tree_sitter.Node, data: bytes) -> str:
    anchor = node
    while anchor.parent is not None and anchor.parent.type in _WRAPPERS:
        anchor = anchor.parent
    if not _may_follow_comment(data, anchor.start_byte):
        return ""
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


def _may_follow_comment(data: bytes, start: int) -> bool:
    """Cheap pre-check for ``_leading_comment``: False when the line before ``start``'s line
    (and ``start``'s own line up to it) holds no comment marker and no attribute, so that no
    comment can end where a leading comment must (the walk over siblings would find none)."""
    line_start = data.rfind(b"\n", 0, start) + 1
    if line_start == 0:
        return start > 0 and _COMMENT_BYTES.search(data, 0, start) is not None
    previous = data.rfind(b"\n", 0, line_start - 1) + 1
    return _COMMENT_BYTES.search(data, previous, start) is not None


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


def _refs(nodes: list[tree_sitter.Node], def_names: list[tree_sitter.Node],
          cols: Columns) -> dict[str, bytes]:
    """Identifier occurrences grouped by name (name -> packed (line, col) pairs), without the
    names of definitions themselves."""
    grouped: dict[bytes, array] = {}
    wide = not cols.ascii
    for node in nodes:
        row, col = node.start_point
        if wide:
            col = cols.col(row, col)
        key = node.text or b""
        positions = grouped.get(key)
        if positions is None:
            positions = grouped[key] = array("I")
        positions.append(row)
        positions.append(col)
    for name in def_names:
        _drop(grouped, name, cols)
    return {k.decode("utf-8", "replace"): v.tobytes() for k, v in grouped.items() if v}


def _ref_counts(language: str, nodes: list[tree_sitter.Node],
                def_names: list[tree_sitter.Node]) -> dict[str, int]:
    """Identifier occurrences counted by name (in C), without the names of definitions
    themselves: the counts of ``_refs``' positions. A definition's name is one of the
    occurrences exactly when its node type is one the refs patterns capture."""
    counts = Counter(map(_NODE_TEXT, nodes))
    captured = ref_node_types(language)
    for name in def_names:
        if name.type in captured:
            key = name.text
            left = counts.get(key, 0) - 1
            if left > 0:
                counts[key] = left
            else:
                counts.pop(key, None)
    return {(k or b"").decode("utf-8", "replace"): v for k, v in counts.items()}


def _drop(grouped: dict[bytes, array], name: tree_sitter.Node, cols: Columns) -> None:
    """Remove one definition's own name from the occurrences (it is not a reference)."""
    positions = grouped.get(name.text or b"")
    if not positions:
        return
    row, col = name.start_point
    col = cols.col(row, col)
    for i in range(0, len(positions), 2):
        if positions[i] == row and positions[i + 1] == col:
            del positions[i:i + 2]
            return

"""Model rewrites → minimal, workspace-confined `WorkspaceEdit`s.

- `minimal_edits(old, new)`: a difflib line diff, each changed block trimmed to the characters
  that differ, as `TextChange`s (0-based lines, code-point columns).
- `Region`/`enclosing_function`/`function_named`: the part of a file a rewrite replaces (Python:
  `ast`, decorators included; other languages or unparsable text: an indentation heuristic).
- `code_block` pulls the first fenced block out of an answer; `replace_region` splices it in,
  re-indented to the region and written with the file's own line ending.
- Lines are LSP lines everywhere (`convert.lsp_lines`: only \\n, \\r\\n and \\r end a line, as
  for the client and Python's parser), never `str.splitlines()`, which also breaks at \\f, \\v,
  \\x1c-\\x1e, \\x85, U+2028 and U+2029 and so shifts every line after such a character.
- `confine` refuses any path that resolves outside the workspace root (symlinks and `..`).
- `workspace_edit` is the one spot here that builds lsprotocol edits from `TextChange`s.
- `apply_code_block_edit` serves chat's `codeflow.applyCodeBlock`.
"""

from __future__ import annotations

import ast
import difflib
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.uris import to_fs_path

from .. import convert

if TYPE_CHECKING:
    from ..server import CodeflowServer

FENCE = re.compile(r"```[^\n`]*\n(.*?)(?:```|\Z)", re.DOTALL)
NEWLINE = re.compile(r"\r\n|\r|\n")
DEF_LINE = re.compile(r"^([ \t]*)(?:async\s+def|def|class)\s+(\w+)", re.MULTILINE)


class OutsideWorkspace(ValueError):
    """An edit's path resolves outside the workspace root (or there is no workspace)."""


@dataclass(frozen=True)
class TextChange:
    """Replace [start, end) with `text`; 0-based lines, code-point columns."""

    start_line: int
    start_col: int
    end_line: int
    end_col: int
    text: str


@dataclass(frozen=True)
class Region:
    """Lines start..end (0-based, inclusive) of a definition named `name`, indented by `indent`."""

    start_line: int
    end_line: int
    name: str
    indent: str


# ---- diffs ------------------------------------------------------------------------------------
def _line_col(text: str, offset: int) -> tuple[int, int]:
    """(line, column) of `offset`; lines end at \\n, \\r\\n or \\r, as LSP counts them."""
    lines = convert.lsp_lines(text[:offset])
    if not lines:
        return 0, 0
    if lines[-1].endswith(("\n", "\r")):
        return len(lines), 0
    return len(lines) - 1, len(lines[-1])


def _trimmed(old: str, new: str, base: int, old_text: str) -> TextChange:
    """The change old→new at offset `base` of old_text, without common prefix/suffix."""
    lo = 0
    while lo < min(len(old), len(new)) and old[lo] == new[lo]:
        lo += 1
    hi = 0
    while hi < min(len(old), len(new)) - lo and old[-1 - hi] == new[-1 - hi]:
        hi += 1
    if 0 < lo < len(old) and old[lo - 1 : lo + 1] == "\r\n":
        lo -= 1  # LSP cannot address the point between \r and \n: keep the pair whole
    if hi and old[len(old) - hi - 1 : len(old) - hi + 1] == "\r\n":
        hi -= 1
    start = _line_col(old_text, base + lo)
    end = _line_col(old_text, base + len(old) - hi)
    return TextChange(start[0], start[1], end[0], end[1], new[lo : len(new) - hi])


def minimal_edits(old_text: str, new_text: str) -> list[TextChange]:
    """Non-overlapping changes (in document order) that turn `old_text` into `new_text`."""
    old_lines = convert.lsp_lines(old_text)
    new_lines = convert.lsp_lines(new_text)
    offsets = [0]
    for line in old_lines:
        offsets.append(offsets[-1] + len(line))
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    changes = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        old = "".join(old_lines[i1:i2])
        new = "".join(new_lines[j1:j2])
        changes.append(_trimmed(old, new, offsets[i1], old_text))
    return changes


def apply_changes(text: str, changes: list[TextChange]) -> str:
    """Apply `TextChange`s (as `minimal_edits` returns them) to `text`."""
    lines = convert.lsp_lines(text) or [""]
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    out, pos = [], 0
    for ch in changes:
        a = starts[min(ch.start_line, len(lines))] + ch.start_col
        b = starts[min(ch.end_line, len(lines))] + ch.end_col
        out.append(text[pos:a])
        out.append(ch.text)
        pos = b
    out.append(text[pos:])
    return "".join(out)


# ---- regions ----------------------------------------------------------------------------------
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


def _bare_lines(text: str) -> list[str]:
    """LSP lines without their endings (what ast's line numbers count)."""
    return [line.rstrip("\r\n") for line in convert.lsp_lines(text)]


def newline_of(text: str) -> str:
    """The first line ending in `text` (\\n when it has none)."""
    match = NEWLINE.search(text)
    return match.group() if match else "\n"


def _with_newline(code: str, nl: str) -> str:
    """`code` with every line ending written as `nl`."""
    return NEWLINE.sub(nl, code)


def enclosing_function(text: str, line: int, functions_only: bool = True) -> Region | None:
    """The innermost function (or class, unless `functions_only`) around `line` (0-based)."""
    lines = _bare_lines(text)
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
    lines = _bare_lines(text)
    defs = _python_defs(text)
    if defs is None:
        found = [m for m in DEF_LINE.finditer(text) if m.group(2) == name]
        return _heuristic_region(lines, _line_col(text, found[0].start())[0]) if found else None
    matches = [_region_of(n, lines) for n in defs if getattr(n, "name", None) == name]
    return min(matches, key=lambda r: len(r.indent)) if matches else None


def python_functions(text: str) -> tuple[tuple[Region, bool], ...] | None:
    """Every function of a Python text with whether it has a docstring, from one parse
    (None when the text does not parse)."""
    defs = _python_defs(text)
    if defs is None:
        return None
    lines = _bare_lines(text)
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
    lines = convert.lsp_lines(text)
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
    return _heuristic_region(_bare_lines(text), line)


def has_docstring(text: str, region: Region) -> bool:
    """Whether the definition at `region` starts with a docstring (Python only)."""
    defs = _python_defs(text) or []
    lines = _bare_lines(text)
    for node in defs:
        if _region_of(node, lines) == region:
            return ast.get_docstring(node) is not None  # type: ignore[arg-type]
    return False


def region_text(text: str, region: Region) -> str:
    """The source lines of `region`, with their endings."""
    lines = convert.lsp_lines(text)
    return "".join(lines[region.start_line : region.end_line + 1])


# ---- code blocks ------------------------------------------------------------------------------
def code_block(answer: str) -> str | None:
    """The first fenced code block of a model answer (an unclosed last one counts)."""
    match = FENCE.search(answer)
    if match is None:
        return None
    code = match.group(1)
    return code if code.strip() else None


def defined_name(code: str) -> str | None:
    """The name of the first `def`/`class` in `code`."""
    match = DEF_LINE.search(code)
    return match.group(2) if match else None


def reindent(code: str, indent: str) -> str:
    """`code` dedented, then indented by `indent`, ending with one newline (\\n endings)."""
    body = textwrap.dedent(_with_newline(code, "\n")).strip("\n") + "\n"
    return "".join(indent + ln if ln.strip() else ln for ln in convert.lsp_lines(body))


def replace_region(text: str, region: Region, code: str) -> str:
    """`text` with the lines of `region` replaced by `code` (re-indented to the region, in the
    line ending of the region's last line)."""
    lines = convert.lsp_lines(text)
    tail = "".join(lines[region.end_line + 1 :])
    last = lines[min(region.end_line, len(lines) - 1)] if lines else ""
    nl = newline_of(last) if last.endswith(("\n", "\r")) else newline_of(text)
    new = _with_newline(reindent(code, region.indent), nl)
    if region.end_line + 1 >= len(lines) and lines and not lines[-1].endswith(("\n", "\r")):
        new = new.removesuffix(nl)
    return "".join(lines[: region.start_line]) + new + tail


# ---- workspace confinement and LSP edits ------------------------------------------------------
def confine(root: Path | None, uri: str) -> Path:
    """The file of `uri` if it resolves (symlinks, `..`) inside `root`; else `OutsideWorkspace`."""
    if root is None:
        raise OutsideWorkspace("there is no workspace folder to edit in")
    fs = to_fs_path(uri) if "://" in uri else uri
    if not fs or not Path(fs).is_absolute():
        raise OutsideWorkspace(f"not an absolute file path: {uri}")
    path = Path(fs).resolve()
    try:
        path.relative_to(root.resolve())
    except ValueError:
        raise OutsideWorkspace(f"refusing to edit {path}: it is outside the workspace") from None
    return path


def text_edits(text: str, changes: list[TextChange]) -> list[types.TextEdit]:
    """`TextChange`s (code points) → LSP `TextEdit`s (UTF-16 positions) against `text`."""
    lines = convert.split_lines(text)
    return [
        types.TextEdit(
            types.Range(
                convert.to_position(lines, c.start_line, c.start_col),
                convert.to_position(lines, c.end_line, c.end_col),
            ),
            c.text,
        )
        for c in changes
    ]


def workspace_edit(
    uri: str, text: str, new_text: str, version: int | None = None
) -> types.WorkspaceEdit:
    """The minimal-changes `WorkspaceEdit` text→new_text (versioned when `version` is set)."""
    edits: list[Any] = text_edits(text, minimal_edits(text, new_text))
    if version is None:
        return types.WorkspaceEdit(changes={uri: edits})
    doc = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
    return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(doc, edits)])


def _workspace_edit_caps(ls: CodeflowServer) -> Any:
    caps = getattr(ls, "client_capabilities", None)
    workspace = getattr(caps, "workspace", None)
    return getattr(workspace, "workspace_edit", None)


def edit_version(ls: CodeflowServer, uri: str) -> int | None:
    """The open document's version when the client takes versioned `documentChanges`."""
    caps = _workspace_edit_caps(ls)
    return ls.versions.get(uri) if caps is not None and caps.document_changes else None


def can_create_files(ls: CodeflowServer) -> bool:
    """Whether the client applies `CreateFile` operations in a `WorkspaceEdit`."""
    caps = _workspace_edit_caps(ls)
    ops = (caps.resource_operations or []) if caps is not None and caps.document_changes else []
    return types.ResourceOperationKind.Create in ops


def create_file_edit(uri: str, content: str) -> types.WorkspaceEdit:
    """A `WorkspaceEdit` that creates `uri` and fills it with `content`."""
    doc = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None)
    insert = types.TextEdit(types.Range(types.Position(0, 0), types.Position(0, 0)), content)
    return types.WorkspaceEdit(
        document_changes=[
            types.CreateFile(uri=uri, options=types.CreateFileOptions(ignore_if_exists=True)),
            types.TextDocumentEdit(doc, [insert]),
        ]
    )


def current_text(ls: CodeflowServer, uri: str, path: Path) -> str:
    """The open buffer of `uri`, else the file on disk ('' when it does not exist)."""
    text = ls.document_text(uri)
    if text is not None:
        return text
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:
        raise JsonRpcInvalidParams(f"cannot read {path}: {exc}") from exc


def _range_offsets(text: str, rng: dict[str, Any]) -> tuple[int, int]:
    lines = convert.split_lines(text)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    out = []
    for key in ("start", "end"):
        pos = rng.get(key) or {}
        line, col = convert.clamp_position(
            lines, int(pos.get("line", 0)), int(pos.get("character", 0))
        )
        out.append(starts[line] + col)
    return min(out), max(out)


def code_block_text(text: str, code: str, rng: dict[str, Any] | None) -> str:
    """`text` with `code` put in: over `rng` (as is), over the definition it names, or appended
    (both in the file's line ending)."""
    if rng:  # exactly what was asked for, as a client's own edit would be
        a, b = _range_offsets(text, rng)
        return text[:a] + code + text[b:]
    nl = newline_of(text)
    name = defined_name(code)
    region = function_named(text, name) if name else None
    if region is not None:
        return replace_region(text, region, code)
    head = text.rstrip("\r\n") + nl * 3 if text.strip() else ""
    return head + _with_newline(code.strip("\r\n"), nl) + nl


def apply_code_block_edit(ls: CodeflowServer, arg: dict[str, Any]) -> types.WorkspaceEdit:
    """`{uri, code, range?}` → the `WorkspaceEdit` that puts a chat code block into the file."""
    uri = str(arg["uri"])
    try:
        path = confine(ls.root, uri)
    except OutsideWorkspace as exc:
        raise JsonRpcInvalidParams(f"codeflow: {exc}") from exc
    text = current_text(ls, uri, path)
    new_text = code_block_text(text, str(arg["code"]), arg.get("range"))
    return workspace_edit(uri, text, new_text, edit_version(ls, uri))

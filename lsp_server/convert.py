"""The one place that converts between our values and LSP types (and JSON-RPC plain data).

Positions: LSP columns are UTF-16 code units (the negotiated encoding); our rooms speak
code-point columns. `to_offset`/`to_position` convert and clamp invalid positions.
"""

from __future__ import annotations

import re
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled


def plain(obj: Any) -> Any:
    """pygls params of custom methods (namedtuples) → plain dicts/lists."""
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    if hasattr(obj, "_asdict"):
        return {k: plain(v) for k, v in obj._asdict().items()}
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    if hasattr(obj, "__attrs_attrs__"):
        from lsprotocol import converters

        return converters.get_converter().unstructure(obj)
    return obj


def request_cancelled(reason: str = "cancelled") -> JsonRpcRequestCancelled:
    """The error a cancelled or superseded request answers with (code -32800)."""
    return JsonRpcRequestCancelled(f"request cancelled: {reason}")


LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def scrub(text: str) -> str:
    """`text` with lone surrogates replaced by U+FFFD: a client may send them (JS strings hold
    them), but UTF-8 cannot, so tokenizers and tree-sitter refuse such text. Same length."""
    return LONE_SURROGATE.sub("\ufffd", text)


def utf16_len(text: str) -> int:
    """Length of `text` in UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2  # a lone surrogate: 1 unit


def clamp_position(lines: list[str], line: int, character: int) -> tuple[int, int]:
    """Clamp an LSP (line, UTF-16 column) to the document; returns (line, code-point column)."""
    if not lines:
        return 0, 0
    if line >= len(lines):  # past the last line: the end of the document
        return len(lines) - 1, len(lines[-1].rstrip("\r\n"))
    line = max(line, 0)
    text = lines[line].rstrip("\r\n")
    units = 0
    for col, ch in enumerate(text):
        width = 2 if ord(ch) > 0xFFFF else 1
        if units + width > max(character, 0):
            return line, col
        units += width
    return line, len(text)


def to_position(lines: list[str], line: int, col: int) -> types.Position:
    """(line, code-point column) → LSP Position in UTF-16 units."""
    if not lines:
        return types.Position(0, 0)
    line = min(max(line, 0), len(lines) - 1)
    text = lines[line].rstrip("\r\n")
    return types.Position(line, utf16_len(text[: max(col, 0)]))


LSP_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
"""One LSP line with its ending: only \\n, \\r\\n and \\r end lines (not \\f, \\x85, U+2028...)."""


def lsp_lines(text: str) -> list[str]:
    """`text` split into LSP lines, endings kept (no extra empty last line)."""
    return LSP_LINE.findall(text)


def split_lines(text: str) -> list[str]:
    """Lines with their endings, always at least one (possibly empty) line."""
    lines = lsp_lines(text)
    if not lines or lines[-1].endswith(("\n", "\r")):
        lines.append("")
    return lines

"""The one place that converts between our values and LSP types (and JSON-RPC plain data).

Positions: LSP columns are UTF-16 code units (the negotiated encoding); our rooms speak
code-point columns. `to_offset`/`to_position` convert and clamp invalid positions.
"""

from __future__ import annotations

import re
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled

from actions.lines import LSP_LINE, clamp_position, lsp_lines, split_lines

__all__ = [
    "LSP_LINE",
    "clamp_position",
    "lsp_lines",
    "plain",
    "request_cancelled",
    "scrub",
    "split_lines",
    "to_position",
    "utf16_len",
]


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


def to_position(lines: list[str], line: int, col: int) -> types.Position:
    """(line, code-point column) → LSP Position in UTF-16 units."""
    if not lines:
        return types.Position(0, 0)
    line = min(max(line, 0), len(lines) - 1)
    text = lines[line].rstrip("\r\n")
    return types.Position(line, utf16_len(text[: max(col, 0)]))

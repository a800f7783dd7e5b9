"""The LSP line model: only \\n, \\r\\n and \\r end a line, as for the client and Python's parser.

Never `str.splitlines()`, which also breaks at \\f, \\v, \\x1c-\\x1e, \\x85, U+2028 and U+2029
and so shifts every line after such a character. `clamp_position` maps an LSP (line, UTF-16
column) onto a document's code-point columns.
"""

from __future__ import annotations

import re

LSP_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
"""One LSP line with its ending: only \\n, \\r\\n and \\r end lines (not \\f, \\x85, U+2028...)."""
NEWLINE = re.compile(r"\r\n|\r|\n")


def lsp_lines(text: str) -> list[str]:
    """`text` split into LSP lines, endings kept (no extra empty last line)."""
    return LSP_LINE.findall(text)


def split_lines(text: str) -> list[str]:
    """Lines with their endings, always at least one (possibly empty) line."""
    lines = lsp_lines(text)
    if not lines or lines[-1].endswith(("\n", "\r")):
        lines.append("")
    return lines


def bare_lines(text: str) -> list[str]:
    """LSP lines without their endings (what a parser's line numbers count)."""
    return [line.rstrip("\r\n") for line in lsp_lines(text)]


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


def line_col(text: str, offset: int) -> tuple[int, int]:
    """(line, column) of `offset`; lines end at \\n, \\r\\n or \\r, as LSP counts them."""
    lines = lsp_lines(text[:offset])
    if not lines:
        return 0, 0
    if lines[-1].endswith(("\n", "\r")):
        return len(lines), 0
    return len(lines) - 1, len(lines[-1])


def newline_of(text: str) -> str:
    """The first line ending in `text` (\\n when it has none)."""
    match = NEWLINE.search(text)
    return match.group() if match else "\n"


def with_newline(code: str, nl: str) -> str:
    """`code` with every line ending written as `nl`."""
    return NEWLINE.sub(nl, code)

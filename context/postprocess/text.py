"""Plain-text helpers: special tokens, indentation, cursor lines, UTF-16 lengths."""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = [
    "cut_special_tokens",
    "cursor_line",
    "indent_of",
    "indent_width",
    "unix",
    "utf16_len",
]

SPECIAL_TOKEN = re.compile(
    r"<\|[^<>|\s]{1,64}\|>"  # <|endoftext|>, <|fim_middle|>, <|im_end|>
    r"|<｜[^<>｜\s]{1,64}｜>"  # <｜fim▁hole｜> (DeepSeek, full-width bars)
    r"|<fim[_-][A-Za-z_]{1,32}>"  # <fim_prefix>, <fim-middle>
    r"|<(?:PRE|SUF|MID|EOT)>"  # Code Llama infilling
)


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (LSP columns): astral characters count 2."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def unix(text: str) -> str:
    """``text`` with CRLF line ends turned into LF."""
    return text.replace("\r\n", "\n")


def cut_special_tokens(text: str, special_tokens: Sequence[str] = ()) -> str:
    """``text`` up to the first special token; nothing after a special token survives."""
    end = len(text)
    match = SPECIAL_TOKEN.search(text)
    if match:
        end = match.start()
    for token in special_tokens:
        if token:
            at = text.find(token, 0, end + len(token) - 1)
            if 0 <= at < end:
                end = at
    return text[:end]


def indent_of(line: str) -> str:
    """The leading whitespace of ``line``."""
    return line[: len(line) - len(line.lstrip(" \t"))]


def indent_width(line: str) -> int:
    """Visual width of the leading whitespace of ``line`` (tabs to 4 columns)."""
    return len(indent_of(line).expandtabs(4))


def cursor_line(prefix: str, suffix: str) -> tuple[str, str]:
    """The cursor line's text left and right of the cursor."""
    return prefix[prefix.rfind("\n") + 1 :], suffix.split("\n", 1)[0]

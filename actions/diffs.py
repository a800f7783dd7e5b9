"""Minimal diffs in the LSP line model and the splicing of model code into a file.

- `minimal_edits(old, new)`: a difflib line diff, each changed block trimmed to the characters
  that differ, as `TextChange`s (0-based lines, code-point columns); `apply_changes` undoes it.
- `code_block` pulls the first fenced block out of an answer; `replace_region` splices it in,
  re-indented to the region and written with the file's own line ending; `code_block_text`
  puts a chat code block into a file (over a range, over the definition it names, or appended).
"""

from __future__ import annotations

import difflib
import re
import textwrap
from dataclasses import dataclass
from typing import Any

from .lines import clamp_position, line_col, lsp_lines, newline_of, split_lines, with_newline
from .regions import DEF_LINE, Region, function_named

__all__ = [
    "TextChange",
    "apply_changes",
    "code_block",
    "code_block_text",
    "defined_name",
    "minimal_edits",
    "reindent",
    "replace_region",
]

FENCE = re.compile(r"```[^\n`]*\n(.*?)(?:```|\Z)", re.DOTALL)


@dataclass(frozen=True)
class TextChange:
    """Replace [start, end) with `text`; 0-based lines, code-point columns."""

    start_line: int
    start_col: int
    end_line: int
    end_col: int
    text: str


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
    start = line_col(old_text, base + lo)
    end = line_col(old_text, base + len(old) - hi)
    return TextChange(start[0], start[1], end[0], end[1], new[lo : len(new) - hi])


def minimal_edits(old_text: str, new_text: str) -> list[TextChange]:
    """Non-overlapping changes (in document order) that turn `old_text` into `new_text`."""
    old_lines = lsp_lines(old_text)
    new_lines = lsp_lines(new_text)
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
    lines = lsp_lines(text) or [""]
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
    body = textwrap.dedent(with_newline(code, "\n")).strip("\n") + "\n"
    return "".join(indent + ln if ln.strip() else ln for ln in lsp_lines(body))


def replace_region(text: str, region: Region, code: str) -> str:
    """`text` with the lines of `region` replaced by `code` (re-indented to the region, in the
    line ending of the region's last line)."""
    lines = lsp_lines(text)
    tail = "".join(lines[region.end_line + 1 :])
    last = lines[min(region.end_line, len(lines) - 1)] if lines else ""
    nl = newline_of(last) if last.endswith(("\n", "\r")) else newline_of(text)
    new = with_newline(reindent(code, region.indent), nl)
    if region.end_line + 1 >= len(lines) and lines and not lines[-1].endswith(("\n", "\r")):
        new = new.removesuffix(nl)
    return "".join(lines[: region.start_line]) + new + tail


def _range_offsets(text: str, rng: dict[str, Any]) -> tuple[int, int]:
    lines = split_lines(text)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    out = []
    for key in ("start", "end"):
        pos = rng.get(key) or {}
        line, col = clamp_position(
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
    return head + with_newline(code.strip("\r\n"), nl) + nl


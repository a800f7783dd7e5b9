"""Multi-line trimming: dedent stop, line budget, syntactic cut and suffix repetition."""

from __future__ import annotations

from .brackets import CLOSERS, balance
from .grammar import BRACE_LANGUAGES, error_count
from .text import indent_width

__all__ = ["block_indent", "cut_syntax", "drop_suffix_repeat", "stop_at_dedent"]


def _first_text_line(lines: list[str]) -> str | None:
    return next((line for line in lines if line.strip()), None)


def block_indent(left: str, lines: list[str], after_opener: bool) -> int:
    """Indent of the cursor's block: the cursor line's content, or (after a block opener, when
    the suggestion starts a new line) the suggestion's first new line."""
    if left.strip():
        new_line = _first_text_line(lines[1:]) if not lines[0].strip() else None
        if after_opener and new_line is not None:
            return indent_width(new_line)
        return indent_width(left)
    if lines[0].strip():
        return indent_width(left + lines[0])
    return indent_width(left)


def _closes_parent(line: str, kept: list[str], language: str | None, after_opener: bool) -> bool:
    """A dedented closing line that closes a block opened in the suggestion (or, after a block
    opener, the block being written; the syntactic cut then decides if it stays)."""
    if language not in BRACE_LANGUAGES or line.lstrip()[:1] not in CLOSERS:
        return False
    return bool(balance("\n".join(kept), language).open) or after_opener


def stop_at_dedent(
    lines: list[str], indent: int, language: str | None, after_opener: bool
) -> list[str]:
    """``lines`` up to (not including) the first line indented less than ``indent``; a brace
    language's closing line at the parent level that closes a block the suggestion opened is
    kept, and the suggestion ends there once the suggestion's own blocks are all closed."""
    kept = lines[:1]
    for line in lines[1:]:
        if not line.strip() or indent_width(line) >= indent:
            kept.append(line)
            continue
        if not _closes_parent(line, kept, language, after_opener):
            break
        kept.append(line)
        if not balance("\n".join(kept), language).open:
            break
    return kept


def _joined(lines: list[str]) -> str:
    return "\n".join(lines)


def cut_syntax(lines: list[str], pre: str, suf: str, language: str | None) -> list[str]:
    """Longest prefix (cut at a line end) that parses with no more ERROR/MISSING nodes than the
    document without it; if every cut adds errors, the shortest non-empty one."""
    base = error_count(language, pre + suf)
    if base is None:
        return lines
    ends = [k for k in range(len(lines), 0, -1) if lines[k - 1].strip()]
    for k in ends:
        errors = error_count(language, pre + _joined(lines[:k]) + suf)
        if errors is not None and errors <= base:
            return lines[:k]
    return lines[: ends[-1]] if ends else lines


def _repeat_length(lines: list[str], suffix: str) -> int:
    """How many of the suggestion's last non-blank lines repeat the next non-blank suffix lines."""
    mine = [line.strip() for line in lines if line.strip()]
    theirs = [line.strip() for line in suffix.split("\n") if line.strip()]
    for m in range(min(len(mine), len(theirs)), 0, -1):
        if mine[-m:] == theirs[:m]:
            return m
    return 0


def _without_last(lines: list[str], count: int) -> list[str]:
    """``lines`` minus their last ``count`` non-blank lines (and blank lines after them)."""
    kept = list(lines)
    while count and kept:
        if kept.pop().strip():
            count -= 1
    while kept and not kept[-1].strip():
        kept.pop()
    return kept


def _badness(text: str, language: str | None) -> int:
    state = balance(text, language)
    return len(state.unmatched) + len(state.open)


def drop_suffix_repeat(
    lines: list[str], pre: str, suf: str, language: str | None
) -> list[str]:
    """Drop the suggestion's trailing lines that repeat the lines after the cursor, unless the
    document reads worse without them (e.g. a '}' that closes the suggestion's own block)."""
    count = _repeat_length(lines, suf)
    if not count:
        return lines
    shorter = _without_last(lines, count)
    full, cut = pre + _joined(lines) + suf, pre + _joined(shorter) + suf
    before, after = error_count(language, full), error_count(language, cut)
    if before is None or after is None:
        before, after = _badness(full, language), _badness(cut, language)
    return shorter if after <= before else lines

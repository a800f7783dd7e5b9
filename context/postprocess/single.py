"""Single-line fitting: make one line of suggestion agree with the text right of the cursor."""

from __future__ import annotations

from .brackets import CLOSERS, Balance, balance

__all__ = ["fit_line"]

_OVERTYPE = frozenset(CLOSERS + "\"'`")


def _overlaps(text: str, rest: str) -> list[str]:
    """``text`` without a tail that repeats the start of ``rest``, longest repeat first.

    A partial repeat (only part of ``rest``) counts when it is punctuation, e.g. ``a, b)`` before
    ``);``; a repeat of all of ``rest`` counts whatever it is.
    """
    tail = rest.rstrip()
    found = []
    for k in range(len(tail), 0, -1):
        piece = tail[:k]
        if k < len(tail) and any(ch.isalnum() or ch == "_" for ch in piece):
            continue
        if len(text) > k and text.endswith(piece):
            found.append(text[:-k])
    return found


def _overtypes(rest: str) -> list[int]:
    """How many code points right of the cursor may be typed over: auto-closed brackets and
    quotes (and spaces between them)."""
    counts = []
    for r in range(1, len(rest) + 1):
        if rest[r - 1] not in _OVERTYPE and not rest[r - 1].isspace():
            break
        if not rest[r - 1].isspace():
            counts.append(r)
    return counts


def _no_worse(new: Balance, old: Balance) -> bool:
    return len(new.unmatched) <= len(old.unmatched) and len(new.open) <= len(old.open)


def fit_line(
    text: str, left: str, rest: str, after: str, language: str | None
) -> tuple[str, int] | None:
    """(text, replace_suffix) for a one-line suggestion, or None when it cannot be balanced.

    ``left``/``rest`` are the cursor line's text left/right of the cursor, ``after`` the document
    after that line. The line with the suggestion, read on into ``after``, may not have more
    unmatched closers or unclosed openers than it had without it.
    """
    old = balance(left + rest + after, language)
    candidates = [(cut, 0) for cut in _overlaps(text, rest)]
    candidates.append((text, 0))
    candidates.extend((text, r) for r in _overtypes(rest))
    for candidate, replace in candidates:
        if _no_worse(balance(left + candidate + rest[replace:] + after, language), old):
            return candidate, replace
    shorter = _before_stray_closer(text, left, rest + after, language)
    if shorter and shorter != text:
        return fit_line(shorter, left, rest, after, language)
    return None


def _before_stray_closer(text: str, left: str, rest: str, language: str | None) -> str:
    """``text`` up to its first closing bracket that matches nothing (trailing spaces cut)."""
    start, end = len(left), len(left) + len(text)
    for index in balance(left + text + rest, language).unmatched:
        if start <= index < end:
            return text[: index - start].rstrip()
    return text

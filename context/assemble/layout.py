"""Laying sections out in a model family's format.

A layout is a list of pieces: format pieces (special tokens, file headers, fences; no path) and
content pieces (file text, diffs, messages). Content is neutralised by the caller. The order is
fixed: the repo header, retrieved sections, then the current file, with the volatile cursor
line as late as possible, so consecutive keystrokes share the longest token prefix. In SPM
order (``infill: "spm"``) the current file is suffix first, then the prefix, which ends at the
cursor: ``<PRE><SUF>{suffix}<MID>{prefix}``, and the middle continues the prefix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .format import PromptFormat

__all__ = ["Piece", "chat_layout", "comment_for", "completion_layout", "context_header"]

_HASH_COMMENT = (".py", ".pyi", ".rb", ".sh", ".bash", ".toml", ".yaml", ".yml", ".r", ".pl",
                 ".jl", ".nim", ".cmake", ".mk", "Makefile", ".ex", ".exs")


@dataclass(frozen=True)
class Piece:
    """A section before tokenization."""

    kind: str
    path: str | None
    start_line: int
    end_line: int
    text: str
    score: float = 0.0


def fmt_piece(text: str) -> Piece:
    """A format piece (special tokens and separators)."""
    return Piece("format", None, -1, -1, text)


def comment_for(path: str) -> str:
    """The line-comment leader of a file's language."""
    return "#" if path.endswith(_HASH_COMMENT) else "//"


def context_header(fmt: PromptFormat, path: str) -> str:
    """What precedes a retrieved section of ``path``."""
    if fmt.repo_level:
        return f"{fmt.token('file_sep')}{path}\n"
    return f"{comment_for(path)} {path}\n"


def _start(fmt: PromptFormat, repo: str) -> str:
    bos = fmt.token("bos")
    if fmt.fim in ("iquest", "qwen2.5"):
        return f"{bos}{fmt.token('repo_name')}{repo}\n"
    if fmt.fim == "starcoder2":
        return f"{bos}{fmt.token('repo_name')}{repo}"
    if fmt.fim == "deepseek":
        return f"{bos}{fmt.token('fim_prefix')}"
    if fmt.fim == "codellama":
        return f"{bos}{fmt.token('fim_prefix')} "
    return bos


def _current_open(fmt: PromptFormat, path: str) -> str:
    if fmt.fim in ("iquest", "qwen2.5"):
        return f"{fmt.token('file_sep')}{path}\n{fmt.token('fim_prefix')}"
    if fmt.fim == "starcoder2":
        return f"{fmt.token('file_sep')}{fmt.token('fim_prefix')}{path}\n"
    return f"{comment_for(path)} {path}\n"


def _fim_tail(fmt: PromptFormat) -> tuple[str, str]:
    if fmt.fim == "codellama":
        return f" {fmt.token('fim_suffix')}", f" {fmt.token('fim_middle')}"
    return fmt.token("fim_suffix"), fmt.token("fim_middle")


def completion_layout(
    fmt: PromptFormat,
    repo: str,
    path: str,
    context: Sequence[Piece],
    prefix: Sequence[Piece],
    suffix: Piece | None,
) -> list[Piece]:
    """Pieces of a completion prompt (FIM when the format has it, else prefix only)."""
    out = [fmt_piece(_start(fmt, repo))]
    for piece in context:
        out += [fmt_piece(context_header(fmt, piece.path or "")), piece]
    out.append(fmt_piece(_current_open(fmt, path)))
    if not fmt.supports_fim:
        out += prefix
        return [p for p in out if p.text]
    open_suffix, open_middle = _fim_tail(fmt)
    middle = [fmt_piece(open_suffix), *([suffix] if suffix is not None else [])]
    if fmt.suffix_first:
        out += [*middle, fmt_piece(open_middle), *prefix]
    else:
        out += [*prefix, *middle, fmt_piece(open_middle)]
    return [p for p in out if p.text]


def chat_layout(
    fmt: PromptFormat,
    system: str,
    path: str,
    line: int,
    context: Sequence[Piece],
    current: Sequence[Piece],
    messages: Sequence[tuple[str, str]],
) -> list[Piece]:
    """Pieces of a ChatML prompt: system + context + current file, then the conversation."""
    start, end = fmt.token("im_start"), fmt.token("im_end")
    out = [fmt_piece(f"{fmt.token('bos')}{start}system\n"),
           Piece("system", None, -1, -1, system + "\n")]
    for piece in context:
        span = f"lines {piece.start_line + 1}-{piece.end_line + 1}"
        out += [fmt_piece(f"\n### {piece.path} ({piece.kind}, {span})\n```\n"), piece,
                fmt_piece("```\n")]
    out.append(fmt_piece(f"\n### Current file: {path} (cursor at line {line + 1})\n```\n"))
    out += current
    out.append(fmt_piece(f"```\n{end}\n"))
    for role, content in messages:
        out += [fmt_piece(f"{start}{role}\n"), Piece("message", None, -1, -1, content),
                fmt_piece(f"{end}\n")]
    out.append(fmt_piece(f"{start}assistant\n"))
    return [p for p in out if p.text]

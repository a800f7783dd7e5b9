"""Chat prompts laid out by the model's own chat template.

The workspace context (system prompt, retrieved sections, the current file) becomes the content
of one system message; the conversation follows; the template renders the whole. The rendered
text is then cut back into sections: each content piece is found in it, in order (verbatim, or
stripped when the template trims), and the text between pieces becomes format sections, so a
prompt's text is exactly the template's rendering. Its ids are the whole text's tokens (a
template may join pieces mid-line, where separate tokenization would differ); each token is
counted in the section where it starts.
Budgets are exact: render, count, drop (least useful context first, then the oldest turns),
render again.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence

from .chat_template import ChatTemplate
from .layout import Piece, fmt_piece

__all__ = ["conversation", "fit_history", "locate", "system_pieces", "templated_layout",
           "tokens_per_piece"]

Count = Callable[[str], int]


def conversation(messages: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The turns without system messages, starting at a user turn when there is one (templates
    that check alternation reject a leading assistant turn)."""
    turns = [(r, c) for r, c in messages if r != "system"]
    while len(turns) > 1 and turns[0][0] == "assistant":
        turns = turns[1:]
    return turns


def fit_history(template: ChatTemplate, count: Count, messages: Sequence[tuple[str, str]],
                limit: int) -> tuple[list[tuple[str, str]], int]:
    """The conversation with its oldest turns dropped until its rendering takes at most
    ``limit`` tokens (the last turn is always kept), and that rendering's token count."""
    system = [(r, c) for r, c in messages if r == "system"]
    turns = conversation(messages)
    while True:
        cost = count(template.render([{"role": r, "content": c} for r, c in turns]))
        if cost <= limit or len(turns) <= 1:
            return system + turns, cost
        turns = conversation(turns[1:])


def system_pieces(system: str, path: str, line: int, context: Sequence[Piece],
                  current: Sequence[Piece], extra_system: Sequence[str]) -> list[Piece]:
    """The pieces of the system message: prompt, the client's system turns, retrieved sections
    (each with a header and a fence), the current file."""
    out = [Piece("system", None, -1, -1, system + "\n")]
    out += [Piece("system", None, -1, -1, text + "\n") for text in extra_system]
    for piece in context:
        span = f"lines {piece.start_line + 1}-{piece.end_line + 1}"
        out += [fmt_piece(f"\n### {piece.path} ({piece.kind}, {span})\n```\n"), piece,
                fmt_piece("```\n")]
    out.append(fmt_piece(f"\n### Current file: {path} (cursor at line {line + 1})\n```\n"))
    out += current
    out.append(fmt_piece("```"))
    return [p for p in out if p.text]


def templated_layout(template: ChatTemplate, system: Sequence[Piece],
                     messages: Sequence[tuple[str, str]]) -> list[Piece]:
    """Render system + conversation and cut the text into sections."""
    turns = conversation(messages)
    rendered = template.render(
        [{"role": "system", "content": "".join(p.text for p in system)},
         *({"role": r, "content": c} for r, c in turns)])
    content = [p for p in system if p.kind != "format"]
    content += [Piece("message", None, -1, -1, c) for _, c in turns]
    return locate(rendered, content)


def locate(text: str, pieces: Sequence[Piece]) -> list[Piece]:
    """``text`` as format pieces around the given content pieces, found in order; a piece not
    found (verbatim or stripped) stays inside a format piece. The texts join to ``text``."""
    out: list[Piece] = []
    pos = 0
    for piece in pieces:
        body = piece.text
        at = text.find(body, pos) if body else -1
        if at < 0 and body.strip():
            body = body.strip()
            at = text.find(body, pos)
        if at < 0:
            continue
        if at > pos:
            out.append(fmt_piece(text[pos:at]))
        out.append(Piece(piece.kind, piece.path, piece.start_line, piece.end_line, body,
                         piece.score))
        pos = at + len(body)
    if pos < len(text):
        out.append(fmt_piece(text[pos:]))
    return out


def tokens_per_piece(pieces: Sequence[Piece], offsets: Sequence[tuple[int, int]]) -> list[int]:
    """How many tokens (by their character offsets in the joined text) start in each piece."""
    starts = [start for start, _ in offsets]
    out, pos = [], 0
    for piece in pieces:
        lo = bisect.bisect_left(starts, pos)
        pos += len(piece.text)
        out.append(bisect.bisect_left(starts, pos) - lo)
    return out

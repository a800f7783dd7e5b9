"""The values of prompt assembly: requests in, prompts out (frozen, safe to share)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .format import PromptFormat

__all__ = ["ChatMessage", "Prompt", "PromptRequest", "Section"]


@dataclass(frozen=True)
class ChatMessage:
    """One chat turn: role is system, user or assistant."""

    role: str
    content: str


@dataclass(frozen=True)
class Section:
    """A piece of a prompt, in prompt order. ``kind`` "format" marks special tokens and
    separators (``path`` None, lines -1); line spans are 0-based inclusive of ``path``."""

    kind: str
    path: str | None
    start_line: int
    end_line: int
    text: str
    tokens: int
    score: float


@dataclass(frozen=True)
class Prompt:
    """An assembled prompt: ``ids`` is the concatenation of the sections' token ids (for a
    chat prompt rendered by the model's own template: the whole text's tokens, each counted in
    the section where it starts)."""

    text: str
    ids: tuple[int, ...]
    sections: tuple[Section, ...]
    format: PromptFormat
    prompt_tokens: int
    fim: bool

    @property
    def stop(self) -> tuple[str, ...]:
        """Stop strings for generating from this prompt."""
        return self.format.stop_strings if self.fim or self.format.fim == "none" else \
            self.format.chat_stop_strings


@dataclass(frozen=True)
class PromptRequest:
    """What to build: a buffer (``text`` of ``path``), a cursor (0-based line, code-point
    column), a token budget, and for chat the conversation so far. ``deadline_ms``: how long
    retrieval may wait for sources that are not ready (None: wait for all, as chat and fixes
    do; a keystroke uses a few ms and goes without what is still being computed)."""

    path: str
    text: str
    line: int
    character: int
    budget: int
    kind: str = "completion"
    messages: tuple[ChatMessage | tuple[str, str], ...] = ()
    cancel: Any = None
    deadline_ms: float | None = None

"""Reasoning apart from the answer: a streaming split of generated text at `</think>`.

The semantics of vLLM's `qwen3` reasoning parser, for a model that reasons: everything up to
`</think>` is reasoning (an opening `<think>` may or may not have been generated: the chat
template often opens it in the prompt); a missing `</think>` means that all output so far is
reasoning. For a model that is not declared to reason, output is the answer unless it starts
with `<think>` (then it is split the same way). Tags split across deltas are held back until
they are whole; the leading newlines of the reasoning and of the answer are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from inference.chatspec import THINK_CLOSE, THINK_OPEN

__all__ = ["ReasoningSplitter", "Split", "split_reasoning", "strip_reasoning"]


@dataclass(frozen=True)
class Split:
    """What one piece of output added to the reasoning and to the answer."""

    reasoning: str = ""
    answer: str = ""


class ReasoningSplitter:
    """Feed output text with `push`; each call returns the new reasoning and answer text."""

    def __init__(self, reasons: bool) -> None:
        self.reasons = reasons
        self.mode = "start"  # start -> reasoning -> answer (or start -> answer)
        self._held = ""
        self._answer_started = False
        self._reasoning_started = False

    def push(self, text: str) -> Split:
        """Split the next piece of output."""
        self._held += text
        out_r, out_a = "", ""
        while self._held:
            step = self._step()
            if step is None:
                break
            out_r += step.reasoning
            out_a += step.answer
        return Split(out_r, out_a)

    def server_split(self) -> None:
        """The server sends reasoning apart (`reasoning_content`): text is all answer now."""
        if self.mode != "answer":
            self.mode = "answer"

    def finish(self) -> Split:
        """Flush what was held back (a partial tag is plain text at the end)."""
        held, self._held = self._held, ""
        if self.mode == "start":
            stripped = held.lstrip()
            if self.reasons or stripped.startswith(THINK_OPEN):
                return Split(stripped.removeprefix(THINK_OPEN).lstrip("\n"), "")
            return Split("", self._answer(held))
        if self.mode == "reasoning":
            return Split(held if self._reasoning_started else held.lstrip("\n"), "")
        return Split("", self._answer(held))

    def _step(self) -> Split | None:
        """Consume what can be decided of the held text (None: wait for more)."""
        if self.mode == "start":
            return self._start()
        if self.mode == "reasoning":
            return self._reasoning()
        held, self._held = self._held, ""
        return Split("", self._answer(held))

    def _start(self) -> Split | None:
        stripped = self._held.lstrip()
        if not stripped or (THINK_OPEN.startswith(stripped) and stripped != THINK_OPEN):
            return None  # could still become "<think>"
        if stripped.startswith(THINK_OPEN):
            rest = stripped[len(THINK_OPEN):]
            if not rest:
                return None  # wait: a newline after the tag is dropped
            self._held = rest.lstrip("\n")
            self.mode = "reasoning"
            return Split()
        self.mode = "reasoning" if self.reasons else "answer"
        return Split()

    def _reasoning(self) -> Split | None:
        if not self._reasoning_started:
            self._held = self._held.lstrip("\n")
            if not self._held:
                return None
        at = self._held.find(THINK_CLOSE)
        if at >= 0:
            reasoning = self._held[:at]
            self._held = self._held[at + len(THINK_CLOSE):]
            self.mode = "answer"
            return Split(reasoning, "")
        keep = _partial_tag(self._held, THINK_CLOSE)
        if keep == len(self._held):
            return None
        emit = self._held[: len(self._held) - keep]
        self._held = self._held[len(self._held) - keep:]
        self._reasoning_started = True
        return Split(emit, "")

    def _answer(self, text: str) -> str:
        if not self._answer_started:
            text = text.lstrip("\n")
            self._answer_started = bool(text)
        return text


def _partial_tag(text: str, tag: str) -> int:
    """Length of the longest end of `text` that is a proper start of `tag`."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0


def split_reasoning(text: str, reasons: bool) -> Split:
    """The whole-text split (what streaming `push` + `finish` adds up to)."""
    splitter = ReasoningSplitter(reasons)
    first, last = splitter.push(text), splitter.finish()
    return Split(first.reasoning + last.reasoning, first.answer + last.answer)


def strip_reasoning(text: str) -> str:
    """An assistant turn without its reasoning (for the history sent back to the model): the
    text after the last `</think>`, or the text itself when it has none."""
    if THINK_CLOSE not in text:
        return text
    return text.rsplit(THINK_CLOSE, 1)[1].lstrip("\n")

"""Token ids -> text deltas: whole UTF-8 characters only, and stop strings held back and cut.

Byte-level BPE tokens may split a multi-byte character; decoding such a prefix yields U+FFFD.
`TextStream` decodes a sliding window of ids (as vLLM's incremental detokenizer does) and waits
until the character is complete. The window starts with the last few prompt ids (`context`)
so that a SentencePiece word-start token decodes with its leading space. Text that could be the
start of a stop string is not emitted until it is known not to be one.
"""

from __future__ import annotations

from typing import Any

_REPLACEMENT = "\ufffd"


class TextStream:
    """Incremental detokenizer with stop strings."""

    def __init__(self, tokenizer: Any, stop: tuple[str, ...] = (),
                 context: tuple[int, ...] | list[int] = ()) -> None:
        self.tokenizer = tokenizer
        self.stop = tuple(s for s in stop if s)
        self.ids: list[int] = list(context)
        self._prefix = 0
        self._read = len(self.ids)
        self._pending = ""
        self.text = ""
        self.stopped = False

    def push(self, token_id: int) -> str:
        """Add a token; return the text that can be shown now (sets `stopped` on a stop string)."""
        self.ids.append(token_id)
        self._pending += self._decode_new()
        if not self.stop:
            return self._emit(len(self._pending))
        tail = self.text[-max(len(s) for s in self.stop):] + self._pending
        hits = [i for i in (tail.find(s) for s in self.stop) if i >= 0]
        if hits:
            self.stopped = True
            cut = min(hits) - (len(tail) - len(self._pending))
            if cut < 0:  # cannot happen: emitted text never contains a whole stop string
                cut = 0
            out = self._emit(cut)
            self._pending = ""
            return out
        return self._emit(len(self._pending) - self._held_back())

    def finish(self) -> str:
        """Flush the held-back text (the generation ended for another reason)."""
        if self.stopped:
            return ""
        return self._emit(len(self._pending))

    def _decode_new(self) -> str:
        before = self._decode(self.ids[self._prefix:self._read])
        after = self._decode(self.ids[self._prefix:])
        if after.endswith(_REPLACEMENT) or len(after) < len(before):
            return ""
        self._prefix, self._read = self._read, len(self.ids)
        return after[len(before):]

    def _decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=False) if ids else ""

    def _held_back(self) -> int:
        """Length of the longest pending suffix that starts some stop string."""
        best = 0
        for s in self.stop:
            for k in range(min(len(s) - 1, len(self._pending)), best, -1):
                if self._pending.endswith(s[:k]):
                    best = k
                    break
        return best

    def _emit(self, count: int) -> str:
        out, self._pending = self._pending[:count], self._pending[count:]
        self.text += out
        return out

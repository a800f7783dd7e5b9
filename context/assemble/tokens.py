"""Token ids of prompt sections, cached by content.

A keystroke changes one or two sections; every other section's ids come from an LRU keyed by a
hash of its text, so only what changed is tokenized. Prompt ids are the concatenation of the
sections' ids; the assembler keeps sections ending at line ends or special tokens, where
byte-level BPE tokenizers with a newline-aware pre-tokenizer (Qwen2, IQuest) split anyway, so
the concatenation equals tokenizing the whole text (``concat_safe`` checks a tokenizer).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

from tokenizers import Tokenizer

from ..retrieve.lru import Lru

__all__ = ["TokenCache"]

log = logging.getLogger(__name__)

_PROBES = (
    ("def f(x):\n", "    return x\n"),
    ("a = 1\n\n", "    b = [2]\n"),
    ("class A:\n\n", "    pass\n"),
    ("x = {\n", "}\n"),
)


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class TokenCache:
    """Encode texts to ids (no special-token post-processing), memoised by text hash."""

    def __init__(self, tokenizer: Tokenizer, capacity_tokens: int = 4_000_000) -> None:
        self.tokenizer = tokenizer
        self._ids: Lru[tuple[int, ...]] = Lru(capacity_tokens, cost=lambda ids: len(ids) + 8)
        self._lines: Lru[int] = Lru(200_000)

    @classmethod
    def from_file(cls, path: str | Path) -> TokenCache:
        """Load a ``tokenizer.json``."""
        return cls(Tokenizer.from_file(str(path)))

    def ids(self, text: str) -> tuple[int, ...]:
        """Token ids of ``text``."""
        if not text:
            return ()
        key = _key(text)
        hit = self._ids.get(key)
        if hit is None:
            hit = tuple(self.tokenizer.encode(text, add_special_tokens=False).ids)
            self._ids.put(key, hit)
        return hit

    def many(self, texts: Sequence[str]) -> list[tuple[int, ...]]:
        """Ids of several texts; the misses are encoded in one batch."""
        keys = [_key(t) for t in texts]
        found = [self._ids.get(k) for k in keys]
        todo = [i for i, f in enumerate(found) if f is None and texts[i]]
        if todo:
            encs = self.tokenizer.encode_batch([texts[i] for i in todo], add_special_tokens=False)
            for i, enc in zip(todo, encs, strict=True):
                found[i] = tuple(enc.ids)
                self._ids.put(keys[i], found[i])
        return [f if f is not None else () for f in found]

    def count(self, text: str) -> int:
        """Number of tokens of ``text``."""
        return len(self.ids(text))

    def line_count(self, line: str) -> int:
        """Number of tokens of one line (cached by the line itself; used to plan cuts)."""
        hit = self._lines.get(line)
        if hit is None:
            hit = len(self.tokenizer.encode(line, add_special_tokens=False).ids)
            self._lines.put(line, hit)
        return hit

    def token_id(self, token: str) -> int | None:
        """The id of a (special) token, or None when the vocabulary lacks it."""
        return self.tokenizer.token_to_id(token)

    def added_tokens(self) -> list[str]:
        """The spellings of every added token of the tokenizer (special or not)."""
        return [t.content for t in self.tokenizer.get_added_tokens_decoder().values()]

    def concat_safe(self) -> bool:
        """True when encoding line-ended pieces apart gives the same ids as encoding them
        together, for a few typical section boundaries."""
        for a, b in _PROBES:
            whole = self.tokenizer.encode(a + b, add_special_tokens=False).ids
            parts = (self.tokenizer.encode(a, add_special_tokens=False).ids
                     + self.tokenizer.encode(b, add_special_tokens=False).ids)
            if whole != parts:
                return False
        return True

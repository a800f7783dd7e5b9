"""Token ids of prompt sections, cached by content.

A keystroke changes one or two sections; every other section's ids come from an LRU keyed by a
hash of its text, so only what changed is tokenized. Prompt ids are the concatenation of the
sections' ids; the assembler keeps sections ending at line ends or special tokens, where
byte-level BPE tokenizers with a newline-aware pre-tokenizer (Qwen2, IQuest) split anyway, so
the concatenation equals tokenizing the whole text (``concat_safe`` checks a tokenizer). Lines
are cached too (their ids, read when a cut is planned); with such a tokenizer a piece made of
whole lines takes its ids from them (``join_lines``): the current file is tokenized once.

The tokenizer is a ``tokenizers.Tokenizer`` or anything with its ``encode`` / ``encode_batch``
(a served model's tokenizer behind HTTP): every miss of a batch goes to ``encode_batch`` at
once, and ``line_counter`` reads ahead along the lines a cut walks over, so such a tokenizer
costs few round trips.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from tokenizers import Tokenizer

from ..retrieve.lru import Lru

__all__ = ["TokenCache", "TokenizerLike"]

log = logging.getLogger(__name__)

_PROBES = (
    ("def f(x):\n", "    return x\n"),
    ("a = 1\n\n", "    b = [2]\n"),
    ("class A:\n\n", "    pass\n"),
    ("x = {\n", "}\n"),
)


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class TokenizerLike(Protocol):
    """What the cache needs of a tokenizer (``tokenizers.Tokenizer`` has it)."""

    def encode(self, text: str, add_special_tokens: bool = ...) -> Any: ...

    def encode_batch(self, texts: list[str], add_special_tokens: bool = ...) -> list[Any]: ...


_READ_AHEAD = (16, 512)
"""First and largest number of lines ``line_counter`` encodes at once on a miss."""


class TokenCache:
    """Encode texts to ids (no special-token post-processing), memoised by text hash."""

    def __init__(self, tokenizer: TokenizerLike, capacity_tokens: int = 4_000_000) -> None:
        self.tokenizer = tokenizer
        self._ids: Lru[tuple[int, ...]] = Lru(capacity_tokens, cost=lambda ids: len(ids) + 8)
        self._lines: Lru[tuple[int, ...]] = Lru(4_000_000, cost=lambda ids: len(ids) + 8)
        self._concat_safe: bool | None = None

    @classmethod
    def from_file(cls, path: str | Path) -> TokenCache:
        """Load a ``tokenizer.json``."""
        return cls(Tokenizer.from_file(str(path)))

    @classmethod
    def of(cls, source: str | Path | TokenizerLike) -> TokenCache:
        """A cache over a ``tokenizer.json`` path or a tokenizer object."""
        if isinstance(source, str | Path):
            return cls.from_file(source)
        return cls(source)

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
            hit = tuple(self.tokenizer.encode(line, add_special_tokens=False).ids)
            self._lines.put(line, hit)
        return len(hit)

    def warm_lines(self, lines: Sequence[str]) -> None:
        """Count the uncached ``lines`` in one batch."""
        todo = list(dict.fromkeys(x for x in lines if x and self._lines.get(x) is None))
        if todo:
            encs = self.tokenizer.encode_batch(todo, add_special_tokens=False)
            for line, enc in zip(todo, encs, strict=True):
                self._lines.put(line, tuple(enc.ids))

    def join_lines(self, lines: Sequence[str]) -> str:
        """``"".join(lines)``, its ids cached as the concatenation of its segments' ids when the
        tokenizer is concatenation-safe. A segment is a line with text and the blank lines after
        it (newlines in a row are one pre-token); most are one line, whose ids the cut already
        read."""
        text = "".join(lines)
        if not text or not self.is_concat_safe() or self._ids.get(_key(text)) is not None:
            return text
        if any(not x.endswith("\n") for x in lines[:-1]):
            return text
        segments: list[list[str]] = []
        for line in lines:
            if segments and line.strip():
                segments.append([line])
            elif segments:
                segments[-1].append(line)
            else:
                segments.append([line])
        self.warm_lines([seg[0] for seg in segments if len(seg) == 1])
        multi = self.many(["".join(seg) for seg in segments if len(seg) > 1])[::-1]
        ids: list[int] = []
        for seg in segments:
            part = self._lines.get(seg[0]) if len(seg) == 1 else multi.pop()
            if part is None:  # evicted meanwhile
                return text
            ids.extend(part)
        self._ids.put(_key(text), tuple(ids))
        return text

    def is_concat_safe(self) -> bool:
        """``concat_safe()``, computed once."""
        if self._concat_safe is None:
            self._concat_safe = self.concat_safe()
        return self._concat_safe

    def line_counter(self, walk: Sequence[str]) -> Callable[[str], int]:
        """``line_count`` for a caller that asks for ``walk``'s lines in order: a miss counts
        the next lines of the walk in one batch (16 at first, doubling up to 512)."""
        pos, ahead = 0, _READ_AHEAD[0]

        def count(line: str) -> int:
            nonlocal pos, ahead
            if line and self._lines.get(line) is None:
                self.warm_lines(walk[pos : pos + ahead])
                ahead = min(ahead * 2, _READ_AHEAD[1])
            pos += 1
            return self.line_count(line)

        return count

    def token_id(self, token: str) -> int | None:
        """The id of a (special) token, or None when the vocabulary lacks it."""
        return self.tokenizer.token_to_id(token)  # type: ignore[attr-defined, no-any-return]

    def added_tokens(self) -> list[str]:
        """The spellings of every added token of the tokenizer (special or not); [] for a
        tokenizer that cannot list them."""
        table = getattr(self.tokenizer, "get_added_tokens_decoder", None)
        return [] if table is None else [t.content for t in table().values()]

    def concat_safe(self) -> bool:
        """True when encoding line-ended pieces apart gives the same ids as encoding them
        together, for a few typical section boundaries."""
        texts = [t for a, b in _PROBES for t in (a + b, a, b)]
        ids = [e.ids for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]
        return all(ids[i] == ids[i + 1] + ids[i + 2] for i in range(0, len(ids), 3))

"""Prefix KV cache: named slots, each holding the token ids whose K/V it has, and the K/V.

A request takes its slot, reusing the longest common token prefix found in any slot; the rest is
truncated and only the remainder is prefilled. Before a slot drops a long tail (the cursor moved
to another place), what it held is kept as one of the slot's saved prefixes (`name#1`, ...; at
most `max_saved` per slot, least recently used first out), so coming back to an earlier place
reuses that prefix instead of prefilling it again. Dense models keep one K/V pair per layer (in the
session's state form: numpy, or `OrtValue` with I/O binding). Loop models also keep every
pass-2 (local) K/V they computed, on the host, so that truncating to any prefix is exact: the
graph is then fed the last `window` of them. A memory cap in tokens evicts least recently used
slots.

With an in-place graph (`GraphLayout.inplace`) a slot's `shared` is one `KVBuffer`: the graph
writes into it, truncating is a shorter valid length, and a slot that takes another's prefix
gets its own copy of those rows (buffers are written in place, so two slots never share one).
Loop's local K/V are kept on the host as with the concatenating graph.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from inference.engine.session import OrtSession

log = logging.getLogger(__name__)


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common prefix of two id sequences."""
    n = min(len(a), len(b))
    if n == 0:
        return 0
    x = np.asarray(a[:n], dtype=np.int64)
    y = np.asarray(b[:n], dtype=np.int64)
    diff = np.flatnonzero(x != y)
    return int(diff[0]) if diff.size else n


class LocalHistory:
    """A growable [1, heads, n, dim] host buffer of one Loop local cache."""

    def __init__(self, like: np.ndarray, capacity: int = 64) -> None:
        shape = (1, like.shape[1], max(capacity, 1), like.shape[3])
        self.buf = np.zeros(shape, like.dtype)
        self.length = 0

    def append(self, new: np.ndarray) -> None:
        n = new.shape[2]
        if self.length + n > self.buf.shape[2]:
            grown = np.zeros_like(self.buf, shape=(*self.buf.shape[:2],
                              max(2 * self.buf.shape[2], self.length + n), self.buf.shape[3]))
            grown[:, :, :self.length] = self.buf[:, :, :self.length]
            self.buf = grown
        self.buf[:, :, self.length:self.length + n] = new
        self.length += n

    def last(self, count: int) -> np.ndarray:
        start = max(0, self.length - count)
        return np.ascontiguousarray(self.buf[:, :, start:self.length])

    def copy(self, length: int) -> LocalHistory:
        other = LocalHistory(self.buf, capacity=max(length, 64))
        other.buf[:, :, :length] = self.buf[:, :, :length]
        other.length = length
        return other


class Slot:
    """Token ids and the K/V computed for exactly those ids."""

    def __init__(self, name: str, session: OrtSession, window: int | None) -> None:
        self.name = name
        self.session = session
        self.window = window
        self.ids: list[int] = []
        self.shared: list[Any] = []
        self.local: list[LocalHistory] = []
        self.last_used = time.monotonic()
        self.reset()

    @property
    def inplace(self) -> bool:
        """Whether the state is a `KVBuffer` written in place (`shared` is then that buffer)."""
        return self.session.layout.inplace

    def reset(self) -> None:
        """Forget everything (an in-place slot also frees its buffer)."""
        layout = self.session.layout
        empty = self.session.empty_state()
        self.ids = []
        self.shared = empty[0] if self.inplace else empty[: 2 * layout.num_layers]
        like = np.zeros((1, layout.num_kv_heads, 0, layout.head_dim), layout.kv_dtype)
        self.local = [LocalHistory(like) for _ in layout.past_names[layout.local_slice]]

    def past(self) -> list[Any]:
        """The state to feed the graph: shared K/V, then the last `window` local K/V."""
        shared = [self.shared] if self.inplace else self.shared
        if not self.local:
            return shared
        locals_ = [self.session.to_state(h.last(self.window or 0)) for h in self.local]
        return [*shared, *locals_]

    def update(self, new_ids: Sequence[int], present: list[Any], fed_local: int) -> None:
        """Take the graph's present state after running new_ids."""
        n = 1 if self.inplace else 2 * self.session.layout.num_layers
        self.shared = present[0] if self.inplace else present[:n]
        for hist, value in zip(self.local, present[n:], strict=True):
            hist.append(OrtSession.to_numpy(value)[:, :, fed_local:])
        self.ids.extend(new_ids)
        self.last_used = time.monotonic()

    def local_fed(self) -> int:
        """How many local K/V entries `past()` feeds."""
        if not self.local:
            return 0
        return min(self.local[0].length, self.window or 0)

    def truncate(self, length: int) -> None:
        """Keep the first `length` tokens' K/V."""
        if length >= len(self.ids):
            return
        if length == 0:
            self.reset()
            return
        self.ids = self.ids[:length]
        if self.inplace:
            self.shared.truncate(length)
        else:
            self.shared = [self._cut(v, length) for v in self.shared]
        self.local = [h.copy(length) for h in self.local]

    def copy_prefix(self, other: Slot, length: int) -> None:
        """Become a copy of the first `length` tokens of another slot."""
        self.ids = other.ids[:length]
        self.last_used = time.monotonic()
        if self.inplace:  # our own rows: the other slot's buffer is written in place
            self.shared = other.shared.copy(length)
        elif length == len(other.ids):
            self.shared = list(other.shared)  # state values are never written in place
        else:
            self.shared = [self._cut(v, length) for v in other.shared]
        self.local = [h.copy(length) for h in other.local]

    def take(self, other: Slot, kept: int) -> None:
        """In-place slots: take over another slot's ids and buffer (no copy); the other keeps a
        copy of its first `kept` tokens."""
        self.ids, self.shared, self.local = other.ids, other.shared, other.local
        self.last_used = time.monotonic()
        other.ids = other.ids[:kept]
        other.shared = self.shared.copy(kept)
        other.local = [h.copy(kept) for h in self.local]

    def reserve(self, tokens: int, room: int = 0) -> None:
        """In-place slots: when `tokens` do not fit, room for them and `room` more in one
        allocation (a prompt's worth before its prefill, so the buffer does not grow, copying,
        chunk after chunk)."""
        if not self.inplace or tokens <= self.shared.capacity:
            return
        limit = self.shared.shape.max_positions
        wanted = tokens + room
        self.shared.reserve(wanted if limit is None else min(wanted, limit))

    def _cut(self, value: Any, length: int) -> Any:
        return self.session.to_state(OrtSession.to_numpy(value)[:, :, :length])


DECODE_ROOM = 256
"""Rows an in-place slot reserves beyond a request's prompt for the tokens it generates."""
SAVED_PREFIXES = 4
"""Prefixes a slot keeps besides its current one."""
SAVE_MIN_TOKENS = 64
"""A slot about to drop at least this many tokens saves them first."""


class PrefixCache:
    """Named slots with prefix reuse, saved prefixes per slot and a token cap."""

    def __init__(self, session: OrtSession, window: int | None, cap_tokens: int,
                 max_saved: int = SAVED_PREFIXES) -> None:
        self.session = session
        self.window = window
        self.cap_tokens = cap_tokens
        self.max_saved = max_saved
        self.slots: dict[str, Slot] = {}

    def slot(self, name: str) -> Slot:
        """The slot of that name (created empty)."""
        if name not in self.slots:
            self.slots[name] = Slot(name, self.session, self.window)
        return self.slots[name]

    def acquire(self, name: str, ids: Sequence[int], keep_last: bool = True) -> tuple[Slot, int]:
        """The slot for a request, holding the longest reusable prefix of ids; (slot, reused).

        With keep_last, at least one token is left to run (its logits start decoding)."""
        target = self.slot(name)
        limit = len(ids) - 1 if keep_last else len(ids)
        best, best_len = target, min(common_prefix(target.ids, ids), limit)
        for other in self.slots.values():
            n = min(common_prefix(other.ids, ids), limit)
            if n > best_len:
                best, best_len = other, n
        kept = best_len if best is target else 0
        if len(target.ids) - kept >= SAVE_MIN_TOKENS:
            self._save(target, kept)
        best.last_used = time.monotonic()
        if best is target:
            target.truncate(best_len)
        else:
            target.copy_prefix(best, best_len)
        target.reserve(len(ids), DECODE_ROOM)
        log.debug("slot %s reuses %d/%d tokens (from %s)", name, best_len, len(ids), best.name)
        return target, best_len

    def saved(self, name: str) -> list[Slot]:
        """The saved prefixes of slot `name`, most recently used first."""
        prefix = f"{name}#"
        found = [s for n, s in self.slots.items() if n.startswith(prefix)]
        return sorted(found, key=lambda s: s.last_used, reverse=True)

    def _save(self, slot: Slot, kept: int = 0) -> None:
        """Keep what `slot` holds as a saved prefix (unless one already holds it all); the least
        recently used saved prefix beyond `max_saved` is dropped. An in-place slot hands its
        buffer over to the saved prefix and keeps a copy of only its first `kept` tokens."""
        if self.max_saved <= 0 or "#" in slot.name:
            return
        saved = self.saved(slot.name)
        for other in saved:
            if common_prefix(other.ids, slot.ids) == len(slot.ids):
                other.last_used = time.monotonic()
                return
        taken = {s.name for s in saved}
        name = next(f"{slot.name}#{i}" for i in range(1, len(saved) + 2)
                    if f"{slot.name}#{i}" not in taken)
        copy = Slot(name, self.session, self.window)
        if slot.inplace:
            copy.take(slot, kept)
        else:
            copy.copy_prefix(slot, len(slot.ids))
        self.slots[name] = copy
        for old in saved[self.max_saved - 1:]:
            log.debug("dropping saved prefix %s (%d tokens)", old.name, len(old.ids))
            del self.slots[old.name]

    def tokens(self) -> int:
        """Tokens held over all slots."""
        return sum(len(s.ids) for s in self.slots.values())

    def enforce_cap(self, keep: str | None = None) -> None:
        """Evict least recently used slots and saved prefixes (the `keep` slot last) until
        under the cap."""
        order = sorted(self.slots.values(), key=lambda s: (s.name == keep, s.last_used))
        for slot in order:
            if self.tokens() <= self.cap_tokens:
                return
            log.debug("evicting slot %s (%d tokens)", slot.name, len(slot.ids))
            if "#" in slot.name:
                del self.slots[slot.name]
            else:
                slot.reset()

"""A small thread-safe LRU map with a size bound (entries or a caller-given cost)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["Lru"]

V = TypeVar("V")


class Lru(Generic[V]):
    """Least-recently-used cache; ``cost(value)`` (default 1) is bounded by ``capacity``."""

    def __init__(self, capacity: int, cost: Callable[[V], int] | None = None) -> None:
        self.capacity = capacity
        self._cost = cost or (lambda _v: 1)
        self._data: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: Hashable) -> V | None:
        """The cached value (marked as recently used), or None."""
        with self._lock:
            item = self._data.get(key)
            if item is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: Hashable, value: V) -> None:
        """Store ``value``, evicting the least recently used entries beyond the capacity."""
        cost = self._cost(value)
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._total -= old[1]
            self._data[key] = (value, cost)
            self._total += cost
            while self._total > self.capacity and len(self._data) > 1:
                _, (_, c) = self._data.popitem(last=False)
                self._total -= c

    def get_or(self, key: Hashable, make: Callable[[], V]) -> V:
        """The cached value, or ``make()`` stored under ``key`` (computed outside the lock)."""
        value = self.get(key)
        if value is None:
            value = make()
            self.put(key, value)
        return value

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._data.clear()
            self._total = 0

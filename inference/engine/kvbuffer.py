"""The K/V of one slot for an in-place graph: one preallocated buffer per cache input.

Each buffer is [1, kv_heads, capacity, head_dim]; the graph's attention writes a chunk's K/V
into rows P … P+T-1 of the very buffer bound as its past (and present), so nothing of the
past is copied per token. `length` rows are valid; truncating to a prefix only lowers it.
Capacity grows in large steps (doubling, at least `MIN_CAPACITY`, at most the graph's
positions): a growth copies the valid rows once into the larger buffer.

On the CPU each `OrtValue` wraps a numpy array (the same memory); on CUDA the buffers live on
the device and a growth or a prefix copy goes through the host (rare: not per token).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import onnxruntime as ort

MIN_CAPACITY = 256
"""Rows allocated for a slot's first chunk (then doubled as needed)."""


@dataclass(frozen=True)
class BufferShape:
    """What every buffer of a graph's state looks like."""

    count: int
    num_kv_heads: int
    head_dim: int
    dtype: type
    device: str
    max_positions: int | None

    def dims(self, capacity: int) -> tuple[int, int, int, int]:
        return (1, self.num_kv_heads, capacity, self.head_dim)


class KVBuffer:
    """A slot's buffers (`values`, in graph order) and how many rows of them are valid."""

    def __init__(self, shape: BufferShape, capacity: int = 0) -> None:
        self.shape = shape
        self.length = 0
        self.arrays: list[np.ndarray] = []
        self.values: list[Any] = []
        self.capacity = 0
        self.binding: Any = None
        """The session's I/O binding with these buffers bound as past and present (made by
        `OrtSession` on first use; dropped when the buffers are reallocated)."""
        if capacity:
            self._allocate(capacity, None)

    def reserve(self, needed: int) -> None:
        """Make room for `needed` rows (growing in large steps, keeping the valid rows)."""
        limit = self.shape.max_positions
        if limit is not None and needed > limit:
            raise ValueError(f"{needed} positions exceed the model's {limit}")
        if needed <= self.capacity:
            return
        capacity = max(needed, 2 * self.capacity, MIN_CAPACITY)
        if limit is not None:
            capacity = min(capacity, limit)
        self._allocate(capacity, self.host(self.length) if self.length else None)

    def host(self, length: int) -> list[np.ndarray]:
        """The first `length` rows of every buffer as host arrays (views on the CPU)."""
        if self.shape.device == "cpu":
            return [a[:, :, :length] for a in self.arrays]
        return [v.numpy()[:, :, :length] for v in self.values]

    def truncate(self, length: int) -> None:
        """Keep the first `length` rows (the rest is overwritten by the next chunk)."""
        self.length = min(self.length, length)

    def copy(self, length: int) -> KVBuffer:
        """A new buffer holding the first `length` rows of this one."""
        length = min(length, self.length)
        other = KVBuffer(self.shape)
        if length:
            other._allocate(max(length, MIN_CAPACITY), self.host(length))
            other.length = length
        return other

    def nbytes(self) -> int:
        """Bytes allocated over all buffers."""
        item = np.dtype(self.shape.dtype).itemsize
        return self.shape.count * int(np.prod(self.shape.dims(self.capacity))) * item

    def _allocate(self, capacity: int, keep: list[np.ndarray] | None) -> None:
        dims = self.shape.dims(capacity)
        arrays, values = [], []
        for i in range(self.shape.count):
            array = np.zeros(dims, self.shape.dtype)
            if keep is not None:
                array[:, :, :keep[i].shape[2]] = keep[i]
            if self.shape.device == "cpu":
                arrays.append(array)  # the OrtValue shares this memory: keep it alive
                values.append(ort.OrtValue.ortvalue_from_numpy(array))
            else:
                values.append(ort.OrtValue.ortvalue_from_numpy(array, self.shape.device, 0))
        self.arrays, self.values, self.capacity = arrays, values, capacity
        self.binding = None

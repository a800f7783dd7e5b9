"""Choosing the next token from logits: greedy, or temperature / top-k / top-p with a seed."""

from __future__ import annotations

import numpy as np


class Sampler:
    """Greedy when temperature is 0; otherwise seeded sampling from the filtered distribution."""

    def __init__(self, temperature: float = 0.0, top_p: float = 1.0, top_k: int = 0,
                 seed: int = 0) -> None:
        if temperature < 0 or not 0 < top_p <= 1 or top_k < 0:
            raise ValueError("temperature >= 0, 0 < top_p <= 1 and top_k >= 0 are required")
        self.temperature = temperature
        self.top_p = top_p
        self.top_k = top_k
        self.rng = np.random.default_rng(seed)

    def __call__(self, logits: np.ndarray) -> int:
        """The next token id for a [vocab] logits row."""
        if self.temperature == 0:
            return int(np.argmax(logits))
        probs = self.distribution(logits)
        return int(self.rng.choice(probs.shape[0], p=probs))

    def distribution(self, logits: np.ndarray) -> np.ndarray:
        """The probabilities sampling draws from (zero outside top-k / top-p)."""
        scaled = logits.astype(np.float64) / self.temperature
        if self.top_k and self.top_k < scaled.shape[0]:
            kth = np.partition(scaled, -self.top_k)[-self.top_k]
            scaled = np.where(scaled < kth, -np.inf, scaled)
        probs = np.exp(scaled - scaled.max())
        probs /= probs.sum()
        if self.top_p < 1.0:
            order = np.argsort(-probs, kind="stable")
            cumulative = np.cumsum(probs[order])
            keep = int(np.searchsorted(cumulative, self.top_p) + 1)
            mask = np.zeros_like(probs, dtype=bool)
            mask[order[:keep]] = True
            probs = np.where(mask, probs, 0.0)
            probs /= probs.sum()
        return probs

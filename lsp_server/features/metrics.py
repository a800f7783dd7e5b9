"""Acceptance metrics: shown/accepted counts and a latency histogram, kept on this machine only.

Fed by `codeflow/didShowCompletion` and `codeflow/didAcceptCompletion`; persisted as JSON in the
cache dir and printed by `codeflow doctor --stats`. Nothing leaves the machine.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from context.store import cache_dir

from ..convert import plain

if TYPE_CHECKING:
    from ..server import CodeflowServer

log = logging.getLogger(__name__)
SAVE_EVERY_S = 10.0
BUCKETS_MS = (50, 100, 150, 250, 500, 1000, 2000, 5000)


@dataclass
class Stats:
    """Counters (mutable: updated under the store's lock)."""

    requested: int = 0
    shown: int = 0
    accepted: int = 0
    partially_accepted: int = 0
    accepted_chars: int = 0
    shown_chars: int = 0
    cache_hits: int = 0
    cancelled: int = 0
    latency_ms: dict[str, int] = field(default_factory=dict)
    sources: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per context source of the last session: hits, stale, misses (not ready by a
    keystroke's deadline), runs, mean/max compute ms."""

    def add_latency(self, ms: float) -> None:
        """Count one latency in its histogram bucket."""
        bucket = next((f"<{b}" for b in BUCKETS_MS if ms < b), f">={BUCKETS_MS[-1]}")
        self.latency_ms[bucket] = self.latency_ms.get(bucket, 0) + 1


class MetricsStore:
    """Thread-safe stats with a JSON file behind them. `clock` gives seconds for the save
    throttle (monotonic; its origin is arbitrary, e.g. near boot, so only differences count)."""

    def __init__(
        self, path: Path | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if path is None:
            try:
                path = cache_dir() / "stats.json"
            except OSError as exc:  # an unwritable cache dir: keep the stats in memory
                log.warning("stats not persisted: %s", exc)
        self.path = path
        self._lock = threading.Lock()
        self._clock = clock
        self._saved_at: float | None = None  # None: not saved yet, so the first save_soon saves
        self.stats = self._load()

    def _load(self) -> Stats:
        if self.path is None:
            return Stats()
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return Stats(**{k: v for k, v in data.items() if k in Stats.__dataclass_fields__})
        except (OSError, ValueError, TypeError):
            return Stats()

    def update(self, **deltas: int) -> None:
        """Add to counters."""
        with self._lock:
            for name, delta in deltas.items():
                setattr(self.stats, name, getattr(self.stats, name) + delta)

    def latency(self, ms: float) -> None:
        """Record one completion latency."""
        with self._lock:
            self.stats.add_latency(ms)

    def set_sources(self, sources: dict[str, dict[str, float]]) -> None:
        """The context sources' counters of this session (replacing the last session's)."""
        with self._lock:
            self.stats.sources = dict(sources)

    def save(self) -> None:
        """Write the stats file (best effort)."""
        with self._lock:
            data = asdict(self.stats)
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(data, indent=1), encoding="utf-8")
        except OSError as exc:
            log.warning("could not save stats: %s", exc)

    def save_soon(self, every_s: float = SAVE_EVERY_S) -> None:
        """Save unless saved in the last `every_s` seconds (shutdown saves the rest): a shown
        suggestion must not cost a file write on the event loop."""
        now = self._clock()
        if self._saved_at is None or now - self._saved_at >= every_s:
            self._saved_at = now
            self.save()

    def summary(self) -> dict[str, Any]:
        """Counters plus rates, for doctor and tests."""
        with self._lock:
            s = asdict(self.stats)
        s["accept_rate"] = round(s["accepted"] / s["shown"], 3) if s["shown"] else 0.0
        return s


def register(server: CodeflowServer) -> None:
    """Attach the metrics notifications."""
    server.metrics = MetricsStore()

    @server.feature("codeflow/didShowCompletion")
    def did_show(ls: CodeflowServer, params: Any) -> None:
        p = plain(params) or {}
        ls.metrics.update(shown=1, shown_chars=len(str(p.get("text", ""))))
        if isinstance(p.get("latencyMs"), int | float):
            ls.metrics.latency(float(p["latencyMs"]))
        ls.metrics.save_soon()

    @server.feature("codeflow/didAcceptCompletion")
    def did_accept(ls: CodeflowServer, params: Any) -> None:
        p = plain(params) or {}
        text = str(p.get("text", ""))
        length = p.get("acceptedLength")
        length = len(text) if not isinstance(length, int) else max(0, min(length, len(text)))
        partial = 0 < length < len(text)
        ls.metrics.update(
            accepted=0 if partial else 1, partially_accepted=int(partial), accepted_chars=length
        )
        ls.metrics.save_soon()

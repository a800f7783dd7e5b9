"""Acceptance metrics: counters, rates, throttled saving, reload from the stats file."""

from __future__ import annotations

import json
from pathlib import Path

from lsp_server.features.metrics import MetricsStore


class FakeClock:
    """A monotonic clock the test moves by hand; it starts where a machine booted seconds ago
    would (the monotonic origin is arbitrary, often the boot)."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def test_counts_rates_and_throttled_saves(tmp_path: Path) -> None:
    path = tmp_path / "stats.json"
    clock = FakeClock(start=5.0)
    store = MetricsStore(path, clock=clock)
    store.update(shown=2, shown_chars=10)
    store.latency(120.0)
    store.save_soon(every_s=3600)  # the first save_soon always writes, however new the clock
    assert json.loads(path.read_text())["shown"] == 2
    store.update(accepted=1, accepted_chars=5)
    clock.now += 3599
    store.save_soon(every_s=3600)  # within the interval: not written yet
    assert json.loads(path.read_text())["accepted"] == 0
    clock.now += 1
    store.save_soon(every_s=3600)  # the interval is over: written
    assert json.loads(path.read_text())["accepted"] == 1
    store.update(accepted=1, accepted_chars=5)
    store.save()
    again = MetricsStore(path).summary()
    assert (again["shown"], again["accepted"], again["accept_rate"]) == (2, 2, 1.0)
    assert again["latency_ms"] == {"<150": 1}


def test_first_save_soon_writes_whatever_the_clock_origin(tmp_path: Path) -> None:
    for start in (0.0, 5.0, 1e9):
        path = tmp_path / f"stats-{start}.json"
        store = MetricsStore(path, clock=FakeClock(start))
        store.update(shown=1)
        store.save_soon(every_s=3600)
        assert json.loads(path.read_text())["shown"] == 1, start


def test_context_source_stats_are_saved_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "stats.json"
    store = MetricsStore(path)
    store.set_sources({"flow_blame": {"hits": 3, "stale": 0, "misses": 2, "runs": 1,
                                      "mean_ms": 40.5, "max_ms": 40.5}})
    store.save()
    again = MetricsStore(path).summary()
    assert again["sources"]["flow_blame"]["misses"] == 2
    assert again["sources"]["flow_blame"]["mean_ms"] == 40.5

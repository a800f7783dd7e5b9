"""Retrieval sources off the request path: each runs in a small worker pool under a deadline.

A keystroke's request asks for every source's answer for its key (generation, HEAD, query,
source) and waits at most until its deadline: what is ready is used, what is not is *missing*
from this prompt, and its computation goes on in the background; its answer is cached when it
lands and used by the next request with that key. A request without a deadline (chat, fixes,
the CLI) waits for every source. Answers are pure functions of their key, so a prompt never
depends on which source happened to be ready, except for what is missing. One exception, by
choice: a key may name a *slot* (the key without the index generation); when the index moved on
and the new answer is not ready yet, the slot's previous answer is used (``stale``) rather than
nothing, so that a prompt does not lose a source at each generation.

Per source, ``SourceStats`` count hits (answer used), misses (not ready by the deadline) and the
time each computation took; ``snapshot()`` is what ``codeflow/status`` and ``doctor --stats``
show. On Linux the worker threads (and the git processes they start) run at a lower CPU
priority (``BACKGROUND_NICE``), so that warming a newly opened big file does not slow down the
keystroke's own prompt and the model.

A completion also *holds* the workers (``hold``): a lower OS priority is not enough on a busy
machine, where a worker holding the GIL (or a ``git blame`` taking a core) slows the model's
prefill two- to threefold (bench/big_repo.py: the first completion in a newly opened big file
took 1.5 s, 1.0 s of it the model's 856-token prefill, while the file's warm-up ran). While the
model runs a completion (``"model"``), no unit starts (the running ones finish); while a
completion is in flight at all (``"request"``), the *warm-up* units (a file's whole blame,
co-change, the import graph: submitted with ``warm=True``, run in their own lane) do not start
either, and a warm-up starts only ``warm_delay_s`` after it was asked for, so that the
completion an editor asks for right after opening a file goes first. A unit waits at most
``hold_max_s`` for a hold to end.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Collection, Hashable, Iterator
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

from .lru import Lru

__all__ = ["Deadline", "SourceRunner", "SourceStat"]

log = logging.getLogger(__name__)
T = TypeVar("T")

HISTORY_UNITS = ("flow_", "history_")
"""Units with these name prefixes (git work: blame, diffs, ingest) run in their own pool, so
that a long ``git blame`` never queues the index's units behind it."""


@dataclass(frozen=True)
class Deadline:
    """When a request stops waiting for sources (``at`` on ``clock``; None: never)."""

    at: float | None
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def after_ms(cls, ms: float | None, clock: Callable[[], float] = time.monotonic) -> Deadline:
        """A deadline ``ms`` from now (None: wait for everything)."""
        return cls(None if ms is None else clock() + ms / 1000.0, clock)

    def remaining_s(self) -> float | None:
        """Seconds left (never negative), or None when there is no deadline."""
        return None if self.at is None else max(0.0, self.at - self.clock())


@dataclass(frozen=True)
class SourceStat:
    """One source's counters: answers used, answers missing at a deadline, compute time."""

    hits: int = 0
    stale: int = 0
    misses: int = 0
    runs: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0

    def as_dict(self) -> dict[str, float | int]:
        """JSON-able, with the mean compute time."""
        mean = self.total_ms / self.runs if self.runs else 0.0
        return {"hits": self.hits, "stale": self.stale, "misses": self.misses, "runs": self.runs,
                "mean_ms": round(mean, 2), "max_ms": round(self.max_ms, 2)}


BACKGROUND_NICE = 5
"""How much lower the workers' CPU priority is than the server's (Linux)."""


def lower_priority(step: int = BACKGROUND_NICE) -> None:
    """Lower the calling thread's CPU priority by ``step`` (Linux, where a priority is per
    thread; elsewhere a no-op, as it would apply to the whole process)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + step))
    except OSError:
        log.debug("cannot lower the priority of a retrieval worker", exc_info=True)


HOLD_MAX_S = 2.0
"""Longest a unit waits for a completion's hold to end before it starts anyway."""
WARM_DELAY_S = 0.3
"""A warm-up unit starts at the earliest this long after it was asked for."""
HOLD_PHASES = ("request", "model")


def _logged(fn: Callable[[], object]) -> object:
    try:
        return fn()
    except Exception:  # noqa: BLE001 - background work: logged, never raised
        log.exception("deferred background work failed")
        return None


class SourceRunner(Generic[T]):
    """Runs keyed computations in three worker pools (index: one thread; history:
    ``workers``; warm-ups: one thread); answers are cached per key (LRU). ``workers=0``
    computes in the caller's thread (profiling)."""

    def __init__(self, workers: int = 2, capacity: int = 2048,
                 clock: Callable[[], float] = time.perf_counter,
                 hold_max_s: float = HOLD_MAX_S, warm_delay_s: float = WARM_DELAY_S) -> None:
        # the index's units hold the GIL: a second thread would only share it (and the CPU
        # the model needs); git and SQLite release it, so the history lane gets ``workers``.
        # Warm-ups (long: a whole file's blame) have their own lane, so that one waiting for a
        # completion to end never queues a keystroke's units behind it.
        lanes = (("index", 1), ("history", workers), ("warm", 1))
        self._pools = {lane: ThreadPoolExecutor(n, thread_name_prefix=f"codeflow-{lane}",
                                                initializer=lower_priority)
                       for lane, n in lanes} if workers > 0 else None
        self._done: Lru[T] = Lru(capacity)
        self._latest: Lru[T] = Lru(capacity)
        self._running: dict[Hashable, Future[T]] = {}
        self._names: dict[Hashable, str] = {}
        self._queued_for_requests: set[Hashable] = set()
        self._stats: dict[str, SourceStat] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._holds = dict.fromkeys(HOLD_PHASES, 0)
        self._quiet = threading.Condition()
        self.hold_max_s = hold_max_s
        self.warm_delay_s = warm_delay_s

    @contextmanager
    def hold(self, phase: str = "model") -> Iterator[None]:
        """While inside, background units do not start (see the module doc): ``"request"``
        holds back the warm-ups, ``"model"`` every unit. Holds nest and add up."""
        if phase not in self._holds:
            raise ValueError(f"unknown hold phase {phase!r}; expected one of {HOLD_PHASES}")
        with self._quiet:
            self._holds[phase] += 1
        try:
            yield
        finally:
            with self._quiet:
                self._holds[phase] -= 1
                self._quiet.notify_all()

    def held(self, warm: bool = False) -> bool:
        """Whether a unit (a warm-up when ``warm``) would wait now."""
        with self._quiet:
            return self._held(warm)

    def _held(self, warm: bool) -> bool:
        return self._holds["model"] > 0 or (warm and self._holds["request"] > 0)

    def _wait_quiet(self, warm: bool, asked: float) -> None:
        """Before a pooled unit starts: a warm-up's delay, then until no hold applies (at
        most ``hold_max_s``)."""
        if warm:
            delay = asked + self.warm_delay_s - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        end = time.monotonic() + self.hold_max_s
        with self._quiet:
            while self._held(warm):
                left = end - time.monotonic()
                if left <= 0:
                    log.debug("a background unit starts during a completion (held too long)")
                    return
                self._quiet.wait(left)

    def cached(self, key: Hashable) -> T | None:
        """The answer for ``key`` if it is already computed."""
        return self._done.get(key)

    def submit(self, source: str, key: Hashable, make: Callable[[], T],
               slot: Hashable | None = None, inline: bool = False,
               warm: bool = False) -> Future[T] | None:
        """Start computing ``key`` in the background unless it is cached or running (None when
        cached); ``inline`` computes it now in the caller's thread instead. ``warm``: a
        warm-up (its own lane; held back while a completion is in flight)."""
        with self._lock:
            if self._done.get(key) is not None:
                return None
            running = self._running.get(key)
            if running is not None:
                return running
            self._names[key] = source
            if self._pools is None or inline:
                future: Future[T] = Future()
                self._running[key] = future
            else:
                lane = "warm" if warm else \
                    "history" if source.startswith(HISTORY_UNITS) else "index"
                future = self._pools[lane].submit(self._background, source, key, make, slot,
                                                  warm, time.monotonic())
                self._running[key] = future
                return future
        try:  # computed now, in the caller's thread
            future.set_result(self._compute(source, key, make, slot))
        except Exception as exc:  # noqa: BLE001 - logged by _compute
            future.set_exception(exc)
        return future

    def get(self, source: str, key: Hashable, make: Callable[[], T], deadline: Deadline,
            slot: Hashable | None = None) -> T | None:
        """The answer for ``key``: cached, or computed within the deadline, else the slot's
        previous answer, else None (missing; the computation goes on, its answer is cached)."""
        found = self._done.get(key)
        if found is None:  # a request that waits anyway computes in its own thread
            future = self.submit(source, key, make, slot, inline=deadline.at is None)
            found = self._done.get(key) if future is None else self._wait(future, deadline)
            if found is None and deadline.at is None and future is not None and \
                    future.cancelled():  # dropped by a newer keystroke: compute it here
                future = self.submit(source, key, make, slot, inline=True)
                found = self._wait(future, deadline) if future is not None else \
                    self._done.get(key)
        if found is not None:
            self._count(source, "hit")
            return found
        found = self._latest.get(slot) if slot is not None else None
        self._count(source, "miss" if found is None else "stale")
        return found

    def _wait(self, future: Future[T], deadline: Deadline) -> T | None:
        try:
            return future.result(timeout=deadline.remaining_s())
        except (FutureTimeout, CancelledError):
            return None
        except Exception:  # noqa: BLE001 - logged by _compute; the source is missing
            return None

    def defer(self, fn: Callable[[], object]) -> Future[object] | None:
        """Run ``fn`` in the warm-up lane, held back like a warm-up (its failure is logged);
        with ``workers=0`` now, in the caller's thread (None)."""
        if self._pools is None:
            _logged(fn)
            return None
        asked = time.monotonic()

        def run() -> object:
            self._wait_quiet(True, asked)
            return _logged(fn)

        return self._pools["warm"].submit(run)

    def _background(self, source: str, key: Hashable, make: Callable[[], T],
                    slot: Hashable | None, warm: bool, asked: float) -> T:
        self._wait_quiet(warm, asked)
        return self._compute(source, key, make, slot)

    def _compute(self, source: str, key: Hashable, make: Callable[[], T],
                 slot: Hashable | None = None) -> T:
        start = self._clock()
        try:
            value = make()
        except BaseException:
            with self._lock:
                self._running.pop(key, None)
                self._names.pop(key, None)
            log.exception("context source %s failed", source)
            raise
        ms = (self._clock() - start) * 1000.0
        with self._lock:
            self._done.put(key, value)
            if slot is not None:
                self._latest.put(slot, value)
            self._running.pop(key, None)
            self._names.pop(key, None)
            old = self._stats.get(source, SourceStat())
            self._stats[source] = SourceStat(old.hits, old.stale, old.misses, old.runs + 1,
                                             old.total_ms + ms, max(old.max_ms, ms))
        return value

    def submit_for_request(self, units: list[tuple[str, Hashable, Callable[[], T],
                                                   Hashable | None]]) -> None:
        """Start a keystroke's units, and drop the units that earlier keystrokes queued and
        that have not started: the cursor has moved on, their CPU is better left to the model
        (a unit already running finishes and is cached)."""
        keys = {key for _, key, _, _ in units}
        with self._lock:
            stale = self._queued_for_requests - keys
            self._queued_for_requests = set()
            for key in stale:
                future = self._running.get(key)
                if future is not None and future.cancel():
                    self._running.pop(key, None)
                    self._names.pop(key, None)
        for source, key, make, slot in units:
            if self.submit(source, key, make, slot) is not None:
                with self._lock:
                    if key in self._running:
                        self._queued_for_requests.add(key)

    def missed(self, source: str) -> None:
        """Count a miss of ``source`` that was not even asked for (known not to be ready)."""
        self._count(source, "miss")

    def _count(self, source: str, outcome: str) -> None:
        with self._lock:
            old = self._stats.get(source, SourceStat())
            self._stats[source] = SourceStat(
                old.hits + (outcome == "hit"), old.stale + (outcome == "stale"),
                old.misses + (outcome == "miss"), old.runs, old.total_ms, old.max_ms)

    def drain(self, timeout_s: float | None = None,
              sources: Collection[str] | None = None) -> bool:
        """Wait until nothing (of ``sources``, if given) is running; False when ``timeout_s``
        passed first."""
        end = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            with self._lock:
                pending = [f for k, f in self._running.items()
                           if sources is None or self._names.get(k) in sources]
            if not pending:
                return True
            left = None if end is None else max(0.0, end - time.monotonic())
            try:
                pending[0].result(timeout=left)
            except FutureTimeout:
                return False
            except Exception:  # noqa: BLE001 - a failed source is logged by _compute
                pass

    def running(self) -> int:
        """How many computations are in flight."""
        with self._lock:
            return len(self._running)

    def stats(self) -> dict[str, dict[str, float | int]]:
        """Per source: hits, misses, runs, mean and max compute ms."""
        with self._lock:
            return {name: s.as_dict() for name, s in sorted(self._stats.items())}

    def close(self) -> None:
        """Stop the pool (running computations finish; queued ones are dropped)."""
        for pool in (self._pools or {}).values():
            pool.shutdown(wait=False, cancel_futures=True)

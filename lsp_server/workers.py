"""Where work runs, so that the asyncio loop only does protocol work.

- `CpuPool`: a small thread pool for parsing, git and prompt assembly.
- `InferenceWorker`: one thread that owns the model, fed by a priority queue
  (completion > fix > chat > warm-up); jobs whose cancel token tripped while queued are dropped.
- `Supersede`: per-key cancel tokens; a newer request for the same document cancels the older.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from typing import Any, TypeVar

from inference.cancel import Cancelled, CancelToken

log = logging.getLogger(__name__)
T = TypeVar("T")


class Priority(enum.IntEnum):
    """Inference queue order: lower runs first."""

    COMPLETION = 0
    FIX = 1
    CHAT = 2
    WARMUP = 3


class CpuPool:
    """Thread pool for CPU/IO work off the loop."""

    def __init__(self, workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="codeflow-cpu")

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` in the pool and await its result."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Fire-and-track variant for background jobs."""
        return self._pool.submit(fn, *args)

    def shutdown(self) -> None:
        """Stop accepting work; running jobs finish."""
        self._pool.shutdown(wait=False, cancel_futures=True)


class InferenceWorker:
    """One thread running model jobs in priority order."""

    def __init__(self) -> None:
        self._queue: queue.PriorityQueue[tuple[int, int, Any]] = queue.PriorityQueue()
        self._seq = itertools.count()
        self._thread = threading.Thread(target=self._loop, name="codeflow-inference", daemon=True)
        self._stopped = False
        self._thread.start()

    def submit(
        self, fn: Callable[[CancelToken], T], priority: Priority, token: CancelToken
    ) -> Future[T]:
        """Queue `fn(token)`; the returned future fails with `Cancelled` if dropped."""
        fut: Future[T] = Future()
        self._queue.put((int(priority), next(self._seq), (fn, token, fut)))
        return fut

    async def run(
        self, fn: Callable[[CancelToken], T], priority: Priority, token: CancelToken
    ) -> T:
        """Queue `fn(token)` and await it; cancelling the await trips the token."""
        fut = self.submit(fn, priority, token)
        try:
            return await asyncio.wrap_future(fut)
        except asyncio.CancelledError:
            token.cancel("request cancelled")
            raise

    def _loop(self) -> None:
        while True:
            _, _, job = self._queue.get()
            if job is None:
                return
            fn, token, fut = job
            if not fut.set_running_or_notify_cancel():
                continue
            if token.cancelled:
                _settle(fut, exc=Cancelled(token.reason or "cancelled before start"))
                continue
            try:
                _settle(fut, result=fn(token))
            except Exception as exc:  # noqa: BLE001 - handed to the awaiting request
                _settle(fut, exc=exc)

    def stop(self) -> None:
        """Let the thread finish after the queued jobs ahead of the stop marker."""
        if not self._stopped:
            self._stopped = True
            self._queue.put((1 << 30, next(self._seq), None))


def _settle(fut: Future[Any], result: Any = None, exc: BaseException | None = None) -> None:
    """Complete a future unless its waiter already gave up on it."""
    try:
        if exc is not None:
            fut.set_exception(exc)
        else:
            fut.set_result(result)
    except InvalidStateError:
        log.debug("result dropped: the request was cancelled")


class Supersede:
    """Newest-wins cancel tokens per key (e.g. `("completion", uri)`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str], CancelToken] = {}

    def begin(self, key: tuple[str, str], timeout_s: float | None = None) -> CancelToken:
        """A fresh token for `key`; the previous one for the same key is cancelled."""
        token = CancelToken(timeout_s)
        with self._lock:
            old = self._tokens.get(key)
            self._tokens[key] = token
        if old is not None:
            old.cancel("superseded")
        return token

    def end(self, key: tuple[str, str], token: CancelToken) -> None:
        """Forget `token` if it is still the newest for `key`."""
        with self._lock:
            if self._tokens.get(key) is token:
                del self._tokens[key]

    def cancel_all(self) -> None:
        """Trip every live token (shutdown)."""
        with self._lock:
            tokens, self._tokens = list(self._tokens.values()), {}
        for token in tokens:
            token.cancel("shutdown")

"""The inference worker's priority order and cancel handling; supersede tokens."""

from __future__ import annotations

import asyncio
import threading

import pytest

from inference.cancel import Cancelled, CancelToken
from lsp_server.workers import InferenceWorker, Priority, Supersede


def test_priority_order_completion_first() -> None:
    worker = InferenceWorker()
    gate = threading.Event()
    order: list[str] = []
    running = threading.Event()
    blocker = worker.submit(lambda t: (running.set(), gate.wait(30)), Priority.WARMUP,
                            CancelToken())
    assert running.wait(30)  # the worker holds the blocker before anything else is queued
    futs = [
        worker.submit(lambda t, n=name: order.append(n), prio, CancelToken())
        for name, prio in [
            ("warmup", Priority.WARMUP),
            ("chat", Priority.CHAT),
            ("fix", Priority.FIX),
            ("completion", Priority.COMPLETION),
        ]
    ]
    gate.set()
    blocker.result(30)
    for f in futs:
        f.result(30)
    worker.stop()
    assert order == ["completion", "fix", "chat", "warmup"]


def test_cancelled_while_queued_is_dropped() -> None:
    worker = InferenceWorker()
    gate = threading.Event()
    ran: list[int] = []
    blocker = worker.submit(lambda t: gate.wait(5), Priority.COMPLETION, CancelToken())
    token = CancelToken()
    fut = worker.submit(lambda t: ran.append(1), Priority.COMPLETION, token)
    token.cancel("superseded")
    gate.set()
    blocker.result(5)
    with pytest.raises(Cancelled, match="superseded"):
        fut.result(5)
    worker.stop()
    assert ran == []


def test_awaiting_cancel_trips_token() -> None:
    worker = InferenceWorker()
    seen: list[str] = []

    started = threading.Event()

    def work(token: CancelToken) -> None:
        started.set()
        while not token.cancelled:
            threading.Event().wait(0.005)
        seen.append(token.reason)

    async def main() -> None:
        token = CancelToken()
        task = asyncio.ensure_future(worker.run(work, Priority.CHAT, token))
        assert await asyncio.to_thread(started.wait, 30)  # running, not merely queued
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert token.cancelled

    asyncio.run(main())
    done = worker.submit(lambda t: "after", Priority.CHAT, CancelToken())
    assert done.result(5) == "after"
    worker.stop()
    assert seen == ["request cancelled"]


def test_supersede_cancels_older_token_for_same_key_only() -> None:
    sup = Supersede()
    a = sup.begin(("completion", "file:///a"))
    other = sup.begin(("completion", "file:///b"))
    b = sup.begin(("completion", "file:///a"))
    assert a.cancelled and a.reason == "superseded"
    assert not b.cancelled and not other.cancelled
    sup.end(("completion", "file:///a"), a)  # stale end does not drop the newer token
    sup.cancel_all()
    assert b.cancelled and other.cancelled


def test_common_prefix_and_suffix_of_an_edit() -> None:
    from context.index.edits import common_prefix as _common_prefix
    from context.index.edits import common_suffix

    old, new = "abc\ndef x\nghi", "abc\ndef yy x\nghi"
    start = _common_prefix(old, new)
    assert start == 8
    tail = common_suffix(old, new, min(len(old), len(new)) - start)
    assert old[: len(old) - tail][start:] == "" and new[start : len(new) - tail] == "yy "
    assert _common_prefix("", "a") == 0 and _common_prefix("same", "same") == 4
    assert common_suffix("aaa", "aaaa", 0) == 0

"""Context sources under a deadline: a slow source never holds up a keystroke's prompt.

The slow source here blocks on an event the test sets only after the request returned, so a
request that waited for it could not have returned (no timing is asserted); deadlines are
already expired on a fake clock, so a keystroke takes exactly what is ready.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass

import pytest

from context.assemble import Assembler, PromptRequest
from context.retrieve import Cursor, Retriever, make_query
from context.retrieve.runner import Deadline, SourceRunner

from ..assemble.conftest import model_json
from ..assemble.conftest import tokenizer_path as tokenizer_path  # a fixture

TEXT = "import os\n\n\ndef handler(x):\n    y = os.path.join(x)\n    \n    return y\n"
EXPIRED = Deadline(at=0.0, clock=lambda: 1.0)
FAST_FLOW = {"flow_uncommitted", "flow_commits", "flow_cochange"}
WAIT_S = 30.0  # a safety net so that a broken test fails instead of hanging


@dataclass(frozen=True)
class FakeCommit:
    id: str
    summary: str


@dataclass(frozen=True)
class FakeBlame:
    commit: FakeCommit
    start_line: int
    end_line: int
    age_s: float


@dataclass(frozen=True)
class FakeHunk:
    path: str
    new_start: int
    new_lines: int
    text: str


class SlowBlameHistory:
    """A history whose blame (or ``slow`` method) blocks until ``release`` is set; the rest
    answers at once."""

    available = True

    def __init__(self, slow: str = "blame") -> None:
        self.slow = slow
        self.entered = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()
        self.current = "a" * 40
        self.blames = 0
        self.ingests = 0

    def head(self) -> str:
        return self.current

    def ingest(self) -> None:
        self.ingests += 1

    def _block(self, method: str) -> None:
        if method == self.slow:
            self.entered.set()
            assert self.release.wait(WAIT_S)

    def uncommitted(self, path: str | None = None) -> list[FakeHunk]:
        self._block("uncommitted")
        hunk = [FakeHunk("other.py", 1, 1, "@@ -1 +1 @@\n-a = 1\n+a = 2\n")]
        if self.slow == "uncommitted":
            self.finished.set()
        return hunk

    def commits_touching(self, path, start_line=None, end_line=None, limit=5) -> list:
        return []

    def cochanged(self, path: str, limit: int = 10) -> list:
        return []

    def blame(self, path: str, start: int, end: int) -> list[FakeBlame]:
        self._block("blame")
        self.blames += 1
        if self.slow == "blame":
            self.finished.set()
        commit = FakeCommit(self.current, f"blamed at {self.current[:4]}")
        return [FakeBlame(commit, start, end, 86400.0)]


def _query():
    return make_query("a.py", Cursor.of(TEXT, 5, 4))


def _kinds(fused) -> set[str]:
    return {c.kind for c in fused}


def test_keystroke_does_not_wait_for_a_blocked_source_and_uses_it_once_ready() -> None:
    history = SlowBlameHistory()
    retriever = Retriever(None, history, runner=SourceRunner(workers=2))
    q, weights = _query(), {"flow": 1.0}
    first = retriever.retrieve(q, weights, deadline=EXPIRED)
    assert "blame" not in _kinds(first) and "flow_blame" in retriever.last_missing
    assert history.entered.wait(WAIT_S)
    assert retriever.runner.drain(WAIT_S, sources=FAST_FLOW)
    second = retriever.retrieve(q, weights, deadline=EXPIRED)
    assert not history.finished.is_set()  # returned while blame was still blocked
    assert retriever.last_missing == ("flow_blame",)
    assert _kinds(second) == {"uncommitted"}
    history.release.set()
    assert retriever.runner.drain(WAIT_S)
    third = retriever.retrieve(q, weights, deadline=EXPIRED)
    assert retriever.last_missing == ()
    assert _kinds(third) == {"uncommitted", "blame"}
    stats = retriever.runner.stats()
    assert stats["flow_blame"]["misses"] == 2 and stats["flow_blame"]["hits"] == 1
    assert stats["flow_blame"]["runs"] == 1 and stats["flow_uncommitted"]["hits"] >= 2


def test_without_a_deadline_the_request_waits_for_every_source() -> None:
    history = SlowBlameHistory()
    retriever = Retriever(None, history, runner=SourceRunner(workers=2))
    out: list = []
    worker = threading.Thread(target=lambda: out.append(retriever.retrieve(_query(),
                                                                           {"flow": 1.0})))
    worker.start()
    assert history.entered.wait(WAIT_S)
    history.release.set()
    worker.join(WAIT_S)
    assert _kinds(out[0]) == {"uncommitted", "blame"}  # the blame exists only after release


def test_history_units_are_computed_again_when_head_moves() -> None:
    history = SlowBlameHistory()
    history.release.set()
    retriever = Retriever(None, history, runner=SourceRunner(workers=2))
    q, weights = _query(), {"flow": 1.0}
    before = retriever.retrieve(q, weights)
    retriever.retrieve(q, weights)
    assert history.blames == 1 and history.ingests == 0  # cached for this HEAD
    history.current = "b" * 40
    after = retriever.retrieve(q, weights)
    assert history.blames == 2 and history.ingests == 1  # new HEAD: ingest, then blame again
    texts = {c.text for c in before if c.kind == "blame"} | {c.text for c in after
                                                              if c.kind == "blame"}
    assert any("blamed at aaaa" in t for t in texts) and any("blamed at bbbb" in t for t in texts)
    assert retriever.runner.drain(WAIT_S)


def test_chat_waits_for_the_slow_source_a_completion_does_not(tokenizer_path) -> None:
    history = SlowBlameHistory(slow="uncommitted")
    asm = Assembler(None, history, tokenizer_path, model_json("iquest"))
    keystroke = asm.build(PromptRequest("a.py", TEXT, 5, 4, 2048, deadline_ms=0.0))
    assert not history.finished.is_set()
    assert "+a = 2" not in keystroke.text
    assert "flow_uncommitted" in asm.source_stats()["last_missing"]
    out: list = []
    chat = threading.Thread(target=lambda: out.append(asm.build(PromptRequest(
        "a.py", TEXT, 5, 4, 4096, kind="chat", messages=(("user", "what is this?"),)))))
    chat.start()
    assert history.entered.wait(WAIT_S)
    history.release.set()
    chat.join(WAIT_S)
    assert "+a = 2" in out[0].text  # the hunk exists only after the release
    assert ("uncommitted", "other.py") in {(s.kind, s.path) for s in out[0].sections}
    stats = asm.source_stats()
    assert set(stats["units"]) >= {"flow_blame", "flow_uncommitted", "flow_commits"}
    assert stats["units"]["flow_uncommitted"]["misses"] >= 1
    assert stats["last_missing"] == []


def test_a_new_generation_uses_the_previous_answer_until_the_new_one_lands() -> None:
    runner: SourceRunner[list[str]] = SourceRunner(workers=2)
    gate = threading.Event()
    assert runner.get("usages", (1, "q"), lambda: ["old"], Deadline(None), ("q",)) == ["old"]

    def slow() -> list[str]:
        assert gate.wait(WAIT_S)
        return ["new"]

    assert runner.get("usages", (2, "q"), slow, EXPIRED, ("q",)) == ["old"]
    assert runner.get("usages", (2, "other"), slow, EXPIRED, ("other",)) is None
    gate.set()
    assert runner.drain(WAIT_S)
    assert runner.get("usages", (2, "q"), slow, EXPIRED, ("q",)) == ["new"]
    stats = runner.stats()["usages"]
    assert (stats["hits"], stats["stale"], stats["misses"]) == (2, 1, 1)
    runner.close()


def test_units_queued_for_an_earlier_keystroke_are_dropped_when_the_cursor_moves() -> None:
    runner: SourceRunner[list[str]] = SourceRunner(workers=2)
    gate, started, ran = threading.Event(), threading.Event(), []

    def unit(name: str, block: bool = False):
        def make() -> list[str]:
            if block:
                started.set()
                assert gate.wait(WAIT_S)
            ran.append(name)
            return [name]
        return make

    runner.submit_for_request([("definitions", "a", unit("a", block=True), None)])
    assert started.wait(WAIT_S)  # a runs (and keeps the index lane's one worker)
    runner.submit_for_request([("definitions", "b", unit("b"), None)])  # queued behind a
    runner.submit_for_request([("definitions", "c", unit("c"), None)])  # b is dropped
    gate.set()
    assert runner.drain(WAIT_S)
    assert ran == ["a", "c"]
    assert runner.cached("a") == ["a"] and runner.cached("b") is None
    assert runner.get("definitions", "b", unit("b"), Deadline(None)) == ["b"]  # asked again
    runner.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="priorities are per thread")
def test_workers_run_at_a_lower_cpu_priority() -> None:
    from context.retrieve.runner import BACKGROUND_NICE

    def nice_here() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    runner = SourceRunner()
    try:
        mine = nice_here()
        got = runner.get("usages", ("k",), nice_here, Deadline.after_ms(10_000))
        assert got == min(19, mine + BACKGROUND_NICE)
        assert nice_here() == mine  # the caller's own thread is untouched
    finally:
        runner.close()


def _recorder(runner: SourceRunner, warm: bool, seen: list[bool]):
    """A unit that records whether the runner held it back when it started."""
    def make() -> list[str]:
        seen.append(runner.held(warm))
        return ["done"]
    return make


def test_no_unit_starts_while_the_model_runs_a_completion() -> None:
    runner: SourceRunner[list[str]] = SourceRunner(hold_max_s=WAIT_S, warm_delay_s=0.0)
    seen: list[bool] = []
    with runner.hold("model"):
        future = runner.submit("usages", "k", _recorder(runner, False, seen))
        assert future is not None
        threading.Event().wait(0.2)  # time for a broken gate to start the unit
        assert not future.done() and seen == []
    assert future.result(WAIT_S) == ["done"]
    assert seen == [False]  # it started once the hold ended
    runner.close()


def test_warm_ups_wait_for_the_whole_request_other_units_do_not() -> None:
    runner: SourceRunner[list[str]] = SourceRunner(hold_max_s=WAIT_S, warm_delay_s=0.0)
    seen_unit: list[bool] = []
    seen_warm: list[bool] = []
    with runner.hold("request"):
        warm = runner.submit("flow_blame", "w", _recorder(runner, True, seen_warm), warm=True)
        unit = runner.submit("usages", "u", _recorder(runner, False, seen_unit))
        assert unit is not None and unit.result(WAIT_S) == ["done"]  # ran during the request
        assert warm is not None and not warm.done() and seen_warm == []
    assert warm.result(WAIT_S) == ["done"] and seen_warm == [False]
    runner.close()


def test_a_held_unit_starts_anyway_after_hold_max_s() -> None:
    runner: SourceRunner[list[str]] = SourceRunner(hold_max_s=0.05, warm_delay_s=0.0)
    with runner.hold("model"):
        future = runner.submit("usages", "k", lambda: ["late"])
        assert future is not None and future.result(WAIT_S) == ["late"]
    runner.close()


def test_prewarm_submits_warm_ups_held_back_by_a_completion() -> None:
    history = SlowBlameHistory(slow="none")
    runner: SourceRunner[list] = SourceRunner(hold_max_s=WAIT_S, warm_delay_s=0.0)
    retriever = Retriever(None, history, runner=runner)
    warmed: list[str] = []
    history.warm_blame = lambda path: warmed.append(path) or True  # type: ignore[attr-defined]
    with runner.hold("request"):
        retriever.prewarm("a.py")
        threading.Event().wait(0.2)  # time for a broken gate to start the warm-ups
        assert warmed == []
    assert runner.drain(WAIT_S)
    assert warmed == ["a.py"]
    runner.close()


def test_deferred_work_waits_for_the_completion_then_runs() -> None:
    runner: SourceRunner[list[str]] = SourceRunner(hold_max_s=WAIT_S, warm_delay_s=0.0)
    seen: list[bool] = []
    with runner.hold("request"):
        future = runner.defer(lambda: seen.append(runner.held(True)))
        assert future is not None
        threading.Event().wait(0.2)  # time for a broken gate to run it
        assert seen == []
    future.result(WAIT_S)
    assert seen == [False]
    assert runner.defer(lambda: 1 / 0).result(WAIT_S) is None  # a failure is logged only
    runner.close()

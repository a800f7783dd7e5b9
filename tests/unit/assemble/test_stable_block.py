"""The stable block: file-level sections lead the prompt unchanged from one cursor to the next,
and a new cursor whose definitions are late keeps the file's file-level definitions."""

from __future__ import annotations

from typing import Any

from context.assemble import Assembler, PromptRequest
from context.assemble.assembler import KIND_ORDER
from context.retrieve import Candidate, Retriever
from context.retrieve.runner import Deadline

from .conftest import model_json

CURRENT = "".join(f"def local_{i}(x):\n    y = x + {i}\n    return y\n\n" for i in range(200))


def _section(path: str, n: int, volatile: bool, score: float) -> Candidate:
    text = "".join(f"def {path[:-3]}_{i}(value):\n    return value * {i}\n" for i in range(n))
    return Candidate("definition", "definitions", path, 0, 2 * n - 1, text, score,
                     contiguous=True, volatile=volatile)


def _request(line: int, budget: int) -> PromptRequest:
    return PromptRequest("cur.py", CURRENT, line, 4, budget)


def common_prefix(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _context(prompt: Any) -> list[tuple[str | None, str]]:
    return [(s.path, s.text) for s in prompt.sections if s.kind in KIND_ORDER]


def test_far_cursors_keep_the_stable_block_in_front(tokenizer_path, monkeypatch) -> None:
    asm = Assembler(None, None, tokenizer_path, model_json("iquest"))
    s0, s1, s2 = (_section(p, 6, False, 0.5) for p in ("a0.py", "s1.py", "s2.py"))
    big, small = _section("vbig.py", 14, True, 0.9), _section("vsmall.py", 1, True, 0.9)
    places = {"local_100": [big, s1, s2, s0], "local_150": [small, s0, s1, s2]}
    monkeypatch.setattr(asm.retriever, "retrieve",
                        lambda q, *a, **k: tuple(places[q.scope_name]))
    size = asm.tokens.count(s1.text) + 12
    budget = 10
    while True:  # the smallest budget whose first prompt's stable block has two sections
        budget += 16
        first = asm.build(_request(100 * 4 + 1, budget))
        if len(asm._blocks.get(("cur.py", "completion")) or ()) >= 2:
            break
        assert budget < 40 * size, "no budget fits two sections"
    second = asm.build(_request(150 * 4 + 1, budget))
    block = [x for x in _context(first) if x[0] != "vbig.py"][:2]
    assert _context(second)[:2] == block  # the last block, in its order, leads again
    assert [p for p, _ in block] == ["s1.py", "s2.py"]
    shared = common_prefix(first.ids, second.ids)
    end = first.text.index(s2.text) + len(s2.text)
    assert shared >= len(asm.tokens.ids(first.text[:end])) - 1


class _SlowDefinitions(Retriever):
    """Definitions of a new scope never arrive in time (their unit is left running)."""

    def __init__(self) -> None:
        super().__init__(None)
        self.fresh = True

    def _run_source(self, source: str, q: Any) -> list[Candidate]:
        if source == "definitions" and not self.fresh:
            raise TimeoutError("late")
        return super()._run_source(source, q)


def test_late_definitions_keep_the_file_level_ones(monkeypatch) -> None:
    from context.retrieve import retriever as retriever_module

    file_level = _section("lib.py", 2, False, 0.5)
    scope = _section("scope.py", 2, True, 0.9)
    monkeypatch.setattr(retriever_module, "definitions",
                        lambda view, q, limits: [scope, file_level])
    r = _SlowDefinitions()
    from context.retrieve import Cursor, make_query

    q1 = make_query("cur.py", Cursor.of(CURRENT, 10, 4))
    got = r.retrieve(q1, {"definitions": 1.0}, deadline=Deadline.after_ms(5000))
    assert {c.path for c in got} == {"lib.py", "scope.py"}
    r.fresh = False
    q2 = make_query("cur.py", Cursor.of(CURRENT, 700, 4))
    late = r.retrieve(q2, {"definitions": 1.0}, deadline=Deadline.after_ms(50))
    assert [c.path for c in late] == ["lib.py"]  # the scope's own are missing, not stale
    assert "definitions" in r.last_missing
    other = make_query("other.py", Cursor.of(CURRENT, 700, 4))
    assert r.retrieve(other, {"definitions": 1.0}, deadline=Deadline.after_ms(50)) == ()


def test_prewarm_with_the_text_counts_every_line_of_the_file(tokenizer_path) -> None:
    from context.retrieve.runner import SourceRunner
    from context.retrieve.text import lines_of

    asm = Assembler(None, None, tokenizer_path, model_json("iquest"))
    asm.retriever.runner = SourceRunner(warm_delay_s=0.0)
    lines = lines_of(CURRENT)
    assert asm.tokens._lines.get(lines[-2]) is None
    asm.prewarm("cur.py", CURRENT)
    assert asm.retriever.runner.drain(30.0)
    pool = asm.retriever.runner._pools["warm"]  # the deferred count ran in the warm lane
    pool.submit(lambda: None).result(30.0)
    assert all(asm.tokens._lines.get(x) is not None for x in lines if x)
    asm.close()


def test_the_buffer_split_is_reused_for_the_same_text_only(tokenizer_path) -> None:
    from context.retrieve import Cursor

    asm = Assembler(None, None, tokenizer_path, model_json("iquest"))
    first = asm._cursor(_request(5, 512))
    same = CURRENT[:-1] + CURRENT[-1]  # equal text, another object (as each request has)
    again = asm._cursor(PromptRequest("cur.py", same, 9, 99, 512))
    assert again.lines is first.lines
    assert again == Cursor.of(same, 9, 99)  # clamped as a fresh split would be
    edited = CURRENT.replace("local_3(", "changed_3(")
    other = asm._cursor(PromptRequest("cur.py", edited, 12, 4, 512))
    assert other.lines is not first.lines and other == Cursor.of(edited, 12, 4)
    asm.close()

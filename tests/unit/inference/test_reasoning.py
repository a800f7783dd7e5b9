"""Reasoning split from the answer at `</think>` (qwen3 parser semantics), whole and streamed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inference.reasoning import ReasoningSplitter, Split, split_reasoning, strip_reasoning

CASES = [
    # (output, model reasons, expected split)
    ("<think>\nplan it\n</think>\n\nThe answer.", True, Split("plan it\n", "The answer.")),
    ("plan it\n</think>\n\nThe answer.", True, Split("plan it\n", "The answer.")),
    ("still thinking, no close tag", True, Split("still thinking, no close tag", "")),
    ("", True, Split("", "")),
    ("<think>", True, Split("", "")),
    ("a</think>", True, Split("a", "")),
    ("x </thi", True, Split("x </thi", "")),
    ("Plain answer with </think> inside", False, Split("", "Plain answer with </think> inside")),
    ("<think>\nhmm\n</think>\nok", False, Split("hmm\n", "ok")),
    ("  <think>hmm</think>ok", False, Split("hmm", "ok")),
    ("<thinking>is a tag too</thinking>", False, Split("", "<thinking>is a tag too</thinking>")),
    ("<thi", False, Split("", "<thi")),
    ("<think>\n\n</think>\n\nPlain.", True, Split("", "Plain.")),
    ("\n\nplan\n</think>ok", True, Split("plan\n", "ok")),
    ("```py\nx = 1\n```", False, Split("", "```py\nx = 1\n```")),
]


@pytest.mark.parametrize(("text", "reasons", "expected"), CASES)
def test_whole_split(text: str, reasons: bool, expected: Split) -> None:
    assert split_reasoning(text, reasons) == expected


@pytest.mark.parametrize(("text", "reasons", "expected"), CASES)
def test_char_by_char_stream_adds_up_to_the_whole_split(text: str, reasons: bool,
                                                        expected: Split) -> None:
    splitter = ReasoningSplitter(reasons)
    pieces = [splitter.push(ch) for ch in text] + [splitter.finish()]
    assert Split("".join(p.reasoning for p in pieces), "".join(p.answer for p in pieces)) == \
        expected
    assert all("</think>" not in p.answer for p in pieces) or not reasons


def test_reasoning_streams_before_the_close_tag_arrives() -> None:
    splitter = ReasoningSplitter(True)
    assert splitter.push("<think>\nfirst ") == Split("first ", "")
    assert splitter.push("idea </th") == Split("idea ", "")
    assert splitter.push("ink>\n\nDo") == Split("", "Do")
    assert splitter.push(" this.") == Split("", " this.")
    assert splitter.finish() == Split("", "")


def test_server_split_makes_all_text_answer() -> None:
    splitter = ReasoningSplitter(True)
    splitter.server_split()
    assert splitter.push("no tags here") == Split("", "no tags here")


@given(st.lists(st.sampled_from(["<think>", "</think>", "\n", "a", " ", "</th", "<"]),
                max_size=12).map("".join) | st.text(alphabet="ab<>/thinkd\n ", max_size=40),
       st.booleans(),
       st.lists(st.integers(1, 6), max_size=20))
def test_any_chunking_gives_the_same_split(text: str, reasons: bool, cuts: list[int]) -> None:
    splitter = ReasoningSplitter(reasons)
    pieces, pos = [], 0
    for n in cuts:
        pieces.append(splitter.push(text[pos:pos + n]))
        pos += n
    pieces.append(splitter.push(text[pos:]))
    pieces.append(splitter.finish())
    got = Split("".join(p.reasoning for p in pieces), "".join(p.answer for p in pieces))
    assert got == split_reasoning(text, reasons)


def test_strip_reasoning_from_history() -> None:
    assert strip_reasoning("<think>\nwhy\n</think>\n\nBecause.") == "Because."
    assert strip_reasoning("why</think>Because.") == "Because."
    assert strip_reasoning("Because.") == "Because."

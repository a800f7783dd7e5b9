"""The assembler over a tokenizer object (a served model's, behind HTTP): same prompt as over
the file, and line counts asked for in batches, not one call per line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from context.assemble import Assembler, PromptRequest

from .conftest import model_json

LINES = 400
TEXT = "".join(f"value_{i} = compute({i}, scale={i % 7})\n" for i in range(LINES))


class Counting:
    """A tokenizer that records how it is called (one call stands for one round trip)."""

    def __init__(self, tok: Tokenizer) -> None:
        self.tok = tok
        self.single = 0
        self.batches: list[int] = []

    def encode(self, text: str, add_special_tokens: bool = False) -> Any:
        self.single += 1
        return self.tok.encode(text, add_special_tokens=add_special_tokens)

    def encode_batch(self, texts: list[str], add_special_tokens: bool = False) -> list[Any]:
        self.batches.append(len(texts))
        return self.tok.encode_batch(texts, add_special_tokens=add_special_tokens)


def request(line: int, budget: int) -> PromptRequest:
    return PromptRequest(path="calc.py", text=TEXT, line=line, character=0, budget=budget)


def test_same_prompt_with_few_calls(tokenizer_path: Path) -> None:
    by_file = Assembler(None, None, tokenizer_path, model_json("iquest"))
    counting = Counting(Tokenizer.from_file(str(tokenizer_path)))
    by_object = Assembler(None, None, counting, model_json("iquest"))
    assert by_object.tokens.added_tokens() == []  # a tokenizer that cannot list them
    for line, budget in ((300, 8192), (200, 4096), (LINES - 1, 16384)):
        first = by_file.build(request(line, budget))
        counting.single, counting.batches = 0, []
        got = by_object.build(request(line, budget))
        assert (got.text, got.ids) == (first.text, first.ids)
        assert got.prompt_tokens <= budget
        lines_in = got.text.count("\n")
        calls = counting.single + len(counting.batches)
        assert lines_in > 60 and calls <= 12, (lines_in, counting.single, counting.batches)
    counting.single, counting.batches = 0, []
    again = by_object.build(request(LINES - 1, 16384))
    assert again.ids == first.ids and (counting.single, counting.batches) == (0, [])

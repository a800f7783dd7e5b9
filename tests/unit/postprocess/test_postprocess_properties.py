"""Properties of ``clean`` over seeded random model output (never raises, never leaks tokens)."""

from __future__ import annotations

import random
import re

import pytest

from context.postprocess import CompletionContext, clean

PIECES = [
    "x", " ", "\n", "    ", "(", ")", "[", "]", "{", "}", ":", "'", '"', "é", "😀", "你",
    "<|endoftext|>", "<fim_middle>", "return ", "def f():", "if a {", "};", "#", "//",
]
DOCS = [
    ("python", "def f(x):\n    ", "\n    return x\n"),
    ("python", "print(", ")\n"),
    ("javascript", "function f() {\n  ", "\n}\n"),
    ("go", "func f() {\n\tcall(", ")\n}\n"),
    ("rust", 'fn main() {\n    let s = "😀', '";\n}\n'),
    (None, "x = [", "]\n"),
]
TOKEN = re.compile(r"<\|[^<>|\s]+\|>|<fim_[a-z]+>")


def _raw(seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(PIECES) for _ in range(rng.randrange(25)))


@pytest.mark.parametrize("multiline", [None, True, False])
@pytest.mark.parametrize("doc", DOCS, ids=lambda doc: f"{doc[0]}:{doc[1][-6:]!r}")
def test_clean_invariants(doc: tuple, multiline: bool | None) -> None:
    language, prefix, suffix = doc
    ctx = CompletionContext(language, prefix, suffix)
    rest = suffix.split("\n", 1)[0]
    for seed in range(40):
        result = clean(_raw(seed), ctx, multiline=multiline)
        assert TOKEN.search(result.text) is None
        assert 0 <= result.replace_suffix <= len(rest)
        assert result.text == "" or result.text.strip()
        if not result.multiline:
            assert "\n" not in result.text
            assert result.text == result.text.rstrip()

"""The tokenizer: IQuest special tokens as single ids, EOS at id 0, exact round trips."""

from __future__ import annotations

import pytest
from tokenizers import Tokenizer

from inference.training.tokenizer import EOS_ID, SPECIAL_TOKENS, check_special_tokens

CODE_SAMPLES = (
    "def f(x):\n    return x ** 2  # square\n",
    "class A:\n\tpass\r\n\n\n",
    'print("héllo wörld ✓", 12345, 0x1F)\n',
    "    if a <= b and not c:\n        raise ValueError(f'{a!r} > {b!r}')\n",
)


def test_special_tokens_are_single_ids(tiny_tokenizer: Tokenizer) -> None:
    ids = [tiny_tokenizer.token_to_id(t) for t in SPECIAL_TOKENS]
    assert ids == list(range(len(SPECIAL_TOKENS)))
    assert tiny_tokenizer.token_to_id("<|endoftext|>") == EOS_ID == 0
    for token in SPECIAL_TOKENS:
        assert tiny_tokenizer.encode(f"x{token}y", add_special_tokens=False).ids.count(
            tiny_tokenizer.token_to_id(token)) == 1


def test_special_tokens_never_split_inside_text(tiny_tokenizer: Tokenizer) -> None:
    text = "<|fim_prefix|>def f():\n<|fim_suffix|>\n<|fim_middle|>    pass<|endoftext|>"
    enc = tiny_tokenizer.encode(text, add_special_tokens=False)
    assert enc.tokens[0] == "<|fim_prefix|>"
    assert enc.tokens[-1] == "<|endoftext|>"
    assert sum(t in SPECIAL_TOKENS for t in enc.tokens) == 4


@pytest.mark.parametrize("code", CODE_SAMPLES)
def test_round_trips_code(tiny_tokenizer: Tokenizer, code: str) -> None:
    ids = tiny_tokenizer.encode(code, add_special_tokens=False).ids
    assert tiny_tokenizer.decode(ids) == code


def test_vocab_size_and_merges(tiny_tokenizer: Tokenizer) -> None:
    assert tiny_tokenizer.get_vocab_size() == 600
    ids = tiny_tokenizer.encode("return self", add_special_tokens=False).ids
    assert len(ids) < len("return self")  # merges were learned


def test_check_special_tokens_rejects_a_plain_bpe() -> None:
    from inference.training.tokenizer import new_tokenizer

    with pytest.raises(ValueError, match="not a single id"):
        check_special_tokens(new_tokenizer())

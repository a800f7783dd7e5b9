"""A piece made of whole lines takes its ids from the lines' cached ids, exactly."""

from __future__ import annotations

from typing import Any

from tokenizers import Tokenizer

from context.assemble.tokens import TokenCache

LINES = ["def f(x):\n", "\n", "   \n", "\t\n", "    return x  \n", "\n", "\n", "\n",
         "class A:\n", "    '''Doc.'''\n", "\n", "    def g(self):\n", "        pass\n",
         "x = {\n", "}\n"]


class Counting:
    """A tokenizer that counts the texts it is asked to encode."""

    def __init__(self, inner: Tokenizer) -> None:
        self.inner = inner
        self.texts: list[str] = []

    def encode(self, text: str, add_special_tokens: bool = False) -> Any:
        self.texts.append(text)
        return self.inner.encode(text, add_special_tokens=add_special_tokens)

    def encode_batch(self, texts: list[str], add_special_tokens: bool = False) -> list[Any]:
        self.texts.extend(texts)
        return self.inner.encode_batch(texts, add_special_tokens=add_special_tokens)


def test_joined_lines_have_the_ids_of_the_whole_text(tokenizer_path) -> None:
    inner = Tokenizer.from_file(str(tokenizer_path))
    tok = Counting(inner)
    cache = TokenCache(tok)
    assert cache.is_concat_safe()
    for start in range(len(LINES)):
        lines = LINES[start:] + LINES[:start]
        for line in lines:
            cache.line_count(line)  # what planning a cut reads
        tok.texts.clear()
        text = cache.join_lines(lines)
        assert text == "".join(lines)
        assert cache.ids(text) == tuple(inner.encode(text, add_special_tokens=False).ids)
        assert text not in tok.texts  # only blank-line runs were encoded, not the piece
        assert all(len(t) < len(text) for t in tok.texts)

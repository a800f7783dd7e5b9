"""Text helpers: UTF-16 lengths, special tokens, languages by path."""

from __future__ import annotations

import pytest

from context.postprocess import clean, language_for_path, utf16_len
from context.postprocess.text import cut_special_tokens


@pytest.mark.parametrize(
    ("text", "expected"),
    [("abc", 3), ("héllo", 5), ("你好", 2), ("😀", 2), ('"é😀"):', 7), ("", 0)],
)
def test_utf16_len(text: str, expected: int) -> None:
    assert utf16_len(text) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("compute()<|endoftext|>garbage", "compute()"),
        ("a + b<|fim_middle|>c", "a + b"),
        ("x<｜end▁of▁sentence｜>y", "x"),
        ("done()<fim_suffix>more", "done()"),
        ("ok <EOT> tail", "ok "),
        ("<PRE>everything", ""),
        ("a <|b c", "a <|b c"),
        ("x <|> y", "x <|> y"),
    ],
)
def test_cut_special_tokens(raw: str, expected: str) -> None:
    assert cut_special_tokens(raw) == expected


def test_cut_at_earliest_of_given_and_pattern_tokens() -> None:
    assert cut_special_tokens("a</s>b<|im_end|>c", ["</s>"]) == "a"
    assert cut_special_tokens("a<|im_end|>b</s>c", ["</s>"]) == "a"


def test_clean_cuts_custom_special_token(at) -> None:
    ctx = at("python", "x = █\n")
    assert clean("total(items)[END]junk", ctx, special_tokens=["[END]"]).text == "total(items)"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("src/app.py", "python"), ("stubs/m.pyi", "python"), ("a.mjs", "javascript"),
        ("a.cjs", "javascript"), ("ui/App.jsx", "javascript"), ("a.test.ts", "typescript"),
        ("ui/App.tsx", "tsx"), ("main.go", "go"), ("lib.rs", "rust"), ("A.java", "java"),
        ("x.c", "c"), ("x.h", "c"), ("x.cc", "cpp"), ("x.cpp", "cpp"), ("x.cxx", "cpp"),
        ("x.hpp", "cpp"), ("x.hh", "cpp"), ("MAIN.PY", "python"), ("Makefile", None),
        ("notes.md", None), (r"C:\src\main.rs", "rust"),
    ],
)
def test_language_for_path(path: str, expected: str | None) -> None:
    assert language_for_path(path) == expected


def test_parsers_are_cached_per_thread() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from context.postprocess.grammar import get_parser

    mine = get_parser("go")
    with ThreadPoolExecutor(max_workers=1) as pool:
        theirs = pool.submit(get_parser, "go").result()
    assert mine is get_parser("go")
    assert theirs is not None and theirs is not mine
    assert get_parser("cobol") is None and get_parser(None) is None

"""Single-line cleaning: one line, fitted to the brackets and text right of the cursor."""

from __future__ import annotations

import pytest

from context.postprocess import Cleaned, clean, utf16_len

CASES = [
    # (language, document, raw model output, text, replace_suffix)
    ("python", "x = █\n", "1\ny = 2\n", "1", 0),
    ("python", "print(█)\n", "foo(a, b))", "foo(a, b)", 0),
    ("python", "print(█)\n", "foo(a, b)", "foo(a, b)", 0),
    ("python", "foo(█);\n", "a, b)", "a, b", 0),
    ("python", "if check(█)\n", "a, b):", "a, b):", 1),
    ("python", "x = █\n", "foo(a))", "foo(a)", 0),
    ("python", "x = [█]\n", "1, 2)]", "1, 2", 0),
    ("python", "print(█)\n", '"(", x)', '"(", x', 0),
    ("python", 'print("█")\n', 'héllo")', "héllo", 0),
    ("python", 'print("█")\n', 'hi", end="")', 'hi", end="', 0),
    ("python", "x = █\n", "foo(a, ", "", 0),
    ("python", "return█\n", " x + 1   \n", " x + 1", 0),
    ("python", "x = █foo(a)\n", "foo(a)", "", 0),
    ("python", "x = █\n", "   \n  ", "", 0),
    ("python", "x = █\n", "compute()<|endoftext|>garbage", "compute()", 0),
    ("python", "x = █\n", "compute(<|endoftext|>)", "", 0),
    ("javascript", "const x = █\n  1, 2,\n];\n", "[0,", "[0,", 0),
    ("javascript", "items.map((x) => █);\n", "x * 2);", "x * 2", 0),
    ("javascript", "const s = `a${█}`;\n", "name}`;", "name", 0),
    ("typescript", "const n: number = parse(█);\n", "text, 10);", "text, 10", 0),
    ("tsx", "const el = <div>{render(█)}</div>;\n", "item)}</div>;", "item", 0),
    ("go", 'fmt.Println(█)\n', '"done"))', '"done"', 0),
    ("rust", 'fn main() {\n    let s = "😀█";\n}\n', '🎉 ok";', "🎉 ok", 0),
    ("rust", "fn f<'a>(x: &'a str) -> &'a str {\n    trim(█)\n}\n", "x)", "x", 0),
    ("c", "int main(void) {\n    printf(█);\n}\n", '"%d\\n", f(\'(\')));', '"%d\\n", f(\'(\')', 0),
    ("python", "s = '█'\n", "你好'", "你好", 0),
]


@pytest.mark.parametrize(("language", "doc", "raw", "text", "replace"), CASES)
def test_single_line_clean(at, language: str, doc: str, raw: str, text: str, replace: int) -> None:
    assert clean(raw, at(language, doc)) == Cleaned(text, replace, False)


def test_replace_suffix_with_astral_text(at) -> None:
    result = clean('"é😀"):', at("python", "if check(█)\n"))
    assert result == Cleaned('"é😀"):', 1, False)
    assert (len(result.text), utf16_len(result.text)) == (6, 7)


def test_forced_single_line_in_block_position(at) -> None:
    ctx = at("python", "def f(x):\n    █")
    assert clean("y = x\n    return y", ctx, multiline=False) == Cleaned("y = x", 0, False)


def test_unknown_language_still_balances(at) -> None:
    assert clean("g(x)))", at(None, "f(█)\n")) == Cleaned("g(x)", 0, False)

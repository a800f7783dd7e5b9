"""Multi-line cleaning: dedent stop, line budget, syntactic cut, suffix repetition."""

from __future__ import annotations

import pytest

from context.postprocess import Cleaned, clean
from context.postprocess.grammar import window

CASES = [
    # (language, document, raw model output, cleaned text)
    # the cursor sits after the indent and the model writes the indent again: drop the repeat
    ("python", "def f(x):\n    █", "    return x + 1\n", "return x + 1"),
    ("javascript", "function f(x) {\n  █\n}\n", "  return x + 1;\n", "return x + 1;"),
    # ... or a stray part of it (a prompt ending in spaces): the editor's indent stays
    ("javascript", "function f(x) {\n    █\n}\n", " return x + 1;\n", "return x + 1;"),
    ("python", "def f(x):\n    █", "\treturn x + 1\n", "return x + 1"),
    ("python", "def f(x):\n█", "    return x + 1\n\ndef g():\n    pass\n", "    return x + 1"),
    ("python", "def f(x):█", "\n    y = x\n    return y\n\nprint(1)", "\n    y = x\n    return y"),
    (
        "python",
        "class A:\n    def f(self):\n        █\n\n    def g(self):\n        pass\n",
        "return 1\n\n    def h(self):\n        pass",
        "return 1",
    ),
    ("python", "def f(x):\n    █", "y = x * 2\n    z = foo(y,\n", "y = x * 2"),
    (
        "python",
        "def f(x):\n    y = x\n    █\n    return y\n",
        "y += 1\n    return y\n",
        "y += 1",
    ),
    (
        "python",
        "def f(x):\n    y = x\n    █\n    return y\n",
        "y += 1\n    return y\n    return y",
        "y += 1\n    return y",
    ),
    ("python", "def f():\n    █", "return 1<|fim_suffix|>\n    x = 2", "return 1"),
    ("python", "def f():\n    █\n    return 1\n", "return 1", ""),
    (
        "python",
        "def f():\n    █",
        "s = 'héllo 😀 你好'\n    return s\n",
        "s = 'héllo 😀 你好'\n    return s",
    ),
    (
        "javascript",
        "function f(a) {\n  █\n}\n",
        "if (a) {\n    return 1;\n  }\n}\n\nfunction g() {}",
        "if (a) {\n    return 1;\n  }",
    ),
    (
        "javascript",
        "class A {\n  █\n}\n",
        "foo() {\n    return 1;\n}\n  bar() {}\n",
        "foo() {\n    return 1;\n}",
    ),
    ("javascript", "function f(a) {█", "\n  return a;\n}\n\nfunction g() {}", "\n  return a;\n}"),
    ("javascript", "function f(a) {█\n}\n", "\n  return a;\n}\n\nfunction g() {}", "\n  return a;"),
    ("javascript", "function f(a) {█}\n", "\n  return a;\n}", "\n  return a;\n"),
    (
        "typescript",
        "function area(r: number): number {\n  █\n}\n",
        "const a = Math.PI * r * r;\n  return a;\n}\n",
        "const a = Math.PI * r * r;\n  return a;",
    ),
    ("go", "func f() int {\n\t█\n}\n", "x := 1\n\treturn x\n}\n", "x := 1\n\treturn x"),
    (
        "rust",
        "fn main() {\n    █\n}\n",
        "let v = vec![1, 2];\n    for x in v {\n        println!(\"{}\", x);\n    }\n}\n",
        "let v = vec![1, 2];\n    for x in v {\n        println!(\"{}\", x);\n    }",
    ),
    (
        "c",
        "int main(void) {\n    █\n    return 0;\n}\n",
        'printf("hi\\n");\n    return 0;\n}',
        'printf("hi\\n");',
    ),
    ("cpp", "int main() {\n    █\n}\n", "int n = 0;\n    if (n) {\n        n++;\n", "int n = 0;"),
    (None, "if (x) {\n  █\n}\n", "a();\n  b();\n}\nc();", "a();\n  b();"),
    (
        "java",
        "class A {\n    █\n}\n",
        "int x = 1;\n    int y = 2;\n}\n",
        "int x = 1;\n    int y = 2;",
    ),
]


@pytest.mark.parametrize(("language", "doc", "raw", "text"), CASES)
def test_multi_line_clean(at, language: str, doc: str, raw: str, text: str) -> None:
    assert clean(raw, at(language, doc)) == Cleaned(text, 0, True)


def test_max_lines(at) -> None:
    raw = "a = 1\n    b = 2\n    c = 3\n    d = 4\n"
    result = clean(raw, at("python", "def f():\n    █"), max_lines=3)
    assert result == Cleaned("a = 1\n    b = 2\n    c = 3", 0, True)


def test_every_cut_adds_errors_keeps_first_line(at) -> None:
    raw = "x = (1 +\n    2 +"
    assert clean(raw, at("python", "def f():\n    █")) == Cleaned("x = (1 +", 0, True)


def test_crlf_document_gets_crlf(at) -> None:
    ctx = at("python", "def f(x):\r\n    █\r\n")
    assert clean("y = x\r\n    return y\r\n", ctx) == Cleaned("y = x\r\n    return y", 0, True)


def test_long_file_parses_a_window(at) -> None:
    broken_far_above = "def broken(:\n" + "".join(f"v{i} = {i}\n" for i in range(400))
    ctx = at("python", broken_far_above + "def f(x):\n    █")
    assert clean("return x\n    y = (", ctx) == Cleaned("return x", 0, True)


def test_window_keeps_last_200_and_first_100_lines() -> None:
    prefix = "".join(f"p{i}\n" for i in range(300)) + "cur"
    suffix = "rest" + "".join(f"\ns{i}" for i in range(300))
    pre, suf = window(prefix, suffix)
    assert pre.split("\n")[0] == "p101" and pre.endswith("p299\ncur")
    assert pre.count("\n") == 199
    assert suf.split("\n")[-1] == "s98" and suf.startswith("rest\ns0")


def test_forced_multiline_mid_line(at) -> None:
    ctx = at("python", "def f(x):\n    y = █")
    assert clean("x + 1\n    return y\nz = 0", ctx, multiline=True) == Cleaned(
        "x + 1\n    return y", 0, True
    )

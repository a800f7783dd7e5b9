"""Multi-line policy: block positions ask for several lines, positions inside a line for one."""

from __future__ import annotations

import pytest

from context.postprocess import is_multiline

MULTI = [
    ("python", "def f(x):\n█"),
    ("python", "def f(x):\n    █"),
    ("python", "def f(x):█"),
    ("python", "class A:  # note\n    █\n"),
    ("python", "def f(\n    a,\n) -> int:█"),
    ("python", "def f(x):\n    y = 1\n    █\n    return y\n"),
    ("python", "import os\n\n█\n"),
    ("javascript", "function f() {█}\n"),
    ("javascript", "function f() {\n  █\n}\n"),
    ("typescript", "class A {\n  █\n}\n"),
    ("go", "func f() int {\n\t█\n}\n"),
    ("rust", "fn main() {\n    let x = 1;\n    █\n}\n"),
    ("c", "int main(void) {█"),
    (None, "if (x) {\n  █"),
    (None, "if (x) {\n  a();\n  █"),
    ("python", "def f(x):\r\n    y = 1\r\n    █\r\n"),
]

SINGLE = [
    ("python", "foo(█)"),
    ("python", "x = fo█"),
    ("python", "x = 1█"),
    ("python", "x = foo(\n    a,\n    █\n)\n"),
    ("python", 'def f():\n    """Doc.\n\n    █\n    """\n'),
    ("python", "x = d[1:█"),
    ("python", "    x = foo(a,\n            █"),
    ("python", "x = 1█  # set x"),
    ("javascript", "const o = {\n  a: 1,\n  █\n};\n"),
    ("javascript", "function f() {█ return 1; }\n"),
    ("go", "func f() {\n\tcall(\n\t\t█\n\t)\n}\n"),
    ("rust", "fn main() {\n    let v = vec![\n        1,\n        █\n    ];\n}\n"),
]


@pytest.mark.parametrize(("language", "doc"), MULTI)
def test_multiline_positions(at, language: str | None, doc: str) -> None:
    assert is_multiline(at(language, doc)) is True


@pytest.mark.parametrize(("language", "doc"), SINGLE)
def test_single_line_positions(at, language: str | None, doc: str) -> None:
    assert is_multiline(at(language, doc)) is False

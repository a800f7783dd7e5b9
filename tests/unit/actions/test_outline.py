"""Regions and documentation slots for every indexed language (actions.outline), on small
sources: the definition at a line, whether it is documented in its language's convention, and
where `place_doc` writes a new doc."""

from __future__ import annotations

import pytest

from actions.outline import (
    definition_at,
    definition_named,
    definitions,
    doc_edit,
    doc_from_answer,
    language_of,
    place_doc,
)
from actions.regions import Region

TS = """/** Adds. */
export function add(a: number, b: number): number {
  return a + b;
}

export class Calc {
  // not JSDoc
  mean(values: number[]): number {
    return 0;
  }
}
"""
JS = """const sq = (x) => x * x;

/**
 * Cube.
 */
function cube(x) {
  return x ** 3;
}
"""
RUST = """/// Adds.
pub fn add(a: i32, b: i32) -> i32 {
    a + b
}

impl Calc {
    #[inline]
    fn mean(&self) -> f64 {
        0.0
    }
}
"""
GO = """package calc

// Add adds.
func Add(a, b int) int {
\treturn a + b
}

func (c *Calc) Mean(v []float64) float64 {
\treturn 0
}
"""
JAVA = """class Calc {
    /** Adds. */
    int add(int a, int b) {
        return a + b;
    }

    @Override
    public String toString() {
        return "";
    }
}
"""
C = """/** Adds. */
int add(int a, int b) {
    return a + b;
}

int mean(int *v, int n) {
    return 0;
}
"""
CPP = """template <typename T>
T add(T a, T b) {
    return a + b;
}

class Calc {
 public:
  // Mean.
  double mean() { return 0; }
};
"""
PY = '''class A:
    @staticmethod
    def f(x):
        """Doc."""
        return x

    def g(self):
        return 1
'''

# language, source, line inside, (region, kind, documented) of the innermost definition there
CASES = [
    ("typescript", TS, 2, (Region(1, 3, "add", ""), "function", True)),
    ("typescript", TS, 8, (Region(7, 9, "mean", "  "), "method", False)),
    ("typescript", TS, 5, (Region(5, 10, "Calc", ""), "class", False)),
    ("javascript", JS, 0, (Region(0, 0, "sq", ""), "function", False)),
    ("javascript", JS, 6, (Region(5, 7, "cube", ""), "function", True)),
    ("rust", RUST, 2, (Region(1, 3, "add", ""), "function", True)),
    ("rust", RUST, 8, (Region(6, 9, "mean", "    "), "method", False)),
    ("go", GO, 4, (Region(3, 5, "Add", ""), "function", True)),
    ("go", GO, 8, (Region(7, 9, "Mean", ""), "method", False)),
    ("java", JAVA, 3, (Region(2, 4, "add", "    "), "method", True)),
    ("java", JAVA, 8, (Region(6, 9, "toString", "    "), "method", False)),
    ("c", C, 2, (Region(1, 3, "add", ""), "function", True)),
    ("c", C, 6, (Region(5, 7, "mean", ""), "function", False)),
    ("cpp", CPP, 2, (Region(0, 3, "add", ""), "function", False)),
    ("cpp", CPP, 8, (Region(8, 8, "mean", "  "), "method", True)),
    ("python", PY, 4, (Region(1, 4, "f", "    "), "method", True)),
    ("python", PY, 7, (Region(6, 7, "g", "    "), "method", False)),
]


@pytest.mark.parametrize(("language", "source", "line", "want"), CASES)
def test_the_definition_at_a_line_and_its_documentation(
    language: str, source: str, line: int, want: tuple[Region, str, bool]
) -> None:
    found = definition_at(definitions(source, language), line)
    assert found is not None
    assert (found.region, found.kind, found.documented) == want


def test_functions_only_skips_classes_and_names_find_the_outermost() -> None:
    found = definitions(TS, "typescript")
    assert definition_at(found, 5, functions_only=True) is None
    assert definition_named(found, "mean").region == Region(7, 9, "mean", "  ")


PLACED = [
    ("typescript", TS, "mean", 7,
     ["  /**", "   * Mean of values.", "   * Zero when empty.", "   */"]),
    ("javascript", JS, "sq", 0, ["/**", " * Mean of values.", " * Zero when empty.", " */"]),
    ("rust", RUST, "mean", 6, ["    /// Mean of values.", "    /// Zero when empty."]),
    ("go", GO, "Mean", 7, ["// Mean of values.", "// Zero when empty."]),
    ("java", JAVA, "toString", 6,
     ["    /**", "     * Mean of values.", "     * Zero when empty.", "     */"]),
    ("c", C, "mean", 5, ["/**", " * Mean of values.", " * Zero when empty.", " */"]),
    ("cpp", CPP, "add", 0, ["/**", " * Mean of values.", " * Zero when empty.", " */"]),
    ("python", PY, "g", 7,
     ['        """Mean of values.', "        Zero when empty.", '        """']),
]


@pytest.mark.parametrize(("language", "source", "name", "line", "block"), PLACED)
def test_place_doc_writes_the_languages_convention_into_the_slot(
    language: str, source: str, name: str, line: int, block: list[str]
) -> None:
    definition = definition_named(definitions(source, language), name)
    assert definition is not None
    new = place_doc(source, definition, "Mean of values.\nZero when empty.")
    lines = source.splitlines()
    assert new.splitlines() == lines[:line] + block + lines[line:]
    again = definition_named(definitions(new, language), name)
    assert again is not None and again.documented


def test_go_docs_start_with_the_name() -> None:
    mean = definition_named(definitions(GO, "go"), "Mean")
    assert mean is not None
    assert "// Mean returns the average.\nfunc (c *Calc) Mean" in place_doc(
        GO, mean, "Returns the average."
    )


def test_a_one_line_doc_and_crlf_files() -> None:
    source = JS.replace("\n", "\r\n")
    sq = definition_named(definitions(source, "javascript"), "sq")
    assert sq is not None
    assert place_doc(source, sq, "Square.").startswith("/** Square. */\r\nconst sq")


def test_doc_from_answer_strips_fences_and_comment_markers() -> None:
    assert doc_from_answer("```ts\n/**\n * Mean.\n * Zero when empty.\n */\n```") == (
        "Mean.\nZero when empty."
    )
    assert doc_from_answer("/// Adds two numbers.") == "Adds two numbers."
    assert doc_from_answer('"""Adds."""') == "Adds."


def test_languages_of_paths() -> None:
    assert [language_of(p) for p in ("a.ts", "b.rs", "c.go", "D.java", "e.cpp", "f.txt")] == [
        "typescript", "rust", "go", "java", "cpp", None,
    ]


def test_doc_edit_places_an_answers_doc_above_the_definition_at_a_line() -> None:
    new = doc_edit(TS, "typescript", 8, "```ts\n/** Mean of values. */\n```")
    assert new is not None
    assert new.splitlines()[7:9] == [
        "  /** Mean of values. */",
        "  mean(values: number[]): number {",
    ]
    assert doc_edit(TS, "typescript", 8, "```\n```") is None
    assert doc_edit("\n\n", "typescript", 0, "Doc.") is None

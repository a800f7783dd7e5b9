"""Per-language definitions, signatures, docs and imports on the polyglot fixture workspace."""

from __future__ import annotations

import pytest
import tree_sitter

import context.index as index_pkg
from context.index import WorkspaceIndex, get_language, get_parser, language_for_path
from context.index.extract import expand_use, extract


def test_public_names() -> None:
    assert sorted(index_pkg.__all__) == sorted([
        "LANGUAGES", "ImportEdge", "IndexStats", "Reference", "Scope", "SymbolDef",
        "WorkspaceIndex", "get_language", "get_parser", "language_for_path", "prepare_workers",
    ])


@pytest.mark.parametrize(("path", "language"), [
    ("a/b.py", "python"), ("x.pyi", "python"), ("a.js", "javascript"), ("a.jsx", "javascript"),
    ("a.mjs", "javascript"), ("a.ts", "typescript"), ("a.tsx", "tsx"), ("m.go", "go"),
    ("lib.rs", "rust"), ("A.java", "java"), ("u.c", "c"), ("u.h", "c"), ("u.cpp", "cpp"),
    ("u.HPP", "cpp"), ("README.md", None), ("Makefile", None),
])
def test_language_for_path(path: str, language: str | None) -> None:
    assert language_for_path(path) == language


@pytest.mark.parametrize("language", index_pkg.LANGUAGES)
def test_every_grammar_loads_and_parses(language: str) -> None:
    assert isinstance(get_language(language), tree_sitter.Language)
    tree = get_parser(language).parse(b"x")
    assert tree.root_node.end_byte == 1


def test_unknown_language_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown language 'cobol'"):
        get_language("cobol")


def _defs(ix: WorkspaceIndex, path: str) -> list[tuple[str, str, int, int]]:
    return [(s.kind, s.qualname, s.start_line, s.end_line) for s in ix.symbols_in(path)]


def test_python_definitions(index: WorkspaceIndex) -> None:
    assert _defs(index, "py/pkg/models.py") == [
        ("variable", "MAX_USERS", 2, 2),
        ("class", "User", 5, 17),
        ("field", "User.kind", 8, 8),
        ("method", "User.__init__", 10, 11),
        ("method", "User.greet", 14, 17),
        ("function", "User.greet.shout", 15, 16),
    ]
    user, greet = index.symbols_in("py/pkg/models.py")[1], index.symbols_in("py/pkg/models.py")[4]
    assert (user.signature, user.doc, user.language) == ("class User:", "A user of the system.",
                                                        "python")
    assert (greet.signature, greet.doc) == ('def greet(self, other: "User") -> str:', "Say hello.")


def test_javascript_definitions(index: WorkspaceIndex) -> None:
    assert _defs(index, "js/src/math.js") == [
        ("function", "add", 1, 3), ("class", "Vector", 5, 8),
        ("method", "Vector.constructor", 6, 6), ("method", "Vector.length", 7, 7),
    ]
    add = index.symbols_in("js/src/math.js")[0]
    assert (add.signature, add.doc) == ("function add(a, b)", "Adds two numbers.")
    assert _defs(index, "js/src/index.js") == [
        ("variable", "lib", 1, 1), ("function", "run", 4, 6), ("function", "answer", 8, 8),
    ]


def test_typescript_and_tsx_definitions(index: WorkspaceIndex) -> None:
    assert _defs(index, "ts/src/shapes.ts") == [
        ("interface", "Shape", 1, 4), ("method", "Shape.area", 2, 2),
        ("field", "Shape.name", 3, 3), ("type", "Point", 6, 6), ("enum", "Color", 8, 8),
        ("class", "Square", 10, 16), ("field", "Square.name", 11, 11),
        ("method", "Square.constructor", 12, 12), ("method", "Square.area", 13, 15),
    ]
    assert index.symbols_in("ts/src/shapes.ts")[0].doc == "Something with an area."
    assert _defs(index, "ts/src/view.tsx") == [("function", "View", 2, 5)]


def test_go_definitions(index: WorkspaceIndex) -> None:
    assert _defs(index, "go/util/strings.go") == [
        ("function", "Reverse", 3, 9), ("struct", "Builder", 12, 14),
        ("field", "Builder.parts", 13, 13), ("interface", "Stringer", 16, 18),
        ("method", "Stringer.String", 17, 17), ("function", "NewBuilder", 20, 20),
        ("method", "Builder.String", 22, 22),
    ]
    reverse = index.symbols_in("go/util/strings.go")[0]
    assert (reverse.signature, reverse.doc) == ("func Reverse(s string) string",
                                                "Reverse returns s backwards.")


def test_rust_definitions(index: WorkspaceIndex) -> None:
    assert _defs(index, "rust/src/geometry.rs") == [
        ("struct", "Point", 1, 4), ("field", "Point.x", 2, 2), ("field", "Point.y", 3, 3),
        ("interface", "Area", 6, 8), ("method", "Area.area", 7, 7),
        ("method", "Point.new", 11, 13), ("method", "Point.area", 17, 19),
    ]
    assert index.symbols_in("rust/src/geometry.rs")[0].doc == "A point in the plane."


def test_java_definitions(index: WorkspaceIndex) -> None:
    assert _defs(index, "java/com/example/model/Person.java") == [
        ("class", "Person", 2, 12), ("field", "Person.name", 3, 3),
        ("method", "Person.Person", 5, 7), ("method", "Person.getName", 9, 11),
    ]
    main = index.symbols_in("java/com/example/App.java")[1]
    assert (main.qualname, main.signature, main.doc) == (
        "App.main", "public static void main(String[] args)", "Entry point.")


def test_c_definitions(index: WorkspaceIndex) -> None:
    assert _defs(index, "c/util.h") == [
        ("macro", "UTIL_H", 1, 1), ("macro", "SQUARE", 2, 2), ("struct", "pair", 4, 4),
        ("field", "pair.a", 4, 4), ("field", "pair.b", 4, 4),
    ]
    assert _defs(index, "c/util.c") == [
        ("function", "sum_pair", 4, 6), ("function", "names", 8, 10),
    ]
    sum_pair = index.symbols_in("c/util.c")[0]
    assert (sum_pair.signature, sum_pair.doc) == ("int sum_pair(const struct pair *p)",
                                                  "Adds the two members.")


def test_cpp_definitions(index: WorkspaceIndex) -> None:
    assert _defs(index, "cpp/src/shape.hpp") == [
        ("module", "geo", 2, 12), ("class", "geo.Circle", 4, 10),
        ("method", "geo.Circle.area", 7, 7), ("field", "geo.Circle.r_", 9, 9),
    ]
    assert _defs(index, "cpp/src/shape.cpp") == [
        ("module", "geo", 2, 11), ("method", "geo.Circle.Circle", 4, 4),
        ("method", "geo.Circle.area", 7, 9),
    ]
    assert index.symbols_in("cpp/src/shape.cpp")[2].doc == "Pi r squared."


def _edges(ix: WorkspaceIndex, path: str) -> list[tuple[str, str | None, int]]:
    return [(e.module, e.target, e.line) for e in ix.imports(path)]


def test_python_imports_resolve_absolute_relative_and_submodules(index: WorkspaceIndex) -> None:
    assert _edges(index, "py/pkg/service.py") == [
        (".util", "py/pkg/util.py", 0), (".models", "py/pkg/models.py", 1), ("json", None, 2),
    ]
    assert _edges(index, "py/app.py") == [
        ("pkg.service", "py/pkg/service.py", 0), ("pkg.models", "py/pkg/models.py", 1),
    ]


def test_js_ts_imports_resolve_paths_extensions_and_index_files(index: WorkspaceIndex) -> None:
    assert _edges(index, "js/src/index.js") == [
        ("./math", "js/src/math.js", 0), ("./lib", "js/src/lib/index.js", 1),
    ]
    assert _edges(index, "ts/src/main.ts") == [
        ("./shapes.js", "ts/src/shapes.ts", 0), ("./view", "ts/src/view.tsx", 1),
    ]


def test_go_rust_java_c_cpp_imports(index: WorkspaceIndex) -> None:
    assert _edges(index, "go/main.go") == [
        ("fmt", None, 3), ("example.com/demo/util", "go/util/strings.go", 5),
    ]
    assert _edges(index, "rust/src/main.rs") == [
        ("geometry", "rust/src/geometry.rs", 0),
        ("crate::geometry::Area", "rust/src/geometry.rs", 2),
        ("crate::geometry::Point", "rust/src/geometry.rs", 2),
    ]
    assert _edges(index, "java/com/example/App.java") == [
        ("com.example.model.Person", "java/com/example/model/Person.java", 2),
    ]
    assert _edges(index, "c/util.c") == [("util.h", "c/util.h", 0)]
    assert _edges(index, "cpp/src/shape.cpp") == [("shape.hpp", "cpp/src/shape.hpp", 0)]


def test_expand_rust_use_lists() -> None:
    assert expand_use("crate::a::{b, c::D as E, self, f::{g, h}}") == [
        "crate::a::b", "crate::a::c::D", "crate::a", "crate::a::f::g", "crate::a::f::h",
    ]
    assert expand_use("std::io as stdio") == ["std::io"]


def test_syntax_errors_still_index_what_parses() -> None:
    source = b"def good(a):\n    return a\n\ndef broken(:\n    pass\n\nclass Fine:\n    x = 1\n"
    facts, tree = extract("python", source)
    assert tree.root_node.has_error
    names = [(d[0], d[2], d[3]) for d in facts.defs]
    assert ("good", "function", 0) in names
    assert ("Fine", "class", 6) in names


def test_non_ascii_columns_are_code_points() -> None:
    facts, _ = extract("python", "é = 1\nx = é + ü\n".encode())
    assert facts.defs[0][:7] == ("é", "é", "variable", 0, 0, 0, 5)
    from array import array
    positions = array("I")
    positions.frombytes(facts.refs["ü"])
    assert list(positions) == [1, 8]

"""Go import resolution: an import path names a package folder (via ``go.mod``), every
non-test file of the folder is the package, ``pkg.Name`` is found in any of them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from context.index import WorkspaceIndex
from context.retrieve.current import Cursor
from context.retrieve.definitions import ModuleRef, definitions, resolve_symbol
from context.retrieve.goimports import package_name, parse_go_imports_at
from context.retrieve.query import make_query
from context.retrieve.text import lines_of
from context.retrieve.view import WorkspaceView

MAIN = """package main

import (
\t"fmt"
\tst "example.com/shop/internal/store"
\t_ "example.com/shop/internal/side"
)

func main() {
\ts := st.New()
\tfmt.Println(s)
\t
}
"""
STORE_A = "package store\n\n// Store keeps items.\ntype Store struct {\n\titems []string\n}\n"
STORE_B = ("package store\n\n// New makes a store.\nfunc New() *Store {\n\treturn &Store{}\n}\n\n"
           "// Add adds an item.\nfunc Add(s *Store, item string) {\n"
           "\ts.items = append(s.items, item)\n}\n")
STORE_TEST = "package store\n\nfunc TestOnly() {}\n"


@pytest.fixture
def view(tmp_path: Path) -> Iterator[WorkspaceView]:
    root = tmp_path / "ws"
    files = {"go.mod": "module example.com/shop\n\ngo 1.21\n", "cmd/main.go": MAIN,
             "internal/store/store.go": STORE_A, "internal/store/new.go": STORE_B,
             "internal/store/store_test.go": STORE_TEST}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, "utf-8")
    index = WorkspaceIndex(root, store_path=tmp_path / "store.sqlite3")
    index.refresh()
    yield WorkspaceView(index)
    index.close()


def test_parse_block_alias_and_blank() -> None:
    lines = MAIN.splitlines(keepends=True)
    got = [(b.alias, b.module, b.line) for b in parse_go_imports_at(lines, [2])]
    assert got == [("fmt", "fmt", 3), ("st", "example.com/shop/internal/store", 4)]
    assert package_name("math/rand/v2") == "rand"


def test_name_found_in_any_file_of_the_package(view: WorkspaceView) -> None:
    found = resolve_symbol(view, "cmd/main.go", "example.com/shop/internal/store", "Add")
    assert (found.path, found.start_line) == ("internal/store/new.go", 8)
    found = resolve_symbol(view, "cmd/main.go", "example.com/shop/internal/store", "Store")
    assert found.path == "internal/store/store.go"
    assert resolve_symbol(view, "cmd/main.go", "example.com/shop/internal/store",
                          "TestOnly") is None
    assert resolve_symbol(view, "cmd/main.go", "example.com/other/store", "Add") is None
    assert isinstance(resolve_symbol(view, "cmd/main.go", "example.com/shop/internal/store", ""),
                      ModuleRef)


def test_blank_line_gets_the_package_outline(view: WorkspaceView) -> None:
    lines = tuple(lines_of(MAIN))
    q = make_query("cmd/main.go", Cursor(lines, 11, 1))
    assert {b.alias for b in q.bindings} == {"fmt", "st"}
    texts = "".join(c.text for c in definitions(view, q) if c.path.startswith("internal/"))
    assert "func New() *Store {" in texts and "func Add(s *Store, item string) {" in texts


def test_package_outline_lists_the_most_used_first(tmp_path: Path) -> None:
    """A cut outline keeps its first lines, so the package's most used names come first."""
    root = tmp_path / "ws"
    util = "package util\n\nfunc Rare() int {\n\treturn 1\n}\n\nfunc Often() int {\n\treturn 2\n}\n"
    user = ("package main\n\nimport \"example.com/m/util\"\n\nfunc f() int {\n"
            "\treturn util.Often() + util.Often()\n}\n")
    main = "package main\n\nimport \"example.com/m/util\"\n\nfunc main() {\n\t\n}\n"
    files = {"go.mod": "module example.com/m\n", "util/util.go": util, "cmd/user.go": user,
             "cmd/main.go": main}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, "utf-8")
    index = WorkspaceIndex(root, store_path=tmp_path / "store.sqlite3")
    index.refresh()
    try:
        q = make_query("cmd/main.go", Cursor(tuple(lines_of(main)), 5, 1))
        outlines = [c for c in definitions(WorkspaceView(index), q)
                    if c.kind == "outline" and c.path == "util/util.go"]
        assert outlines and outlines[0].text.splitlines()[:2] == ["func Often() int {",
                                                                   "func Rare() int {"]
    finally:
        index.close()

"""Receiver types: a variable the scope declares of a workspace type pulls the type's methods
(TS ``s: Store``, Go ``func (s *Store)`` / params, Java ``Store s =``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from context.index import WorkspaceIndex
from context.retrieve.current import Cursor
from context.retrieve.definitions import definitions
from context.retrieve.query import make_query
from context.retrieve.text import lines_of
from context.retrieve.view import WorkspaceView

STORE_TS = ("export class Store {\n  private items: string[] = [];\n"
            "  add(item: string): void {\n    this.items.push(item);\n  }\n"
            "  count(): number {\n    return this.items.length;\n  }\n}\n")
MAIN_TS = ("import { Store } from './store';\n\nexport function fill(s: Store): void {\n"
           "  s.add('a');\n  \n}\n")
STORE_GO = "package store\n\ntype Store struct {\n\titems []string\n}\n"
METHODS_GO = ("package store\n\nfunc (s *Store) Add(item string) {\n"
              "\ts.items = append(s.items, item)\n}\n\nfunc (s *Store) Count() int {\n"
              "\treturn len(s.items)\n}\n")
MAIN_GO = ("package main\n\nimport \"example.com/shop/store\"\n\n"
           "func fill(s *store.Store) {\n\ts.Add(\"a\")\n\t\n}\n")


@pytest.fixture
def ws(tmp_path: Path) -> Iterator:
    opened: list[WorkspaceIndex] = []

    def make(files: dict[str, str]) -> WorkspaceView:
        root = tmp_path / "ws"
        for rel, text in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text, "utf-8")
        index = WorkspaceIndex(root, store_path=tmp_path / "store.sqlite3")
        index.refresh()
        opened.append(index)
        return WorkspaceView(index)

    yield make
    for index in opened:
        index.close()


def _context(view: WorkspaceView, path: str, text: str, line: int) -> str:
    lines = tuple(lines_of(text))
    q = make_query(path, Cursor(lines, line, len(lines[line]) - 1))
    return "".join(c.text for c in definitions(view, q) if c.path != path)


def test_ts_parameter_type_pulls_methods(ws) -> None:
    view = ws({"app/store.ts": STORE_TS, "app/main.ts": MAIN_TS})
    got = _context(view, "app/main.ts", MAIN_TS, 4)
    assert "  count(): number {" in got and "  add(item: string): void {" in got


def test_ts_declaration_on_the_cursor_line_is_ignored() -> None:
    text = "function f() {\n  const s: Store = make();\n  s.add(1);\n  \n}\n"
    lines = tuple(lines_of(text))
    assert ("s", "Store") not in make_query("a.ts", Cursor(lines, 1, 3)).receivers
    assert ("s", "Store") in make_query("a.ts", Cursor(lines, 3, 2)).receivers


def test_go_methods_from_every_file_of_the_package(ws) -> None:
    view = ws({"go.mod": "module example.com/shop\n", "store/store.go": STORE_GO,
               "store/methods.go": METHODS_GO, "cmd/main.go": MAIN_GO})
    got = _context(view, "cmd/main.go", MAIN_GO, 6)
    assert "func (s *Store) Count() int {" in got


def test_java_local_declaration() -> None:
    text = "class A {\n  void f() {\n    Store s = new Store();\n    \n  }\n}\n"
    lines = tuple(lines_of(text))
    assert ("s", "Store") in make_query("A.java", Cursor(lines, 3, 4)).receivers


STORE_RS = ("pub struct Store {\n    items: Vec<String>,\n}\n\nimpl Store {\n"
            "    pub fn new() -> Self {\n        Store { items: Vec::new() }\n    }\n"
            + "".join(f"    pub fn m{i}(&self) {{}}\n" for i in range(30))
            + "    pub fn add(&mut self, item: &str) {\n        self.items.push(item.into());\n"
            "    }\n}\n")
MAIN_RS = ("use crate::store::Store;\n\npub fn fill(s: &mut Store) {\n    s.add(\"a\");\n"
           "    \n}\n")


def test_rust_parameter_type_pulls_methods_likeliest_first(ws) -> None:
    """``s: &mut Store`` pulls Store's methods; of a type with more methods than are shown,
    the one the file already calls on ``s`` comes first (and is in the brief)."""
    view = ws({"Cargo.toml": "[package]\nname = \"shop\"\n", "src/lib.rs": "pub mod store;\n",
               "src/store.rs": STORE_RS, "src/main_loop.rs": MAIN_RS})
    lines = tuple(lines_of(MAIN_RS))
    q = make_query("src/main_loop.rs", Cursor(lines, 4, 4))
    assert ("s", "Store") in q.receivers
    cands = [c for c in definitions(view, q) if c.path == "src/store.rs"]
    assert cands and "pub struct Store {" in cands[0].text
    assert "    pub fn add(&mut self, item: &str) {" in (cands[0].brief or "")


def test_rust_let_declarations() -> None:
    text = ("fn f() {\n    let mut a = Store::new();\n    let b = shop::Cart { n: 1 };\n"
            "    a.x(); b.y();\n    \n}\n")
    got = make_query("src/a.rs", Cursor(tuple(lines_of(text)), 4, 4)).receivers
    assert {("a", "Store"), ("b", "Cart")} <= got


def test_declaration_inside_the_scope_wins() -> None:
    """A variable declared in the enclosing function has that type only (not the types other
    functions of the file declare it with)."""
    text = ("function f(s: Other) {\n  s.a();\n}\n"
            "function g() {\n  const s: Store = make();\n  s.b();\n  \n}\n")
    got = make_query("a.ts", Cursor(tuple(lines_of(text)), 6, 2)).receivers
    assert ("s", "Store") in got and ("s", "Other") not in got

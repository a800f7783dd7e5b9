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

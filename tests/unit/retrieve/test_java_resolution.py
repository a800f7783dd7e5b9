"""Java import resolution: package + class by path suffix, static members, wildcard imports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from context.index import WorkspaceIndex
from context.retrieve.current import Cursor
from context.retrieve.definitions import _java_wildcards, definitions, resolve_symbol
from context.retrieve.javaimports import parse_java_imports_at
from context.retrieve.query import make_query
from context.retrieve.text import lines_of
from context.retrieve.view import WorkspaceView

STORE = ("package com.shop.store;\n\npublic class Store {\n"
         "    public static Store empty() {\n        return new Store();\n    }\n"
         "    public int count() {\n        return 0;\n    }\n}\n")
PRICE = "package com.shop.money;\n\npublic class Price {\n    public int cents;\n}\n"
APP = ("package com.shop.app;\n\nimport com.shop.store.Store;\nimport com.shop.money.*;\n"
       "import static com.shop.store.Store.empty;\n\npublic class App {\n"
       "    void run(Price p) {\n        Store s = empty();\n        \n    }\n}\n")


@pytest.fixture
def view(tmp_path: Path) -> Iterator[WorkspaceView]:
    root = tmp_path / "ws"
    files = {"src/main/java/com/shop/store/Store.java": STORE,
             "src/main/java/com/shop/money/Price.java": PRICE,
             "src/main/java/com/shop/app/App.java": APP}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, "utf-8")
    index = WorkspaceIndex(root, store_path=tmp_path / "store.sqlite3")
    index.refresh()
    yield WorkspaceView(index)
    index.close()


APP_PATH = "src/main/java/com/shop/app/App.java"


def test_parse() -> None:
    got = [(b.alias, b.module, b.name) for b in
           parse_java_imports_at(APP.splitlines(keepends=True), [2, 3, 4])]
    assert got == [("Store", "com.shop.store.Store", "Store"), ("*", "com.shop.money", None),
                   ("empty", "com.shop.store.Store", "Store.empty")]


def test_class_and_static_member(view: WorkspaceView) -> None:
    found = resolve_symbol(view, APP_PATH, "com.shop.store.Store", "Store")
    assert (found.path, found.start_line) == ("src/main/java/com/shop/store/Store.java", 2)
    found = resolve_symbol(view, APP_PATH, "com.shop.store.Store", "Store.empty")
    assert found.start_line == 3
    assert resolve_symbol(view, APP_PATH, "com.shop.other.Store", "Store") is None


def test_wildcard_import_brings_the_named_class(view: WorkspaceView) -> None:
    lines = tuple(lines_of(APP))
    q = make_query(APP_PATH, Cursor(lines, 9, 8))
    bound = {(b.alias, b.module) for b in _java_wildcards(view, q)}
    assert ("Price", "com.shop.money.Price") in bound and ("Store", "com.shop.money.Store") \
        not in bound
    paths = {c.path for c in definitions(view, q)}
    assert "src/main/java/com/shop/money/Price.java" in paths
    assert ("s", "Store") in q.receivers

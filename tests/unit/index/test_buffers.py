"""Open buffers win over the disk; incremental re-parses give what a fresh parse gives."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from context.index import WorkspaceIndex
from context.index.chunks import BufferExtractor
from context.index.edits import diff_edit
from context.index.extract import extract

from .helpers import positions_by_name, write

SOURCE = '''"""Module."""


class Account:
    """Money."""

    def deposit(self, amount):
        self.balance = self.balance + amount
        return self.balance

    def withdraw(self, amount):
        return self.deposit(-amount)


def open_account():
    return Account()
'''


def test_diff_edit_finds_the_changed_region() -> None:
    edit = diff_edit(b"ab\ncd\nef", b"ab\ncXd\nef")
    assert edit is not None
    assert (edit.start_byte, edit.old_end_byte, edit.new_end_byte) == (4, 4, 5)
    assert (edit.start_point, edit.old_end_point, edit.new_end_point) == ((1, 1), (1, 1), (1, 2))
    assert diff_edit(b"same", b"same") is None
    removal = diff_edit(b"line1\nline2\nline3\n", b"line1\nline3\n")
    assert removal is not None
    assert (removal.start_byte, removal.old_end_byte, removal.new_end_byte) == (10, 16, 10)


def test_buffer_wins_over_disk_until_closed(tmp_path: Path) -> None:
    write(tmp_path, "bank.py", SOURCE)
    with WorkspaceIndex(tmp_path) as ix:
        ix.refresh()
        edited = SOURCE.replace("def withdraw", "def take_out")
        ix.update_buffer("bank.py", edited)
        assert ix.file_text("bank.py") == edited
        assert [d.qualname for d in ix.definitions("take_out")] == ["Account.take_out"]
        assert ix.definitions("withdraw") == []
        assert ix.refresh().parsed == 0  # a refresh does not overwrite the open buffer
        assert ix.definitions("withdraw") == []
        ix.close_buffer("bank.py")
        assert ix.file_text("bank.py") == SOURCE
        assert [d.qualname for d in ix.definitions("withdraw")] == ["Account.withdraw"]
        assert ix.definitions("take_out") == []


def test_buffer_for_a_new_unsaved_file_is_indexed(tmp_path: Path) -> None:
    with WorkspaceIndex(tmp_path) as ix:
        ix.refresh()
        ix.update_buffer("draft.py", "from bank import Account\n\ndef draft():\n    pass\n")
        assert ix.files() == ["draft.py"]
        assert [d.path for d in ix.definitions("draft")] == ["draft.py"]
        ix.close_buffer("draft.py")  # never saved: it disappears
        assert ix.files() == []


def test_restart_after_buffer_edit_rereads_the_disk(tmp_path: Path) -> None:
    write(tmp_path, "bank.py", SOURCE)
    with WorkspaceIndex(tmp_path) as ix:
        ix.refresh()
        ix.update_buffer("bank.py", SOURCE.replace("deposit", "put"))
    with WorkspaceIndex(tmp_path) as ix:
        assert ix.refresh().parsed == 1
        assert [d.qualname for d in ix.definitions("deposit")] == ["Account.deposit"]


JS_SOURCE = """// Adds.
export function add(a, b) {
  return a + b;
}

/** A vector. */
export class Vector {
  constructor(x) { this.x = x; }
  len() { return add(this.x, 0); }
}
const z = require('./z');
"""


CPP_SOURCE = """#include "a.h"
namespace geo {
// A circle.
class Circle {
 public:
  double area() const { return r * r; }
  double r;
};
double Circle::twice() const { return 2 * area(); }
}  // namespace geo
"""

RUST_SOURCE = """/// A point.
pub struct P { x: i32 }

impl P {
    /// New.
    pub fn new(x: i32) -> Self { P { x } }
    fn get(&self) -> i32 { self.x }
}
"""

JAVA_SOURCE = """import a.b.C;

public class Outer {
    /** Field. */
    private int count;
    public int inc() { return ++count; }
    static class Inner { void m() {} }
}
"""

PY_PIECES = ["x", "\n", "    ", "def f(a):\n    return a\n", "class K:\n    pass\n", "(", ")",
             ":", "# note\n", "é", "@deco\n", '"""doc"""\n', "y = 1\n"]
C_PIECES = ["x", "\n", "{", "}", "int g() { return 1; }\n", "// c\n", "é", ";", "class"]


@pytest.mark.parametrize(("language", "source", "pieces"), [
    ("python", SOURCE, PY_PIECES),
    ("javascript", JS_SOURCE, ["x", "\n", "{", "}", "function g() {}\n", "// c\n", "é", ";"]),
    ("cpp", CPP_SOURCE, C_PIECES),
    ("rust", RUST_SOURCE, C_PIECES + ["fn h() {}\n", "impl Q {\n"]),
    ("java", JAVA_SOURCE, C_PIECES + ["void k() {}\n", "/** d */\n"]),
])
@pytest.mark.parametrize("split_bytes", [2048, 0])
def test_incremental_parse_and_chunked_extraction_equal_a_fresh_parse(
    language: str, source: str, pieces: list[str], split_bytes: int
) -> None:
    rng = random.Random(7)
    ix_text = source
    old_data = ix_text.encode()
    _, tree = extract(language, old_data)
    chunked = BufferExtractor(language, split_bytes=split_bytes)
    chunked.facts(tree, old_data)
    for _ in range(80):
        start = rng.randrange(len(ix_text) + 1)
        end = min(len(ix_text), start + rng.randrange(8))
        ix_text = ix_text[:start] + rng.choice(pieces) + ix_text[end:]
        new_data = ix_text.encode()
        edit = diff_edit(old_data, new_data)
        if edit is None:  # the random replacement happened to change nothing
            assert new_data == old_data
            continue
        tree.edit(edit.start_byte, edit.old_end_byte, edit.new_end_byte, edit.start_point,
                  edit.old_end_point, edit.new_end_point)
        incremental, tree = extract(language, new_data, tree)
        fresh, fresh_tree = extract(language, new_data)
        assert (incremental.defs, incremental.imports) == (fresh.defs, fresh.imports)
        assert positions_by_name(incremental.refs) == positions_by_name(fresh.refs)
        by_chunks = chunked.facts(tree, new_data)
        assert (by_chunks.defs, by_chunks.imports, by_chunks.lines) == (
            fresh.defs, fresh.imports, fresh.lines)
        assert positions_by_name(by_chunks.refs) == positions_by_name(fresh.refs)
        assert str(tree.root_node) == str(fresh_tree.root_node)
        old_data = new_data


def test_update_buffer_incrementally_tracks_typing(tmp_path: Path) -> None:
    write(tmp_path, "bank.py", SOURCE)
    with WorkspaceIndex(tmp_path) as ix:
        ix.refresh()
        text = SOURCE
        for ch in "\ndef typed_fn(q):\n    return q\n":
            text += ch
            ix.update_buffer("bank.py", text)
        fresh, _ = extract("python", text.encode())
        assert [(s.name, s.start_line, s.end_line) for s in ix.symbols_in("bank.py")] == [
            (d[0], d[3], d[5]) for d in fresh.defs]
        assert ix.definitions("typed_fn")[0].start_line == 17


def test_delta_writes_store_what_a_full_write_stores(tmp_path: Path) -> None:
    write(tmp_path, "bank.py", SOURCE)
    rng = random.Random(3)
    pieces = ["x", "\n", "import os\n", "def g(b):\n    return b\n", "amount", "# c\n", ")"]
    with WorkspaceIndex(tmp_path) as typed, \
            WorkspaceIndex(tmp_path, store_path=tmp_path / "fresh.sqlite3") as fresh:
        typed.refresh()
        text = SOURCE
        for _ in range(40):
            start = rng.randrange(len(text) + 1)
            text = text[:start] + rng.choice(pieces) + text[start + rng.randrange(4):]
            typed.update_buffer("bank.py", text)
        fresh.update_buffer("bank.py", text)
        names = sorted(typed.identifiers("bank.py"))
        assert names == sorted(fresh.identifiers("bank.py"))
        assert typed.symbols_in("bank.py") == fresh.symbols_in("bank.py")
        assert typed.imports("bank.py") == fresh.imports("bank.py")
        for name in names:
            assert typed.references(name) == fresh.references(name)


def test_buffer_edit_after_another_connection_changed_the_store(tmp_path: Path) -> None:
    """Regression: the import cache was dropped mid-update (TypeError in update_buffer)."""
    from context.index import WorkspaceIndex

    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "a.py").write_text("def helper():\n    return 1\n")
    (root / "pkg" / "b.py").write_text("from pkg.a import helper\n\nX = helper()\n")
    first, second = WorkspaceIndex(root), WorkspaceIndex(root)
    try:
        first.refresh()
        assert [d.path for d in first.definitions("helper", from_path="pkg/b.py")] == ["pkg/a.py"]
        second.update_buffer("pkg/a.py",
                             "def helper():\n    return 2\n\n\ndef other():\n    pass\n")
        first.update_buffer("pkg/b.py", "from pkg.a import helper, other\n\nX = other()\n")
        assert [d.path for d in first.definitions("other", from_path="pkg/b.py")] == ["pkg/a.py"]
    finally:
        first.close()
        second.close()

"""Workspace-wide ranking hints are reused across generations for a while, exact answers not."""

from __future__ import annotations

from context.retrieve.view import WorkspaceView


class _Index:
    def __init__(self) -> None:
        self.generation = 1

    def files(self) -> list[str]:
        return []


def test_a_hint_survives_new_generations_until_it_is_old() -> None:
    now = [100.0]
    index = _Index()
    view = WorkspaceView(index, clock=lambda: now[0])
    made: list[int] = []

    def make() -> int:
        made.append(index.generation)
        return index.generation

    assert view.memo_hint(("stats",), make, max_age_s=60) == 1
    index.generation = 2  # a keystroke
    now[0] += 59
    assert view.memo_hint(("stats",), make, max_age_s=60) == 1
    assert view.memo(("exact",), make) == 2  # exact answers follow the generation
    now[0] += 2
    assert view.memo_hint(("stats",), make, max_age_s=60) == 2
    assert made == [1, 2, 2]


def test_usage_counts_take_the_edited_file_as_it_is_now(tmp_path) -> None:
    """The hint's copy of the edited file is stale (a line deleted and being retyped would
    still count): its counts come from the query (the buffer now, the cursor line left out)."""
    from context.index import WorkspaceIndex
    from context.retrieve.current import Cursor
    from context.retrieve.definitions import attr_stats, call_stats
    from context.retrieve.query import make_query
    from context.retrieve.text import lines_of

    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.py").write_text("import lib\nlib.f()\nlib.f()\nlib.g()\n", "utf-8")
    (root / "b.py").write_text("import lib\nlib.f()\n", "utf-8")
    index = WorkspaceIndex(root, store_path=tmp_path / "store.sqlite3")
    index.refresh()
    try:
        view = WorkspaceView(index)
        now = "import lib\nlib.f()\nlib.h()\n\n"  # lib.f() deleted, lib.g() retyped as h
        q = make_query("a.py", Cursor(tuple(lines_of(now)), 3, 0))
        assert attr_stats(view, q)[("lib", "f")] == 2
        assert attr_stats(view, q)[("lib", "g")] == 0
        assert attr_stats(view, q)[("lib", "h")] == 1
        assert call_stats(view, "b.py")["g"] == 1 and call_stats(view, "a.py")["g"] == 0
    finally:
        index.close()


def test_an_imported_name_used_near_the_scope_ranks_before_one_used_far_away(tmp_path) -> None:
    """Bare uses (``raise Near(``) place a name like ``mod.attr`` uses do."""
    from context.index import WorkspaceIndex
    from context.retrieve.current import Cursor
    from context.retrieve.definitions import definitions
    from context.retrieve.query import make_query
    from context.retrieve.text import lines_of

    lib = "class Far:\n    pass\n\n\nclass Near:\n    pass\n"
    app = ("from lib import Far, Near\n\n\ndef run(x):\n    \n\n\ndef g():\n    raise Near()\n"
           + "\n" * 400 + "def h():\n    return Far()\n")
    root = tmp_path / "ws"
    root.mkdir()
    (root / "lib.py").write_text(lib, "utf-8")
    (root / "app.py").write_text(app, "utf-8")
    index = WorkspaceIndex(root, store_path=tmp_path / "store.sqlite3")
    index.refresh()
    try:
        q = make_query("app.py", Cursor(tuple(lines_of(app)), 4, 4))
        got = [c.text.splitlines()[0] for c in definitions(WorkspaceView(index), q)
               if c.path == "lib.py"]
        assert got[:2] == ["class Near:", "class Far:"]
    finally:
        index.close()

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


def test_usage_counts_leave_out_the_file_being_edited(tmp_path) -> None:
    """The hint's copy of the edited file is stale (a line deleted and being retyped would
    still count), and the file's own uses are in the prompt: counts are of the other files."""
    from context.index import WorkspaceIndex
    from context.retrieve.definitions import attr_stats, call_stats

    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.py").write_text("import lib\nlib.f()\nlib.f()\nlib.g()\n", "utf-8")
    (root / "b.py").write_text("import lib\nlib.f()\n", "utf-8")
    index = WorkspaceIndex(root, store_path=tmp_path / "store.sqlite3")
    index.refresh()
    try:
        view = WorkspaceView(index)
        assert attr_stats(view, "a.py")[("lib", "f")] == 1
        assert attr_stats(view, "a.py")[("lib", "g")] == 0
        assert attr_stats(view, "b.py")[("lib", "f")] == 2
        assert call_stats(view, "b.py")["g"] == 1
    finally:
        index.close()

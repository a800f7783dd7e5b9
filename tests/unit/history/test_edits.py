"""``EditRing``: merging adjacent edits, keeping line numbers current, limits and filters."""

from __future__ import annotations

from context.history import EditRing, RecentEdit, line_edit


def _typing(ring: EditRing, doc: list[str], path: str, line: int, text: str, t0: float) -> None:
    """Type ``text`` one character at a time at the end of ``line`` of ``doc``."""
    for i, ch in enumerate(text):
        old = doc[line]
        doc[line] = old + ch
        ring.record(path, line, old + "\n", doc[line] + "\n", timestamp=t0 + i)


def test_keystrokes_merge_into_one_edit() -> None:
    ring = EditRing()
    doc = ["def f():", "    return 1", ""]
    _typing(ring, doc, "a.py", 1, " + 2", 100.0)
    assert ring.recent() == [
        RecentEdit("a.py", 1, 1, "    return 1\n", "    return 1 + 2\n", 103.0),
    ]


def test_adjacent_lines_merge_and_far_lines_do_not() -> None:
    ring = EditRing()
    ring.record("a.py", 10, "x = 1\n", "x = 2\n", timestamp=1.0)
    ring.record("a.py", 11, "y = 1\n", "y = 2\nz = 3\n", timestamp=2.0)
    ring.record("a.py", 40, "w = 1\n", "w = 2\n", timestamp=3.0)
    assert ring.recent() == [
        RecentEdit("a.py", 40, 40, "w = 1\n", "w = 2\n", 3.0),
        RecentEdit("a.py", 10, 12, "x = 1\ny = 1\n", "x = 2\ny = 2\nz = 3\n", 2.0),
    ]


def test_overlapping_edit_merges_with_what_the_last_one_left() -> None:
    ring = EditRing()
    ring.record("a.py", 5, "a\nb\n", "A\nB\nC\n", timestamp=1.0)
    # Replace lines 6..8 (B, C and the untouched "d" below) with one line.
    ring.record("a.py", 6, "B\nC\nd\n", "BCD\n", timestamp=2.0)
    assert ring.recent() == [RecentEdit("a.py", 5, 6, "a\nb\nd\n", "A\nBCD\n", 2.0)]


def test_undo_removes_the_entry() -> None:
    ring = EditRing()
    ring.record("a.py", 3, "x\n", "xy\n", timestamp=1.0)
    ring.record("a.py", 3, "xy\n", "x\n", timestamp=2.0)
    assert ring.recent() == []


def test_older_edits_below_shift_with_inserted_lines() -> None:
    ring = EditRing()
    ring.record("a.py", 20, "old\n", "new\n", timestamp=1.0)
    ring.record("b.py", 0, "", "import os\n", timestamp=2.0)
    ring.record("a.py", 2, "", "# one\n# two\n# three\n", timestamp=3.0)
    assert ring.recent(path="a.py") == [
        RecentEdit("a.py", 2, 4, "", "# one\n# two\n# three\n", 3.0),
        RecentEdit("a.py", 23, 23, "old\n", "new\n", 1.0),
    ]
    ring.record("a.py", 2, "# one\n# two\n# three\n", "", timestamp=4.0)
    assert ring.recent(path="a.py") == [RecentEdit("a.py", 20, 20, "old\n", "new\n", 1.0)]


def test_pure_deletion_reports_an_empty_range() -> None:
    ring = EditRing()
    ring.record("a.py", 7, "gone\n", "", timestamp=1.0)
    assert ring.recent() == [RecentEdit("a.py", 7, 6, "gone\n", "", 1.0)]


def test_capacity_limit_since_and_path() -> None:
    ring = EditRing(capacity=3)
    for i in range(5):
        ring.record(f"f{i}.py", 0, "a\n", f"b{i}\n", timestamp=float(i))
    assert [e.path for e in ring.recent()] == ["f4.py", "f3.py", "f2.py"]
    assert [e.path for e in ring.recent(limit=1)] == ["f4.py"]
    assert [e.path for e in ring.recent(since=3.0)] == ["f4.py", "f3.py"]
    assert [e.path for e in ring.recent(path="f2.py")] == ["f2.py"]
    ring.clear("f3.py")
    assert [e.path for e in ring.recent()] == ["f4.py", "f2.py"]
    ring.clear()
    assert ring.recent() == []


def test_edits_far_apart_in_time_stay_separate() -> None:
    ring = EditRing(merge_window_s=10.0)
    ring.record("a.py", 1, "a\n", "b\n", timestamp=0.0)
    ring.record("a.py", 1, "b\n", "c\n", timestamp=60.0)
    assert [(e.before, e.after) for e in ring.recent()] == [("b\n", "c\n"), ("a\n", "b\n")]


def test_line_edit_turns_a_range_change_into_whole_lines() -> None:
    doc = "def f():\n    return 1\n"
    assert line_edit(doc, 1, 12, 1, 12, " + 2") == (1, "    return 1\n", "    return 1 + 2\n")
    assert line_edit(doc, 0, 8, 1, 0, "\n    x = 0\n") == (
        0,
        "def f():\n    return 1\n",
        "def f():\n    x = 0\n    return 1\n",
    )
    assert line_edit(doc, 0, 0, 1, 12, "") == (0, "def f():\n    return 1\n", "\n")


def test_texts_without_the_final_newline() -> None:
    ring = EditRing()
    ring.record("a.py", 4, "", "x", timestamp=1.0)  # typing on an empty line
    ring.record("a.py", 4, "x", "xy", timestamp=2.0)
    ring.record("a.py", 4, "xy", "xy\n", timestamp=3.0)  # Enter at the end of the line
    ring.record("a.py", 9, "tail", "tail", timestamp=4.0)  # no change: ignored
    assert ring.recent() == [RecentEdit("a.py", 4, 5, "\n", "xy\n\n", 3.0)]

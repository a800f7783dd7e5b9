"""The watchdog observer keeps the index fresh after external changes, in batches."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from context.index import WorkspaceIndex

from .helpers import git, write


def _until(ix: WorkspaceIndex, check: Callable[[], bool], timeout_s: float = 20.0) -> bool:
    """Wait (bounded) for the watcher to apply what the check expects; no timing is asserted."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ix.wait_idle(timeout_s)
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_external_create_modify_delete_rename(tmp_path: Path) -> None:
    write(tmp_path, "a.py", "def alpha():\n    pass\n")
    with WorkspaceIndex(tmp_path) as ix:
        ix.refresh()
        ix.start_watching()
        write(tmp_path, "b.py", "def beta():\n    pass\n")
        assert _until(ix, lambda: [d.path for d in ix.definitions("beta")] == ["b.py"])
        write(tmp_path, "a.py", "def alpha2():\n    pass\n")
        assert _until(ix, lambda: ix.definitions("alpha") == [] and ix.definitions("alpha2"))
        (tmp_path / "b.py").rename(tmp_path / "c.py")
        assert _until(ix, lambda: [d.path for d in ix.definitions("beta")] == ["c.py"])
        (tmp_path / "a.py").unlink()
        assert _until(ix, lambda: ix.files() == ["c.py"])
        write(tmp_path, "pkg/d.py", "def delta():\n    pass\n")
        assert _until(ix, lambda: ix.files() == ["c.py", "pkg/d.py"])
        (tmp_path / "pkg").rename(tmp_path / "moved")
        assert _until(ix, lambda: ix.files() == ["c.py", "moved/d.py"])
        write(tmp_path, "node_modules/x/index.js", "function vendored() {}\n")
        write(tmp_path, "e.py", "def epsilon():\n    pass\n")
        assert _until(ix, lambda: "e.py" in ix.files())
        assert ix.definitions("vendored") == []
        ix.stop_watching()


def test_open_buffer_is_not_overwritten_by_disk_events(tmp_path: Path) -> None:
    write(tmp_path, "a.py", "def alpha():\n    pass\n")
    with WorkspaceIndex(tmp_path) as ix:
        ix.refresh()
        ix.start_watching()
        ix.update_buffer("a.py", "def edited():\n    pass\n")
        write(tmp_path, "a.py", "def from_disk():\n    pass\n")
        write(tmp_path, "z.py", "def marker():\n    pass\n")
        assert _until(ix, lambda: bool(ix.definitions("marker")))
        assert ix.definitions("from_disk") == []
        assert [d.name for d in ix.symbols_in("a.py")] == ["edited"]


def test_git_checkout_of_many_files_is_batched(tmp_path: Path) -> None:
    for i in range(600):
        write(tmp_path, f"src/m{i:03d}.py", f"def old_{i}():\n    return {i}\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "old")
    git(tmp_path, "checkout", "-qb", "new")
    for i in range(0, 600, 2):
        (tmp_path / f"src/m{i:03d}.py").unlink()
    for i in range(1, 600, 2):
        write(tmp_path, f"src/m{i:03d}.py", f"def new_{i}():\n    return {i}\n")
    for i in range(600, 900):
        write(tmp_path, f"lib/n{i:03d}.py", f"def added_{i}():\n    return {i}\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "new")
    git(tmp_path, "checkout", "-q", "main")
    with WorkspaceIndex(tmp_path) as ix:
        assert ix.refresh().files == 600
        ix.start_watching()
        git(tmp_path, "checkout", "-q", "new")
        assert _until(ix, lambda: len(ix.files()) == 600 and bool(ix.definitions("added_899"))
                      and not ix.definitions("old_1"), timeout_s=60)
        assert ix.definitions("old_0") == []
        assert [d.path for d in ix.definitions("new_599")] == ["src/m599.py"]
        assert sum(1 for f in ix.files() if f.startswith("lib/")) == 300


def test_watching_a_missing_root_is_logged_not_raised(tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), WorkspaceIndex(tmp_path / "missing") as ix:
        stats = ix.refresh()
        ix.start_watching()
        assert ix.wait_idle(1.0) is True
    assert (stats.files, stats.skipped) == (0, {"unreadable_dir": 1})
    assert any("cannot watch" in r.getMessage() for r in caplog.records)


def test_new_top_level_folder_is_watched_and_vendored_ones_are_not(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "node_modules" / "pkg").mkdir(parents=True)
    (root / "node_modules" / "pkg" / "index.js").write_text("function vendored() {}\n")
    (root / "a.py").write_text("def a():\n    pass\n")
    index = WorkspaceIndex(root)
    index.refresh()
    index.start_watching()
    try:
        watcher = index._watcher
        assert str(root / "node_modules") not in watcher._watched
        (root / "newpkg").mkdir()
        deadline = time.monotonic() + 60  # a bound, not a timing assertion
        while str(root / "newpkg") not in watcher._watched and time.monotonic() < deadline:
            time.sleep(0.05)
        assert str(root / "newpkg") in watcher._watched
        (root / "newpkg" / "mod.py").write_text("def fresh_name():\n    pass\n")
        while not index.definitions("fresh_name") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [d.path for d in index.definitions("fresh_name")] == ["newpkg/mod.py"]
    finally:
        index.stop_watching()
        index.close()

"""Persistence: restarts re-read only what changed, content hashes decide, bad stores rebuild."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from context.index import WorkspaceIndex
from context.index.db import SCHEMA_VERSION
from context.store import store_path

from .helpers import git, write


def test_store_lives_in_the_cache_dir(polyglot: Path, cache_dir: Path) -> None:
    with WorkspaceIndex(polyglot) as ix:
        ix.refresh()
        assert ix.store_path == store_path(polyglot)
        assert ix.store_path.is_relative_to(cache_dir)
    conn = sqlite3.connect(store_path(polyglot))
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT version FROM meta WHERE component = 'index'").fetchone()[0] \
        == SCHEMA_VERSION
    conn.close()


def test_restart_reads_nothing_when_nothing_changed(polyglot: Path) -> None:
    with WorkspaceIndex(polyglot) as ix:
        first = ix.refresh()
    with WorkspaceIndex(polyglot) as ix:
        second = ix.refresh()
        assert ix.definitions("slugify")[0].path == "py/pkg/util.py"
    assert (first.parsed, first.files, first.rebuilt) == (22, 22, False)
    assert (second.parsed, second.files, second.symbols, second.refs) == (
        0, 22, first.symbols, first.refs)


def test_touch_without_change_is_not_reparsed_but_an_edit_is(polyglot: Path) -> None:
    util = polyglot / "py/pkg/util.py"
    with WorkspaceIndex(polyglot) as ix:
        ix.refresh()
        os.utime(util, ns=(1_000_000_000, 1_000_000_000))  # like a checkout: mtime lies
        assert ix.refresh().parsed == 0
        util.write_text("def kebab(text):\n    return text\n")
        os.utime(util, ns=(2_000_000_000, 2_000_000_000))  # older than the first index
        stats = ix.refresh()
        assert stats.parsed == 1
        assert [s.name for s in ix.symbols_in("py/pkg/util.py")] == ["kebab"]
        assert ix.definitions("slugify") == []


def test_deleted_and_renamed_files_leave_no_symbols(polyglot: Path) -> None:
    with WorkspaceIndex(polyglot) as ix:
        ix.refresh()
        (polyglot / "py/pkg/util.py").rename(polyglot / "py/pkg/text.py")
        (polyglot / "c/util.c").unlink()
        stats = ix.refresh()
        assert (stats.parsed, stats.removed, stats.files) == (1, 2, 21)
        assert [d.path for d in ix.definitions("slugify")] == ["py/pkg/text.py"]
        assert ix.definitions("sum_pair") == []
        assert sorted({r.path for r in ix.references("sum_pair")}) == ["c/main.c", "c/util.h"]
        assert "c/util.c" not in ix.files()


def test_corrupt_store_is_rebuilt_once(polyglot: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = store_path(polyglot)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not a database" * 100)
    with caplog.at_level(logging.WARNING), WorkspaceIndex(polyglot) as ix:
        stats = ix.refresh()
        again = ix.refresh()
    assert (stats.rebuilt, stats.files) == (True, 22)
    assert again.rebuilt is False
    warnings = [r for r in caplog.records if "rebuild" in r.getMessage()]
    assert len(warnings) == 1


def test_foreign_sqlite_with_clashing_tables_is_rebuilt(polyglot: Path) -> None:
    path = store_path(polyglot)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE idx_files (whatever TEXT)")
    conn.execute("INSERT INTO idx_files VALUES ('x')")
    conn.commit()
    conn.close()
    with WorkspaceIndex(polyglot) as ix:
        stats = ix.refresh()
    assert (stats.rebuilt, stats.files) == (True, 22)


def test_old_schema_version_is_rebuilt(polyglot: Path) -> None:
    with WorkspaceIndex(polyglot) as ix:
        ix.refresh()
    conn = sqlite3.connect(store_path(polyglot))
    conn.execute("UPDATE meta SET version = 0 WHERE component = 'index'")
    conn.commit()
    conn.close()
    with WorkspaceIndex(polyglot) as ix:
        stats = ix.refresh()
    assert (stats.rebuilt, stats.parsed, stats.files) == (True, 22, 22)


def test_two_instances_refreshing_concurrently_stay_consistent(tmp_path: Path) -> None:
    for i in range(80):  # enough files for both to use their process pools
        write(tmp_path, f"pkg/m{i:02d}.py",
              f"def f{i}(x):\n    return x + {i}\n\n\nclass C{i}:\n    def m(self):\n"
              f"        return f{i}(1)\n")
    a, b = WorkspaceIndex(tmp_path, workers=2), WorkspaceIndex(tmp_path, workers=2)
    results = {}

    def run(name: str, ix: WorkspaceIndex) -> None:
        results[name] = ix.refresh()

    threads = [threading.Thread(target=run, args=(n, ix)) for n, ix in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["a"].files == results["b"].files == 80
    for ix in (a, b):
        assert [d.qualname for d in ix.symbols_in("pkg/m07.py")] == ["f7", "C7", "C7.m"]
        assert len(ix.definitions("m", limit=1000)) == 80
    a.close()
    b.close()
    conn = sqlite3.connect(store_path(tmp_path))
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM idx_defs").fetchone()[0] == 240
    assert conn.execute("SELECT count(*) FROM idx_files").fetchone()[0] == 80
    conn.close()


def test_tracked_file_deleted_from_a_git_worktree_is_dropped(tmp_path: Path) -> None:
    write(tmp_path, "keep.py", "def keep():\n    pass\n")
    write(tmp_path, "gone.py", "def gone():\n    pass\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "both")
    with WorkspaceIndex(tmp_path) as ix:
        assert ix.refresh().files == 2
        assert ix.last_listing_method == "git"
        (tmp_path / "gone.py").unlink()  # still in git's index, not on disk
        stats = ix.refresh()
        assert (stats.files, stats.removed, stats.skipped) == (1, 1, {})
        assert ix.definitions("gone") == []


class _Token:
    def __init__(self) -> None:
        self.cancelled = False


def test_cancelled_refresh_keeps_what_it_did_and_resumes(tmp_path: Path) -> None:
    for i in range(10):
        write(tmp_path, f"m{i}.py", f"def f{i}():\n    pass\n")
    token = _Token()

    def cancel_after_three(done: int, total: int) -> None:
        token.cancelled = done >= 3

    with WorkspaceIndex(tmp_path, workers=1) as ix:
        first = ix.refresh(progress=cancel_after_three, cancel=token)
        assert (first.parsed, first.files) == (3, 3)
        second = ix.refresh()
        assert (second.parsed, second.files) == (7, 10)


def test_readers_during_a_refresh_see_consistent_results(tmp_path: Path) -> None:
    for i in range(60):
        write(tmp_path, f"pkg/m{i:02d}.py", f"def shared():\n    return {i}\n")
    errors: list[BaseException] = []
    seen: list[int] = []
    with WorkspaceIndex(tmp_path, workers=2) as ix:
        done = threading.Event()

        def read() -> None:
            try:
                while not done.is_set():
                    found = ix.definitions("shared", limit=100)
                    assert all(d.kind == "function" for d in found)
                    seen.append(len(found))
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        reader = threading.Thread(target=read)
        reader.start()
        ix.refresh()
        done.set()
        reader.join()
        assert errors == []
        assert seen == sorted(seen)  # the count only grows while files are written
        assert len(ix.definitions("shared", limit=100)) == 60


def test_buffer_opened_during_a_pooled_refresh_wins_over_the_workers(tmp_path: Path) -> None:
    for i in range(60):  # enough files for the process pool (workers write the store)
        write(tmp_path, f"pkg/m{i:02d}.py", f"def disk_{i}():\n    return {i}\n")
    with WorkspaceIndex(tmp_path, workers=2) as ix:
        opened: list[int] = []

        def open_buffer(done: int, total: int) -> None:
            if not opened:
                opened.append(done)
                ix.update_buffer("pkg/m00.py", "def typed_0():\n    return 0\n")

        stats = ix.refresh(progress=open_buffer)
        assert stats.files == 60 and opened
        assert [d.name for d in ix.symbols_in("pkg/m00.py")] == ["typed_0"]
        assert ix.definitions("disk_0") == []
        assert [d.name for d in ix.symbols_in("pkg/m03.py")] == ["disk_3"]


def test_pool_with_a_prepared_forkserver_in_a_threaded_process(tmp_path: Path) -> None:
    from multiprocessing import forkserver

    from context.index import prepare_workers

    for i in range(60):
        write(tmp_path, f"pkg/m{i:02d}.py", f"def fs_{i}():\n    return {i}\n")
    prepare_workers()
    assert forkserver._forkserver._forkserver_pid is not None  # running before any pool
    busy = threading.Event()
    side = threading.Thread(target=busy.wait, args=(30,))  # a second thread: forkserver path
    side.start()
    try:
        with WorkspaceIndex(tmp_path, workers=2) as ix:
            assert ix.refresh().files == 60
            assert [d.name for d in ix.symbols_in("pkg/m42.py")] == ["fs_42"]
    finally:
        busy.set()
        side.join()

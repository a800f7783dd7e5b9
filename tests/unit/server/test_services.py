"""Services: the index is built even when another process holds its store for a while."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from context import store
from lsp_server import services as services_module
from lsp_server.config import Config
from lsp_server.services import Services


@pytest.fixture()
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CODEFLOW_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.py").write_text("def alpha():\n    return 1\n")
    return root


def _hold_store_lock(path: Path, release: threading.Event, held: threading.Event) -> None:
    conn = sqlite3.connect(str(path), timeout=5.0, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    held.set()
    release.wait(60)
    conn.execute("ROLLBACK")
    conn.close()


def _lock_store_of(workspace: Path, release: threading.Event) -> threading.Thread:
    """Another process's view: the workspace's store exists and is locked until ``release``
    is set (by the test, at a point in its story, not after a time)."""
    path = store.store_path(workspace)
    conn, _ = store.connect(path)  # the store file exists (as another server left it)
    conn.close()
    held = threading.Event()
    holder = threading.Thread(target=_hold_store_lock, args=(path, release, held))
    holder.start()
    assert held.wait(30)
    return holder


def test_locked_store_is_waited_for_then_indexed(workspace: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "BUSY_TIMEOUT_S", 0.1)
    monkeypatch.setattr(services_module, "INDEX_RETRY_DELAYS_S", (0.3, 0.3, 0.3, 0.3))
    release = threading.Event()
    holder = _lock_store_of(workspace, release)
    reports: list[tuple[str, str]] = []

    def report(level: str, msg: str) -> None:
        reports.append((level, msg))
        if "busy" in msg:  # the other process finishes once we have said we wait for it
            release.set()
            holder.join(30)  # before the next try, however slow this machine is

    svc = Services(workspace, Config(), report)
    stats = svc.build_index(None, None)
    holder.join()
    assert stats is not None and stats.files == 1
    assert svc.index is not None and svc.index_error is None
    assert [d.name for d in svc.index.definitions("alpha")] == ["alpha"]
    assert any("busy" in msg for level, msg in reports if level == "info")
    assert sum("busy" in msg for _, msg in reports) == 1  # once, however many tries
    assert not any(level == "error" for level, _ in reports)
    svc.close()


def test_store_locked_for_good_is_reported_once(workspace: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "BUSY_TIMEOUT_S", 0.1)
    monkeypatch.setattr(services_module, "INDEX_RETRY_DELAYS_S", (0.05,))
    release = threading.Event()
    holder = _lock_store_of(workspace, release)
    reports: list[tuple[str, str]] = []
    svc = Services(workspace, Config(), lambda level, msg: reports.append((level, msg)))
    assert svc.build_index(None, None) is None
    release.set()
    holder.join()
    errors = [msg for level, msg in reports if level == "error"]
    assert len(errors) == 1 and "locked" in errors[0]
    assert svc.index is None and svc.index_error == errors[0]

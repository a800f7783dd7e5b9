"""The per-workspace SQLite store shared by the index and the history.

One file per workspace under the user cache dir (``CODEFLOW_CACHE_DIR`` overrides it), opened
in WAL mode so that two servers on the same workspace stay consistent. Each component keeps its
own tables and a schema version in ``meta``; a version mismatch or a corrupt/foreign file makes
the component rebuild its tables (the caller is told, so it can say so once).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
from pathlib import Path

import platformdirs

log = logging.getLogger(__name__)

__all__ = [
    "CorruptStore",
    "cache_dir",
    "connect",
    "schema_version",
    "set_schema_version",
    "store_path",
]


class CorruptStore(Exception):
    """The store file is not a SQLite database we can use."""


def cache_dir() -> Path:
    """The codeflow cache dir (created): ``$CODEFLOW_CACHE_DIR`` or the platform user cache."""
    override = os.environ.get("CODEFLOW_CACHE_DIR")
    path = Path(override) if override else Path(platformdirs.user_cache_dir("codeflow"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_path(workspace: str | os.PathLike[str]) -> Path:
    """The store file for a workspace, keyed by its resolved path."""
    root = Path(workspace).resolve()
    digest = hashlib.sha1(str(root).encode("utf-8")).hexdigest()[:16]
    return cache_dir() / "workspaces" / f"{root.name or 'root'}-{digest}.sqlite3"


def _open(path: Path, timeout_s: float) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=timeout_s, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
    conn.execute("CREATE TABLE IF NOT EXISTS meta (component TEXT PRIMARY KEY, version INTEGER)")
    conn.execute("SELECT count(*) FROM meta").fetchone()
    return conn


#: How long a connection waits for another writer (another codeflow on the same workspace).
BUSY_TIMEOUT_S = 10.0


def connect(path: Path, timeout_s: float | None = None) -> tuple[sqlite3.Connection, bool]:
    """Open (or create) a store; returns (connection, rebuilt).

    ``rebuilt`` is True when the file was corrupt or foreign and was replaced by an empty store.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    timeout_s = BUSY_TIMEOUT_S if timeout_s is None else timeout_s
    try:
        return _open(path, timeout_s), False
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            raise
        log.warning("store %s is corrupt or foreign (%s); rebuilding it", path, exc)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return _open(path, timeout_s), True


def schema_version(conn: sqlite3.Connection, component: str) -> int | None:
    """The stored schema version of a component, or None when it has no tables yet."""
    row = conn.execute("SELECT version FROM meta WHERE component = ?", (component,)).fetchone()
    return None if row is None else int(row[0])


def set_schema_version(conn: sqlite3.Connection, component: str, version: int) -> None:
    """Record a component's schema version (call inside the transaction that made the tables)."""
    conn.execute(
        "INSERT INTO meta(component, version) VALUES(?, ?) "
        "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
        (component, version),
    )

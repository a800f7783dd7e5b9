"""The history's tables in the shared workspace store (all prefixed ``hist_``).

``hist_commits``: one row per ingested commit. Ids order commits newest-last: each ingest run
gets a batch number and its commits get ids ``batch << 32`` minus their position in
``git log`` order, so ``ORDER BY id DESC`` is newest first across incremental runs.
``hist_files``: what a commit did to a path (numstat), with ``state`` saying whether its hunks
are cached (``hist_hunks``), or were skipped as binary or too large.
``hist_paths`` interns path strings; ``hist_state`` keeps the ingested tip and counters.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from ..store import schema_version, set_schema_version

__all__ = [
    "COMPONENT",
    "SCHEMA_VERSION",
    "STATE_BINARY",
    "STATE_LOADED",
    "STATE_NEW",
    "STATE_TOO_LARGE",
    "PathIds",
    "clear",
    "ensure_schema",
    "get_state",
    "set_state",
]

COMPONENT = "history"
SCHEMA_VERSION = 1

STATE_NEW = 0
STATE_LOADED = 1
STATE_BINARY = 2
STATE_TOO_LARGE = 3

_TABLES = ("hist_hunks", "hist_files", "hist_commits", "hist_paths", "hist_state")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hist_commits (
    id INTEGER PRIMARY KEY,
    sha TEXT NOT NULL UNIQUE,
    author TEXT NOT NULL,
    author_time INTEGER NOT NULL,
    message TEXT NOT NULL,
    nfiles INTEGER NOT NULL,
    merge INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS hist_paths (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS hist_files (
    path_id INTEGER NOT NULL,
    commit_id INTEGER NOT NULL,
    old_path_id INTEGER NOT NULL,
    added INTEGER NOT NULL,
    removed INTEGER NOT NULL,
    state INTEGER NOT NULL,
    PRIMARY KEY (path_id, commit_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS hist_files_commit ON hist_files(commit_id);
CREATE TABLE IF NOT EXISTS hist_hunks (
    commit_id INTEGER NOT NULL,
    path_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    old_start INTEGER NOT NULL,
    old_lines INTEGER NOT NULL,
    new_start INTEGER NOT NULL,
    new_lines INTEGER NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (commit_id, path_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hist_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


def ensure_schema(conn: sqlite3.Connection) -> bool:
    """Create the tables, or drop and recreate them on a version change; True if (re)built."""
    if schema_version(conn, COMPONENT) == SCHEMA_VERSION:
        return False
    with conn:
        for table in _TABLES:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.executescript(_SCHEMA)
    with conn:
        set_schema_version(conn, COMPONENT, SCHEMA_VERSION)
    return True


def clear(conn: sqlite3.Connection) -> None:
    """Forget everything ingested (inside the caller's transaction)."""
    for table in _TABLES:
        conn.execute(f"DELETE FROM {table}")


def get_state(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM hist_state WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_state(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO hist_state(key, value) VALUES(?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


class PathIds:
    """Interned paths, mirrored in memory (paths are few compared to file rows)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.ids: dict[str, int] = {}
        self.paths: dict[int, str] = {}
        self.reload()

    def reload(self) -> None:
        self.ids = {p: i for i, p in self.conn.execute("SELECT id, path FROM hist_paths")}
        self.paths = {i: p for p, i in self.ids.items()}

    def intern(self, path: str) -> int:
        found = self.ids.get(path)
        if found is not None:
            return found
        cur = self.conn.execute("INSERT INTO hist_paths(path) VALUES(?)", (path,))
        new_id = int(cur.lastrowid or 0)
        self.ids[path] = new_id
        self.paths[new_id] = path
        return new_id

    def intern_all(self, paths: Iterable[str]) -> list[int]:
        return [self.intern(p) for p in paths]

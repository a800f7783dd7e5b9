"""The index's tables in the shared workspace store (prefix ``idx_``, component ``index``).

A file's row is keyed by path and carries its content digest; (size, mtime_ns) is only a fast
pre-check. References are stored one row per (file, name) with their count only: positions are
found again on demand, by re-reading the few files a ``references`` query needs, which keeps a
cold index cheap and the table small enough for a warm restart to be a handful of queries.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from context.index.extract import Facts
from context.store import connect, schema_version, set_schema_version

log = logging.getLogger(__name__)

__all__ = ["SCHEMA_VERSION", "StoredFile", "build_indexes", "drop_indexes", "open_store",
           "remove_files", "transaction", "write_delta", "write_facts", "write_stat"]

SCHEMA_VERSION = 2  # 2: idx_refs without positions
COMPONENT = "index"

_SCHEMA = """
CREATE TABLE idx_files (
    id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, language TEXT NOT NULL,
    digest TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    lines INTEGER NOT NULL);
CREATE TABLE idx_defs (
    file_id INTEGER NOT NULL, name TEXT NOT NULL, qualname TEXT NOT NULL, kind TEXT NOT NULL,
    start_line INTEGER NOT NULL, start_col INTEGER NOT NULL, end_line INTEGER NOT NULL,
    end_col INTEGER NOT NULL, signature TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE idx_refs (
    file_id INTEGER NOT NULL, name TEXT NOT NULL, count INTEGER NOT NULL);
CREATE TABLE idx_imports (
    file_id INTEGER NOT NULL, module TEXT NOT NULL, names TEXT NOT NULL, line INTEGER NOT NULL,
    kind TEXT NOT NULL);
"""

# Secondary indexes: (name, table(columns)); dropped during a bulk load, built again after it.
_INDEXES = (
    ("idx_defs_name", "idx_defs(name)"),
    ("idx_defs_file", "idx_defs(file_id)"),
    ("idx_refs_name", "idx_refs(name)"),
    ("idx_refs_file", "idx_refs(file_id)"),
    ("idx_imports_file", "idx_imports(file_id)"),
)

_TABLES = ("idx_files", "idx_defs", "idx_refs", "idx_imports")

# (id, digest, size, mtime_ns, language)
StoredFile = tuple[int, str, int, int, str]


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on error): one writer at a time."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _ensure_schema(conn: sqlite3.Connection) -> bool:
    """Create or replace the tables when the version differs; True if old tables were dropped."""
    with transaction(conn):
        if schema_version(conn, COMPONENT) == SCHEMA_VERSION:
            return False
        existing = {row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name LIKE 'idx\\_%' ESCAPE '\\'"
        )}
        for table in existing:
            conn.execute(f'DROP TABLE "{table}"')
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        _create_indexes(conn)
        set_schema_version(conn, COMPONENT, SCHEMA_VERSION)
        return bool(existing)


def _missing_indexes(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    present = {row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index'")}
    return [index for index in _INDEXES if index[0] not in present]


def _create_indexes(conn: sqlite3.Connection) -> None:
    for name, target in _INDEXES:
        conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def _restore_indexes(conn: sqlite3.Connection) -> None:
    """Build the secondary indexes a bulk load that did not finish (a crash) left out."""
    if _missing_indexes(conn):
        build_indexes(conn)


def drop_indexes(conn: sqlite3.Connection) -> None:
    """Drop the secondary indexes before a bulk load into empty tables: building them once
    afterwards (``build_indexes``) costs about half of keeping them up to date row by row.
    Readers meanwhile see correct but unindexed tables; ``open_store`` builds indexes a crashed
    load left out."""
    with transaction(conn):
        for name, _ in _INDEXES:
            conn.execute(f"DROP INDEX IF EXISTS {name}")


def build_indexes(conn: sqlite3.Connection) -> None:
    """Build the secondary indexes that are missing (after a bulk load)."""
    with transaction(conn):
        _create_indexes(conn)


def open_store(path: Path) -> tuple[sqlite3.Connection, bool]:
    """Open the store with the index's tables; returns (connection, rebuilt)."""
    conn, rebuilt = connect(path)
    conn.isolation_level = None
    try:
        dropped = _ensure_schema(conn)
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            raise
        log.warning("index store %s is unusable (%s); rebuilding it", path, exc)
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        conn, _ = connect(path)
        conn.isolation_level = None
        _ensure_schema(conn)
        return conn, True
    if dropped:
        log.warning("index store %s had an old or foreign index schema; rebuilt it", path)
    _restore_indexes(conn)
    return conn, rebuilt or dropped


def _clear_rows(conn: sqlite3.Connection, file_id: int) -> None:
    conn.execute("DELETE FROM idx_defs WHERE file_id = ?", (file_id,))
    conn.execute("DELETE FROM idx_refs WHERE file_id = ?", (file_id,))
    conn.execute("DELETE FROM idx_imports WHERE file_id = ?", (file_id,))


def write_facts(conn: sqlite3.Connection, path: str, language: str, digest: str, size: int,
                mtime_ns: int, facts: Facts) -> int:
    """Replace a file's rows (call inside a transaction); returns its id."""
    row = conn.execute("SELECT id FROM idx_files WHERE path = ?", (path,)).fetchone()
    values = (language, digest, size, mtime_ns, facts.lines)
    if row is None:  # a new file has no rows to clear
        file_id = int(conn.execute(
            "INSERT INTO idx_files(language, digest, size, mtime_ns, lines, path) "
            "VALUES(?, ?, ?, ?, ?, ?) RETURNING id", (*values, path)).fetchone()[0])
    else:
        file_id = int(row[0])
        conn.execute("UPDATE idx_files SET language = ?, digest = ?, size = ?, mtime_ns = ?, "
                     "lines = ? WHERE id = ?", (*values, file_id))
        _clear_rows(conn, file_id)
    conn.executemany(
        "INSERT INTO idx_defs VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(file_id, *d) for d in facts.defs],
    )
    conn.executemany(
        "INSERT INTO idx_refs VALUES(?, ?, ?)",
        [(file_id, name, count) for name, count in facts.ref_counts().items()],
    )
    conn.executemany(
        "INSERT INTO idx_imports VALUES(?, ?, ?, ?, ?)",
        [(file_id, *imp) for imp in facts.imports],
    )
    return file_id


def write_delta(conn: sqlite3.Connection, path: str, old_digest: str, digest: str,
                old: Facts, new: Facts) -> bool:
    """Rewrite only the rows that changed between two versions of a file (inside a
    transaction). Returns False, writing nothing, when the stored entry is not ``old``."""
    row = conn.execute("SELECT id, digest FROM idx_files WHERE path = ?", (path,)).fetchone()
    if row is None or row[1] != old_digest:
        return False
    file_id = int(row[0])
    conn.execute("UPDATE idx_files SET digest = ?, lines = ? WHERE id = ?",
                 (digest, new.lines, file_id))
    if old.defs != new.defs:
        conn.execute("DELETE FROM idx_defs WHERE file_id = ?", (file_id,))
        conn.executemany("INSERT INTO idx_defs VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         [(file_id, *d) for d in new.defs])
    if old.imports != new.imports:
        conn.execute("DELETE FROM idx_imports WHERE file_id = ?", (file_id,))
        conn.executemany("INSERT INTO idx_imports VALUES(?, ?, ?, ?, ?)",
                         [(file_id, *imp) for imp in new.imports])
    old_counts, new_counts = old.ref_counts(), new.ref_counts()
    changed = [name for name, n in new_counts.items() if old_counts.get(name) != n]
    gone = [name for name in old_counts if name not in new_counts]
    conn.executemany("DELETE FROM idx_refs WHERE file_id = ? AND name = ?",
                     [(file_id, name) for name in changed + gone])
    conn.executemany("INSERT INTO idx_refs VALUES(?, ?, ?)",
                     [(file_id, name, new_counts[name]) for name in changed])
    return True


def write_stat(conn: sqlite3.Connection, path: str, size: int, mtime_ns: int) -> None:
    """Record a new (size, mtime_ns) for a file whose content did not change."""
    conn.execute("UPDATE idx_files SET size = ?, mtime_ns = ? WHERE path = ?",
                 (size, mtime_ns, path))


def remove_files(conn: sqlite3.Connection, paths: Iterable[str]) -> int:
    """Delete files and all their rows (call inside a transaction); returns how many existed."""
    removed = 0
    for path in paths:
        row = conn.execute("SELECT id FROM idx_files WHERE path = ?", (path,)).fetchone()
        if row is None:
            continue
        _clear_rows(conn, int(row[0]))
        conn.execute("DELETE FROM idx_files WHERE id = ?", (row[0],))
        removed += 1
    return removed


def stored_files(conn: sqlite3.Connection) -> dict[str, StoredFile]:
    """Every indexed file: path -> (id, digest, size, mtime_ns, language)."""
    return {
        row[0]: (int(row[1]), row[2], int(row[3]), int(row[4]), row[5])
        for row in conn.execute("SELECT path, id, digest, size, mtime_ns, language FROM idx_files")
    }

"""Ingesting the commit graph: one streaming ``git log -z --numstat`` into the store.

Only commits new since the stored tip are read. When the tip is no longer an ancestor of HEAD
(rebase, force-push, branch switch) the commits that left the history are deleted and the new
ones walked from the new tip; when the old tip is gone from the object store, or the gap is
larger than ``max_commits``, the store is rebuilt from HEAD.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from . import tables
from .gitcli import Git, GitError
from .parse import LOG_FORMAT, LogRecord, parse_log_record, split_records

log = logging.getLogger(__name__)

__all__ = ["Cancelled", "IngestResult", "Ingester", "log_args"]

_BATCH = 1000


class CancelLike(Protocol):
    @property
    def cancelled(self) -> bool: ...


class Cancelled(Exception):
    """The caller's cancel token fired during an ingest."""


@dataclass(frozen=True)
class IngestResult:
    new_commits: int
    dropped: int
    rebuilt: bool
    truncated: bool


def log_args(revs: Sequence[str], max_commits: int) -> list[str]:
    """The ``git log`` arguments of the streaming reader."""
    return [
        "log",
        "-z",
        "--numstat",
        "-M",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        LOG_FORMAT,
        f"--max-count={max_commits}",
        *revs,
        "--",
    ]


class Ingester:
    """Brings ``hist_*`` up to a given HEAD. The caller holds the store lock."""

    def __init__(self, git: Git, conn: sqlite3.Connection, paths: tables.PathIds) -> None:
        self.git = git
        self.conn = conn
        self.paths = paths

    def run(self, head: str, max_commits: int, cancel: CancelLike | None) -> IngestResult:
        tip = tables.get_state(self.conn, "tip")
        if tip == head:
            return IngestResult(0, 0, False, self._truncated())
        if tip is None:
            return self._rebuild(head, max_commits, cancel)
        dropped: list[str] | None = []
        if not self.git.is_ancestor(tip, head):
            known = self.git.has_commit(tip)
            dropped = self._rev_list([tip, "--not", head], max_commits) if known else None
        if dropped is None:
            return self._rebuild(head, max_commits, cancel)
        try:
            with self.conn:
                removed = self._delete(dropped)
                added = self._insert_log([head, "--not", tip], max_commits, cancel)
                if added >= max_commits:
                    raise _TooFar
                tables.set_state(self.conn, "tip", head)
        except _TooFar:
            self.paths.reload()
            return self._rebuild(head, max_commits, cancel)
        except (Cancelled, GitError):
            self.paths.reload()
            raise
        return IngestResult(added, removed, False, self._truncated())

    def _truncated(self) -> bool:
        return tables.get_state(self.conn, "truncated") == "1"

    def _rebuild(self, head: str, max_commits: int, cancel: CancelLike | None) -> IngestResult:
        try:
            with self.conn:
                tables.clear(self.conn)
                self.paths.reload()
                added = self._insert_log([head], max_commits, cancel)
                truncated = added >= max_commits
                tables.set_state(self.conn, "tip", head)
                tables.set_state(self.conn, "truncated", "1" if truncated else "0")
        except (Cancelled, GitError):
            self.paths.reload()
            raise
        return IngestResult(added, 0, True, truncated)

    def _rev_list(self, revs: list[str], limit: int) -> list[str] | None:
        try:
            out = self.git.run(["rev-list", f"--max-count={limit}", *revs, "--"])
        except GitError as exc:
            log.info("history: cannot list rewritten commits (%s); rebuilding", exc)
            return None
        return out.decode("ascii", "replace").split()

    def _delete(self, shas: list[str]) -> int:
        removed = 0
        for sha in shas:
            row = self.conn.execute("SELECT id FROM hist_commits WHERE sha = ?", (sha,)).fetchone()
            if row is None:
                continue
            for table in ("hist_hunks", "hist_files"):
                self.conn.execute(f"DELETE FROM {table} WHERE commit_id = ?", (row[0],))
            self.conn.execute("DELETE FROM hist_commits WHERE id = ?", (row[0],))
            removed += 1
        return removed

    def _next_batch(self) -> int:
        batch = int(tables.get_state(self.conn, "batch") or "0") + 1
        tables.set_state(self.conn, "batch", str(batch))
        return batch

    def _insert_log(self, revs: list[str], max_commits: int, cancel: CancelLike | None) -> int:
        base = self._next_batch() << 32
        count = 0
        stream = self.git.stream(log_args(revs, max_commits))
        try:
            for chunk in _chunks(_records(stream), _BATCH):
                if cancel is not None and cancel.cancelled:
                    raise Cancelled("history ingest cancelled")
                count += self._insert(chunk, base - count)
        finally:
            stream.close()
        return count

    def insert_below(self, args: list[str], first_id: int) -> int:
        """Store the commits of a ``git log`` not stored yet, with ids counting down from
        ``first_id`` (older than everything stored). The caller holds the transaction."""
        fresh = [rec for rec in _records([self.git.run(args)]) if not self._stored(rec.sha)]
        for chunk in _chunks(fresh, _BATCH):
            first_id -= self._insert(chunk, first_id)
        return len(fresh)

    def _stored(self, sha: str) -> bool:
        found = self.conn.execute("SELECT 1 FROM hist_commits WHERE sha = ?", (sha,)).fetchone()
        return found is not None

    def _insert(self, records: list[LogRecord], first_id: int) -> int:
        commit_rows = []
        file_rows = []
        cid = first_id
        for rec in records:
            merge = len(rec.parents) > 1
            commit_rows.append(
                (cid, rec.sha, rec.author, rec.author_time, rec.message, len(rec.files), merge)
            )
            for f in rec.files:
                pid = self.paths.intern(f.path)
                oid = pid if f.old_path == f.path else self.paths.intern(f.old_path)
                state = tables.STATE_BINARY if f.binary else tables.STATE_NEW
                file_rows.append((pid, cid, oid, f.added, f.removed, state))
            cid -= 1
        self.conn.executemany(
            "INSERT OR IGNORE INTO hist_commits(id, sha, author, author_time, message, nfiles, "
            "merge) VALUES(?, ?, ?, ?, ?, ?, ?)",
            commit_rows,
        )
        self.conn.executemany(
            "INSERT OR IGNORE INTO hist_files(path_id, commit_id, old_path_id, added, removed, "
            "state) VALUES(?, ?, ?, ?, ?, ?)",
            file_rows,
        )
        return len(records)


class _TooFar(Exception):
    pass


def _records(stream: Iterable[bytes]) -> Iterator[LogRecord]:
    for raw in split_records(stream):
        rec = parse_log_record(raw)
        if rec is None:
            log.warning("history: skipping a malformed git log record (%d bytes)", len(raw))
            continue
        yield rec


def _chunks(items: Iterable[LogRecord], size: int) -> Iterator[list[LogRecord]]:
    batch: list[LogRecord] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch

"""``History``: the git history of a workspace, ingested into the store and queried per request.

``ingest()`` brings the store up to HEAD (see ``ingest.py``); the queries read the store and
fetch hunks lazily (``hunks.py``), so a warm query costs a few SQLite lookups. Everything
degrades: without git or a repository ``available`` is False and every query returns [].
Paths in and out are workspace-relative; the store keeps them relative to the repo top.
"""

from __future__ import annotations

import functools
import logging
import os
import posixpath
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import ParamSpec, TypeVar

from .. import store
from . import tables
from .blame import BlameCache
from .gitcli import EMPTY_TREE, Git, GitError, RepoInfo, find_git, read_head
from .hunks import MAX_DIFF_CHARS, FileRow, cached_hunks, load_hunks, pathspec
from .ingest import Cancelled, CancelLike, Ingester, log_args
from .parse import BlameLine, RawHunk, parse_diff
from .ranges import line_origins, map_range_back, touching
from .values import (
    UNCOMMITTED,
    BlameEntry,
    CoChange,
    Commit,
    FileChange,
    HistoryStats,
    Hunk,
)

log = logging.getLogger(__name__)

__all__ = ["History"]

_SCAN_CHUNK = 16
_HALF_LIFE_S = 30 * 86400
_UNCOMMITTED_TTL_S = 1.0
_HUNK_MEMO = 8192
_ROW_PAGE = 128
"""Rows of a path read per query: a walk that stops early (a cursor's recent commits) does
not read a long-lived file's whole history."""


_T = TypeVar("_T")
_P = ParamSpec("_P")


def _store_errors_as_empty(
    method: Callable[_P, list[_T]],
) -> Callable[_P, list[_T]]:
    """A query whose store fails (locked past the busy timeout, file removed) returns []."""

    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> list[_T]:
        try:
            return method(*args, **kwargs)
        except sqlite3.Error as exc:
            log.warning("history: %s failed on the store: %s", method.__name__, exc)
            return []

    return wrapper


class History:
    """The code flow of one workspace: commits, hunks, blame, co-change, uncommitted changes.

    Thread-safe: one lock guards the store connection and the caches.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        store_path: Path | None = None,
        max_commits: int = 20000,
        mass_change_files: int = 50,
        context_lines: int = 3,
        max_diff_lines: int = 5000,
        max_scan: int = 400,
        deep_commits: int = 100,
        blame_commits: int = 300,
        timeout_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = Path(root).resolve()
        self.max_commits = max_commits
        self.mass_change_files = mass_change_files
        self.context_lines = context_lines
        self.max_diff_lines = max_diff_lines
        self.max_scan = max_scan
        self.deep_commits = deep_commits
        self.blame_commits = blame_commits
        self.clock = clock
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._info: RepoInfo | None = None
        self._commits: dict[int, Commit] = {}
        self._tree: tuple[str, frozenset[str]] | None = None
        self._renames: dict[int, int] | None = None
        self._uncommitted: dict[object, list[Hunk]] = {}
        self._hunk_memo: dict[tuple[int, int], list[Hunk]] = {}
        executable = find_git()
        if executable is None:
            log.warning("history: git is not on PATH; history is off")
            return
        self._git = Git(self.root, executable, timeout_s)
        try:
            self._info = self._git.info()
        except GitError as exc:
            log.info("history: no git repository at %s (%s)", self.root, exc)
            return
        try:
            self._conn, _ = store.connect(store_path or store.store_path(self.root))
            if tables.ensure_schema(self._conn):
                log.info("history: created the history tables")
        except sqlite3.Error as exc:
            log.warning("history: cannot open the store (%s); history is off", exc)
            self._info = None
            return
        self._paths = tables.PathIds(self._conn)
        self._blame = BlameCache(self._git, prefix=self._info.prefix)

    @property
    def available(self) -> bool:
        """True when git and a repository were found and the store is open."""
        return self._info is not None and self._conn is not None

    # ---------------------------------------------------------------- ingest

    def ingest(self, cancel: CancelLike | None = None) -> HistoryStats:
        """Bring the store up to HEAD; only commits new since the last run are read."""
        start = time.perf_counter()
        if not self.available:
            return HistoryStats(0, 0, 0.0, None, False, False)
        try:
            info = self._git.info()
        except GitError as exc:
            log.warning("history: git rev-parse failed: %s", exc)
            return HistoryStats(self._count(), 0, time.perf_counter() - start, None, False, True)
        with self._lock:
            self._info = info
            new = 0
            if info.head is not None:
                new = self._ingest_head(info.head, cancel)
            count = self._count()
        seconds = time.perf_counter() - start
        log.info("history: %d commits stored, %d new in %.3fs", count, new, seconds)
        return HistoryStats(count, new, seconds, info.head, info.shallow, True)

    def _ingest_head(self, head: str, cancel: CancelLike | None) -> int:
        assert self._conn is not None
        try:
            result = Ingester(self._git, self._conn, self._paths).run(
                head, self.max_commits, cancel
            )
        except Cancelled:
            log.info("history: ingest cancelled")
            return 0
        except (GitError, sqlite3.Error) as exc:
            self._paths.reload()
            log.warning("history: ingest failed: %s", exc)
            return 0
        if result.new_commits or result.dropped or result.rebuilt:
            self._commits.clear()
            self._hunk_memo.clear()
            self._renames = None
        return result.new_commits

    def _count(self) -> int:
        if self._conn is None:
            return 0
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM hist_commits").fetchone()[0])

    # ---------------------------------------------------------------- paths

    def _to_repo(self, path: str) -> str:
        assert self._info is not None
        clean = posixpath.normpath(path.replace("\\", "/")).lstrip("/")
        return self._info.prefix + clean if clean != "." else self._info.prefix.rstrip("/")

    def _to_ws(self, repo_path: str) -> str:
        assert self._info is not None
        prefix = self._info.prefix
        if not prefix:
            return repo_path
        return posixpath.relpath(repo_path, prefix.rstrip("/"))

    def _inside(self, path: str) -> bool:
        clean = posixpath.normpath(path.replace("\\", "/"))
        return not (clean.startswith("../") or clean == ".." or clean.startswith("/"))

    def _head(self) -> str | None:
        assert self._info is not None
        return read_head(self._info.git_dir) or self._git.head()

    # ---------------------------------------------------------------- commits

    def _commit(self, commit_id: int) -> Commit:
        found = self._commits.get(commit_id)
        if found is None:
            assert self._conn is not None
            sha, author, when, message = self._conn.execute(
                "SELECT sha, author, author_time, message FROM hist_commits WHERE id = ?",
                (commit_id,),
            ).fetchone()
            found = Commit(sha, author, when, _summary(message), message.rstrip("\n"))
            self._commits[commit_id] = found
        return found

    def _rows_following(self, path_id: int, deep: bool = False) -> Iterator[FileRow]:
        """File rows of a path newest first, following renames back to older names.

        With ``deep``, when the store was cut at ``max_commits`` and a path's rows run out, its
        older commits are fetched from git once (``_fetch_deep``) and the walk goes on.
        """
        assert self._conn is not None
        upper = 1 << 62
        seen = {path_id}
        while True:
            rows = self._conn.execute(
                "SELECT f.commit_id, c.sha, f.old_path_id, f.added, f.removed, f.state "
                "FROM hist_files f JOIN hist_commits c ON c.id = f.commit_id "
                "WHERE f.path_id = ? AND f.commit_id < ? ORDER BY f.commit_id DESC LIMIT ?",
                (path_id, upper, _ROW_PAGE),
            ).fetchall()
            next_path = None
            for commit_id, sha, old_id, added, removed, state in rows:
                yield FileRow(
                    commit_id,
                    sha,
                    path_id,
                    self._paths.paths[path_id],
                    self._paths.paths[old_id],
                    added,
                    removed,
                    state,
                )
                upper = commit_id
                if old_id != path_id and old_id not in seen:
                    next_path = old_id
                    break
            if next_path is None and len(rows) == _ROW_PAGE:
                continue  # the next page of this path's rows, below ``upper``
            if next_path is None:
                if deep and self._fetch_deep(path_id):
                    continue
                return
            seen.add(next_path)
            path_id = next_path

    def _path_id(self, path: str) -> int | None:
        """The id of a stored path; a path not stored gets one when the store was cut at
        ``max_commits`` (its commits may be older than the cut: ``_fetch_deep``)."""
        assert self._conn is not None
        if not self._inside(path):
            return None
        repo_path = self._to_repo(path)
        found = self._paths.ids.get(repo_path)
        if found is not None or not repo_path:
            return found
        if tables.get_state(self._conn, "truncated") != "1":
            return None
        with self._conn:
            return self._paths.intern(repo_path)

    def _fetch_deep(self, path_id: int) -> bool:
        """Fetch up to ``deep_commits`` commits of a path older than the store's cut, once.

        They get ids below every stored commit. True when new rows were stored.
        """
        assert self._conn is not None
        key = f"deep:{path_id}"
        if tables.get_state(self._conn, "truncated") != "1" or tables.get_state(self._conn, key):
            return False
        oldest = self._conn.execute("SELECT min(id) FROM hist_commits").fetchone()[0]
        head = tables.get_state(self._conn, "tip")
        if oldest is None or head is None:
            return False
        args = log_args([head], self._stored_for(path_id) + self.deep_commits)
        args[-1:] = ["--full-diff", "--", pathspec(self._paths.paths[path_id])]
        try:
            with self._conn:
                added = Ingester(self._git, self._conn, self._paths).insert_below(
                    args, int(oldest) - 1
                )
                tables.set_state(self._conn, key, str(added))
        except GitError as exc:
            self._paths.reload()
            log.info("history: cannot fetch older commits of a path: %s", exc)
            return False
        if added:
            self._commits.clear()
            self._hunk_memo.clear()
            self._renames = None
        return added > 0

    def _stored_for(self, path_id: int) -> int:
        assert self._conn is not None
        row = self._conn.execute(
            "SELECT count(*) FROM hist_files WHERE path_id = ?", (path_id,)
        ).fetchone()
        return int(row[0])

    @_store_errors_as_empty
    def commits_touching(
        self,
        path: str,
        start_line: int | None = None,
        end_line: int | None = None,
        limit: int = 5,
    ) -> list[FileChange]:
        """The last ``limit`` commits that changed ``path`` (following renames), newest first.

        With a range (0-based inclusive lines of the work tree file) only commits whose hunks
        touch it are returned, with just those hunks; the range is mapped back through the
        uncommitted changes and through each later commit on the way.
        """
        if not self.available or limit <= 0:
            return []
        with self._lock:
            path_id = self._path_id(path)
            if path_id is None:
                return []
            if start_line is None:
                return self._latest(path_id, limit)
            end = start_line if end_line is None else max(end_line, start_line)
            span = self._span_at_head(path, start_line + 1, end + 1)
            if span is None:
                return []
            return self._touching_range(path_id, span, limit)

    def _latest(self, path_id: int, limit: int) -> list[FileChange]:
        rows = []
        for row in self._rows_following(path_id, deep=True):
            rows.append(row)
            if len(rows) >= limit:
                break
        states = self._load(rows)
        return [self._change(row, states[(row.commit_id, row.path_id)], None) for row in rows]

    def _touching_range(self, path_id: int, span: tuple[int, int], limit: int) -> list[FileChange]:
        found: list[FileChange] = []
        rows = self._rows_following(path_id, deep=True)
        scanned = 0
        while scanned < self.max_scan:
            chunk = [row for _, row in zip(range(_SCAN_CHUNK), rows, strict=False)]
            if not chunk:
                break
            scanned += len(chunk)
            states = self._load(chunk)
            for row in chunk:
                state = states[(row.commit_id, row.path_id)]
                if state == tables.STATE_BINARY:
                    return found
                if state != tables.STATE_LOADED:
                    continue  # too large to read: keep the range as it is
                hunks = self._hunks(row)
                hit = touching(hunks, span[0], span[1])
                if hit:
                    found.append(FileChange(*self._change_head(row), tuple(hit)))
                    if len(found) >= limit:
                        return found
                mapped = map_range_back(hunks, span[0], span[1])
                if mapped is None:
                    return found
                span = mapped
        return found

    def _load(self, rows: list[FileRow]) -> dict[tuple[int, int], int]:
        assert self._conn is not None
        return load_hunks(
            self._git, self._conn, self._paths, rows, self.context_lines, self.max_diff_lines
        )

    def _hunks(self, row: FileRow) -> list[Hunk]:
        assert self._conn is not None
        key = (row.commit_id, row.path_id)
        found = self._hunk_memo.get(key)
        if found is None:
            ws = self._to_ws(row.path)
            found = [Hunk(ws, *h) for h in cached_hunks(self._conn, row.commit_id, row.path_id)]
            if len(self._hunk_memo) >= _HUNK_MEMO:
                self._hunk_memo.pop(next(iter(self._hunk_memo)))
            self._hunk_memo[key] = found
        return found

    def _change_head(self, row: FileRow) -> tuple[Commit, str, str, int, int]:
        commit = self._commit(row.commit_id)
        return commit, self._to_ws(row.path), self._to_ws(row.old_path), row.added, row.removed

    def _change(self, row: FileRow, state: int, hunks: list[Hunk] | None) -> FileChange:
        if state == tables.STATE_LOADED:
            body = tuple(self._hunks(row) if hunks is None else hunks)
        elif state == tables.STATE_NEW:
            body = ()
        else:
            body = (_summary_hunk(self._to_ws(row.path), state, row),)
        return FileChange(*self._change_head(row), body)

    def _span_at_head(self, path: str, start: int, end: int) -> tuple[int, int] | None:
        """Map 1-based work tree lines to HEAD's version of the file."""
        hunks = [h for h in self.uncommitted(path) if not h.is_summary]
        if not hunks:
            return start, end
        return map_range_back(hunks, start, end)

    @_store_errors_as_empty
    def commit_files(self, commit_id: str, limit: int = 50) -> list[FileChange]:
        """What else one stored commit changed ("what changed alongside"), without hunks.

        Files outside the workspace are left out; binary files have ``added == removed == 0``.
        """
        if not self.available or limit <= 0:
            return []
        with self._lock:
            assert self._conn is not None
            found = self._conn.execute(
                "SELECT id FROM hist_commits WHERE sha = ?", (commit_id,)
            ).fetchone()
            if found is None:
                return []
            rows = self._conn.execute(
                "SELECT path_id, old_path_id, added, removed FROM hist_files "
                "WHERE commit_id = ? ORDER BY added + removed DESC, path_id",
                (found[0],),
            ).fetchall()
            commit = self._commit(int(found[0]))
            out = []
            for path_id, old_id, added, removed in rows:
                path = self._to_ws(self._paths.paths[path_id])
                if path.startswith("../"):
                    continue
                old = self._to_ws(self._paths.paths[old_id])
                out.append(FileChange(commit, path, old, added, removed, ()))
                if len(out) >= limit:
                    break
            return out

    # ---------------------------------------------------------------- blame

    @_store_errors_as_empty
    def blame(self, path: str, start_line: int, end_line: int) -> list[BlameEntry]:
        """Who last changed lines ``start_line..end_line`` (0-based inclusive) of the file.

        Consecutive lines from one commit form one entry; uncommitted lines come back with the
        all-zero commit id and age 0.
        """
        if not self.available or end_line < start_line or not self._inside(path):
            return []
        head = self._head()
        if head is None:
            return []
        try:
            data = (self.root / path).read_bytes()
        except OSError as exc:
            log.info("history: cannot read %s for blame: %s", path, exc)
            return []
        total = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
        start, end = start_line + 1, min(end_line + 1, total)
        if start > end:
            return []
        hunks = [h for h in self.uncommitted(path) if not h.is_summary]
        origins = line_origins(hunks, start, end)
        known = [o for o in origins if o is not None]
        blamed = {}
        if known:
            blamed = self._file_blame(head, path)
            if not blamed:
                return []
        with self._lock:
            lines = []
            for line, origin in zip(range(start, end + 1), origins, strict=True):
                if origin is None:
                    lines.append(BlameLine(UNCOMMITTED, line, "Not Committed Yet", 0, ""))
                elif origin in blamed:
                    lines.append(replace(blamed[origin], final_line=line))
            return self._blame_entries(lines)

    def head(self) -> str | None:
        """The commit HEAD points at now (None without a repository or commits)."""
        if not self.available:
            return None
        return self._head()

    def warm_blame(self, path: str) -> bool:
        """Blame ``path`` at HEAD now (off the request path) so that ``blame`` of any region
        is a slice; False when there is nothing to blame."""
        if not self.available or not self._inside(path):
            return False
        head = self._head()
        if head is None:
            return False
        return bool(self._file_blame(head, path))

    def blame_ready(self, path: str) -> bool:
        """Whether ``blame`` of ``path`` is a slice of a cached blame (no git call)."""
        head = self.head()
        return head is not None and self._blame.cached(head, path) is not None

    def _file_blame(self, head: str, path: str) -> dict[int, BlameLine]:
        cached = self._blame.cached(head, path)
        if cached is not None:
            return cached
        return self._blame.file_lines(head, path, self._blame_bound(path))

    def _blame_bound(self, path: str) -> str | None:
        """The ``blame_commits``-th newest stored commit that touched ``path`` (following
        renames): blame stops there. None when fewer commits touched it."""
        with self._lock:
            path_id = self._paths.ids.get(self._to_repo(path))
            if path_id is None or self._conn is None:
                return None
            for n, row in enumerate(self._rows_following(path_id), 1):
                if n >= self.blame_commits:
                    return row.sha
        return None

    def _blame_entries(self, lines: list[BlameLine]) -> list[BlameEntry]:
        now = int(self.clock())
        entries: list[BlameEntry] = []
        for line in lines:
            last = entries[-1] if entries else None
            if (
                last is not None
                and last.commit.id == line.sha
                and last.end_line == line.final_line - 2
            ):
                entries[-1] = BlameEntry(
                    last.commit, last.start_line, line.final_line - 1, last.age_s
                )
                continue
            commit = self._commit_by_sha(line.sha, line.author, line.author_time, line.summary)
            age = 0 if line.sha == UNCOMMITTED else max(0, now - commit.author_time)
            entries.append(BlameEntry(commit, line.final_line - 1, line.final_line - 1, age))
        return entries

    def _commit_by_sha(self, sha: str, author: str, when: int, summary: str) -> Commit:
        assert self._conn is not None
        if sha == UNCOMMITTED:
            return Commit(
                UNCOMMITTED, "Not Committed Yet", int(self.clock()), "Not committed yet", ""
            )
        row = self._conn.execute("SELECT id FROM hist_commits WHERE sha = ?", (sha,)).fetchone()
        if row is not None:
            return self._commit(int(row[0]))
        return Commit(sha, author, when, summary, summary)

    # ---------------------------------------------------------------- co-change

    @_store_errors_as_empty
    def cochanged(self, path: str, limit: int = 10) -> list[CoChange]:
        """Files that changed in the same commits as ``path``, most recent weight first.

        Each shared commit adds ``0.5 ** (age / 30 days)``, age measured from the newest stored
        commit; commits touching more than ``mass_change_files`` files are ignored. Old names
        are mapped to current ones and files gone from HEAD are left out.
        """
        if not self.available or limit <= 0:
            return []
        with self._lock:
            path_id = self._paths.ids.get(self._to_repo(path)) if self._inside(path) else None
            if path_id is None:
                return []
            names = {row.path_id for row in self._rows_following(path_id)} | {path_id}
            rows = self._cochange_rows(names)
            if not rows:
                return []
            newest = max(when for _, when in rows)
            scores: dict[str, list[float]] = {}
            current = self._head_files()
            renames = self._rename_map()
            for other, when in rows:
                other = _follow(renames, other)
                if other in names:
                    continue
                name = self._paths.paths[other]
                if current is not None and name not in current:
                    continue
                score = scores.setdefault(name, [0.0, 0])
                score[0] += 0.5 ** ((newest - when) / _HALF_LIFE_S)
                score[1] += 1
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
        out = []
        for name, (weight, count) in ranked:
            ws = self._to_ws(name)
            if not ws.startswith("../"):
                out.append(CoChange(ws, weight, int(count)))
            if len(out) >= limit:
                break
        return out

    def _cochange_rows(self, names: set[int]) -> list[tuple[int, int]]:
        assert self._conn is not None
        marks = ",".join("?" * len(names))
        return self._conn.execute(
            f"WITH mine AS (SELECT DISTINCT commit_id FROM hist_files WHERE path_id IN ({marks}) "
            "ORDER BY commit_id DESC LIMIT ?) "
            "SELECT f.path_id, c.author_time FROM mine "
            "JOIN hist_commits c ON c.id = mine.commit_id "
            "JOIN hist_files f ON f.commit_id = mine.commit_id "
            "WHERE c.nfiles <= ? AND c.nfiles > 1",
            (*names, self.max_scan, self.mass_change_files),
        ).fetchall()

    def _rename_map(self) -> dict[int, int]:
        if self._renames is None:
            assert self._conn is not None
            self._renames = {}
            for old, new in self._conn.execute(
                "SELECT old_path_id, path_id FROM hist_files WHERE old_path_id != path_id "
                "ORDER BY commit_id"
            ):
                self._renames[old] = new
        return self._renames

    def _head_files(self) -> frozenset[str] | None:
        head = self._head()
        if head is None:
            return None
        if self._tree is None or self._tree[0] != head:
            try:
                out = self._git.run(["ls-tree", "-r", "-z", "--name-only", "--full-tree", head])
            except GitError as exc:
                log.info("history: cannot list HEAD's files: %s", exc)
                return None
            names = frozenset(p for p in out.decode("utf-8", "replace").split("\0") if p)
            self._tree = (head, names)
        return self._tree[1]

    # ---------------------------------------------------------------- uncommitted

    @_store_errors_as_empty
    def uncommitted(self, path: str | None = None) -> list[Hunk]:
        """The work tree (staged and unstaged) against HEAD, as hunks; binary or huge files
        come back as one summary hunk. ``path`` limits it to one file."""
        if not self.available or (path is not None and not self._inside(path)):
            return []
        key = self._uncommitted_key(path)
        with self._lock:
            found = self._uncommitted.get(key)
            if found is not None:
                return list(found)
        hunks = self._diff_worktree(path)
        with self._lock:
            if len(self._uncommitted) > 256:
                self._uncommitted.clear()
            self._uncommitted[key] = hunks
        return list(hunks)

    def _uncommitted_key(self, path: str | None) -> object:
        assert self._info is not None
        index = _stat_key(self._info.git_dir / "index")
        if path is None:
            return (self._head(), index, int(time.monotonic() / _UNCOMMITTED_TTL_S))
        return (self._head(), index, path, _stat_key(self.root / path))

    def _diff_worktree(self, path: str | None) -> list[Hunk]:
        base = self._head() or EMPTY_TREE
        spec = pathspec(self._to_repo(path)) if path is not None else "."
        args = [
            "diff",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "-M",
            f"--unified={self.context_lines}",
            base,
            "--",
            spec,
        ]
        try:
            out = self._git.run(args)
        except GitError as exc:
            log.info("history: cannot diff the work tree: %s", exc)
            return []
        hunks: list[Hunk] = []
        for _, diff in parse_diff(out.decode("utf-8", "replace")):
            ws = self._to_ws(diff.path)
            added, removed = _count_changes(diff.hunks)
            chars = sum(len(h.text) for h in diff.hunks)
            if diff.binary or added + removed > self.max_diff_lines or chars > MAX_DIFF_CHARS:
                hunks.append(_skipped(ws, diff.binary, added, removed))
                continue
            hunks.extend(
                Hunk(ws, h.old_start, h.old_lines, h.new_start, h.new_lines, h.text)
                for h in diff.hunks
            )
        return hunks

    # ---------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Close the store connection; queries afterwards return []."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _summary(message: str) -> str:
    return message.strip().split("\n", 1)[0].strip() if message.strip() else ""


def _summary_hunk(path: str, state: int, row: FileRow) -> Hunk:
    return _skipped(path, state == tables.STATE_BINARY, row.added, row.removed)


def _skipped(path: str, binary: bool, added: int, removed: int) -> Hunk:
    if binary:
        text = "@@ -0,0 +0,0 @@ binary file: diff skipped\n"
    else:
        text = f"@@ -0,0 +0,0 @@ +{added} -{removed} lines: diff too large, skipped\n"
    return Hunk(path, 0, 0, 0, 0, text)


def _count_changes(hunks: Iterable[RawHunk]) -> tuple[int, int]:
    added = removed = 0
    for hunk in hunks:
        for line in hunk.text.split("\n")[1:]:
            if line.startswith("+"):
                added += 1
            elif line.startswith("-"):
                removed += 1
    return added, removed


def _follow(renames: dict[int, int], path_id: int) -> int:
    seen = {path_id}
    while path_id in renames and renames[path_id] not in seen:
        path_id = renames[path_id]
        seen.add(path_id)
    return path_id


def _stat_key(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except OSError:
        return (0, -1)
    return (st.st_mtime_ns, st.st_size)

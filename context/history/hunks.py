"""Hunks of past commits, read lazily with one ``git diff-tree --stdin -p`` and cached.

A file row of ``hist_files`` starts in ``STATE_NEW``; the first query that needs its hunks
fetches them (together with those of the other rows it needs) and stores them in
``hist_hunks``. Binary files and diffs larger than ``max_diff_lines`` are never fetched; the
caller shows a one-line summary instead.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from . import tables
from .gitcli import Git, GitError
from .parse import parse_diff

log = logging.getLogger(__name__)

__all__ = ["MAX_DIFF_CHARS", "FileRow", "cached_hunks", "load_hunks", "pathspec"]


@dataclass(frozen=True)
class FileRow:
    """One ``hist_files`` row joined with its commit (paths relative to the repo top)."""

    commit_id: int
    sha: str
    path_id: int
    path: str
    old_path: str
    added: int
    removed: int
    state: int


def pathspec(path: str) -> str:
    """A pathspec that matches exactly this repo-relative path, whatever the cwd."""
    return ":(top,literal)" + path


def load_hunks(
    git: Git,
    conn: sqlite3.Connection,
    paths: tables.PathIds,
    rows: Sequence[FileRow],
    context_lines: int,
    max_diff_lines: int,
) -> dict[tuple[int, int], int]:
    """Make sure the hunks of ``rows`` are cached; returns the new state of each row."""
    states = {(r.commit_id, r.path_id): r.state for r in rows}
    todo = [r for r in rows if r.state == tables.STATE_NEW]
    if not todo:
        return states
    large = [r for r in todo if r.added + r.removed > max_diff_lines]
    fetch = [r for r in todo if r.added + r.removed <= max_diff_lines]
    found = _fetch(git, fetch, context_lines) if fetch else {}
    with conn:
        for r in large:
            _set_state(conn, r, tables.STATE_TOO_LARGE)
            states[(r.commit_id, r.path_id)] = tables.STATE_TOO_LARGE
        for r in fetch:
            result = found.get((r.sha, r.path))
            if result is None and found.get(("error", "")) is not None:
                continue  # git failed: leave it for a later try
            state = _store(conn, r, result)
            states[(r.commit_id, r.path_id)] = state
    return states


MAX_DIFF_CHARS = 400_000
"""A file's diff in one commit longer than this is not cached (summarised as too large)."""

_Parsed = tuple[bool, list[tuple[int, int, int, int, str]] | None]


def _fetch(git: Git, rows: Sequence[FileRow], context_lines: int) -> dict[tuple[str, str], _Parsed]:
    shas = list(dict.fromkeys(r.sha for r in rows))
    specs = sorted({pathspec(p) for r in rows for p in (r.path, r.old_path)})
    args = [
        "diff-tree",
        "--stdin",
        "-p",
        "-M",
        "--root",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        f"--unified={context_lines}",
        "--",
        *specs,
    ]
    try:
        out = git.run(args, stdin=("\n".join(shas) + "\n").encode("ascii"))
    except GitError as exc:
        log.warning("history: cannot read hunks: %s", exc)
        return {("error", ""): (False, [])}
    found: dict[tuple[str, str], _Parsed] = {}
    for sha, diff in parse_diff(out.decode("utf-8", "replace")):
        if sha is None:
            continue
        hunks = [(h.old_start, h.old_lines, h.new_start, h.new_lines, h.text) for h in diff.hunks]
        if sum(len(h[4]) for h in hunks) > MAX_DIFF_CHARS:
            found[(sha, diff.path)] = (False, None)  # e.g. minified files: few lines, huge
            continue
        found[(sha, diff.path)] = (diff.binary, hunks)
    return found


def _set_state(conn: sqlite3.Connection, row: FileRow, state: int) -> None:
    conn.execute(
        "UPDATE hist_files SET state = ? WHERE path_id = ? AND commit_id = ?",
        (state, row.path_id, row.commit_id),
    )


def _store(conn: sqlite3.Connection, row: FileRow, result: _Parsed | None) -> int:
    binary, hunks = result if result is not None else (False, [])
    if hunks is None:
        _set_state(conn, row, tables.STATE_TOO_LARGE)
        return tables.STATE_TOO_LARGE
    state = tables.STATE_BINARY if binary else tables.STATE_LOADED
    conn.executemany(
        "INSERT OR REPLACE INTO hist_hunks(commit_id, path_id, seq, old_start, old_lines, "
        "new_start, new_lines, text) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
        [(row.commit_id, row.path_id, i, *h) for i, h in enumerate(hunks)],
    )
    _set_state(conn, row, state)
    return state


def cached_hunks(
    conn: sqlite3.Connection, commit_id: int, path_id: int
) -> list[tuple[int, int, int, int, str]]:
    """The cached hunks of one file row, in order."""
    return conn.execute(
        "SELECT old_start, old_lines, new_start, new_lines, text FROM hist_hunks "
        "WHERE commit_id = ? AND path_id = ? ORDER BY seq",
        (commit_id, path_id),
    ).fetchall()

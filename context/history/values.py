"""The values the history hands to other rooms: commits, hunks, blame, co-change, edits.

All are frozen dataclasses. Paths are workspace-relative POSIX strings. ``Hunk`` line numbers
are 1-based as git prints them; ``BlameEntry`` and ``RecentEdit`` lines are 0-based inclusive
lines of the current file.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "UNCOMMITTED",
    "BlameEntry",
    "CoChange",
    "Commit",
    "FileChange",
    "HistoryStats",
    "Hunk",
    "RecentEdit",
]

UNCOMMITTED = "0" * 40
"""The commit id git gives to lines that are not committed yet."""


@dataclass(frozen=True)
class Commit:
    """One commit: full id, author name, author time (unix seconds), first line, full message."""

    id: str
    author: str
    author_time: int
    summary: str
    message: str


@dataclass(frozen=True)
class Hunk:
    """One diff hunk; ``text`` is the unified diff body starting with its ``@@`` header.

    A hunk whose four numbers are all 0 is a summary of a diff that was skipped (binary or too
    large); its text says why.
    """

    path: str
    old_start: int
    old_lines: int
    new_start: int
    new_lines: int
    text: str

    @property
    def is_summary(self) -> bool:
        return self.old_start == self.old_lines == self.new_start == self.new_lines == 0


@dataclass(frozen=True)
class FileChange:
    """What one commit did to one file (``old_path`` differs from ``path`` on a rename)."""

    commit: Commit
    path: str
    old_path: str
    added: int
    removed: int
    hunks: tuple[Hunk, ...]


@dataclass(frozen=True)
class BlameEntry:
    """Lines ``start_line..end_line`` (0-based inclusive) of the current file come from ``commit``.

    ``age_s`` is the age of the commit's author time at query time (0 for uncommitted lines).
    """

    commit: Commit
    start_line: int
    end_line: int
    age_s: int


@dataclass(frozen=True)
class CoChange:
    """A file that changed together with the asked one: recency-weighted score and raw count."""

    path: str
    weight: float
    count: int


@dataclass(frozen=True)
class RecentEdit:
    """One (merged) edit from the editor: ``after`` now sits at lines ``start_line..end_line``.

    ``before`` and ``after`` are whole lines, each ending with a newline ("" = no lines).
    For a pure deletion ``end_line == start_line - 1``.
    """

    path: str
    start_line: int
    end_line: int
    before: str
    after: str
    timestamp: float


@dataclass(frozen=True)
class HistoryStats:
    """What one ``ingest`` did: commits stored, new ones, seconds, head id, shallow, available."""

    commits: int
    new_commits: int
    seconds: float
    head: str | None
    shallow: bool
    available: bool

"""Code flow: the git history of the workspace and the editor's own recent edits.

``History`` ingests the commit graph into the shared store and answers per-request queries
(commits and hunks touching a range, blame, co-change, uncommitted hunks); ``EditRing`` keeps
the edits made in the editor in the last minutes.
"""

from __future__ import annotations

from .edits import EditRing, line_edit
from .flow import git_region_flow, region_flow
from .history import History
from .values import (
    UNCOMMITTED,
    BlameEntry,
    CoChange,
    Commit,
    FileChange,
    HistoryStats,
    Hunk,
    RecentEdit,
)

__all__ = [
    "UNCOMMITTED",
    "BlameEntry",
    "CoChange",
    "Commit",
    "EditRing",
    "FileChange",
    "History",
    "HistoryStats",
    "Hunk",
    "RecentEdit",
    "git_region_flow",
    "line_edit",
    "region_flow",
]

"""Code flow for a region: the recent commits and uncommitted hunks that touched it.

`region_flow(history, path, start, end)` reads an ingested `History`; `git_region_flow` asks
the git CLI (`git log -L`, `git diff HEAD`) for a workspace whose history is not ingested (the
`context.history` setting off, or the first ingest still running). Both give the same shape of
text: `commit <id> <summary>` headers with their hunks, then `uncommitted changes:`.
Lines are 0-based and inclusive, as everywhere in `context`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .gitcli import Git, GitError, find_git

__all__ = ["git_region_flow", "region_flow"]

MARGIN = 2


def _overlaps(hunk: Any, start: int, end: int) -> bool:
    first = int(hunk.new_start) - 1
    last = first + max(int(hunk.new_lines), 1) - 1
    return first <= end + MARGIN and last >= start - MARGIN


def region_flow(history: Any, path: str, start: int, end: int, limit: int = 3) -> str:
    """Commits (newest first) and uncommitted hunks of `history` touching lines start..end."""
    parts = []
    for change in history.commits_touching(path, start, end, limit):
        commit = change.commit
        hunks = "\n".join(h.text for h in change.hunks)
        parts.append(f"commit {commit.id[:10]} {commit.summary}\n{hunks}")
    hunks = [h.text for h in history.uncommitted(path) if _overlaps(h, start, end)]
    if hunks:
        parts.append("uncommitted changes:\n" + "\n".join(hunks))
    return "\n\n".join(parts)


def _git_text(git: Git, args: list[str]) -> str:
    try:
        return git.run(args, timeout_s=10).decode("utf-8", "replace")
    except GitError:
        return ""


def git_region_flow(root: Path, path: str, start: int, end: int, limit: int = 3) -> str:
    """The same from the git CLI ('' outside a git work tree or without git)."""
    executable = find_git()
    if executable is None:
        return ""
    git = Git(root, executable, timeout_s=10)
    spec = f"-L{start + 1},{end + 1}:{path}"
    log_text = _git_text(git, ["log", "-n", str(limit), "--format=commit %h %s", spec])
    diff = _git_text(git, ["diff", "HEAD", "-U2", "--", path])
    parts = [log_text.strip()] + ([f"uncommitted changes:\n{diff.strip()}"] if diff.strip() else [])
    return "\n\n".join(p for p in parts if p)

"""Which files of a workspace are indexed.

Two ways to list them, giving the same set: ``git ls-files -co --exclude-standard`` when the
workspace is a git repo (fast, git's own ignore rules), else a directory walk that applies
``.gitignore`` files itself. Both then drop vendored/build directories, the user's ``exclude``
globs and files of languages we do not parse. Symlinked directories are never followed (no
loops); bad symlinks and symlinks to files outside the workspace are counted as skipped.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import stat
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from context.index.gitignore import GitIgnore, Rule, decide, matches_any, parse_lines
from context.index.languages import language_for_path

log = logging.getLogger(__name__)

__all__ = ["VENDORED_DIRS", "Listing", "Walker", "list_files"]

VENDORED_DIRS: frozenset[str] = frozenset({
    ".git", ".hg", ".svn", "node_modules", ".venv", "venv", "env", ".env", "target", "dist",
    "build", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox",
    "site-packages", "bower_components", ".next", ".nuxt", "out", ".gradle", ".idea",
    ".vscode", "vendor", ".cache", ".eggs", "coverage", ".terraform",
})


@dataclass
class Listing:
    """Files to index (workspace-relative -> language) and what was left out, by reason."""

    files: dict[str, str] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)
    method: str = "walk"


class Walker:
    """Decides, for the index and the file watcher alike, whether a path is in the workspace."""

    def __init__(self, root: Path, exclude: tuple[str, ...] = ()) -> None:
        self.root = root
        self.gitignore = GitIgnore(root)
        self.exclude: list[Rule] = parse_lines(list(exclude))

    def vendored(self, rel: str) -> bool:
        """Whether any directory of the path is a vendored/build directory."""
        return any(part in VENDORED_DIRS for part in rel.split("/")[:-1])

    def wanted(self, rel: str) -> str | None:
        """The language of a file if it should be indexed, else None (no I/O but .gitignores)."""
        language = language_for_path(rel)
        if language is None or self.vendored(rel):
            return None
        if self.exclude and matches_any(self.exclude, rel):
            return None
        if self.gitignore.ignored(rel):
            return None
        return language

    def _excluded(self, rel: str, is_dir: bool) -> bool:
        return bool(self.exclude) and matches_any(self.exclude, rel, is_dir)

    def walk(self) -> Listing:
        """List files by walking the tree and applying .gitignore rules."""
        listing = Listing(method="walk")
        self._walk_dir("", listing)
        return listing

    def _walk_dir(self, rel_dir: str, listing: Listing) -> None:
        path = self.root / rel_dir if rel_dir else self.root
        try:
            entries = list(os.scandir(path))
        except PermissionError:
            listing.skipped["unreadable_dir"] += 1
            log.warning("cannot read directory %s (permission denied); skipped", path)
            return
        except OSError as exc:
            listing.skipped["unreadable_dir"] += 1
            log.warning("cannot read directory %s (%s); skipped", path, exc)
            return
        rules = list(self.gitignore.rules_for_dir(rel_dir))
        for entry in sorted(entries, key=lambda e: e.name):
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            self._visit(entry, rel, rules, listing)

    def _visit(self, entry: os.DirEntry[str], rel: str, rules: list[Rule],
               listing: Listing) -> None:
        if entry.is_symlink():
            kind = _symlink_kind(entry.path)
            if kind == "file" and self.escapes(rel):
                kind = "outside_symlink"
            if kind != "file":
                listing.skipped[kind] += 1
                return
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
            is_file = not is_dir and entry.is_file()
        except OSError:
            listing.skipped["unreadable"] += 1
            return
        if is_dir:
            if entry.name in VENDORED_DIRS:
                listing.skipped["vendored_dir"] += 1
            elif decide(rules, rel, True) or self._excluded(rel, True):
                listing.skipped["ignored_dir"] += 1
            else:
                self._walk_dir(rel, listing)
            return
        if not is_file:
            return
        language = language_for_path(rel)
        if language is None:
            return
        if decide(rules, rel, False) or self._excluded(rel, False):
            return
        listing.files[rel] = language

    def git_files(self) -> Listing | None:
        """List files with ``git ls-files -co --exclude-standard``; None if not a git repo."""
        git = shutil.which("git")
        if git is None or not (self.root / ".git").exists():
            return None
        try:
            out = subprocess.run(
                [git, "-C", str(self.root), "ls-files", "-z", "-co", "--exclude-standard"],
                capture_output=True, check=True, timeout=60,
            ).stdout
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            log.warning("git ls-files failed in %s (%s); walking the tree instead", self.root, exc)
            return None
        listing = Listing(method="git")
        for raw in out.split(b"\0"):
            if not raw:
                continue
            rel = raw.decode("utf-8", "surrogateescape")
            language = language_for_path(rel)
            if language is None or self.vendored(rel):
                continue
            if self.exclude and matches_any(self.exclude, rel):
                continue
            if os.path.islink(self.root / rel) and self.escapes(rel):
                listing.skipped["outside_symlink"] += 1
                continue
            listing.files[rel] = language
        return listing

    def escapes(self, rel: str) -> bool:
        """Whether a (symlinked) file resolves outside the workspace: never indexed, so its
        text never reaches a prompt."""
        try:
            (self.root / rel).resolve().relative_to(self.root.resolve())
        except (ValueError, OSError):
            return True
        return False


def _symlink_kind(path: str) -> str:
    """"file", or why a symlink is skipped: symlinked_dir, symlink_loop, bad_symlink."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "bad_symlink"
    except OSError as exc:
        return "symlink_loop" if exc.errno == errno.ELOOP else "bad_symlink"
    return "symlinked_dir" if stat.S_ISDIR(st.st_mode) else "file"


def list_files(root: Path, exclude: tuple[str, ...] = (), use_git: bool = True) -> Listing:
    """The files of a workspace to index, with git when possible."""
    walker = Walker(root, exclude)
    listing = walker.git_files() if use_git else None
    return listing if listing is not None else walker.walk()

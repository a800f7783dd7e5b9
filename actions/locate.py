"""The code under test outside Python: from the failing line's calls to their definitions, by
the tree-sitter index's definitions (the test file first, then the workspace's files of the
same language)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from .lines import lsp_lines
from .outline import FUNCTION_KINDS, definition_at, definitions, language_of
from .regions import Region

__all__ = ["called_names", "function_region", "workspace_definition"]

CALL = re.compile(r"\b([A-Za-z_]\w*)\s*(?:::<[^>()]*>)?\(")
SKIP_DIRS = {".git", "node_modules", "target", "vendor", "dist", "build", ".venv", "venv"}
MAX_FILES = 2000


def called_names(text: str, line: int) -> list[str]:
    """Names called on `line` of `text`, left to right (macros like `assert_eq!` are not)."""
    lines = lsp_lines(text)
    return CALL.findall(lines[line]) if 0 <= line < len(lines) else []


def function_region(path: str, text: str, line: int) -> Region | None:
    """The innermost function or method of an indexed language around `line`."""
    language = language_of(path)
    if language is None:
        return None
    found = definition_at(definitions(text, language), line, functions_only=True)
    return found.region if found is not None else None


def _files(root: Path, suffix: str) -> Iterator[str]:
    count = 0
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(names):
            if name.endswith(suffix):
                count += 1
                if count > MAX_FILES:
                    return
                yield (Path(folder) / name).relative_to(root).as_posix()


def workspace_definition(
    root: Path, test_path: str, name: str, read: Callable[[str], str], skip: Region | None
) -> tuple[str, Region, str] | None:
    """(path, region, text) of the function `name` (the test file first, then the workspace's
    files of its language), never `skip` (the failing test itself)."""
    language = language_of(test_path)
    if language is None:
        return None
    suffix = Path(test_path).suffix
    paths = [test_path, *(p for p in _files(root, suffix) if p != test_path)]
    for path in paths:
        text = read(path)
        for d in definitions(text, language):
            same = path == test_path and d.region == skip
            if d.region.name == name and d.kind in FUNCTION_KINDS and not same:
                return path, d.region, text
    return None

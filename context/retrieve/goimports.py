"""Go imports read from text and resolved to the files of the imported package.

Go resolves by package: an import path names a folder (inside the module whose ``go.mod`` is
nearest above the importing file: ``module`` + the folder's path below it; for the standard
library's ``module std`` the import path is the folder); every non-test ``.go`` file of the
folder is the package. An import binds the package name (the path's last element, or its alias).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from posixpath import dirname, join

from .pyimports import Binding

__all__ = ["GoResolver", "go_import_starts", "is_go", "package_name", "parse_go_imports_at"]

_SPEC = re.compile(r'^\s*(?:import\s+)?([A-Za-z_]\w*|\.|_)?\s*"([^"]+)"')
_VERSION = re.compile(r"^v\d+$")


def is_go(path: str) -> bool:
    """Whether ``path`` is a Go source."""
    return path.endswith(".go")


def go_import_starts(lines: Sequence[str]) -> list[int]:
    """Indices of the lines that start an import declaration."""
    return [i for i, line in enumerate(lines) if line.startswith("import")]


def package_name(import_path: str) -> str:
    """The name an import path binds by default (``math/rand/v2`` binds ``rand``)."""
    parts = import_path.split("/")
    if len(parts) > 1 and _VERSION.match(parts[-1]):
        return parts[-2]
    return parts[-1].replace("-", "_").replace(".", "_")


def parse_go_imports_at(lines: Sequence[str], starts: Sequence[int]) -> list[Binding]:
    """The package bindings (name None) of the import declarations at ``starts``, each at the
    line of its spec (blank and dot imports bind nothing here)."""
    out: list[Binding] = []
    for i in starts:
        head = lines[i].rstrip("\r\n")
        if re.match(r"^import\s*\(", head):
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith(")"):
                out += _spec(lines[j], j)
                j += 1
        else:
            out += _spec(head, i)
    return out


def _spec(text: str, line: int) -> list[Binding]:
    m = _SPEC.match(text)
    if m is None or m.group(1) in (".", "_"):
        return []
    return [Binding(m.group(1) or package_name(m.group(2)), m.group(2), None, line)]


class GoResolver:
    """Import paths -> package files, against one snapshot of the workspace's files."""

    def __init__(self, files: Collection[str], read: Callable[[str], str | None]) -> None:
        self._read = read
        self._by_dir: dict[str, list[str]] = defaultdict(list)
        for path in sorted(files):
            if is_go(path) and not path.endswith("_test.go"):
                self._by_dir[dirname(path)].append(path)
        self._mods: dict[str, tuple[str, str] | None] = {}

    def _module(self, directory: str) -> tuple[str, str] | None:
        """(module dir, module path) of the nearest ``go.mod`` at or above ``directory``."""
        if directory not in self._mods:
            text = self._read(join(directory, "go.mod") if directory else "go.mod")
            found = None
            if text is not None:
                m = re.search(r"^\s*module\s+(\S+)", text, re.M)
                found = (directory, m.group(1).strip('"')) if m else None
            elif directory:
                found = self._module(dirname(directory))
            self._mods[directory] = found
        return self._mods[directory]

    def package(self, import_path: str, from_path: str) -> list[str]:
        """The files of the package ``import_path`` names from ``from_path`` (empty: not in
        the workspace)."""
        mod = self._module(dirname(from_path))
        if mod is None:
            return []
        mod_dir, module = mod
        if module == "std" and "." not in import_path.split("/")[0]:
            rest = import_path
        elif import_path == module or import_path.startswith(module + "/"):
            rest = import_path[len(module):].lstrip("/")
        else:
            return []
        return list(self._by_dir.get(join(mod_dir, rest).strip("/") if rest else mod_dir, ()))

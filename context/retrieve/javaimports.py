"""Java imports read from text and resolved to workspace files by package and class.

``import a.b.C;`` binds ``C`` (the file ``a/b/C.java``, found by path suffix under any source
root, the nearest first); ``import static a.b.C.m;`` binds ``m`` (the member ``C.m``);
``import a.b.*;`` makes every class of the package ``a.b`` (the files of its folder) visible.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Sequence
from posixpath import dirname

from .pyimports import Binding

__all__ = ["JavaClasses", "is_java", "java_import_starts", "parse_java_imports_at"]

_IMPORT = re.compile(r"^\s*import\s+(static\s+)?([\w.]+?)(\.\*)?\s*;")


def is_java(path: str) -> bool:
    """Whether ``path`` is a Java source."""
    return path.endswith(".java")


def java_import_starts(lines: Sequence[str]) -> list[int]:
    """Indices of the lines that hold an import declaration."""
    return [i for i, line in enumerate(lines) if line.startswith("import ")]


def parse_java_imports_at(lines: Sequence[str], starts: Sequence[int]) -> list[Binding]:
    """Bindings: ``C`` → (``a.b.C``, ``C``); static ``m`` → (``a.b.C``, ``C.m``); a wildcard
    binds ``*`` → (``a.b``, None)."""
    out: list[Binding] = []
    for i in starts:
        m = _IMPORT.match(lines[i])
        if m is None:
            continue
        static, name, star = m.group(1), m.group(2), m.group(3)
        if star:
            out.append(Binding("*", name, None, i))
        elif static:
            cls, _, member = name.rpartition(".")
            out.append(Binding(member, cls, f"{cls.rsplit('.', 1)[-1]}.{member}", i))
        else:
            out.append(Binding(name.rsplit(".", 1)[-1], name, name.rsplit(".", 1)[-1], i))
    return out


def _common(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a.split("/"), b.split("/"), strict=False):
        if x != y:
            break
        n += 1
    return n


class JavaClasses:
    """Qualified class names -> files (by path suffix), against one snapshot of the files."""

    def __init__(self, files: Collection[str]) -> None:
        self._by_suffix: dict[str, list[str]] = defaultdict(list)
        for path in files:
            if is_java(path):
                parts = path.split("/")
                for k in range(1, len(parts) + 1):
                    self._by_suffix["/".join(parts[-k:])].append(path)

    def file(self, qualified: str, from_path: str) -> str | None:
        """The file of class ``a.b.C`` (outer class: ``a.b.C.Inner`` finds ``a/b/C.java``)."""
        parts = qualified.split(".")
        for end in range(len(parts), 0, -1):
            found = self._by_suffix.get("/".join(parts[:end]) + ".java")
            if found:
                return max(found, key=lambda p: (_common(p, from_path), -len(p)))
        return None

    def package_class(self, package: str, name: str, from_path: str) -> str | None:
        """The file of class ``name`` in ``package`` (a wildcard import's candidates)."""
        found = self._by_suffix.get(f"{package.replace('.', '/')}/{name}.java", [])
        return max(found, key=lambda p: (_common(dirname(p), from_path), -len(p))) \
            if found else None

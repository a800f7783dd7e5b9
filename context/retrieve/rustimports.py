"""Rust ``use`` declarations read from text and resolved through the crate's module tree.

``use crate::a::b::{C, d::E as F};`` binds ``C`` and ``F``; a path resolves from the crate root
(the folder of ``lib.rs``/``main.rs``: ``src/`` beside the nearest ``Cargo.toml``), ``self::``
from the current module, ``super::`` from its parent; a module ``a::b`` is ``b.rs`` or
``b/mod.rs`` in ``a``'s folder (``a.rs``'s folder is ``a/``); a path without such a prefix is
a child module of the current one (2018's uniform paths), else one from the crate root (2015).
``pub use`` re-exports (named and glob), modules re-exported by ``pub use``, inline ``mod x {``
and ``#[path = "f.rs"] mod x;`` are followed by the definitions source.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from posixpath import basename, dirname, join

from .pyimports import Binding

__all__ = ["RustModules", "is_rust", "mod_declarations", "parse_rust_uses_at", "rust_use_starts",
           "use_paths"]

_USE = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+(.+?);", re.S)
_MAX_LINES = 40
_MOD = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*([;{])")
_PATH_ATTR = re.compile(r"^\s*#\[path\s*=\s*\"([^\"]+)\"\s*\]")


def is_rust(path: str) -> bool:
    """Whether ``path`` is a Rust source."""
    return path.endswith(".rs")


def rust_use_starts(lines: Sequence[str]) -> list[int]:
    """Indices of the lines that start a ``use`` declaration (``pub use`` included)."""
    return [i for i, line in enumerate(lines)
            if re.match(r"\s*(?:pub(?:\([^)]*\))?\s+)?use\s", line)]


def mod_declarations(lines: Sequence[str]) -> dict[str, str]:
    """The modules a file declares: name -> ``"{"`` for an inline ``mod name {``, the path of
    ``#[path = "f.rs"] mod name;`` (relative to the file's folder), ``""`` for ``mod name;``."""
    out: dict[str, str] = {}
    for i, line in enumerate(lines):
        m = _MOD.match(line)
        if m is None:
            continue
        attr = _PATH_ATTR.match(lines[i - 1]) if i and m.group(2) == ";" else None
        out.setdefault(m.group(1), "{" if m.group(2) == "{" else attr.group(1) if attr else "")
    return out


def _split_top(text: str) -> list[str]:
    out, depth, cur = [], 0, []
    for ch in text:
        if ch == "," and depth == 0:
            out.append("".join(cur))
            cur = []
            continue
        depth += (ch == "{") - (ch == "}")
        cur.append(ch)
    out.append("".join(cur))
    return [x.strip() for x in out if x.strip()]


def use_paths(tree: str, prefix: str = "") -> list[tuple[str, str]]:
    """(full path, local alias) of a use tree (``*`` for globs, ``self`` for the prefix)."""
    tree = tree.strip()
    if "{" in tree and tree.endswith("}"):
        head, body = tree.split("{", 1)
        head = head.rstrip(":").strip()
        base = f"{prefix}::{head}" if prefix and head else (head or prefix)
        return [p for part in _split_top(body[:-1]) for p in use_paths(part, base)]
    alias = None
    m = re.match(r"^(.*?)\s+as\s+(\w+)$", tree)
    if m:
        tree, alias = m.group(1).strip(), m.group(2)
    if tree == "self":
        return [(prefix, alias or prefix.rsplit("::", 1)[-1])]
    full = f"{prefix}::{tree}" if prefix else tree
    return [(full, alias or full.rsplit("::", 1)[-1])]


def parse_rust_uses_at(lines: Sequence[str], starts: Sequence[int]) -> list[Binding]:
    """The bindings of the ``use`` declarations at ``starts``: ``alias`` → ``name`` of module
    path ``module`` (a glob binds alias ``*`` with name None)."""
    out: list[Binding] = []
    for i in starts:
        buf, j = lines[i].rstrip("\r\n"), i
        while ";" not in buf and j + 1 < len(lines) and j - i < _MAX_LINES:
            j += 1
            buf += " " + lines[j].rstrip("\r\n")
        m = _USE.match(buf)
        if m is None:
            continue
        for path, alias in use_paths(re.sub(r"\s+", " ", m.group(1))):
            module, _, name = path.rpartition("::")
            if name == "*":
                out.append(Binding("*", module, None, i))
            elif module:
                out.append(Binding(alias, module, name, i))
    return out


class RustModules:
    """Module paths -> files, against one snapshot of the workspace's files; ``has`` says
    whether a workspace file exists (for ``Cargo.toml``, which is not indexed)."""

    def __init__(self, files: Collection[str], has: Callable[[str], bool]) -> None:
        self.files = files
        self._has = has

    def crate_src(self, path: str) -> str:
        """The folder of the crate root of ``path`` (``src/``)."""
        d = dirname(path)
        while True:
            for root in ("lib.rs", "main.rs"):
                if join(d, root).lstrip("/") in self.files and basename(d) == "src":
                    return d
            if self._has(join(d, "Cargo.toml") if d else "Cargo.toml"):
                return join(d, "src") if d else "src"
            if not d:
                return dirname(path)
            d = dirname(d)

    @staticmethod
    def module_dir(path: str) -> str:
        """The folder of ``path``'s child modules."""
        if basename(path) in ("mod.rs", "lib.rs", "main.rs"):
            return dirname(path)
        return path[: -len(".rs")]

    def module_file(self, directory: str) -> str | None:
        """The file of the module whose children live in ``directory``."""
        for cand in (join(directory, "lib.rs"), join(directory, "main.rs"),
                     join(directory, "mod.rs"), directory + ".rs"):
            if cand.lstrip("/") in self.files:
                return cand.lstrip("/")
        return None

    def resolve(self, module: str, from_path: str) -> str | None:
        """The file of module path ``module`` (``crate::a``, ``self::b``, ``super::c``, ``a``)
        used in ``from_path``."""
        segments = [s for s in module.split("::") if s]
        if not segments:
            return None
        here = self.module_dir(from_path)
        if segments[0] == "crate":
            base, segments = self.crate_src(from_path), segments[1:]
        elif segments[0] == "self":
            base, segments = here, segments[1:]
        elif segments[0] == "super":
            base = here
            while segments and segments[0] == "super":
                base, segments = dirname(base), segments[1:]
        else:  # a child module of this one (2018 uniform paths), else from the root (2015)
            local = self.module_file(join(here, *segments))
            if local is not None:
                return local
            base = self.crate_src(from_path)
        for seg in segments:
            base = join(base, seg)
        return self.module_file(base) if base else None

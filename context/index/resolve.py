"""Import specs -> workspace files, per language, from the set of indexed files.

Python: absolute modules (a file's module names start at the first directory above it that is not
a package, plus namespace-package prefixes) and relative ones; ``from m import n`` tries ``m.n``
as a submodule first. JS/TS: relative paths with extension probing and ``index`` files (``.js``
specs also find ``.ts`` sources). Go: packages inside a module (``go.mod``), one edge per file
of the package. Rust: ``mod foo;`` and ``use crate::/self::/super::`` paths within the crate
(``Cargo.toml`` + ``src/``). C/C++: quoted includes (next to the includer, the workspace root,
the include dirs of ``compile_commands.json`` (``-I``, ``-iquote``, ``-isystem``; at the root or in
``build/``), then the nearest file with that path suffix). Java: fully qualified class names
by path suffix.
"""

from __future__ import annotations

import json
import logging
import posixpath
import re
import shlex
from collections import defaultdict
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)

__all__ = ["Resolver"]

_JS_EXTS = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")
_PY_INIT = "__init__.py"


def _dir(path: str) -> str:
    return posixpath.dirname(path)


def _closeness(a: str, b: str) -> tuple[int, int]:
    pa, pb = _dir(a).split("/"), _dir(b).split("/")
    common = 0
    for x, y in zip(pa, pb, strict=False):
        if x != y:
            break
        common += 1
    return (-common, len(b))


class Resolver:
    """Resolves imports against one snapshot of the workspace's files."""

    def __init__(self, files: Iterable[str], read_root_file: Callable[[str], str | None]) -> None:
        self.files = set(files)
        self._read = read_root_file
        self._by_dir: dict[str, list[str]] = defaultdict(list)
        for path in self.files:
            self._by_dir[_dir(path)].append(path)
        self._packages = {_dir(p) for p in self.files if posixpath.basename(p) == _PY_INIT}
        self._py = self._python_names()
        self._suffix = self._path_suffixes()
        self._marker_cache: dict[tuple[str, str], str | None] = {}
        self._go_module_cache: dict[str, str | None] = {}
        self._include_dirs: list[str] | None = None

    # -- indexes --------------------------------------------------------------------------
    def _python_names(self) -> dict[str, list[str]]:
        """Dotted name -> files; a name never starts inside a package (``pkg/json.py`` is
        ``pkg.json``, not ``json``), but may start at any non-package dir (namespace roots)."""
        names: dict[str, list[str]] = defaultdict(list)
        for path in self.files:
            if not path.endswith((".py", ".pyi")):
                continue
            parts = path.rsplit(".", 1)[0].split("/")
            if parts[-1] == "__init__":
                parts = parts[:-1]
            for start in range(len(parts)):
                if "/".join(parts[:start]) in self._packages:
                    continue
                names[".".join(parts[start:])].append(path)
        return names

    def _path_suffixes(self) -> dict[str, list[str]]:
        suffixes: dict[str, list[str]] = defaultdict(list)
        for path in self.files:
            parts = path.split("/")
            for start in range(len(parts)):
                suffixes["/".join(parts[start:])].append(path)
        return suffixes

    def _closest(self, importer: str, candidates: Iterable[str]) -> str | None:
        found = [c for c in candidates if c != importer]
        return min(found, key=lambda c: _closeness(importer, c)) if found else None

    # -- entry point ----------------------------------------------------------------------
    def resolve(self, importer: str, module: str, names: str,
                kind: str) -> list[tuple[str, str | None]]:
        """(module, target) pairs for one stored import row."""
        if kind == "py":
            return [(module, self.python_module(importer, module))]
        if kind == "pyfrom":
            return self._python_from(importer, module, names)
        if kind == "path":
            return [(module, self.js_path(importer, module))]
        if kind == "go":
            targets = self.go_package(importer, module)
            return [(module, t) for t in targets] if targets else [(module, None)]
        if kind == "rust_mod":
            return [(module, self.rust_mod(importer, module))]
        if kind == "rust_use":
            return [(module, self.rust_use(importer, module))]
        if kind == "include":
            return [(module, self.include(importer, module))]
        if kind == "java":
            return [(module, self.java(importer, module))]
        return [(module, None)]

    # -- python ---------------------------------------------------------------------------
    def python_module(self, importer: str, module: str) -> str | None:
        if module.startswith("."):
            return self._python_relative(importer, module)
        return self._closest(importer, self._py.get(module, ()))

    def _python_relative(self, importer: str, module: str) -> str | None:
        dots = len(module) - len(module.lstrip("."))
        base = _dir(importer)
        for _ in range(dots - 1):
            base = _dir(base)
        rest = module[dots:].replace(".", "/")
        stem = posixpath.join(base, rest) if rest else base
        for candidate in (stem + ".py", stem + ".pyi", posixpath.join(stem, _PY_INIT)):
            candidate = candidate.lstrip("/")
            if candidate in self.files:
                return candidate
        return None

    def _python_from(self, importer: str, module: str, names: str) -> list[tuple[str, str | None]]:
        out: list[tuple[str, str | None]] = []
        plain = False
        for name in (n for n in names.split(",") if n and n != "*"):
            sep = "" if module.endswith(".") else "."
            sub = f"{module}{sep}{name}"
            target = self.python_module(importer, sub)
            if target is not None:
                out.append((sub, target))
            else:
                plain = True
        if plain or not out:
            out.insert(0, (module, self.python_module(importer, module)))
        return out

    # -- javascript / typescript ----------------------------------------------------------
    def js_path(self, importer: str, spec: str) -> str | None:
        if not spec.startswith((".", "/")):
            return None
        base = posixpath.normpath(posixpath.join(_dir(importer), spec)).lstrip("/")
        if base.startswith(".."):
            return None
        stems = [base]
        root, ext = posixpath.splitext(base)
        if ext in (".js", ".jsx", ".mjs", ".cjs"):
            stems.append(root)
        for stem in stems:
            if stem in self.files:
                return stem
            for candidate_ext in _JS_EXTS:
                if stem + candidate_ext in self.files:
                    return stem + candidate_ext
        for candidate_ext in _JS_EXTS:
            index = posixpath.join(base, "index" + candidate_ext)
            if index in self.files:
                return index
        return None

    # -- go -------------------------------------------------------------------------------
    def _find_marker(self, start_dir: str, marker: str) -> str | None:
        key = (start_dir, marker)
        if key not in self._marker_cache:
            text = self._read(posixpath.join(start_dir, marker) if start_dir else marker)
            if text is not None:
                self._marker_cache[key] = start_dir
            elif start_dir:
                self._marker_cache[key] = self._find_marker(_dir(start_dir), marker)
            else:
                self._marker_cache[key] = None
        return self._marker_cache[key]

    def _go_module(self, mod_dir: str) -> str | None:
        if mod_dir not in self._go_module_cache:
            text = self._read(posixpath.join(mod_dir, "go.mod") if mod_dir else "go.mod") or ""
            match = re.search(r"^\s*module\s+(\S+)", text, re.MULTILINE)
            self._go_module_cache[mod_dir] = match.group(1).strip('"') if match else None
        return self._go_module_cache[mod_dir]

    def go_package(self, importer: str, spec: str) -> list[str]:
        mod_dir = self._find_marker(_dir(importer), "go.mod")
        if mod_dir is None:
            return []
        module = self._go_module(mod_dir)
        if module is None or not (spec == module or spec.startswith(module + "/")):
            return []
        pkg_dir = posixpath.join(mod_dir, spec[len(module):].lstrip("/")).strip("/")
        return sorted(p for p in self._by_dir.get(pkg_dir, ())
                      if p.endswith(".go") and not p.endswith("_test.go"))

    # -- rust -----------------------------------------------------------------------------
    def _rust_module_dir(self, importer: str) -> str:
        name = posixpath.basename(importer)
        if name in ("mod.rs", "lib.rs", "main.rs"):
            return _dir(importer)
        return importer[: -len(".rs")]

    def _rust_file(self, dir_path: str, segments: list[str]) -> str | None:
        for end in range(len(segments), 0, -1):
            stem = posixpath.join(dir_path, *segments[:end]).lstrip("/")
            for candidate in (stem + ".rs", posixpath.join(stem, "mod.rs")):
                if candidate in self.files:
                    return candidate
        return None

    def rust_mod(self, importer: str, name: str) -> str | None:
        return self._rust_file(self._rust_module_dir(importer), [name])

    def rust_use(self, importer: str, path: str) -> str | None:
        segments = [s for s in path.split("::") if s and s != "*"]
        if not segments:
            return None
        crate_dir = self._find_marker(_dir(importer), "Cargo.toml")
        src = posixpath.join(crate_dir or "", "src")
        head = segments[0]
        if head == "crate":
            return self._rust_file(src, segments[1:])
        module_dir = self._rust_module_dir(importer)
        if head == "self":
            return self._rust_file(module_dir, segments[1:])
        if head == "super":
            parent = module_dir
            while segments and segments[0] == "super":
                parent = _dir(parent)
                segments = segments[1:]
            return self._rust_file(parent, segments)
        return self._rust_file(src, segments)

    # -- c / c++ --------------------------------------------------------------------------
    def include(self, importer: str, spec: str) -> str | None:
        spec = spec.strip('"')
        beside = posixpath.normpath(posixpath.join(_dir(importer), spec))
        if beside in self.files:
            return beside
        if spec in self.files:
            return spec
        for directory in self.include_dirs():
            candidate = posixpath.normpath(posixpath.join(directory, spec))
            if candidate in self.files:
                return candidate
        return self._closest(importer, self._suffix.get(posixpath.normpath(spec), ()))

    def include_dirs(self) -> list[str]:
        """Workspace-relative include dirs of ``compile_commands.json`` (read once)."""
        if self._include_dirs is None:
            self._include_dirs = []
            for name in ("compile_commands.json", "build/compile_commands.json"):
                text = self._read(name)
                if text is not None:
                    self._include_dirs = self._compile_dirs(text)
                    break
        return self._include_dirs

    def _compile_dirs(self, text: str) -> list[str]:
        try:
            entries = json.loads(text)
        except ValueError:
            return []
        out: list[str] = []
        root = None
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict):
                continue
            where = str(entry.get("directory", ""))
            if root is None:
                root = self._abs_root(posixpath.join(where, str(entry.get("file", ""))))
            args = entry.get("arguments")
            if not isinstance(args, list):
                try:
                    args = shlex.split(str(entry.get("command", "")))
                except ValueError:
                    args = []
            for d in _include_args([str(a) for a in args]):
                full = posixpath.normpath(posixpath.join(where, d))
                if root is not None and (full + "/").startswith(root):
                    rel = full[len(root):].strip("/")
                    if rel not in out:
                        out.append(rel)
        return out

    def _abs_root(self, abs_file: str) -> str | None:
        """The workspace root's absolute path, from a compiled file that is in the index."""
        abs_file = posixpath.normpath(abs_file)
        parts = abs_file.split("/")
        for start in range(1, len(parts)):
            if "/".join(parts[start:]) in self.files:
                return "/".join(parts[:start]) + "/"
        return None

    # -- java -----------------------------------------------------------------------------
    def java(self, importer: str, name: str) -> str | None:
        parts = name.split(".")
        for end in range(len(parts), 0, -1):
            key = "/".join(parts[:end]) + ".java"
            found = self._closest(importer, self._suffix.get(key, ()))
            if found is not None:
                return found
        return None


def _include_args(args: list[str]) -> list[str]:
    """The directories of ``-I``/``-iquote``/``-isystem`` flags (joined or separate)."""
    out: list[str] = []
    for i, arg in enumerate(args):
        for flag in ("-I", "-iquote", "-isystem"):
            if arg == flag and i + 1 < len(args):
                out.append(args[i + 1])
            elif arg.startswith(flag) and len(arg) > len(flag):
                out.append(arg[len(flag):])
    return out

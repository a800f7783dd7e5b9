"""JavaScript/TypeScript imports and re-exports read from text, resolved to workspace files.

What TypeScript does, for what the prompt needs: ``import { a, b as c } from "spec"``,
``import d from``, ``import * as ns from``, ``require``; specs relative to the file (extension
probing, ``.js`` specs that name ``.ts`` sources, ``index.*`` folders, a folder's
``package.json`` ``types``/``main``), the nearest ``tsconfig.json``/``jsconfig.json``'s
``baseUrl`` and ``paths`` aliases (``extends`` followed), and workspace packages by their
``package.json`` ``name`` (``exports``/``types``/``main``). Re-exports (``export * from``,
``export { a as b } from``, ``export default``) are read so that a name imported from a barrel
file is followed to the file that defines it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from posixpath import dirname, join, normpath

from .pyimports import Binding

__all__ = ["JS_SUFFIXES", "ReExport", "is_js", "js_import_starts", "parse_js_imports",
           "parse_js_imports_at", "reexports", "JsResolver"]

JS_SUFFIXES = (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")
_PROBE = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")
_MAX_STATEMENT_LINES = 40

_FROM = re.compile(r"""^\s*import\s+(?:type\s+)?(.*?)\s*from\s*['"]([^'"]+)['"]""", re.S)
_REQUIRE = re.compile(
    r"""^\s*(?:const|let|var)\s+(\{[^}]*\}|[A-Za-z_$][\w$]*)\s*=\s*require\(\s*['"]([^'"]+)['"]""",
    re.S)
_EXPORT_FROM = re.compile(
    r"""^\s*export\s+(?:type\s+)?(\*(?:\s+as\s+[A-Za-z_$][\w$]*)?|\{[^}]*\})\s*from\s*['"]([^'"]+)['"]""",
    re.S)
_EXPORT_LOCAL = re.compile(r"^\s*export\s+(?:type\s+)?\{([^}]*)\}\s*;?\s*$", re.S)
_EXPORT_DEFAULT = re.compile(
    r"^\s*export\s+default\s+(?:abstract\s+)?(?:async\s+)?(?:class|function\*?|interface)?\s*"
    r"([A-Za-z_$][\w$]*)")
_IDENT = re.compile(r"^[A-Za-z_$][\w$]*$")


def is_js(path: str) -> bool:
    """Whether ``path`` is a JavaScript/TypeScript source."""
    return path.endswith(JS_SUFFIXES)


@dataclass(frozen=True)
class ReExport:
    """``export { name as alias } from spec`` (``alias`` "*" for ``export *``; ``name`` None for
    ``export * as alias``); ``spec`` None for a local ``export { a as b }`` / ``export default``."""

    alias: str
    spec: str | None
    name: str | None


def js_import_starts(lines: Sequence[str]) -> list[int]:
    """Indices of the lines that start an import or a ``require`` declaration."""
    out = []
    for i, line in enumerate(lines):
        s = line.lstrip()
        if s.startswith(("import ", "import{")) or (
                "require(" in s and s.startswith(("const ", "let ", "var "))):
            out.append(i)
    return out


def _statements(lines: Sequence[str], starts: Sequence[int]) -> list[tuple[int, str]]:
    out = []
    for i in starts:
        buf, j = lines[i].rstrip("\r\n"), i
        while ("{" in buf and "}" not in buf) and j + 1 < len(lines) and \
                j - i < _MAX_STATEMENT_LINES:
            j += 1
            buf += " " + lines[j].rstrip("\r\n")
        if "}" in buf and re.search(r"\}\s*$", buf) and buf.lstrip().startswith("import"):
            if j + 1 < len(lines):  # ``} from "x"`` on the next line
                buf += " " + lines[j + 1].rstrip("\r\n")
        out.append((i, buf))
    return out


def _named(spec: str) -> list[tuple[str, str]]:
    """(imported name, local alias) of ``a, b as c, type d``."""
    out = []
    for part in spec.split(","):
        bits = part.split()
        if bits and bits[0] == "type" and len(bits) > 1:
            bits = bits[1:]
        if len(bits) == 1 and _IDENT.match(bits[0]):
            out.append((bits[0], bits[0]))
        elif len(bits) == 3 and bits[1] == "as" and _IDENT.match(bits[2]):
            out.append((bits[0], bits[2]))
    return out


def _clause(clause: str, spec: str, line: int) -> list[Binding]:
    out: list[Binding] = []
    named = re.search(r"\{([^}]*)\}", clause)
    if named:
        out += [Binding(alias, spec, name, line) for name, alias in _named(named.group(1))]
        clause = clause[: named.start()] + clause[named.end():]
    star = re.search(r"\*\s*as\s+([A-Za-z_$][\w$]*)", clause)
    if star:
        out.append(Binding(star.group(1), spec, None, line))
        clause = clause[: star.start()] + clause[star.end():]
    for part in clause.split(","):
        name = part.strip()
        if _IDENT.match(name):
            out.append(Binding(name, spec, "default", line))
    return out


def parse_js_imports_at(lines: Sequence[str], starts: Sequence[int]) -> list[Binding]:
    """The bindings of the import statements that start at ``starts`` (default imports bind
    the name ``default``, namespace imports and ``require`` of a whole module bind None)."""
    out: list[Binding] = []
    for line, stmt in _statements(lines, starts):
        m = _FROM.match(stmt)
        if m:
            out += _clause(m.group(1), m.group(2), line)
            continue
        m = _REQUIRE.match(stmt)
        if m:
            target = m.group(1)
            if target.startswith("{"):
                out += [Binding(a, m.group(2), n, line) for n, a in _named(target[1:-1])]
            else:
                out.append(Binding(target, m.group(2), None, line))
    return out


def parse_js_imports(text: str) -> list[Binding]:
    """Every import binding of ``text``, in order."""
    lines = text.splitlines()
    return parse_js_imports_at(lines, js_import_starts(lines))


def reexports(lines: Sequence[str]) -> list[ReExport]:
    """The re-exports of a module's text (``export *``, ``export {…} from``, local renames,
    ``export default Name``), in order."""
    out: list[ReExport] = []
    starts = [i for i, line in enumerate(lines) if line.lstrip().startswith("export ")]
    for _line, stmt in _statements(lines, starts):
        m = _EXPORT_FROM.match(stmt)
        if m:
            what, spec = m.group(1), m.group(2)
            if what.startswith("*"):
                alias = what.split()[-1] if " as " in what else "*"
                out.append(ReExport(alias, spec, None))
            else:
                out += [ReExport(a, spec, n) for n, a in _named(what[1:-1])]
            continue
        m = _EXPORT_LOCAL.match(stmt)
        if m:
            out += [ReExport(a, None, n) for n, a in _named(m.group(1))]
            continue
        m = _EXPORT_DEFAULT.match(stmt)
        if m and m.group(1) not in ("class", "function", "async", "abstract"):
            out.append(ReExport("default", None, m.group(1)))
    return out


# -- resolution -------------------------------------------------------------------------------

Reader = Callable[[str], str | None]


def _json(text: str | None) -> dict:
    """A JSON object from ``text`` that may carry comments and trailing commas (tsconfig)."""
    if not text:
        return {}
    text = re.sub(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', lambda m: m.group(1) or "", text,
                  flags=re.S)
    text = re.sub(r",(\s*[}\]])", r"\1", text)
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _inside(path: str) -> str | None:
    path = normpath(path)
    return None if path.startswith("..") or path.startswith("/") else path.removeprefix("./")


class JsResolver:
    """Resolves JS/TS specs against one snapshot of the workspace's files; ``read`` gives a
    workspace file's text (configs: ``tsconfig.json``, ``package.json``)."""

    def __init__(self, files: Collection[str], read: Reader) -> None:
        self.files = files
        self._read = read
        self._configs: dict[str, tuple[str, dict[str, list[str]]] | None] = {}
        self._packages: dict[str, str] | None = None

    def resolve(self, spec: str, from_path: str) -> str | None:
        """The workspace file that ``spec`` imported from ``from_path`` names, or None."""
        if spec.startswith("."):
            base = _inside(join(dirname(from_path), spec))
            return self._file_or_dir(base) if base is not None else None
        if spec.startswith("/"):
            return None
        for candidate in self._aliased(spec, from_path):
            found = self._file_or_dir(candidate)
            if found:
                return found
        return self._package(spec)

    def _file_or_dir(self, base: str) -> str | None:
        stems = [base]
        for ext in (".js", ".jsx", ".mjs", ".cjs"):
            if base.endswith(ext):
                stems.append(base[: -len(ext)])
        for stem in stems:
            if stem in self.files and is_js(stem):
                return stem
            for ext in _PROBE:
                if stem + ext in self.files:
                    return stem + ext
        manifest = _json(self._read(join(base, "package.json")))
        for key in ("types", "typings", "module", "main"):
            entry = manifest.get(key)
            if isinstance(entry, str):
                sub = _inside(join(base, entry))
                if sub and sub != base:
                    found = self._file_or_dir(sub)
                    if found:
                        return found
        for ext in _PROBE:
            if join(base, "index" + ext) in self.files:
                return join(base, "index" + ext)
        return None

    # -- tsconfig / jsconfig ------------------------------------------------------------------
    def _config(self, directory: str) -> tuple[str, dict[str, list[str]]] | None:
        """(base dir, paths) of the nearest tsconfig/jsconfig at or above ``directory``."""
        if directory in self._configs:
            return self._configs[directory]
        found = None
        for name in ("tsconfig.json", "jsconfig.json"):
            path = join(directory, name) if directory else name
            if self._read(path) is not None:
                found = self._load_config(path, 0)
                break
        if found is None and directory:
            found = self._config(dirname(directory))
        self._configs[directory] = found
        return found

    def _load_config(self, path: str, depth: int) -> tuple[str, dict[str, list[str]]] | None:
        data = _json(self._read(path))
        options = data.get("compilerOptions") or {}
        here = dirname(path)
        base = paths = None
        if isinstance(options.get("baseUrl"), str):
            base = _inside(join(here, options["baseUrl"])) or ""
        if isinstance(options.get("paths"), dict):
            paths = {k: [v for v in vs if isinstance(v, str)]
                     for k, vs in options["paths"].items() if isinstance(vs, list)}
        parent = data.get("extends")
        if isinstance(parent, str) and parent.startswith(".") and depth < 4:
            ppath = _inside(join(here, parent if parent.endswith(".json") else parent + ".json"))
            inherited = self._load_config(ppath, depth + 1) if ppath else None
            if inherited is not None:
                base = base if base is not None else inherited[0]
                paths = paths if paths is not None else inherited[1]
        if base is None and paths is None:
            return None
        return (base if base is not None else here), (paths or {})

    def _aliased(self, spec: str, from_path: str) -> list[str]:
        """Candidate workspace paths for a bare ``spec`` through ``paths`` and ``baseUrl``."""
        config = self._config(dirname(from_path))
        if config is None:
            return []
        base, paths = config
        out: list[str] = []
        for pattern, targets in sorted(paths.items(), key=lambda kv: -len(kv[0])):
            star = None
            if pattern == spec:
                star = ""
            elif pattern.endswith("*") and spec.startswith(pattern[:-1]):
                star = spec[len(pattern) - 1:]
            if star is None:
                continue
            for target in targets:
                found = _inside(join(base, target.replace("*", star)))
                if found is not None:
                    out.append(found)
        out_base = _inside(join(base, spec))
        if out_base is not None:
            out.append(out_base)
        return out

    # -- workspace packages ---------------------------------------------------------------------
    def _package(self, spec: str) -> str | None:
        """A workspace package (a ``package.json`` whose ``name`` is the spec's package)."""
        if self._packages is None:
            self._packages = self._find_packages()
        parts = spec.split("/")
        n = 2 if spec.startswith("@") else 1
        root = self._packages.get("/".join(parts[:n]))
        if root is None:
            return None
        sub = "/".join(parts[n:])
        manifest = _json(self._read(join(root, "package.json")))
        entry = _export_entry(manifest.get("exports"), "./" + sub if sub else ".")
        if entry:
            found = _inside(join(root, entry))
            hit = self._file_or_dir(found) if found else None
            if hit:
                return hit
        return self._file_or_dir(join(root, sub) if sub else root)


    def _find_packages(self) -> dict[str, str]:
        """Package name -> folder, for the ``package.json`` files in the folders (up to
        ``_PACKAGE_DEPTH`` deep) that hold JS/TS sources (``node_modules`` is not indexed)."""
        dirs: set[str] = set()
        for path in self.files:
            if is_js(path):
                parts = path.split("/")[:-1]
                dirs.update("/".join(parts[:i]) for i in range(min(len(parts), _PACKAGE_DEPTH) + 1))
        out: dict[str, str] = {}
        for d in sorted(dirs, key=lambda d: (d.count("/"), d)):
            name = _json(self._read(join(d, "package.json") if d else "package.json")).get("name")
            if isinstance(name, str):
                out.setdefault(name, d)
        return out


_PACKAGE_DEPTH = 3


def _export_entry(exports: object, key: str) -> str | None:
    """The file that ``exports`` maps ``key`` (``.`` or ``./sub``) to (conditions: types,
    import, default, require, in that order)."""
    if isinstance(exports, str):
        return exports if key == "." else None
    if not isinstance(exports, dict):
        return None
    if key in exports:
        return _condition(exports[key])
    for pattern, value in exports.items():
        if pattern.endswith("*") and key.startswith(pattern[:-1]):
            entry = _condition(value)
            return entry.replace("*", key[len(pattern) - 1:]) if entry else None
    if key == "." and not any(k.startswith(".") for k in exports):
        return _condition(exports)
    return None


def _condition(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for cond in ("types", "import", "module", "default", "require", "node"):
            if cond in value:
                found = _condition(value[cond])
                if found:
                    return found
    return None

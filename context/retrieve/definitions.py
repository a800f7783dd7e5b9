"""Definitions of what the cursor uses or is likely to use.

Ranked in tiers: names imported but not used anywhere else yet (the user imported them for a
reason: the line being typed is the likeliest to use them; brief headers, so a few fit a tight
budget); names imported and used in the enclosing scope (whole when short); attributes of
imported modules used in this file; other names of the scope resolved through the index;
outlines of imported modules.
Within a tier, names used closer to the enclosing scope come first.
"""

from __future__ import annotations

import posixpath
import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .candidate import Candidate
from .goimports import GoResolver, go_import_starts, is_go, package_name, parse_go_imports_at
from .javaimports import JavaClasses, is_java, java_import_starts, parse_java_imports_at
from .jsimports import JsResolver, ReExport, is_js, js_import_starts, parse_js_imports_at, reexports
from .pyimports import Binding, parse_imports, resolve_module
from .query import BLOCK_LINES, Query
from .rustimports import (
    RustModules,
    is_rust,
    mod_declarations,
    parse_rust_uses_at,
    rust_use_starts,
)
from .snippets import definition_candidate, outline_text
from .view import WorkspaceView

__all__ = ["DefinitionLimits", "definitions", "resolve_symbol"]

_ATTR = re.compile(r"\b([A-Za-z_]\w*)\.([A-Za-z_]\w*)")
_CALL = re.compile(r"\.([A-Za-z_]\w*)\s*\(")

TIER_UNUSED, TIER_RECEIVER, TIER_SCOPE, TIER_UNUSED_MODULE, TIER_FILE, TIER_OUTLINE_SCOPE, \
    TIER_INDEX, TIER_OUTLINE = (7.0, 6.5, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0)
_TYPE_KINDS = ("class", "struct", "interface", "type", "trait")


@dataclass(frozen=True)
class DefinitionLimits:
    """How much the definitions source may produce."""

    max_candidates: int = 80
    scope_names: int = 16
    whole_max_lines: int = 12
    """Whole bodies up to this many lines for names used in the enclosing scope..."""
    brief_max_lines: int = 4
    """...and up to this many for the others (signature + docstring beyond)."""
    outline_symbols: int = 24
    receiver_members: int = 24
    """Methods shown for the type of a variable the enclosing scope declares..."""
    receiver_brief: int = 6
    """...and in its brief (when the whole does not fit)."""


@dataclass(frozen=True)
class ReceiverType:
    """A type the enclosing scope declares a variable of (its methods are likely next)."""

    name: str


@dataclass(frozen=True)
class ModuleRef:
    """A name that resolved to a module file rather than a symbol."""

    path: str


_PARSERS = ((is_java, java_import_starts, parse_java_imports_at),
            (is_rust, rust_use_starts, parse_rust_uses_at),
            (is_go, go_import_starts, parse_go_imports_at),
            (is_js, js_import_starts, parse_js_imports_at))
"""Per language: (is the path of it, import starts, bindings from the starts)."""


def _bindings_of(view: WorkspaceView, path: str) -> tuple[Binding, ...]:
    for of_language, starts, parse in _PARSERS:
        if of_language(path):
            def read(starts: Any = starts, parse: Any = parse) -> tuple[Binding, ...]:
                lines = view.lines(path)
                return tuple(parse(lines, starts(lines)))

            return view.memo(("bindings", path), read)
    return view.memo(("bindings", path), lambda: tuple(parse_imports("".join(view.lines(path)))))


def _reexports_of(view: WorkspaceView, path: str) -> tuple[ReExport, ...]:
    return view.memo(("reexports", path), lambda: tuple(reexports(view.lines(path))))


def _js_resolver(view: WorkspaceView) -> JsResolver:
    """One per index generation (it caches configs and workspace packages)."""
    def read(path: str) -> str | None:
        return "".join(view.lines(path)) or None

    return view.memo(("js_resolver",), lambda: JsResolver(view.files(), read))


def _go_resolver(view: WorkspaceView) -> GoResolver:
    def read(path: str) -> str | None:
        return "".join(view.lines(path)) or None

    return view.memo(("go_resolver",), lambda: GoResolver(view.files(), read))


def _rust_modules(view: WorkspaceView) -> RustModules:
    return view.memo(("rust_modules",), lambda: RustModules(view.files(),
                                                            lambda p: bool(view.lines(p))))


def _java_classes(view: WorkspaceView) -> JavaClasses:
    return view.memo(("java_classes",), lambda: JavaClasses(view.files()))


def _target(view: WorkspaceView, module: str, from_path: str) -> str | None:
    """Our resolution of ``module`` from ``from_path``, else the index's import edge (Go: the
    package's first file)."""
    if is_go(from_path):
        files = _go_resolver(view).package(module, from_path)
        return files[0] if files else None
    if is_rust(from_path):
        return _rust_module(view, module, from_path)
    if is_java(from_path):
        return _java_classes(view).file(module, from_path)
    if is_js(from_path):
        return _js_resolver(view).resolve(module, from_path)
    target = resolve_module(module, from_path, view.files())
    if target is None:
        for edge in view.imports(from_path):
            if edge.module == module and edge.target:
                return edge.target
    return target


def _submodule(module: str, name: str) -> str:
    return f"{module}{name}" if module.endswith(".") else f"{module}.{name}"


def resolve_symbol(
    view: WorkspaceView, from_path: str, module: str, name: str, depth: int = 0
) -> Any | ModuleRef | None:
    """The SymbolDef (or module) that ``from module import name`` in ``from_path`` binds,
    following re-exports up to three hops (JS/TS: barrel files, up to ``_REEXPORT_HOPS``)."""
    if is_js(from_path):
        return _js_symbol(view, from_path, module, name or None, 0, set())
    if is_go(from_path):
        return _go_symbol(view, from_path, module, name)
    if is_rust(from_path):
        return _rust_symbol(view, from_path, module, name, 0, set())
    if is_java(from_path):
        target = _java_classes(view).file(module, from_path)
        if target is None:
            return None
        return next((s for s in view.outline(target) if s.qualname == name),
                    ModuleRef(target) if not name else None)
    files = view.files()
    target = _target(view, module, from_path)
    if target is not None:
        for sym in view.outline(target):
            if sym.qualname == name:
                return sym
        sub = resolve_module(_submodule(module, name), from_path, files)
        if sub is not None:
            return ModuleRef(sub)
        if depth < 3:
            for b in _bindings_of(view, target):
                if b.alias == name:
                    if b.name is None:
                        mod = resolve_module(b.module, target, files)
                        return ModuleRef(mod) if mod else None
                    return resolve_symbol(view, target, b.module, b.name, depth + 1)
    return None


def _go_symbol(view: WorkspaceView, from_path: str, module: str,
               name: str) -> Any | ModuleRef | None:
    """``name`` among the top-level definitions of the package ``module`` (all its files)."""
    files = _go_resolver(view).package(module, from_path)
    if not name:
        return ModuleRef(files[0]) if files else None
    for path in files:
        for sym in view.outline(path):
            if sym.qualname == name:
                return sym
    return None


def _rust_symbol(view: WorkspaceView, from_path: str, module: str, name: str, hops: int,
                 seen: set[tuple[str, str]]) -> Any | ModuleRef | None:
    """What ``use module::name`` in ``from_path`` binds: an item of the module's file, one it
    re-exports (``pub use``, globs included), or a submodule."""
    mods = _rust_modules(view)
    target = _rust_module(view, module, from_path)
    if target is None:
        return None
    if not name or name == "self":
        return ModuleRef(target)
    if (target, name) in seen or hops > _REEXPORT_HOPS:
        return None
    seen.add((target, name))
    for sym in view.outline(target):
        if sym.qualname == name:
            return sym
    globs = []
    for b in _bindings_of(view, target):
        if b.alias == "*":
            globs.append(b.module)
        elif b.alias == name and b.name:
            found = _rust_symbol(view, target, b.module, b.name, hops + 1, seen)
            if found is not None:
                return found
    sub = mods.resolve(f"self::{name}", target)
    if sub is not None:
        return ModuleRef(sub)
    for glob in globs:
        found = _rust_symbol(view, target, glob, name, hops + 1, seen)
        if found is not None:
            return found
    return None


def _rust_module(view: WorkspaceView, module: str, from_path: str, hops: int = 0,
                 seen: set[tuple[str, str]] | None = None) -> str | None:
    """The file of module path ``module`` used in ``from_path``: through the module tree, else
    from the longest prefix that resolves, through what that file declares for the next
    segment (an inline ``mod x {``: the same file; ``#[path = ".."] mod x;``; a module it
    re-exports with ``pub use``, globs included). One search visits each (module, file) pair
    once: crates that glob-import ``super::*`` everywhere would otherwise branch at every hop."""
    if seen is None:
        return view.memo(("rust_module", module, from_path),
                         lambda: _rust_module_search(view, module, from_path, hops, set()))
    return _rust_module_search(view, module, from_path, hops, seen)


def _rust_module_search(view: WorkspaceView, module: str, from_path: str, hops: int,
                        seen: set[tuple[str, str]]) -> str | None:
    if (module, from_path) in seen:
        return None
    seen.add((module, from_path))
    mods = _rust_modules(view)
    found = mods.resolve(module, from_path)
    if found is not None or hops > _REEXPORT_HOPS:
        return found
    segs = [s for s in module.split("::") if s]
    for k in range(len(segs) - 1, 0, -1):
        base = mods.resolve("::".join(segs[:k]), from_path)
        if base is not None:
            return _rust_walk(view, base, segs[k:], hops, seen)
    if segs and segs[0] not in ("crate", "self", "super"):  # declared here, else at the root
        root = mods.module_file(mods.crate_src(from_path))
        for base in dict.fromkeys(b for b in (from_path, root) if b):
            found = _rust_walk(view, base, segs, hops, seen)
            if found is not None:
                return found
    return None


def _rust_walk(view: WorkspaceView, base: str, segs: list[str], hops: int,
               seen: set[tuple[str, str]]) -> str | None:
    """Module ``segs`` as seen from inside the module of file ``base``."""
    mods = _rust_modules(view)
    for seg in segs:
        nxt = mods.resolve(f"self::{seg}", base)
        if nxt is None:
            declared = view.memo(("rust_mods", base),
                                 lambda b=base: mod_declarations(view.lines(b)))
            how = declared.get(seg)
            if how == "{":
                nxt = base
            elif how:
                nxt = posixpath.normpath(posixpath.join(posixpath.dirname(base), how))
                nxt = nxt if nxt in view.files() else None
            else:
                nxt = _rust_reexported(view, base, seg, hops, seen)
        if nxt is None:
            return None
        base = nxt
    return base


def _rust_reexported(view: WorkspaceView, path: str, seg: str, hops: int,
                     seen: set[tuple[str, str]]) -> str | None:
    """The module that ``path`` brings in as ``seg`` with a ``use`` (a glob's module's child
    ``seg`` included)."""
    globs = []
    for b in _bindings_of(view, path):
        if b.alias == seg and b.name:
            return _rust_module(view, f"{b.module}::{b.name}", path, hops + 1, seen)
        if b.alias == "*":
            globs.append(b.module)
    for glob in globs:
        found = _rust_module(view, f"{glob}::{seg}", path, hops + 1, seen)
        if found is not None:
            return found
    return None


_REEXPORT_HOPS = 8
"""How many re-exports (JS/TS ``export * from``, ``export { a as b } from``; Rust ``pub use``)
a name is followed through."""


def _js_symbol(view: WorkspaceView, from_path: str, spec: str, name: str | None, hops: int,
               seen: set[tuple[str, str]]) -> Any | ModuleRef | None:
    """What ``import { name } from spec`` in ``from_path`` binds (None name: the module)."""
    target = _js_resolver(view).resolve(spec, from_path)
    if target is None:
        return None
    if name is None:
        return ModuleRef(target)
    return _js_export(view, target, name, hops, seen)


def _js_export(view: WorkspaceView, path: str, name: str, hops: int,
               seen: set[tuple[str, str]]) -> Any | ModuleRef | None:
    """The definition that module ``path`` exports as ``name``."""
    if (path, name) in seen or hops > _REEXPORT_HOPS:
        return None
    seen.add((path, name))
    if name != "default":
        found = _js_local(view, path, name, hops, seen, imported=False)
        if found is not None:
            return found
    stars = []
    for r in _reexports_of(view, path):
        if r.alias == "*":
            stars.append(r.spec)
        elif r.alias == name:
            if r.spec is None:
                found = _js_local(view, path, r.name or name, hops, seen, imported=True)
            else:
                found = _js_symbol(view, path, r.spec, r.name, hops + 1, seen)
            if found is not None:
                return found
    for spec in stars if name != "default" else ():
        found = _js_symbol(view, path, spec, name, hops + 1, seen)
        if found is not None:
            return found
    return None


def _js_local(view: WorkspaceView, path: str, name: str, hops: int,
              seen: set[tuple[str, str]], imported: bool) -> Any | ModuleRef | None:
    """``name`` defined at the top of ``path`` or (``imported``) imported there."""
    for sym in view.outline(path):
        if sym.qualname == name:
            return sym
    if imported:
        for b in _bindings_of(view, path):
            if b.alias == name:
                return _js_symbol(view, path, b.module, b.name, hops + 1, seen)
    return None


def _distance(q: Query, lines: Sequence[int]) -> int:
    """Lines between the enclosing scope and the nearest of ``lines`` (sorted), 0 inside."""
    if not lines:
        return 1 << 20
    if q.scope is None:
        return 0
    s, e = q.scope
    i = bisect_left(lines, s)
    if i < len(lines) and lines[i] <= e:
        return 0
    after = lines[i] - e if i < len(lines) else 1 << 30
    before = s - lines[i - 1] if i > 0 else 1 << 30
    return min(after, before)


def _block_distance(q: Query, name: str) -> int:
    """Lines between the enclosing scope and the nearest 64-line block that names ``name``
    (a bare use: ``raise Error(``, ``f(x)``), 0 for the scope's own blocks."""
    if q.scope is None:
        return 0 if any(name in ids for ids in q.blocks) else 1 << 20
    s, e = q.scope
    best = 1 << 20
    for i, ids in enumerate(q.blocks):
        if name in ids:
            lo, hi = i * BLOCK_LINES, (i + 1) * BLOCK_LINES - 1
            best = min(best, lo - e if lo > e else s - hi if hi < s else 0)
    return best


def _uses(q: Query) -> dict[str, list[int]]:
    """Lines of each ``receiver`` and ``receiver.attr`` use, sorted."""
    out: dict[str, set[int]] = {}
    for recv, attr, line in q.attrs:
        out.setdefault(recv, set()).add(line)
        out.setdefault(f"{recv}.{attr}", set()).add(line)
    return {k: sorted(v) for k, v in out.items()}


def _tier(q: Query, alias: str) -> float:
    if alias in q.scope_ids:
        return TIER_SCOPE
    if alias not in q.file_ids:
        return TIER_UNUSED
    return TIER_FILE


def _wanted(q: Query) -> Iterator[tuple[float, int, str, Any]]:
    """(tier, distance, label, target) for everything the cursor may need, unresolved."""
    uses = _uses(q)
    attrs: dict[str, set[str]] = {}
    for recv, attr, _line in q.attrs:
        attrs.setdefault(recv, set()).add(attr)
    typed = {t for _, t in q.receivers}
    for name in sorted(typed):
        yield TIER_RECEIVER, _receiver_rank(q, name), f":{name}", ReceiverType(name)
    for b in q.bindings:
        if b.alias in typed:
            continue
        if b.name is not None:
            dist = min(_distance(q, uses.get(b.alias, ())), _block_distance(q, b.alias))
            yield _tier(q, b.alias), dist, b.alias, b
            if q.path.endswith((".py", ".pyi")) and b.alias in attrs:  # from pkg import mod
                yield from _attrs_wanted(q, b.alias, _submodule(b.module, b.name), uses,
                                         sorted(attrs[b.alias]))
        else:
            yield from _module_wanted(q, b, uses, sorted(attrs.get(b.alias, ())))


def _attrs_wanted(q: Query, alias: str, module: str, uses: dict[str, list[int]],
                  attrs: list[str]) -> Iterator[tuple]:
    """``alias.attr`` for each attribute the file uses on a module bound as ``alias`` (a
    Python ``from pkg import mod`` too: a name that is not a module resolves to nothing)."""
    for attr in attrs:
        key = f"{alias}.{attr}"
        dist = _distance(q, uses.get(key, ()))
        yield TIER_SCOPE if dist == 0 else TIER_FILE, dist, key, (module, attr)


def _receiver_rank(q: Query, type_name: str) -> int:
    """Fewer for the types whose variables the enclosing scope calls more methods on (``v.m``,
    ``self.v.m``)."""
    if q.scope is None:
        return _RECEIVER_RANKS
    s, e = q.scope
    variables = {v for v, t in q.receivers if t == type_name}
    calls = sum(1 for recv, _, line in q.attrs
                if s <= line <= e and recv.rsplit(".", 1)[-1] in variables)
    return max(0, _RECEIVER_RANKS - calls)


_RECEIVER_RANKS = 20


def _module_wanted(q: Query, b: Binding, uses: dict[str, list[int]],
                   attrs: list[str]) -> Iterator[tuple]:
    yield from _attrs_wanted(q, b.alias, b.module, uses, attrs)
    root = b.alias.split(".")[0]
    if root not in q.file_ids:
        tier = TIER_UNUSED_MODULE - 0.5
    else:
        tier = TIER_OUTLINE_SCOPE if root in q.scope_ids else TIER_OUTLINE
    yield tier, _distance(q, uses.get(b.alias, ())), b.alias, ModuleRef(b.module)


def definitions(
    view: WorkspaceView, q: Query, limits: DefinitionLimits | None = None
) -> list[Candidate]:
    """Candidates for the definitions the cursor uses or will likely use, best first."""
    limits = limits or DefinitionLimits()
    seen: set[tuple] = set()
    out: list[Candidate] = []
    if is_java(q.path) and any(b.alias == "*" for b in q.bindings):
        q = replace(q, bindings=_java_wildcards(view, q))
    wanted = sorted(set(_wanted(q)), key=lambda w: (-w[0], w[1], w[2], repr(w[3])))
    for tier, dist, _label, target in wanted:
        found = _resolve_candidate(view, q, target, tier - min(dist, 1000) / 2000.0, limits,
                                   tier == TIER_SCOPE)
        for cand in found if isinstance(found, list) else [found]:
            if cand is None or (cand.path, cand.start_line, cand.end_line) in seen:
                continue
            seen.add((cand.path, cand.start_line, cand.end_line))
            out.append(cand)
            if len(out) >= limits.max_candidates:
                return out
    for cand in _scope_names(view, q, limits, seen):
        out.append(cand)
        if len(out) >= limits.max_candidates:
            break
    return out


def _resolve_candidate(
    view: WorkspaceView, q: Query, target: Any, score: float, limits: DefinitionLimits,
    whole: bool,
) -> Candidate | list[Candidate] | None:
    """The candidate(s) for one wanted name: ``whole`` (short bodies in full, volatile) for the
    names the enclosing scope uses, a brief header for the others."""
    if isinstance(target, ReceiverType):
        return _receiver_candidates(view, q, target.name, score, limits)
    if isinstance(target, Binding):
        found = resolve_symbol(view, q.path, target.module, target.name or "")
    elif isinstance(target, ModuleRef):
        found = ModuleRef(_target(view, target.path, q.path) or "")
    else:
        found = resolve_symbol(view, q.path, target[0], target[1])
    if isinstance(found, ModuleRef) and found.path and is_go(q.path) and \
            isinstance(target, ModuleRef):
        return _package_outline(view, q, target.path, score, limits)
    if isinstance(found, ModuleRef):
        return _module_outline(view, q, found.path, score, limits) if found.path else None
    if found is None or found.path == q.path:
        return None
    cand = _symbol_candidate(view, found, score, limits, whole)
    return replace(cand, volatile=True) if cand and whole else cand


def _symbol_candidate(
    view: WorkspaceView, sym: Any, score: float, limits: DefinitionLimits, whole: bool
) -> Candidate | None:
    lines = view.lines(sym.path)
    outline = view.outline(sym.path) if sym.kind == "class" else ()
    if whole:
        return definition_candidate(lines, sym, score, outline, limits.whole_max_lines,
                                    doc_max_lines=3, max_members=20)
    return definition_candidate(lines, sym, score, outline, limits.brief_max_lines,
                                doc_max_lines=1, max_members=6)


@dataclass(frozen=True)
class Counts:
    """Workspace-wide counts from a hint (``total``) with one file's hinted counts (``stale``:
    the file being edited, whose copy in the hint may be old) replaced by ``fresh`` ones."""

    total: Counter
    stale: Counter
    fresh: Counter

    def __getitem__(self, key: Any) -> int:
        return self.total[key] - self.stale[key] + self.fresh[key]


def _counts(view: WorkspaceView, key: str, pattern: re.Pattern[str]) -> tuple[
    Counter, dict[str, Counter]
]:
    """``pattern``'s matches counted in the workspace and per file (a hint, reused a while)."""

    def count() -> tuple[Counter, dict[str, Counter]]:
        total: Counter = Counter()
        per: dict[str, Counter] = {}
        for name in sorted(view.files()):
            per[name] = Counter(pattern.findall("".join(view.lines(name))))
            total.update(per[name])
        return total, per

    return view.memo_hint((key,), count)


def attr_stats(view: WorkspaceView, q: Query) -> Counts:
    """How often each ``receiver.attr`` occurs in the workspace, the query's buffer as it is
    now (its ``receiver.attr`` uses outside the cursor line)."""
    total, per = _counts(view, "attr_stats", _ATTR)
    fresh = view.memo(("own_attrs", q.path, q.attrs), lambda: Counter(
        (recv.rsplit(".", 1)[-1], attr) for recv, attr, _ in q.attrs))
    return Counts(total, per.get(q.path) or Counter(), fresh)


def call_stats(view: WorkspaceView, path: str) -> Counts:
    """How often each ``.name(`` call occurs in the workspace outside ``path``."""
    total, per = _counts(view, "call_stats", _CALL)
    return Counts(total, per.get(path) or Counter(), Counter())


def _likely_members(view: WorkspaceView, q: Query, type_name: str,
                    members: list[Any]) -> list[Any]:
    """The methods of a type, likeliest first: those the file already calls on a variable of
    the type, then by how often the workspace calls them on variables of the same names, then
    on anything, then in file order."""
    variables = {v for v, t in q.receivers if t == type_name}
    here = {attr for recv, attr, _ in q.attrs if recv.rsplit(".", 1)[-1] in variables}
    named, calls = attr_stats(view, q), call_stats(view, q.path)

    def key(i: int) -> tuple:
        name = members[i].name
        return (name not in here, -sum(named[(v, name)] for v in variables), -calls[name], i)

    return [members[i] for i in sorted(range(len(members)), key=key)]


def _java_wildcards(view: WorkspaceView, q: Query) -> tuple[Binding, ...]:
    """The bindings with each ``import a.b.*;`` replaced by the classes of ``a.b`` that the
    file names (capitalised identifiers not bound otherwise)."""
    classes = _java_classes(view)
    bound = {b.alias for b in q.bindings}
    out = [b for b in q.bindings if b.alias != "*"]
    for b in q.bindings:
        if b.alias != "*":
            continue
        for name in sorted(n for n in q.file_ids | q.scope_ids if n[:1].isupper()):
            if name not in bound and classes.package_class(b.module, name, q.path):
                out.append(Binding(name, f"{b.module}.{name}", name, b.line))
                bound.add(name)
    return tuple(out)


def _type_symbol(view: WorkspaceView, q: Query, name: str) -> Any | None:
    """The definition of type ``name`` as the file sees it: imported, else by the index."""
    for b in q.bindings:
        if b.alias == name and b.name is not None:
            found = resolve_symbol(view, q.path, b.module, b.name)
            return found if not isinstance(found, ModuleRef) else None
    for sym in view.definitions(name, q.path, limit=3):
        if sym.qualname == name and sym.kind in _TYPE_KINDS:
            return sym
    return None


def _receiver_candidates(
    view: WorkspaceView, q: Query, name: str, score: float, limits: DefinitionLimits
) -> list[Candidate]:
    """The type's header and its methods' first lines, likeliest first (Go: the methods in
    every file of the type's package), one candidate per file, with the likeliest few as the
    brief that stands in when the whole does not fit."""
    sym = _type_symbol(view, q, name)
    if sym is None or sym.kind not in _TYPE_KINDS or sym.path == q.path:
        return []
    files = [sym.path]
    if is_go(sym.path):
        folder = sym.path.rsplit("/", 1)[0] if "/" in sym.path else ""
        files += sorted(f for f in view.files() if is_go(f) and f != sym.path and
                        (f.rsplit("/", 1)[0] if "/" in f else "") == folder and
                        not f.endswith("_test.go"))
    prefix = f"{sym.qualname}."
    members = [s for path in files for s in view.outline(path) if s.qualname.startswith(prefix)
               and "." not in s.qualname[len(prefix):] and s.kind in ("method", "function")
               and not s.name.startswith(("_", "#"))]
    members = _likely_members(view, q, name, members)[: limits.receiver_members]
    brief = {id(s) for s in members[: limits.receiver_brief]} | {id(sym)}
    out = []
    for path in files:
        head = [sym] if path == sym.path else []
        shown = head + [s for s in members if s.path == path]
        if shown:
            lines = view.lines(path)
            out.append(Candidate("definition", "definitions", path,
                                 min(s.start_line for s in shown),
                                 max(s.end_line for s in shown),
                                 outline_text(lines, shown), score - len(out) / 1000.0,
                                 brief=outline_text(lines, [s for s in shown
                                                            if id(s) in brief]),
                                 volatile=True))
    return out


def _package_outline(
    view: WorkspaceView, q: Query, module: str, score: float, limits: DefinitionLimits
) -> list[Candidate]:
    """A Go package's most used exported top-level symbols (by ``pkg.Name`` uses in the
    workspace) across its files: one outline per file, the file of the most used first, its
    symbols most used first (so a cut keeps the likeliest)."""
    files = _go_resolver(view).package(module, q.path)
    stem, stats = package_name(module), attr_stats(view, q)
    public = [(-stats[(stem, s.name)], n, s) for n, s in enumerate(
        s for f in files for s in view.outline(f)
        if "." not in s.qualname and s.name[:1].isupper())]
    top = [s for _, _, s in sorted(public, key=lambda x: x[:2])[: limits.outline_symbols]]
    by_file: dict[str, list[Any]] = {}
    for sym in top:
        by_file.setdefault(sym.path, []).append(sym)
    out = []
    for rank, (path, syms) in enumerate(by_file.items()):
        out.append(Candidate("outline", "definitions", path, syms[0].start_line,
                             max(s.end_line for s in syms), outline_text(view.lines(path), syms),
                             score - rank / 1000.0))
    return out


def _module_outline(
    view: WorkspaceView, q: Query, path: str, score: float, limits: DefinitionLimits
) -> Candidate | None:
    """The module's most used public top-level symbols (by ``module.name`` uses in the
    workspace), most used first (so a cut keeps the likeliest). A ``_private`` name that code
    reaches as ``module._name`` counts as public (a package's internal API)."""
    stem = path.rsplit("/", 1)[-1].removesuffix(".py")
    if stem == "__init__":
        stem = path.rsplit("/", 2)[-2] if "/" in path else stem
    stats = attr_stats(view, q)
    public = [s for s in view.outline(path) if "." not in s.qualname
              and s.kind not in ("module",) and _shown(s.name, stats[(stem, s.name)])]
    ranked = sorted(range(len(public)), key=lambda i: (-stats[(stem, public[i].name)], i))
    public = [public[i] for i in ranked[: limits.outline_symbols]]
    if not public:
        return None
    text = outline_text(view.lines(path), public)
    return Candidate("outline", "definitions", path, min(s.start_line for s in public),
                     max(s.end_line for s in public), text, score)


def _shown(name: str, uses: int) -> bool:
    """Whether a module's top-level ``name`` belongs in its outline: public, or private and
    used through the module elsewhere (not a dunder)."""
    return not name.startswith("_") or (uses > 0 and not name.endswith("__"))


def _scope_names(
    view: WorkspaceView, q: Query, limits: DefinitionLimits, seen: set[tuple]
) -> Iterator[Candidate]:
    bound = {b.alias for b in q.bindings}
    names = sorted(n for n in q.scope_calls - bound if n != q.scope_name)[: limits.scope_names]
    for name in names:
        for sym in view.definitions(name, q.path, limit=2)[:1]:
            if sym.qualname != name and not sym.qualname.endswith(f".{name}"):
                continue
            if sym.path == q.path and q.scope and sym.start_line <= q.scope[1] and \
                    q.scope[0] <= sym.end_line:
                continue
            cand = _symbol_candidate(view, sym, TIER_INDEX, limits, False)
            cand = replace(cand, volatile=True) if cand else None
            if cand is not None and (cand.path, cand.start_line, cand.end_line) not in seen:
                seen.add((cand.path, cand.start_line, cand.end_line))
                yield cand

"""Read-side queries on the index tables: rows -> the values other rooms use.

Everything here takes an open connection and plain arguments, so the workspace index can hold
its lock around a call and nothing else. Ranking of definitions by import proximity lives here
too; the file graph is in ``graph``.
"""

from __future__ import annotations

import posixpath
import sqlite3
from array import array
from collections.abc import Callable

from context.index.model import SCOPE_KINDS, Reference, Scope, SymbolDef

__all__ = [
    "definitions_named",
    "file_defs",
    "file_id",
    "identifiers",
    "proximity",
    "references_named",
    "scope_chain",
]

_DEF_COLUMNS = ("f.path, d.name, d.qualname, d.kind, f.language, d.start_line, d.end_line, "
                "d.signature, d.doc")
_KIND_ORDER = {"class": 0, "struct": 0, "interface": 0, "function": 1, "method": 1, "type": 2,
               "enum": 2, "module": 3, "macro": 3, "constant": 4, "variable": 5, "field": 6}


def file_id(conn: sqlite3.Connection, path: str) -> int | None:
    row = conn.execute("SELECT id FROM idx_files WHERE path = ?", (path,)).fetchone()
    return None if row is None else int(row[0])


def _symbol(row: tuple) -> SymbolDef:
    return SymbolDef(row[0], row[1], row[2], row[3], row[4], int(row[5]), int(row[6]),
                     row[7], row[8])


def definitions_named(conn: sqlite3.Connection, name: str) -> list[SymbolDef]:
    """All definitions of a name (no ranking)."""
    rows = conn.execute(
        f"SELECT {_DEF_COLUMNS} FROM idx_defs d JOIN idx_files f ON f.id = d.file_id "
        "WHERE d.name = ? AND d.kind != 'impl'", (name,),
    ).fetchall()
    return [_symbol(row) for row in rows]


def file_defs(conn: sqlite3.Connection, path: str) -> list[tuple[SymbolDef, int, int]]:
    """A file's definitions in source order, each with its (start_col, end_col)."""
    rows = conn.execute(
        f"SELECT {_DEF_COLUMNS}, d.start_col, d.end_col FROM idx_defs d "
        "JOIN idx_files f ON f.id = d.file_id WHERE f.path = ? "
        "ORDER BY d.start_line, d.start_col, d.end_line DESC", (path,),
    ).fetchall()
    return [(_symbol(row), int(row[9]), int(row[10])) for row in rows]


def proximity(from_path: str | None, path: str, imported: set[str], importers: set[str],
              second_hop: set[str]) -> tuple[int, int]:
    """Rank key of a definition's file as seen from ``from_path`` (smaller = closer)."""
    if from_path is None:
        return (5, 0)
    if path == from_path:
        return (0, 0)
    if path in imported:
        return (1, 0)
    if path in importers or path in second_hop:
        return (2, 0)
    a, b = posixpath.dirname(from_path).split("/"), posixpath.dirname(path).split("/")
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    if a == b:
        return (3, 0)
    return (4, (len(a) - common) + (len(b) - common))


def rank_key(symbol: SymbolDef, near: tuple[int, int]) -> tuple:
    return (near, _KIND_ORDER.get(symbol.kind, 9), symbol.path, symbol.start_line)


_SCOPE_SQL = (
    "SELECT qualname, start_line, start_col, end_line, end_col FROM idx_defs "
    "WHERE file_id = ? AND kind IN (" + ",".join(f"'{k}'" for k in sorted(SCOPE_KINDS)) + ") "
    "ORDER BY start_line, start_col"
)


def _scopes(conn: sqlite3.Connection, fid: int) -> list[tuple]:
    return conn.execute(_SCOPE_SQL, (fid,)).fetchall()


def _innermost(scopes: list[tuple], line: int, col: int) -> str:
    best = ""
    for qualname, sl, sc, el, ec in scopes:
        if (sl, sc) > (line, col):
            break
        if (line, col) <= (el, ec):
            best = qualname
    return best


# (path, language, digest, name, count, defined) -> packed (line, col) pairs of the name there
PositionsOf = Callable[[str, str, str, str, int, bool], bytes]

_REF_FILES_SQL = (
    "SELECT r.file_id, f.path, f.language, f.digest, r.count FROM idx_refs r JOIN idx_files f "
    "ON f.id = r.file_id WHERE r.name = ? ORDER BY f.path"
)
_DEFINES_SQL = "SELECT 1 FROM idx_defs WHERE file_id = ? AND name = ? LIMIT 1"


def references_named(conn: sqlite3.Connection, name: str, limit: int,
                     positions_of: PositionsOf) -> list[Reference]:
    """Occurrences of an identifier, by path then position, with their enclosing scope. The
    store says which files use the name (how often, and whether they define it);
    ``positions_of`` says where (only the files needed to reach ``limit`` are asked)."""
    rows = conn.execute(_REF_FILES_SQL, (name,)).fetchall()
    out: list[Reference] = []
    for fid, path, language, digest, count in rows:
        if len(out) >= limit:
            break
        defined = conn.execute(_DEFINES_SQL, (fid, name)).fetchone() is not None
        blob = positions_of(path, language, digest, name, int(count), defined)
        if not blob:
            continue
        positions = array("I")
        positions.frombytes(blob)
        pairs = sorted(zip(positions[0::2], positions[1::2], strict=True))
        scopes = _scopes(conn, int(fid))
        for line, col in pairs:
            out.append(Reference(path, name, line, col, _innermost(scopes, line, col)))
            if len(out) >= limit:
                return out
    return out


def scope_chain(conn: sqlite3.Connection, path: str, line: int, col: int) -> list[Scope]:
    """Enclosing scopes of a position, outermost first."""
    chain: list[Scope] = []
    for symbol, start_col, end_col in file_defs(conn, path):
        if symbol.kind not in SCOPE_KINDS:
            continue
        if (symbol.start_line, start_col) <= (line, col) <= (symbol.end_line, end_col):
            chain.append(Scope(symbol.qualname, symbol.kind, symbol.start_line, symbol.end_line))
    return chain


def identifiers(conn: sqlite3.Connection, path: str) -> set[str]:
    """Names a file references or defines."""
    fid = file_id(conn, path)
    if fid is None:
        return set()
    names = {row[0] for row in conn.execute("SELECT name FROM idx_refs WHERE file_id = ?", (fid,))}
    names.update(row[0] for row in conn.execute(
        "SELECT name FROM idx_defs WHERE file_id = ? AND kind != 'impl'", (fid,)))
    return names

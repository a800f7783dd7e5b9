"""References found on demand: a cold index stores per-file name counts only, positions come
from re-reading the files a query needs. Results must equal the eager extraction's."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from context.index import LANGUAGES, Reference, WorkspaceIndex, language_for_path
from context.index.db import open_store
from context.index.extract import extract, ref_positions
from context.index.languages import ref_node_types

from .helpers import positions_by_name, write

GOLDEN = Path(__file__).with_name("polyglot_references.json")


def _golden() -> dict[str, list[Reference]]:
    """Every reference on the polyglot fixture, as the eager (stored positions) index gave."""
    raw = json.loads(GOLDEN.read_text("utf-8"))
    return {name: [Reference(p, name, line, col, scope) for p, line, col, scope in rows]
            for name, rows in raw.items()}


def _sources(root: Path) -> list[tuple[str, str, bytes]]:
    out = []
    for path in sorted(root.rglob("*")):
        language = language_for_path(path.name)
        if path.is_file() and language is not None:
            out.append((path.relative_to(root).as_posix(), language, path.read_bytes()))
    return out


def test_on_demand_references_equal_the_eager_ones(index: WorkspaceIndex) -> None:
    golden = _golden()
    names = {row[0] for row in index._conn.execute("SELECT DISTINCT name FROM idx_refs")}
    assert names == set(golden)
    for name, expected in golden.items():
        assert index.references(name, limit=10_000) == expected, name
        assert index.references(name, limit=1) == expected[:1], name


def test_counts_match_positions_for_every_file(polyglot: Path) -> None:
    for rel, language, data in _sources(polyglot):
        placed, _ = extract(language, data)
        counted, _ = extract(language, data, positions=False)
        assert counted.refs == {}, rel
        assert counted.ref_counts() == placed.ref_counts(), rel
        assert (counted.defs, counted.imports, counted.lines) == (
            placed.defs, placed.imports, placed.lines), rel
        on_demand = positions_by_name(ref_positions(language, data))
        assert on_demand == positions_by_name(placed.refs), rel


def test_references_read_only_the_files_the_limit_needs(tmp_path: Path) -> None:
    for i in range(6):
        write(tmp_path, f"m{i}.py", "def f(x):  # x\n    return x + x\n")
    with WorkspaceIndex(tmp_path) as ix:
        ix.refresh()
        assert [(r.path, r.line) for r in ix.references("x", limit=4)] == [
            ("m0.py", 0), ("m0.py", 1), ("m0.py", 1), ("m1.py", 0)]
        assert ix._positions.parsed == 2  # "x" in a comment: the byte search cannot answer
        ix.references("x", limit=4)
        assert ix._positions.parsed == 2  # cached by (path, digest)
        assert len(ix.references("x")) == 18
        assert (ix._positions.parsed, ix._positions.matched) == (6, 0)


def test_byte_search_answers_only_when_it_is_exact(tmp_path: Path) -> None:
    write(tmp_path, "plain.py", "import os\n\n\ndef run():\n    return os.sep + os.name\n")
    write(tmp_path, "wide.py", "s = 'é'; t = helper(s)\nhelper(t)\n")
    write(tmp_path, "defines.py", "def helper():\n    return helper\n")
    write(tmp_path, "longer.py", "helpers = helper\n")
    with WorkspaceIndex(tmp_path) as ix:
        ix.refresh()
        assert [(r.path, r.line, r.col) for r in ix.references("os")] == [
            ("plain.py", 0, 7), ("plain.py", 4, 11), ("plain.py", 4, 20)]
        assert [(r.path, r.line, r.col) for r in ix.references("helper")] == [
            ("defines.py", 1, 11), ("longer.py", 0, 10), ("wide.py", 0, 13), ("wide.py", 1, 0)]
        assert ix._positions.matched == 2  # plain.py and wide.py
        assert ix._positions.parsed == 2  # defines.py defines it, longer.py has "helpers"
        write(tmp_path, "plain.py", "import os\nx = os  # os\n")
        assert [r.line for r in ix.references("os")] == [0, 4, 4]  # as indexed (cached)
        ix.refresh()
        assert [r.line for r in ix.references("os")] == [0, 1]
        assert (ix._positions.matched, ix._positions.parsed) == (2, 3)


def test_references_follow_the_stored_content(tmp_path: Path) -> None:
    write(tmp_path, "a.py", "def f():\n    return x\n")
    with WorkspaceIndex(tmp_path) as ix:
        ix.refresh()
        assert [r.line for r in ix.references("x")] == [1]
        write(tmp_path, "a.py", "def f():\n\n    return x\n")
        ix.refresh()
        assert [r.line for r in ix.references("x")] == [2]
        ix.update_buffer("a.py", "def f():\n    y = x\n    return x\n")
        assert [(r.line, r.scope) for r in ix.references("x")] == [(1, "f"), (2, "f")]
        ix.close_buffer("a.py")
        assert [r.line for r in ix.references("x")] == [2]
        (tmp_path / "a.py").unlink()
        ix.refresh()
        assert ix.references("x") == []


def test_refs_queries_are_bare_node_types() -> None:
    for language in LANGUAGES:
        assert "identifier" in ref_node_types(language)


def test_cold_index_builds_the_indexes_after_a_bulk_load(tmp_path: Path) -> None:
    for i in range(60):
        write(tmp_path, f"pkg/m{i}.py", f"def f{i}():\n    return g(x)\n")
    with WorkspaceIndex(tmp_path, workers=1) as ix:
        stats = ix.refresh()
        assert (stats.files, stats.refs) == (60, 120)
        assert [r.path for r in ix.references("g", limit=2)] == ["pkg/m0.py", "pkg/m1.py"]
        indexes = {row[0] for row in ix._conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%'")}
        assert {"idx_defs_name", "idx_refs_name", "idx_refs_file"} <= indexes


def test_open_store_restores_indexes_a_crashed_load_dropped(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    conn, _ = open_store(path)
    conn.execute("DROP INDEX idx_refs_name")
    conn.close()
    conn, rebuilt = open_store(path)
    assert not rebuilt
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'idx_refs_name'"
                        ).fetchone()[0] == 1
    conn.close()


@pytest.mark.parametrize("version", [1])
def test_an_old_schema_with_positions_is_rebuilt(tmp_path: Path, version: int) -> None:
    path = tmp_path / "store.sqlite3"
    conn, _ = open_store(path)
    conn.execute("UPDATE meta SET version = ? WHERE component = 'index'", (version,))
    conn.close()
    conn, rebuilt = open_store(path)
    columns = [row[1] for row in conn.execute("PRAGMA table_info(idx_refs)")]
    assert rebuilt and columns == ["file_id", "name", "count"]
    conn.close()
    assert sqlite3.connect(path).execute("SELECT count(*) FROM idx_files").fetchone() == (0,)

"""Pure parts of retrieval: fusion, windows, BM25, PageRank, cuts, imports."""

from __future__ import annotations

import pytest

from context.retrieve import (
    Bm25,
    Candidate,
    Cursor,
    cut_prefix,
    cut_suffix,
    drop_echoes,
    drop_visible,
    enclosing_headers,
    jaccard_top,
    merge_overlaps,
    pagerank,
    parse_imports,
    resolve_module,
    rrf,
    scope_span,
    windows,
)
from context.retrieve.pyimports import Binding


def cand(path: str, s: int, e: int, text: str, score: float = 1.0, kind: str = "similar",
         contiguous: bool = True) -> Candidate:
    return Candidate(kind, kind, path, s, e, text, score, contiguous)


def test_rrf_weights_ranks_and_sums_duplicates() -> None:
    a = cand("a.py", 0, 0, "a\n")
    b = cand("b.py", 0, 0, "b\n")
    fused = rrf({"x": [a, b], "y": [b]}, {"x": 1.0, "y": 2.0}, k=1.0)
    assert [c.path for c in fused] == ["b.py", "a.py"]
    assert fused[0].score == pytest.approx(1.0 / 3 + 2.0 / 2)
    assert fused[1].score == pytest.approx(1.0 / 2)


def test_rrf_skips_zero_weight_sources() -> None:
    fused = rrf({"x": [cand("a.py", 0, 0, "a\n")]}, {"x": 0.0})
    assert fused == []


def test_merge_overlaps_unions_spans_and_drops_covered_signatures() -> None:
    one = cand("f.py", 0, 2, "l0\nl1\nl2\n", 1.0)
    two = cand("f.py", 2, 4, "l2\nl3\nl4\n", 3.0)
    sig = cand("f.py", 3, 3, "l3 ...\n", 5.0, kind="definition", contiguous=False)
    far = cand("f.py", 9, 9, "l9\n", 0.5)
    merged = merge_overlaps([one, two, sig, far])
    assert [(c.start_line, c.end_line, c.text, c.score) for c in merged] == [
        (0, 4, "l0\nl1\nl2\nl3\nl4\n", 5.0),
        (9, 9, "l9\n", 0.5),
    ]
    assert merged[0].brief == "l3 ...\n" and merged[0].kind == "definition"


def test_merge_overlaps_keeps_rank_of_a_better_definition_inside_a_window() -> None:
    """A definition inside a long low-ranked window (similar code of the same file) is not
    lost with it: the window ranks as the definition and shrinks to it when it does not fit."""
    window = cand("f.py", 0, 60, "".join(f"l{i}\n" for i in range(61)), 0.1, kind="similar")
    head = cand("f.py", 4, 8, "struct S {\n    ...\n", 0.9, kind="definition",
                contiguous=False)
    low = cand("f.py", 20, 20, "fn g() ...\n", 0.05, kind="definition", contiguous=False)
    merged = merge_overlaps([window, head, low])
    assert len(merged) == 1
    assert (merged[0].score, merged[0].brief, merged[0].kind) == (0.9, head.text, "definition")


def test_drop_echoes_and_visible() -> None:
    echo = cand("o.py", 0, 1, "x = 1\ny = 2\n")
    fresh = cand("o.py", 5, 6, "z = 3\nw = 4\n")
    assert drop_echoes([echo, fresh], ["  x = 1\n", "y = 2\n", "q\n"]) == [fresh]
    mine = cand("me.py", 10, 12, "a\n")
    assert drop_visible([mine, fresh], "me.py", [(0, 10)]) == [fresh]
    assert drop_visible([mine], "me.py", [(0, 9)]) == [mine]


def test_windows_and_jaccard_top() -> None:
    text = "".join(f"v{i} = {i}\n" for i in range(25))
    wins = windows("w.py", text, size=20, stride=10)
    assert [(w.start_line, w.end_line) for w in wins] == [(0, 19), (10, 24)]
    top = jaccard_top({"v21", "v22"}, wins, 2)
    assert [(w.start_line, s) for s, w in top] == [(10, pytest.approx(2 / 15))]


def test_bm25_prefers_rare_terms() -> None:
    pool = windows("a.py", "alpha beta\n", 20, 10) + windows("b.py", "alpha gamma\n", 20, 10) + \
        windows("c.py", "alpha delta\n", 20, 10)
    bm = Bm25(pool)
    assert [w.path for _, w in bm.top(["alpha", "gamma"], 3)] == ["b.py", "a.py", "c.py"]
    assert bm.top(["zeta"], 3) == []


def test_pagerank_uniform_on_symmetric_cycle_and_personalised() -> None:
    ring = {"a": {"b": 1.0}, "b": {"c": 1.0}, "c": {"a": 1.0}}
    ranks = pagerank(ring)
    assert ranks == pytest.approx({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3})
    star = {"a": {"hub": 1.0}, "b": {"hub": 1.0}, "hub": {"a": 1.0, "b": 1.0}}
    pers = pagerank(star, {"a": 1.0})
    assert sum(pers.values()) == pytest.approx(1.0)
    assert pers["hub"] > pers["a"] > pers["b"]


PY = """class A:
    def m(self, x):
        if x:
            y = 1
            return y
        return 0

    def n(self):
        pass
"""


def test_enclosing_headers_and_scope_span() -> None:
    cur = Cursor.of(PY, 4, 12)
    assert enclosing_headers(cur) == [0, 1, 2]
    assert enclosing_headers(cur, definitions_only=True) == [0, 1]
    assert scope_span(cur) == (1, 5)
    assert scope_span(Cursor.of(PY, 8, 8)) == (7, 8)


def test_cut_prefix_is_quantised_and_cut_suffix_bounded() -> None:
    lines = [f"x{i}\n" for i in range(100)]
    assert cut_prefix(lines, 50, 37, lambda _s: 1, quantum=16) == 16
    assert cut_prefix(lines, 50, 10, lambda _s: 1, quantum=16) == 40
    assert cut_prefix(lines, 50, 9, lambda _s: 1, quantum=16) == 44
    assert cut_prefix(lines, 50, 1000, lambda _s: 1) == 0
    assert cut_suffix(lines, 10, 13, lambda _s: 1, quantum=8) == 16
    assert cut_suffix(lines, 95, 100, lambda _s: 1) == 100


def test_parse_imports_reads_names_aliases_and_parenthesised_lists() -> None:
    text = "import os.path\nimport json as j\nfrom .a import (b,\n    c as d)\nfrom x import *\n"
    assert parse_imports(text) == [
        Binding("os.path", "os.path", None, 0),
        Binding("j", "json", None, 1),
        Binding("b", ".a", "b", 2),
        Binding("d", ".a", "c", 2),
    ]


def test_resolve_module_absolute_relative_and_package() -> None:
    files = {"pkg/__init__.py", "pkg/a.py", "pkg/sub/b.py", "src/lib/__init__.py"}
    assert resolve_module("pkg.a", "x.py", files) == "pkg/a.py"
    assert resolve_module(".a", "pkg/sub/../c.py", files) == "pkg/a.py"
    assert resolve_module("..a", "pkg/sub/b.py", files) == "pkg/a.py"
    assert resolve_module(".", "pkg/a.py", files) == "pkg/__init__.py"
    assert resolve_module("lib", "app.py", files) == "src/lib/__init__.py"
    assert resolve_module("nothere", "pkg/a.py", files) is None


def test_scope_span_past_a_where_clause_and_a_lone_brace() -> None:
    text = ("pub fn f<I>(it: I) -> usize\nwhere\n    I: Iterator,\n{\n    let n = 1;\n"
            "    \n}\n")
    assert scope_span(Cursor.of(text, 5, 4)) == (0, 6)

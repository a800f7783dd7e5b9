"""The new-cursor-location path: shared per-file BM25 shards, cheap definition lookups, bounded
usages, dense PageRank and per-source retrieval caching give the same answers as before."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from context.retrieve import Bm25, Cursor, RankGraph, Retriever, WorkspaceView, make_query
from context.retrieve.similar import Shard, windows
from context.retrieve.text import identifier_list
from context.retrieve.usages import usages

TEXT_A = "".join(f"def alpha_{i}(beta, gamma):\n    return beta + gamma * {i}\n"
                 for i in range(30))
TEXT_B = "".join(f"class Delta{i}:\n    epsilon = beta\n    zeta = {i}\n" for i in range(25))


def test_windows_terms_equal_identifiers_of_their_text() -> None:
    for w in windows("a.py", TEXT_A + TEXT_B, 20, 10) + windows("b.py", TEXT_B, 15, 10):
        assert w.terms == tuple(identifier_list(w.text))


def test_bm25_from_shards_equals_bm25_over_the_union() -> None:
    wa, wb = windows("a.py", TEXT_A), windows("b.py", TEXT_B)
    whole = Bm25(wa + wb)
    sharded = Bm25.from_shards([Shard.of(wa), Shard.of(wb), Shard.of([])])
    for query in (["beta", "gamma"], ["epsilon", "alpha_3"], ["nothing"]):
        assert sharded.scores(query) == pytest.approx(whole.scores(query))
        assert [w for _, w in sharded.top(query, 8)] == [w for _, w in whole.top(query, 8)]


def test_dense_pagerank_equals_edge_list_pagerank() -> None:
    graph = {"a": {"b": 2.0, "c": 1.0}, "b": {"c": 1.0}, "c": {"a": 1.0}, "d": {"a": 0.5}}
    rg = RankGraph(graph)
    assert rg.dense is not None
    dense = rg.rank({"a": 1.0}, tol=1e-12)
    rg.dense = None
    assert rg.rank({"a": 1.0}, tol=1e-12) == pytest.approx(dense)


@dataclass(frozen=True)
class Sym:
    path: str
    name: str
    qualname: str
    kind: str = "function"
    start_line: int = 0
    end_line: int = 1


@dataclass(frozen=True)
class Ref:
    path: str
    name: str
    line: int
    col: int = 0
    scope: str = ""


class CountingIndex:
    """An in-memory index that records the calls the view makes."""

    generation = 1

    def __init__(self, defs: dict[str, list[Sym]], texts: dict[str, str]) -> None:
        self.defs, self.texts = defs, texts
        self.calls: list[tuple[str, Any, ...]] = []

    def files(self) -> list[str]:
        return sorted(self.texts)

    def file_text(self, path: str) -> str | None:
        return self.texts.get(path)

    def outline(self, path: str) -> list[Any]:
        return [s for syms in self.defs.values() for s in syms if s.path == path]

    def definitions(self, name: str, from_path: str | None = None, limit: int = 20) -> list[Any]:
        self.calls.append(("definitions", name, from_path, limit))
        return self.defs.get(name, [])[:limit]

    def references(self, name: str, limit: int = 200) -> list[Any]:
        self.calls.append(("references", name, limit))
        return [Ref(p, name, 1) for p in sorted(self.texts)][:limit]

    def imports(self, path: str) -> list[Any]:
        return []

    def file_graph(self) -> dict[str, dict[str, float]]:
        return {}


def test_unique_names_skip_the_ranked_lookup() -> None:
    index = CountingIndex({"one": [Sym("a.py", "one", "one")],
                           "two": [Sym("a.py", "two", "two"), Sym("b.py", "two", "two")]}, {})
    view = WorkspaceView(index)
    assert [s.path for s in view.definitions("one", "c.py", limit=2)] == ["a.py"]
    assert view.definitions("none", "c.py") == ()
    assert not [c for c in index.calls if c[2] == "c.py"]
    assert len(view.definitions("two", "c.py", limit=2)) == 2
    assert ("definitions", "two", "c.py", 2) in index.calls


def _query(text: str, line: int) -> Any:
    return make_query("a.py", Cursor.of(text, line, 4))


def test_usages_ask_for_few_references_and_skip_ambiguous_names() -> None:
    text = "def handler(x):\n    return x\n\n\ndef other():\n    handler(1)\n"
    texts = {"a.py": text, "b.py": "handler(2)\n"}
    index = CountingIndex({"handler": [Sym("a.py", "handler", "handler")]}, texts)
    found = usages(WorkspaceView(index), _query(text, 1), scan=8)
    assert [c.path for c in found] == ["b.py"]  # a.py line 1 is inside the scope
    assert ("references", "handler", 8) in index.calls
    many = [Sym(f"m{i}.py", "handler", "handler") for i in range(5)]
    index = CountingIndex({"handler": many}, texts)
    assert usages(WorkspaceView(index), _query(text, 1)) == []
    assert not [c for c in index.calls if c[0] == "references"]


def test_another_room_reuses_every_source_but_the_repo_map() -> None:
    text = "import os\n\n\ndef handler(x):\n    return os.path.join(x)\n"
    index = CountingIndex({"handler": [Sym("a.py", "handler", "handler")]}, {"a.py": text})
    retriever = Retriever(index)
    q = _query(text, 4)
    weights = {"definitions": 1.0, "usages": 0.5, "similar": 0.5, "repo_map": 0.2}
    retriever.retrieve(q, weights, room=1024)
    before = len(index.calls)
    retriever.retrieve(q, weights, room=8192)
    assert len(index.calls) == before
    runs = {unit: s["runs"] for unit, s in retriever.runner.stats().items()}
    assert runs == {"definitions": 1, "usages": 1, "similar": 1, "repo_map": 2}

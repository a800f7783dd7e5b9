"""Queries on a built index: definitions ranking, references, scopes, outline, graph."""

from __future__ import annotations

from pathlib import Path

from context.index import Reference, Scope, WorkspaceIndex

from .helpers import write


def _ranked_workspace(root: Path) -> WorkspaceIndex:
    write(root, "alpha/__init__.py", "")
    write(root, "alpha/tools.py", "def helper():\n    return 1\n")
    write(root, "beta/__init__.py", "")
    write(root, "beta/tools.py", "def helper():\n    return 2\n")
    write(root, "gamma/__init__.py", "")
    write(root, "gamma/use.py",
          "from beta.tools import helper\n\n\ndef run():\n    return helper()\n")
    write(root, "gamma/local.py",
          "def helper():\n    return 3\n\n\ndef go():\n    return helper()\n")
    write(root, "gamma/sibling.py", "x = 1\n")
    ix = WorkspaceIndex(root)
    ix.refresh()
    return ix


def test_definitions_are_ranked_by_import_proximity(tmp_path: Path) -> None:
    with _ranked_workspace(tmp_path) as ix:
        paths = [d.path for d in ix.definitions("helper", from_path="gamma/use.py")]
        assert paths == ["beta/tools.py", "gamma/local.py", "alpha/tools.py"]
        paths = [d.path for d in ix.definitions("helper", from_path="gamma/local.py")]
        assert paths[0] == "gamma/local.py"
        assert [d.path for d in ix.definitions("helper", limit=2)] == ["alpha/tools.py",
                                                                       "beta/tools.py"]
        assert ix.definitions("nothing_named_so") == []


def test_references_with_enclosing_scope(index: WorkspaceIndex) -> None:
    refs = index.references("slugify")
    assert refs == [Reference("py/pkg/service.py", "slugify", 6, 21, "make_user")]
    shouts = index.references("shout")
    assert shouts == [Reference("py/pkg/models.py", "shout", 17, 15, "User.greet")]
    assert len(index.references("self", limit=3)) == 3


def test_scope_chain_outermost_first(index: WorkspaceIndex) -> None:
    assert index.scope_chain("py/pkg/models.py", 16, 12) == [
        Scope("User", "class", 5, 17), Scope("User.greet", "method", 14, 17),
        Scope("User.greet.shout", "function", 15, 16),
    ]
    assert index.scope_chain("py/pkg/models.py", 2, 0) == []
    assert index.scope_chain("rust/src/geometry.rs", 12, 8) == [
        Scope("Point", "impl", 10, 14), Scope("Point.new", "method", 11, 13),
    ]
    assert index.scope_chain("cpp/src/shape.cpp", 8, 4) == [
        Scope("geo", "module", 2, 11), Scope("geo.Circle.area", "method", 7, 9),
    ]


def test_outline_has_signatures_without_nested_functions(index: WorkspaceIndex) -> None:
    outline = index.outline("py/pkg/models.py")
    assert [(s.qualname, s.signature, s.doc) for s in outline] == [
        ("MAX_USERS", "MAX_USERS = 10", ""),
        ("User", "class User:", ""),
        ("User.kind", 'kind = "human"', ""),
        ("User.__init__", "def __init__(self, name: str) -> None:", ""),
        ("User.greet", 'def greet(self, other: "User") -> str:', ""),
    ]


def test_identifiers_of_a_file(index: WorkspaceIndex) -> None:
    assert index.identifiers("py/pkg/util.py") == {"slugify", "text", "str", "join", "lower",
                                                   "split"}
    assert index.identifiers("no/such/file.py") == set()


def test_file_graph_links_imports_and_shared_identifiers(index: WorkspaceIndex) -> None:
    graph = index.file_graph()
    service = graph["py/pkg/service.py"]
    assert set(service) == {"py/pkg/util.py", "py/pkg/models.py"}
    assert service["py/pkg/util.py"] > 1.0  # import edge (1.0) plus the shared name slugify
    assert graph["js/src/index.js"]["js/src/math.js"] > 1.0
    assert "ts/src/shapes.ts" in graph["ts/src/view.tsx"]
    assert graph["go/main.go"]["go/util/strings.go"] > 1.0


def test_files_and_file_text(index: WorkspaceIndex, polyglot: Path) -> None:
    files = index.files()
    assert len(files) == 22
    assert files[:3] == ["c/main.c", "c/util.c", "c/util.h"]
    assert index.file_text("py/pkg/util.py") == (polyglot / "py/pkg/util.py").read_text()
    assert index.file_text("missing.py") is None


def test_file_graph_follows_buffer_edits_without_a_rebuild(index: WorkspaceIndex) -> None:
    before = index.file_graph()
    assert "py/pkg/util.py" not in before["py/app.py"]
    text = index.file_text("py/app.py")
    assert text is not None
    index.update_buffer("py/app.py", text + "\n\ndef slug(x):\n    return slugify(x)\n")
    after = index.file_graph()
    assert after["py/app.py"]["py/pkg/util.py"] == 1.0  # sqrt(1) * 1.0 / 1 definer
    assert before["py/app.py"]["py/pkg/service.py"] == 3.0  # import 1.0 + make_user 2.0
    index.update_buffer("py/app.py", text.replace("import pkg.service\n", ""))
    assert index.file_graph()["py/app.py"]["py/pkg/service.py"] == 2.0
    assert [e.module for e in index.imports("py/app.py")] == ["pkg.models"]


def test_names_defined_everywhere_do_not_link_files(tmp_path: Path) -> None:
    from context.index.graph import MAX_DEFINERS

    for i in range(MAX_DEFINERS + 1):
        write(tmp_path, f"m{i:02d}.py", "def common():\n    pass\n")
    write(tmp_path, "rare.py", "def rare_helper():\n    pass\n")
    write(tmp_path, "user.py", "common()\nrare_helper()\n")
    with WorkspaceIndex(tmp_path) as ix:
        ix.refresh()
        assert ix.file_graph() == {"user.py": {"rare.py": 2.0}}  # long snake_case name: x2


def test_file_graph_follows_saved_files(index: WorkspaceIndex, polyglot: Path) -> None:
    assert "py/pkg/util.py" not in index.file_graph()["py/app.py"]
    app = polyglot / "py/app.py"
    app.write_text(app.read_text() + "\n\ndef slug(x):\n    return slugify(x)\n")
    stats = index.refresh()
    assert (stats.parsed, stats.removed) == (1, 0)
    assert index.file_graph()["py/app.py"]["py/pkg/util.py"] == 1.0

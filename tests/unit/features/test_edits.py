"""edits: minimal diffs, regions, code blocks, workspace confinement."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lsprotocol import types

from actions import diffs, regions
from actions.diffs import TextChange
from actions.regions import Region
from lsp_server.features import edits
from lsp_server.features.edits import OutsideWorkspace

from .fixflow import DATA, GOOD_MEAN, WRONG_MEAN

BUGGY = (DATA / "calc.py").read_text()
GOOD = (DATA / "calc_good.py.in").read_text()


def test_minimal_edit_of_the_fixture_fix_is_the_four_removed_characters() -> None:
    assert diffs.minimal_edits(BUGGY, GOOD) == [TextChange(13, 23, 13, 27, "")]


def test_minimal_edits_keep_unchanged_lines_out() -> None:
    old = "a\nb\nc\nd\n"
    new = "a\nB\nc\nd\ne\n"
    assert diffs.minimal_edits(old, new) == [
        TextChange(1, 0, 1, 1, "B"),
        TextChange(4, 0, 4, 0, "e\n"),
    ]


def test_identical_texts_need_no_edit() -> None:
    assert diffs.minimal_edits(BUGGY, BUGGY) == []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (BUGGY, GOOD),
        (GOOD, BUGGY.replace("count", "n")),
        ("x = 1", "x = 2"),
        ("x = 1\n", "x = 1"),
        ("", "def f():\n    pass\n"),
        ("a\nb\n", ""),
        ("α = 'é'\nβ = 2\n", "α = 'è'\nγ = 2\nδ = 3"),
    ],
)
def test_applying_the_minimal_edits_gives_the_new_text(old: str, new: str) -> None:
    assert diffs.apply_changes(old, diffs.minimal_edits(old, new)) == new


def test_text_edits_use_utf16_columns() -> None:
    old = "s = '😀x'\n"
    new = "s = '😀y'\n"
    [edit] = edits.text_edits(old, diffs.minimal_edits(old, new))
    assert edit == types.TextEdit(types.Range(types.Position(0, 7), types.Position(0, 8)), "y")


def test_workspace_edit_is_versioned_when_the_version_is_known() -> None:
    edit = edits.workspace_edit("file:///w/a.py", "x = 1\n", "x = 2\n", version=7)
    [doc] = edit.document_changes
    assert doc.text_document.version == 7
    assert doc.edits[0].new_text == "2"
    plain = edits.workspace_edit("file:///w/a.py", "x = 1\n", "x = 2\n")
    assert list(plain.changes) == ["file:///w/a.py"]


def test_enclosing_function_includes_decorators_and_prefers_the_innermost() -> None:
    text = "class A:\n    @staticmethod\n    def f():\n        return 1\n\n\ndef g():\n    pass\n"
    assert regions.enclosing_function(text, 3) == Region(1, 3, "f", "    ")
    assert regions.enclosing_function(text, 7) == Region(6, 7, "g", "")
    assert regions.enclosing_function(text, 0) is None
    assert regions.enclosing_function(text, 0, functions_only=False) == Region(0, 3, "A", "")


def test_unparsable_text_falls_back_to_indentation() -> None:
    text = "def f(:\n    return 1\n\ndef g():\n    pass\n"
    assert regions.enclosing_function(text, 1) == Region(0, 1, "f", "")
    assert regions.function_named(text, "g") == Region(3, 4, "g", "")


def test_function_named_and_docstring_detection() -> None:
    region = regions.function_named(BUGGY, "mean")
    assert region == Region(11, 14, "mean", "")
    assert regions.has_docstring(BUGGY, region)
    assert not regions.has_docstring("def f():\n    return 1\n", Region(0, 1, "f", ""))


def test_code_block_takes_the_first_fence_even_unclosed() -> None:
    assert diffs.code_block("x\n```python\na = 1\n```\n```\nb\n```") == "a = 1\n"
    assert diffs.code_block("```py\ndef f():\n    pass") == "def f():\n    pass"
    assert diffs.code_block("no code here") is None
    assert diffs.code_block("```\n\n```") is None


def test_replace_region_reindents_a_method() -> None:
    text = "class A:\n    def f(self):\n        return 1\n\nx = 1\n"
    code = "def f(self):\n    return 2\n"
    new = diffs.replace_region(text, Region(1, 2, "f", "    "), code)
    assert new == "class A:\n    def f(self):\n        return 2\n\nx = 1\n"


def test_replacing_mean_with_the_good_version_gives_the_good_file() -> None:
    assert diffs.replace_region(BUGGY, Region(11, 14, "mean", ""), GOOD_MEAN) == GOOD
    assert diffs.replace_region(BUGGY, Region(11, 14, "mean", ""), WRONG_MEAN) != GOOD


def test_code_block_text_replaces_range_or_named_def_or_appends() -> None:
    rng = {"start": {"line": 13, "character": 4}, "end": {"line": 13, "character": 27}}
    assert diffs.code_block_text(BUGGY, "count = len(values)", rng) == GOOD
    assert diffs.code_block_text(BUGGY, GOOD_MEAN, None) == GOOD
    assert diffs.code_block_text("x = 1\n", "def h():\n    pass\n", None) == (
        "x = 1\n\n\ndef h():\n    pass\n"
    )


def test_confine_accepts_workspace_files(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("")
    assert edits.confine(tmp_path, (tmp_path / "a.py").as_uri()) == (tmp_path / "a.py").resolve()
    assert edits.confine(tmp_path, (tmp_path / "new" / "b.py").as_uri()).name == "b.py"


def test_confine_refuses_dotdot_symlinks_and_no_workspace(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    outside = tmp_path / "secret.py"
    outside.write_text("")
    os.symlink(outside, root / "link.py")
    os.symlink(tmp_path, root / "up")
    for uri in (
        f"file://{root}/../secret.py",
        (root / "link.py").as_uri(),
        (root / "up" / "secret.py").as_uri(),
        "file:///etc/passwd",
    ):
        with pytest.raises(OutsideWorkspace, match="outside the workspace"):
            edits.confine(root, uri)
    with pytest.raises(OutsideWorkspace, match="no workspace"):
        edits.confine(None, (root / "a.py").as_uri())
    with pytest.raises(OutsideWorkspace, match="not an absolute"):
        edits.confine(root, "relative/a.py")


class _Server:
    """What `apply_code_block_edit` uses of the server."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.versions: dict[str, int] = {}

    def document_text(self, uri: str) -> str | None:
        return None

    def path_of(self, uri: str) -> str | None:
        return None


def test_apply_code_block_edit_refuses_paths_outside_the_workspace(tmp_path: Path) -> None:
    from pygls.exceptions import JsonRpcInvalidParams

    root = tmp_path / "ws"
    root.mkdir()
    outside = tmp_path / "outside.py"
    outside.write_text("x = 1\n")
    os.symlink(outside, root / "link.py")
    ls = _Server(root)
    for uri in (f"{root.as_uri()}/../outside.py", (root / "link.py").as_uri()):
        with pytest.raises(JsonRpcInvalidParams, match="outside the workspace"):
            edits.apply_code_block_edit(ls, {"uri": uri, "code": "x = 2\n"})
    assert outside.read_text() == "x = 1\n"


def test_apply_code_block_edit_replaces_the_named_function(tmp_path: Path) -> None:
    (tmp_path / "calc.py").write_text(BUGGY)
    uri = (tmp_path / "calc.py").as_uri()
    edit = edits.apply_code_block_edit(_Server(tmp_path), {"uri": uri, "code": GOOD_MEAN})
    [text_edit] = edit.changes[uri]
    assert (text_edit.range.start, text_edit.range.end, text_edit.new_text) == (
        types.Position(13, 23),
        types.Position(13, 27),
        "",
    )

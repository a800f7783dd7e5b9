"""Every edit kind keeps to the LSP line model: files salted with characters that
`str.splitlines()` treats as line breaks (but LSP and Python do not), and CRLF files, come out
exactly as intended after the client applies the `WorkspaceEdit`.

The edits are applied here the way a client applies them (UTF-16 positions, lines ending only at
\\n, \\r\\n and \\r), independently of `diffs.apply_changes`."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types

from actions import diffs, fixing, regions
from actions.regions import Region
from context.retrieve.current import Cursor
from context.retrieve.text import lines_of
from lsp_server.features import edits

SALTS = ["\x0c", "\x0b", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
WORDS = st.sampled_from(["alpha", "beta", "gamma", "d€lta", "𝔢psilon", ""])


def client_apply(text: str, edit: types.WorkspaceEdit, uri: str) -> str:
    """Apply the edit's text edits for `uri` as an LSP client does."""
    found = (edit.changes or {}).get(uri)
    if found is None:
        found = [
            e
            for change in edit.document_changes or []
            if isinstance(change, types.TextDocumentEdit) and change.text_document.uri == uri
            for e in change.edits
        ]
    lines = LINE.findall(text)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(pos: types.Position) -> int:
        if pos.line >= len(lines):
            return len(text)
        body = lines[pos.line].rstrip("\r\n")
        units = 0
        for col, ch in enumerate(body):
            if units >= pos.character:
                return starts[pos.line] + col
            units += 2 if ord(ch) > 0xFFFF else 1
        return starts[pos.line] + len(body)

    spans = sorted(
        ((offset(e.range.start), offset(e.range.end), e.new_text) for e in found), reverse=True
    )
    for a, b, new in spans:
        text = text[:a] + new + text[b:]
    return text


def salted_lines(draw: Any, salt: str, count: int) -> list[str]:
    """Module-level lines, each a statement or a comment holding `salt`."""
    out = []
    for i in range(count):
        word = draw(WORDS)
        kind = draw(st.sampled_from(["comment", "string", "plain", "blank"]))
        if kind == "comment":
            out.append(f"# {word}{salt}{word}")
        elif kind == "string":
            out.append(f"v{i} = {word!r} + '{salt}'  # {salt}")
        elif kind == "plain":
            out.append(f"v{i} = {i}")
        else:
            out.append("")
    return out


@st.composite
def salted_file(draw: Any) -> dict[str, Any]:
    """A Python file: lines before, `def target`, lines after; salt and line ending chosen."""
    salt = draw(st.sampled_from(SALTS))
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    before = salted_lines(draw, salt, draw(st.integers(0, 6)))
    after = salted_lines(draw, salt, draw(st.integers(0, 6)))
    body = [f"    # step{salt}one", f"    y = x + 1  # {salt}{draw(WORDS)}", "    return y"]
    func = ["def target(x):", *body]
    end = draw(st.sampled_from(["", nl]))
    head = nl.join(before) + (nl if before else "")
    tail = (nl + nl + nl.join(after)) if after else ""
    text = head + nl.join(func) + tail + end
    return {
        "salt": salt,
        "nl": nl,
        "text": text,
        "head": head,
        "func": nl.join(func),
        "tail": tail + end,
        "start": len(LINE.findall(head)),
    }


NEW_FUNC = "def target(x):\n    {doc}return x + 2\n"


def rewrite_expected(f: dict[str, Any], code: str) -> str:
    """The file with `def target` replaced by `code` in the file's own line endings."""
    nl = f["nl"]
    new = code.rstrip("\n").replace("\n", nl)
    if f["tail"]:
        return f["head"] + new + f["tail"]
    return f["head"] + new + (nl if f["text"].endswith(("\n", "\r")) else "")


def check_edit(text: str, new_text: str) -> str:
    uri = "file:///ws/mod.py"
    return client_apply(text, edits.workspace_edit(uri, text, new_text), uri)


@settings(max_examples=150, deadline=None)
@given(salted_file(), st.booleans())
def test_rewrite_and_docstring_replace_exactly_the_function(
    f: dict[str, Any], docstring: bool
) -> None:
    text = f["text"]
    region = regions.enclosing_function(text, f["start"] + 2)
    assert region == Region(f["start"], f["start"] + 3, "target", "")
    assert regions.region_text(text, region).rstrip("\r\n") == f["func"]
    code = NEW_FUNC.format(doc='"""Two more."""\n    ' if docstring else "")
    new_text, why = fixing.patch(fixing.Target("mod.py", region, text), f"```python\n{code}```")
    assert why == ""
    assert new_text == rewrite_expected(f, code)
    assert check_edit(text, new_text) == new_text


@settings(max_examples=100, deadline=None)
@given(salted_file())
def test_fix_target_and_apply_touch_only_the_function(f: dict[str, Any]) -> None:
    text = f["text"]
    region = regions.function_named(text, "target")
    assert region is not None and (region.start_line, region.end_line) == (
        f["start"],
        f["start"] + 3,
    )
    code = NEW_FUNC.format(doc="")
    new_text = diffs.replace_region(text, region, code)
    assert new_text == rewrite_expected(f, code)
    assert check_edit(text, new_text) == new_text


@settings(max_examples=100, deadline=None)
@given(salted_file(), st.booleans())
def test_test_insertion_appends_or_replaces(f: dict[str, Any], existing: bool) -> None:
    text = f["text"]
    nl = f["nl"]
    name = "target" if existing else "test_target"
    code = f"def {name}(x):\n    assert x\n"
    new_text = diffs.code_block_text(text, code, None)
    if existing:
        expected = rewrite_expected(f, code)
    else:
        expected = text.rstrip("\r\n") + nl * 3 + code.rstrip("\n").replace("\n", nl) + nl
    assert new_text == expected
    assert check_edit(text, new_text) == new_text


def utf16(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


@settings(max_examples=100, deadline=None)
@given(salted_file())
def test_chat_apply_over_a_range_replaces_that_range(f: dict[str, Any]) -> None:
    text = f["text"]
    start = f["start"]
    last = f["func"].split(f["nl"])[-1]
    rng = {
        "start": {"line": start + 1, "character": 4},
        "end": {"line": start + 3, "character": utf16(last)},
    }
    code = "return x * 3"
    new_text = diffs.code_block_text(text, code, rng)
    func = f["func"]
    a = len(f["head"]) + func.index("    # step") + 4
    b = len(f["head"]) + len(func)
    assert new_text == text[:a] + code + text[b:]
    assert check_edit(text, new_text) == new_text


@settings(max_examples=100, deadline=None)
@given(salted_file(), salted_file())
def test_minimal_edits_between_any_two_salted_files(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert check_edit(a["text"], b["text"]) == b["text"]
    assert diffs.apply_changes(a["text"], diffs.minimal_edits(a["text"], b["text"])) == b["text"]


def test_a_form_feed_before_a_function_does_not_shift_the_rewrite() -> None:
    """The case from the issue: old code left behind and a line deleted."""
    text = "x = 1  # a\x0cb\n\ndef f():\n    return 1\n\n\ny = 2\n"
    region = regions.enclosing_function(text, 3)
    assert region == Region(2, 3, "f", "")
    new_text = diffs.replace_region(text, region, "def f():\n    return 2\n")
    assert new_text == "x = 1  # a\x0cb\n\ndef f():\n    return 2\n\n\ny = 2\n"


@pytest.mark.parametrize("salt", SALTS)
def test_the_prompt_cursor_and_lines_count_lsp_lines(salt: str) -> None:
    text = f"a = 1  # {salt}x\r\nb = 2\rc = 3\nd"
    assert lines_of(text) == [f"a = 1  # {salt}x\r\n", "b = 2\r", "c = 3\n", "d"]
    cursor = Cursor.of(text, 2, 4)
    assert (cursor.before, cursor.after) == ("c = ", "3\n")
    assert Cursor.of("x\r", 1, 0).lines == ("x\r", "")

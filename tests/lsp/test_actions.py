"""Code actions against a real server with a scripted model: listing without the model, the
fix-failing-test flow verified by real pytest runs in a scratch copy (the user's files untouched
until the edit is applied), the rewrite actions, and edits refused outside the workspace."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled
from pytest_lsp import ClientServerConfig, LanguageClient

from actions.diffs import TextChange, apply_changes
from tests.unit.features.fixflow import (
    BUG_COMMIT,
    GOOD_MEAN,
    WRONG_MEAN,
    answer,
    digest,
    make_workspace,
)

from .conftest import SERVER, init_params, server_env

SCRIPT = Path(tempfile.gettempdir()) / f"codeflow-actions-{os.getpid()}" / "script.json"
PROMPTS = SCRIPT.parent / "prompts.jsonl"
TRUSTED = {"tests": {"trusted": True, "fixCandidates": 3}}
FIX = "Fix failing test with codeflow"


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=SERVER, server_env=server_env(CODEFLOW_TEST_BACKEND=str(SCRIPT))
    )
)
async def scripted(lsp_client: LanguageClient):
    """A server whose model replays `SCRIPT` (written by each test before initialize)."""
    yield
    await lsp_client.shutdown_session()


def write_script(*outputs: str) -> None:
    SCRIPT.parent.mkdir(parents=True, exist_ok=True)
    PROMPTS.unlink(missing_ok=True)
    SCRIPT.write_text(json.dumps({"outputs": list(outputs), "promptLog": str(PROMPTS)}))


def prompts() -> list[dict[str, Any]]:
    if not PROMPTS.exists():
        return []
    return [json.loads(line) for line in PROMPTS.read_text().splitlines()]


async def command(client: LanguageClient, name: str, *args: Any) -> Any:
    params = types.ExecuteCommandParams(name, list(args))
    return await client.workspace_execute_command_async(params)


def open_doc(client: LanguageClient, path: Path) -> str:
    uri = path.as_uri()
    item = types.TextDocumentItem(uri, "python", 1, path.read_text())
    client.text_document_did_open(types.DidOpenTextDocumentParams(item))
    return uri


async def actions(
    client: LanguageClient, uri: str, line: int, diags: list[types.Diagnostic]
) -> list[types.CodeAction]:
    rng = types.Range(types.Position(line, 4), types.Position(line, 4))
    params = types.CodeActionParams(
        types.TextDocumentIdentifier(uri), rng, types.CodeActionContext(diagnostics=diags)
    )
    return await client.text_document_code_action_async(params) or []


def changes(edit: types.WorkspaceEdit) -> dict[str, list[TextChange]]:
    """The edit's text edits as `TextChange`s (ASCII text: UTF-16 = code points)."""
    out: dict[str, list[TextChange]] = {}
    for uri, text_edits in (edit.changes or {}).items():
        out[uri] = [
            TextChange(
                e.range.start.line,
                e.range.start.character,
                e.range.end.line,
                e.range.end.character,
                e.new_text,
            )
            for e in text_edits
        ]
    return out


def versioned(params: types.InitializeParams) -> types.InitializeParams:
    """The same client, declaring versioned document changes and file creation."""
    params.capabilities.workspace.workspace_edit = types.WorkspaceEditClientCapabilities(
        document_changes=True, resource_operations=[types.ResourceOperationKind.Create]
    )
    return params


async def failing(client: LanguageClient, ws: Path) -> list[types.Diagnostic]:
    result = await command(client, "codeflow.runTests")
    assert (result["ran"], result["failed"]) == (True, 2)
    return list(client.diagnostics[(ws / "test_calc.py").as_uri()])


async def test_fix_failing_test_offers_the_verified_patch_first(
    scripted: LanguageClient, tmp_path: Path
) -> None:
    ws = make_workspace(tmp_path / "ws")
    write_script("Sorry, no idea.", answer(WRONG_MEAN), answer(GOOD_MEAN), answer(GOOD_MEAN))
    await scripted.initialize_session(init_params(ws, TRUSTED))
    mean_diag, _ = await failing(scripted, ws)
    test_uri = open_doc(scripted, ws / "test_calc.py")
    before = digest(ws)

    listed = await actions(scripted, test_uri, 8, [mean_diag])
    assert [a.title for a in listed] == [
        FIX,
        "Explain `test_mean` with codeflow",
        "Add docstring to `test_mean` with codeflow",
    ]
    assert listed[0].edit is None and prompts() == []

    resolved = await scripted.code_action_resolve_async(listed[0])
    assert resolved.title == f"{FIX} (verified: test passes)"
    calc_uri = (ws / "calc.py").as_uri()
    assert changes(resolved.edit) == {calc_uri: [TextChange(13, 23, 13, 27, "")]}
    assert digest(ws) == before

    sent = prompts()
    assert [(p["temperature"], p["seed"]) for p in sent] == [(0.0, 0), (0.8, 1), (0.8, 2)]
    for part in (
        "The test `test_calc.py::test_mean` fails:",
        "assert 6.0 == 4",
        BUG_COMMIT,
        "+    count = len(values) - 1",
        "def test_mean():",
        "Fix `mean`",
    ):
        assert part in sent[0]["prompt"]

    relisted = await actions(scripted, test_uri, 8, [mean_diag])
    assert [a.title for a in relisted[:2]] == [
        f"{FIX} #1 (verified: test passes)",
        f"{FIX} #2 (unverified: test still fails)",
    ]
    assert changes(relisted[0].edit) == changes(resolved.edit)
    assert relisted[0].is_preferred is True
    assert len(prompts()) == 3

    calc = ws / "calc.py"
    calc.write_text(apply_changes(calc.read_text(), changes(resolved.edit)[calc_uri]))
    result = await command(scripted, "codeflow.runTests")
    assert (result["passed"], result["failed"], result["diagnostics"]) == (3, 0, 0)


async def test_when_no_candidate_passes_nothing_is_applied_and_the_rest_is_labelled(
    scripted: LanguageClient, tmp_path: Path
) -> None:
    ws = make_workspace(tmp_path / "ws")
    write_script(answer(WRONG_MEAN), "```python\ndef mean(values:\n```", answer(WRONG_MEAN))
    await scripted.initialize_session(init_params(ws, TRUSTED))
    mean_diag, _ = await failing(scripted, ws)
    test_uri = open_doc(scripted, ws / "test_calc.py")
    before = digest(ws)
    [fix, *_] = await actions(scripted, test_uri, 8, [mean_diag])
    resolved = await scripted.code_action_resolve_async(fix)
    assert (resolved.title, resolved.edit) == (FIX, None)
    assert scripted.messages[-1].message == (
        "codeflow: none of 3 candidate fix(es) made test_calc.py::test_mean pass; "
        "1 unverified patch(es) are listed as code actions, labelled (unverified: test still fails)"
    )
    relisted = await actions(scripted, test_uri, 8, [mean_diag])
    assert relisted[0].title == f"{FIX} #1 (unverified: test still fails)"
    assert changes(relisted[0].edit) == {
        (ws / "calc.py").as_uri(): [TextChange(13, 12, 13, 27, "max(len(values) - 1, 1)")]
    }
    assert digest(ws) == before


async def test_fix_command_reports_each_candidate(scripted: LanguageClient, tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    write_script("no code", answer(WRONG_MEAN), answer(GOOD_MEAN))
    await scripted.initialize_session(init_params(ws, TRUSTED))
    await failing(scripted, ws)
    result = await command(
        scripted, "codeflow.fixFailingTest", {"nodeId": "test_calc.py::test_mean"}
    )
    assert (result["target"], result["function"]) == ("calc.py", "mean")
    got = [(c["index"], c["verified"], c["note"], c["title"]) for c in result["candidates"]]
    assert got == [
        (0, False, "patch does not apply: the answer has no code block", None),
        (1, False, "unverified: test still fails", f"{FIX} #2 (unverified: test still fails)"),
        (2, True, "verified: test passes", f"{FIX} #1 (verified: test passes)"),
    ]
    assert [c["seconds"] > 0 for c in result["candidates"]] == [False, True, True]


async def test_listing_without_diagnostics_and_rewrite_actions(
    scripted: LanguageClient, tmp_path: Path
) -> None:
    ws = make_workspace(tmp_path / "ws", git=False)
    (ws / "util.py").write_text("def double(x):\n    return x * 2\n")
    documented = 'def double(x):\n    """Twice `x`."""\n    return x * 2\n'
    write_script(
        answer(documented),
        answer("def double(x):\n    return x + x\n"),
        "`double` returns twice its argument.",
    )
    await scripted.initialize_session(versioned(init_params(ws)))
    uri = open_doc(scripted, ws / "util.py")
    listed = await actions(scripted, uri, 1, [])
    assert [a.title for a in listed] == [
        "Explain `double` with codeflow",
        "Add docstring to `double` with codeflow",
        "Write a test for `double` with codeflow",
    ]
    doc = await scripted.code_action_resolve_async(listed[1])
    [text_doc_edit] = doc.edit.document_changes
    assert text_doc_edit.text_document.version == 1
    assert [
        (e.range.start.line, e.range.start.character, e.new_text) for e in text_doc_edit.edits
    ] == [(1, 0, '    """Twice `x`."""\n')]
    problem = types.Diagnostic(
        types.Range(types.Position(1, 4), types.Position(1, 16)), "use addition", source="lint"
    )
    [fix, *_] = await actions(scripted, uri, 1, [problem])
    assert fix.title == "Fix with codeflow: use addition"
    fixed = await scripted.code_action_resolve_async(fix)
    [edit] = fixed.edit.document_changes[0].edits
    assert (edit.range.start.character, edit.range.end.character, edit.new_text) == (13, 16, "+ x")
    explained = await command(scripted, "codeflow.explain", {"uri": uri, "line": 1})
    assert explained == {"markdown": "`double` returns twice its argument."}
    assert scripted.messages[-1].message == "`double` returns twice its argument."
    assert (ws / "util.py").read_text() == "def double(x):\n    return x * 2\n"


async def test_write_a_test_creates_the_test_module(
    scripted: LanguageClient, tmp_path: Path
) -> None:
    ws = make_workspace(tmp_path / "ws", git=False)
    test_code = "from calc import total\n\n\ndef test_total_empty():\n    assert total([]) == 0\n"
    write_script(answer(test_code))
    await scripted.initialize_session(init_params(ws))
    uri = open_doc(scripted, ws / "calc.py")
    listed = await actions(scripted, uri, 5, [])
    [write] = [a for a in listed if a.title.startswith("Write a test")]
    resolved = await scripted.code_action_resolve_async(write)
    # test_calc.py exists beside calc.py: the test is appended to it
    [(target, edits)] = resolved.edit.changes.items()
    assert target == (ws / "test_calc.py").as_uri()
    assert [(e.range.start.line, e.new_text) for e in edits] == [(13, "\n\n" + test_code)]


async def test_write_a_test_creates_a_test_module_when_there_is_none(
    scripted: LanguageClient, tmp_path: Path
) -> None:
    ws = make_workspace(tmp_path / "ws", git=False)
    (ws / "util.py").write_text("def double(x):\n    return x * 2\n")
    test_code = "from util import double\n\n\ndef test_double():\n    assert double(2) == 4\n"
    write_script(answer(test_code), answer(test_code))
    await scripted.initialize_session(versioned(init_params(ws)))
    uri = open_doc(scripted, ws / "util.py")
    [write] = [a for a in await actions(scripted, uri, 1, []) if a.title.startswith("Write")]
    resolved = await scripted.code_action_resolve_async(write)
    create, fill = resolved.edit.document_changes
    new_uri = (ws / "test_util.py").as_uri()
    assert (create.kind, create.uri) == ("create", new_uri)
    assert (fill.text_document.uri, [e.new_text for e in fill.edits]) == (new_uri, [test_code])
    assert not (ws / "test_util.py").exists()


async def _progress_reported(client: LanguageClient, text: str) -> None:
    def seen() -> bool:
        return any(
            getattr(v, "message", None) == text
            for vs in client.progress_reports.values()
            for v in vs
        )

    while not seen():
        await client.wait_for_notification(types.PROGRESS)


async def test_resolve_can_be_cancelled_mid_verification(
    scripted: LanguageClient, tmp_path: Path
) -> None:
    ws = make_workspace(tmp_path / "ws")
    write_script(answer(WRONG_MEAN), answer(WRONG_MEAN), answer(WRONG_MEAN), answer(GOOD_MEAN))
    await scripted.initialize_session(init_params(ws, {"tests": {"trusted": True}}))
    mean_diag, _ = await failing(scripted, ws)
    test_uri = open_doc(scripted, ws / "test_calc.py")
    before = digest(ws)
    [fix, *_] = await actions(scripted, test_uri, 8, [mean_diag])
    pending = scripted.protocol.send_request(types.CODE_ACTION_RESOLVE, fix)
    request_id = list(scripted.protocol._request_futures)[-1]
    await _progress_reported(scripted, "candidate 1/3")
    scripted.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=request_id))
    with pytest.raises(JsonRpcRequestCancelled):
        await asyncio.wrap_future(pending)
    assert digest(ws) == before
    ends = [v for vs in scripted.progress_reports.values() for v in vs if v.kind == "end"]
    assert ends[-1].message == "cancelled"


async def test_a_typescript_file_gets_the_code_actions(
    scripted: LanguageClient, tmp_path: Path
) -> None:
    """Regions come from the tree-sitter index: a TS method is found, its JSDoc goes above it,
    and a test is written as `<stem>.test.ts`."""
    ws = make_workspace(tmp_path / "ws", git=False)
    source = (
        "export class Calc {\n"
        "  double(x: number): number {\n"
        "    return x * 2;\n"
        "  }\n"
        "}\n"
    )
    (ws / "calc.ts").write_text(source)
    test_code = 'import { Calc } from "./calc";\n\nit("doubles", () => {});\n'
    write_script("```\n/** Twice `x`. */\n```", answer(test_code))
    await scripted.initialize_session(versioned(init_params(ws)))
    uri = open_doc(scripted, ws / "calc.ts")
    listed = await actions(scripted, uri, 2, [])
    assert [a.title for a in listed] == [
        "Explain `double` with codeflow",
        "Add docstring to `double` with codeflow",
        "Write a test for `double` with codeflow",
    ]
    on_class = await actions(scripted, uri, 0, [])
    assert [a.title for a in on_class][0] == "Explain `Calc` with codeflow"
    doc = await scripted.code_action_resolve_async(listed[1])
    [text_doc_edit] = doc.edit.document_changes
    assert [
        (e.range.start.line, e.range.start.character, e.new_text) for e in text_doc_edit.edits
    ] == [(1, 0, "  /** Twice `x`. */\n")]
    assert "TSDoc/JSDoc comment for `double`" in prompts()[0]["prompt"]
    write = await scripted.code_action_resolve_async(listed[2])
    create, fill = write.edit.document_changes
    assert create.uri == (ws / "calc.test.ts").as_uri()
    assert fill.edits[0].new_text == test_code
    assert (ws / "calc.ts").read_text() == source

"""`codeflow.runTests` against a real server: trust, diagnostics at exact lines, clearing,
run-on-save, and clear messages for broken test commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.unit.features.fixflow import make_workspace

from .conftest import init_params

NOT_TRUSTED = (
    "codeflow: tests not run: this workspace is not trusted; set codeflow.tests.trusted to true "
    "to let codeflow run its test command"
)


async def run_tests(client: LanguageClient, *args: Any) -> Any:
    params = types.ExecuteCommandParams("codeflow.runTests", list(args))
    return await client.workspace_execute_command_async(params)


def _lines(client: LanguageClient, path: Path) -> list[tuple[int, int, int, str]]:
    return [
        (
            d.range.start.line,
            d.range.start.character,
            d.range.end.character,
            d.message.split("\n")[0],
        )
        for d in client.diagnostics.get(path.as_uri(), [])
    ]


async def test_untrusted_workspace_runs_nothing(client: LanguageClient, tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", git=False)
    await client.initialize_session(init_params(ws))
    result = await run_tests(client)
    assert result == {"ran": False, "message": NOT_TRUSTED}
    assert [(m.type, m.message) for m in client.messages] == [
        (types.MessageType.Warning, NOT_TRUSTED)
    ]
    assert client.diagnostics == {}
    assert not (ws / ".pytest_cache").exists()


async def test_failures_become_diagnostics_and_passing_files_are_cleared(
    client: LanguageClient, tmp_path: Path
) -> None:
    ws = make_workspace(tmp_path / "ws", git=False)
    await client.initialize_session(init_params(ws, {"tests": {"trusted": True}}))
    result = await run_tests(client)
    assert {k: result[k] for k in ("ran", "passed", "failed", "errors", "diagnostics")} == {
        "ran": True,
        "passed": 1,
        "failed": 2,
        "errors": 0,
        "diagnostics": 3,
    }
    assert result["message"] == "2 failed, 1 passed"
    assert _lines(client, ws / "test_calc.py") == [
        (8, 4, 31, "test_calc.py::test_mean failed: assert 6.0 == 4"),
        (12, 4, 25, "test_calc.py::test_mean_single failed: ZeroDivisionError: division by zero"),
    ]
    assert _lines(client, ws / "calc.py") == [
        (
            14,
            4,
            32,
            "test_calc.py::test_mean_single failed here: ZeroDivisionError: division by zero",
        ),
    ]
    [mean, _] = client.diagnostics[(ws / "test_calc.py").as_uri()]
    assert mean.message.split("\n\n", 1)[1] == (
        "def test_mean():\n>       assert mean([2, 4, 6]) == 4\nE       assert 6.0 == 4\n"
        "E        +  where 6.0 = mean([2, 4, 6])\n\ntest_calc.py:9: AssertionError"
    )
    assert (mean.source, mean.code, mean.severity) == (
        "codeflow-tests",
        "test_calc.py::test_mean",
        types.DiagnosticSeverity.Error,
    )
    ends = [p[-1] for p in client.progress_reports.values() if p and p[0].title.endswith("tests")]
    assert [e.message for e in ends] == ["2 failed, 1 passed"]

    calc = ws / "calc.py"
    calc.write_text(calc.read_text().replace("len(values) - 1", "len(values)"))
    result = await run_tests(client)
    assert (result["passed"], result["failed"], result["diagnostics"]) == (3, 0, 0)
    assert client.diagnostics == {(ws / "test_calc.py").as_uri(): (), calc.as_uri(): ()}


async def test_running_one_test_file_keeps_the_others_diagnostics(
    client: LanguageClient, tmp_path: Path
) -> None:
    ws = make_workspace(tmp_path / "ws", git=False)
    (ws / "test_other.py").write_text("def test_other():\n    assert 1 == 2\n")
    await client.initialize_session(init_params(ws, {"tests": {"trusted": True}}))
    assert (await run_tests(client))["diagnostics"] == 4
    (ws / "test_other.py").write_text("def test_other():\n    assert 2 == 2\n")
    result = await run_tests(client, (ws / "test_other.py").as_uri())
    assert (result["passed"], result["failed"]) == (1, 0)
    assert client.diagnostics[(ws / "test_other.py").as_uri()] == ()
    assert [d[0] for d in _lines(client, ws / "test_calc.py")] == [8, 12]


async def test_run_on_save(client: LanguageClient, tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", git=False)
    options = {"tests": {"trusted": True, "runOnSave": True}}
    await client.initialize_session(init_params(ws, options))
    uri = (ws / "calc.py").as_uri()
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri))
    )
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    while uri not in client.diagnostics:
        await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert _lines(client, ws / "calc.py")[0][0] == 14


async def test_broken_commands_and_projects_say_what_is_wrong(
    client: LanguageClient, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "main.go").write_text("package main\n")
    await client.initialize_session(init_params(ws, {"tests": {"trusted": True}}))
    py = sys.executable
    cases = [
        (
            "",
            "codeflow: no test command for this workspace: it does not look like a Python "
            "project; set codeflow.tests.command",
        ),
        (
            f"{py} -c 'import time; time.sleep(60)'",
            "codeflow: the test command timed out after 1 s (codeflow.tests.timeoutS)",
        ),
        ("go-test-xyz ./...", "codeflow: the test command `go-test-xyz` was not found"),
        (
            f'{py} -c \'import sys; open(sys.argv[1], "w").write("ok")\' {{junitxml}}',
            "codeflow: the test report is not JUnit XML (syntax error: line 1, column 0)",
        ),
    ]
    for command, message in cases:
        settings = {"codeflow": {"tests": {"trusted": True, "command": command, "timeoutS": 1}}}
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings))
        result = await run_tests(client)
        assert (result["ran"], result["message"]) == (False, message)
        assert (client.messages[-1].type, client.messages[-1].message) == (
            types.MessageType.Error,
            message,
        )
    assert client.diagnostics == {}

"""Test runners beyond pytest against a real server and real toolchains: a failing `cargo test`,
`go test`, Vitest or Jest test becomes a diagnostic at the assertion line, "Fix failing test"
asks the scripted model, and only the candidate that makes the test pass (re-run alone in a
scratch copy) is applied; the workspace's files are untouched until the edit is applied."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from actions.cargo import cargo_command
from actions.diffs import TextChange
from tests.unit.actions.runner_fixtures import (
    GOOD_CJS_MEAN,
    GOOD_GO_MEAN,
    GOOD_JS_MEAN,
    GOOD_RUST_MEAN,
    WRONG_CJS_MEAN,
    WRONG_GO_MEAN,
    WRONG_JS_MEAN,
    WRONG_RUST_MEAN,
    fenced,
    jest_installed,
    make_runner_workspace,
    vitest_installed,
)

from .conftest import init_params
from .test_actions import FIX, actions, changes, command, open_doc, prompts, scripted, write_script

__all__ = ["scripted"]  # the fixture, shared with test_actions

TRUSTED = {"tests": {"trusted": True, "fixCandidates": 3}}


async def verified_fix(
    client: LanguageClient, test_uri: str, line: int, diag: types.Diagnostic
) -> tuple[str, TextChange]:
    """List the fix action on the failing test's line, resolve it, and return its one edit
    (it must be first and come back verified)."""
    listed = await actions(client, test_uri, line, [diag])
    assert listed[0].title == FIX
    resolved = await client.code_action_resolve_async(listed[0])
    assert resolved.title == f"{FIX} (verified: test passes)"
    [(uri, [edit])] = changes(resolved.edit).items()
    return uri, edit


def _digest(root: Path) -> str:
    sources = sorted(root.glob("src/*.rs"))
    return hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()


@pytest.mark.skipif(not Path(cargo_command()[0]).exists(), reason="cargo is not installed")
async def test_a_failing_cargo_test_is_fixed_by_the_verified_candidate(
    scripted: LanguageClient, tmp_path: Path
) -> None:
    ws = make_runner_workspace("cargo", tmp_path / "calc")
    write_script(fenced(WRONG_RUST_MEAN, "rust"), fenced(GOOD_RUST_MEAN, "rust"))
    await scripted.initialize_session(init_params(ws, TRUSTED))
    result = await command(scripted, "codeflow.runTests")
    assert (result["ran"], result["passed"], result["failed"]) == (True, 1, 1)
    lib_uri = (ws / "src/lib.rs").as_uri()
    [diag] = scripted.diagnostics[lib_uri]
    assert (diag.range.start.line, diag.code) == (20, "tests::mean_of_three")
    assert "left: 6.0 right: 4.0" in diag.message
    open_doc(scripted, ws / "src/lib.rs")
    before = _digest(ws)

    uri, edit = await verified_fix(scripted, lib_uri, 20, diag)
    assert uri == lib_uri
    assert (edit.start_line, edit.text) == (5, "")
    assert _digest(ws) == before
    sent = prompts()
    assert len(sent) == 2
    assert "```rust\npub fn mean(values: &[f64]) -> f64 {" in sent[0]["prompt"]
    assert "assert_eq!(mean(&[2.0, 4.0, 6.0]), 4.0);" in sent[0]["prompt"]


@pytest.mark.skipif(shutil.which("go") is None, reason="go is not installed")
async def test_a_failing_go_test_is_fixed_by_the_verified_candidate(
    scripted: LanguageClient, tmp_path: Path
) -> None:
    ws = make_runner_workspace("go", tmp_path / "calc")
    write_script(fenced(WRONG_GO_MEAN, "go"), fenced(GOOD_GO_MEAN, "go"))
    await scripted.initialize_session(init_params(ws, TRUSTED))
    result = await command(scripted, "codeflow.runTests")
    assert (result["ran"], result["passed"], result["failed"]) == (True, 1, 1)
    test_uri = (ws / "calc_test.go").as_uri()
    [diag] = scripted.diagnostics[test_uri]
    assert (diag.range.start.line, diag.code, diag.message.splitlines()[0]) == (
        12,
        ".::TestMean",
        ".::TestMean failed: Mean = 6, want 4",
    )
    open_doc(scripted, ws / "calc_test.go")
    before = (ws / "calc.go").read_text()

    uri, edit = await verified_fix(scripted, test_uri, 12, diag)
    assert uri == (ws / "calc.go").as_uri()
    assert (edit.start_line, edit.text) == (13, "")
    assert (ws / "calc.go").read_text() == before
    assert "```go\nfunc Mean(values []float64) float64 {" in prompts()[0]["prompt"]


@pytest.mark.skipif(not vitest_installed(), reason="run `make runner-fixtures`")
async def test_a_failing_vitest_test_is_fixed_by_the_verified_candidate(
    scripted: LanguageClient, tmp_path: Path
) -> None:
    ws = make_runner_workspace("vitest", tmp_path / "calc")
    write_script(fenced(WRONG_JS_MEAN, "js"), fenced(GOOD_JS_MEAN, "js"))
    await scripted.initialize_session(init_params(ws, TRUSTED))
    result = await command(scripted, "codeflow.runTests")
    assert (result["ran"], result["passed"], result["failed"]) == (True, 1, 1)
    test_uri = (ws / "calc.test.js").as_uri()
    [diag] = scripted.diagnostics[test_uri]
    node = "calc.test.js::calc > means"
    assert (diag.range.start.line, diag.code) == (9, node)
    open_doc(scripted, ws / "calc.test.js")
    before = (ws / "calc.js").read_text()

    uri, edit = await verified_fix(scripted, test_uri, 9, diag)
    assert uri == (ws / "calc.js").as_uri()
    assert (edit.start_line, edit.text) == (5, "")
    assert (ws / "calc.js").read_text() == before
    assert "```javascript\nexport function mean(values) {" in prompts()[0]["prompt"]


@pytest.mark.skipif(not jest_installed(), reason="run `make runner-fixtures`")
async def test_a_failing_jest_test_is_fixed_by_the_verified_candidate(
    scripted: LanguageClient, tmp_path: Path
) -> None:
    ws = make_runner_workspace("jest", tmp_path / "calc")
    write_script(fenced(WRONG_CJS_MEAN, "js"), fenced(GOOD_CJS_MEAN, "js"))
    await scripted.initialize_session(init_params(ws, TRUSTED))
    result = await command(scripted, "codeflow.runTests")
    assert (result["ran"], result["passed"], result["failed"]) == (True, 1, 1)
    test_uri = (ws / "calc.test.js").as_uri()
    [diag] = scripted.diagnostics[test_uri]
    node = "calc.test.js::calc > means"
    assert (diag.range.start.line, diag.code) == (8, node)
    assert "expect(received).toBe(expected)" in diag.message
    open_doc(scripted, ws / "calc.test.js")
    before = (ws / "calc.js").read_text()

    uri, edit = await verified_fix(scripted, test_uri, 8, diag)
    assert uri == (ws / "calc.js").as_uri()
    assert (edit.start_line, edit.text) == (5, "")
    assert (ws / "calc.js").read_text() == before
    assert "```javascript\nfunction mean(values) {" in prompts()[0]["prompt"]

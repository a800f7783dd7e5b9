"""Tests run in the workspace's own virtualenv, not codeflow's: a workspace whose `.venv` holds
a package that codeflow's environment lacks gets the failing test's diagnostic from
`codeflow.runTests`, the output channel says which Python ran, and a fix is verified (in a
scratch copy without the `.venv`) with that same Python.

The workspace's venv (`workspace_venv.make_venv`) holds pytest and `teamlib`, nothing else."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from actions.diffs import TextChange
from tests.unit.features.fixflow import answer
from tests.unit.features.workspace_venv import make_venv

from .conftest import SERVER, init_params, server_env
from .test_actions import SCRIPT, actions, changes, command, open_doc, prompts, write_script

PRICING = "from teamlib import rate\n\n\ndef price(units):\n    return units * rate() + 1\n"
GOOD_PRICE = "def price(units):\n    return units * rate()\n"
TEST_PRICING = (
    "from pricing import price\n\n\ndef test_price():\n    assert price(2) == 6\n\n\n"
    "def test_rate():\n    from teamlib import rate\n\n    assert rate() == 3\n"
)
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


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    assert importlib.util.find_spec("teamlib") is None, "codeflow's environment has teamlib"
    root = tmp_path / "ws"
    root.mkdir()
    (root / "pricing.py").write_text(PRICING)
    (root / "test_pricing.py").write_text(TEST_PRICING)
    make_venv(root / ".venv")
    return root


async def test_tests_run_and_fixes_verify_in_the_workspace_venv(
    scripted: LanguageClient, ws: Path
) -> None:
    python = ws / ".venv" / "bin" / "python"
    write_script(answer(GOOD_PRICE))
    await scripted.initialize_session(
        init_params(ws, {"tests": {"trusted": True, "fixCandidates": 1}})
    )
    result = await command(scripted, "codeflow.runTests")
    assert {k: result[k] for k in ("ran", "passed", "failed", "errors")} == {
        "ran": True,
        "passed": 1,
        "failed": 1,
        "errors": 0,
    }
    test_uri = (ws / "test_pricing.py").as_uri()
    [diag] = scripted.diagnostics[test_uri]
    assert diag.message.split("\n")[0] == "test_pricing.py::test_price failed: assert 7 == 6"
    assert (diag.range.start.line, diag.code) == (4, "test_pricing.py::test_price")
    said = [m.message for m in scripted.log_messages if "tests run with" in m.message]
    assert said == [f"codeflow: tests run with {python} (.venv in the workspace)"]

    open_doc(scripted, ws / "test_pricing.py")
    [fix, *_] = await actions(scripted, test_uri, 4, [diag])
    assert fix.title == FIX
    resolved = await scripted.code_action_resolve_async(fix)
    assert resolved.title == f"{FIX} (verified: test passes)"
    assert changes(resolved.edit) == {(ws / "pricing.py").as_uri(): [TextChange(4, 25, 4, 29, "")]}
    assert len(prompts()) == 1
    assert (ws / "pricing.py").read_text() == PRICING


def test_the_fixture_venv_is_the_workspaces_own(tmp_path: Path) -> None:
    """Control: codeflow's Python cannot import teamlib; the workspace's can, and has pytest."""
    python = make_venv(tmp_path / "env")
    probe = "import teamlib, pytest, sys; print(teamlib.rate(), sys.prefix)"
    out = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["3", str(tmp_path / "env")]
    mine = subprocess.run([sys.executable, "-c", "import teamlib"], capture_output=True)
    assert mine.returncode == 1

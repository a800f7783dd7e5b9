"""`codeflow doctor` says which Python runs the workspace's tests, and whether it has pytest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lsp_server.commands.doctor import Check, _tests_python
from tests.unit.features.workspace_venv import make_venv


def test_doctor_names_the_workspace_venv_and_its_missing_pytest(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / ".venv")],
                   check=True)
    python = tmp_path / ".venv" / "bin" / "python"
    said = f"{python} (.venv in the workspace); codeflow.tests.python / tests.command override it"
    assert _tests_python(str(tmp_path)) == Check(
        "tests python", False, f"{said}; it has no pytest",
        f"{python} -m pip install pytest", required=False,
    )


def test_doctor_reports_pytest_of_a_workspace_venv_that_has_it(tmp_path: Path) -> None:
    python = make_venv(tmp_path / "venv")
    check = _tests_python(str(tmp_path))
    assert check.ok, check
    assert check.detail == (
        f"{python} (venv in the workspace); codeflow.tests.python / tests.command override it; "
        f"pytest {pytest.__version__}"
    )

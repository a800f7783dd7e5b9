"""Which Python runs the workspace's tests: each branch of the resolution, in order, and how a
runner's environment is turned into an interpreter path."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from pathlib import Path

import pytest

from actions import runner as t
from actions.interpreter import (
    Interpreter,
    NoInterpreter,
    child_env,
    concrete,
    resolve,
)
from lsp_server import config


def executable(path: Path, body: str = "#!/bin/sh\nexit 0\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def venv(path: Path) -> Path:
    """A virtualenv's layout: pyvenv.cfg and an executable bin/python."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "pyvenv.cfg").write_text("home = /usr/bin\n")
    return executable(path / "bin" / "python")


def on_path(tools: dict[str, Path]):
    return lambda name: str(tools[name]) if name in tools else None


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "test_a.py").write_text("def test_a():\n    assert True\n")
    return root


@pytest.fixture
def tools(tmp_path: Path) -> dict[str, Path]:
    bin_dir = tmp_path / "bin"
    return {name: executable(bin_dir / name) for name in ("python3", "uv", "poetry", "hatch")}


def test_the_setting_wins_over_everything(ws: Path, tmp_path: Path, tools: dict) -> None:
    venv(ws / ".venv")
    exe = venv(tmp_path / "elsewhere")
    env = {"VIRTUAL_ENV": str(ws / ".venv")}
    got = resolve(ws, str(exe), env, on_path(tools))
    assert got == Interpreter((str(exe),), "codeflow.tests.python", str(tmp_path / "elsewhere"))
    assert got.describe() == f"{exe} (codeflow.tests.python)"


def test_the_setting_may_name_a_venv_dir_a_relative_path_or_a_command(
    ws: Path, tools: dict
) -> None:
    exe = venv(ws / "envs" / "py312")
    which = on_path(tools)
    assert resolve(ws, "envs/py312", {}, which).argv == (str(exe),)
    assert resolve(ws, "envs/py312/bin/python", {}, which).argv == (str(exe),)
    assert resolve(ws, "python3", {}, which) == Interpreter(
        (str(tools["python3"]),), "codeflow.tests.python", None
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("/no/such/python", "codeflow.tests.python: /no/such/python is not an executable file"),
        ("python9.9", "codeflow.tests.python: python9.9 was not found on PATH"),
        ("emptydir", "codeflow.tests.python: emptydir holds no bin/python"),
    ],
)
def test_a_bad_setting_says_so(ws: Path, tools: dict, value: str, message: str) -> None:
    (ws / "emptydir").mkdir()
    venv(ws / ".venv")
    with pytest.raises(NoInterpreter) as info:
        resolve(ws, value, {}, on_path(tools))
    assert str(info.value) == message


def test_a_workspace_venv_comes_before_virtual_env_and_dot_venv_before_venv(
    ws: Path, tmp_path: Path, tools: dict
) -> None:
    active = tmp_path / "active"
    venv(active)
    env = {"VIRTUAL_ENV": str(active)}
    plain = venv(ws / "venv")
    assert resolve(ws, "", env, on_path(tools)) == Interpreter(
        (str(plain),), "venv in the workspace", str(ws / "venv")
    )
    dot = venv(ws / ".venv")
    assert resolve(ws, "", env, on_path(tools)) == Interpreter(
        (str(dot),), ".venv in the workspace", str(ws / ".venv")
    )


def test_a_venv_dir_without_an_interpreter_is_skipped(
    ws: Path, tmp_path: Path, tools: dict
) -> None:
    (ws / ".venv").mkdir()
    active = venv(tmp_path / "active")
    got = resolve(ws, "", {"VIRTUAL_ENV": str(tmp_path / "active")}, on_path(tools))
    assert got == Interpreter((str(active),), "VIRTUAL_ENV", str(tmp_path / "active"))


def test_a_stale_virtual_env_is_skipped(ws: Path, tools: dict) -> None:
    got = resolve(ws, "", {"VIRTUAL_ENV": "/gone/env"}, on_path({"python3": tools["python3"]}))
    assert got.source == "python3 on PATH"


@pytest.mark.parametrize(
    ("files", "tool", "source"),
    [
        ({"uv.lock": ""}, "uv", "uv run: uv.lock in the workspace"),
        ({"poetry.lock": ""}, "poetry", "poetry run: poetry.lock in the workspace"),
        ({"hatch.toml": ""}, "hatch", "hatch run: hatch project in the workspace"),
        (
            {"pyproject.toml": "[tool.hatch.envs.default]\ndependencies = []\n"},
            "hatch",
            "hatch run: hatch project in the workspace",
        ),
    ],
)
def test_project_runners_when_installed(
    ws: Path, tools: dict, files: dict[str, str], tool: str, source: str
) -> None:
    for name, text in files.items():
        (ws / name).write_text(text)
    got = resolve(ws, "", {}, on_path(tools))
    assert got == Interpreter((str(tools[tool]), "run", "python"), source)
    assert got.runner
    without = {k: v for k, v in tools.items() if k != tool}
    assert resolve(ws, "", {}, on_path(without)).source == "python3 on PATH"


def test_python3_on_path_last_and_nothing_at_all(ws: Path, tools: dict) -> None:
    assert resolve(ws, "", {}, on_path(tools)) == Interpreter(
        (str(tools["python3"]),), "python3 on PATH", None
    )
    with pytest.raises(NoInterpreter, match="set codeflow.tests.python or codeflow.tests.command"):
        resolve(ws, "", {}, on_path({}))


def test_the_child_env_activates_the_venv(tmp_path: Path) -> None:
    env_dir = tmp_path / "env"
    interp = Interpreter((str(venv(env_dir)),), ".venv in the workspace", str(env_dir))
    env = child_env(interp, {"PATH": "/usr/bin", "VIRTUAL_ENV": "/other", "PYTHONHOME": "/x"})
    assert env["VIRTUAL_ENV"] == str(env_dir)
    assert env["PATH"] == os.pathsep.join([str(env_dir / "bin"), "/usr/bin"])
    assert "PYTHONHOME" not in env
    runner = Interpreter(("/bin/uv", "run", "python"), "uv run")
    assert "VIRTUAL_ENV" not in child_env(runner, {"VIRTUAL_ENV": "/other", "PATH": "/usr/bin"})


def test_build_command_uses_the_resolved_interpreter(ws: Path) -> None:
    exe = venv(ws / ".venv")
    junit = Path("/tmp/r.xml")
    argv = t.build_command(config.TestsConfig(), ws, junit, ["test_a.py::test_a"], True)
    assert argv == [
        str(exe), "-m", "pytest", "--junitxml=/tmp/r.xml", "-q", "-p", "no:cacheprovider",
        "test_a.py::test_a",
    ]
    assert t.runs_with(config.TestsConfig(), ws) == f"{exe} (.venv in the workspace)"
    assert t.runs_with(config.TestsConfig(command="make check"), ws) == (
        "make check (codeflow.tests.command)"
    )


def runner_script(tmp_path: Path, body: str) -> Path:
    """A project runner: `run python ARGS...` runs this test's Python with ARGS."""
    return executable(tmp_path / "bin" / "runner", f"#!/bin/sh\n{body}\n")


def test_a_runner_is_asked_for_its_interpreter(ws: Path, tmp_path: Path) -> None:
    script = runner_script(tmp_path, f'shift 2\nexec {sys.executable} "$@"')
    runner = Interpreter((str(script), "run", "python"), "uv run: uv.lock in the workspace")
    got = asyncio.run(concrete(runner, ws, 30))
    assert got.argv == (sys.executable,)
    assert got.source == runner.source
    assert not got.runner
    plain = Interpreter((sys.executable,), "VIRTUAL_ENV")
    assert asyncio.run(concrete(plain, ws, 30)) is plain


def test_a_runner_that_fails_says_why(ws: Path, tmp_path: Path) -> None:
    script = runner_script(tmp_path, "echo 'No such environment' >&2\nexit 2")
    runner = Interpreter((str(script), "run", "python"), "poetry run: poetry.lock")
    with pytest.raises(NoInterpreter) as info:
        asyncio.run(concrete(runner, ws, 30))
    assert str(info.value) == (
        f"`{script} run python` did not say which Python it runs: No such environment"
    )


def test_scratch_python_is_none_with_a_command_and_a_path_otherwise(ws: Path) -> None:
    exe = venv(ws / ".venv")
    assert asyncio.run(t.scratch_python(config.TestsConfig(command="pytest"), ws)) is None
    got = asyncio.run(t.scratch_python(config.TestsConfig(), ws))
    assert got == Interpreter((str(exe),), ".venv in the workspace", str(ws / ".venv"))

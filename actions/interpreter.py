"""Which Python runs the workspace's tests: the project's own environment, never codeflow's.

Found the way editors find it, first match wins:
1. the `tests.python` setting: an interpreter (path, `~`, relative to the workspace, or a name
   on PATH) or a virtualenv dir;
2. a virtualenv in the workspace: `.venv`, then `venv`;
3. the `VIRTUAL_ENV` the server was started with;
4. a uv (`uv.lock`), Poetry (`poetry.lock`) or Hatch (`hatch.toml`, `[tool.hatch.envs…]`)
   project, through `uv run` / `poetry run` / `hatch run`, when that tool is on PATH;
5. `python3` on PATH.
(A `tests.command` setting replaces all of this; `actions/runner.py` handles it.)

A runner's environment is a command, not a file: `concrete` asks it once for its interpreter
(`<runner> run python -c 'print(sys.executable)'` in the workspace), so that a fix can be
verified in a scratch copy of the workspace with that same interpreter. Standard library only,
no LSP types: the test loop can take this module with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Interpreter", "NoInterpreter", "child_env", "concrete", "resolve"]

VENV_DIRS = (".venv", "venv")
RUNNERS = (("uv", "uv.lock"), ("poetry", "poetry.lock"), ("hatch", "hatch.toml"))
PRINT_EXECUTABLE = "import sys; print(sys.executable)"


class NoInterpreter(ValueError):
    """No Python to run the tests with; the message says what to set."""


@dataclass(frozen=True)
class Interpreter:
    """How to start the workspace's Python: `argv` runs it (a path, or a runner's command),
    `source` says how it was found, `env_dir` is its virtualenv (None when unknown)."""

    argv: tuple[str, ...]
    source: str
    env_dir: str | None = None

    @property
    def runner(self) -> bool:
        """Whether `argv` is a project runner's command rather than an interpreter's path."""
        return len(self.argv) > 1

    def describe(self) -> str:
        """One line for the output channel and `codeflow doctor`."""
        return f"{' '.join(self.argv)} ({self.source})"


def _venv_python(env: Path) -> Path | None:
    for rel in ("bin/python", "bin/python3", "Scripts/python.exe"):
        exe = env / rel
        if exe.is_file() and os.access(exe, os.X_OK):
            return exe
    return None


def _in_venv(exe: Path) -> str | None:
    """The virtualenv dir holding interpreter `exe` (its `pyvenv.cfg` is one level up)."""
    env = exe.parent.parent
    return str(env) if (env / "pyvenv.cfg").is_file() else None


def _from_setting(
    value: str, root: Path, which: Callable[[str], str | None]
) -> Interpreter:
    source = "codeflow.tests.python"
    path = Path(value).expanduser()
    if not path.is_absolute():
        if not (os.sep in value or "/" in value or (root / path).exists()):
            found = which(value)
            if found is None:
                raise NoInterpreter(f"codeflow.tests.python: {value} was not found on PATH")
            return Interpreter((found,), source, _in_venv(Path(found)))
        path = root / path
    if path.is_dir():
        exe = _venv_python(path)
        if exe is None:
            raise NoInterpreter(f"codeflow.tests.python: {value} holds no bin/python")
        return Interpreter((str(exe),), source, str(path))
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise NoInterpreter(f"codeflow.tests.python: {value} is not an executable file")
    return Interpreter((str(path),), source, _in_venv(path))


def _hatch_project(root: Path) -> bool:
    if (root / "hatch.toml").is_file():
        return True
    try:
        text = (root / "pyproject.toml").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "[tool.hatch.envs" in text


def _runner(root: Path, which: Callable[[str], str | None]) -> Interpreter | None:
    for tool, marker in RUNNERS:
        present = _hatch_project(root) if tool == "hatch" else (root / marker).is_file()
        exe = which(tool) if present else None
        if exe is not None:
            what = "hatch project" if tool == "hatch" else f"{marker}"
            return Interpreter((exe, "run", "python"), f"{tool} run: {what} in the workspace")
    return None


def resolve(
    root: Path,
    setting: str = "",
    environ: Mapping[str, str] | None = None,
    which: Callable[[str], str | None] = shutil.which,
) -> Interpreter:
    """The interpreter for the tests of `root` (see the module docstring for the order)."""
    env = os.environ if environ is None else environ
    if setting.strip():
        return _from_setting(setting.strip(), root, which)
    for name in VENV_DIRS:
        exe = _venv_python(root / name)
        if exe is not None:
            return Interpreter((str(exe),), f"{name} in the workspace", str(root / name))
    active = env.get("VIRTUAL_ENV", "")
    exe = _venv_python(Path(active)) if active else None
    if exe is not None:
        return Interpreter((str(exe),), "VIRTUAL_ENV", active)
    runner = _runner(root, which)
    if runner is not None:
        return runner
    found = which("python3")
    if found is not None:
        return Interpreter((found,), "python3 on PATH", _in_venv(Path(found)))
    raise NoInterpreter(
        "no Python found for the tests (no .venv or venv in the workspace, no VIRTUAL_ENV, "
        "no python3 on PATH); set codeflow.tests.python or codeflow.tests.command"
    )


def child_env(interp: Interpreter, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test process's environment: this one, with `interp`'s virtualenv activated."""
    env = dict(os.environ if environ is None else environ)
    if interp.env_dir is not None and not interp.runner:
        env["VIRTUAL_ENV"] = interp.env_dir
        scripts = "Scripts" if sys.platform == "win32" else "bin"
        env["PATH"] = os.pathsep.join(
            p for p in (str(Path(interp.env_dir) / scripts), env.get("PATH", "")) if p
        )
        env.pop("PYTHONHOME", None)
    elif interp.runner:
        env.pop("VIRTUAL_ENV", None)  # poetry would take an active virtualenv for the project's
    return env


async def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    await proc.wait()


async def concrete(interp: Interpreter, root: Path, timeout_s: float) -> Interpreter:
    """`interp` as an interpreter path: a runner is asked (in `root`) which Python it runs.
    Raises `NoInterpreter` when the runner does not say."""
    if not interp.runner:
        return interp
    argv = [*interp.argv, "-c", PRINT_EXECUTABLE]
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=str(root),
            env=child_env(interp),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise NoInterpreter(f"{interp.argv[0]} cannot be run: {exc}") from exc
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        await _kill(proc)
        raise NoInterpreter(
            f"`{interp.argv[0]} run` did not say which Python it runs within {timeout_s:g} s"
        ) from None
    except asyncio.CancelledError:
        await _kill(proc)
        raise
    lines = out.decode("utf-8", "replace").strip().splitlines()
    exe = Path(lines[-1]) if lines else None
    if proc.returncode != 0 or exe is None or not exe.is_absolute():
        said = err.decode("utf-8", "replace").strip().splitlines()
        raise NoInterpreter(
            f"`{' '.join(argv[:-2])}` did not say which Python it runs"
            + (f": {said[-1]}" if said else "")
        )
    return Interpreter((str(exe),), interp.source, _in_venv(exe))

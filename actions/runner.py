"""Running a workspace's test command and reading its report.

The command is `tests.command` (shell-split; `{junitxml}` marks where the report goes, pytest
commands get `--junitxml=` appended) or, for a Python project, `<python> -m pytest
--junitxml=F -q` with the workspace's own Python (`interpreter.resolve`: `tests.python`, a
`.venv`/`venv`, `VIRTUAL_ENV`, a uv/poetry/hatch runner, `python3`; never the server's), its
virtualenv activated. A run in a scratch copy (fix verification) uses the same interpreter, a
runner's asked once for its path (`scratch_python`): the copy has no virtualenv of its own.
It runs as an asyncio subprocess in its own process group, killed after `tests.timeoutS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .cargo import cargo_command, cargo_env, is_cargo_project, parse_cargo
from .gotest import go_command, is_go_project, parse_go
from .interpreter import Interpreter, NoInterpreter, child_env, concrete, resolve
from .jest import is_jest_project, jest_command, parse_jest
from .reports import NotJUnit, Outcome, parse_junit
from .vitest import is_vitest_project, parse_vitest, vitest_command

__all__ = [
    "CommandError",
    "RunResult",
    "TestSettings",
    "build_command",
    "interpreter",
    "is_python_project",
    "native_runner",
    "run_tests",
    "runs_with",
    "scratch_python",
    "uses_command",
]

PLACEHOLDER = "{junitxml}"
NATIVE_SAID = {
    "cargo": "cargo test (Cargo.toml in the workspace)",
    "go": "go test -json (go.mod in the workspace)",
    "vitest": "vitest run (package.json in the workspace)",
    "jest": "jest --json (package.json or jest.config.* in the workspace)",
}
PROJECT_MARKERS = (
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "pytest.ini",
    "tox.ini",
    "conftest.py",
)


class CommandError(ValueError):
    """No usable test command; the message says what to set."""


class TestSettings(Protocol):
    """The `tests.*` settings a run reads (the server's `TestsConfig` is one)."""

    __test__ = False

    @property
    def command(self) -> str: ...

    @property
    def python(self) -> str: ...

    @property
    def timeout_s(self) -> float: ...


@dataclass(frozen=True)
class RunResult:
    """A finished (or refused, or broken) test command run."""

    ok: bool
    message: str
    outcomes: tuple[Outcome, ...] = ()
    seconds: float = 0.0
    returncode: int | None = None
    runs_with: str = ""

    def count(self, status: str) -> int:
        """How many outcomes have `status`."""
        return sum(1 for o in self.outcomes if o.status == status)


def is_python_project(root: Path) -> bool:
    """A marker file at the root, or Python files at the root or in `tests/`."""
    if any((root / name).exists() for name in PROJECT_MARKERS):
        return True
    return any(root.glob("*.py")) or any((root / "tests").glob("*.py"))


def native_runner(config: TestSettings, root: Path) -> str | None:
    """The test runner of a workspace that is not a Python project, when codeflow knows it
    (`cargo`, `go`, `vitest`, `jest`), else None (pytest, or the `tests.command` setting,
    decide)."""
    if uses_command(config) or is_python_project(root):
        return None
    if is_cargo_project(root):
        return "cargo"
    if is_go_project(root):
        return "go"
    if is_vitest_project(root):
        return "vitest"
    if is_jest_project(root):
        return "jest"
    return None


def uses_command(config: TestSettings) -> bool:
    """Whether the `tests.command` setting replaces the default pytest run."""
    return bool(config.command.strip())


def interpreter(config: TestSettings, root: Path) -> Interpreter:
    """The workspace's Python for the default run; `CommandError` when there is none."""
    try:
        return resolve(root, config.python)
    except NoInterpreter as exc:
        raise CommandError(str(exc)) from exc


def runs_with(config: TestSettings, root: Path) -> str:
    """What runs the tests of `root`, in words (output channel, doctor)."""
    if uses_command(config):
        return f"{config.command.strip()} (codeflow.tests.command)"
    native = native_runner(config, root)
    if native is not None:
        return NATIVE_SAID[native]
    try:
        return interpreter(config, root).describe()
    except CommandError as exc:
        return str(exc)


async def scratch_python(config: TestSettings, root: Path) -> Interpreter | None:
    """The interpreter a scratch copy of `root` runs its tests with (a runner's asked for its
    path); None when `tests.command` is set. Raises `CommandError`."""
    if uses_command(config):
        return None
    try:
        return await concrete(interpreter(config, root), root, float(config.timeout_s))
    except NoInterpreter as exc:
        raise CommandError(str(exc)) from exc


def build_command(
    config: TestSettings,
    root: Path,
    junit: Path,
    targets: Sequence[str] = (),
    scratch: bool = False,
    python: Interpreter | None = None,
) -> list[str]:
    """The argv to run; `CommandError` when there is none for this workspace. `python` is the
    interpreter of the default run (resolved for `root` when None)."""
    if config.command.strip():
        try:
            argv = shlex.split(config.command)
        except ValueError as exc:
            raise CommandError(f"codeflow.tests.command cannot be parsed: {exc}") from exc
        pytest_like = any("pytest" in a for a in argv)
        if any(PLACEHOLDER in a for a in argv):
            argv = [a.replace(PLACEHOLDER, str(junit)) for a in argv]
        elif pytest_like:
            argv.append(f"--junitxml={junit}")
        if targets and not pytest_like:
            raise CommandError("only a pytest command can re-run a single test")
        return argv + list(targets)
    if not is_python_project(root):
        raise CommandError(
            "no test command for this workspace: it does not look like a Python project; "
            "set codeflow.tests.command"
        )
    python = python or interpreter(config, root)
    extra = ["-p", "no:cacheprovider"] if scratch else []
    return [*python.argv, "-m", "pytest", f"--junitxml={junit}", "-q", *extra, *targets]


def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


async def _execute(
    argv: list[str], cwd: Path, timeout_s: float, env: dict[str, str]
) -> tuple[int | None, str, str]:
    """(returncode, output, problem) — problem is '' when the command ran to its end."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=str(cwd),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except FileNotFoundError:
        return None, "", f"the test command `{argv[0]}` was not found"
    except PermissionError:
        return None, "", f"the test command `{argv[0]}` cannot be run (permission denied)"
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        _kill(proc)
        await proc.wait()
        return (
            None,
            "",
            f"the test command timed out after {timeout_s:g} s (codeflow.tests.timeoutS)",
        )
    except asyncio.CancelledError:
        _kill(proc)
        raise
    return proc.returncode, out.decode("utf-8", "replace"), ""


def _last_line(output: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"


async def run_tests(
    root: Path,
    config: TestSettings,
    targets: Sequence[str] = (),
    cwd: Path | None = None,
    python: Interpreter | None = None,
) -> RunResult:
    """Run the test command in `cwd` (default: `root`) and read its JUnit XML report. The
    default run uses `python`, else the interpreter resolved for `root` (the workspace)."""
    base = cwd or root
    native = native_runner(config, base)
    if native is not None:
        return await _run_native(native, base, config, targets)
    with tempfile.TemporaryDirectory(prefix="codeflow-junit-") as tmp:
        junit = Path(tmp) / "report.xml"
        try:
            if python is None and not uses_command(config) and is_python_project(base):
                python = interpreter(config, root)
            argv = build_command(config, base, junit, targets, cwd is not None, python)
        except CommandError as exc:
            return RunResult(False, f"codeflow: {exc}")
        env = child_env(python) if python is not None else dict(os.environ)
        if cwd is not None:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        t0 = time.monotonic()
        rc, output, problem = await _execute(argv, base, float(config.timeout_s), env)
        seconds = round(time.monotonic() - t0, 3)
        said = python.describe() if python is not None else runs_with(config, root)
        if problem:
            return RunResult(False, f"codeflow: {problem}", seconds=seconds, runs_with=said)
        try:
            xml = junit.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            message = _no_report(rc, output)
            return RunResult(False, message, seconds=seconds, returncode=rc, runs_with=said)
    try:
        outcomes = parse_junit(xml, base)
    except NotJUnit as exc:
        return RunResult(False, f"codeflow: {exc}", seconds=seconds, returncode=rc, runs_with=said)
    return RunResult(True, "", tuple(outcomes), seconds, rc, said)


def _no_report(rc: int | None, output: str) -> str:
    if rc:
        return (
            f"codeflow: the test command failed (exit {rc}) without writing a JUnit XML report: "
            f"{_last_line(output)}"
        )
    return (
        "codeflow: the test command wrote no JUnit XML report; put {junitxml} in "
        "codeflow.tests.command where the report should go"
    )


async def _run_native(
    native: str, base: Path, config: TestSettings, targets: Sequence[str]
) -> RunResult:
    """Run a runner whose own output or report file is its report (`cargo test`, `go test
    -json`, Vitest, Jest)."""
    said = NATIVE_SAID[native]
    with tempfile.TemporaryDirectory(prefix="codeflow-report-") as tmp:
        report = Path(tmp) / "report.xml"
        if native == "cargo":
            argv, env = cargo_command(targets), cargo_env()
        elif native == "go":
            argv, env = go_command(targets), dict(os.environ)
        elif native == "jest":
            argv = jest_command(base, report, Path(tmp) / "cache", targets)
            env = dict(os.environ)
        else:
            argv, env = vitest_command(base, report, targets), dict(os.environ)
        t0 = time.monotonic()
        rc, output, problem = await _execute(argv, base, float(config.timeout_s), env)
        seconds = round(time.monotonic() - t0, 3)
        if problem:
            return RunResult(False, f"codeflow: {problem}", seconds=seconds, runs_with=said)
        try:
            outcomes = _native_outcomes(native, output, report, base)
        except NotJUnit as exc:
            message = f"codeflow: {exc}"
            return RunResult(False, message, seconds=seconds, returncode=rc, runs_with=said)
    if not outcomes and rc:
        message = f"codeflow: the test command failed (exit {rc}): {_last_line(output)}"
        return RunResult(False, message, seconds=seconds, returncode=rc, runs_with=said)
    return RunResult(True, "", tuple(outcomes), seconds, rc, said)


def _native_outcomes(native: str, output: str, report: Path, base: Path) -> list[Outcome]:
    if native == "cargo":
        return parse_cargo(output, base)
    if native == "go":
        return parse_go(output, base)
    try:
        text = report.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    return parse_jest(text, base) if native == "jest" else parse_vitest(text, base)

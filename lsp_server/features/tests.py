"""Running the workspace's tests: `codeflow.runTests` and run-on-save; failures → diagnostics.

Tests run only when the user asks (the command, or saving with `tests.runOnSave`) and only in a
trusted workspace (`tests.trusted`); otherwise a message says so and nothing runs. The command is
`tests.command` (shell-split; `{junitxml}` marks where the report goes, pytest commands get
`--junitxml=` appended) or, for a Python project, `<python> -m pytest --junitxml=F -q` with the
workspace's own Python (`interpreter.resolve`: `tests.python`, a `.venv`/`venv`, `VIRTUAL_ENV`,
a uv/poetry/hatch runner, `python3`; never the server's), its virtualenv activated; the output
channel says which one. A run in a scratch copy (fix verification) uses the same interpreter,
a runner's asked once for its path (`scratch_python`): the copy has no virtualenv of its own.
It runs as an asyncio subprocess in its own process group, killed after `tests.timeoutS`.

Each failing test becomes a diagnostic (source `codeflow-tests`, code = pytest node id) on its
line in the test file, plus one on the deepest traceback frame inside the workspace when that is
elsewhere; each carries the failure message and the traceback. A new run clears the diagnostics
of files whose tests now pass. `Failure`s are kept for the "Fix failing test" action.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import re
import shlex
import signal
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.uris import from_fs_path

from .. import convert
from ..config import TestsConfig
from ..server import CodeflowServer  # runtime import: pygls resolves command annotations
from .interpreter import Interpreter, NoInterpreter, child_env, concrete, resolve

log = logging.getLogger(__name__)
SOURCE = "codeflow-tests"
PLACEHOLDER = "{junitxml}"
TRACEBACK_LINES = 60
OUTSIDE_DIRS = {".venv", "venv", "site-packages", "node_modules", ".tox", ".git"}
PROJECT_MARKERS = (
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "pytest.ini",
    "tox.ini",
    "conftest.py",
)
FRAME = re.compile(r"^(?![E>] )(?P<path>\S[^\n]*?):(?P<line>\d+):(?: (?P<msg>.*))?$", re.M)
_progress_ids = itertools.count(1)


class CommandError(ValueError):
    """No usable test command; the message says what to set."""


class NotJUnit(ValueError):
    """The test command's report is not JUnit XML."""


@dataclass(frozen=True)
class Frame:
    """A traceback entry: workspace-relative POSIX path (absolute when outside), 0-based line."""

    path: str
    line: int
    inside: bool


@dataclass(frozen=True)
class Outcome:
    """One JUnit testcase: status is passed, failed, error or skipped."""

    node_id: str
    test_path: str | None
    name: str
    status: str
    message: str
    traceback: str


@dataclass(frozen=True)
class Failure:
    """A failing test, located: its line in the test file and the deepest workspace frame."""

    node_id: str
    test_path: str
    test_line: int
    message: str
    traceback: str
    deepest: Frame | None


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


@dataclass
class TestState:
    """The server's test state: known failures and the URIs that carry our diagnostics."""

    failures: dict[str, Failure] = field(default_factory=dict)
    published: set[str] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    rerun: bool = False
    runs_with: str = ""


# ---- the command ------------------------------------------------------------------------------
def is_python_project(root: Path) -> bool:
    """A marker file at the root, or Python files at the root or in `tests/`."""
    if any((root / name).exists() for name in PROJECT_MARKERS):
        return True
    return any(root.glob("*.py")) or any((root / "tests").glob("*.py"))


def uses_command(config: TestsConfig) -> bool:
    """Whether the `tests.command` setting replaces the default pytest run."""
    return bool(config.command.strip())


def interpreter(config: TestsConfig, root: Path) -> Interpreter:
    """The workspace's Python for the default run; `CommandError` when there is none."""
    try:
        return resolve(root, config.python)
    except NoInterpreter as exc:
        raise CommandError(str(exc)) from exc


def runs_with(config: TestsConfig, root: Path) -> str:
    """What runs the tests of `root`, in words (output channel, doctor)."""
    if uses_command(config):
        return f"{config.command.strip()} (codeflow.tests.command)"
    try:
        return interpreter(config, root).describe()
    except CommandError as exc:
        return str(exc)


async def scratch_python(config: TestsConfig, root: Path) -> Interpreter | None:
    """The interpreter a scratch copy of `root` runs its tests with (a runner's asked for its
    path); None when `tests.command` is set. Raises `CommandError`."""
    if uses_command(config):
        return None
    try:
        return await concrete(interpreter(config, root), root, float(config.timeout_s))
    except NoInterpreter as exc:
        raise CommandError(str(exc)) from exc


def build_command(
    config: TestsConfig,
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
    config: TestsConfig,
    targets: Sequence[str] = (),
    cwd: Path | None = None,
    python: Interpreter | None = None,
) -> RunResult:
    """Run the test command in `cwd` (default: `root`) and read its JUnit XML report. The
    default run uses `python`, else the interpreter resolved for `root` (the workspace)."""
    base = cwd or root
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


# ---- JUnit XML and tracebacks -----------------------------------------------------------------
def parse_junit(xml: str, base: Path) -> list[Outcome]:
    """The testcases of a JUnit XML report; `NotJUnit` when it is something else."""
    try:
        doc = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise NotJUnit(f"the test report is not JUnit XML ({exc})") from exc
    if doc.tag not in ("testsuites", "testsuite"):
        raise NotJUnit(f"the test report is not JUnit XML (root element <{doc.tag}>)")
    return [_outcome(case, base) for case in doc.iter("testcase")]


def _outcome(case: ET.Element, base: Path) -> Outcome:
    name = case.get("name", "")
    node_id, test_path = node_id_of(case.get("classname", ""), name, base)
    for status in ("failure", "error", "skipped"):
        child = case.find(status)
        if child is not None:
            kind = {"failure": "failed", "error": "error"}.get(status, "skipped")
            return Outcome(
                node_id, test_path, name, kind, child.get("message", ""), (child.text or "").strip()
            )
    return Outcome(node_id, test_path, name, "passed", "", "")


def node_id_of(classname: str, name: str, base: Path) -> tuple[str, str | None]:
    """pytest node id and test file from a JUnit classname (`pkg.test_mod.TestX`) and name."""
    parts = [p for p in classname.split(".") if p]
    for i in range(len(parts), 0, -1):
        rel = "/".join(parts[:i]) + ".py"
        if (base / rel).is_file():
            return "::".join([rel, *parts[i:], name]), rel
    return "::".join([*parts, name]), None


def _relative(path: str, base: Path) -> tuple[str, bool]:
    p = Path(path)
    full = (p if p.is_absolute() else base / p).resolve()
    try:
        rel = full.relative_to(base.resolve())
    except ValueError:
        return full.as_posix(), False
    return rel.as_posix(), not (set(rel.parts) & OUTSIDE_DIRS)


def parse_frames(traceback: str, base: Path) -> list[Frame]:
    """The `path:line:` entries of a pytest traceback, outermost first."""
    frames = []
    for m in FRAME.finditer(traceback):
        path, inside = _relative(m.group("path"), base)
        frames.append(Frame(path, int(m.group("line")) - 1, inside))
    return frames


def _def_line(base: Path, test_path: str, name: str) -> int:
    from .edits import function_named

    try:
        text = (base / test_path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return 0
    region = function_named(text, name.split("[")[0])
    return region.start_line if region else 0


def failure_of(outcome: Outcome, base: Path) -> Failure | None:
    """Locate a failed/errored outcome; None for passed/skipped or an unlocatable one."""
    if outcome.status not in ("failed", "error"):
        return None
    frames = parse_frames(outcome.traceback, base)
    test_path = outcome.test_path or next(
        (f.path for f in frames if f.inside and Path(f.path).name.startswith("test")), None
    )
    if test_path is None:
        return None
    in_test = [f for f in frames if f.path == test_path]
    test_line = in_test[-1].line if in_test else _def_line(base, test_path, outcome.name)
    inside = [f for f in frames if f.inside]
    deepest = inside[-1] if inside else None
    if deepest is not None and (deepest.path, deepest.line) == (test_path, test_line):
        deepest = None
    message = outcome.message or next(
        (ln[1:].strip() for ln in outcome.traceback.splitlines() if ln.startswith("E ")), "failed"
    )
    return Failure(outcome.node_id, test_path, test_line, message, outcome.traceback, deepest)


# ---- diagnostics ------------------------------------------------------------------------------
def _tail(traceback: str) -> str:
    lines = traceback.splitlines()
    return "\n".join(lines[-TRACEBACK_LINES:])


def _line_range(text: str, line: int) -> types.Range:
    lines = convert.split_lines(text)
    line = min(max(line, 0), len(lines) - 1)
    body = lines[line].rstrip("\r\n")
    start = len(body) - len(body.lstrip())
    return types.Range(
        convert.to_position(lines, line, start), convert.to_position(lines, line, len(body))
    )


def diagnostics_for(
    failures: Sequence[Failure], root: Path, read: Callable[[str], str]
) -> dict[str, list[types.Diagnostic]]:
    """Diagnostics per document URI for `failures` (`read(path)` gives a file's current text)."""
    out: dict[str, list[types.Diagnostic]] = {}

    def uri(path: str) -> str:
        return from_fs_path(str(root / path)) or (root / path).as_uri()

    for f in failures:
        test_loc = types.Location(uri(f.test_path), _line_range(read(f.test_path), f.test_line))
        body = f"{f.message}\n\n{_tail(f.traceback)}"
        related = []
        if f.deepest is not None:
            deep_loc = types.Location(
                uri(f.deepest.path), _line_range(read(f.deepest.path), f.deepest.line)
            )
            related = [
                types.DiagnosticRelatedInformation(deep_loc, "deepest frame in the workspace")
            ]
            back = [types.DiagnosticRelatedInformation(test_loc, f"failing test {f.node_id}")]
            out.setdefault(deep_loc.uri, []).append(
                _diagnostic(deep_loc.range, f"{f.node_id} failed here: {body}", f.node_id, back)
            )
        out.setdefault(test_loc.uri, []).append(
            _diagnostic(test_loc.range, f"{f.node_id} failed: {body}", f.node_id, related)
        )
    return out


def _diagnostic(
    rng: types.Range, message: str, node_id: str, related: list[types.DiagnosticRelatedInformation]
) -> types.Diagnostic:
    return types.Diagnostic(
        range=rng,
        message=message,
        severity=types.DiagnosticSeverity.Error,
        source=SOURCE,
        code=node_id,
        related_information=related or None,
        data={"nodeId": node_id},
    )


# ---- server glue ------------------------------------------------------------------------------
def state(ls: CodeflowServer) -> TestState:
    """The server's `TestState` (created on first use)."""
    st = getattr(ls, "tests_state", None)
    if st is None:
        st = TestState()
        ls.tests_state = st  # type: ignore[attr-defined]
    return st


def reader(ls: CodeflowServer, root: Path) -> Callable[[str], str]:
    """`read(path)`: a workspace file's open buffer, else its text on disk ('' if unreadable)."""

    def read(path: str) -> str:
        text = ls.document_text(from_fs_path(str(root / path)) or "")
        if text is not None:
            return text
        try:
            return (root / path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return ""

    return read


def publish(ls: CodeflowServer, root: Path) -> int:
    """Publish diagnostics for the known failures; clear URIs that no longer have any."""
    st = state(ls)
    by_uri = diagnostics_for(list(st.failures.values()), root, reader(ls, root))
    for uri in st.published - set(by_uri):
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, []))
    for uri, diags in by_uri.items():
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, diags))
    st.published = set(by_uri)
    return sum(len(d) for d in by_uri.values())


def _scope(ls: CodeflowServer, uri: str | None) -> str | None:
    """The test file to run alone when `uri` is one; None means the whole suite."""
    path = ls.path_of(uri) if uri else None
    if path and Path(path).name.startswith("test") and path.endswith(".py"):
        return path
    return None


def _record(ls: CodeflowServer, root: Path, result: RunResult, scope: str | None) -> None:
    st = state(ls)
    if scope is None:
        st.failures.clear()
    else:
        for key in [k for k in st.failures if k == scope or k.startswith(scope + "::")]:
            del st.failures[key]
    for outcome in result.outcomes:
        failure = failure_of(outcome, root)
        if failure is not None:
            st.failures[failure.node_id] = failure


def show(ls: CodeflowServer, level: types.MessageType, message: str) -> None:
    """`window/showMessage` (every time: the user asked for this)."""
    ls.window_show_message(types.ShowMessageParams(level, message))


def refusal(ls: CodeflowServer) -> str | None:
    """Why tests must not run now (no workspace, not trusted), or None."""
    if ls.root is None:
        return "codeflow: tests not run: there is no workspace folder"
    if not ls.config.tests.trusted:
        return (
            "codeflow: tests not run: this workspace is not trusted; set codeflow.tests.trusted "
            "to true to let codeflow run its test command"
        )
    return None


async def run_and_publish(ls: CodeflowServer, uri: str | None) -> dict[str, Any]:
    """Run the tests (serialised), publish diagnostics, say what happened."""
    reason = refusal(ls)
    if reason is not None:
        show(ls, types.MessageType.Warning, reason)
        return {"ran": False, "message": reason}
    root, scope = ls.root, _scope(ls, uri)
    assert root is not None
    async with state(ls).lock, Progress(ls, "codeflow: running tests") as progress:
        result = await run_tests(root, ls.config.tests, [scope] if scope else [])
        say_runs_with(ls, result.runs_with)
        if not result.ok:
            progress.finish("failed")
            show(ls, types.MessageType.Error, result.message)
            return {"ran": False, "message": result.message, "seconds": result.seconds}
        _record(ls, root, result, scope)
        count = publish(ls, root)
        summary = _summary(result)
        progress.finish(summary)
    return {
        "ran": True,
        "passed": result.count("passed"),
        "failed": result.count("failed"),
        "errors": result.count("error"),
        "skipped": result.count("skipped"),
        "diagnostics": count,
        "seconds": result.seconds,
        "message": summary,
    }


def say_runs_with(ls: CodeflowServer, what: str) -> None:
    """`window/logMessage` (the output channel): what runs the tests, when that changes."""
    st = state(ls)
    if what and what != st.runs_with:
        st.runs_with = what
        message = f"codeflow: tests run with {what}"
        log.info(message)
        ls.window_log_message(types.LogMessageParams(types.MessageType.Info, message))


def _summary(result: RunResult) -> str:
    bad = result.count("failed") + result.count("error")
    return f"{bad} failed, {result.count('passed')} passed"


class Progress:
    """Server-initiated `$/progress` (silently absent when the client cannot show it)."""

    def __init__(self, ls: CodeflowServer, title: str) -> None:
        self.ls, self.title, self.token = ls, title, f"codeflow-work-{next(_progress_ids)}"
        self.active = False
        self._end = ""

    async def __aenter__(self) -> Progress:
        window = self.ls.client_capabilities.window
        if window and window.work_done_progress:
            try:
                await self.ls.work_done_progress.create_async(self.token)
                self.active = True
            except Exception:  # noqa: BLE001 - a client that refuses progress still gets the work
                log.debug("progress refused", exc_info=True)
        if self.active:
            begin = types.WorkDoneProgressBegin(title=self.title, cancellable=True)
            self.ls.work_done_progress.begin(self.token, begin)
        return self

    def report(self, message: str, percentage: int | None = None) -> None:
        """A progress step."""
        if self.active:
            report = types.WorkDoneProgressReport(message=message, percentage=percentage)
            self.ls.work_done_progress.report(self.token, report)

    def finish(self, message: str) -> None:
        """The message the end notification carries."""
        self._end = message

    async def __aexit__(self, *exc: object) -> None:
        if self.active:
            end = types.WorkDoneProgressEnd(message=self._end or ("cancelled" if exc[0] else ""))
            self.ls.work_done_progress.end(self.token, end)


def on_save(ls: CodeflowServer, uri: str) -> None:
    """didSave: run the tests when `tests.runOnSave` is on (once more if a run is going)."""
    if not ls.config.tests.run_on_save:
        return
    if refusal(ls) is not None:
        ls.report("warning", refusal(ls) or "")
        return
    st = state(ls)
    if st.lock.locked():
        st.rerun = True
        return
    asyncio.ensure_future(_save_run(ls))


async def _save_run(ls: CodeflowServer) -> None:
    st = state(ls)
    while True:
        st.rerun = False
        await run_and_publish(ls, None)
        if not st.rerun:
            return


def register(server: CodeflowServer) -> None:
    """Attach `codeflow.runTests`."""
    server.tests_state = TestState()  # type: ignore[attr-defined]

    @server.command("codeflow.runTests")
    async def run_tests_command(ls: CodeflowServer, *args: Any) -> dict[str, Any]:
        arg = convert.plain(args[0]) if args else None
        uri = arg.get("uri") if isinstance(arg, dict) else arg
        return await run_and_publish(ls, str(uri) if uri else None)

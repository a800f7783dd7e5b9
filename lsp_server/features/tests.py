"""Running the workspace's tests: `codeflow.runTests` and run-on-save; failures → diagnostics.

Tests run only when the user asks (the command, or saving with `tests.runOnSave`) and only in a
trusted workspace (`tests.trusted`); otherwise a message says so and nothing runs. The run, its
report and the failure locations are `actions.runner`'s and `actions.reports`'; the output
channel says what runs the tests.

Each failing test becomes a diagnostic (source `codeflow-tests`, code = its node id) on its
line in the test file, plus one on the deepest traceback frame inside the workspace when that is
elsewhere; each carries the failure message and the traceback. A new run clears the diagnostics
of files whose tests now pass. `Failure`s are kept for the "Fix failing test" action.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.uris import from_fs_path

from actions.reports import Failure, failure_of
from actions.runner import RunResult, run_tests

from .. import convert
from ..server import CodeflowServer  # runtime import: pygls resolves command annotations
from .failure_diagnostics import SOURCE, diagnostics_for
from .ui import Progress, show

__all__ = ["SOURCE", "TestState", "on_save", "publish", "register", "run_and_publish", "state"]

log = logging.getLogger(__name__)


@dataclass
class TestState:
    """The server's test state: known failures and the URIs that carry our diagnostics."""

    failures: dict[str, Failure] = field(default_factory=dict)
    published: set[str] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    rerun: bool = False
    runs_with: str = ""


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


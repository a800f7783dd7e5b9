"""A raw JSON-RPC client for abusing a real `codeflow serve` process.

Unlike pytest-lsp's client it sends every request as plain JSON (so malformed params reach the
server untouched), counts every response per request id (to check "exactly one response"),
answers the server's own requests (configuration, progress, applyEdit) and keeps what the server
sent: show/log messages, `$/progress`, `codeflow/status`, `workspace/applyEdit` edits.

`Server` owns the process and its event loop on a background thread, so sync tests (and
hypothesis) can drive one long-lived server through many generated sessions.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.protocol import JsonRPCResponseMessage, default_converter

REPO = Path(__file__).resolve().parents[2]
SITE = Path(__file__).resolve().parent / "site"
SERVER = [sys.executable, "-m", "lsp_server.cli", "serve"]
SOAK = os.environ.get("CODEFLOW_SOAK") == "1"


def scale(normal: int, soak: int) -> int:
    """A count for this mode: `soak` under CODEFLOW_SOAK=1, else `normal`."""
    return soak if SOAK else normal


def server_env(cache: Path, **extra: str) -> dict[str, str]:
    """The server's environment: isolated cache, test-only commands, our sitecustomize."""
    env = dict(os.environ)
    env.update(
        CODEFLOW_CACHE_DIR=str(cache),
        CODEFLOW_TEST_COMMANDS="1",
        PYTHONPATH=os.pathsep.join([str(SITE), str(REPO)]),
        OMP_NUM_THREADS="1",
    )
    env.pop("CODEFLOW_SOAK", None)
    env.update(extra)
    return env


def write_script(path: Path, outputs: list[str], prompt_log: Path | None = None) -> Path:
    """A scripted-backend script (see `lsp_server/testing.py`)."""
    data: dict[str, Any] = {"outputs": outputs}
    if prompt_log is not None:
        data["promptLog"] = str(prompt_log)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def capabilities(apply_edit: bool = True, create_files: bool = False) -> dict[str, Any]:
    """Client capabilities as plain JSON: UTF-16, progress, inline completion, code actions
    (with `create_files`, workspace edits may create files, as VS Code's may)."""
    workspace: dict[str, Any] = {"configuration": True, "applyEdit": apply_edit}
    if create_files:
        workspace["workspaceEdit"] = {"documentChanges": True, "resourceOperations": ["create"]}
    return {
        "general": {"positionEncodings": ["utf-16"]},
        "window": {"workDoneProgress": True},
        "workspace": workspace,
        "textDocument": {
            "synchronization": {"didSave": True},
            "inlineCompletion": {},
            "completion": {},
            "codeAction": {
                "dataSupport": True,
                "resolveSupport": {"properties": ["edit"]},
            },
        },
    }


@dataclass
class Reply:
    """One response: a result or an error (code, message, data)."""

    method: str
    result: Any = None
    error: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """Whether the response carries a result."""
        return self.error is None


@dataclass
class Seen:
    """What the server sent us."""

    responses: collections.Counter[Any] = field(default_factory=collections.Counter)
    stray_responses: list[Any] = field(default_factory=list)
    messages: list[tuple[int, str]] = field(default_factory=list)
    logs: list[tuple[int, str]] = field(default_factory=list)
    progress: list[Any] = field(default_factory=list)
    status: list[dict[str, Any]] = field(default_factory=list)
    applied_edits: list[Any] = field(default_factory=list)
    diagnostics: dict[str, Any] = field(default_factory=dict)


def _converter() -> Any:
    """pygls' converter, but results stay plain JSON (pygls turns them into namedtuples,
    renaming keys such as URIs to `_0`)."""
    converter = default_converter()
    converter.register_structure_hook(JsonRPCResponseMessage, lambda obj, cls: cls(**obj))
    return converter


class _Client(LanguageClient):
    """A pygls client whose protocol counts responses and hands back plain JSON."""

    def __init__(self, seen: Seen) -> None:
        super().__init__("codeflow-robustness", "0", converter_factory=_converter)
        self.seen = seen
        self.pending: dict[Any, tuple[str, asyncio.Future[Reply]]] = {}
        self.apply_result = True
        proto = self.protocol
        original = proto.handle_message

        def handle_message(message: Any) -> None:
            # Responses (results and errors) never reach pygls' own bookkeeping: we count them.
            if not hasattr(message, "method") and hasattr(message, "id"):
                self._on_response(message)
                return
            original(message)

        proto.handle_message = handle_message  # type: ignore[method-assign]
        self._register()

    def _on_response(self, message: Any) -> None:
        msg_id = message.id
        self.seen.responses[msg_id] += 1
        entry = self.pending.pop(msg_id, None)
        if entry is None:
            self.seen.stray_responses.append(msg_id)
            return
        method, fut = entry
        error = getattr(message, "error", None)
        if error is not None:
            err = error if isinstance(error, dict) else _plain(error)
            reply = Reply(method, None, err)
        else:
            reply = Reply(method, _plain(getattr(message, "result", None)))
        if not fut.done():
            fut.set_result(reply)

    def _register(self) -> None:
        seen = self.seen

        @self.feature(types.WINDOW_SHOW_MESSAGE)
        def show(params: Any) -> None:
            seen.messages.append((int(params.type), params.message))

        @self.feature(types.WINDOW_LOG_MESSAGE)
        def log(params: Any) -> None:
            seen.logs.append((int(params.type), params.message))

        @self.feature(types.WORKSPACE_CONFIGURATION)
        def configuration(params: Any) -> list[Any]:
            return [None for _ in params.items]

        @self.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def create(params: Any) -> None:
            return None

        @self.feature(types.PROGRESS)
        def progress(params: Any) -> None:
            seen.progress.append(_plain(params))

        @self.feature("codeflow/status")
        def status(params: Any) -> None:
            seen.status.append(_plain(params))

        @self.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def diagnostics(params: Any) -> None:
            seen.diagnostics[params.uri] = params.diagnostics

        @self.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(params: Any) -> types.ApplyWorkspaceEditResult:
            seen.applied_edits.append(_plain(params.edit))
            return types.ApplyWorkspaceEditResult(applied=self.apply_result)


def _plain(obj: Any) -> Any:
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    if hasattr(obj, "_asdict"):
        return {k: _plain(v) for k, v in obj._asdict().items()}
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if hasattr(obj, "__attrs_attrs__"):
        from lsprotocol import converters

        return converters.get_converter().unstructure(obj)
    return obj


class Server:
    """A `codeflow serve` process driven from a private event loop thread.

    `call(coro)` runs a coroutine on that loop and waits for it; the async helpers (`request`,
    `notify`, ...) are meant to be awaited inside such coroutines.
    """

    def __init__(self, env: dict[str, str], cwd: Path | None = None) -> None:
        self.env = env
        self.cwd = cwd
        self.seen = Seen()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._ids = itertools.count(1)
        self.sent: list[Any] = []
        self.stderr = bytearray()
        self.client: _Client = self.call(self._start())

    # ---- plumbing ---------------------------------------------------------------------------
    def call(self, coro: Any, timeout: float = 300.0) -> Any:
        """Run `coro` on the server's loop and return its result."""
        fut: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout)

    async def _start(self) -> _Client:
        client = _Client(self.seen)
        kwargs: dict[str, Any] = {"env": self.env}
        if self.cwd is not None:
            kwargs["cwd"] = str(self.cwd)
        await client.start_io(*SERVER, **kwargs)
        proc = client._server
        assert proc is not None and proc.stderr is not None

        async def drain() -> None:
            while chunk := await proc.stderr.read(65536):
                self.stderr.extend(chunk[-65536:])
                del self.stderr[:-262144]

        self._drain = asyncio.ensure_future(drain())
        return client

    @property
    def pid(self) -> int:
        """The server process id."""
        proc = self.client._server
        assert proc is not None
        return proc.pid

    def alive(self) -> bool:
        """Whether the server process is still running."""
        proc = self.client._server
        return proc is not None and proc.returncode is None

    # ---- messages ----------------------------------------------------------------------------
    def send_raw(self, payload: dict[str, Any]) -> None:
        """Send one JSON-RPC message as is (call on the loop)."""
        body = json.dumps(payload)
        data = f"Content-Length: {len(body.encode())}\r\n\r\n{body}".encode()
        self.client.protocol.writer.write(data)  # type: ignore[union-attr]

    def send_bytes(self, data: bytes) -> None:
        """Send raw bytes (framing included) to the server (call on the loop)."""
        self.client.protocol.writer.write(data)  # type: ignore[union-attr]

    def start_request(self, method: str, params: Any) -> tuple[Any, asyncio.Future[Reply]]:
        """Send a request; returns (id, future of its Reply). Call on the loop."""
        msg_id = next(self._ids)
        fut: asyncio.Future[Reply] = self.loop.create_future()
        self.client.pending[msg_id] = (method, fut)
        self.sent.append(msg_id)
        self.send_raw({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return msg_id, fut

    async def request(self, method: str, params: Any, timeout: float = 60.0) -> Reply:
        """Send a request and await its reply."""
        _, fut = self.start_request(method, params)
        return await asyncio.wait_for(fut, timeout)

    def notify(self, method: str, params: Any) -> None:
        """Send a notification (call on the loop)."""
        self.send_raw({"jsonrpc": "2.0", "method": method, "params": params})

    def cancel(self, msg_id: Any) -> None:
        """`$/cancelRequest` for `msg_id` (call on the loop)."""
        self.notify("$/cancelRequest", {"id": msg_id})

    async def initialize(
        self, root: Path | None, options: dict[str, Any] | None = None, apply_edit: bool = True,
        create_files: bool = False,
    ) -> Reply:
        """initialize + initialized."""
        params = {
            "processId": os.getpid(),
            "rootUri": root.as_uri() if root else None,
            "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}] if root else None,
            "capabilities": capabilities(apply_edit, create_files),
            "initializationOptions": options,
        }
        reply = await self.request("initialize", params)
        self.notify("initialized", {})
        return reply

    async def wait_ready(self, model: bool = True, timeout: float = 120.0) -> dict[str, Any]:
        """Poll `codeflow/_stats` until the index (and the model) are ready."""
        deadline = time.monotonic() + timeout
        while True:
            stats = (await self.request("codeflow/_stats", {})).result
            if stats["index_ready"] and (stats["model_loaded"] or not model):
                return stats
            if time.monotonic() > deadline:
                raise AssertionError(f"server not ready: {stats}")
            await asyncio.sleep(0.1)

    async def document(self, uri: str) -> dict[str, Any]:
        """The server's copy of an open document (`codeflow/_document`)."""
        reply = await self.request("codeflow/_document", {"uri": uri})
        assert reply.ok, reply.error
        return reply.result

    def open(self, uri: str, text: str, version: int = 1, language: str = "python") -> None:
        """didOpen (call on the loop)."""
        item = {"uri": uri, "languageId": language, "version": version, "text": text}
        self.notify("textDocument/didOpen", {"textDocument": item})

    def change(self, uri: str, version: int, changes: list[dict[str, Any]]) -> None:
        """didChange (call on the loop)."""
        params = {"textDocument": {"uri": uri, "version": version}, "contentChanges": changes}
        self.notify("textDocument/didChange", params)

    async def quiesce(self, timeout: float = 60.0) -> None:
        """Wait until every request sent so far has its response."""
        deadline = time.monotonic() + timeout
        while self.client.pending and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    # ---- shutdown ----------------------------------------------------------------------------
    async def _stop(self) -> int | None:
        proc = self.client._server
        if proc is not None and proc.returncode is None:
            try:
                await asyncio.wait_for(self.request("shutdown", None), 20)
                self.notify("exit", None)
                await asyncio.wait_for(proc.wait(), 20)
            except (TimeoutError, ConnectionError, RuntimeError):
                proc.kill()
                await proc.wait()
        self.client._stop_event.set()
        self._drain.cancel()
        return proc.returncode if proc is not None else None

    def stop(self) -> int | None:
        """Shut the server down (kill it if it does not exit) and stop the loop."""
        try:
            return self.call(self._stop(), timeout=60)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)


def no_traceback(reply: Reply) -> bool:
    """Whether an error reply is free of Python tracebacks."""
    if reply.error is None:
        return "Traceback (most recent call last)" not in json.dumps(reply.result)
    return "Traceback" not in json.dumps(reply.error) and "File \"" not in json.dumps(reply.error)


def temp_cache() -> Path:
    """A fresh cache dir for one server."""
    return Path(tempfile.mkdtemp(prefix="codeflow-robust-cache-"))

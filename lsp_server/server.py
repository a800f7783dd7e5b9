"""The codeflow language server: state on a `LanguageServer` subclass, lifecycle and sync handlers.

Feature handlers (completion, code actions, chat, tests) are registered from `handlers.py`; the
work they do lives in `features/`. Everything slow runs on the CPU pool or the inference worker.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument, Workspace
from pygls.workspace.position_codec import PositionCodec, ServerTextPosition, ServerTextRange

from . import convert
from .config import Config, parse_config
from .logs import EditorLogHandler
from .services import Services
from .workers import CpuPool, InferenceWorker, Supersede

log = logging.getLogger(__name__)
VERSION = "0.1.0"


class LspPositionCodec(PositionCodec):
    """UTF-16 columns read the way `convert.clamp_position` reads them: past a line's end is its
    end, past the last line is the end of the document, inside a surrogate pair is before that
    character; an inverted range is read start-first. (pygls would put (0, 4) of "abc\\n" after
    the newline and (0, 9) of a last line "abc" before the "c".)"""

    def position_from_client_units(
        self, lines: Any, position: types.Position
    ) -> ServerTextPosition:
        if not lines:
            return ServerTextPosition(0, 0)
        if position.line >= len(lines):
            return ServerTextPosition(len(lines) - 1, len(lines[-1]))
        line, col = convert.clamp_position(lines, position.line, position.character)
        return ServerTextPosition(line, col)

    def range_from_client_units(self, lines: Any, range: types.Range) -> ServerTextRange:
        a = self.position_from_client_units(lines, range.start)
        b = self.position_from_client_units(lines, range.end)
        return ServerTextRange(min(a, b), max(a, b))


class LspTextDocument(TextDocument):
    """Lines end only at \\n, \\r\\n or \\r, as in the client (not at \\f, \\x85, U+2028...)."""

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(convert.lsp_lines(self.source))


class LspWorkspace(Workspace):
    """A pygls workspace whose documents are `LspTextDocument`s with an `LspPositionCodec`."""

    def _create_text_document(
        self, doc_uri: str, source: str | None = None, version: int | None = None,
        language_id: str | None = None,
    ) -> TextDocument:
        return LspTextDocument(
            doc_uri, source=source, version=version, language_id=language_id,
            sync_kind=self._sync_kind, position_codec=LspPositionCodec(),
        )


class CodeflowProtocol(LanguageServerProtocol):
    """Never sends Python tracebacks to the client; the log file keeps them."""

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams) -> Any:
        """Always UTF-16 positions (what `convert` speaks), and LSP line endings for documents."""
        general = params.capabilities.general
        if general is not None and general.position_encodings:
            general.position_encodings = [types.PositionEncodingKind.Utf16]
        result = yield from super().lsp_initialize(params)
        self._workspace.__class__ = LspWorkspace
        return result

    def _send_response(self, msg_id: Any, result: Any = None, error: Any = None) -> None:
        if error is not None and getattr(error, "data", None):
            data = error.data
            if isinstance(data, dict) and "traceback" in data:
                error.data = None
        super()._send_response(msg_id, result, error)

    def structure_message(self, data: dict[str, Any]) -> Any:
        """A request whose params do not fit its method still gets its one (error) response."""
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if isinstance(data, dict) and "id" in data and "method" in data:
                self._send_response(data["id"], None, exc.to_response_error())
            raise


class CodeflowServer(LanguageServer):
    """Server state: config, workers, services, open-document shadows, metrics."""

    def __init__(self) -> None:
        super().__init__("codeflow", VERSION, protocol_cls=CodeflowProtocol)
        self.config = Config()
        self.base_log_level = logging.getLogger().level  # `codeflow serve --log-level`
        self.loop: asyncio.AbstractEventLoop | None = None
        self.root: Path | None = None
        self.cpu = CpuPool(2)
        self.inference = InferenceWorker()
        self.supersede = Supersede()
        self.services = Services(None, self.config, self.report)
        self.shadows: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self._shown: set[str] = set()
        self.status_state: dict[str, Any] = {"state": "idle", "model": "", "device": "cpu"}
        self.started = time.monotonic()
        self.test_commands = os.environ.get("CODEFLOW_TEST_COMMANDS") == "1"
        # set by the features when they register (completion, metrics, tests, fixes)
        self.completion: Any = None
        self.metrics: Any = None
        self.tests_state: Any = None
        self.fix_results: Any = None

    # ---- messages to the editor ----------------------------------------------------------------
    def report(self, level: str, message: str) -> None:
        """Show a message once per distinct text (thread-safe), and log it."""
        getattr(log, level if level in ("error", "warning", "info") else "info")(message)
        if message in self._shown:
            return
        self._shown.add(message)
        kind = {
            "error": types.MessageType.Error,
            "warning": types.MessageType.Warning,
        }.get(level, types.MessageType.Info)
        self.call_soon(self.window_show_message, types.ShowMessageParams(kind, message))

    def call_soon(self, fn: Any, *args: Any) -> None:
        """Run `fn(*args)` on the event loop from any thread."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            fn(*args)
        else:
            loop.call_soon_threadsafe(fn, *args)

    def status(self, **fields: Any) -> None:
        """Update and send the `codeflow/status` notification."""
        self.status_state.update(fields)
        self.call_soon(self.protocol.notify, "codeflow/status", dict(self.status_state))

    def log_to_editor(self, level: int, text: str) -> None:
        """`window/logMessage` from any thread."""
        kind = (
            types.MessageType.Error
            if level >= logging.ERROR
            else types.MessageType.Warning
            if level >= logging.WARNING
            else types.MessageType.Info
        )
        self.call_soon(self.window_log_message, types.LogMessageParams(kind, text))

    # ---- configuration ---------------------------------------------------------------------------
    def apply_config(self, raw: Any) -> list[str]:
        """Parse settings, show each new problem once, and swap services when needed."""
        config, problems = parse_config(raw)
        for problem in problems:
            self.report("warning", f"codeflow: bad setting: {problem}")
        old = self.config
        self.config = config
        self.services.config = config
        logging.getLogger().setLevel(config.log_level or self.base_log_level)
        model_changed = (old.model_path, old.provider, old.backend, old.threads, old.remote) != (
            config.model_path,
            config.provider,
            config.backend,
            config.threads,
            config.remote,
        )
        if model_changed and self.services.backend is not None:
            self.services.backend = None
        return problems

    # ---- documents -------------------------------------------------------------------------------
    def path_of(self, uri: str) -> str | None:
        """Workspace-relative POSIX path of a document URI (None when outside the workspace)."""
        fs = to_fs_path(uri)
        if fs is None or self.root is None:
            return None
        try:
            return Path(fs).resolve().relative_to(self.root).as_posix()
        except ValueError:
            return None

    def document_text(self, uri: str) -> str | None:
        """The server's copy of an open document, or None."""
        try:
            return self.workspace.get_text_document(uri).source
        except (KeyError, OSError, UnicodeDecodeError):
            return None

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Out-of-band errors are logged, not shown as 'Error in server: <traceback>'."""
        if isinstance(error, JsonRpcException):
            log.warning("protocol error: %s", error)
        else:
            log.error("server error: %s", error)


def make_editor_log_handler(server: CodeflowServer) -> logging.Handler:
    """A handler that forwards warnings and errors to `window/logMessage`."""
    return EditorLogHandler(server.log_to_editor, logging.WARNING)

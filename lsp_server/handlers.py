"""LSP handlers: lifecycle, document sync, configuration, background start-up.

Handlers are thin: read params, call a service or feature off the loop, convert, return.
Feature requests (completion, code actions, chat, tests) are registered by `features/`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.uris import to_fs_path

from context.index.edits import common_prefix, common_suffix
from inference.cancel import Cancelled, CancelToken

from . import convert
from .server import CodeflowServer, make_editor_log_handler
from .services import Services
from .workers import Priority

log = logging.getLogger(__name__)
INDEX_DEBOUNCE_S = 0.15
_progress_ids = itertools.count(1)


def register(server: CodeflowServer) -> None:
    """Attach every handler to `server`."""
    _register_lifecycle(server)
    _register_sync(server)
    if server.test_commands:
        _register_test_only(server)
    from .features import register_features

    register_features(server)


# ---- lifecycle ----
def _register_lifecycle(server: CodeflowServer) -> None:
    @server.feature(types.INITIALIZE)
    def initialize(ls: CodeflowServer, params: types.InitializeParams) -> None:
        ls.loop = asyncio.get_running_loop()
        ls.root = _workspace_root(params)
        logging.getLogger().addHandler(make_editor_log_handler(ls))
        ls.apply_config(params.initialization_options)
        ls.services = Services(ls.root, ls.config, ls.report)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: CodeflowServer, params: types.InitializedParams) -> None:
        ls.status(state="starting")
        asyncio.ensure_future(start_background(ls))

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: CodeflowServer, params: Any) -> None:
        ls.supersede.cancel_all()
        if ls.metrics is not None:
            ls.metrics.save()
        ls.services.close()
        ls.inference.stop()

    @server.feature(types.EXIT)
    def exit_(ls: CodeflowServer, params: Any) -> None:
        # Worker threads (a model mid-prefill, a watcher, native pools) must neither keep the
        # process alive nor crash it during interpreter teardown: leave at once.
        code = 0 if ls.protocol._shutdown else 1
        ls.services.close()
        logging.shutdown()
        os._exit(code)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: CodeflowServer, params: types.DidChangeConfigurationParams
    ) -> None:
        settings = convert.plain(params.settings)
        if not settings and _client_pulls_config(ls):
            items = [types.ConfigurationItem(section="codeflow")]
            result = await ls.workspace_configuration_async(types.ConfigurationParams(items))
            settings = convert.plain(result[0]) if result else None
        if settings is None:
            return
        old_model = ls.services.model_dir() if ls.services else None
        ls.apply_config(settings)
        if ls.services.backend is None and old_model is not None:
            ls.status(state="loading")
            ls.inference.submit(lambda _t: _load_model(ls), Priority.WARMUP, CancelToken())


def _client_pulls_config(ls: CodeflowServer) -> bool:
    ws = ls.client_capabilities.workspace
    return bool(ws and ws.configuration)


def _workspace_root(params: types.InitializeParams) -> Path | None:
    uri = None
    if params.workspace_folders:
        uri = params.workspace_folders[0].uri
    elif params.root_uri:
        uri = params.root_uri
    path = to_fs_path(uri) if uri else params.root_path
    if not path:
        return None
    root = Path(path).resolve()
    return root if root.is_dir() else None


async def start_background(ls: CodeflowServer) -> None:
    """Index, ingest history and load the model, with progress and status."""
    try:
        await _index_with_progress(ls)
        await ls.cpu.run(ls.services.build_history, None)
    finally:
        ls.status(state="loading")
        await ls.inference.run(lambda _t: _load_model(ls), Priority.WARMUP, CancelToken())


def _load_model(ls: CodeflowServer) -> None:
    backend = ls.services.load_backend()
    if backend is None:
        ls.status(state="error", message=ls.services.backend_error or "model not loaded")
        return
    spec = getattr(backend, "spec", None)
    ls.status(
        state="idle",
        model=str(getattr(spec, "name", "") or ""),
        device=str(getattr(backend, "device", "cpu")),
        message="",
    )


async def _index_with_progress(ls: CodeflowServer) -> None:
    if ls.root is None:
        return
    token = f"codeflow-index-{next(_progress_ids)}"
    use_progress = _client_supports_progress(ls)
    if use_progress:
        try:
            await ls.work_done_progress.create_async(token)
        except Exception:  # noqa: BLE001 - a client that refuses progress still gets indexed
            use_progress = False
    if use_progress:
        ls.work_done_progress.begin(
            token, types.WorkDoneProgressBegin(title="codeflow: indexing", percentage=0)
        )
    ls.status(state="indexing", indexing={"done": 0, "total": 0})
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < 0.2 and done < total:
            return
        last[0] = now
        pct = int(100 * done / total) if total else 100
        ls.status(state="indexing", indexing={"done": done, "total": total})
        if use_progress:
            ls.call_soon(
                ls.work_done_progress.report,
                token,
                types.WorkDoneProgressReport(message=f"{done}/{total} files", percentage=pct),
            )

    stats = await ls.cpu.run(ls.services.build_index, progress, None)
    if use_progress:
        msg = f"{getattr(stats, 'files', 0)} files" if stats else "index unavailable"
        ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=msg))
    ls.status(state="idle", indexing=None)


def _client_supports_progress(ls: CodeflowServer) -> bool:
    window = ls.client_capabilities.window
    return bool(window and window.work_done_progress)


# ---- document sync ----
def _register_sync(server: CodeflowServer) -> None:
    timers: dict[str, asyncio.TimerHandle] = {}

    def schedule_index(ls: CodeflowServer, uri: str) -> None:
        old = timers.pop(uri, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        timers[uri] = loop.call_later(INDEX_DEBOUNCE_S, lambda: _push_buffer(ls, uri))

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: CodeflowServer, params: types.DidOpenTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.shadows[uri] = params.text_document.text
        ls.versions[uri] = params.text_document.version
        _prewarm(ls, uri, params.text_document.version, lambda: schedule_index(ls, uri))

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: CodeflowServer, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        new = ls.document_text(uri)
        if new is None:
            return
        old = ls.shadows.get(uri, "")
        ls.shadows[uri] = new
        ls.versions[uri] = params.text_document.version
        _record_edit(ls, uri, old, new)
        ls.completion.typing.edit(uri)
        schedule_index(ls, uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: CodeflowServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.shadows.pop(uri, None)
        ls.versions.pop(uri, None)
        ls.supersede.begin(("completion", uri)).cancel("closed")
        path = ls.path_of(uri)
        index = ls.services.index
        if path is not None and index is not None:
            ls.cpu.submit(index.close_buffer, path)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: CodeflowServer, params: types.DidSaveTextDocumentParams) -> None:
        from .features import tests as test_feature

        test_feature.on_save(ls, params.text_document.uri)


def _push_buffer(ls: CodeflowServer, uri: str) -> None:
    path, text, index = ls.path_of(uri), ls.shadows.get(uri), ls.services.index
    if path is None or text is None or index is None:
        return
    ls.cpu.submit(_safe_update, index, path, convert.scrub(text))


def _prewarm(ls: CodeflowServer, uri: str, version: int, index_now: Callable[[], None]
             ) -> None:
    """Start a just-opened file's slow context work (blame, co-change, repo map, and its index
    entry) off the loop. These are warm-ups: they wait while a completion is in flight (the
    index entry of a 9K-line file is half a second of parsing and extracting that would
    otherwise compete with the first completion for the CPU). Until the entry lands the index
    answers from the disk's copy, so this is only done when the opened text is the disk's;
    otherwise, or without an assembler, the entry is pushed now (``index_now``)."""
    path = ls.path_of(uri)
    if path is None:
        index_now()
        return
    loop = asyncio.get_running_loop()

    def run() -> None:
        try:
            assembler = ls.services.assembler()
            if assembler is not None and _same_as_disk(ls, uri, path):
                assembler.defer(lambda: _push_if_current(ls, uri, version))
            else:
                loop.call_soon_threadsafe(index_now)
            if assembler is not None:
                assembler.prewarm(path, ls.shadows.get(uri))
        except Exception:  # noqa: BLE001 - warming is best effort
            log.exception("context prewarm failed for %s", path)
            loop.call_soon_threadsafe(index_now)

    ls.cpu.submit(run)


def _same_as_disk(ls: CodeflowServer, uri: str, path: str) -> bool:
    text = ls.shadows.get(uri)
    try:
        return ls.root is not None and text is not None and \
            (Path(ls.root) / path).read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False


def _push_if_current(ls: CodeflowServer, uri: str, version: int) -> None:
    """The opened text into the index, unless the document changed or closed since (its
    edits push their own text)."""
    if ls.versions.get(uri) != version:
        return
    path, text, index = ls.path_of(uri), ls.shadows.get(uri), ls.services.index
    if path is not None and text is not None and index is not None:
        _safe_update(index, path, convert.scrub(text))


def _source_stats(ls: CodeflowServer) -> dict[str, Any]:
    assembler = ls.services.cached_assembler()
    return assembler.source_stats() if assembler is not None else {}


def _safe_update(index: Any, path: str, text: str) -> None:
    try:
        index.update_buffer(path, text)
    except Exception:  # noqa: BLE001 - a bad buffer must not kill the worker
        log.exception("index update failed for %s", path)


def _record_edit(ls: CodeflowServer, uri: str, old: str, new: str) -> None:
    ring, path = ls.services.edit_ring, ls.path_of(uri)
    if ring is None or path is None or old == new:
        return
    start = common_prefix(old, new)
    tail = common_suffix(old, new, min(len(old), len(new)) - start)
    end_old, end_new = len(old) - tail, len(new) - tail
    line_start = old.rfind("\n", 0, start) + 1
    line_end_old = old.find("\n", end_old)
    line_end_new = new.find("\n", end_new)
    before = old[line_start : len(old) if line_end_old < 0 else line_end_old]
    after = new[line_start : len(new) if line_end_new < 0 else line_end_new]
    try:
        line = old.count("\n", 0, line_start)
        ring.record(path, line, convert.scrub(before), convert.scrub(after))
    except Exception:  # noqa: BLE001 - the ring is best effort
        log.debug("edit ring record failed", exc_info=True)


# ---- test-only requests (CODEFLOW_TEST_COMMANDS=1) ----
def _register_test_only(server: CodeflowServer) -> None:
    @server.feature("codeflow/_slow")
    async def slow(ls: CodeflowServer, params: Any) -> dict[str, Any]:
        p = convert.plain(params)
        seconds = float(p.get("seconds", 5))
        # "completion" holds the inference worker ahead of completions queued after it
        priority = Priority[str(p.get("priority", "chat")).upper()]

        def work(token: CancelToken) -> dict[str, Any]:
            end = time.monotonic() + seconds
            steps = 0
            while time.monotonic() < end:
                token.check()
                time.sleep(0.01)
                steps += 1
            return {"steps": steps}

        try:
            return await ls.inference.run(work, priority, CancelToken())
        except Cancelled as exc:
            raise convert.request_cancelled(str(exc)) from exc

    @server.feature("codeflow/_stats")
    def stats(ls: CodeflowServer, params: Any) -> dict[str, Any]:
        import dataclasses

        timing = ls.completion.last_timing
        return {
            "model_calls": ls.completion.model_calls,
            "metrics": ls.metrics.summary(),
            "last_timing": dataclasses.asdict(timing) if timing is not None else None,
            "model_loaded": ls.services.backend is not None,
            "index_ready": ls.services.index is not None,
            "history_ready": ls.services.history is not None,
            "sources": _source_stats(ls),
        }

    @server.feature("codeflow/_document")
    def document(ls: CodeflowServer, params: Any) -> dict[str, Any]:
        uri = convert.plain(params)["uri"]
        return {"text": ls.document_text(uri), "version": ls.versions.get(uri)}

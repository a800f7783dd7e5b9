"""Inline completion through the real server and the bundled model: Python and JavaScript,
supersede/cancel, type-through from the cache, the completion fallback, version drops."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from inference import default_model_dir

from .conftest import REPO, init_params

pytestmark = pytest.mark.skipif(
    not (default_model_dir() / "model.onnx").exists(), reason="bundled model not built"
)

PY = '''from inventory.models import Item, Stock


def low_stock(stock: Stock, items: list[Item], threshold: int = 5) -> list[Item]:
    """Items whose stock level is below the threshold."""
    return [item for item in items if stock.level(item.sku) < threshold]


def stock_value(stock: Stock, items: list[Item]) -> int:
    """Total value of what we hold, in cents."""
    total = 0
    for item in items:
        '''


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "examples" / "inventory", tmp_path / "ws")
    return tmp_path / "ws"


async def _ready(client: LanguageClient, timeout: float = 120.0) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        stats = await client.protocol.send_request_async("codeflow/_stats", {})
        if stats.model_loaded and stats.index_ready:
            return stats
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"server not ready: {stats}")
        await asyncio.sleep(0.2)


def _open(client: LanguageClient, uri: str, text: str, lang: str) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, lang, 1, text))
    )


def _inline(uri: str, line: int, char: int, invoked: bool = True) -> types.InlineCompletionParams:
    kind = (
        types.InlineCompletionTriggerKind.Invoked
        if invoked
        else types.InlineCompletionTriggerKind.Automatic
    )
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri),
        position=types.Position(line, char),
        context=types.InlineCompletionContext(kind),
    )


def _end(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    return len(lines) - 1, len(lines[-1])


async def test_python_inline_completion_from_the_model(
    client: LanguageClient, workspace: Path
) -> None:
    await client.initialize_session(init_params(workspace))
    await _ready(client)
    uri = (workspace / "inventory" / "draft.py").as_uri()
    _open(client, uri, PY, "python")
    line, char = _end(PY)
    result = await client.text_document_inline_completion_async(_inline(uri, line, char))
    assert result is not None and len(result.items) == 1
    item = result.items[0]
    assert item.insert_text.strip() != ""
    assert "<|" not in item.insert_text
    assert item.range.start == types.Position(line, char)
    stats = await client.protocol.send_request_async("codeflow/_stats", {})
    assert stats.model_calls == 1
    assert stats.last_timing.prompt_tokens > 50


async def test_javascript_completion_fallback_items(
    client: LanguageClient, workspace: Path
) -> None:
    await client.initialize_session(init_params(workspace, inline=False))
    await _ready(client)
    text = (workspace / "web" / "cart.js").read_text(encoding="utf-8")
    text = text.replace("  summary() {", "  isEmpty() {\n    \n  }\n\n  summary() {")
    uri = (workspace / "web" / "cart2.js").as_uri()
    _open(client, uri, text, "javascript")
    prefix = text[: text.index("  isEmpty() {\n    ") + len("  isEmpty() {\n    ")]
    line, char = _end(prefix)
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri),
            position=types.Position(line, char),
        )
    )
    assert result is not None and result.is_incomplete is True
    assert len(result.items) == 1  # an empty list is not a fallback
    stats = await client.protocol.send_request_async("codeflow/_stats", {})
    assert stats.model_calls == 1  # the item is the model's, through textDocument/completion
    item = result.items[0]
    assert item.detail == "codeflow"
    assert item.text_edit.range.start == types.Position(line, char)
    assert item.text_edit.new_text.strip() != ""
    assert not item.text_edit.new_text.startswith(" ")  # the indent is not typed twice


async def test_supersede_only_the_last_of_twenty_is_answered(
    client: LanguageClient, workspace: Path
) -> None:
    """Twenty requests for one document queue behind a job holding the inference worker; once
    it is released only the newest runs the model: the nineteen older ones are cancelled, not
    answered (the same greedy text from nineteen more model runs would look the same)."""
    await client.initialize_session(init_params(workspace, {"completion": {"debounceMs": 0}}))
    await _ready(client)
    uri = (workspace / "inventory" / "draft.py").as_uri()
    _open(client, uri, PY, "python")
    line, char = _end(PY)
    before = await client.protocol.send_request_async("codeflow/_stats", {})
    # queued before the completions at their priority: it runs first and holds the worker
    hold = client.protocol.send_request("codeflow/_slow", {"seconds": 120,
                                                           "priority": "completion"})
    hold_id = list(client.protocol._request_futures)[-1]
    futures = [
        client.protocol.send_request(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, _inline(uri, line, char, invoked=False)
        )
        for _ in range(20)
    ]
    await _until_requested(client, before.metrics.requested + 20)
    client.protocol.notify("$/cancelRequest", types.CancelParams(id=hold_id))
    results = await asyncio.gather(
        *(asyncio.wrap_future(f) for f in futures), return_exceptions=True
    )
    with pytest.raises(Exception, match="-32800|cancel"):
        await asyncio.wrap_future(hold)
    *older, last = results
    assert not isinstance(last, BaseException) and len(last.items) == 1
    for r in older:
        assert isinstance(r, BaseException), r  # superseded before it ran: no answer
        assert "-32800" in repr(r) or "cancel" in repr(r).lower(), repr(r)
    stats = await client.protocol.send_request_async("codeflow/_stats", {})
    assert stats.model_calls - before.model_calls == 1  # only the newest ran the model


async def _until_requested(client: LanguageClient, count: int, timeout: float = 120.0) -> None:
    """Wait until the server has taken `count` completion requests (each one supersedes the
    previous as it is taken), then one more round trip for the cancellations to land."""
    deadline = asyncio.get_running_loop().time() + timeout
    stats = client.protocol.send_request_async
    while (await stats("codeflow/_stats", {})).metrics.requested < count:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the server did not take {count} completion requests")
        await asyncio.sleep(0.05)
    await stats("codeflow/_stats", {})


async def test_type_through_is_served_from_cache(client: LanguageClient, workspace: Path) -> None:
    await client.initialize_session(init_params(workspace))
    await _ready(client)
    uri = (workspace / "inventory" / "draft.py").as_uri()
    _open(client, uri, PY, "python")
    line, char = _end(PY)
    first = await client.text_document_inline_completion_async(_inline(uri, line, char))
    suggestion = first.items[0].insert_text
    typed = suggestion[:1]
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            [
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(line, char), types.Position(line, char)),
                    text=typed,
                )
            ],
        )
    )
    second = await client.text_document_inline_completion_async(
        _inline(uri, line, char + len(typed))
    )
    assert second.items[0].insert_text == suggestion[len(typed) :]
    stats = await client.protocol.send_request_async("codeflow/_stats", {})
    assert stats.model_calls == 1
    assert stats.metrics.cache_hits == 1


async def test_out_of_range_position_is_clamped(client: LanguageClient, workspace: Path) -> None:
    await client.initialize_session(init_params(workspace))
    await _ready(client)
    uri = (workspace / "inventory" / "draft.py").as_uri()
    _open(client, uri, PY, "python")
    result = await client.text_document_inline_completion_async(_inline(uri, 9999, 9999))
    assert result is not None
    line, char = _end(PY)
    for item in result.items:
        assert item.range.start == types.Position(line, char)


async def test_status_reports_each_context_source(
    client: LanguageClient, workspace: Path
) -> None:
    statuses: list = []

    @client.feature("codeflow/status")
    def on_status(ls: object, params: object) -> None:
        statuses.append(params)

    await client.initialize_session(init_params(workspace))
    await _ready(client)
    uri = (workspace / "inventory" / "draft.py").as_uri()
    _open(client, uri, PY, "python")
    line, char = _end(PY)
    await client.text_document_inline_completion_async(_inline(uri, line, char))
    stats = await client.protocol.send_request_async("codeflow/_stats", {})
    units = stats.sources.units
    assert {"definitions", "usages", "similar", "repo_map", "flow_blame"} <= set(units._fields)
    for name in ("definitions", "flow_blame"):
        counts = getattr(units, name)
        assert counts.hits + counts.stale + counts.misses >= 1
    reported = [s for s in statuses if getattr(s, "sources", None) is not None]
    assert reported and hasattr(reported[-1].sources, "definitions")

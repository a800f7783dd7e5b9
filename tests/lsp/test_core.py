"""The server core against a real `codeflow serve` process: lifecycle, capabilities, config,
incremental sync with multi-byte text, cancellation."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from .conftest import init_params


async def test_initialize_declares_capabilities(client: LanguageClient, tmp_path: Path) -> None:
    result = await client.initialize_session(init_params(tmp_path))
    caps = result.capabilities
    assert result.server_info.name == "codeflow"
    assert caps.position_encoding == types.PositionEncodingKind.Utf16
    sync = caps.text_document_sync
    assert sync.change == types.TextDocumentSyncKind.Incremental
    assert sync.open_close is True
    assert caps.inline_completion_provider is not None
    assert caps.completion_provider is not None
    assert caps.code_action_provider is not None
    assert "codeflow.runTests" in caps.execute_command_provider.commands


async def test_good_config_shows_nothing(client: LanguageClient, tmp_path: Path) -> None:
    await client.initialize_session(
        init_params(tmp_path, {"completion": {"debounceMs": 100}, "provider": "cpu"})
    )
    await _settled(client)
    assert [m.message for m in client.messages if "bad setting" in m.message] == []


async def test_bad_config_is_shown_once_and_default_used(
    client: LanguageClient, tmp_path: Path
) -> None:
    await client.initialize_session(
        init_params(tmp_path, {"completion.maxTokens": True, "provider": "gpu"})
    )
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"codeflow": {"provider": "gpu"}})
    )
    await _settled(client)
    bad = sorted(m.message for m in client.messages if "bad setting" in m.message)
    assert bad == [
        "codeflow: bad setting: codeflow.completion.maxTokens: expected a whole number "
        "between 1 and 4096, got true; using the default 64",
        'codeflow: bad setting: codeflow.provider: expected one of "auto", "cpu", "cuda", '
        'got "gpu"; using the default "auto"',
    ]
    assert all(m.type == types.MessageType.Warning for m in client.messages if "bad" in m.message)


async def _settled(client: LanguageClient) -> None:
    """A round trip through an async handler: the server's tasks for what was sent before it
    (the configuration notifications and the messages they show) ran first."""
    await client.protocol.send_request_async("codeflow/_slow", {"seconds": 0})


def _change(line: int, char: int, end_line: int, end_char: int, text: str):
    return types.TextDocumentContentChangePartial(
        range=types.Range(types.Position(line, char), types.Position(end_line, end_char)),
        text=text,
    )


async def test_incremental_sync_with_multibyte_and_surrogates(
    client: LanguageClient, tmp_path: Path
) -> None:
    await client.initialize_session(init_params(tmp_path))
    uri = (tmp_path / "a.py").as_uri()
    text = 'x = "héllo 😀 wörld"\ny = "𝕏𝕐"\n'
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text))
    )
    # UTF-16 columns: 'x = "héllo ' is 11 units, the emoji is 2 units (a surrogate pair).
    changes = [
        _change(0, 11, 0, 13, "🎉"),  # replace the emoji exactly at the pair boundary
        _change(1, 7, 1, 7, "ℤ"),  # insert between the two astral chars (after 𝕏 + 2 units)
        _change(0, 0, 0, 0, "# ü\r\n"),  # CRLF line at the top
        _change(2, 5, 2, 8, ""),  # delete an astral char and ℤ on old line 1 (now line 2)
    ]
    expected = ['x = "héllo 🎉 wörld"\ny = "𝕏𝕐"\n']
    expected.append('x = "héllo 🎉 wörld"\ny = "𝕏ℤ𝕐"\n')
    expected.append('# ü\r\nx = "héllo 🎉 wörld"\ny = "𝕏ℤ𝕐"\n')
    expected.append('# ü\r\nx = "héllo 🎉 wörld"\ny = "𝕐"\n')
    for version, (change, want) in enumerate(zip(changes, expected, strict=True), start=2):
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=uri, version=version), [change]
            )
        )
        got = await client.protocol.send_request_async("codeflow/_document", {"uri": uri})
        assert got.text == want
        assert got.version == version


async def test_cancel_slow_request_answers_promptly(client: LanguageClient, tmp_path: Path) -> None:
    await client.initialize_session(init_params(tmp_path))
    await asyncio.sleep(0.2)
    fut = client.protocol.send_request("codeflow/_slow", {"seconds": 10})
    await asyncio.sleep(0.3)
    started = time.monotonic()
    client.protocol.notify("$/cancelRequest", types.CancelParams(id=_last_request_id(client)))
    with pytest.raises(Exception) as err:
        await asyncio.wait_for(asyncio.wrap_future(fut), timeout=60)
    elapsed = time.monotonic() - started
    assert "-32800" in repr(err.value) or "cancel" in repr(err.value).lower()
    # the server keeps serving: a short slow request completes normally
    done = await client.protocol.send_request_async("codeflow/_slow", {"seconds": 0.05})
    assert done.steps >= 1
    print(f"cancel answered in {elapsed * 1000:.0f} ms")


def _last_request_id(client: LanguageClient):
    return list(client.protocol._request_futures)[-1]

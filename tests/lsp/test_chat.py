"""`codeflow/chat` against the real server and the bundled model: streamed partial results
that add up to the answer, cancellation mid-stream, bad params."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from inference import default_model_dir

from .conftest import REPO, init_params

pytestmark = pytest.mark.skipif(
    not (default_model_dir() / "model.onnx").exists(), reason="bundled model not built"
)


def _capture_partials(client: LanguageClient, token: str) -> list[str]:
    """Route `$/progress` for our partial-result token into a list (other tokens untouched)."""
    pieces: list[str] = []
    default = client.protocol.fm.features[types.PROGRESS]

    def on_progress(params: Any) -> None:
        if params.token == token:
            pieces.append(params.value["delta"])
        else:
            default(params)

    client.protocol.fm.features[types.PROGRESS] = on_progress
    return pieces


async def _ready(client: LanguageClient) -> None:
    for _ in range(600):
        stats = await client.protocol.send_request_async("codeflow/_stats", {})
        if stats.model_loaded:
            return
        await asyncio.sleep(0.2)
    raise AssertionError("model not loaded")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "examples" / "inventory", tmp_path / "ws")
    return tmp_path / "ws"


async def test_chat_streams_partials_that_add_up(client: LanguageClient, workspace: Path) -> None:
    await client.initialize_session(init_params(workspace, {"chat": {"maxTokens": 24}}))
    await _ready(client)
    pieces = _capture_partials(client, "chat-1")
    orders = (workspace / "inventory" / "orders.py").as_uri()
    result = await client.protocol.send_request_async(
        "codeflow/chat",
        {
            "messages": [{"role": "user", "content": "What does order_total do?"}],
            "references": [orders],
            "partialResultToken": "chat-1",
        },
    )
    assert result.finishReason in ("length", "stop", "eos")
    assert len(pieces) >= 2
    assert "".join(pieces) == result.text


async def test_chat_cancel_mid_stream(client: LanguageClient, workspace: Path) -> None:
    await client.initialize_session(init_params(workspace, {"chat": {"maxTokens": 2000}}))
    await _ready(client)
    pieces = _capture_partials(client, "chat-2")
    fut = client.protocol.send_request(
        "codeflow/chat",
        {"messages": [{"role": "user", "content": "Explain the project."}],
         "partialResultToken": "chat-2"},
    )
    for _ in range(1200):  # up to 60 s on a loaded machine
        if len(pieces) >= 3:
            break
        await asyncio.sleep(0.05)
    assert len(pieces) >= 3
    request_id = list(client.protocol._request_futures)[-1]
    client.protocol.notify("$/cancelRequest", types.CancelParams(id=request_id))
    with pytest.raises(Exception) as err:
        await asyncio.wait_for(asyncio.wrap_future(fut), timeout=10)
    assert "-32800" in repr(err.value) or "cancel" in repr(err.value).lower()
    count = len(pieces)
    await asyncio.sleep(0.5)
    assert len(pieces) <= count + 1  # the stream stopped (at most one piece in flight)
    stats = await client.protocol.send_request_async("codeflow/_stats", {})
    assert stats.model_loaded


async def test_chat_rejects_bad_params(client: LanguageClient, workspace: Path) -> None:
    await client.initialize_session(init_params(workspace))
    with pytest.raises(Exception) as err:
        await client.protocol.send_request_async("codeflow/chat", {"messages": []})
    assert "messages" in str(err.value)
    assert "Traceback" not in str(err.value)

"""A `pip install -e .` without `[cpu]` or `[gpu]` has no ONNX Runtime: the server still starts,
serves what needs no model, and tells the user the one command that installs it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from inference.install import pip_install

from .conftest import init_params, server_env

# `import onnxruntime` fails in the server process as it does where no wheel is installed.
NO_ORT = ("import sys; sys.modules['onnxruntime'] = None; "
          "from lsp_server.cli import main; sys.exit(main(['serve']))")


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-c", NO_ORT],
                                              server_env=server_env()))
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def test_server_starts_and_says_how_to_install_onnxruntime(
    client: LanguageClient, tmp_path: Path
) -> None:
    (tmp_path / "app.py").write_text("def add(a, b):\n    return a + b\n")
    result = await client.initialize_session(init_params(tmp_path))
    assert result.capabilities.inline_completion_provider is not None
    for _ in range(300):
        shown = [m for m in client.messages if "ONNX Runtime is not installed" in m.message]
        if shown:
            break
        await asyncio.sleep(0.1)
    assert len(shown) == 1, [m.message for m in client.messages]
    assert shown[0].type == types.MessageType.Error
    assert pip_install("cpu") in shown[0].message
    assert pip_install("gpu") in shown[0].message
    uri = (tmp_path / "app.py").as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri, "python", 1, (tmp_path / "app.py").read_text())))
    result = await client.text_document_inline_completion_async(types.InlineCompletionParams(
        context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Invoked),
        text_document=types.TextDocumentIdentifier(uri), position=types.Position(1, 4)))
    items = result.items if isinstance(result, types.InlineCompletionList) else result
    assert not items  # no model, no suggestion, and no error

"""pytest-lsp fixtures: a real `codeflow serve` process per test, isolated cache dir."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(tempfile.gettempdir()) / f"codeflow-lsp-tests-{os.getpid()}"


def server_env(**extra: str) -> dict[str, str]:
    """The server's environment: this one plus an isolated cache and test-only commands, and
    this virtualenv as the active one (the fixture workspaces have none: their tests run with
    VIRTUAL_ENV's Python, which has pytest)."""
    env = dict(os.environ)
    env.update(
        CODEFLOW_CACHE_DIR=str(CACHE),
        CODEFLOW_TEST_COMMANDS="1",
        PYTHONPATH=str(REPO),
        OMP_NUM_THREADS="1",
    )
    if sys.prefix != sys.base_prefix:  # the fixture workspaces' tests run in this virtualenv
        env["VIRTUAL_ENV"] = sys.prefix
    env.update(extra)
    return env


SERVER = [sys.executable, "-m", "lsp_server.cli", "serve"]


def init_params(
    root: Path | None,
    options: dict | None = None,
    *,
    inline: bool = True,
    progress: bool = True,
) -> types.InitializeParams:
    """InitializeParams for a workspace root, with or without inline completion support."""
    caps = types.ClientCapabilities(
        window=types.WindowClientCapabilities(work_done_progress=progress),
        text_document=types.TextDocumentClientCapabilities(
            inline_completion=types.InlineCompletionClientCapabilities() if inline else None,
            completion=types.CompletionClientCapabilities(),
            code_action=types.CodeActionClientCapabilities(
                resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"]),
                data_support=True,
            ),
        ),
        workspace=types.WorkspaceClientCapabilities(configuration=True, apply_edit=True),
        general=types.GeneralClientCapabilities(
            position_encodings=[types.PositionEncodingKind.Utf16]
        ),
    )
    return types.InitializeParams(
        capabilities=caps,
        root_uri=root.as_uri() if root else None,
        workspace_folders=[types.WorkspaceFolder(root.as_uri(), root.name)] if root else None,
        initialization_options=options,
    )


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER, server_env=server_env()))
async def client(lsp_client: LanguageClient):
    """A started server; each test sends its own initialize (workspace and options vary)."""
    yield
    await lsp_client.shutdown_session()

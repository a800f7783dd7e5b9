"""Listing code actions never parses the document on the event loop's thread, parses an
unchanged document once, and drops a listing superseded before it started."""

from __future__ import annotations

import ast
import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from lsp_server import handlers
from lsp_server.server import CodeflowServer

TEXT = (
    "import math\n\n\n"
    "def documented(x):\n"
    '    """Root of x."""\n'
    "    return math.sqrt(x)\n\n\n"
    "def bare(x):\n"
    "    return x * 2\n"
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[CodeflowServer]:
    """A real server with its features registered, serving `TEXT` as `mod.py` from memory."""
    ls = CodeflowServer()
    handlers.register(ls)
    ls.root = tmp_path
    uri = (tmp_path / "mod.py").as_uri()
    ls.document_text = lambda u: TEXT if u == uri else None  # type: ignore[method-assign]
    ls.path_of = lambda u: "mod.py" if u == uri else None  # type: ignore[method-assign]
    yield ls
    ls.cpu.shutdown()
    ls.inference.stop()


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The thread id of every `ast.parse` call."""
    seen: list[int] = []
    real = ast.parse

    def parse(*args: Any, **kwargs: Any) -> Any:
        seen.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(ast, "parse", parse)
    return seen


def params(ls: CodeflowServer, line: int) -> types.CodeActionParams:
    assert ls.root is not None
    uri = (ls.root / "mod.py").as_uri()
    rng = types.Range(types.Position(line, 4), types.Position(line, 4))
    return types.CodeActionParams(
        types.TextDocumentIdentifier(uri), rng, types.CodeActionContext(diagnostics=[])
    )


async def code_action(ls: CodeflowServer, line: int) -> Any:
    """Call the registered `textDocument/codeAction` handler as pygls does."""
    ls.loop = asyncio.get_running_loop()
    handler = ls.protocol.fm.features[types.TEXT_DOCUMENT_CODE_ACTION]
    result = handler(params(ls, line))
    return await result if asyncio.iscoroutine(result) else result


def titles(actions: Any) -> list[str]:
    return [a.title for a in actions or []]


def test_the_document_is_parsed_off_the_loop_thread_and_once_per_text(
    server: CodeflowServer, parses: list[int]
) -> None:
    async def both() -> tuple[Any, Any, int]:
        return await code_action(server, 9), await code_action(server, 5), threading.get_ident()

    bare, documented, loop_thread = asyncio.run(both())
    assert titles(bare) == [
        "Explain `bare` with codeflow",
        "Add docstring to `bare` with codeflow",
        "Write a test for `bare` with codeflow",
    ]
    assert titles(documented) == [
        "Explain `documented` with codeflow",
        "Write a test for `documented` with codeflow",
    ]
    assert parses, "the document was never parsed"
    assert loop_thread not in parses
    assert len(parses) == 1


def test_a_listing_superseded_before_it_started_does_not_parse(
    server: CodeflowServer, parses: list[int]
) -> None:
    release = threading.Event()

    async def run() -> tuple[Any, Any]:
        blockers = [server.cpu.submit(release.wait) for _ in range(2)]  # both pool threads busy
        first = asyncio.ensure_future(code_action(server, 9))
        await asyncio.sleep(0)
        second = asyncio.ensure_future(code_action(server, 9))
        await asyncio.sleep(0)
        release.set()
        for b in blockers:
            b.result(timeout=30)
        return await asyncio.gather(first, second, return_exceptions=True)

    first, second = asyncio.run(run())
    assert isinstance(first, asyncio.CancelledError)
    assert titles(second)[0] == "Explain `bare` with codeflow"
    assert len(parses) == 1

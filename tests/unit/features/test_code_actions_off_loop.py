"""Listing code actions never parses the document on the event loop's thread: it parses the
top-level statement around the cursor (the whole text only when that statement does not parse
alone, and then once per text), and drops a listing superseded before it started."""

from __future__ import annotations

import ast
import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from actions import regions
from lsp_server import handlers
from lsp_server.server import CodeflowServer

DOCUMENTED = 'def documented(x):\n    """Root of x."""\n    return math.sqrt(x)\n\n\n'
BARE = "def bare(x):\n    return x * 2\n"
TEXT = "import math\n\n\n" + DOCUMENTED + BARE
TRICKY = (
    'def tricky(x):\n    """Looks like code:\n\ndef bare(y):\n    pass\n"""\n    return x\n'
)


@pytest.fixture
def doc() -> dict[str, str]:
    return {"text": TEXT}


@pytest.fixture
def server(tmp_path: Path, doc: dict[str, str]) -> Iterator[CodeflowServer]:
    """A real server with its features registered, serving `doc` as `mod.py` from memory."""
    ls = CodeflowServer()
    handlers.register(ls)
    ls.root = tmp_path
    uri = (tmp_path / "mod.py").as_uri()
    ls.document_text = lambda u: doc["text"] if u == uri else None  # type: ignore[method-assign]
    ls.path_of = lambda u: "mod.py" if u == uri else None  # type: ignore[method-assign]
    yield ls
    ls.cpu.shutdown()
    ls.inference.stop()


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """(thread id, source) of every `ast.parse` call."""
    seen: list[tuple[int, str]] = []
    real = ast.parse

    def parse(source: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append((threading.get_ident(), str(source)))
        return real(source, *args, **kwargs)

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


def test_the_statement_around_the_cursor_is_parsed_off_the_loop_thread(
    server: CodeflowServer, parses: list[tuple[int, str]]
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
    assert [source for _, source in parses] == [BARE, DOCUMENTED]
    assert loop_thread not in [thread for thread, _ in parses]


def test_a_statement_that_does_not_parse_alone_means_one_parse_of_the_text(
    server: CodeflowServer, parses: list[tuple[int, str]], doc: dict[str, str]
) -> None:
    doc["text"] = TEXT + "\n\n" + TRICKY
    tricky_line = doc["text"].count("\n") - 1  # `return x`, below the column-0 `def bare(y):`

    async def twice() -> tuple[Any, Any, int]:
        first = await code_action(server, tricky_line)
        return first, await code_action(server, tricky_line), threading.get_ident()

    first, second, loop_thread = asyncio.run(twice())
    assert titles(first) == titles(second) == [
        "Explain `tricky` with codeflow",
        "Write a test for `tricky` with codeflow",
    ]
    assert [source for _, source in parses] == [doc["text"]]
    assert loop_thread not in [thread for thread, _ in parses]


def test_a_listing_superseded_before_it_started_does_not_parse(
    server: CodeflowServer, parses: list[tuple[int, str]]
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


DECORATED = (
    "import functools\n\n\n"
    "@functools.lru_cache(\n    maxsize=None,\n)\n@staticmethod\n"
    "def cached(x):\n    return x\n\n\n"
    "class Box:\n    # a comment at the class level\n    def get(self):\n"
    '        """The value."""\n        return self.v\n\n\n'
    "VALUE = cached(\n1\n)\n"
)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (0, None),
        (4, ("cached", 3, 8, False)),
        (6, ("cached", 3, 8, False)),
        (8, ("cached", 3, 8, False)),
        (12, None),
        (15, ("get", 13, 15, True)),
        (19, None),
    ],
)
def test_the_statement_parse_finds_what_the_whole_parse_finds(
    line: int, expected: tuple[str, int, int, bool] | None
) -> None:
    around = regions.functions_around(DECORATED, line)
    assert around is not None or expected is None  # None: parse the whole text instead
    near = regions.innermost(around or regions.python_functions(DECORATED) or (), line)
    full = regions.innermost(regions.python_functions(DECORATED) or (), line)
    assert near == full
    got = (near[0].name, near[0].start_line, near[0].end_line, near[1]) if near else None
    assert got == expected


def test_the_statement_parse_agrees_with_the_whole_parse_on_our_own_sources() -> None:
    root = Path(__file__).resolve().parents[3]
    checked = 0
    for path in sorted((root / "lsp_server" / "features").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        full = regions.python_functions(text) or ()
        for line in range(0, text.count("\n"), 5):
            near = regions.functions_around(text, line)
            if near is not None:
                checked += 1
                assert regions.innermost(near, line) == regions.innermost(full, line), (path, line)
    assert checked > 300

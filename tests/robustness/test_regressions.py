"""Regression tests, one per bug the fuzzer and the fault tests found in the server.

All run against one `codeflow serve` process (scripted model) on a small workspace.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actions.diffs import minimal_edits
from lsp_server.features.edits import text_edits

from .docmodel import apply_change
from .harness import Reply, Server, server_env, write_script
from .test_fuzz_sessions import apply_workspace_edit


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    base = tmp_path_factory.mktemp("regress")
    root = base / "ws"
    root.mkdir()
    (root / "a.py").write_text("def a():\n    return 1\n", encoding="utf-8")
    answer = "```python\ndef f():\n    return 2\n```"
    script = write_script(base / "script.json", [answer] * 200)
    server = Server(server_env(base / "cache", CODEFLOW_TEST_BACKEND=str(script)))
    server.call(server.initialize(root, {}))
    server.call(server.wait_ready())
    yield server, root
    server.stop()


def _rng(a: tuple[int, int], b: tuple[int, int]) -> dict[str, Any]:
    return {"start": {"line": a[0], "character": a[1]}, "end": {"line": b[0], "character": b[1]}}


def _sync(server: Server, uri: str, text: str, changes: list[dict[str, Any]]) -> str:
    """Open `uri` with `text`, apply `changes` one didChange each; the server's text."""

    async def go() -> str:
        server.open(uri, text)
        for version, change in enumerate(changes, start=2):
            server.change(uri, version, [change])
        doc = await server.document(uri)
        server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        return doc["text"]

    return server.call(go())


def _request(server: Server, method: str, params: Any) -> Reply:
    return server.call(server.request(method, params))


@pytest.mark.parametrize(
    ("text", "change", "want"),
    [
        # lines end only at \n, \r\n, \r: U+2028, form feed and U+0085 are ordinary characters
        ("x\u2028y\nzz\n", {"range": _rng((1, 0), (1, 1)), "text": "Q"}, "x\u2028y\nQz\n"),
        ("a\x0cb\nc\n", {"range": _rng((1, 0), (1, 0)), "text": "#"}, "a\x0cb\n#c\n"),
        ("a\x85b\nc", {"range": _rng((1, 1), (1, 1)), "text": "!"}, "a\x85b\nc!"),
        # a character past the line's end is the line's end (pygls: past the newline)
        ("abc\ndef\n", {"range": _rng((0, 4), (0, 4)), "text": "X"}, "abcX\ndef\n"),
        ("ab\r\ncd", {"range": _rng((0, 3), (0, 3)), "text": "X"}, "abX\r\ncd"),
        # ... also on a last line without newline (pygls: before its last character)
        ("abc", {"range": _rng((0, 9), (0, 9)), "text": "X"}, "abcX"),
        # a line past the end is the end of the document
        ("abc\n", {"range": _rng((7, 3), (9, 0)), "text": "Z"}, "abc\nZ"),
        # inside a surrogate pair: before that character
        ("x😀y", {"range": _rng((0, 2), (0, 2)), "text": "|"}, "x|😀y"),
        ("x😀y", {"range": _rng((0, 2), (0, 3)), "text": ""}, "xy"),
        # an inverted range is read start-first (pygls duplicated the text between)
        ("abcdef", {"range": _rng((0, 4), (0, 2)), "text": "-"}, "ab-ef"),
    ],
)
def test_document_sync_rules(
    srv: tuple[Server, Path], text: str, change: dict[str, Any], want: str
) -> None:
    server, root = srv
    assert apply_change(text, change) == want  # the client model agrees
    got = _sync(server, (root / "sync.py").as_uri(), text, [change])
    assert got == want


def test_malformed_params_get_one_error_response(srv: tuple[Server, Path]) -> None:
    server, root = srv
    uri = (root / "a.py").as_uri()
    for method, params in [
        ("textDocument/completion", {"textDocument": 5}),
        ("textDocument/completion", {"textDocument": {"uri": uri},
                                     "position": {"line": -1, "character": 0}}),
        ("textDocument/inlineCompletion", None),
        ("textDocument/codeAction", [1, 2]),
    ]:
        reply = server.call(server.request(method, params, timeout=20))
        assert reply.error is not None and reply.error["code"] == -32602, (method, reply)
    assert all(n == 1 for n in server.seen.responses.values())


def test_utf16_is_negotiated_even_when_the_client_prefers_utf8(tmp_path: Path) -> None:
    script = write_script(tmp_path / "script.json", [])
    server = Server(server_env(tmp_path / "cache", CODEFLOW_TEST_BACKEND=str(script)))
    try:

        async def go() -> tuple[str, str]:
            params = {"processId": None, "rootUri": None,
                      "capabilities": {"general": {"positionEncodings": ["utf-8", "utf-16"]}}}
            init = await server.request("initialize", params)
            server.notify("initialized", {})
            uri = (tmp_path / "u.py").as_uri()
            server.open(uri, "é😀x\n")
            # UTF-16: é is 1 unit, 😀 is 2, so x starts at 3 (UTF-8 would say 6)
            server.change(uri, 2, [{"range": _rng((0, 3), (0, 4)), "text": "y"}])
            doc = await server.document(uri)
            return init.result["capabilities"]["positionEncoding"], doc["text"]

        encoding, text = server.call(go())
        assert encoding == "utf-16"
        assert text == "é😀y\n"
    finally:
        server.stop()


def _resolve(server: Server, uri: str, **data: Any) -> Reply:
    return _request(server, "codeAction/resolve",
                    {"title": "t", "data": {"codeflow": {"uri": uri, **data}}})


def test_code_action_resolve_with_malformed_data(srv: tuple[Server, Path]) -> None:
    server, root = srv
    for data in ({"action": "fix"}, {"action": "docstring", "uri": 7},
                 {"action": "test", "line": "zero"}):
        reply = _request(server, "codeAction/resolve", {"title": "t", "data": {"codeflow": data}})
        assert reply.error is not None and reply.error["code"] == -32602, reply


def test_code_action_resolve_on_an_empty_document(srv: tuple[Server, Path]) -> None:
    server, root = srv
    uri = (root / "empty.py").as_uri()

    async def open_empty() -> None:
        server.open(uri, "")

    server.call(open_empty())
    reply = _resolve(server, uri, action="fix", line=0, message="empty")
    assert reply.ok, reply  # was: IndexError in replace_region
    edit = reply.result["edit"]
    assert apply_workspace_edit("", uri, edit) == "def f():\n    return 2\n"


def _apply_block(server: Server, uri: str, code: str, rng: dict[str, Any] | None) -> Reply:
    arg: dict[str, Any] = {"uri": uri, "code": code}
    if rng is not None:
        arg["range"] = rng
    return _request(server, "workspace/executeCommand",
                    {"command": "codeflow.applyCodeBlock", "arguments": [arg]})


@pytest.mark.parametrize(
    ("text", "rng", "code"),
    [
        ("a\rb\rc\n", _rng((2, 0), (2, 1)), "Z"),  # lone CR line endings
        ("a\r\nb\r\n", _rng((0, 1), (1, 0)), "\n"),  # CRLF -> LF: the pair is never split
        ("abc\n", _rng((5, 0), (6, 0)), "tail"),  # a range past the end: the end
        ("abcdef", _rng((0, 4), (0, 1)), "-"),  # inverted: start-first
        ("x😀y\u2028z\n", _rng((0, 2), (1, 0)), "w"),  # inside a pair, U+2028 in the line
    ],
)
def test_apply_code_block_edit_matches_the_range(
    srv: tuple[Server, Path], text: str, rng: dict[str, Any], code: str
) -> None:
    server, root = srv
    uri = (root / "block.py").as_uri()

    async def open_doc() -> None:
        server.open(uri, text)
        await asyncio.sleep(0)

    server.call(open_doc())
    before = len(server.seen.applied_edits)
    reply = _apply_block(server, uri, code, rng)
    assert reply.ok and reply.result == {"applied": True}, reply  # was: always Invalid Params
    edit = server.seen.applied_edits[before]
    assert apply_workspace_edit(text, uri, edit) == apply_change(text, {"range": rng,
                                                                        "text": code})


@pytest.mark.parametrize(
    ("old", "new"),
    [("a\rb\rc", "a\rX\rc"), ("a\r\nb", "a\nb"), ("a\nb", "a\r\nb"), ("a\rb\n", "a\r\nb\n"),
     ("x\u2028y\nz", "x\u2028y\nQ"), ("😀\r\n😀", "😀\r😀")],
)
def test_minimal_edits_round_trip_through_lsp_positions(old: str, new: str) -> None:
    edit = {"changes": {"u": [{"range": {"start": {"line": e.range.start.line,
                                                   "character": e.range.start.character},
                                         "end": {"line": e.range.end.line,
                                                 "character": e.range.end.character}},
                               "newText": e.new_text}
                              for e in text_edits(old, minimal_edits(old, new))]}}
    assert apply_workspace_edit(old, "u", edit) == new


def test_cache_size_setting_is_honoured(srv: tuple[Server, Path]) -> None:
    server, root = srv
    uri = (root / "a.py").as_uri()

    async def go() -> tuple[int, int]:
        server.notify("workspace/didChangeConfiguration",
                      {"settings": {"codeflow": {"completion": {"cacheSize": 0}}}})
        server.open(uri, "def a():\n    return 1\n")
        params = {"textDocument": {"uri": uri}, "position": {"line": 1, "character": 4},
                  "context": {"triggerKind": 1}}
        before = (await server.request("codeflow/_stats", {})).result["model_calls"]
        for _ in range(2):
            assert (await server.request("textDocument/inlineCompletion", params)).ok
        after = (await server.request("codeflow/_stats", {})).result["model_calls"]
        server.notify("workspace/didChangeConfiguration",
                      {"settings": {"codeflow": {"completion": {"cacheSize": 256}}}})
        return before, after

    before, after = server.call(go())
    assert after - before == 2  # no cache: the model was asked both times (was: 1)


def test_lone_surrogates_in_a_document(srv: tuple[Server, Path]) -> None:
    server, root = srv
    uri = (root / "lone.py").as_uri()

    async def go() -> list[Reply]:
        server.open(uri, "a\udc00b = 1\nc\n")
        server.change(uri, 2, [{"range": _rng((0, 2), (0, 2)), "text": "Z"}])
        doc = await server.document(uri)
        assert doc["text"] == "a\udc00Zb = 1\nc\n"
        pos = {"line": 0, "character": 3}
        return [
            await server.request("textDocument/inlineCompletion", {
                "textDocument": {"uri": uri}, "position": pos, "context": {"triggerKind": 1}}),
            await server.request("textDocument/completion", {
                "textDocument": {"uri": uri}, "position": pos}),
            await server.request("codeflow/chat", {
                "messages": [{"role": "user", "content": "why \udc00?"}], "references": [uri]}),
        ]

    for reply in server.call(go()):
        assert reply.ok, reply  # was: -32603 (UnicodeEncodeError / TypeError in the tokenizer)


def test_malformed_frames_and_messages_leave_the_server_serving(srv: tuple[Server, Path]) -> None:
    server, _ = srv

    async def go() -> Reply:
        server.send_bytes(b"Content-Length: 5\r\n\r\n{bad}")
        server.send_bytes(b"Content-Length: 2\r\n\r\n[]")
        server.send_bytes(b"garbage line\r\nContent-Length: 2\r\n\r\n{}")
        server.send_raw({"jsonrpc": "1.0", "id": "old", "method": "codeflow/_stats"})
        server.send_raw({"jsonrpc": "2.0", "id": "orphan-response", "result": 1})
        return await server.request("codeflow/_stats", {}, timeout=20)

    assert server.call(go()).ok
    assert server.alive()

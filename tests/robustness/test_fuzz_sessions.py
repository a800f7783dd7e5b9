"""Fuzzed editor sessions against one long-lived `codeflow serve` process (scripted model).

Each hypothesis example is one session: documents opened with multi-byte, astral-plane, CRLF,
lone-CR, form-feed, U+2028 and lone-surrogate text; incremental and full edits (positions on,
inside and past surrogate pairs and line ends, inverted ranges, huge inserts); completion, inline
completion, code actions and their resolve, chat and commands at random (and out-of-range)
positions, some cancelled at random moments; config changes (good and bad); didClose; unknown
methods and malformed params. Invariants checked after every session:

- the server process is alive and answers;
- every request got exactly one response: a result, or an error with a proper code;
- no response and no shown message carries a Python traceback;
- the server's copy of every open document (`codeflow/_document`) equals the client's model
  (`docmodel`, which pins the rules for positions a correct client would not send).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .docmodel import Doc, apply_change, end_position, lines_of, offset_of, units
from .harness import Reply, Server, no_traceback, scale, server_env, write_script

EXAMPLES = scale(40, 300)
ALLOWED_ERRORS = {-32800, -32601, -32602, -32803}
ATOMS = [
    "a", "b", "x", "_", "0", " ", "    ", "\t", "(", ")", ":", ".", "def ", "return ", "\n",
    "\n", "\r\n", "\r", "é", "ß", "中", "😀", "𝕏", "🎉", "\u2028", "\x0c", "\x85", "\ufeff",
    "\udc00",  # a lone (low) surrogate: JS strings can hold one, and JSON can carry it
]
OUTPUTS = ["x + 1", "return 😀", "pass\n", "é中", "```python\ndef f():\n    pass\n```", ""]
STATS: dict[str, int] = {"sessions": 0, "messages": 0, "requests": 0, "edits": 0}

text_st = st.lists(st.sampled_from(ATOMS), max_size=40).map("".join)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """One server for every session of the module, on a small workspace."""
    base = tmp_path_factory.mktemp("fuzz")
    root = base / "ws"
    root.mkdir()
    (root / "mod.py").write_text("def helper(x):\n    return x * 2\n", encoding="utf-8")
    script = write_script(base / "script.json", OUTPUTS * 2000)
    cache = base / "cache"
    server = Server(server_env(cache, CODEFLOW_TEST_BACKEND=str(script)))
    server.call(server.initialize(root, {"completion": {"debounceMs": 0}}))
    server.call(server.wait_ready())
    yield server, root
    code = server.stop()
    print(f"fuzz: {STATS} server exit code {code}")


def _position(data: st.DataObject, text: str) -> dict[str, int]:
    """A position: valid, inside a surrogate pair, at a line end, or past the end."""
    lines = lines_of(text) or [""]
    mode = data.draw(st.sampled_from(["valid", "valid", "valid", "pair", "past"]))
    if mode == "past":
        return {
            "line": data.draw(st.integers(0, len(lines) + 3)),
            "character": data.draw(st.sampled_from([0, 1, 5, 80, 10_000, 2**31 - 1])),
        }
    line = data.draw(st.integers(0, len(lines)))
    if line == len(lines):
        return {"line": line, "character": 0}
    from .docmodel import body

    b = body(lines[line])
    if mode == "pair":
        astral = [units(b[:i]) + 1 for i, ch in enumerate(b) if ord(ch) > 0xFFFF]
        if astral:
            return {"line": line, "character": data.draw(st.sampled_from(astral))}
    return {"line": line, "character": data.draw(st.integers(0, units(b)))}


def _change(data: st.DataObject, text: str) -> dict[str, Any]:
    if data.draw(st.integers(0, 12)) == 0:
        return {"text": data.draw(text_st)}
    start = _position(data, text)
    end = start if data.draw(st.booleans()) else _position(data, text)
    if data.draw(st.integers(0, 25)) == 0:
        new = "y = '😀é'\r\n" * data.draw(st.sampled_from([2_000, 12_000]))
    else:
        new = data.draw(text_st)
    return {"range": {"start": start, "end": end}, "text": new}


def _malformed(data: st.DataObject, uri: str) -> tuple[str, Any]:
    return data.draw(
        st.sampled_from(
            [
                ("textDocument/completion", {"textDocument": 5}),
                ("textDocument/completion", {"textDocument": {"uri": uri}}),
                ("textDocument/completion", None),
                ("textDocument/inlineCompletion", {"textDocument": {"uri": uri}, "position": {}}),
                ("textDocument/inlineCompletion", [1, 2, 3]),
                ("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": "x"}),
                ("codeAction/resolve", {"title": "t", "data": {"codeflow": {"action": "fix"}}}),
                ("codeAction/resolve", {"title": "t", "data": {"codeflow": {"action": "test",
                                                                             "uri": 7}}}),
                ("codeAction/resolve", {"title": "t", "data": "junk"}),
                ("codeflow/chat", {"messages": "hello"}),
                ("codeflow/chat", {"messages": [{"role": "wizard", "content": 1}]}),
                ("codeflow/chat", None),
                ("workspace/executeCommand", {"command": "codeflow.nope", "arguments": []}),
                ("workspace/executeCommand", {"command": "codeflow.applyCodeBlock",
                                              "arguments": [{"uri": uri}]}),
                ("workspace/executeCommand", {"command": "codeflow.explain", "arguments": [5]}),
                ("workspace/executeCommand", {"command": "codeflow.fixFailingTest",
                                              "arguments": [{"nodeId": "nope::x"}]}),
                ("textDocument/hover", {"textDocument": {"uri": uri},
                                        "position": {"line": 0, "character": 0}}),
                ("codeflow/doesNotExist", {"a": [1, {"b": None}]}),
                ("textDocument/completion", {"textDocument": {"uri": uri},
                                             "position": {"line": -1, "character": 0}}),
            ]
        )
    )


def _config(data: st.DataObject) -> Any:
    return data.draw(
        st.sampled_from(
            [
                {"codeflow": {"completion": {"debounceMs": 0}}},
                {"codeflow": {"completion": {"enabled": False}}},
                {"codeflow": {"completion": {"enabled": True, "maxTokens": 8}}},
                {"codeflow": {"completion": {"maxTokens": "many"}}},
                {"codeflow": {"context": {"budgetTokens": 64}}},
                {"codeflow": {"context": {"budgetTokens": 4096, "exclude": ["*.md"]}}},
                {"codeflow": {"provider": "gpu", "chat": {"maxTokens": 16}}},
                {"codeflow": {"completion.debounceMs": 30, "tests": "yes"}},
                {"codeflow": {"modelPath": ""}},
                {"codeflow": 5},
                [],
                "codeflow",
                {},
            ]
        )
    )


class Session:
    """One generated session's state on the client side."""

    def __init__(self, server: Server, root: Path, data: st.DataObject, tag: int) -> None:
        self.server, self.root, self.data, self.tag = server, root, data, tag
        self.docs: dict[str, Doc] = {}
        self.replies: list[asyncio.Future[Reply]] = []

    def uri(self) -> str:
        n = self.data.draw(st.integers(0, 3))
        if n == 3:
            return f"untitled:Untitled-{self.tag}"
        return (self.root / f"s{self.tag}_{n}.py").as_uri()

    def send(self, method: str, params: Any, cancel_after: float | None = None) -> None:
        async def go() -> None:
            msg_id, fut = self.server.start_request(method, params)
            self.replies.append(fut)
            if cancel_after is not None:
                await asyncio.sleep(cancel_after)
                self.server.cancel(msg_id)

        self.server.call(go())
        STATS["messages"] += 1 + (cancel_after is not None)
        STATS["requests"] += 1

    def notify(self, method: str, params: Any) -> None:
        async def go() -> None:
            self.server.notify(method, params)

        self.server.call(go())
        STATS["messages"] += 1

    def step(self) -> None:
        data = self.data
        kind = data.draw(
            st.sampled_from(
                ["open", "change", "change", "change", "complete", "complete", "inline",
                 "action", "chat", "close", "config", "malformed", "check", "cancel_unknown",
                 "apply"]
            )
        )
        uri = self.uri()
        doc = self.docs.get(uri)
        if kind == "open" or doc is None and kind in ("change", "close"):
            text = data.draw(text_st)
            self.docs[uri] = Doc(uri, text)
            item = {"uri": uri, "languageId": "python", "version": 1, "text": text}
            self.notify("textDocument/didOpen", {"textDocument": item})
        elif kind == "change":
            assert doc is not None
            changes = [_change(data, doc.text)]
            if data.draw(st.booleans()):
                changes.append(_change(data, apply_change(doc.text, changes[0])))
            doc.apply(changes)
            STATS["edits"] += len(changes)
            self.notify(
                "textDocument/didChange",
                {"textDocument": {"uri": uri, "version": doc.version}, "contentChanges": changes},
            )
        elif kind == "close":
            del self.docs[uri]
            self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        elif kind in ("complete", "inline", "action", "chat"):
            self._request(kind, uri, doc)
        elif kind == "config":
            self.notify("workspace/didChangeConfiguration", {"settings": _config(data)})
        elif kind == "malformed":
            method, params = _malformed(data, uri)
            self.send(method, params, self._cancel_after())
        elif kind == "check":
            self.check_documents()
        elif kind == "apply":
            self.apply_code_block(uri, doc)
        else:
            self.notify("$/cancelRequest", {"id": data.draw(st.sampled_from([10**9, "nope"]))})

    def _cancel_after(self) -> float | None:
        if self.data.draw(st.booleans()):
            return None
        return self.data.draw(st.sampled_from([0.0, 0.002, 0.02, 0.08]))

    def _request(self, kind: str, uri: str, doc: Doc | None) -> None:
        pos = _position(self.data, doc.text if doc else "")
        ident = {"uri": uri}
        if kind == "complete":
            contexts = [None, {"triggerKind": 1}, {"triggerKind": 2, "triggerCharacter": "."}]
            ctx = self.data.draw(st.sampled_from(contexts))
            params: dict[str, Any] = {"textDocument": ident, "position": pos}
            if ctx is not None:
                params["context"] = ctx
            self.send("textDocument/completion", params, self._cancel_after())
        elif kind == "inline":
            trigger = self.data.draw(st.sampled_from([1, 2]))
            params = {"textDocument": ident, "position": pos, "context": {"triggerKind": trigger}}
            self.send("textDocument/inlineCompletion", params, self._cancel_after())
        elif kind == "action":
            end = _position(self.data, doc.text if doc else "")
            diag = {"range": {"start": pos, "end": pos}, "message": "boom 😀", "source": "fuzz"}
            params = {"textDocument": ident, "range": {"start": pos, "end": end},
                      "context": {"diagnostics": [diag] if self.data.draw(st.booleans()) else []}}
            self.send("textDocument/codeAction", params, self._cancel_after())
            if self.data.draw(st.booleans()):
                data = {"codeflow": {"action": self.data.draw(st.sampled_from(
                    ["fix", "docstring", "test"])), "uri": uri, "line": pos["line"],
                    "name": "f", "message": "m"}}
                self.send("codeAction/resolve", {"title": "fuzz", "data": data},
                          self._cancel_after())
        else:
            params = {"messages": [{"role": "user", "content": "what is 😀?"}],
                      "references": [uri], "partialResultToken": f"p{self.tag}"}
            self.send("codeflow/chat", params, self._cancel_after())

    def apply_code_block(self, uri: str, doc: Doc | None) -> None:
        """`codeflow.applyCodeBlock` over a range: the edit it asks the client to apply must
        turn the client's text into the text with that range replaced by the code."""
        if doc is None or not uri.startswith("file:"):
            return
        rng = {"start": _position(self.data, doc.text), "end": _position(self.data, doc.text)}
        code = self.data.draw(text_st)
        before = len(self.server.seen.applied_edits)
        args = [{"uri": uri, "code": code, "range": rng}]
        reply = self.server.call(
            self.server.request("workspace/executeCommand",
                                {"command": "codeflow.applyCodeBlock", "arguments": args})
        )
        STATS["messages"] += 1
        STATS["requests"] += 1
        assert reply.ok, reply
        assert len(self.server.seen.applied_edits) == before + 1
        got = apply_workspace_edit(doc.text, uri, self.server.seen.applied_edits[-1])
        assert got == apply_change(doc.text, {"range": rng, "text": code})

    def check_documents(self) -> None:
        async def go() -> list[tuple[Doc, dict[str, Any]]]:
            return [(d, await self.server.document(d.uri)) for d in self.docs.values()]

        for doc, got in self.server.call(go()):
            assert got["text"] == doc.text, (
                f"{doc.uri} v{doc.version}: server has {got['text'][:300]!r}, "
                f"client has {doc.text[:300]!r}"
            )
            assert got["version"] == doc.version

    def finish(self) -> None:
        async def settle() -> None:
            await self.server.quiesce(120)

        self.server.call(settle(), timeout=180)
        for fut in self.replies:
            assert fut.done(), "a request got no response"
            reply = fut.result()
            assert no_traceback(reply), reply
            if reply.error is not None:
                assert reply.error.get("code") in ALLOWED_ERRORS, reply
            else:
                _check_result(reply)
        self.check_documents()
        for uri in list(self.docs):
            self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})


def apply_workspace_edit(text: str, uri: str, edit: dict[str, Any]) -> str:
    """`text` with the `WorkspaceEdit`'s text edits for `uri` applied (client semantics)."""
    edits: list[dict[str, Any]] = list((edit.get("changes") or {}).get(uri, []))
    for change in edit.get("documentChanges") or []:
        if change.get("textDocument", {}).get("uri") == uri:
            edits.extend(change["edits"])
    spans = []
    for e in edits:
        start, end = e["range"]["start"], e["range"]["end"]
        a = offset_of(text, start["line"], start["character"])
        b = offset_of(text, end["line"], end["character"])
        spans.append((a, b, e["newText"]))
    for a, b, new in sorted(spans, reverse=True):
        text = text[:a] + new + text[b:]
    return text


def _check_result(reply: Reply) -> None:
    r = reply.result
    if reply.method == "textDocument/inlineCompletion":
        assert r is None or isinstance(r.get("items"), list)
    elif reply.method == "textDocument/completion":
        assert r is None or isinstance(r, list) or isinstance(r.get("items"), list)
    elif reply.method == "codeflow/chat":
        assert isinstance(r.get("text"), str) and isinstance(r.get("finishReason"), str)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_fuzzed_sessions_keep_the_server_whole(
    fuzz_server: tuple[Server, Path], data: st.DataObject
) -> None:
    server, root = fuzz_server
    STATS["sessions"] += 1
    session = Session(server, root, data, STATS["sessions"])
    for _ in range(data.draw(st.integers(3, 30))):
        session.step()
    session.finish()
    assert server.alive()
    assert server.seen.stray_responses == []
    assert all(n == 1 for n in server.seen.responses.values()), server.seen.responses
    shown = json.dumps(server.seen.messages)
    assert "Traceback" not in shown


def test_fuzz_end_position_model() -> None:
    """The client model's own rules, pinned on hand-checked cases."""
    assert end_position("a\n") == (1, 0)
    assert end_position("a😀") == (0, 3)
    assert offset_of("abc\n", 0, 4) == 3
    assert offset_of("abc", 0, 9) == 3
    assert offset_of("x😀y", 0, 2) == 1
    assert offset_of("a\u2028b\nc", 1, 0) == 4
    assert offset_of("a\rb", 1, 1) == 3
    swap = {"range": {"start": {"line": 0, "character": 3}, "end": {"line": 0, "character": 1}},
            "text": "Z"}
    assert apply_change("abcd", swap) == "aZd"

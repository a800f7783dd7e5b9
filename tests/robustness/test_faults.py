"""Faults injected into a serving `codeflow serve`: the model dir deleted or corrupted, the index
store corrupted or locked, git mid-rebase with its index locked, an unwritable cache, a storm of
10,000 new files, a backend raising mid-stream, and a tiny KV-cache cap in the engine.

Each test asserts what the user sees (shown messages, replies) and that the server recovers.
Not testable here: a truly read-only workspace (tests run as root, so `chmod -R a-w` does not
stop writes, and bind mounts are not available); instead we check the server writes nothing
into the workspace at all, and serve with an unwritable cache dir.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inference import default_model_dir

from .harness import Reply, Server, no_traceback, scale, server_env, write_script

BUNDLED = default_model_dir()
needs_model = pytest.mark.skipif(
    not (BUNDLED / "model.onnx").exists(), reason="bundled model not built"
)
ERROR, WARNING = 1, 2
STORM_FILES = scale(10_000, 10_000)

MAIN = '''from util import scale


def total(items: list[int]) -> int:
    """Sum of scaled items."""
    acc = 0
    for item in items:
        acc += scale(item)
    return acc
'''
UTIL = "def scale(x: int) -> int:\n    return x * 3\n"


def make_workspace(root: Path, git: bool = False) -> Path:
    """A two-file Python workspace (optionally a git repo with two commits)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "main.py").write_text(MAIN, encoding="utf-8")
    (root / "util.py").write_text(UTIL, encoding="utf-8")
    if git:
        env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e",
               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"}
        for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-qm", "one"]):
            subprocess.run(["git", *args], cwd=root, check=True, env=env)
        (root / "util.py").write_text(UTIL + "\n\ndef half(x):\n    return x / 2\n")
        subprocess.run(["git", "commit", "-qam", "two"], cwd=root, check=True, env=env)
    return root


def store_file(cache: Path, root: Path) -> Path:
    """The server's SQLite store for `root` (mirrors `context.store.store_path`)."""
    resolved = root.resolve()
    digest = hashlib.sha1(str(resolved).encode("utf-8")).hexdigest()[:16]
    return cache / "workspaces" / f"{resolved.name}-{digest}.sqlite3"


def indexed_files(cache: Path, root: Path) -> int:
    """How many files the persisted index holds (read-only peek at the store)."""
    uri = f"file:{store_file(cache, root)}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=5)
    try:
        return int(conn.execute("SELECT count(*) FROM idx_files").fetchone()[0])
    finally:
        conn.close()


def inline(uri: str, line: int, character: int) -> dict[str, Any]:
    """Invoked inline-completion params."""
    return {"textDocument": {"uri": uri}, "position": {"line": line, "character": character},
            "context": {"triggerKind": 1}}


@pytest.fixture
def started() -> Iterator[list[Server]]:
    """Servers started by a test; all stopped at its end."""
    servers: list[Server] = []
    yield servers
    for server in servers:
        server.stop()


def start(
    started: list[Server], cache: Path, root: Path | None, options: dict[str, Any] | None,
    create_files: bool = False, **env: str,
) -> Server:
    """Start, initialize and register a server."""
    server = Server(server_env(cache, **env))
    started.append(server)
    reply = server.call(server.initialize(root, options, create_files=create_files))
    assert reply.ok, reply
    return server


def errors_shown(server: Server) -> list[str]:
    """Error-level `window/showMessage` texts so far."""
    return [text for kind, text in server.seen.messages if kind == ERROR]


def wait_for(server: Server, what: Any, timeout: float = 60.0) -> None:
    """Poll `what()` (a sync predicate) until true."""
    deadline = time.monotonic() + timeout
    while not what():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting; messages: {server.seen.messages}")
        time.sleep(0.05)


def stats(server: Server) -> dict[str, Any]:
    """`codeflow/_stats`."""
    reply = server.call(server.request("codeflow/_stats", {}))
    assert reply.ok, reply
    return reply.result


def request(server: Server, method: str, params: Any, timeout: float = 120.0) -> Reply:
    """One request, awaited."""
    return server.call(server.request(method, params, timeout), timeout + 10)


def change_config(server: Server, settings: dict[str, Any]) -> None:
    """didChangeConfiguration with codeflow settings."""

    async def go() -> None:
        server.notify("workspace/didChangeConfiguration", {"settings": {"codeflow": settings}})

    server.call(go())


# ---- the model ------------------------------------------------------------------------------
@needs_model
def test_model_dir_deleted_then_corrupted_then_restored(
    tmp_path: Path, started: list[Server]
) -> None:
    root = make_workspace(tmp_path / "ws")
    model = tmp_path / "model"
    shutil.copytree(BUNDLED, model)
    spare = tmp_path / "spare"
    shutil.copytree(BUNDLED, spare)
    cache = tmp_path / "cache"
    server = start(started, cache, root, {"modelPath": str(model), "provider": "cpu"})
    server.call(server.wait_ready())
    uri = (root / "main.py").as_uri()
    first = request(server, "textDocument/inlineCompletion", inline(uri, 7, 8))
    assert first.ok and isinstance(first.result["items"], list)

    # (each phase asks at a new cursor: the completion cache must not answer for the model)
    # 1. deleted while serving, then a settings change makes the server reload it
    shutil.rmtree(model)
    change_config(server, {"modelPath": str(model), "provider": "auto"})
    wait_for(server, lambda: any("could not be loaded" in m for m in errors_shown(server)))
    assert not stats(server)["model_loaded"]
    # it keeps answering what it can: completions are empty (not errors), chat says why
    reply = request(server, "textDocument/inlineCompletion", inline(uri, 4, 4))
    assert reply.ok and reply.result["items"] == []
    chat = request(server, "codeflow/chat", {"messages": [{"role": "user", "content": "hi"}]})
    assert chat.error is not None and "model" in chat.error["message"] and no_traceback(chat)
    # and it keeps indexing: a new file lands in the persisted index
    before = indexed_files(cache, root)
    (root / "extra.py").write_text("def extra():\n    return 1\n", encoding="utf-8")
    wait_for(server, lambda: indexed_files(cache, root) == before + 1)

    # 2. back: the next request loads it again
    shutil.copytree(spare, model)
    reply = request(server, "textDocument/inlineCompletion", inline(uri, 5, 4))
    assert reply.ok
    assert stats(server)["model_loaded"]

    # 3. corrupted (a truncated model.onnx), reloaded by a settings change
    data = (model / "model.onnx").read_bytes()
    (model / "model.onnx").write_bytes(data[: len(data) // 3])
    change_config(server, {"modelPath": str(model), "provider": "cpu"})
    wait_for(server, lambda: any("onnxruntime" in m for m in errors_shown(server)))
    reply = request(server, "textDocument/inlineCompletion", inline(uri, 6, 4))
    assert reply.ok and reply.result["items"] == []
    (model / "model.onnx").write_bytes(data)
    reply = request(server, "textDocument/inlineCompletion", inline(uri, 8, 4))
    assert reply.ok and stats(server)["model_loaded"]
    assert all("Traceback" not in m for _, m in server.seen.messages)
    assert server.alive()


def test_backend_raising_mid_stream(tmp_path: Path, started: list[Server]) -> None:
    root = make_workspace(tmp_path / "ws")
    outputs = ["!raisefirst completion text", "!raisechat answer that breaks", "y + 1",
               "a fine answer"]
    script = write_script(tmp_path / "script.json", outputs)
    server = start(started, tmp_path / "cache", root, {}, CODEFLOW_TEST_BACKEND=str(script),
                   CODEFLOW_TEST_RAISE="1")
    server.call(server.wait_ready())
    uri = (root / "main.py").as_uri()
    broken = request(server, "textDocument/inlineCompletion", inline(uri, 7, 8))
    # a failing model call gives no suggestion, and the editor is told why (once)
    assert broken.ok and broken.result["items"] == [] and no_traceback(broken)
    shown = [text for _, text in server.seen.messages if "completion failed" in text]
    assert len(shown) == 1 and "mid-stream" in shown[0] and "Traceback" not in shown[0]
    params = {"messages": [{"role": "user", "content": "hi"}], "partialResultToken": "tok"}
    chat = request(server, "codeflow/chat", params)
    assert chat.error is not None and no_traceback(chat)
    deltas = [p for p in server.seen.progress if p.get("token") == "tok"]
    assert 0 < len(deltas) <= 3  # some pieces streamed before the failure
    # the inference worker survived: both features answer again
    ok = request(server, "textDocument/inlineCompletion", inline(uri, 7, 8))
    assert ok.ok and ok.result["items"][0]["insertText"] == "y + 1"
    again = request(server, "codeflow/chat", {"messages": [{"role": "user", "content": "?"}]})
    assert again.ok and again.result["text"] == "a fine answer"


@needs_model
def test_tiny_kv_cap_evicts_without_changing_outputs() -> None:
    from inference import Engine, GenerateRequest

    capped = Engine.load(BUNDLED, provider="cpu", threads=1, kv_cap_tokens=24)
    free = Engine.load(BUNDLED, provider="cpu", threads=1)
    prompts = ["def add(a, b):\n    return", "class Stack:\n    def push(self, x):\n",
               "def add(a, b):\n    return a", "import os\n\nPATH = os.path.join("]
    reused = {"capped": 0, "free": 0}
    for k, text in enumerate(prompts * 2):
        ids = tuple(free.tokenizer.encode(text, add_special_tokens=False).ids)
        slot = ("completion", "chat")[k % 2]
        req = GenerateRequest(prompt_ids=ids, max_tokens=12, slot=slot)
        a, b = capped.generate(req), free.generate(req)
        assert a.ids == b.ids, text  # a cache is only a way to compute the same thing
        assert capped.cache.tokens() <= 24  # the cap holds after every request
        reused["capped"] += a.reused_tokens
        reused["free"] += b.reused_tokens
    assert reused["free"] > reused["capped"]  # the cap evicted what the free cache reused
    print(f"kv cap: reused tokens {reused}")


# ---- the index store ------------------------------------------------------------------------
def _scripted(tmp_path: Path) -> str:
    return str(write_script(tmp_path / "script.json", ["z = 1"] * 200))


def test_corrupt_store_is_rebuilt_and_said_once(tmp_path: Path, started: list[Server]) -> None:
    root = make_workspace(tmp_path / "ws")
    cache = tmp_path / "cache"
    store = store_file(cache, root)
    store.parent.mkdir(parents=True)
    store.write_bytes(b"this is not sqlite" * 1000)
    server = start(started, cache, root, {}, CODEFLOW_TEST_BACKEND=_scripted(tmp_path))
    server.call(server.wait_ready())
    rebuilt = [m for k, m in server.seen.messages if "rebuilt" in m]
    assert rebuilt == ["codeflow: the index store was unreadable; rebuilt it"]
    assert indexed_files(cache, root) == 2


def test_store_corrupted_while_serving(tmp_path: Path, started: list[Server]) -> None:
    root = make_workspace(tmp_path / "ws")
    cache = tmp_path / "cache"
    server = start(started, cache, root, {}, CODEFLOW_TEST_BACKEND=_scripted(tmp_path))
    server.call(server.wait_ready())
    store = store_file(cache, root)
    size = store.stat().st_size
    with store.open("r+b") as fh:  # keep the header, smash the pages
        fh.seek(100)
        fh.write(os.urandom(max(size - 100, 4096)))
    uri = (root / "main.py").as_uri()

    async def edit_and_complete() -> list[Reply]:
        server.open(uri, MAIN)
        server.change(uri, 2, [{"range": {"start": {"line": 9, "character": 0},
                                          "end": {"line": 9, "character": 0}}, "text": "x = 1\n"}])
        await asyncio.sleep(0.5)  # past the index debounce: the update hits the broken store
        return [await server.request("textDocument/inlineCompletion", inline(uri, 7, 8))
                for _ in range(3)]

    replies = server.call(edit_and_complete())
    for reply in replies:
        assert reply.ok, reply  # completions degrade (less context), they do not fail
    assert server.alive()
    assert stats(server)["index_ready"]
    doc = server.call(server.document(uri))
    assert doc["text"].endswith("x = 1\n")


def test_store_locked_at_start(tmp_path: Path, started: list[Server]) -> None:
    """Another process holds the store's write lock past SQLite's busy timeout (10 s)."""
    root = make_workspace(tmp_path / "ws")
    cache = tmp_path / "cache"
    store = store_file(cache, root)
    store.parent.mkdir(parents=True)
    holder = sqlite3.connect(str(store), timeout=1, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        server = start(started, cache, root, {}, CODEFLOW_TEST_BACKEND=_scripted(tmp_path))
        t0 = time.monotonic()
        # requests are answered while indexing waits on the lock
        uri = (root / "util.py").as_uri()
        server.call(_open(server, uri, UTIL))
        reply = request(server, "textDocument/inlineCompletion", inline(uri, 1, 4), timeout=60)
        assert reply.ok, reply
        print(f"answered during the lock in {time.monotonic() - t0:.2f}s")
        wait_for(server, lambda: any("locked" in m for m in errors_shown(server)), timeout=60)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not stats(server)["index_ready"]
    reply = request(server, "textDocument/inlineCompletion", inline(uri, 1, 4), timeout=60)
    assert reply.ok, reply
    assert server.alive()


async def _open(server: Server, uri: str, text: str) -> None:
    server.open(uri, text)


# ---- git ------------------------------------------------------------------------------------
def test_git_mid_rebase_with_index_lock(tmp_path: Path, started: list[Server]) -> None:
    root = make_workspace(tmp_path / "ws", git=True)
    git = root / ".git"
    (git / "index.lock").write_text("")
    (git / "rebase-merge").mkdir()
    (git / "rebase-merge" / "head-name").write_text("refs/heads/main\n")
    (git / "rebase-merge" / "onto").write_text(
        subprocess.run(["git", "rev-parse", "HEAD~1"], cwd=root, capture_output=True,
                       text=True, check=True).stdout
    )
    (root / "util.py").write_text("<<<<<<< HEAD\nx = 1\n=======\nx = 2\n>>>>>>> theirs\n")
    server = start(started, tmp_path / "cache", root, {}, CODEFLOW_TEST_BACKEND=_scripted(tmp_path))
    ready = server.call(server.wait_ready())
    assert ready["index_ready"]
    uri = (root / "main.py").as_uri()
    reply = request(server, "textDocument/inlineCompletion", inline(uri, 7, 8))
    assert reply.ok and reply.result["items"][0]["insertText"] == "z = 1"
    assert (git / "index.lock").exists()  # the server never takes or breaks git's lock
    assert errors_shown(server) == []


# ---- the filesystem -------------------------------------------------------------------------
def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


def test_server_writes_nothing_into_the_workspace(tmp_path: Path, started: list[Server]) -> None:
    root = make_workspace(tmp_path / "ws", git=True)
    before = _tree(root)
    server = start(started, tmp_path / "cache", root, {}, CODEFLOW_TEST_BACKEND=_scripted(tmp_path))
    server.call(server.wait_ready())
    uri = (root / "main.py").as_uri()
    server.call(_open(server, uri, MAIN))
    for reply in [
        request(server, "textDocument/inlineCompletion", inline(uri, 7, 8)),
        request(server, "codeflow/chat", {"messages": [{"role": "user", "content": "hi"}],
                                          "references": [uri]}),
        request(server, "workspace/executeCommand",
                {"command": "codeflow.applyCodeBlock",
                 "arguments": [{"uri": uri, "code": "def g():\n    pass\n"}]}),
    ]:
        assert reply.ok, reply
    server.stop()
    started.clear()
    assert _tree(root) == before


def test_unwritable_cache_dir(tmp_path: Path, started: list[Server]) -> None:
    root = make_workspace(tmp_path / "ws")
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache dir should be")
    server = start(started, blocker / "cache", root, {}, CODEFLOW_TEST_BACKEND=_scripted(tmp_path))
    wait_for(server, lambda: stats(server)["model_loaded"], timeout=60)
    uri = (root / "main.py").as_uri()
    server.call(_open(server, uri, MAIN))
    reply = request(server, "textDocument/inlineCompletion", inline(uri, 7, 8))
    assert reply.ok and reply.result["items"][0]["insertText"] == "z = 1"
    assert any("index" in m for _, m in server.seen.messages)  # the user is told
    assert server.alive()


def test_watchdog_storm_of_new_files(tmp_path: Path, started: list[Server]) -> None:
    root = make_workspace(tmp_path / "ws")
    cache = tmp_path / "cache"
    server = start(started, cache, root, {}, CODEFLOW_TEST_BACKEND=_scripted(tmp_path))
    server.call(server.wait_ready())
    gen = root / "gen"
    t0 = time.monotonic()
    for d in range(STORM_FILES // 500):
        sub = gen / f"pkg{d}"
        sub.mkdir(parents=True)
        for k in range(500):
            (sub / f"m{k}.py").write_text(f"def f_{d}_{k}(x):\n    return x + {k}\n")
    made = time.monotonic() - t0
    # the server answers during the storm
    latencies = []
    for _ in range(5):
        t = time.monotonic()
        assert stats(server)["index_ready"]
        latencies.append(time.monotonic() - t)
    uri = (root / "main.py").as_uri()
    reply = request(server, "textDocument/inlineCompletion", inline(uri, 7, 8))
    assert reply.ok
    # and the index settles with every file in it
    want = STORM_FILES + 2
    wait_for(server, lambda: indexed_files(cache, root) == want, timeout=240)
    print(f"storm: {STORM_FILES} files written in {made:.1f}s; _stats during it "
          f"{max(latencies) * 1000:.0f} ms max; settled {time.monotonic() - t0:.1f}s after start")
    assert server.alive()

"""`codeflow demo`: a scripted editor session against the real server, printed as an editor would.

It copies `examples/inventory` to a temp dir, replays its git history, starts `codeflow serve`
over stdio, opens a file, types, asks for ghost text (twice: the second keystroke types through
the suggestion and is served from the cache), asks a chat question, and prints what came back.

On the bundled model it says first what that model is for (a small offline model that makes
every path real) and what it cannot do, labels its chat output as raw model output rather than
an answer, and ends with how to point codeflow at a real model.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lsprotocol import types

REPO = Path(__file__).resolve().parents[2]
TARGET = "inventory/reports.py"
ANCHOR = "    return [item for item in items if stock.level(item.sku) < threshold]\n"
TYPED = (
    "\n\ndef items_out_of_stock(stock: Stock, items: list[Item]) -> list[Item]:\n"
    '    """Items we hold none of."""\n    '
)


BUNDLED_NOTE = (
    "  about the bundled model: a small offline model, shipped so that every path is real:\n"
    "  index, code flow, prompt assembly, ghost text, chat streaming, fixes.\n"
    "  It cannot write good code or answer questions: its completions and chat replies show\n"
    "  the mechanics, not what a real code model would say."
)
REAL_MODEL_HINT = (
    "\n--- for real suggestions and answers, point codeflow at a real code model:\n"
    "  local:  codeflow export HF_DIR MODEL_DIR, then set codeflow.modelPath to MODEL_DIR\n"
    "          (or `codeflow demo --model MODEL_DIR`)\n"
    "  server: backend: \"remote\" with remote.url/remote.model (vLLM or llama.cpp's server;\n"
    "          docs/serving-a-team.md)"
)
CHAT_LABEL = ("\n--- chat: 'What does order_total do?', streamed; below is the bundled model's "
              "RAW output,\n  not an answer (it cannot answer questions; this shows streaming):")


def _make_workspace(dest: Path) -> Path:
    spec = importlib.util.spec_from_file_location("make_history", REPO / "examples" /
                                                  "make_history.py")
    if spec is None or spec.loader is None:
        raise FileNotFoundError("examples/make_history.py is missing")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.replay(dest)


def _is_bundled(model: str | None) -> bool:
    """Whether the session runs on a model shipped in inference/models (the default)."""
    if not model:
        return True
    return Path(model).resolve().parent == (REPO / "inference" / "models").resolve()


def _say(text: str) -> None:
    print(text, flush=True)


async def _session(root: Path, model: str | None) -> int:
    from pygls.lsp.client import LanguageClient

    client = LanguageClient("codeflow-demo", "0.1")
    statuses: list[dict[str, Any]] = []
    ready = asyncio.Event()

    @client.feature("codeflow/status")
    def on_status(params: Any) -> None:
        data = params._asdict() if hasattr(params, "_asdict") else dict(params)
        statuses.append(data)
        if data.get("state") in ("idle", "error") and data.get("model") is not None and (
            data.get("state") == "error" or data.get("model")
        ):
            ready.set()

    @client.feature(types.WINDOW_SHOW_MESSAGE)
    def on_message(params: types.ShowMessageParams) -> None:
        _say(f"  [editor message] {params.message}")

    @client.feature(types.WINDOW_LOG_MESSAGE)
    def on_log(params: types.LogMessageParams) -> None:
        return None

    @client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
    def on_progress_create(params: types.WorkDoneProgressCreateParams) -> None:
        return None

    chunks: list[str] = []

    @client.feature(types.PROGRESS)
    def on_progress(params: Any) -> None:
        value = params.value if hasattr(params, "value") else params["value"]
        delta = value.get("delta") if isinstance(value, dict) else None
        if delta:
            fresh = not chunks
            chunks.append(delta)
            shown = delta.replace("\n", "\n  │ ")
            print(("  │ " if fresh else "") + shown, end="", flush=True)

    await client.start_io(sys.executable, "-m", "lsp_server.cli", "serve")
    options = {"modelPath": model or "", "completion": {"debounceMs": 0},
               "chat": {"maxTokens": 96}}
    caps = types.ClientCapabilities(
        window=types.WindowClientCapabilities(work_done_progress=True),
        text_document=types.TextDocumentClientCapabilities(
            inline_completion=types.InlineCompletionClientCapabilities()
        ),
    )
    await client.initialize_async(types.InitializeParams(
        capabilities=caps, root_uri=root.as_uri(), initialization_options=options))
    client.initialized(types.InitializedParams())
    _say(f"codeflow demo: workspace {root}")
    try:
        await asyncio.wait_for(ready.wait(), timeout=180)
    except TimeoutError:
        _say("  the server did not report ready within 180 s")
    last = statuses[-1] if statuses else {}
    _say(f"  status: {last.get('state')} · model {last.get('model') or '?'} · "
         f"{last.get('device', 'cpu')}")
    bundled = _is_bundled(model)
    if bundled:
        _say(BUNDLED_NOTE)
    rc = await _complete_and_chat(client, root, chunks, bundled)
    if bundled:
        _say(REAL_MODEL_HINT)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return rc


async def _complete_and_chat(client: Any, root: Path, chunks: list[str], bundled: bool) -> int:
    uri = (root / TARGET).as_uri()
    text = (root / TARGET).read_text(encoding="utf-8")
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri, "python", 1, text)))
    at = text.index(ANCHOR) + len(ANCHOR)
    line = text[:at].count("\n")
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        [types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(line, 0), types.Position(line, 0)), text=TYPED)]))
    pos = types.Position(line + TYPED.count("\n"), len(TYPED) - TYPED.rfind("\n") - 1)
    _say(f"\n--- {TARGET}, you typed a new function header; cursor at line {pos.line + 1}:")
    _say(TYPED.strip("\n") + "█")
    got = await _ghost(client, uri, pos, "ghost text")
    if got:
        first = got[0]
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=3),
            [types.TextDocumentContentChangePartial(
                range=types.Range(pos, pos), text=first)]))
        await _ghost(client, uri, types.Position(pos.line, pos.character + 1),
                     "after typing its first character (type-through, from the cache)")
    _show_sections(root, text[:at] + TYPED + text[at:], pos)
    _say(CHAT_LABEL if bundled else "\n--- chat: 'What does order_total do?' (streamed)")
    started = time.monotonic()
    orders = (root / "inventory/orders.py").as_uri()
    result = await client.protocol.send_request_async("codeflow/chat", {
        "messages": [{"role": "user", "content": "What does order_total do?"}],
        "references": [orders], "partialResultToken": "demo-chat"})
    _say(f"\n  [{len(chunks)} streamed pieces, {time.monotonic() - started:.2f} s, "
         f"finish: {getattr(result, 'finishReason', '?')}]")
    return 0 if got is not None else 1


def _show_sections(root: Path, text: str, pos: types.Position) -> None:
    """What the model was shown for that completion: the prompt's sections, in order."""
    import json
    import subprocess

    buffer = root.parent / "buffer.py"
    buffer.write_text(text, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "lsp_server.cli", "context", "--workspace", str(root), "--file",
         TARGET, "--line", str(pos.line), "--character", str(pos.character), "--text-file",
         str(buffer), "--json"],
        capture_output=True, text=True, timeout=120,
    )
    if out.returncode != 0 or not out.stdout.strip():
        _say(f"  (prompt sections unavailable: {out.stderr.strip()[-200:]})")
        return
    report = json.loads(out.stdout.strip().splitlines()[-1])
    _say(f"\n--- what the model saw: {report['prompt_tokens']} tokens in "
         f"{len(report['sections'])} sections (stable first, the cursor's file last)")
    for sec in report["sections"]:
        if sec["kind"] == "format":
            continue
        span = f"{sec['start_line'] + 1}-{sec['end_line'] + 1}"
        where = f"{sec['path']}:{span}" if sec["path"] else ""
        _say(f"  {sec['kind']:<18} {where:<36} {sec['tokens']:>5} tokens")


async def _ghost(client: Any, uri: str, pos: types.Position, label: str) -> str | None:
    started = time.monotonic()
    result = await client.text_document_inline_completion_async(types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri), position=pos,
        context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Invoked)))
    ms = (time.monotonic() - started) * 1000
    items = result.items if result is not None and not isinstance(result, list) else result
    if not items:
        _say(f"  ({label}: no suggestion, {ms:.0f} ms)")
        return ""
    text = items[0].insert_text
    text = text if isinstance(text, str) else text.value
    _say(f"  {label} ({ms:.0f} ms):")
    for ln in text.splitlines() or [text]:
        _say(f"  │ {ln}")
    return text


def run(args: argparse.Namespace) -> int:
    """Run the scripted session; returns non-zero when no completion came back."""
    tmp = Path(tempfile.mkdtemp(prefix="codeflow-demo-"))
    try:
        root = Path(args.workspace).resolve() if args.workspace else _make_workspace(tmp / "ws")
        return asyncio.run(_session(root, args.model))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

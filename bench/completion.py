"""Completion latency benchmark: a scripted typing session against the real server.

Retypes the body of a real function (from the standard library) keystroke by keystroke,
asking for inline completions as an editor would. Prints per-request latency p50/p95 split into
server overhead (everything but the model) and model time, cache hit rate, prompt prefix reuse
(share of prompt tokens served from the KV cache), and how fast superseded requests are
answered. Usage: python bench/completion.py [--keystrokes 200] [--budget 2048] [--model DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

REPO = Path(__file__).resolve().parents[1]
SOURCE = Path(sysconfig.get_paths()["stdlib"]) / "textwrap.py"
FUNCTION = "    def _wrap_chunks(self, chunks):"


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


async def session(args: argparse.Namespace) -> None:
    ws = Path(tempfile.mkdtemp(prefix="codeflow-bench-"))
    source = Path(args.source) if args.source else SOURCE
    text = source.read_text(encoding="utf-8")
    start = text.index(args.function or FUNCTION)
    body_start = text.index("\n", start) + 1
    body = text[body_start : body_start + args.keystrokes]
    base = text[:body_start] + text[body_start + args.keystrokes :]
    (ws / "textwrap_copy.py").write_text(base, encoding="utf-8")
    env = dict(
        os.environ,
        CODEFLOW_TEST_COMMANDS="1",
        PYTHONPATH=str(REPO),
        CODEFLOW_CACHE_DIR=str(ws / ".cache"),
    )
    client = LanguageClient("bench", "0")

    @client.feature("codeflow/status")
    def _status(params: object) -> None:
        return None

    @client.feature(types.WINDOW_LOG_MESSAGE)
    def _log(params: object) -> None:
        return None

    await client.start_io(sys.executable, "-m", "lsp_server.cli", "serve", env=env)
    caps = types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(
            inline_completion=types.InlineCompletionClientCapabilities()
        )
    )
    opts = {
        "modelPath": args.model or "",
        "completion": {"debounceMs": 0},
        "context": {"budgetTokens": args.budget},
    }
    await client.initialize_async(
        types.InitializeParams(capabilities=caps, root_uri=ws.as_uri(), initialization_options=opts)
    )
    client.initialized(types.InitializedParams())
    while True:
        st = await client.protocol.send_request_async("codeflow/_stats", {})
        if st.model_loaded and st.index_ready:
            break
        await asyncio.sleep(0.2)
    uri = (ws / "textwrap_copy.py").as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, base))
    )
    offset = body_start
    totals, models, overheads, reuse, cancel_ms = [], [], [], [], []
    assemble, cleaning = [], []
    hits_before = 0
    for i, ch in enumerate(body):
        before = base[:offset]
        line = before.count("\n")
        col = len(before) - (before.rfind("\n") + 1)
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=uri, version=i + 2),
                [
                    types.TextDocumentContentChangePartial(
                        range=types.Range(types.Position(line, col), types.Position(line, col)),
                        text=ch,
                    )
                ],
            )
        )
        base = base[:offset] + ch + base[offset:]
        offset += 1
        after = base[:offset]
        pos = types.Position(after.count("\n"), len(after) - (after.rfind("\n") + 1))
        params = types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri),
            position=pos,
            context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Automatic),
        )
        t0 = time.perf_counter()
        fut = asyncio.wrap_future(
            client.protocol.send_request(types.TEXT_DOCUMENT_INLINE_COMPLETION, params)
        )
        if i % 10 == 5:  # a fast typist: the next request supersedes this one
            await asyncio.sleep(0.03)
            t1 = time.perf_counter()
            nxt = asyncio.wrap_future(
                client.protocol.send_request(types.TEXT_DOCUMENT_INLINE_COMPLETION, params)
            )
            try:
                await fut
            except Exception:  # noqa: BLE001 - RequestCancelled is the expected answer
                pass
            cancel_ms.append((time.perf_counter() - t1) * 1000)
            fut, t0 = nxt, t1
        try:
            await fut
        except Exception:  # noqa: BLE001
            continue
        total = (time.perf_counter() - t0) * 1000
        st = await client.protocol.send_request_async("codeflow/_stats", {})
        hit = st.metrics.cache_hits > hits_before
        hits_before = st.metrics.cache_hits
        totals.append(total)
        if not hit and st.last_timing is not None:
            models.append(st.last_timing.model_ms)
            assemble.append(st.last_timing.assemble_ms)
            cleaning.append(st.last_timing.clean_ms)
            overheads.append(max(total - st.last_timing.model_ms, 0.0))
            reuse.append(st.last_timing.reused_tokens / max(st.last_timing.prompt_tokens, 1))
        else:
            overheads.append(total)
    st = await client.protocol.send_request_async("codeflow/_stats", {})
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    n = len(totals)
    print(
        f"keystrokes {len(body)}, answered {n}, model calls {st.model_calls}, "
        f"cache hits {st.metrics.cache_hits} ({st.metrics.cache_hits / max(n, 1):.0%})"
    )
    print(f"end-to-end ms      p50 {pct(totals, 50):7.1f}  p95 {pct(totals, 95):7.1f}")
    print(f"model ms           p50 {pct(models, 50):7.1f}  p95 {pct(models, 95):7.1f}")
    print(f"server overhead ms p50 {pct(overheads, 50):7.1f}  p95 {pct(overheads, 95):7.1f}")
    print(f"  of which assembly p50 {pct(assemble, 50):.1f}, cleaning p50 {pct(cleaning, 50):.1f}")
    print(
        f"superseded answered ms p50 {pct(cancel_ms, 50):.1f} p95 {pct(cancel_ms, 95):.1f} "
        f"(n={len(cancel_ms)})"
    )
    if reuse:
        print(
            f"prompt prefix reuse (KV) mean {statistics.mean(reuse):.1%}, "
            f"median {statistics.median(reuse):.1%}"
        )
    print(
        f"prompt budget {args.budget} tokens; last prompt {st.last_timing.prompt_tokens} tokens"
        if st.last_timing
        else ""
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keystrokes", type=int, default=200)
    parser.add_argument("--budget", type=int, default=2048)
    parser.add_argument("--model")
    parser.add_argument("--source", help="file to retype (default: the stdlib's textwrap.py)")
    parser.add_argument("--function", help="line that starts the function to retype")
    asyncio.run(session(parser.parse_args()))


if __name__ == "__main__":
    main()

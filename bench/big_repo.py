"""Completion latency in a big, old repository, through the real server.

Builds (once, cached) the synthetic big repository of ``bench/make_history_repos.py`` (>= 15,000
commits, a ~9,000-line ``pkg/checker.py``), indexes it once (``codeflow index``), then for each
budget (2K and 8K) starts ``codeflow serve``, opens the big file and moves the cursor to 15
function-body lines spread over it, 1 s apart, asking for an inline completion at each.
Prints first, p50, p90 and max end-to-end latency, the assembly share, the server's per-source
stats (``codeflow/status``) and its RSS. ``--profile`` instead profiles (cProfile) the same
prompt builds in-process and prints the top functions by cumulative time.

    .venv/bin/python bench/big_repo.py [--lines 15] [--gap 1.0] [--budgets 2048,8192] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from make_history_repos import cached_big  # noqa: E402

BIG_FILE = "pkg/checker.py"


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def body_lines(text: str, count: int) -> list[tuple[int, int]]:
    """``count`` (line, column) cursors at the end of function-body lines spread over the file."""
    lines = text.splitlines()
    bodies = [i for i, x in enumerate(lines) if x.startswith("    score = helper_")]
    step = max(1, len(bodies) // count)
    picked = bodies[step // 2 :: step][:count]
    return [(i, len(lines[i])) for i in picked]


def env_for(cache: Path) -> dict[str, str]:
    return dict(os.environ, CODEFLOW_TEST_COMMANDS="1", PYTHONPATH=str(REPO),
                CODEFLOW_CACHE_DIR=str(cache))


def index_once(root: Path, cache: Path) -> dict:
    """``codeflow index --json`` (a no-op refresh when the store is current)."""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "lsp_server.cli", "index", str(root), "--json"],
                         env=env_for(cache), capture_output=True, text=True, check=True)
    stats = json.loads(out.stdout)
    stats["wall_s"] = round(time.perf_counter() - t0, 1)
    return stats


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


async def session(root: Path, cache: Path, budget: int, args: argparse.Namespace) -> dict:
    client = LanguageClient("bench", "0")

    @client.feature("codeflow/status")
    def _status(params: object) -> None:
        return None

    @client.feature(types.WINDOW_LOG_MESSAGE)
    def _log(params: object) -> None:
        return None

    @client.feature(types.WINDOW_SHOW_MESSAGE)
    def _show(params: object) -> None:
        return None

    await client.start_io(sys.executable, "-m", "lsp_server.cli", "serve", env=env_for(cache))
    caps = types.ClientCapabilities(text_document=types.TextDocumentClientCapabilities(
        inline_completion=types.InlineCompletionClientCapabilities()))
    opts = {"completion": {"debounceMs": 0, "maxTokens": args.max_tokens},
            "context": {"budgetTokens": budget}}
    await client.initialize_async(types.InitializeParams(
        capabilities=caps, root_uri=root.as_uri(), initialization_options=opts))
    client.initialized(types.InitializedParams())
    while True:
        st = await client.protocol.send_request_async("codeflow/_stats", {})
        if st.model_loaded and st.index_ready and st.history_ready:
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(args.settle)
    path = root / BIG_FILE
    text = path.read_text(encoding="utf-8")
    uri = path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri, "python", 1, text)))
    totals, assemble, model, tokens, reuse, prompts = [], [], [], [], [], []
    for n, (line, col) in enumerate(body_lines(text, args.lines)):
        if n:
            await asyncio.sleep(args.gap)
        params = types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri), position=types.Position(line, col),
            context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Invoked))
        t0 = time.perf_counter()
        await client.protocol.send_request_async(types.TEXT_DOCUMENT_INLINE_COMPLETION, params)
        totals.append((time.perf_counter() - t0) * 1000)
        st = await client.protocol.send_request_async("codeflow/_stats", {})
        timing = st.last_timing
        assemble.append(timing.assemble_ms if timing else float("nan"))
        model.append(timing.model_ms if timing else float("nan"))
        tokens.append(timing.generated_tokens if timing else 0)
        reuse.append(timing.reused_tokens / max(timing.prompt_tokens, 1) if timing else 0.0)
        prompts.append((timing.prompt_tokens, timing.reused_tokens) if timing else (0, 0))
    final = await client.protocol.send_request_async("codeflow/_stats", {})
    sources = _plain(getattr(final, "sources", None))
    pid = client._server.pid if client._server else 0
    rss = rss_mb(pid)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return {"budget": budget, "totals": totals, "assemble": assemble, "model": model,
            "tokens": tokens, "reuse": reuse, "prompts": prompts,
            "rss_mb": rss, "sources": sources}


def _plain(obj: object) -> object:
    """pygls' response objects (namedtuples) as dicts."""
    if hasattr(obj, "_asdict"):
        return {k: _plain(v) for k, v in obj._asdict().items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj


def report(r: dict) -> None:
    t, a, m = r["totals"], r["assemble"], r["model"]
    rest = t[1:]
    share = sum(a) / max(sum(t), 1e-9)
    print(f"budget {r['budget']}: {len(t)} completions")
    print(f"  end-to-end ms  first {t[0]:7.1f}  p50 {pct(rest, 50):7.1f}  p90 {pct(rest, 90):7.1f}"
          f"  max {max(t):7.1f}   (p50/p90 over the {len(rest)} after the first)")
    print(f"  assembly ms    first {a[0]:7.1f}  p50 {pct(a[1:], 50):7.1f}"
          f"  p90 {pct(a[1:], 90):7.1f}"
          f"  max {max(a):7.1f}   share of end-to-end {share:.0%}")
    per_token = [x / max(n, 1) for x, n in zip(m, r["tokens"], strict=True)]
    print(f"  model ms       p50 {pct(m, 50):7.1f}  (generated tokens p50 "
          f"{pct(r['tokens'], 50):.0f},"
          f" ms per generated token p50 {pct(per_token, 50):.1f})")
    print(f"  prompt prefix reused from the KV cache p50 {pct(r['reuse'], 50):.0%}")
    print(f"  per request ms {' '.join(f'{x:.0f}' for x in t)}")
    if r.get("prompts"):
        print("  per request: end-to-end / assembly / model ms, prompt tokens (reused), generated")
        for i, (x, y, z, (n, hit), g) in enumerate(zip(t, a, m, r["prompts"], r["tokens"],
                                                       strict=True)):
            print(f"    #{i:<2} {x:6.0f} {y:6.0f} {z:6.0f}  {n:5d} ({hit:5d}) {g:3d}")
    print(f"  server RSS {r['rss_mb']:.0f} MB")
    sources = r["sources"] or {}
    for name, counts in sorted((sources.get("units") or {}).items()):
        print(f"  source {name:17} " + " ".join(f"{k} {v}" for k, v in counts.items()))


def profile_assembly(root: Path, cache: Path, budget: int, count: int,
                     args_deadline: float | None, top: int = 30) -> None:
    """cProfile of prompt assembly in-process (index, history, assembler as the server builds
    them) at the same cursors, as a completion asks (with its deadline) and as chat asks."""
    import cProfile
    import pstats

    os.environ["CODEFLOW_CACHE_DIR"] = str(cache)
    sys.path.insert(0, str(REPO))
    from context.assemble import Assembler, PromptRequest
    from context.history import History
    from context.index import WorkspaceIndex
    from inference import default_model_dir

    index = WorkspaceIndex(root)
    index.refresh()
    history = History(root)
    history.ingest()
    model = default_model_dir()
    spec = json.loads((model / "codeflow-model.json").read_text())
    deadline = args_deadline
    asm = Assembler(index, history, model / "tokenizer.json", spec)
    if deadline is None:  # every source in this thread, so that the profile sees it
        from context.retrieve.runner import SourceRunner

        asm.retriever.runner = SourceRunner(workers=0)
    text = (root / BIG_FILE).read_text(encoding="utf-8")
    index.update_buffer(BIG_FILE, text)
    asm.prewarm(BIG_FILE, text)  # as the server does when the file is opened
    asm.retriever.runner.drain(60.0)
    time.sleep(1.0)  # the deferred warm-ups (no key to drain)
    prof = cProfile.Profile()
    times = []
    for line, col in body_lines(text, count):
        t0 = time.perf_counter()
        prof.enable()
        asm.build(PromptRequest(BIG_FILE, text, line, col, budget, deadline_ms=deadline))
        prof.disable()
        times.append((time.perf_counter() - t0) * 1000)
    print(f"-- in-process assembly at {budget}: ms {' '.join(f'{x:.0f}' for x in times)}")
    print(f"-- cProfile of those builds (cumulative, top {top}) --")
    pstats.Stats(prof).sort_stats("cumulative").print_stats(top)
    print(f"-- the same by own time (top {top}) --")
    pstats.Stats(prof).sort_stats("tottime").print_stats(top)
    index.close()
    history.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=15)
    ap.add_argument("--gap", type=float, default=1.0, help="seconds between cursor moves")
    ap.add_argument("--budgets", default="2048,8192")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--settle", type=float, default=2.0, help="seconds after startup")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--deadline-ms", type=float, default=None,
                    help="with --profile: the retrieval deadline of each build (default: none)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    root = cached_big()
    cache = root.parent / "codeflow-cache"
    print(f"repo {root} ready in {time.perf_counter() - t0:.1f}s; "
          f"{BIG_FILE}: {len((root / BIG_FILE).read_text().splitlines())} lines")
    stats = index_once(root, cache)
    print(f"index: {stats.get('files')} files, {stats.get('symbols')} symbols, "
          f"{stats.get('commits')} commits, {stats['wall_s']} s")
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f} on {os.cpu_count()} CPUs (shared machine: figures are noisy)")
    for budget in (int(x) for x in args.budgets.split(",")):
        if args.profile:
            profile_assembly(root, cache, budget, args.lines, args.deadline_ms)
            continue
        report(asyncio.run(session(root, cache, budget, args)))
    print(f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

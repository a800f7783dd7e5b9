"""Remote path vs local engine on the same model and prompt (llama.cpp server on loopback).

    python bench/remote.py [--reps 5] [--tokens 32] [--threads 1] [--json]

Builds the same weights twice (HF → fp32 ONNX with `codeflow export`; HF → GGUF f32 with
llama.cpp's converter), starts `llama_cpp.server` on 127.0.0.1, then for each prompt measures:

- client overhead of the remote path: request built → first byte sent (JSON encoding and the
  TCP connect; what codeflow adds before the server sees anything);
- time to the response headers and to the first token, and end-to-end latency of a greedy
  generation of --tokens tokens, remote vs local (`Engine`, CPU, same thread count).

The first run of each prompt is cold (nothing cached); the next --reps runs repeat it, so both
sides reuse the prompt's KV cache. Medians are printed. Exits 0 with a note when llama-cpp-python
is not installed (as `make bench` runs every bench).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from inference.backends import Generation, RemoteBackend
    from inference.engine import Engine

PROMPTS = {
    "fim": "<|fim_prefix|>import os\n\n\ndef list_py(root):\n    <|fim_suffix|>\n\n\n"
           "print(list_py('.'))\n<|fim_middle|>",
    "plain": "class Stack:\n    def __init__(self):\n        self.items = []\n\n"
             "    def push(self, x):\n",
}


@dataclass(frozen=True)
class Row:
    """Medians (ms) for one prompt and one side."""

    prompt: str
    side: str
    prompt_tokens: int
    tokens: int
    cold_ms: float
    warm_ms: float
    warm_ttft_ms: float
    overhead_ms: float | None
    headers_ms: float | None
    same_text: bool


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    return ap.parse_args()


def timed(fn: Callable[[], Generation]) -> tuple[float, Generation]:
    start = time.perf_counter()
    out = fn()
    return (time.perf_counter() - start) * 1000, out


def bench_local(onnx: Path, name: str, prompt: str, args: argparse.Namespace
                ) -> tuple[Row, str, tuple[int, ...]]:
    """A fresh engine per prompt, so its first run is cold."""
    from inference.backends import GenerateRequest
    from inference.engine import Engine

    engine: Engine = Engine.load(onnx, provider="cpu", threads=args.threads)
    ids = tuple(engine.encode(prompt))
    req = GenerateRequest(ids, max_tokens=args.tokens)
    cold, gen = timed(lambda: engine.generate(req))
    warm, ttft = [], []
    for _ in range(args.reps):
        ms, gen = timed(lambda: engine.generate(req))
        warm.append(ms)
        ttft.append(gen.ttft_ms)
    row = Row(name, "local", len(ids), len(gen.ids), round(cold, 2),
              round(statistics.median(warm), 2), round(statistics.median(ttft), 2), None, None,
              True)
    return row, gen.text, ids


def bench_remote(backend: RemoteBackend, name: str, ids: tuple[int, ...],
                 args: argparse.Namespace, local_text: str) -> Row:
    from inference.backends import GenerateRequest

    req = GenerateRequest(ids, max_tokens=args.tokens)
    cold, gen = timed(lambda: backend.generate(req))
    warm, ttft, overhead, headers = [], [], [], []
    for _ in range(args.reps):
        ms, gen = timed(lambda: backend.generate(req))
        t = backend.last_timing
        assert t is not None
        warm.append(ms)
        ttft.append(gen.ttft_ms)
        overhead.append((t.first_byte_sent - t.built) * 1000)
        headers.append((t.response - t.built) * 1000)
    return Row(name, "remote", len(ids), len(gen.ids), round(cold, 2),
               round(statistics.median(warm), 2), round(statistics.median(ttft), 2),
               round(statistics.median(overhead), 3),
               round(statistics.median(headers), 2), gen.text == local_text)


def run(args: argparse.Namespace, work: Path) -> tuple[list[Row], str]:
    from inference.backends import RemoteBackend
    from lsp_server.config import RemoteConfig
    from tests.e2e.llamacpp_support import LlamaServer, convert_to_gguf, export_onnx, hf_checkpoint

    hf, kind = hf_checkpoint(work)
    onnx = export_onnx(hf, work / "onnx")
    gguf = convert_to_gguf(hf, work / "model-f32.gguf", "f32")
    server = LlamaServer.start(gguf, work, threads=args.threads)
    try:
        backend = RemoteBackend.from_config(RemoteConfig(url=server.url, model=server.model),
                                            onnx)
        rows: list[Row] = []
        for name, prompt in PROMPTS.items():
            local, text, ids = bench_local(onnx, name, prompt, args)
            rows += [local, bench_remote(backend, name, ids, args, text)]
    finally:
        server.stop()
    return rows, kind


def render(rows: list[Row], kind: str, args: argparse.Namespace) -> str:
    head = (f"model: {kind} checkpoint; {args.tokens} greedy tokens; {args.reps} warm reps; "
            f"{args.threads} thread(s) each side; llama_cpp.server on 127.0.0.1")
    cols = ("prompt", "side", "prompt_tokens", "tokens", "cold_ms", "warm_ms", "warm_ttft_ms",
            "overhead_ms", "headers_ms", "same_text")
    lines = [head, "  ".join(f"{c:>13}" for c in cols)]
    for r in rows:
        vals = asdict(r)
        lines.append("  ".join(f"{'-' if vals[c] is None else vals[c]!s:>13}" for c in cols))
    return "\n".join(lines)


def main() -> int:
    args = parse_args()
    if importlib.util.find_spec("llama_cpp") is None:
        print("bench/remote.py: skipped: llama-cpp-python is not installed "
              "(see docs/serving-a-team.md)")
        return 0
    with tempfile.TemporaryDirectory(prefix="codeflow-remote-bench-") as tmp:
        rows, kind = run(args, Path(tmp))
    if args.json:
        print(json.dumps({"model": kind, "rows": [asdict(r) for r in rows]}, indent=1))
    else:
        print(render(rows, kind, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Prompt assembly with the served model's tokenizer (the server's /tokenize) vs a local one.

    python bench/remote_tokenizer.py [--file context/assemble/assembler.py] [--keys 20]

Converts the HF checkpoint (`tests/e2e/llamacpp_support.hf_checkpoint`) to GGUF, starts
`llama_cpp.server` on 127.0.0.1 and builds completion prompts for one file of this repository
(no index, no history: the current file only) with two assemblers of the same tokenizer:
`tokenizer.json` in process, and `ServerTokenizer` over HTTP. Prints, per side: the first
build (cold caches) and the median of --keys keystrokes (one character typed at the cursor
each), in ms, with the number of tokenize requests each made, and whether both sides built the
same ids. Exits 0 with a note when llama-cpp-python is not installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", default="context/assemble/assembler.py")
    ap.add_argument("--keys", type=int, default=20)
    ap.add_argument("--budget", type=int, default=2048)
    return ap.parse_args()


def requests_of(tok: Any) -> list[int]:
    """A counter of the POSTs `tok`'s transport sends from now on (a list of one int)."""
    sent = [0]
    transport = tok.transport
    send = transport.send

    def counting(conn: Any, method: str, path: str, body: Any = None) -> Any:
        sent[0] += 1
        return send(conn, method, path, body)

    transport.send = counting
    return sent


def session(assembler: Any, text: str, line: int, keys: int, budget: int,
            sent: list[int] | None) -> tuple[float, int, float, float, list[tuple[int, ...]]]:
    """(cold ms, cold requests, median keystroke ms, requests per keystroke, ids per build)."""
    from context.assemble import PromptRequest

    lines = text.splitlines(keepends=True)
    head = "".join(lines[:line])
    indent = lines[line][: len(lines[line]) - len(lines[line].lstrip())]
    typed, times, ids = "", [], []
    cold_requests = 0
    for i in range(keys + 1):
        body = head + indent + typed + "\n" + "".join(lines[line + 1:])
        req = PromptRequest(path="file.py", text=body, line=line,
                            character=len(indent) + len(typed), budget=budget)
        before = sent[0] if sent else 0
        start = time.perf_counter()
        prompt = assembler.build(req)
        times.append((time.perf_counter() - start) * 1000)
        ids.append(prompt.ids)
        if i == 0:
            cold_requests = (sent[0] if sent else 0) - before
        typed += "abcdefghij"[i % 10]
    per_key = ((sent[0] - cold_requests) / keys) if sent else 0.0
    return times[0], cold_requests, statistics.median(times[1:]), per_key, ids


def run(args: argparse.Namespace, work: Path) -> str:
    from context.assemble import Assembler
    from inference.backends import RemoteBackend
    from inference.backends.remote import ServerTokenizer, default_spec
    from lsp_server.config import RemoteConfig
    from tests.e2e.llamacpp_support import LlamaServer, convert_to_gguf, hf_checkpoint

    hf, kind = hf_checkpoint(work)
    gguf = convert_to_gguf(hf, work / "model-f32.gguf", "f32")
    text = (ROOT / args.file).read_text(encoding="utf-8")
    line = len(text.splitlines()) * 3 // 4
    server = LlamaServer.start(gguf, work)
    try:
        backend = RemoteBackend.from_config(RemoteConfig(url=server.url, model=server.model,
                                                         max_context=2048))
        assert isinstance(backend.tokenizer, ServerTokenizer)
        spec = default_spec(server.model).raw
        sent = requests_of(backend.tokenizer)
        remote = session(Assembler(None, None, backend.tokenizer, spec), text, line, args.keys,
                         args.budget, sent)
        local = session(Assembler(None, None, hf / "tokenizer.json", spec), text, line,
                        args.keys, args.budget, None)
    finally:
        server.stop()
    same = remote[4] == local[4]
    rows = [f"model: {kind} checkpoint's tokenizer; {args.file} line {line + 1}; budget "
            f"{args.budget}; {args.keys} keystrokes; llama_cpp.server on 127.0.0.1",
            f"{'side':>8} {'cold_ms':>9} {'cold_requests':>14} {'key_ms_p50':>11} "
            f"{'requests_per_key':>17}"]
    for name, (cold, cold_n, key, per_key, _ids) in (("server", remote), ("local", local)):
        rows.append(f"{name:>8} {cold:>9.1f} {cold_n:>14} {key:>11.2f} {per_key:>17.1f}")
    rows.append(f"same ids on both sides: {same}")
    return "\n".join(rows)


def main() -> int:
    args = parse_args()
    if importlib.util.find_spec("llama_cpp") is None:
        print("bench/remote_tokenizer.py: skipped: llama-cpp-python is not installed "
              "(see docs/serving-a-team.md)")
        return 0
    with tempfile.TemporaryDirectory(prefix="codeflow-remote-tok-") as tmp:
        print(run(args, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where the model's time goes at a new cursor: prompt assembly, prefill and decode, in-process.

Builds the prompts of bench/big_repo.py's 15 cursors in its big synthetic repository as the
server does (10 ms retrieval deadline, ``--gap`` seconds apart), then runs them through the
bundled model one after the other, one generated token each (so the time is the prefill of what
the KV cache could not reuse from the previous prompts), and decodes once to measure tokens/s.
Prints assembly, prefill (first, p50, p90, max), the KV prefix reused and the decode rate.

    .venv/bin/python bench/new_cursor_prefill.py [--budgets 1024,2048] [--threads N] [--chunk N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from big_repo import BIG_FILE, body_lines, pct  # noqa: E402
from make_history_repos import cached_big  # noqa: E402

sys.path.insert(0, str(REPO))  # big_repo put bench/ first: its inference.py is not the package


def prompts_at_cursors(root: Path, budget: int, gap: float) -> tuple[list[tuple[int, ...]],
                                                                     list[float]]:
    """The prompt ids at each cursor and the ms each build took."""
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
    asm = Assembler(index, history, model / "tokenizer.json", spec)
    text = (root / BIG_FILE).read_text(encoding="utf-8")
    index.update_buffer(BIG_FILE, text)
    asm.prewarm(BIG_FILE, text)
    time.sleep(2 * gap)
    prompts, times = [], []
    for line, col in body_lines(text, 15):
        t0 = time.perf_counter()
        req = PromptRequest(BIG_FILE, text, line, col, budget, deadline_ms=10)
        prompts.append(tuple(asm.build(req).ids))
        times.append((time.perf_counter() - t0) * 1000)
        time.sleep(gap)
    asm.close()
    index.close()
    history.close()
    return prompts, times


def run(budget: int, args: argparse.Namespace) -> None:
    from inference import Engine, GenerateRequest, default_model_dir

    prompts, built = prompts_at_cursors(cached_big(), budget, args.gap)
    engine = Engine.load(default_model_dir(), provider="cpu", threads=args.threads or None,
                         prefill_chunk=args.chunk or None)
    prefill, reuse = [], []
    for ids in prompts:
        t0 = time.perf_counter()
        gen = engine.generate(GenerateRequest(ids, max_tokens=1))
        prefill.append((time.perf_counter() - t0) * 1000)
        reuse.append(gen.reused_tokens / len(ids))
    engine.eos_ids = frozenset()
    rate = engine.generate(GenerateRequest(prompts[-1] + (13,), max_tokens=32)).tokens_per_s
    rest = prefill[1:]
    print(f"budget {budget} (load {os.getloadavg()[0]:.1f}, threads "
          f"{engine.session.session.get_session_options().intra_op_num_threads}, chunk "
          f"{engine.prefill_chunk}): prompt tokens p50 "
          f"{statistics.median(len(p) for p in prompts):.0f}")
    print(f"  assembly ms  first {built[0]:.0f}  p50 {pct(built[1:], 50):.0f}  "
          f"p90 {pct(built[1:], 90):.0f}")
    print(f"  prefill ms   first {prefill[0]:.0f}  p50 {pct(rest, 50):.0f}  p90 {pct(rest, 90):.0f}"
          f"  max {max(prefill):.0f}   KV prefix reused p50 {pct(reuse[1:], 50):.0%}")
    print(f"  decode {rate:.0f} tokens/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budgets", default="1024,2048")
    ap.add_argument("--gap", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=0, help="0: the engine's default")
    ap.add_argument("--chunk", type=int, default=0, help="prefill chunk; 0: the default")
    args = ap.parse_args()
    for budget in (int(x) for x in args.budgets.split(",")):
        run(budget, args)


if __name__ == "__main__":
    main()

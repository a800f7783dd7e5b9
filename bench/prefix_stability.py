"""KV-cache friendliness: how much of each keystroke's prompt is an unchanged prefix of the last.

A typing session inside one function of real code (the standard-library copy of
bench/context_eval.py): the tail of a function is deleted, then typed back one character per
keystroke (200 keystrokes; Enter auto-indents like an editor), recording each edit in an
EditRing as an editor would. For every
keystroke the prompt is built and compared with the previous one: the share of its tokens that
form a common prefix is what the engine can reuse. Also reports per-keystroke assembly time
(the warm path) and how often the retrieved sections changed.

    .venv/bin/python bench/prefix_stability.py [--keystrokes 200] [--budgets 2048,8192]
        [--infill psm|spm]

``--infill spm`` builds the prompts in SPM order (suffix first, the prefix last), as for a model
dir that declares ``prompt_format.infill: "spm"``.
"""

from __future__ import annotations

import argparse
import ast
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from context_eval import MODEL_JSON, WORK, stdlib_workspace, tokenizer_file  # noqa: E402

from context.assemble import Assembler, AssemblerConfig, PromptRequest  # noqa: E402
from context.history import EditRing  # noqa: E402

SESSIONS = (("asyncio/base_events.py", "create_server"), ("json/encoder.py", "iterencode"),
            ("email/utils.py", "formataddr"))


def common_prefix(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def function_tail(text: str, name: str, chars: int) -> tuple[int, str]:
    """(first line, text) of the last lines of function ``name`` holding >= ``chars`` chars."""
    tree = ast.parse(text)
    fn = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
              and n.name == name)
    lines = text.splitlines(keepends=True)
    start = fn.end_lineno
    while start > fn.body[0].lineno and sum(len(x) for x in lines[start - 1 : fn.end_lineno]) \
            < chars:
        start -= 1
    return start - 1, "".join(lines[start - 1 : fn.end_lineno])


def _keystrokes(tail: str, count: int) -> list[int]:
    """Prefix lengths of ``tail`` after each keystroke: one character each, except that Enter
    also types the next line's indentation (editors auto-indent)."""
    stops, n = [0], 0
    while len(stops) <= count and n < len(tail):
        n += 1
        if tail[n - 1] == "\n":
            while n < len(tail) and tail[n] == " ":
                n += 1
        stops.append(n)
    return stops


def session(index, asm, path: str, name: str, keystrokes: int, budget: int) -> dict:
    original = index.file_text(path) or ""
    first, tail = function_tail(original, name, keystrokes * 2)
    lines = original.splitlines(keepends=True)
    head, rest = "".join(lines[:first]), "".join(lines[first:])[len(tail):]
    ring = EditRing()
    asm.retriever.edit_ring = ring
    prev: tuple[int, ...] | None = None
    shares, times, changes, last_ctx = [], [], 0, None
    stops = _keystrokes(tail, keystrokes)
    for n in stops:
        typed = tail[:n]
        text = head + typed + rest
        line = first + typed.count("\n")
        col = len(typed) - (typed.rfind("\n") + 1)
        if n:
            ring.record(path, line, "", typed[-1])
        start = time.perf_counter()
        p = asm.build(PromptRequest(path, text, line, col, budget))
        times.append((time.perf_counter() - start) * 1000.0)
        ctx = [(s.path, s.start_line, s.end_line) for s in p.sections
               if s.kind not in ("format", "prefix", "suffix")]
        if last_ctx is not None and ctx != last_ctx:
            changes += 1
        last_ctx = ctx
        if prev is not None:
            shares.append(common_prefix(prev, p.ids) / len(p.ids))
        prev = p.ids
    return {"share": statistics.mean(shares), "min": min(shares),
            "p50_ms": statistics.median(times[1:]), "first_ms": times[0],
            "context_changes": changes, "tokens": len(prev or ())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keystrokes", type=int, default=200)
    ap.add_argument("--budgets", default="2048,8192")
    ap.add_argument("--tokenizer")
    ap.add_argument("--infill", choices=("psm", "spm"), default="psm",
                    help="the infill order of the prompts (the model dir's prompt_format.infill)")
    args = ap.parse_args()
    os.environ.setdefault("CODEFLOW_CACHE_DIR", str(WORK / "cache"))
    from context.index import WorkspaceIndex

    ws = stdlib_workspace()
    tok = tokenizer_file(args.tokenizer, ws)
    index = WorkspaceIndex(ws)
    index.refresh()
    model_json = {**MODEL_JSON, "prompt_format": {**MODEL_JSON["prompt_format"],
                                                  "infill": args.infill}}
    print(f"tokenizer {tok}, infill order {args.infill}")
    for budget in (int(b) for b in args.budgets.split(",")):
        results = []
        for path, name in SESSIONS:
            asm = Assembler(index, None, tok, model_json,
                            config=AssemblerConfig(repo_name="stdlib"))
            r = session(index, asm, path, name, args.keystrokes, budget)
            results.append(r)
            print(f"budget {budget:>6} {path}:{name}: reused prefix {r['share']:.3f} "
                  f"(min {r['min']:.3f}), p50 {r['p50_ms']:.1f} ms/keystroke "
                  f"(first {r['first_ms']:.0f} ms), context changed {r['context_changes']}x, "
                  f"{r['tokens']} tokens")
        print(f"budget {budget:>6} mean reused prefix "
              f"{statistics.mean(r['share'] for r in results):.3f}, p50 "
              f"{statistics.median(r['p50_ms'] for r in results):.1f} ms/keystroke")
    index.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

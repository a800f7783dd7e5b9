"""`codeflow generate --model DIR (--prompt TEXT | --prompt-ids 1,2,3)`: raw generation."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def parse_ids(text: str) -> tuple[int, ...]:
    """`1,2,3` -> (1, 2, 3) (ValueError on anything else)."""
    return tuple(int(part) for part in text.split(",") if part.strip())


def run(args: argparse.Namespace) -> int:
    """Load the engine, generate, print the text (or the `--json` object)."""
    from inference import Engine, GenerateRequest, ModelDirError, default_model_dir

    model_dir = Path(args.model) if args.model else default_model_dir()
    try:
        engine = Engine.load(model_dir, provider=args.provider,
                             threads=getattr(args, "threads", None))
    except ModelDirError as exc:
        print(f"codeflow generate: {exc}", file=sys.stderr)
        return 1
    try:
        ids = parse_ids(args.prompt_ids) if args.prompt_ids else tuple(engine.encode(args.prompt))
    except ValueError:
        print(f"codeflow generate: --prompt-ids {args.prompt_ids!r} is not a list of integers",
              file=sys.stderr)
        return 2
    if not ids:
        print("codeflow generate: the prompt is empty", file=sys.stderr)
        return 2
    req = GenerateRequest(prompt_ids=ids, max_tokens=args.max_tokens,
                          temperature=args.temperature, top_p=args.top_p, top_k=args.top_k,
                          seed=args.seed)
    if args.json:
        gen = engine.generate(req)
        print(json.dumps({"ids": list(gen.ids), "text": gen.text,
                          "prompt_tokens": gen.prompt_tokens, "ttft_ms": gen.ttft_ms,
                          "tokens_per_s": gen.tokens_per_s}))
        return 0
    for delta in engine.stream(req):
        sys.stdout.write(delta.text)
        sys.stdout.flush()
    sys.stdout.write("\n")
    return 0

"""`codeflow complete`: one inline completion at a position, printed (no editor needed).

Builds the same services the server uses (index, history, model, assembler), so what it prints
is what the editor would show as ghost text.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from inference.cancel import CancelToken

from ..config import Config
from ..convert import clamp_position, split_lines
from ..services import Services


def _report(level: str, message: str) -> None:
    print(f"{level}: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Print the completion (or JSON with timing)."""
    from ..features.generation import complete_once

    root = Path(args.workspace).resolve()
    target = (root / args.file).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        print(f"error: {args.file} is not a file inside {root}", file=sys.stderr)
        return 2
    config = Config(model_path=args.model or "")
    # No wall-clock cut by default, and every context source is waited for (no keystroke
    # deadline): the same position always prints the same text.
    timeout_ms = args.timeout_ms if args.timeout_ms > 0 else 10**9
    config = dataclasses.replace(config, completion=dataclasses.replace(
        config.completion, max_tokens=args.max_tokens, timeout_ms=timeout_ms,
        context_deadline_ms=10**9))
    services = Services(root, config, _report)
    services.build_index(None, None)
    services.build_history(None)
    backend = services.load_backend()
    assembler = services.assembler() if backend is not None else None
    if backend is None or assembler is None:
        print("error: no model or prompt assembler available (see `codeflow doctor`)",
              file=sys.stderr)
        return 1
    text = target.read_text(encoding="utf-8", errors="replace")
    lines = split_lines(text)
    line, col = clamp_position(lines, args.line, args.character)
    offset = sum(len(x) for x in lines[:line]) + col
    rel = target.relative_to(root).as_posix()
    done = complete_once(config, backend, assembler, rel, text[:offset], text[offset:],
                         CancelToken())
    services.close()
    if args.json:
        print(json.dumps({"text": done.text, "replace_suffix": done.replace_suffix,
                          "raw": done.raw, **dataclasses.asdict(done.timing)}))
    else:
        print(done.text)
    return 0

"""`codeflow context`: assemble the prompt for a cursor and print it or its sections.

The index and the history are refreshed once, then every request (one, or each line of a
``--batch`` JSONL file) is served on the warm index, printing the contract's JSON object:
``{"prompt_tokens", "sections": [{"kind", "path", "start_line", "end_line", "tokens"}],
"elapsed_ms"}``. Positions are LSP positions (0-based line, UTF-16 column).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from context.assemble import Assembler, ChatMessage, Prompt, PromptRequest

from ..convert import lsp_lines

__all__ = ["DEFAULT_BUDGET", "prompt_json", "run", "utf16_to_codepoints"]

log = logging.getLogger(__name__)

DEFAULT_BUDGET = 2048


class RequestError(ValueError):
    """A request line or argument that cannot be served."""


def default_model_dir() -> Path:
    """The bundled model dir (``inference/models/default``)."""
    import inference

    finder = getattr(inference, "default_model_dir", None)
    return Path(finder()) if callable(finder) else Path(inference.__file__).parent / "models" / \
        "default"


def utf16_to_codepoints(line: str, character: int) -> int:
    """The code-point column of UTF-16 column ``character`` in ``line``."""
    units = 0
    for i, ch in enumerate(line):
        if units >= character:
            return i
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(line)


def prompt_json(prompt: Prompt, elapsed_ms: float) -> dict[str, Any]:
    """The contract's JSON object for one prompt."""
    return {
        "prompt_tokens": prompt.prompt_tokens,
        "sections": [
            {"kind": s.kind, "path": s.path, "start_line": s.start_line,
             "end_line": s.end_line, "tokens": s.tokens}
            for s in prompt.sections
        ],
        "elapsed_ms": round(elapsed_ms, 3),
    }


def _relative(root: Path, file: str) -> str:
    path = Path(file)
    if path.is_absolute():
        try:
            return path.resolve().relative_to(root).as_posix()
        except ValueError as exc:
            raise RequestError(f"{file} is not inside the workspace {root}") from exc
    return path.as_posix()


def _request(root: Path, spec: dict[str, Any], default_kind: str) -> PromptRequest:
    try:
        rel = _relative(root, str(spec["file"]))
        line, character = int(spec["line"]), int(spec["character"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RequestError(f"bad request {spec!r}: needs file, line, character") from exc
    text = spec.get("text")
    if text is None:
        try:
            text = (root / rel).read_text("utf-8", errors="replace")
        except OSError as exc:
            raise RequestError(f"cannot read {rel}: {exc}") from exc
    lines = [ln.rstrip("\r\n") for ln in lsp_lines(text)]
    column = utf16_to_codepoints(lines[line], character) if 0 <= line < len(lines) else character
    messages = tuple(ChatMessage(str(m["role"]), str(m["content"]))
                     for m in spec.get("messages") or ())
    return PromptRequest(rel, text, line, column, int(spec.get("budget") or DEFAULT_BUDGET),
                         kind=str(spec.get("kind") or default_kind), messages=messages)


def _requests(args: argparse.Namespace, root: Path) -> Iterator[dict[str, Any]]:
    if args.batch:
        with open(args.batch, encoding="utf-8") as fh:
            for n, raw in enumerate(fh, start=1):
                if raw.strip():
                    try:
                        yield json.loads(raw)
                    except json.JSONDecodeError as exc:
                        raise RequestError(f"{args.batch}:{n}: not JSON: {exc}") from exc
        return
    if args.file is None or args.line is None or args.character is None:
        raise RequestError("give --file, --line and --character (or --batch FILE.jsonl)")
    spec: dict[str, Any] = {"file": args.file, "line": args.line, "character": args.character,
                            "budget": args.budget}
    if args.text_file:
        spec["text"] = Path(args.text_file).read_text("utf-8", errors="replace")
    yield spec


def _load_model(model: str | None) -> tuple[Path, dict[str, Any]]:
    model_dir = Path(model) if model else default_model_dir()
    tok, spec = model_dir / "tokenizer.json", model_dir / "codeflow-model.json"
    if not tok.is_file() or not spec.is_file():
        raise RequestError(f"model dir {model_dir} needs tokenizer.json and codeflow-model.json "
                           "(pass --model DIR)")
    return tok, json.loads(spec.read_text("utf-8"))


def _open_workspace(root: Path) -> tuple[Any, Any]:
    from context.history import History
    from context.index import WorkspaceIndex

    index = WorkspaceIndex(root)
    index.refresh()
    history = History(root)
    if history.available:
        history.ingest()
    return index, history


def run(args: argparse.Namespace) -> int:
    """Serve one request or a batch; 0 on success, 2 on a bad request or model dir."""
    root = Path(args.workspace).resolve()
    try:
        tokenizer, model_json = _load_model(args.model)
    except (RequestError, OSError, json.JSONDecodeError) as exc:
        print(f"codeflow context: {exc}", file=sys.stderr)
        return 2
    index, history = _open_workspace(root)
    try:
        assembler = Assembler(index, history, tokenizer, model_json)
        for spec in _requests(args, root):
            if args.budget and "budget" not in spec:
                spec["budget"] = args.budget
            req = _request(root, spec, args.kind)
            start = time.perf_counter()
            prompt = assembler.build(req)
            elapsed = (time.perf_counter() - start) * 1000.0
            if args.batch or args.json:
                print(json.dumps(prompt_json(prompt, elapsed)), flush=True)
            else:
                sys.stdout.write(prompt.text)
    except (RequestError, OSError) as exc:
        print(f"codeflow context: {exc}", file=sys.stderr)
        return 2
    finally:
        history.close()
        index.close()
    return 0

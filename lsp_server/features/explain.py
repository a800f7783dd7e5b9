"""`codeflow.explain {uri, line}`: the model explains the function at a line; the answer is
shown as a message and returned."""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from actions.outline import region_at
from inference.cancel import Cancelled, CancelToken

from .. import convert
from ..server import CodeflowServer  # runtime import: pygls resolves command annotations
from .edits import OutsideWorkspace
from .model import ModelUnavailable, ask_async
from .resolve import code_prompt, document
from .ui import Progress, show


async def explain(ls: CodeflowServer, arg: dict[str, Any]) -> dict[str, str]:
    """Explain the function at `arg` (`{uri, line}`); the answer is shown and returned."""
    uri = str(arg.get("uri", ""))
    try:
        _, rel, text = document(ls, uri)
    except OutsideWorkspace as exc:
        raise JsonRpcInvalidParams(f"codeflow: {exc}") from exc
    region = await ls.cpu.run(region_at, rel, text, int(arg.get("line", 0)))
    messages = [
        {"role": "system", "content": "You are codeflow, a concise code explainer. Use Markdown."},
        {
            "role": "user",
            "content": code_prompt(rel, text, region)
            + "Explain what this code does, its inputs and outputs, and any pitfalls.",
        },
    ]
    token = CancelToken()
    async with Progress(ls, "codeflow: explaining"):
        try:
            answer = await ask_async(ls, messages, (rel, text, region.start_line), token)
        except Cancelled as exc:
            raise convert.request_cancelled(str(exc)) from exc
        except ModelUnavailable as exc:
            raise JsonRpcInvalidParams(str(exc)) from exc
    show(ls, types.MessageType.Info, answer.strip())
    return {"markdown": answer.strip()}


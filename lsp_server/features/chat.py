"""Chat with the workspace: `codeflow/chat`, streamed as `$/progress` partial results.

Params: `{messages: [{role, content}], references?: [uri], selection?: {uri, range},
partialResultToken?}`. Each piece of the answer goes out as `$/progress {token, value: {delta}}`;
a reasoning model's reasoning as `{token, value: {reasoningDelta}}` (unless
`chat.showReasoning` is off); the request returns `{text, reasoning, finishReason}` (`text` is
the answer only). Reasoning in the assistant turns of `messages` is dropped before the model
sees them. Cancellable at any moment (`$/cancelRequest`).
`codeflow.applyCodeBlock` turns a code block from an answer into a WorkspaceEdit.
"""

from __future__ import annotations

import logging
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from inference.cancel import Cancelled, CancelToken
from inference.reasoning import strip_reasoning

from .. import convert
from ..server import CodeflowServer  # runtime import: pygls resolves command annotations
from ..workers import Priority

log = logging.getLogger(__name__)
ROLES = ("system", "user", "assistant")


def _messages(params: dict[str, Any]) -> list[dict[str, str]]:
    raw = params.get("messages")
    if not isinstance(raw, list) or not raw:
        raise JsonRpcInvalidParams("codeflow/chat needs a non-empty `messages` list")
    out = []
    for m in raw:
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            raise JsonRpcInvalidParams("each message needs a role (user/assistant/system)")
        role, content = str(m["role"]), str(m.get("content", ""))
        out.append({"role": role,
                    "content": strip_reasoning(content) if role == "assistant" else content})
    return out


def _reference_text(ls: CodeflowServer, params: dict[str, Any]) -> str:
    """Referenced files and the selection, quoted for the user turn."""
    parts = []
    for uri in params.get("references") or []:
        path = ls.path_of(str(uri))
        text = ls.document_text(str(uri))
        if text is None and path is not None and ls.root is not None:
            try:
                text = (ls.root / path).read_text(encoding="utf-8", errors="replace")[:20000]
            except OSError:
                text = None
        if path is not None and text is not None:
            parts.append(f"File `{path}`:\n```\n{text}\n```")
    sel = params.get("selection")
    if isinstance(sel, dict) and sel.get("uri"):
        text = ls.document_text(str(sel["uri"])) or ""
        rng = sel.get("range") or {}
        lines = [ln.rstrip("\r\n") for ln in convert.lsp_lines(text)]
        a = int((rng.get("start") or {}).get("line", 0))
        b = int((rng.get("end") or {}).get("line", a))
        chunk = "\n".join(lines[max(a, 0) : max(b, a) + 1])
        parts.append(f"Selected code in `{ls.path_of(str(sel['uri']))}`:\n```\n{chunk}\n```")
    return "\n\n".join(parts)


def _anchor(ls: CodeflowServer, params: dict[str, Any]) -> tuple[str | None, str, int]:
    """The file/line the question is about (selection, first reference, or none)."""
    sel = params.get("selection")
    uri = sel.get("uri") if isinstance(sel, dict) else None
    line = int(((sel or {}).get("range") or {}).get("start", {}).get("line", 0)) if uri else 0
    if uri is None and params.get("references"):
        uri = str(params["references"][0])
    if uri is None:
        return None, "", 0
    return ls.path_of(str(uri)), ls.document_text(str(uri)) or "", line


def register(server: CodeflowServer) -> None:
    """Attach `codeflow/chat` and `codeflow.applyCodeBlock`."""

    @server.feature("codeflow/chat")
    async def chat(ls: CodeflowServer, params: Any) -> dict[str, str]:
        p = convert.plain(params) or {}
        messages = _messages(p)
        refs = _reference_text(ls, p)
        if refs:
            messages[-1] = {**messages[-1], "content": f"{refs}\n\n{messages[-1]['content']}"}
        partial = p.get("partialResultToken")
        path, text, line = _anchor(ls, p)

        thoughts: list[str] = []

        def progress(field: str, piece: str) -> None:
            if partial is not None:
                payload = types.ProgressParams(token=partial, value={field: piece})
                ls.call_soon(ls.protocol.notify, types.PROGRESS, payload)

        def think(piece: str) -> None:
            thoughts.append(piece)
            if ls.config.chat.show_reasoning:
                progress("reasoningDelta", piece)

        def work(token: CancelToken) -> tuple[str, str]:
            from .generation import answer_tokens, chat_prompt, fit_budget, sampling, stream_answer

            backend = ls.services.load_backend()
            assembler = ls.services.assembler()
            if backend is None or assembler is None:
                raise RuntimeError(ls.services.backend_error or "no model loaded")
            spec = ls.services.chat_spec
            max_tokens = answer_tokens(ls.config, spec)
            budget = fit_budget(backend, ls.config.chat.budget_tokens, max_tokens)
            prompt = chat_prompt(assembler, messages, path, text, line, budget, token)
            temperature, top_p, top_k = sampling(ls.config, spec)
            return stream_answer(backend, prompt.ids, max_tokens, token,
                                 lambda piece: progress("delta", piece), "chat", temperature,
                                 top_p=top_p, top_k=top_k, reasons=bool(spec and spec.reasoning),
                                 on_reasoning=think)

        token = CancelToken()
        ls.status(state="generating")
        try:
            answer, reason = await ls.inference.run(work, Priority.CHAT, token)
        except Cancelled as exc:
            raise convert.request_cancelled(str(exc)) from exc
        finally:
            ls.status(state="idle")
        reasoning = "".join(thoughts) if ls.config.chat.show_reasoning else ""
        return {"text": answer, "reasoning": reasoning, "finishReason": reason}

    @server.command("codeflow.applyCodeBlock")
    async def apply_code_block(ls: CodeflowServer, *args: Any) -> dict[str, Any]:
        from .edits import apply_code_block_edit

        arg = convert.plain(args[0]) if args else {}
        if not isinstance(arg, dict) or "uri" not in arg or "code" not in arg:
            raise JsonRpcInvalidParams("codeflow.applyCodeBlock needs {uri, code, range?}")
        edit = apply_code_block_edit(ls, arg)
        result = await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit))
        return {"applied": bool(result.applied)}

"""The one model call of the code actions and fixes: a chat prompt answered on the inference
worker (priority FIX); the assembler's prompt, or plain ChatML when no assembler is available.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from inference.cancel import CancelToken

from ..workers import Priority

if TYPE_CHECKING:
    from ..server import CodeflowServer

__all__ = ["ModelUnavailable", "ask", "ask_async", "model_prompt"]

log = logging.getLogger(__name__)


class ModelUnavailable(RuntimeError):
    """No model backend is loaded; the message says why."""


def _chatml_ids(backend: Any, messages: Sequence[dict[str, str]]) -> list[int]:
    specials = getattr(backend.spec, "special_tokens", {}) or {}
    start, end = specials.get("im_start") or "", specials.get("im_end") or ""
    text = "".join(f"{start}{m['role']}\n{m['content']}{end}\n" for m in messages)
    return list(backend.tokenizer.encode(text + f"{start}assistant\n").ids)


def model_prompt(
    ls: CodeflowServer,
    backend: Any,
    messages: Sequence[dict[str, str]],
    anchor: tuple[str, str, int],
    token: CancelToken,
) -> list[int]:
    """Prompt ids: the assembler's chat prompt around `anchor` (path, text, line), else ChatML."""
    from .generation import answer_tokens, chat_prompt, fit_budget

    assembler = ls.services.assembler()
    if assembler is not None:
        path, text, line = anchor
        budget = fit_budget(backend, ls.config.chat.budget_tokens,
                            answer_tokens(ls.config, ls.services.chat_spec))
        try:
            return list(chat_prompt(assembler, messages, path, text, line, budget, token).ids)
        except (ValueError, OSError, RuntimeError, LookupError) as exc:
            token.check()
            log.warning("chat prompt assembly failed (%s); using a plain prompt", exc)
    return _chatml_ids(backend, messages)


def ask(
    ls: CodeflowServer,
    messages: Sequence[dict[str, str]],
    anchor: tuple[str, str, int],
    token: CancelToken,
    temperature: float = 0.0,
    seed: int = 0,
) -> str:
    """One answer from the model (runs on the inference worker thread). A reasoning model's
    reasoning is dropped (its allowance added to the tokens): only the answer is returned."""
    from .generation import answer_tokens, special_tokens, stream_answer

    backend = ls.services.load_backend()
    if backend is None:
        raise ModelUnavailable(ls.services.backend_error or "codeflow: no model is loaded")
    ids = model_prompt(ls, backend, messages, anchor, token)
    spec = ls.services.chat_spec
    max_tokens = answer_tokens(ls.config, spec)
    text, _ = stream_answer(backend, ids, max_tokens, token, _ignore, "chat", temperature, seed,
                            reasons=bool(spec and spec.reasoning))
    for special in special_tokens(backend):
        text = text.replace(special, "")
    return text


def _ignore(_delta: str) -> None:
    return None


async def ask_async(
    ls: CodeflowServer,
    messages: Sequence[dict[str, str]],
    anchor: tuple[str, str, int],
    token: CancelToken,
    temperature: float = 0.0,
    seed: int = 0,
) -> str:
    """`ask` on the inference worker; cancelling the await trips `token`."""

    def work(t: CancelToken) -> str:
        return ask(ls, messages, anchor, t, temperature, seed)

    return await ls.inference.run(work, Priority.FIX, token)


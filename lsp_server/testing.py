"""Test-only model: a `ScriptedBackend` loaded from a JSON script (never used in normal runs).

The server builds it only when both `CODEFLOW_TEST_COMMANDS=1` and
`CODEFLOW_TEST_BACKEND=<script.json>` are set (see `Services._make_backend`). The script::

    {"outputs": ["first answer", "second answer"], "promptLog": "/tmp/prompts.jsonl",
     "chatTemplate": "{% for m in messages %}...", "generationConfig": {"temperature": 0.6},
     "tokenDelayMs": [40, 0]}

Each generation returns the next output. `tokenDelayMs` (optional, one entry per output) sleeps
that long before each token of that output, so a client can watch a stream and cancel it. The
model dir (byte-level tokenizer with the chat and FIM special tokens, and a `codeflow-model.json`)
is written beside the script, so the real prompt assembler can run against it; `chatTemplate`
and `generationConfig` (optional) go into it as `chat_template.jinja` and
`generation_config.json`. With `promptLog`, each request is appended as one JSON line:
`{"prompt": decoded prompt text, "temperature", "top_p", "top_k", "seed", "max_tokens", "slot"}`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from inference.backends.base import Delta, GenerateRequest
from inference.backends.scripted import ScriptedBackend
from inference.cancel import CancelToken
from inference.spec import ModelSpec

ENV_COMMANDS = "CODEFLOW_TEST_COMMANDS"
ENV_BACKEND = "CODEFLOW_TEST_BACKEND"
SPECIALS = (
    "<|endoftext|>",
    "<|fim_prefix|>",
    "<|fim_suffix|>",
    "<|fim_middle|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|repo_name|>",
    "<|file_sep|>",
)


def script_path_from_env() -> Path | None:
    """The script named by the environment, or None unless both test variables are set."""
    if os.environ.get(ENV_COMMANDS) != "1" or not os.environ.get(ENV_BACKEND):
        return None
    return Path(os.environ[ENV_BACKEND])


def write_model_dir(out: Path) -> Path:
    """A byte-level tokenizer (no merges) and a `codeflow-model.json` in `out`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    out.mkdir(parents=True, exist_ok=True)
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    tok = Tokenizer(models.BPE(vocab={ch: i for i, ch in enumerate(alphabet)}, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(list(SPECIALS))
    tok.save(str(out / "tokenizer.json"))
    names = ("eos", "fim_prefix", "fim_suffix", "fim_middle", "im_start", "im_end")
    spec = {
        "format_version": 1,
        "name": "scripted",
        "family": "qwen2",
        "architecture": "dense",
        "prompt_format": {"fim": "qwen2.5", "chat": "chatml"},
        "special_tokens": {
            **dict(zip(names, SPECIALS[:6], strict=True)),
            "repo_name": SPECIALS[6],
            "file_sep": SPECIALS[7],
            "bos": None,
            "pad": None,
        },
        "eos_token_ids": [tok.token_to_id(SPECIALS[0])],
        "max_context": 32768,
        "dtype": "fp32",
        "kv": {"layout": "dense", "num_layers": 1, "num_kv_heads": 1, "head_dim": 8},
        "provenance": {"source": "lsp_server.testing"},
    }
    (out / "codeflow-model.json").write_text(json.dumps(spec), encoding="utf-8")
    return out


def write_chat_files(model_dir: Path, template: Any, generation: Any) -> None:
    """The model dir's chat template and generation defaults (removed when not given)."""
    from inference.chatspec import CHAT_TEMPLATE, GENERATION_CONFIG

    for name, value in ((CHAT_TEMPLATE, template), (GENERATION_CONFIG, generation)):
        path = model_dir / name
        if value is None:
            path.unlink(missing_ok=True)
        else:
            text = value if isinstance(value, str) else json.dumps(value)
            path.write_text(text, encoding="utf-8")


class LoggingScriptedBackend(ScriptedBackend):
    """`ScriptedBackend` that also appends each request's prompt to a JSONL file."""

    def __init__(
        self,
        tokenizer: Any,
        spec: ModelSpec,
        outputs: list[str],
        log: Path | None,
        delays_ms: list[float] | None = None,
    ):
        super().__init__(tokenizer, spec, outputs)
        self.device = "scripted"
        self._log = log
        self._delays = list(delays_ms or [])

    def stream(self, req: GenerateRequest, cancel: CancelToken | None = None) -> Iterator[Delta]:
        """Log the request, then replay the next output."""
        if self._log is not None:
            record = {
                "prompt": self.tokenizer.decode(list(req.prompt_ids), skip_special_tokens=False),
                "temperature": req.temperature,
                "top_p": req.top_p,
                "top_k": req.top_k,
                "seed": req.seed,
                "max_tokens": req.max_tokens,
                "slot": req.slot,
            }
            with self._log.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")
        delay = self._delays.pop(0) / 1000 if self._delays else 0.0
        for delta in super().stream(req, cancel):
            if delay:
                time.sleep(delay)
            yield delta


def load_scripted_backend(script: Path) -> LoggingScriptedBackend:
    """Read the script, write its model dir beside it, and build the backend."""
    from tokenizers import Tokenizer

    try:
        data = json.loads(script.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"test backend script {script} is not JSON: {exc}") from exc
    model_dir = write_model_dir(script.with_suffix(".model"))
    write_chat_files(model_dir, data.get("chatTemplate"), data.get("generationConfig"))
    spec = ModelSpec.load(model_dir)
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    log = Path(data["promptLog"]) if data.get("promptLog") else None
    outputs = [str(o) for o in data.get("outputs", [])]
    delays = [float(d) for d in data.get("tokenDelayMs", [])]
    return LoggingScriptedBackend(tokenizer, spec, outputs, log, delays)

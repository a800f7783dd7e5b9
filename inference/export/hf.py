"""Read a Hugging Face checkpoint dir and build the PyTorch model it describes.

Dense families load through transformers' own classes (IQuestCoder is a Llama under another
name: its config is mapped to `LlamaConfig`); the Loop family loads into our own
`LoopCoderForCausalLM`. No remote code is ever executed and nothing is downloaded.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference.spec import ModelDirError

log = logging.getLogger(__name__)

FAMILY_BY_ARCHITECTURE = {
    "LlamaForCausalLM": "llama",
    "Qwen2ForCausalLM": "qwen2",
    "IQuestCoderForCausalLM": "iquestcoder",
    "IQuestLoopCoderForCausalLM": "iquestloopcoder",
}
_NOT_LLAMA_KEYS = ("architectures", "auto_map", "model_type", "transformers_version", "torch_dtype",
                   "dtype", "loop_num", "loop_window_size")


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint dir and what its config.json says it is."""

    path: Path
    family: str
    architecture: str  # "dense" | "loop"
    config: dict[str, Any]

    @property
    def loop_window(self) -> int | None:
        """`loop_window_size` of a Loop model (None for dense)."""
        if self.architecture != "loop":
            return None
        return int(self.config.get("loop_window_size", 64))


def read_checkpoint(hf_dir: str | Path) -> Checkpoint:
    """Parse `config.json` and tell which family the checkpoint is."""
    path = Path(hf_dir)
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelDirError(f"{path / 'config.json'} is missing: not a checkpoint dir") from exc
    archs = config.get("architectures") or []
    family = next((FAMILY_BY_ARCHITECTURE[a] for a in archs if a in FAMILY_BY_ARCHITECTURE), None)
    if family is None:
        known = ", ".join(FAMILY_BY_ARCHITECTURE)
        raise ModelDirError(f"{path / 'config.json'}: architectures {archs} not supported "
                            f"({known})")
    architecture = "loop" if family == "iquestloopcoder" else "dense"
    return Checkpoint(path=path, family=family, architecture=architecture, config=config)


def llama_config(config: dict[str, Any]) -> Any:
    """A transformers `LlamaConfig` from an IQuest (Llama-shaped) config dict."""
    from transformers import LlamaConfig

    kwargs = {k: v for k, v in config.items() if k not in _NOT_LLAMA_KEYS}
    return LlamaConfig(**kwargs)


def load_torch_model(ckpt: Checkpoint) -> Any:
    """The float32 PyTorch model of a checkpoint, in eval mode. The module is built without
    storage and takes the tensors read from the safetensors files as its parameters, so the
    process holds one copy of the weights (cast to float32 tensor by tensor)."""
    import torch

    if ckpt.architecture == "loop":
        from inference.export.loop_model import LoopCoderForCausalLM

        return LoopCoderForCausalLM.from_checkpoint(ckpt.path, ckpt.config).eval()
    from transformers import AutoConfig, AutoModelForCausalLM

    from inference.export.loop_model import load_safetensors_dir

    if ckpt.family == "iquestcoder":
        config = llama_config(ckpt.config)
    else:
        config = AutoConfig.from_pretrained(ckpt.path, local_files_only=True,
                                            trust_remote_code=False)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, attn_implementation="eager",
                                                 dtype=torch.float32)
    state = load_safetensors_dir(ckpt.path, torch.float32)
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    del state
    tied = bool(getattr(model.config, "tie_word_embeddings", False))
    missing = [k for k in missing if not (tied and k == "lm_head.weight")]
    unexpected = [k for k in unexpected if not k.endswith("rotary_emb.inv_freq")]
    if missing or unexpected:
        raise ModelDirError(f"{ckpt.path}: checkpoint does not fit {type(model).__name__} "
                            f"(missing {missing[:5]}, unexpected {unexpected[:5]})")
    rotary = model.model.rotary_emb  # its buffers are computed, not stored
    model.model.rotary_emb = type(rotary)(config=model.config)
    if tied:
        model.tie_weights()
    on_meta = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if on_meta:
        raise ModelDirError(f"{ckpt.path}: no weights for {on_meta[:5]}")
    return model.eval()


def eos_token_ids(ckpt: Checkpoint) -> list[int]:
    """EOS ids from config.json and generation_config.json (union, config first)."""
    ids: list[int] = []
    sources = [ckpt.config]
    gen = ckpt.path / "generation_config.json"
    if gen.is_file():
        sources.append(json.loads(gen.read_text(encoding="utf-8")))
    for src in sources:
        value = src.get("eos_token_id")
        for i in value if isinstance(value, list) else [value]:
            if isinstance(i, int) and i not in ids:
                ids.append(i)
    return ids

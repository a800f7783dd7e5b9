"""IQuest-Coder-V1 Loop in PyTorch, written from the forward pass in DESIGN.md.

The layer stack is a transformers `LlamaModel` (RMSNorm, RoPE, GQA, SwiGLU), run twice with
shared weights. Each layer also has a `gate_projection` (weight [heads, head_dim], bias [heads])
mixing pass 2's global attention (over pass 1's K/V) and its sliding-window local attention.
`forward` is the full-sequence definition; the exported graph (`graph.py`) computes the same
thing incrementally with caches.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from inference.spec import ModelDirError

_ALT_GATE = re.compile(r"^model\.gate_projections\.(\d+)\.(weight|bias)$")


class GateProjection(nn.Module):
    """Per-head gate of pass 2: `sigmoid(sum_d q[h,i,d] * weight[h,d] + bias[h])`."""

    def __init__(self, heads: int, head_dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(heads, head_dim))
        self.bias = nn.Parameter(torch.zeros(heads))

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        """q [B, H, T, D] (after RoPE) -> gate [B, H, T, 1]."""
        score = (q * self.weight[None, :, None, :]).sum(-1) + self.bias[None, :, None]
        return torch.sigmoid(score)[..., None]


class LoopCoderForCausalLM(nn.Module):
    """`IQuestLoopCoderForCausalLM`: a Llama stack looped `loop_num` (= 2) times."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        from transformers import LlamaModel

        from inference.export.hf import llama_config

        self.config = llama_config(config)
        self.config._attn_implementation = "eager"
        self.loop_num = int(config.get("loop_num", 2))
        self.window = int(config.get("loop_window_size", 64))
        if self.loop_num != 2:
            raise ModelDirError(f"loop_num {self.loop_num} is not supported (only 2)")
        self.model = LlamaModel(self.config)
        heads, head_dim = self.num_heads, self.head_dim
        for layer in self.model.layers:
            layer.gate_projection = GateProjection(heads, head_dim)
        self.lm_head = nn.Linear(self.config.hidden_size, self.config.vocab_size, bias=False)
        if self.config.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    @property
    def num_heads(self) -> int:
        return int(self.config.num_attention_heads)

    @property
    def num_kv_heads(self) -> int:
        return int(self.config.num_key_value_heads)

    @property
    def head_dim(self) -> int:
        dim = getattr(self.config, "head_dim", None)
        return int(dim or self.config.hidden_size // self.num_heads)

    @classmethod
    def from_checkpoint(cls, path: Path, config: dict[str, Any]) -> LoopCoderForCausalLM:
        """Load safetensors weights; both gate-weight name layouts are accepted. The module is
        built without storage and takes the loaded tensors as its parameters (no second copy
        of the weights); tensors stored in another float dtype are cast to float32."""
        from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

        with torch.device("meta"):
            model = cls(config)
        state = load_safetensors_dir(path, torch.float32)
        state = {rename_gate_key(k): v for k, v in state.items()}
        tied = model.config.tie_word_embeddings
        if "lm_head.weight" not in state and tied:
            state["lm_head.weight"] = state["model.embed_tokens.weight"]
        missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
        del state
        missing = [k for k in missing if not k.endswith("rotary_emb.inv_freq")]
        if missing or unexpected:
            raise ModelDirError(
                f"{path}: checkpoint does not fit IQuestLoopCoder "
                f"(missing {missing[:5]}, unexpected {unexpected[:5]})"
            )
        model.model.rotary_emb = LlamaRotaryEmbedding(config=model.config)
        if tied:
            model.lm_head.weight = model.model.embed_tokens.weight
        return model.float()

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Full-sequence logits [B, T, V] (the definition the caches must reproduce)."""
        h = self.model.embed_tokens(input_ids)
        steps = input_ids.shape[1]
        positions = torch.arange(steps)[None, :].expand(input_ids.shape[0], -1)
        cos, sin = self.model.rotary_emb(h, positions)
        causal = torch.ones(steps, steps, dtype=torch.bool).tril()
        local = causal & ~torch.ones(steps, steps, dtype=torch.bool).tril(-self.window)
        pass1_kv = []
        for layer in self.model.layers:
            q, k, v = self._qkv(layer, h, cos, sin)
            pass1_kv.append((k, v))
            h = self._finish(layer, h, self._sdpa(q, k, v, causal))
        for layer, (k1, v1) in zip(self.model.layers, pass1_kv, strict=True):
            q, k, v = self._qkv(layer, h, cos, sin)
            g = layer.gate_projection(q)
            mixed = g * self._sdpa(q, k1, v1, causal) + (1 - g) * self._sdpa(q, k, v, local)
            h = self._finish(layer, h, mixed)
        return self.lm_head(self.model.norm(h))

    def _qkv(self, layer: nn.Module, h: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

        attn, (b, t, _) = layer.self_attn, h.shape
        x = layer.input_layernorm(h)
        q = attn.q_proj(x).view(b, t, self.num_heads, self.head_dim).transpose(1, 2)
        k = attn.k_proj(x).view(b, t, self.num_kv_heads, self.head_dim).transpose(1, 2)
        v = attn.v_proj(x).view(b, t, self.num_kv_heads, self.head_dim).transpose(1, 2)
        q, k = apply_rotary_pos_emb(q, k, cos, sin)
        return q, k, v

    def _sdpa(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor
              ) -> torch.Tensor:
        rep = self.num_heads // self.num_kv_heads
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    def _finish(self, layer: nn.Module, h: torch.Tensor, attn_out: torch.Tensor) -> torch.Tensor:
        b, _, t, _ = attn_out.shape
        h = h + layer.self_attn.o_proj(attn_out.transpose(1, 2).reshape(b, t, -1))
        return h + layer.mlp(layer.post_attention_layernorm(h))


def rename_gate_key(key: str) -> str:
    """`model.gate_projections.{i}.x` -> `model.layers.{i}.gate_projection.x`."""
    m = _ALT_GATE.match(key)
    return f"model.layers.{m.group(1)}.gate_projection.{m.group(2)}" if m else key


_SAFETENSORS_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}


def load_safetensors_dir(path: Path, dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    """All tensors of a checkpoint dir (single file or sharded with an index), floats cast to
    ``dtype`` when given (one tensor at a time)."""
    index = path / "model.safetensors.index.json"
    if index.is_file():
        files = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
    else:
        files = sorted(p.name for p in path.glob("*.safetensors"))
    if not files:
        raise ModelDirError(f"{path}: no *.safetensors weights found")
    state: dict[str, torch.Tensor] = {}
    for name in files:
        state.update(read_safetensors(path / name, dtype))
    return state


def read_safetensors(path: Path, dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    """The tensors of one .safetensors file, read with plain file reads into memory the tensors
    own (no memory map: the process's resident memory is what it keeps, and a tensor dropped
    later is really freed)."""
    state: dict[str, torch.Tensor] = {}
    with open(path, "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(size))
        for name, info in header.items():
            if name == "__metadata__":
                continue
            if info["dtype"] not in _SAFETENSORS_DTYPES:
                raise ModelDirError(f"{path}: tensor {name} has dtype {info['dtype']} "
                                    "(not supported)")
            stored = _SAFETENSORS_DTYPES[info["dtype"]]
            start, end = info["data_offsets"]
            if end == start:
                tensor = torch.empty(info["shape"], dtype=stored)
            else:
                buf = bytearray(end - start)
                f.seek(8 + size + start)
                f.readinto(buf)
                tensor = torch.frombuffer(buf, dtype=stored).reshape(info["shape"])
            if dtype is not None and tensor.is_floating_point() and tensor.dtype != dtype:
                tensor = tensor.to(dtype)
            state[name] = tensor
    return state

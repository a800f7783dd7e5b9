"""The exported graph: one decoder step over a chunk of tokens with explicit KV caches.

Inputs: `input_ids` [1, T] int64, `num_logits` [] int64 (logits for the last N positions),
`past.{i}.key` / `past.{i}.value` [1, kv_heads, P, head_dim] per layer, and for Loop models also
`past_local.{i}.key` / `.value` [1, kv_heads, L, head_dim] (pass-2 K/V of the last L <= W tokens).
Outputs: `logits` [1, N, vocab], `present.{i}.key` / `.value` = past ++ new (P + T), and for Loop
`present_local.{i}.key` / `.value` = past_local ++ new (L + T; the engine keeps the last W).
Positions are implicit: the chunk's tokens sit at P … P+T-1. Dense and Loop graphs differ only
in their state, so one engine runs both.

In-place K/V (``kv_cache="inplace"``, the default of new exports): attention is onnxruntime's
``com.microsoft.GroupQueryAttention``. Every K/V input (`past.*`, and `past_local.*` for Loop)
is then a buffer [1, kv_heads, C, head_dim] of any capacity C; the engine binds one buffer as
both `past.X` and `present.X`, and the operator writes only the chunk's K/V into it (rows
P … P+T-1). Two more inputs say how much is valid: `seqlens_k` [1] int32 = P+T-1 and
`total_sequence_length` [] int32 = P+T. Rows past P+T are never read, so truncating a cache to
a prefix is a smaller P. Dense graphs apply RoPE inside the operator (cos/sin tables of every
position). Loop graphs apply it before (positions P … P+T-1 from the lengths; the gate reads
rotated q). Their pass-2 global attention is a second operator over pass 1's buffers, fed pass
1's new K/V again; its outputs `present_global.{i}.*` are bound to the `past.{i}.*` buffers, so
it writes the same values into the rows they already hold. Pass 2's local K/V stay as in the
concatenating graph (`past_local.*` = the last L <= W, `present_local.*` = those ++ new): a
window costs W rows, not the context.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

KV_CACHES = ("concat", "inplace")
"""How a graph returns its K/V: past ++ new as a new tensor, or written into the past buffer."""
INPLACE_INPUTS = ("seqlens_k", "total_sequence_length")


def global_names(num_layers: int) -> list[str]:
    """The extra outputs of an in-place Loop graph: pass 2's global attention re-writes pass
    1's new K/V into the buffers bound as `past.{i}.*` (`present_global.{i}.*` are bound to
    those same buffers)."""
    return [f"present_global.{i}.{kind}" for i in range(num_layers) for kind in ("key", "value")]


def kv_names(num_layers: int, loop: bool) -> tuple[list[str], list[str]]:
    """(past input names, present output names) in graph order."""
    past, present = [], []
    for i in range(num_layers):
        for kind in ("key", "value"):
            past.append(f"past.{i}.{kind}")
            present.append(f"present.{i}.{kind}")
    if loop:
        for i in range(num_layers):
            for kind in ("key", "value"):
                past.append(f"past_local.{i}.{kind}")
                present.append(f"present_local.{i}.{kind}")
    return past, present


def _cat_bias(*linears: nn.Linear) -> torch.Tensor | None:
    if all(lin.bias is None for lin in linears):
        return None
    return torch.cat([lin.bias if lin.bias is not None else torch.zeros(lin.out_features)
                      for lin in linears]).detach()


def fuse_layer(layer: nn.Module) -> dict[str, torch.Tensor | None]:
    """One weight for q/k/v and one for gate/up: fewer, larger MatMuls per token."""
    attn, mlp = layer.self_attn, layer.mlp
    return {
        "qkv_w": torch.cat([attn.q_proj.weight, attn.k_proj.weight, attn.v_proj.weight]).detach(),
        "qkv_b": _cat_bias(attn.q_proj, attn.k_proj, attn.v_proj),
        "gu_w": torch.cat([mlp.gate_proj.weight, mlp.up_proj.weight]).detach(),
        "gu_b": _cat_bias(mlp.gate_proj, mlp.up_proj),
    }


def release_fused_sources(layer: nn.Module) -> None:
    """Drop a layer's q/k/v and gate/up weights (after `fuse_layer`): the model cannot run any
    more, and the export holds one copy of them instead of two."""
    attn, mlp = layer.self_attn, layer.mlp
    for lin in (attn.q_proj, attn.k_proj, attn.v_proj, mlp.gate_proj, mlp.up_proj):
        lin.weight = nn.Parameter(torch.empty(0), requires_grad=False)
        if lin.bias is not None:
            lin.bias = nn.Parameter(torch.empty(0), requires_grad=False)


def rotation_matrix(dim: int) -> torch.Tensor:
    """R with x @ R == rotate_half(x) = cat(-x[half:], x[:half]) (exact: one ±1 per column)."""
    half = dim // 2
    rot = torch.zeros(dim, dim)
    idx = torch.arange(half)
    rot[idx + half, idx] = -1.0
    rot[idx, idx + half] = 1.0
    return rot


class GroupQueryAttention(torch.autograd.Function):
    """onnxruntime's ``com.microsoft.GroupQueryAttention``, for tracing: `forward` only gives
    outputs of the right shapes (the graph is what runs). ``key`` / ``value`` None: ``query``
    is packed q/k/v. ``cos`` / ``sin`` None: no RoPE inside (q and k come rotated)."""

    @staticmethod
    def forward(ctx: Any, query: torch.Tensor, key: torch.Tensor | None,
                value: torch.Tensor | None, past_key: torch.Tensor, past_value: torch.Tensor,
                seqlens_k: torch.Tensor, total: torch.Tensor, cos: torch.Tensor | None,
                sin: torch.Tensor | None, num_heads: int, kv_heads: int, head_dim: int,
                window: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        width = num_heads * past_key.shape[3]
        return query[..., :width].clone(), past_key.clone(), past_value.clone()

    @staticmethod
    def attend(query: torch.Tensor, key: torch.Tensor | None, value: torch.Tensor | None,
               past: tuple[torch.Tensor, torch.Tensor], lengths: tuple[torch.Tensor, ...],
               rope: tuple[torch.Tensor, torch.Tensor] | None, heads: tuple[int, int, int],
               window: int = -1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(output [1, T, heads * head_dim], present key, present value); ``lengths``:
        (seqlens_k, total_sequence_length), ``heads``: (heads, kv heads, head_dim)."""
        cos, sin = rope if rope is not None else (None, None)
        return GroupQueryAttention.apply(query, key, value, *past, *lengths, cos, sin, *heads,
                                         window)

    @staticmethod
    def symbolic(g: Any, query: Any, key: Any, value: Any, past_key: Any, past_value: Any,
                 seqlens_k: Any, total: Any, cos: Any, sin: Any, num_heads: int, kv_heads: int,
                 head_dim: int, window: int) -> Any:
        from torch.onnx.symbolic_helper import _optional_input_placeholder_tensor as absent

        def given(x: Any) -> Any:
            return absent(g) if x is None else x

        rotary = int(cos is not None)
        out, present_key, present_value = g.op(
            "com.microsoft::GroupQueryAttention", query, given(key), given(value), past_key,
            past_value, seqlens_k, total, given(cos), given(sin), num_heads_i=num_heads,
            kv_num_heads_i=kv_heads, do_rotary_i=rotary, local_window_size_i=window, outputs=3)
        present_key.setType(past_key.type())
        present_value.setType(past_value.type())
        out.setType(query.type().with_sizes([1, None, num_heads * head_dim]))
        return out, present_key, present_value


class CachedDecoder(nn.Module):
    """Wraps a Llama-shaped model (transformers or `LoopCoderForCausalLM`) for export."""

    def __init__(self, model: Any, window: int | None = None,
                 release_sources: bool = False, kv_cache: str = "concat") -> None:
        super().__init__()
        cfg = model.config
        if kv_cache not in KV_CACHES:
            raise ValueError(f"kv_cache {kv_cache!r}: use one of {KV_CACHES}")
        self.model = model
        self.inplace = kv_cache == "inplace"
        self.loop = window is not None
        self.window = int(window or 0)
        self.num_layers = int(cfg.num_hidden_layers)
        self.num_heads = int(cfg.num_attention_heads)
        self.num_kv_heads = int(cfg.num_key_value_heads)
        self.head_dim = int(getattr(cfg, "head_dim", None) or cfg.hidden_size // self.num_heads)
        self.fused = []
        for i, layer in enumerate(model.model.layers):
            self.fused.append(self._register(i, fuse_layer(layer)))
            if release_sources:  # export memory: the fused copy is all the graph reads
                release_fused_sources(layer)
        rotary = model.model.rotary_emb
        self.register_buffer("inv_freq", rotary.inv_freq.detach().clone().float(), persistent=False)
        self.register_buffer("rotation", rotation_matrix(self.head_dim), persistent=False)
        self.rope_scale = float(rotary.attention_scaling)
        self.max_positions = int(cfg.max_position_embeddings)
        if self.inplace and not self.loop:  # Loop: RoPE outside (its gate reads rotated q)
            cos, sin = self.rope_tables(self.max_positions)
            self.register_buffer("cos_cache", cos, persistent=False)
            self.register_buffer("sin_cache", sin, persistent=False)

    def rope_tables(self, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """cos, sin [length, head_dim / 2] of positions 0 … length-1 (scaled as `_rope`)."""
        freqs = torch.arange(length).float()[:, None] * self.inv_freq[None, :]
        return freqs.cos() * self.rope_scale, freqs.sin() * self.rope_scale

    def forward(self, input_ids: torch.Tensor, num_logits: torch.Tensor, *past: torch.Tensor
                ) -> tuple[torch.Tensor, ...]:
        if self.inplace:
            return self._forward_inplace(input_ids, num_logits, *past)
        n = self.num_layers
        shared = [(past[2 * i], past[2 * i + 1]) for i in range(n)]
        h = self.model.model.embed_tokens(input_ids)
        steps, past_len = input_ids.shape[1], shared[0][0].shape[2]
        q_pos = torch.arange(steps) + past_len
        rope = self._rope(q_pos, h.dtype)
        k_pos = torch.arange(steps + past_len)
        blocked = self._grouped(k_pos[None, :] > q_pos[:, None])
        presents: list[torch.Tensor] = []
        for i, (layer, (pk, pv)) in enumerate(zip(self.model.model.layers, shared, strict=True)):
            q, k, v = self._qkv(i, layer, h, rope)
            k, v = torch.cat((pk, k), dim=2), torch.cat((pv, v), dim=2)
            presents += [k, v]
            h = self._finish(i, layer, h, self._attend(q, k, v, blocked))
        if self.loop:
            h, local_presents = self._pass2(h, past[2 * n:], presents, q_pos, blocked, rope)
            presents += local_presents
        h = self._last(h, num_logits)
        logits = self.model.lm_head(self.model.model.norm(h))
        return (logits, *presents)

    def _forward_inplace(self, input_ids: torch.Tensor, num_logits: torch.Tensor,
                         seqlens_k: torch.Tensor, total: torch.Tensor, *past: torch.Tensor
                         ) -> tuple[torch.Tensor, ...]:
        """GroupQueryAttention writing into the `past` buffers. Dense: RoPE inside the
        operator. Loop: RoPE here (positions from `total`), pass 2 as in `_pass2_inplace`."""
        n = self.num_layers
        h = self.model.model.embed_tokens(input_ids)
        rope, q_pos = None, None
        if self.loop:
            steps = input_ids.shape[1]
            q_pos = torch.arange(steps) + (total.long() - steps)
            rope = self._rope(q_pos, h.dtype)
        tables = None if self.loop else (self.cos_cache, self.sin_cache)
        lengths = (seqlens_k, total)
        presents: list[torch.Tensor] = []
        packed: list[torch.Tensor] = []
        for i, layer in enumerate(self.model.model.layers):
            qkv = self._packed(i, layer, h, rope)
            out, key, value = GroupQueryAttention.attend(
                qkv, None, None, (past[2 * i], past[2 * i + 1]), lengths, tables, self._heads)
            presents += [key, value]
            packed.append(qkv)
            h = self._finish_flat(i, layer, h, out)
        if self.loop:
            h, local, shared = self._pass2_inplace(h, past[2 * n:], presents, packed,
                                                   lengths, q_pos, rope)
            presents += local + shared
        h = self._last(h, num_logits)
        logits = self.model.lm_head(self.model.model.norm(h))
        return (logits, *presents)

    def _pass2_inplace(self, h: torch.Tensor, past_local: tuple[torch.Tensor, ...],
                       shared: list[torch.Tensor], packed: list[torch.Tensor],
                       lengths: tuple[torch.Tensor, torch.Tensor], q_pos: torch.Tensor,
                       rope: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
                       ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """Loop pass 2 of the in-place graph. Global attention: GroupQueryAttention over pass
        1's buffers, fed pass 1's new K/V again (written to the rows they already hold; its
        outputs `present_global.*` are bound to those same buffers). Local attention: as in
        `_pass2`, over the last L <= W pass-2 K/V the engine feeds (`past_local.*`) ++ the new
        ones: a window of W costs W, where the operator's `local_window_size` over a full-length
        buffer scans the whole buffer on the CPU (measured: no faster than global attention)."""
        heads, kv_heads, dim = self._heads
        q_width, kv_width = heads * dim, kv_heads * dim
        local_len = past_local[0].shape[2]
        k_pos = torch.arange(local_len + q_pos.shape[0]) + (q_pos[0] - local_len)
        diff = q_pos[:, None] - k_pos[None, :]
        outside = self._grouped((diff < 0) | (diff >= self.window))
        local_presents: list[torch.Tensor] = []
        global_presents: list[torch.Tensor] = []
        for i, layer in enumerate(self.model.model.layers):
            qkv = self._packed(i, layer, h, rope)
            grid = qkv.view(1, -1, heads + 2 * kv_heads, dim).transpose(1, 2)
            q, k, v = grid.split([heads, kv_heads, kv_heads], dim=1)
            k = torch.cat((past_local[2 * i], k), dim=2)
            v = torch.cat((past_local[2 * i + 1], v), dim=2)
            local_presents += [k, v]
            local = self._attend(q, k, v, outside)
            first = packed[i]
            glob, key, value = GroupQueryAttention.attend(
                qkv[..., :q_width], first[..., q_width:q_width + kv_width],
                first[..., q_width + kv_width:], (shared[2 * i], shared[2 * i + 1]), lengths,
                None, self._heads)
            global_presents += [key, value]
            glob = glob.view(1, -1, heads, dim).transpose(1, 2)
            g = layer.gate_projection(q)
            h = self._finish(i, layer, h, local + g * (glob - local))
        return h, local_presents, global_presents

    @property
    def _heads(self) -> tuple[int, int, int]:
        return self.num_heads, self.num_kv_heads, self.head_dim

    def _packed(self, index: int, layer: nn.Module, h: torch.Tensor,
                rope: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        """q/k/v of one layer packed [1, T, (heads + 2 kv heads) * head_dim], RoPE applied
        when ``rope`` is given."""
        fused = self.fused[index]
        qkv = nn.functional.linear(layer.input_layernorm(h), fused["qkv_w"], fused["qkv_b"])
        if rope is None:
            return qkv
        cos, sin, rot = rope
        grid = qkv.view(1, -1, self.num_heads + 2 * self.num_kv_heads, self.head_dim)
        grid = grid * cos + torch.matmul(grid, rot) * sin
        return grid.reshape(qkv.shape)

    def _pass2(self, h: torch.Tensor, past_local: tuple[torch.Tensor, ...],
               shared: list[torch.Tensor], q_pos: torch.Tensor, blocked: torch.Tensor,
               rope: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
               ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        local_len = past_local[0].shape[2]
        k_pos = torch.arange(local_len + q_pos.shape[0]) + (q_pos[0] - local_len)
        diff = q_pos[:, None] - k_pos[None, :]
        outside = self._grouped((diff < 0) | (diff >= self.window))
        presents: list[torch.Tensor] = []
        for i, layer in enumerate(self.model.model.layers):
            q, k, v = self._qkv(i, layer, h, rope)
            k = torch.cat((past_local[2 * i], k), dim=2)
            v = torch.cat((past_local[2 * i + 1], v), dim=2)
            presents += [k, v]
            g = layer.gate_projection(q)
            glob = self._attend(q, shared[2 * i], shared[2 * i + 1], blocked)
            local = self._attend(q, k, v, outside)
            mixed = local + g * (glob - local)  # = g * glob + (1 - g) * local
            h = self._finish(i, layer, h, mixed)
        return h, presents

    def _register(self, index: int, weights: dict[str, torch.Tensor | None]
                  ) -> dict[str, torch.Tensor | None]:
        """Fused weights as parameters: they become initializers (external data, int8)."""
        out: dict[str, torch.Tensor | None] = {}
        for name, tensor in weights.items():
            if tensor is None:
                out[name] = None
                continue
            param = nn.Parameter(tensor, requires_grad=False)
            self.register_parameter(f"layer{index}_{name}", param)
            out[name] = param
        return out

    def _rope(self, pos: torch.Tensor, dtype: torch.dtype
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """cos, sin [T, q+k+v heads, D] (v heads: cos 1, sin 0) and the rotation matrix."""
        freqs = pos.float()[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos() * self.rope_scale, emb.sin() * self.rope_scale
        rotated = self.num_heads + self.num_kv_heads
        ones = torch.ones_like(cos)[:, None, :].expand(-1, self.num_kv_heads, -1)
        cos = torch.cat((cos[:, None, :].expand(-1, rotated, -1), ones), dim=1)
        sin = torch.cat((sin[:, None, :].expand(-1, rotated, -1), ones * 0), dim=1)
        return cos.to(dtype), sin.to(dtype), self.rotation.to(dtype)

    def _grouped(self, blocked: torch.Tensor) -> torch.Tensor:
        """A [T, S] mask tiled for queries grouped per KV head ([rep * T, S])."""
        return blocked.repeat(self.num_heads // self.num_kv_heads, 1)

    def _qkv(self, index: int, layer: nn.Module, h: torch.Tensor,
             rope: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One MatMul for q/k/v, RoPE on all heads at once, then split ([1, heads, T, D])."""
        fused, (cos, sin, rot) = self.fused[index], rope
        x = layer.input_layernorm(h)
        qkv = nn.functional.linear(x, fused["qkv_w"], fused["qkv_b"])
        qkv = qkv.view(1, -1, self.num_heads + 2 * self.num_kv_heads, self.head_dim)
        qkv = (qkv * cos + torch.matmul(qkv, rot) * sin).transpose(1, 2)
        q, k, v = qkv.split([self.num_heads, self.num_kv_heads, self.num_kv_heads], dim=1)
        return q, k, v

    def _attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, blocked: torch.Tensor
                ) -> torch.Tensor:
        """GQA attention without copying K/V per head: queries are grouped per KV head."""
        qg = q.reshape(1, self.num_kv_heads, -1, self.head_dim)
        scores = torch.matmul(qg, k.transpose(2, 3)) * (self.head_dim ** -0.5)
        scores = scores.masked_fill(blocked, torch.finfo(scores.dtype).min)
        probs = torch.softmax(scores.float(), dim=-1).to(q.dtype)
        return torch.matmul(probs, v).view(1, self.num_heads, -1, self.head_dim)

    def _finish(self, index: int, layer: nn.Module, h: torch.Tensor, attn_out: torch.Tensor
                ) -> torch.Tensor:
        out = attn_out.transpose(1, 2).reshape(1, -1, self.num_heads * self.head_dim)
        return self._finish_flat(index, layer, h, out)

    def _finish_flat(self, index: int, layer: nn.Module, h: torch.Tensor, out: torch.Tensor
                     ) -> torch.Tensor:
        """o_proj of attention output [1, T, heads * head_dim], residual, MLP, residual."""
        fused = self.fused[index]
        h = h + layer.self_attn.o_proj(out)
        gu = nn.functional.linear(layer.post_attention_layernorm(h), fused["gu_w"], fused["gu_b"])
        gate, up = gu.chunk(2, dim=-1)
        return h + layer.mlp.down_proj(layer.mlp.act_fn(gate) * up)

    def _last(self, h: torch.Tensor, num_logits: torch.Tensor) -> torch.Tensor:
        idx = torch.arange(num_logits) + (h.shape[1] - num_logits)
        return h.index_select(1, idx)

"""Fold a trained dense checkpoint into the IQuest Loop architecture and save it.

The Loop model (``IQuestLoopCoderForCausalLM``) runs the same layers twice; the only new weights
are one gate per layer (``model.layers.{i}.gate_projection.{weight,bias}``, shapes
``[heads, head_dim]`` and ``[heads]``). The forward pass is the exporter's PyTorch
implementation (``inference.export.loop_model.LoopCoderForCausalLM``), the same code that the
ONNX export is verified against, so what we train is exactly what gets exported.

Gate initialisation. Weight sharing means pass 2 cannot be switched off: whatever the gate, the
layers add their attention and MLP outputs to pass 1's final hidden state a second time, so the
folded model's output is *not* the dense model's. What the gate chooses is which keys/values
pass 2 attends to: ``g → 1`` picks ``O_global`` (attention over pass 1's K1/V1, the keys and
values the layers were trained to read), ``g → 0`` picks ``O_local`` (pass 2's own K2/V2 from
states the layers never saw, within the window). With ``W_g = 0`` the gate is a per-head
constant ``sigmoid(b_g)``. ``choose_gate_bias`` measures the folded model's held-out loss for a
few biases and the training script uses the best; the choice and both losses (folded, and after
continued training) are recorded in the model card.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

log = logging.getLogger(__name__)

LOOP_ARCHITECTURE = "IQuestLoopCoderForCausalLM"


@dataclass(frozen=True)
class LoopOutput:
    """Mimics transformers' output object: only ``logits``."""

    logits: torch.Tensor


class LoopForTraining(nn.Module):
    """The exporter's Loop model with a transformers-like call signature and ``save_pretrained``."""

    def __init__(self, inner: nn.Module, config: dict[str, Any]) -> None:
        super().__init__()
        self.inner = inner
        self.loop_config = config

    @property
    def config(self) -> Any:
        return self.inner.config

    def forward(self, input_ids: torch.Tensor) -> LoopOutput:
        return LoopOutput(self.inner(input_ids))

    def save_pretrained(self, out_dir: str | Path, safe_serialization: bool = True) -> None:
        """Write ``config.json`` + ``model.safetensors`` with the exporter's weight names."""
        from safetensors.torch import save_file

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().contiguous() for k, v in self.inner.state_dict().items()
                 if not k.endswith("rotary_emb.inv_freq")}
        save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
        (out / "config.json").write_text(json.dumps(self.loop_config, indent=2) + "\n")
        gen = {"eos_token_id": self.loop_config.get("eos_token_id")}
        (out / "generation_config.json").write_text(json.dumps(gen, indent=2) + "\n")


def loop_config(dense_config: dict[str, Any], window: int) -> dict[str, Any]:
    """The Loop ``config.json`` for a dense Llama ``config.json``."""
    config = {k: v for k, v in dense_config.items() if k not in ("architectures", "dtype")}
    config.update(architectures=[LOOP_ARCHITECTURE], model_type="llama", loop_num=2,
                  loop_window_size=window)
    return config


def fold_dense(dense_dir: Path, window: int = 64, gate_bias: float = 0.0) -> LoopForTraining:
    """A Loop model with the dense weights, ``W_g = 0`` and ``b_g = gate_bias`` in every layer."""
    from inference.export.loop_model import LoopCoderForCausalLM, load_safetensors_dir

    dense_config = json.loads((dense_dir / "config.json").read_text(encoding="utf-8"))
    config = loop_config(dense_config, window)
    inner = LoopCoderForCausalLM(config)
    state = load_safetensors_dir(dense_dir)
    missing, unexpected = inner.load_state_dict(state, strict=False)
    missing = [k for k in missing if "gate_projection" not in k and "inv_freq" not in k]
    if missing or unexpected:
        raise ValueError(f"{dense_dir}: not a dense Llama checkpoint "
                         f"(missing {missing[:5]}, unexpected {unexpected[:5]})")
    set_gate_bias(inner, gate_bias)
    return LoopForTraining(inner.float(), config)


def set_gate_bias(inner: nn.Module, bias: float) -> None:
    """``W_g = 0``, ``b_g = bias`` in every layer (gate = sigmoid(bias) everywhere)."""
    with torch.no_grad():
        for layer in inner.model.layers:
            layer.gate_projection.weight.zero_()
            layer.gate_projection.bias.fill_(bias)


def choose_gate_bias(model: LoopForTraining, rows: torch.Tensor, candidates: tuple[float, ...],
                     autocast: torch.dtype | None, batch_size: int) -> dict[float, float]:
    """Held-out loss of the folded model for each candidate bias; leaves the best one set."""
    from inference.training.train import evaluate

    losses = {}
    for bias in candidates:
        set_gate_bias(model.inner, bias)
        losses[bias] = evaluate(model, rows, autocast, batch_size)
        log.info("folded loop model, gate bias %+.1f: held-out loss %.4f", bias, losses[bias])
    set_gate_bias(model.inner, min(losses, key=losses.__getitem__))
    return losses

"""Model shapes for the bundled default model (transformers ``LlamaForCausalLM``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from transformers import LlamaConfig, LlamaForCausalLM

from inference.training.tokenizer import DEFAULT_VOCAB_SIZE, EOS_ID


@dataclass(frozen=True)
class ModelShape:
    """The architecture knobs; the defaults are the ~7M-parameter default model."""

    vocab_size: int = DEFAULT_VOCAB_SIZE
    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 8
    num_kv_heads: int = 2
    intermediate_size: int = 688
    max_position_embeddings: int = 4096
    rope_theta: float = 500_000.0
    tie_word_embeddings: bool = False


SHAPES: dict[str, ModelShape] = {
    "default": ModelShape(),
    "small": ModelShape(hidden_size=128, num_layers=4, num_heads=4, num_kv_heads=2,
                        intermediate_size=352),
    "tiny": ModelShape(hidden_size=64, num_layers=2, num_heads=4, num_kv_heads=2,
                       intermediate_size=128, max_position_embeddings=512),
}


def llama_config(shape: ModelShape) -> LlamaConfig:
    """A ``LlamaConfig`` for ``shape`` with EOS = ``<|endoftext|>``."""
    return LlamaConfig(
        vocab_size=shape.vocab_size,
        hidden_size=shape.hidden_size,
        intermediate_size=shape.intermediate_size,
        num_hidden_layers=shape.num_layers,
        num_attention_heads=shape.num_heads,
        num_key_value_heads=shape.num_kv_heads,
        head_dim=shape.hidden_size // shape.num_heads,
        max_position_embeddings=shape.max_position_embeddings,
        rope_theta=shape.rope_theta,
        rms_norm_eps=1e-6,
        hidden_act="silu",
        initializer_range=0.02,
        tie_word_embeddings=shape.tie_word_embeddings,
        bos_token_id=None,
        eos_token_id=EOS_ID,
        pad_token_id=None,
        attention_bias=False,
        mlp_bias=False,
    )


def build_model(shape: ModelShape, seed: int) -> LlamaForCausalLM:
    """A freshly initialised model (deterministic for a given seed)."""
    import torch

    torch.manual_seed(seed)
    return LlamaForCausalLM(llama_config(shape))


def shape_dict(shape: ModelShape) -> dict[str, object]:
    """``shape`` as a JSON-ready dict (stored in checkpoints)."""
    return asdict(shape)


def parameter_count(model: LlamaForCausalLM) -> int:
    """Number of distinct parameters (tied tensors counted once)."""
    seen = {id(p): p.numel() for p in model.parameters()}
    return sum(seen.values())

"""Tiny random-weight checkpoints and their exported model dirs, built once per session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SPECIALS = ["<|endoftext|>", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>",
            "<|im_start|>", "<|im_end|>", "<|repo_name|>", "<|file_sep|>"]
CORPUS = [
    "def add(a, b):\n    return a + b\n",
    "class Stack:\n    def push(self, x):\n        self.items.append(x)\n",
    "for i in range(10):\n    print(i, 'héllo wörld ✓ 日本語')\n",
    "import os\nimport sys\n\nif __name__ == '__main__':\n    main()\n",
] * 20
WINDOW = 4


def build_tokenizer(path: Path) -> Path:
    """A byte-level BPE tokenizer (vocab 320) with the IQuest/Qwen special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    tok.save(str(path))
    return path


def small_config(**extra: object) -> dict[str, object]:
    cfg: dict[str, object] = dict(
        vocab_size=320, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
        rope_theta=500000.0, initializer_range=0.1, eos_token_id=0, bos_token_id=None,
        tie_word_embeddings=False,
    )
    cfg.update(extra)
    return cfg


def save_dense(out: Path, family: str, tokenizer: Path) -> Path:
    """A random Llama / Qwen2 / IQuestCoder checkpoint dir."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    if family == "qwen2":
        model = Qwen2ForCausalLM(Qwen2Config(**small_config()))
    else:
        model = LlamaForCausalLM(LlamaConfig(**small_config()))
    model.save_pretrained(out)
    if family == "iquestcoder":
        cfg = json.loads((out / "config.json").read_text())
        cfg["architectures"] = ["IQuestCoderForCausalLM"]
        cfg["model_type"] = "iquestcoder"
        cfg["auto_map"] = {"AutoModelForCausalLM": "modeling_iquestcoder.IQuestCoderForCausalLM"}
        (out / "config.json").write_text(json.dumps(cfg))
        write_chat_files(out)
    (out / "tokenizer.json").write_bytes(tokenizer.read_bytes())
    return out


IQUEST_TEMPLATE = (
    "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n<think>\\n' }}"
    "{% endif %}"
)
IQUEST_SAMPLING = {"do_sample": True, "temperature": 0.6, "top_p": 0.85, "top_k": 20}


def write_chat_files(out: Path) -> None:
    """What an IQuest Thinking checkpoint carries: a template in tokenizer_config.json and
    sampling defaults in generation_config.json."""
    (out / "tokenizer_config.json").write_text(json.dumps(
        {"chat_template": IQUEST_TEMPLATE, "eos_token": "<|im_end|>"}))
    gen = json.loads((out / "generation_config.json").read_text())
    gen.update(IQUEST_SAMPLING)
    (out / "generation_config.json").write_text(json.dumps(gen))


def loop_config(window: int = WINDOW) -> dict[str, object]:
    return small_config(architectures=["IQuestLoopCoderForCausalLM"],
                        model_type="iquestloopcoder", loop_num=2, loop_window_size=window)


def save_loop(out: Path, tokenizer: Path, alt_gate_names: bool = False,
              window: int = WINDOW) -> Path:
    """A random IQuestLoopCoder checkpoint dir (gates random so both branches matter)."""
    import torch
    from safetensors.torch import save_file

    from inference.export.loop_model import LoopCoderForCausalLM

    torch.manual_seed(1)
    cfg = loop_config(window)
    model = LoopCoderForCausalLM(cfg)
    with torch.no_grad():
        for layer in model.model.layers:
            layer.gate_projection.weight.normal_(0, 0.5)
            layer.gate_projection.bias.normal_(0, 0.5)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    if alt_gate_names:
        for i in range(len(model.model.layers)):
            for kind in ("weight", "bias"):
                state[f"model.gate_projections.{i}.{kind}"] = state.pop(
                    f"model.layers.{i}.gate_projection.{kind}")
    out.mkdir(parents=True, exist_ok=True)
    save_file(state, str(out / "model.safetensors"))
    (out / "config.json").write_text(json.dumps(cfg))
    (out / "tokenizer.json").write_bytes(tokenizer.read_bytes())
    return out


@pytest.fixture(scope="session")
def tokenizer_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tokenizer(tmp_path_factory.mktemp("tok") / "tokenizer.json")


@pytest.fixture(scope="session")
def hf_dirs(tmp_path_factory: pytest.TempPathFactory, tokenizer_file: Path) -> dict[str, Path]:
    """Checkpoint dirs by name: llama, qwen2, iquestcoder, loop, loop_alt."""
    pytest.importorskip("torch")
    root = tmp_path_factory.mktemp("hf")
    dirs = {f: save_dense(root / f, f, tokenizer_file) for f in ("llama", "qwen2", "iquestcoder")}
    dirs["loop"] = save_loop(root / "loop", tokenizer_file)
    dirs["loop_alt"] = save_loop(root / "loop_alt", tokenizer_file, alt_gate_names=True)
    return dirs


@pytest.fixture(scope="session")
def model_dirs(tmp_path_factory: pytest.TempPathFactory, hf_dirs: dict[str, Path]
               ) -> dict[str, Path]:
    """fp32 exports of llama, qwen2, iquestcoder and loop (K/V written in place), and
    llama_concat / loop_concat: exported as before in-place K/V (past ++ new every step)."""
    from inference.export import export_model

    root = tmp_path_factory.mktemp("models")
    dirs = {name: export_model(hf_dirs[name], root / name).model_dir
            for name in ("llama", "qwen2", "iquestcoder", "loop")}
    for name in ("llama", "loop"):
        dirs[f"{name}_concat"] = export_model(hf_dirs[name], root / f"{name}_concat",
                                              kv_cache="concat").model_dir
    return dirs

"""The shipped model dirs: complete, small, IQuest special tokens declared, served by the engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from inference.training.tokenizer import SPECIAL_TOKENS

MODELS = Path(__file__).resolve().parents[3] / "inference" / "models"
DIRS = {"default": "dense", "default-loop": "loop"}
SPECIAL_KEYS = {"eos": "<|endoftext|>", "fim_prefix": "<|fim_prefix|>",
                "fim_suffix": "<|fim_suffix|>", "fim_middle": "<|fim_middle|>",
                "repo_name": "<|repo_name|>", "file_sep": "<|file_sep|>",
                "im_start": "<|im_start|>", "im_end": "<|im_end|>"}


def model_json(name: str) -> dict[str, object]:
    return json.loads((MODELS / name / "codeflow-model.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(DIRS))
def test_model_dir_is_complete(name: str) -> None:
    d = MODELS / name
    for f in ("model.onnx", "tokenizer.json", "codeflow-model.json", "MODEL_CARD.md"):
        assert (d / f).is_file(), f"{d / f} missing"
    card = (d / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "a small offline model for trying codeflow" in card


@pytest.mark.parametrize("name", sorted(DIRS))
def test_model_json_declares_special_tokens(name: str) -> None:
    spec = model_json(name)
    assert spec["architecture"] == DIRS[name]
    assert spec["kv"]["layout"] == DIRS[name]
    assert spec["dtype"] == "int8"
    for key, token in SPECIAL_KEYS.items():
        assert spec["special_tokens"][key] == token
    assert spec["eos_token_ids"] == [0]
    tok = Tokenizer.from_file(str(MODELS / name / "tokenizer.json"))
    assert [tok.token_to_id(t) for t in SPECIAL_TOKENS] == list(range(len(SPECIAL_TOKENS)))


def test_loop_variant_has_window() -> None:
    spec = model_json("default-loop")
    assert spec["family"] == "iquestloopcoder"
    assert spec["kv"]["window"] == 64


def test_total_size_within_budget() -> None:
    total = sum(p.stat().st_size for name in DIRS for p in (MODELS / name).rglob("*")
                if p.is_file())
    assert total <= 40 * 1024 * 1024


@pytest.mark.parametrize("name", sorted(DIRS))
def test_engine_serves_model(name: str) -> None:
    import inference  # the engine is part of codeflow: missing is a failure, not a skip

    engine = inference.Engine.load(MODELS / name, provider="cpu", threads=1)
    assert engine.spec.architecture == DIRS[name]
    prompt = "<|fim_prefix|>def add(a, b):\n<|fim_suffix|>\n<|fim_middle|>"
    ids = tuple(engine.tokenizer.encode(prompt, add_special_tokens=False).ids)
    assert ids[0] == 3 and ids[-1] == 5  # fim_prefix, fim_middle are single ids
    gen = engine.generate(inference.GenerateRequest(prompt_ids=ids, max_tokens=8))
    assert 1 <= len(gen.ids) <= 8
    assert gen.prompt_tokens == len(ids)
    assert gen.stop_reason in ("eos", "length", "stop")
    assert gen.text == engine.tokenizer.decode(list(gen.ids))
